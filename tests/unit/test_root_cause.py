"""The pure parts of the root-cause rules: comparing a source row with the newest export,
schema drift, and the first-match classification (lib/root_cause.py)."""

import datetime as dt

from northstar_platform.lib.root_cause import (
    Evidence,
    RootCause,
    classify_all,
    count_by_cause,
    schema_drift,
    source_change,
    verdict,
)

COLUMNS = ["order_id", "status", "amount_cents", "updated_at"]
T1, T2 = dt.datetime(2026, 3, 1, 10), dt.datetime(2026, 3, 2, 12)
EXPORTED = {
    "order_id": "o-1",
    "status": "paid",
    "amount_cents": 100,
    "updated_at": T1,
    "source_file": "orders/2026/03/01/00/run-a.parquet",
    "line_no": 4,
    "ingested_ts": dt.datetime(2026, 3, 2, 6),
}


def test_an_unchanged_source_row_is_no_source_change() -> None:
    assert source_change({**EXPORTED}, EXPORTED, COLUMNS) is None


def test_a_newer_source_version_names_both_versions_and_the_changed_columns() -> None:
    found = source_change({**EXPORTED, "status": "cancelled", "updated_at": T2}, EXPORTED, COLUMNS)
    assert found is not None and found.cause is RootCause.SOURCE_CHANGE
    assert found.summary == (
        "source updated_at 2026-03-02 12:00:00 is newer than the newest exported version "
        "2026-03-01 10:00:00 (orders/2026/03/01/00/run-a.parquet:4, arrived 2026-03-02 06:00:00)"
        "; status: 'paid' → 'cancelled'"
    )
    assert found.facts["differing_columns"] == ["status", "updated_at"]


def test_other_content_at_the_same_updated_at_is_a_source_change() -> None:
    found = source_change({**EXPORTED, "amount_cents": 90}, EXPORTED, COLUMNS)
    assert found is not None
    assert found.summary.startswith("the source holds other content at updated_at 2026-03-01")
    assert found.summary.endswith("amount_cents: 100 → 90")


def test_a_row_gone_from_the_source_or_never_exported_is_a_source_change() -> None:
    gone = source_change(None, EXPORTED, COLUMNS)
    new = source_change({**EXPORTED}, None, COLUMNS)
    assert gone is not None and gone.summary.startswith("no longer in the source")
    assert new is not None and "never exported" in new.summary
    assert source_change(None, None, COLUMNS) is None  # an orphan id: the source never had it


def test_schema_drift_names_missing_and_extra_columns() -> None:
    assert schema_drift(["a", "b"], ["a", "b"], "public.orders") is None
    assert schema_drift(["a", "c", "d"], ["a", "b"], "public.orders") == (
        "source schema drift: public.orders lacks b and has extra c, d (contract: a, b)"
    )


def test_the_first_rule_in_order_wins_and_the_rest_is_unexplained() -> None:
    def ev(cause: RootCause) -> Evidence:
        return Evidence(cause, cause.value)

    matches = {
        RootCause.ETL_LOSS: {"a": ev(RootCause.ETL_LOSS), "b": ev(RootCause.ETL_LOSS)},
        RootCause.LATE_ARRIVING: {"b": ev(RootCause.LATE_ARRIVING)},
        RootCause.TRANSFORMATION: {"c": ev(RootCause.TRANSFORMATION)},
    }
    classes = classify_all(["a", "b", "c", "d"], matches)
    assert classes == {
        "a": RootCause.ETL_LOSS,
        "b": RootCause.LATE_ARRIVING,
        "c": RootCause.TRANSFORMATION,
        "d": RootCause.UNEXPLAINED,
    }
    assert count_by_cause(classes) == {
        RootCause.SOURCE_CHANGE: 0,
        RootCause.LATE_ARRIVING: 1,
        RootCause.ETL_LOSS: 1,
        RootCause.TRANSFORMATION: 1,
        RootCause.UNEXPLAINED: 1,
    }


def test_verdict_is_consistent_only_without_mismatch_or_missing_layer() -> None:
    assert verdict(None, [], []).cause is RootCause.CONSISTENT
    unexplained = verdict(None, ["AMOUNT_MISMATCH (2026-03-02)"], ["marts.fct_orders"])
    assert unexplained.cause is RootCause.UNEXPLAINED
    assert unexplained.summary == (
        "open mismatch AMOUNT_MISMATCH (2026-03-02); absent from marts.fct_orders, "
        "and no rule explains it"
    )
