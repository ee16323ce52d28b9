"""A new finance report in the landing zone (folder or bucket) materializes its day."""

import dagster as dg

from northstar_platform.defs.landing_sensor import build_landing_sensor, daily_partition_of
from northstar_platform.layers import QUARANTINE_FINANCE, RAW_FINANCE_REVENUE, STG_FINANCE_REVENUE

ingest_finance_job = dg.define_asset_job(
    "ingest_finance_job",
    selection=dg.AssetSelection.assets(
        RAW_FINANCE_REVENUE.asset_key, STG_FINANCE_REVENUE.asset_key, QUARANTINE_FINANCE.asset_key
    ),
    description="Load and validate one landing day of finance revenue reports.",
)

finance_partition = daily_partition_of("finance", "csv")
"""The landing day of a finance report key, or None for keys that are not finance reports."""

finance_files_sensor = build_landing_sensor(
    name="finance_files_sensor",
    source="finance",
    partition_of=finance_partition,
    job=ingest_finance_job,
)
