"""WMS checks: conservation per hour, the 1% quarantine gate, volume vs the same hour's median."""

from northstar_platform.defs.csv_source import build_csv_checks
from northstar_platform.defs.fulfillment.assets import WMS_SOURCE

WMS_CHECKS = build_csv_checks(WMS_SOURCE)
