"""Finance: daily revenue CSVs → raw_finance_revenue → stg_finance_revenue + quarantine_finance.

Partitioned by landing day (the `finance/YYYY/MM/DD/` folder). The staged rows are the source
of truth the revenue reconciliation compares the marts with.
"""

from northstar_platform.defs.csv_source import CsvSource, build_csv_assets
from northstar_platform.defs.partitions import daily_partitions
from northstar_platform.layers import QUARANTINE_FINANCE, RAW_FINANCE_REVENUE, STG_FINANCE_REVENUE
from northstar_platform.lib.finance_revenue import FINANCE_CONTRACT, with_arrival_lag
from northstar_platform.lib.loading import date_path


def finance_prefix(partition_key: str) -> str:
    """The landing folder of one day's finance reports."""
    return f"finance/{date_path(partition_key)}/"


FINANCE_SOURCE = CsvSource(
    contract=FINANCE_CONTRACT,
    raw=RAW_FINANCE_REVENUE,
    staged=STG_FINANCE_REVENUE,
    held=QUARANTINE_FINANCE,
    partitions_def=daily_partitions,
    prefix_of=finance_prefix,
    group="finance",
    duplicate_check="no_duplicate_revenue_row",
    derive=with_arrival_lag,
)

raw_finance_revenue, stg_finance_revenue = build_csv_assets(FINANCE_SOURCE)
