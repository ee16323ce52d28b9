"""Finance checks: conservation per day, the 1% quarantine gate, volume vs the 14-day median."""

from northstar_platform.defs.csv_source import build_csv_checks
from northstar_platform.defs.finance.assets import FINANCE_SOURCE

FINANCE_CHECKS = build_csv_checks(FINANCE_SOURCE)
