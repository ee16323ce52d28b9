"""Reusable, partition-aware blocking checks and the suites that run them.

Each builder returns an `Assertion` (one named check and the function that decides it); a
domain groups the assertions that follow one step into a suite with `build_check_suite`, so
they run in one Dagster step over one warehouse session and still show, block and re-run one
by one. Every check reports the offending values as metadata, so a failure in the UI already
says what to look at.
"""

from asset_checks.baseline import volume_within_baseline
from asset_checks.conservation import conserves_records
from asset_checks.duplicates import no_duplicates
from asset_checks.rates import max_rate
from asset_checks.schema import matches_contract
from asset_checks.suite import Assertion, CheckContext, build_check_suite

__all__ = [
    "Assertion",
    "CheckContext",
    "build_check_suite",
    "conserves_records",
    "matches_contract",
    "max_rate",
    "no_duplicates",
    "volume_within_baseline",
]
