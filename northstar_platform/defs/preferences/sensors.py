"""A new privacy-system file in the landing zone (folder or bucket) materializes its day."""

import dagster as dg

from northstar_platform.defs.landing_sensor import build_landing_sensor
from northstar_platform.defs.preferences.assets import privacy_partition
from northstar_platform.layers import QUARANTINE_PRIVACY, RAW_PRIVACY_EVENTS, STG_PRIVACY_EVENTS

ingest_privacy_job = dg.define_asset_job(
    "ingest_privacy_job",
    # By key, not by group: the preference reconciliation (issue 6) adds its own assets to the
    # `preferences` group, and a landing drop must not start a reconciliation run.
    selection=dg.AssetSelection.assets(
        RAW_PRIVACY_EVENTS.asset_key, STG_PRIVACY_EVENTS.asset_key, QUARANTINE_PRIVACY.asset_key
    ),
    description="Load, validate and de-duplicate one landing day of privacy-system "
    "preference files.",
)

privacy_files_sensor = build_landing_sensor(
    name="privacy_files_sensor",
    source="privacy",
    partition_of=privacy_partition,
    job=ingest_privacy_job,
)
