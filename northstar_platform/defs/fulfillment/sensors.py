"""A new WMS file in the landing zone (folder or bucket) materializes its hour."""

import dagster as dg

from northstar_platform.defs.landing_sensor import build_landing_sensor, hourly_partition_of
from northstar_platform.layers import QUARANTINE_WMS, RAW_WMS_SHIPMENTS, STG_WMS_SHIPMENTS

ingest_wms_job = dg.define_asset_job(
    "ingest_wms_job",
    selection=dg.AssetSelection.assets(
        RAW_WMS_SHIPMENTS.asset_key, STG_WMS_SHIPMENTS.asset_key, QUARANTINE_WMS.asset_key
    ),
    description="Load, validate and de-duplicate one landing hour of WMS shipment files.",
)

wms_partition = hourly_partition_of("wms", "csv")
"""The landing hour of a WMS file key, or None for keys that are not WMS files."""

wms_files_sensor = build_landing_sensor(
    name="wms_files_sensor", source="wms", partition_of=wms_partition, job=ingest_wms_job
)
