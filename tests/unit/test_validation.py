"""Row validation and duplicate collapsing: exact rows kept, held and counted."""

import datetime as dt

import polars as pl

from northstar_platform.lib.loading import collapse_duplicates, partition_window
from northstar_platform.lib.orders import ORDER_RULES
from northstar_platform.lib.validation import validate_rows

T = dt.datetime(2026, 11, 1, 10, 0)


def _orders(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "order_id": pl.Utf8,
            "customer_id": pl.Utf8,
            "status": pl.Utf8,
            "currency": pl.Utf8,
            "amount_cents": pl.Int64,
            "created_at": pl.Datetime("us"),
            "updated_at": pl.Datetime("us"),
        },
        orient="row",
    )


def test_each_rule_quarantines_its_row_with_rule_and_reason():
    frame = _orders(
        [
            ("ok", "c1", "paid", "USD", 100, T, T),
            ("neg", "c1", "paid", "USD", -1, T, T),
            ("cur", "c1", "paid", "usd", 5, T, T),
            ("sta", "c1", "SHIPPED?", "EUR", 5, T, T),
            ("nul", None, "paid", "GBP", 5, T, T),
            ("nst", "c2", None, "CAD", 5, T, T),
        ]
    )
    result = validate_rows(frame, ORDER_RULES, "raw.raw_orders")
    assert result.valid["order_id"].to_list() == ["ok"]
    held = {r["order_id"]: (r["rule"], r["reason"]) for r in result.quarantined.to_dicts()}
    assert held == {
        "neg": (
            "amount_cents_non_negative",
            "raw.raw_orders column amount_cents='-1': "
            "expected an integer amount in minor units >= 0",
        ),
        "cur": (
            "currency_known",
            "raw.raw_orders column currency='usd': expected an upper-case ISO code in "
            "USD, EUR, GBP, CAD",
        ),
        "sta": (
            "status_known",
            "raw.raw_orders column status='SHIPPED?': expected one of pending, paid, shipped, "
            "delivered, cancelled, refunded",
        ),
        "nul": (
            "customer_id_present",
            "raw.raw_orders column customer_id=NULL: expected a non-null customer_id",
        ),
        "nst": ("status_known", "raw.raw_orders column status=NULL: expected a non-null status"),
    }


def test_a_row_breaking_two_rules_is_held_once_under_the_first_rule():
    frame = _orders([("x", None, "paid", "usd", -5, T, T)])
    result = validate_rows(frame, ORDER_RULES, "t")
    assert result.valid.height == 0
    assert result.quarantined.height == 1
    row = result.quarantined.row(0, named=True)
    assert row["rule"] == "customer_id_present"
    assert row["reason"].count("; ") == 2  # customer_id, amount_cents and currency all named


def test_all_valid_keeps_every_row_in_order():
    frame = _orders([(f"o{i}", "c", "paid", "USD", i, T, T) for i in range(5)])
    result = validate_rows(frame, ORDER_RULES, "t")
    assert result.valid["order_id"].to_list() == [f"o{i}" for i in range(5)]
    assert result.quarantined.height == 0
    assert set(result.quarantined.columns) >= {"rule", "reason"}


def test_collapse_keeps_first_landed_copy_and_counts_the_rest():
    frame = pl.DataFrame(
        {
            "order_id": ["a", "a", "b", "a", None, None],
            "updated_at": [T, T, T, T + dt.timedelta(1), T, T],
            "ingested_ts": [T, T + dt.timedelta(hours=1), T, T, T, T],
            "source_file": ["f2", "f1", "f1", "f1", "f1", "f1"],
            "line_no": [1, 1, 2, 3, 4, 5],
        }
    )
    kept, collapsed = collapse_duplicates(frame, ["order_id", "updated_at"])
    assert collapsed == 1
    # f2 arrived an hour before f1 re-sent the same version: the earlier arrival is kept.
    assert kept.select("source_file", "line_no").rows() == [
        ("f1", 2),
        ("f1", 3),
        ("f1", 4),
        ("f1", 5),
        ("f2", 1),
    ]


def test_partition_window_is_one_utc_day():
    assert partition_window("2026-11-01") == (dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2))
