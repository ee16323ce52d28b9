"""`northstar demo` end to end at a small scale: what it publishes equals the ground truth.

Expectations come from the generator's manifest and from SQL over the source PostgreSQL
written here, never from the platform's own code.
"""

import csv
import io
import json
from pathlib import Path

import background
import duckdb
import psycopg2
import pytest
from demo_truth import DUPLICATES, REVENUE, RULES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_run(pg_dsn_base: str):
    """The real command, run once for the module (started in the background when collection
    ended, see `background.py`); yield (result, home, source dsn)."""
    background.start_embedded(pg_dsn_base)
    result, home = background.embedded_result()
    yield result, home, f"{pg_dsn_base}/{background.EMBEDDED_DATABASE}"
    admin = psycopg2.connect(f"{pg_dsn_base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {background.EMBEDDED_DATABASE} with (force)")
    admin.close()


def _pg(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _wh(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_demo_exits_zero_and_says_every_built_detector_matches(demo_run) -> None:
    result, _, _ = demo_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "29/29 built detectors match the manifest" in result.stdout
    assert "0 gate outcome(s) differ" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_quarantine_and_duplicates_equal_manifest_and_source(demo_run) -> None:
    _, home, dsn = demo_run
    defects = json.loads((home / "demo" / "manifest.json").read_text())["defects"]
    held = dict(_wh(home, "select rule, count(*) from staging.quarantine_records group by rule"))
    for rule, predicate in RULES.items():
        in_source = _pg(dsn, f"select count(*) from orders where {predicate}")[0][0]
        assert held[rule] == in_source == defects[f"quarantine:orders:{rule}"]["expected"]
    found = _wh(
        home,
        "select order_id from audit.audit_order_mismatches where mismatch_type = 'DUPLICATE_ORDER'",
    )
    expected = _pg(dsn, DUPLICATES)
    assert sorted(found) == sorted(expected)
    assert len(found) == defects["audit_order_mismatches:DUPLICATE_ORDER"]["expected"]


def test_every_row_is_accounted_for_and_the_gate_blocks_its_day(demo_run) -> None:
    _, home, dsn = demo_run
    manifest = json.loads((home / "demo" / "manifest.json").read_text())
    gate = manifest["checks"]["stg_orders.quarantine_rate_within_threshold"]
    blocked = [day for day, outcome in gate.items() if outcome == "fail"]
    assert blocked == ["2026-11-02"]
    per_day = dict(_pg(dsn, "select updated_at::date::text, count(*) from orders group by 1"))
    raw = dict(_wh(home, "select partition_key, count(*) from raw.raw_orders group by 1"))
    staged = dict(_wh(home, "select partition_key, count(*) from staging.stg_orders group by 1"))
    held = dict(
        _wh(home, "select partition_key, count(*) from staging.quarantine_orders group by 1")
    )
    assert raw == per_day
    assert {day: staged.get(day, 0) + held.get(day, 0) for day in raw} == raw
    published = dict(
        _wh(home, "select partition_key, count(*) from curated.orders_latest group by 1")
    )
    assert blocked[0] not in published
    assert published == {day: staged[day] for day in staged if day not in blocked}


def test_revenue_equals_source_truth_and_only_dates_passing_every_gate_are_published(
    demo_run,
) -> None:
    _, home, dsn = demo_run
    manifest = json.loads((home / "demo" / "manifest.json").read_text())
    truth = _pg(dsn, REVENUE)
    blocked = [
        day
        for day, outcome in manifest["checks"][
            "stg_orders.quarantine_rate_within_threshold"
        ].items()
        if outcome == "fail"
    ]
    recognized = _wh(
        home,
        "select business_date, currency, orders, gross_revenue_cents "
        "from curated.int_revenue_daily order by 1, 2",
    )
    assert recognized == [row for row in truth if str(row[0]) not in blocked]

    finance = {}
    for path in sorted((home / "landing" / "finance").rglob("daily_revenue.csv")):
        for row in csv.DictReader(io.StringIO(path.read_text())):
            finance[(row["business_date"], row["currency"])] = int(row["gross_revenue_cents"])
    ours = {(str(d), c): cents for d, c, _, cents in recognized}
    differing = [key for key in ours if ours[key] != finance[key]]
    assert len(differing) == manifest["defects"]["audit_revenue_variance:VARIANCE"]["expected"]

    gates = {
        k: v for k, v in manifest["checks"].items() if k.startswith("audit_publication_gates.")
    }
    assert len(gates) == 4
    passing = {
        day
        for day in manifest["partitions"]
        if day not in blocked and all(outcome[day] == "pass" for outcome in gates.values())
    }
    assert {day for day, _ in differing}.isdisjoint(passing)
    for table in ("marts.fct_daily_revenue", "bi.fct_daily_revenue"):
        published = _wh(
            home,
            "select business_date, currency, orders, gross_revenue_cents "
            f"from {table} order by 1, 2",
        )
        assert published == [row for row in truth if str(row[0]) in passing]


def test_every_request_has_a_report_and_found_means_known_to_the_source(demo_run) -> None:
    _, home, dsn = demo_run
    requests = sorted((home / "landing" / "dsr" / "requests").glob("*.json"))
    statuses = dict(_wh(home, "select request_id, status from ops.dsr_requests"))
    assert len(requests) == len(statuses) == 5
    for path in requests:
        body = json.loads(path.read_text())
        subject = body["subject"]
        known = _pg(
            dsn,
            "select count(*) from customers where lower(email) = lower("
            f"'{subject.get('email', '')}') or customer_id = '{subject.get('customer_id', '')}'",
        )[0][0]
        assert (home / "landing" / "dsr" / "reports" / path.name).exists()
        assert (statuses[body["request_id"]] == "NOT_FOUND") == (known == 0), body["request_id"]


def test_every_run_is_in_the_run_log_and_every_alert_in_both_sinks(demo_run) -> None:
    result, home, _ = demo_run
    import dagster as dg

    alert_file = home / "alerts" / "alerts.jsonl"
    assert f"Alert log: ops.pipeline_alert_log and {alert_file}" in " ".join(result.stdout.split())
    runs = _wh(home, "select run_id, status from ops.pipeline_run_log")
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        finished = {r.run_id: r.status.value for r in instance.get_runs()}
    assert dict(runs) == finished  # one row per run, with the instance's own status
    logged = {row[0] for row in _wh(home, "select alert_id from ops.pipeline_alert_log")}
    filed = [json.loads(line)["alert_id"] for line in alert_file.read_text().splitlines()]
    assert logged and sorted(logged) == sorted(filed)  # each alert once, in both sinks
    alert_runs = {row[0] for row in _wh(home, "select run_id from ops.pipeline_alert_log")}
    assert alert_runs <= set(finished)
    corrections = dict(_wh(home, "select kind, count(*) from ops.audit_corrections group by 1"))
    assert corrections.get("BACKFILL", 0) > 0  # the late wave's re-runs and the catch-up
    patches = list((home / "landing" / "exports" / "core_updates").rglob("patch-*.csv"))
    assert corrections.get("REMEDIATION_EXPORT", 0) == len(patches) > 0  # one per patch sent
