"""The demo generator, checked against independent recounts of what it wrote (no services).

Each recount reads the *rendered* files and the PostgreSQL-visible order columns and applies
the contract's rules directly — the duplicate rule, the staging rules, the reconciliation
classes, DESIGN §8 — so a generator that miscounts or plants a defect that also trips a second
detector fails here.
"""

import csv
import datetime as dt
import io
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from northstar_platform.demo import generator as demo_generator
from northstar_platform.demo.generator import DemoConfig, DemoData, build_demo
from northstar_platform.demo.landing_writer import replace_landing, stale_keys
from northstar_platform.demo.manifest import DEFECTS, QUARANTINE_RATE_CHECK
from northstar_platform.demo.preference_rules import CoreRow, PrivacyEvent, classify
from northstar_platform.errors import NorthstarError
from northstar_platform.resources.landing import LocalLandingZone

START = dt.date(2026, 11, 1)
STATUSES = {"pending", "paid", "shipped", "delivered", "cancelled", "refunded"}
CURRENCIES = {"USD", "EUR", "GBP", "CAD"}
WMS_HEADER = ["shipment_id", "order_id", "status", "quantity", "warehouse_code", "event_ts"]


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo(DemoConfig(start=START))


def _expected(data: DemoData, key: str) -> int:
    return data.manifest["defects"][key]["expected"]


# --- independent recounts -------------------------------------------------------------------


def _order_rule(o: Any) -> str | None:
    """The first staging rule an order row breaks, from its stored columns only."""
    if o.customer_id is None:
        return "customer_id_present"
    if o.amount_cents < 0:
        return "amount_cents_non_negative"
    if o.currency not in CURRENCIES:
        return "currency_known"
    if o.status not in STATUSES:
        return "status_known"
    return None


def _duplicates(rows: Iterable[Any]) -> set[str]:
    """Order ids with an earlier order of the same customer, currency, amount <= 60 s before."""
    groups: dict[tuple, list] = defaultdict(list)
    for o in rows:
        groups[(o.customer_id, o.currency, o.amount_cents)].append(o)
    found = set()
    for group in groups.values():
        group.sort(key=lambda o: (o.created_at, o.order_id))
        for earlier, later in itertools.pairwise(group):
            if (later.created_at - earlier.created_at).total_seconds() <= 60:
                found.add(later.order_id)
    return found


def _stripe(files: dict[str, bytes]) -> tuple[list[dict], Counter]:
    events, counts, seen = [], Counter(), set()
    for key, data in files.items():
        if not key.startswith("stripe/"):
            continue
        for line in data.decode().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                counts["json"] += 1
                continue
            if "id" not in event:
                counts["id"] += 1
            elif event["id"] in seen:
                counts["dup"] += 1
            else:
                seen.add(event["id"])
                events.append(event)
    return events, counts


def _wms(files: dict[str, bytes]) -> tuple[list[dict], Counter]:
    rows, counts, seen = [], Counter(), set()
    for key, data in files.items():
        if not key.startswith("wms/"):
            continue
        text = data.decode()
        lines = text.splitlines()
        if next(csv.reader([lines[0]])) != WMS_HEADER:
            counts["header"] += 1
            continue
        for n, fields in enumerate(csv.reader(io.StringIO("\n".join(lines[1:]))), start=2):
            if len(fields) != 6:
                partial = n == len(lines) and not text.endswith("\n")
                counts["partial" if partial else "columns"] += 1
                continue
            row = dict(zip(WMS_HEADER, fields, strict=True))
            if not row["quantity"].lstrip("-").isdigit():
                counts["quantity"] += 1
                continue
            try:
                ts = dt.datetime.fromisoformat(row["event_ts"]).replace(tzinfo=None)
            except ValueError:
                counts["ts"] += 1
                continue
            if (row["shipment_id"], ts) in seen:
                counts["dup"] += 1
                continue
            seen.add((row["shipment_id"], ts))
            rows.append(row)
    return rows, counts


def _order_mismatches(data: DemoData, files: dict[str, bytes]) -> dict[str, set[str]]:
    """Every reconciliation class, recomputed from stored order columns and the files."""
    orders = {o.order_id: o for o in data.orders}
    customers = {c.customer_id for c in data.customers}
    valid = [o for o in data.orders if _order_rule(o) is None and not o.is_deleted]
    dupes = _duplicates(valid)
    live = [o for o in valid if o.order_id not in dupes]
    events, _ = _stripe(files)
    shipments, _ = _wms(files)
    pay: dict[str, list[dict]] = defaultdict(list)
    for e in events:
        pay[e["data"]["object"]["metadata"]["order_id"]].append(e)
    shipped = {r["order_id"] for r in shipments}
    end = dt.datetime.combine(START + dt.timedelta(days=data.manifest["config"]["days"]), dt.time())
    found: dict[str, set[str]] = defaultdict(set)
    found["DUPLICATE_ORDER"] = dupes
    found["ORPHAN_PAYMENT"] = {k for k in pay if k not in orders}
    found["ORPHAN_SHIPMENT"] = {k for k in shipped if k not in orders}
    found["REFERENTIAL"] = {o.order_id for o in valid if o.customer_id not in customers}
    for o in live:
        evs = pay.get(o.order_id, [])
        kinds = {e["type"] for e in evs}
        succeeded = [
            e for e in evs if e["type"] in ("payment_intent.succeeded", "charge.succeeded")
        ]
        if o.order_id in shipped and (
            ("payment_intent.payment_failed" in kinds and not succeeded)
            or "charge.refunded" in kinds
            or o.status == "cancelled"
        ):
            found["STATUS_CONFLICT"].add(o.order_id)
        if o.status in ("paid", "shipped", "delivered") and not evs:
            found["MISSING_PAYMENT"].add(o.order_id)
        if any(e["data"]["object"]["amount"] != o.amount_cents for e in succeeded):
            found["AMOUNT_MISMATCH"].add(o.order_id)
        if any(e["data"]["object"]["currency"].upper() != o.currency for e in evs):
            found["CURRENCY_MISMATCH"].add(o.order_id)
        if (
            o.status in ("shipped", "delivered")
            and o.order_id not in shipped
            and o.updated_at + dt.timedelta(hours=24) <= end
        ):
            found["MISSING_SHIPMENT"].add(o.order_id)
    return found


def _privacy_events(files: dict[str, bytes]) -> list[PrivacyEvent]:
    events = []
    for rank, (key, data) in enumerate(sorted(files.items())):
        if not key.startswith("privacy/"):
            continue
        partition = dt.date(*map(int, key.split("/")[1:4]))
        for line in data.decode().splitlines():
            e = json.loads(line)
            ts = dt.datetime.fromisoformat(e["event_ts"])  # naive means UTC (DESIGN §8)
            if ts.tzinfo is not None:
                ts = ts.astimezone(dt.UTC).replace(tzinfo=None)
            events.append(
                PrivacyEvent(
                    e["customer_key"],
                    e["channel"],
                    e["preference_state"],
                    ts,
                    e["source_record_id"],
                    partition,
                    rank,
                )
            )
    return events


# --- tests ----------------------------------------------------------------------------------


def test_same_config_gives_identical_bytes_and_manifest(demo: DemoData) -> None:
    again = build_demo(DemoConfig(start=START))
    assert again.files == demo.files
    assert again.late_files == demo.late_files
    assert again.manifest == demo.manifest
    other = build_demo(DemoConfig(start=START, seed=8))
    assert other.files != demo.files
    assert other.manifest != demo.manifest


def test_manifest_shape(demo: DemoData) -> None:
    m = demo.manifest
    assert m["config"] == {"start": "2026-11-01", "days": 7, "scale": 1.0, "seed": 7}
    assert m["partitions"] == [(START + dt.timedelta(days=i)).isoformat() for i in range(7)]
    assert set(m["defects"]) == set(DEFECTS)
    for key in DEFECTS:
        assert f"`{key}`" in demo_generator.__doc__ or key.split(":")[-1] in demo_generator.__doc__
        assert m["defects"][key]["expected"] > 0, key
    assert m["checks"][QUARANTINE_RATE_CHECK] == {
        p: ("fail" if p == "2026-11-04" else "pass") for p in m["partitions"]
    }
    json.dumps(m)  # serializable as written


def test_source_counts_match_files(demo: DemoData) -> None:
    every = {**demo.files, **demo.late_files}
    src = demo.manifest["sources"]
    lines = lambda prefix: sum(  # noqa: E731
        len(v.decode().splitlines()) for k, v in every.items() if k.startswith(prefix)
    )
    count = lambda prefix: sum(k.startswith(prefix) for k in every)  # noqa: E731
    assert src["orders"] == len(demo.orders)
    assert src["stripe_lines"] == lines("stripe/")
    assert src["stripe_files"] == count("stripe/")
    assert src["wms_rows"] == lines("wms/") - count("wms/")
    assert src["wms_files"] == count("wms/")
    assert src["finance_rows"] == lines("finance/") - count("finance/")
    assert src["privacy_events"] == lines("privacy/")
    assert src["dsr_requests"] == count("dsr/requests/") == 5
    assert src["late_files"] == len(demo.late_files) == 3


def test_order_rules_and_quarantine_rate_per_partition(demo: DemoData) -> None:
    rules = Counter(_order_rule(o) for o in demo.orders)
    for rule in (
        "amount_cents_non_negative",
        "currency_known",
        "status_known",
        "customer_id_present",
    ):
        assert rules[rule] == _expected(demo, f"quarantine:orders:{rule}")
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for o in demo.orders:
        per_day[o.updated_at.date().isoformat()][0] += _order_rule(o) is not None
        per_day[o.updated_at.date().isoformat()][1] += 1
    for partition, outcome in demo.manifest["checks"][QUARANTINE_RATE_CHECK].items():
        bad, total = per_day[partition]
        assert (bad / total > 0.05) == (outcome == "fail"), partition
        if outcome == "pass":
            assert bad / total < 0.05


def test_orders_timing_and_trip_day(demo: DemoData) -> None:
    end = dt.datetime(2026, 11, 8)
    trip = dt.date(2026, 11, 4)
    for o in demo.orders:
        assert o.created_at <= o.updated_at < end
        assert o.updated_at - o.created_at <= dt.timedelta(hours=36)
        if o.updated_at.date() == trip:
            assert o.created_at.date() == trip
            assert o.status == "pending" or _order_rule(o) is not None
    trip_ids = {o.order_id for o in demo.orders if o.created_at.date() == trip}
    text = b"".join(demo.files.values()) + b"".join(demo.late_files.values())
    assert trip_ids and not trip_ids & set(re.findall(r"ord_\d{7}", text.decode()))
    assert not [k for k in demo.files if "/2026/11/04/" in k and k.startswith(("stripe", "wms"))]
    assert demo.files["finance/2026/11/04/daily_revenue.csv"].count(b"\n") == 1


def test_order_reconciliation_classes_are_exact_and_disjoint(demo: DemoData) -> None:
    found = _order_mismatches(demo, {**demo.files, **demo.late_files})
    for kind in (
        "DUPLICATE_ORDER",
        "MISSING_PAYMENT",
        "ORPHAN_PAYMENT",
        "AMOUNT_MISMATCH",
        "CURRENCY_MISMATCH",
        "STATUS_CONFLICT",
        "MISSING_SHIPMENT",
        "ORPHAN_SHIPMENT",
    ):
        assert len(found[kind]) == _expected(demo, f"audit_order_mismatches:{kind}"), kind
    assert len(found["REFERENTIAL"]) == _expected(demo, "referential:orders:customer_id_exists")
    flagged = Counter(i for ids in found.values() for i in ids)
    assert [i for i, n in flagged.items() if n > 1] == []  # one defect, one detection


def test_late_wave_is_what_makes_payments_and_shipments_complete(demo: DemoData) -> None:
    on_time = _order_mismatches(demo, demo.files)
    complete = _order_mismatches(demo, {**demo.files, **demo.late_files})
    assert len(on_time["MISSING_PAYMENT"]) > len(complete["MISSING_PAYMENT"])
    assert len(on_time["MISSING_SHIPMENT"]) >= len(complete["MISSING_SHIPMENT"])
    for key in demo.late_files:
        day = dt.date(*map(int, key.split("/")[1:4]))
        assert day < dt.date(2026, 11, 7) and day != dt.date(2026, 11, 4)
        assert key not in demo.files
    assert _expected(demo, "late_files:stripe") + _expected(demo, "late_files:wms") == 3


def test_stripe_and_wms_defects_recounted_from_files(demo: DemoData) -> None:
    every = {**demo.files, **demo.late_files}
    _, stripe = _stripe(every)
    assert stripe["dup"] == _expected(demo, "duplicates:stripe:event_id")
    assert stripe["json"] == _expected(demo, "quarantine:stripe:json_parses")
    assert stripe["id"] == _expected(demo, "quarantine:stripe:id_present")
    _, wms = _wms(every)
    assert wms["header"] == _expected(demo, "quarantine:wms:header_matches") == 1
    assert wms["partial"] == _expected(demo, "quarantine:wms:row_complete") == 1
    assert wms["columns"] == _expected(demo, "quarantine:wms:column_count_matches")
    assert wms["quantity"] == _expected(demo, "quarantine:wms:quantity_integer")
    assert wms["ts"] == _expected(demo, "quarantine:wms:event_ts_parses")
    assert wms["dup"] == _expected(demo, "duplicates:wms:shipment_event")
    # Retries really are out of order and in another file than the first delivery.
    first_file: dict[str, str] = {}
    moved = 0
    for key, data in sorted(demo.files.items()):
        if key.startswith("stripe/"):
            for line in data.decode().splitlines():
                event_id = json.loads(line).get("id") if line.endswith("}") else None
                if event_id and first_file.setdefault(event_id, key) != key:
                    moved += 1
    assert moved == stripe["dup"]


def test_finance_variance_recounted_from_orders(demo: DemoData) -> None:
    valid = [o for o in demo.orders if _order_rule(o) is None and not o.is_deleted]
    dupes = _duplicates(valid)
    gross: Counter = Counter()
    for o in valid:
        if o.order_id not in dupes and o.status in ("paid", "shipped", "delivered"):
            gross[(o.created_at.date().isoformat(), o.currency)] += o.amount_cents
    reported = {}
    for key, data in demo.files.items():
        if key.startswith("finance/"):
            for row in csv.DictReader(io.StringIO(data.decode())):
                reported[(row["business_date"], row["currency"])] = int(row["gross_revenue_cents"])
    assert reported.keys() == {k for k, v in gross.items() if v}
    off = [k for k, v in reported.items() if abs(v - gross[k]) / gross[k] > 0.0005]
    assert len(off) == _expected(demo, "audit_revenue_variance:VARIANCE") == 2
    assert all(v == gross[k] for k, v in reported.items() if k not in off)


def test_preference_classes_recounted_from_files(demo: DemoData) -> None:
    events = _privacy_events(demo.files)
    assert any(
        "+02:00" in line
        for k, v in demo.files.items()
        if k.startswith("privacy/")
        for line in v.decode().splitlines()
    )
    mismatches = classify(events, demo.core_rows, dt.date(2026, 11, 7))
    kinds = Counter(m.mismatch_type for m in mismatches)
    for kind in ("MISSING_IN_PRIVACY", "MISSING_IN_CORE", "STATE_DIFF", "STALE_IN_CORE"):
        assert kinds[kind] == _expected(demo, f"audit_preference_mismatches:{kind}"), kind
    assert sum(m.needs_remediation for m in mismatches) == _expected(
        demo, "remediation_core_updates:ROWS"
    )
    assert any(
        m.mismatch_type == "MISSING_IN_CORE" and m.expected_state == "OPT_OUT" for m in mismatches
    )


def test_preference_rules_follow_design_section_8() -> None:
    t = dt.datetime(2026, 11, 2, 10)
    day = t.date()

    def ev(key: str, channel: str, state: str, ts: dt.datetime, rid: str = "r1") -> PrivacyEvent:
        return PrivacyEvent(key, channel, state, ts, rid, day)

    events = [
        ev("a", "ALL", "OPT_OUT", t),
        ev("a", "EMAIL", "OPT_IN", t + dt.timedelta(hours=1)),  # overridden by ALL
        ev("b", "SMS", "OPT_IN", t, "psr-10"),
        ev("b", "SMS", "OPT_OUT", t, "psr-9"),  # string order: psr-9 wins the tie
        ev("c", "ALL", "OPT_OUT", t - dt.timedelta(hours=2)),
        ev("c", "ALL", "OPT_IN", t),  # latest ALL is OPT_IN: overrides nothing
        ev("d", "POST", "OPT_OUT", t + dt.timedelta(microseconds=1)),
    ]
    core = [
        CoreRow("a", "EMAIL", "OPT_IN", t + dt.timedelta(hours=2)),
        CoreRow("a", "SMS", "OPT_OUT", t - dt.timedelta(days=1)),
        CoreRow("b", "SMS", "OPT_IN", t),
        CoreRow("b", "SMS", "OPT_OUT", t),  # full tie: OPT_OUT wins
        CoreRow("c", "ALL", "OPT_IN", t),
        CoreRow("c", "PHONE", "OPT_IN", t),
        CoreRow("d", "POST", "OPT_OUT", t),
        CoreRow("d", "EMAIL", "OPT_IN", t + dt.timedelta(days=2)),  # after recon date: ignored
    ]
    got = {(m.customer_key, m.channel): m.mismatch_type for m in classify(events, core, day)}
    assert got == {
        ("a", "ALL"): "MISSING_IN_CORE",
        ("a", "EMAIL"): "STATE_DIFF",
        ("a", "SMS"): "STALE_IN_CORE",
        ("c", "PHONE"): "MISSING_IN_PRIVACY",
        ("d", "POST"): "STALE_IN_CORE",
    }


@pytest.mark.parametrize(
    ("days", "scale", "seed"), [(1, 0.05, 1), (2, 0.1, 2), (3, 0.2, 3), (5, 0.05, 4)]
)
def test_small_configs_keep_every_invariant(days: int, scale: float, seed: int) -> None:
    data = build_demo(DemoConfig(start=START, days=days, scale=scale, seed=seed))
    every = {**data.files, **data.late_files}
    found = _order_mismatches(data, every)
    for kind in (
        "DUPLICATE_ORDER",
        "MISSING_PAYMENT",
        "ORPHAN_PAYMENT",
        "AMOUNT_MISMATCH",
        "CURRENCY_MISMATCH",
        "STATUS_CONFLICT",
        "MISSING_SHIPMENT",
        "ORPHAN_SHIPMENT",
    ):
        assert len(found[kind]) == _expected(data, f"audit_order_mismatches:{kind}"), kind
    outcomes = data.manifest["checks"][QUARANTINE_RATE_CHECK]
    assert list(outcomes.values()).count("fail") == (1 if days >= 3 else 0)
    rules = Counter(_order_rule(o) for o in data.orders)
    assert all(
        rules[r] > 0
        for r in (
            "amount_cents_non_negative",
            "currency_known",
            "status_known",
            "customer_id_present",
        )
    )
    _, stripe = _stripe(every)
    assert stripe["dup"] == _expected(data, "duplicates:stripe:event_id")


def test_config_is_validated() -> None:
    with pytest.raises(NorthstarError, match="scale"):
        DemoConfig(start=START, scale=0)
    with pytest.raises(NorthstarError, match="days"):
        DemoConfig(start=START, days=0)


def test_landing_replaces_only_what_a_generation_wrote(tmp_path: Path) -> None:
    zone = LocalLandingZone(tmp_path / "landing")
    home = tmp_path / "home"
    lines: list[str] = []

    def land(files: dict[str, bytes], late: dict[str, bytes]) -> None:
        replace_landing(zone, home, stale_keys(zone, home), files, late, lines.append)

    land(
        {"stripe/2026/11/01/events-001.jsonl": b"a\n", "wms/2026/11/01/00/shipments-1.csv": b"h\n"},
        {"wms/2026/11/01/01/shipments-2.csv": b"late\n"},
    )
    assert "writing stripe files 1/1 days" in lines
    assert [o.key for o in zone.list("")] == [
        "stripe/2026/11/01/events-001.jsonl",
        "wms/2026/11/01/00/shipments-1.csv",
    ]
    assert demo_generator.land_late_files(zone, home) == ["wms/2026/11/01/01/shipments-2.csv"]
    zone.write_bytes("orders/2026/11/01/00/run-x.parquet", b"sync export")
    land({"finance/2026/11/02/daily_revenue.csv": b"h\n"}, {})
    assert [o.key for o in zone.list("")] == ["finance/2026/11/02/daily_revenue.csv"]
    zone.write_bytes("privacy/2026/11/02/theirs.jsonl", b"{}\n")
    with pytest.raises(NorthstarError, match=re.escape("privacy/2026/11/02/theirs.jsonl")):
        stale_keys(zone, home)
    fresh = tmp_path / "fresh-home"  # no record: even a sync export is somebody else's
    zone.delete("privacy/2026/11/02/theirs.jsonl")
    with pytest.raises(NorthstarError, match="no demo generation recorded"):
        stale_keys(zone, fresh)


def test_manifest_round_trip_and_missing(tmp_path: Path, demo: DemoData) -> None:
    from northstar_platform.demo.manifest import write_manifest

    with pytest.raises(NorthstarError, match="northstar demo generate"):
        demo_generator.load_manifest(tmp_path)
    with pytest.raises(NorthstarError, match="no late wave"):
        demo_generator.land_late_files(LocalLandingZone(tmp_path / "z"), tmp_path)
    write_manifest(tmp_path, demo.manifest)
    assert demo_generator.load_manifest(tmp_path) == demo.manifest
