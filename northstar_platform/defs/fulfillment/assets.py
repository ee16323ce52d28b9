"""Fulfilment: WMS shipment CSVs → raw_wms_shipments → stg_wms_shipments + quarantine_wms.

Partitioned by landing hour (the `wms/YYYY/MM/DD/HH/` folder): a file that lands late in an
old hour's folder re-materializes that hour, rebuilt from every file in the folder.
"""

import datetime as dt

from northstar_platform.defs.csv_source import CsvSource, build_csv_assets
from northstar_platform.defs.partitions import hourly_partitions
from northstar_platform.layers import QUARANTINE_WMS, RAW_WMS_SHIPMENTS, STG_WMS_SHIPMENTS
from northstar_platform.lib.wms_shipments import WMS_CONTRACT, with_arrival_lag

HOURLY_VOLUME_NOISE_ROWS = 50
"""An hour within 50 rows of its baseline passes the volume gate whatever the ratio: a quiet
hour of a few dozen rows swings by half from one day to the next without anything wrong."""


def wms_prefix(partition_key: str) -> str:
    """The landing folder of one hour's WMS drops (`2026-11-01-10:00` → `wms/2026/11/01/10/`)."""
    hour = dt.datetime.strptime(partition_key, "%Y-%m-%d-%H:%M")
    return f"wms/{hour:%Y/%m/%d/%H}/"


WMS_SOURCE = CsvSource(
    contract=WMS_CONTRACT,
    raw=RAW_WMS_SHIPMENTS,
    staged=STG_WMS_SHIPMENTS,
    held=QUARANTINE_WMS,
    partitions_def=hourly_partitions,
    prefix_of=wms_prefix,
    group="fulfillment",
    duplicate_check="no_duplicate_shipment_event",
    derive=with_arrival_lag,
    same_hour_baseline=True,
    volume_noise_rows=HOURLY_VOLUME_NOISE_ROWS,
)

raw_wms_shipments, stg_wms_shipments = build_csv_assets(WMS_SOURCE)
