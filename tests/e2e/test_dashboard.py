"""The operations dashboard, loaded in headless Chromium from `northstar dashboard`.

A DuckDB warehouse in a tmp NORTHSTAR_HOME gets hand-written rows in every table a panel
reads: run-log rows over several days (one outside the 31-day window, one of a shadow run),
order and preference mismatches of several classes and dates, raw and quarantined rows,
alerts. The real command serves it on a free port in a subprocess; the page must load without
a console error or a failed request, draw exactly the marks the seeded rows imply (computed
here from the seed lists, not read back from the code), list exactly the seeded alerts with
working run links, and its JSON must give the exact rates. A fresh warehouse shows "no data
yet" everywhere; a warehouse held by a writer answers 503 with a readable sentence.
"""

import datetime as dt
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    PIPELINE_ALERT_LOG,
    PIPELINE_RUN_LOG,
    QUARANTINE_ORDERS,
    QUARANTINE_WMS,
    RAW_ORDERS,
    RAW_WMS_SHIPMENTS,
    Table,
)
from northstar_platform.lib.quarantine import refresh_quarantine_view
from northstar_platform.resources.warehouse import DuckDBSession

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TODAY = dt.datetime.now(dt.UTC).date()


def day(ago: int) -> str:
    """ISO date `ago` days before today (UTC)."""
    return (TODAY - dt.timedelta(days=ago)).isoformat()


def at(ago: int, hour: int) -> dt.datetime:
    return dt.datetime.fromisoformat(day(ago)) + dt.timedelta(hours=hour)


def check(asset: str, name: str, partition: str, passed: bool) -> dict[str, Any]:
    return {"asset": asset, "check": name, "partition": partition, "passed": passed,
            "severity": "ERROR"}  # fmt: skip


# run id, ended (days ago, hour), environment, rows written, check results
RUNS = [
    ("run-a1", (3, 10), "production", {"raw/raw_orders": 200, "staging/stg_orders": 197},
     [check("raw/raw_orders", "conserves_records", day(3), True),
      check("staging/stg_orders", "conserves_records", day(3), True),
      check("staging/stg_orders", "quarantine_rate_within_threshold", day(3), True)]),
    ("run-a2", (3, 14), "production", {"raw/raw_orders": 50},
     [check("raw/raw_orders", "conserves_records", day(3), True)]),
    ("run-b1", (2, 9), "production",
     {"raw/raw_stripe_events": 120, "staging/stg_stripe_events": 118},
     [check("raw/raw_stripe_events", "conserves_records", day(2), True),
      check("staging/stg_stripe_events", "quarantine_rate_within_threshold", day(2), False)]),
    ("run-c1", (1, 8), "production", {"raw/raw_orders": 210, "audit/audit_order_mismatches": 4},
     [check("audit/audit_revenue_variance", "revenue_variance_within_limit", day(1), False),
      check("audit/audit_order_mismatches", "mismatch_count_within_baseline", day(1), True)]),
    ("run-old", (40, 8), "production", {"raw/raw_finance_revenue": 3},
     [check("raw/raw_finance_revenue", "conserves_records", day(40), False)]),
    ("run-shadow", (2, 12), "shadow", {"marts/fct_orders": 10},
     [check("marts/fct_orders", "unique_order_id", day(2), False)]),
]  # fmt: skip
WINDOW_DAYS = 31

# business date (days ago), mismatch class, open rows, cleared rows
ORDER_MISMATCHES = [
    (3, "MISSING_PAYMENT", 2, 1),
    (3, "AMOUNT_MISMATCH", 1, 0),
    (2, "MISSING_PAYMENT", 1, 0),
    (2, "ORPHAN_SHIPMENT", 3, 0),
    (1, "AMOUNT_MISMATCH", 0, 1),
    (35, "MISSING_PAYMENT", 1, 0),
]
# reconciliation date (days ago), class, rows
PREFERENCE_MISMATCHES = [(2, "STATE_DIFF", 2), (2, "MISSING_IN_CORE", 1), (1, "STATE_DIFF", 1)]

# source, raw table, partition, raw rows, held records (each with its held_rows)
QUARANTINE = [
    ("orders", RAW_ORDERS, QUARANTINE_ORDERS, day(3), 200, [1, 1, 1]),
    ("orders", RAW_ORDERS, QUARANTINE_ORDERS, day(1), 210, []),
    ("wms", RAW_WMS_SHIPMENTS, QUARANTINE_WMS, f"{day(2)}-05:00", 40, [40]),
    ("wms", RAW_WMS_SHIPMENTS, QUARANTINE_WMS, f"{day(2)}-06:00", 10, []),
    ("orders", RAW_ORDERS, QUARANTINE_ORDERS, day(45), 100, [1]),
]

UI = "http://127.0.0.1:3000"
# alert id, raised (days ago, hour), asset, partition, check, observed, threshold, run id
ALERTS = [
    ("al-1", (2, 9), "staging/stg_stripe_events", day(2), "quarantine_rate_within_threshold",
     "0.05", "0.01", "run-b1"),
    ("al-2", (1, 8), "audit/audit_revenue_variance", day(1), "revenue_variance_within_limit",
     "0.0099", "0.0005", "run-c1"),
    ("al-3", (1, 9), "audit/audit_revenue_variance", day(1), "revenue_variance_within_limit",
     "0.0101", "0.0005", "run-c1"),
    ("al-old", (40, 8), "raw/raw_finance_revenue", day(40), "conserves_records", "3", "0",
     "run-old"),
]  # fmt: skip


def in_window(ago: int) -> bool:
    return ago < WINDOW_DAYS


def raw_row_values(table: Table) -> str:
    """A select list filling one contract row per `range` value (partition key as `?`)."""
    special = {"partition_key": "?", "line_no": "range", "ingested_ts": "now()"}
    by_type = {"BOOLEAN": "true", "VARCHAR": "'x'"}
    values = [special.get(c.name, by_type.get(c.sql_type, "null")) for c in table.columns]
    return ", ".join(values)


def seed(path: Path) -> None:
    """Write every seeded row above into a new DuckDB warehouse at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    session = DuckDBSession(con)
    session.ensure_schemas()
    for table in (PIPELINE_RUN_LOG, PIPELINE_ALERT_LOG, AUDIT_PREFERENCE_MISMATCHES,
                  RAW_ORDERS, RAW_WMS_SHIPMENTS, QUARANTINE_ORDERS, QUARANTINE_WMS):  # fmt: skip
        con.execute(table.create_sql())
    for run_id, (ago, hour), env, rows, checks in RUNS:
        passed = sum(c["passed"] for c in checks)
        con.execute(
            f"insert into {PIPELINE_RUN_LOG.qualified} values "
            "(?, 'ingest_job', ?, 'SUCCESS', ?, ?, 60.0, 'user:test', ?, ?, ?, ?, ?, null, "
            "'abc123', 'def456', ?, ?)",
            [run_id, day(ago), at(ago, hour) - dt.timedelta(minutes=1), at(ago, hour),
             len(rows), json.dumps(rows), passed, len(checks) - passed, json.dumps(checks), env,
             at(ago, hour)],
        )  # fmt: skip
    con.execute(
        "create table audit.audit_order_mismatches (business_date date, order_id varchar, "
        "mismatch_type varchar, is_cleared boolean)"
    )
    for ago, kind, n_open, n_cleared in ORDER_MISMATCHES:
        for n, cleared in enumerate([False] * n_open + [True] * n_cleared):
            con.execute(
                "insert into audit.audit_order_mismatches values (?, ?, ?, ?)",
                [day(ago), f"o-{ago}-{kind}-{n}", kind, cleared],
            )
    for ago, kind, n_rows in PREFERENCE_MISMATCHES:
        for n in range(n_rows):
            con.execute(
                f"insert into {AUDIT_PREFERENCE_MISMATCHES.qualified} "
                "(recon_date, customer_key, channel, mismatch_type) values (?, ?, 'EMAIL', ?)",
                [day(ago), f"k-{ago}-{kind}-{n}", kind],
            )
    for source, raw, held, partition, raw_rows, held_rows in QUARANTINE:
        con.execute(
            f"insert into {raw.qualified} select {raw_row_values(raw)} from range(?)",
            [partition, raw_rows],
        )
        for n, rows in enumerate(held_rows):
            con.execute(
                f"insert into {held.qualified} values (?, ?, 'f', ?, null, 'rule', 'reason', "
                "null, 'r', now(), ?)",
                [source, partition, n, rows],
            )
    refresh_quarantine_view(session)
    for alert_id, (ago, hour), asset, partition, check_name, observed, limit, run in ALERTS:
        con.execute(
            f"insert into {PIPELINE_ALERT_LOG.qualified} values "
            "(?, ?, 'check_failed', ?, ?, ?, ?, ?, ?, ?, ?)",
            [alert_id, at(ago, hour), asset, partition, check_name, observed, limit,
             f"{check_name} failed on {asset}", run, f"{UI}/runs/{run}"],
        )  # fmt: skip
    con.close()


@pytest.fixture
def serve(northstar_env: Path) -> Iterator[Any]:
    """Start `northstar dashboard --port 0` for the test's home; yields a function that
    starts one and returns its base URL. Servers are terminated at the end."""
    started: list[subprocess.Popen[str]] = []

    def start() -> str:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "northstar"), "dashboard", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        started.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not found:
            proc.kill()
            pytest.fail(f"dashboard did not start: {line!r} {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        return f"http://127.0.0.1:{found.group(1)}"

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` "
            "(.ci/run does this on CI)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser: Any, url: str) -> tuple[Any, list[str]]:
    """A page loaded from `url`, and every console error, failed request or HTTP error."""
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 else None)  # fmt: skip
    response = page.goto(url)
    assert response is not None and response.status == 200, response and response.status
    return page, problems


def assert_marks(page: Any, chart: str, expected: dict[str, int]) -> None:
    """The chart is visible and draws exactly `expected[series]` marks per series, each
    with a non-zero box."""
    figure = page.locator(f'figure[data-chart="{chart}"]')
    assert figure.count() == 1, f"chart {chart} missing"
    box = figure.locator("svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50, (chart, box)
    marks = figure.locator(".mark")
    drawn: dict[str, int] = defaultdict(int)
    for i in range(marks.count()):
        mark_box = marks.nth(i).bounding_box()
        assert mark_box and mark_box["width"] > 0 and mark_box["height"] > 0, (chart, i)
        drawn[marks.nth(i).get_attribute("data-series")] += 1
    assert dict(drawn) == expected, chart
    legend = figure.locator(".legend li").all_inner_texts()
    assert sorted(legend) == sorted(expected), chart


def test_dashboard_draws_every_panel_from_the_seeded_rows(
    serve: Any, browser: Any, northstar_env: Path, tmp_path: Path
) -> None:
    seed(northstar_env / "warehouse.duckdb")
    base = serve()
    page, problems = open_page(browser, f"{base}/")

    # 1. Rows per asset: one point per (asset, day) with rows in a production run in the window.
    days_of: dict[str, set[int]] = defaultdict(set)
    for _, (ago, _), env, rows, _ in RUNS:
        if env == "production" and in_window(ago):
            for asset in rows:
                days_of[asset].add(ago)
    assert len(days_of) == 5
    assert page.locator('[data-panel="rows"] figure').count() == len(days_of)
    for asset, days in days_of.items():
        assert_marks(page, f"rows:{asset}", {asset: len(days)})

    # 2. Checks: a passed and/or a failed segment per day with results.
    outcomes: dict[int, set[bool]] = defaultdict(set)
    for _, (ago, _), env, _, checks in RUNS:
        if env == "production" and in_window(ago):
            outcomes[ago].update(c["passed"] for c in checks)
    expected = {
        "passed": sum(True in o for o in outcomes.values()),
        "failed": sum(False in o for o in outcomes.values()),
    }
    assert expected == {"passed": 3, "failed": 2}
    assert_marks(page, "checks", expected)
    failing = page.locator("table.failing tbody tr").all_inner_texts()
    assert len(failing) == 2  # stripe quarantine rate, revenue variance (old/shadow ones out)

    # 3. Mismatches: one segment per (date, class) with open rows in the window.
    order_marks: dict[str, int] = defaultdict(int)
    for ago, kind, n_open, _ in ORDER_MISMATCHES:
        if n_open and in_window(ago):
            order_marks[kind] += 1
    assert_marks(page, "mismatches:orders", dict(order_marks))
    pref_marks: dict[str, int] = defaultdict(int)
    for _, kind, _ in PREFERENCE_MISMATCHES:
        pref_marks[kind] += 1
    assert_marks(page, "mismatches:preferences", dict(pref_marks))

    # 4. Quarantine: one bar per partition with raw rows in the window, per source.
    bars: dict[str, int] = defaultdict(int)
    for source, _, _, partition, _, _ in QUARANTINE:
        if partition[:10] >= day(WINDOW_DAYS - 1):
            bars[source] += 1
    for source, n in bars.items():
        assert_marks(page, f"quarantine:{source}", {f"{source}: held / raw rows": n})

    # 5. Alerts: a bar per day with alerts; the table lists exactly the window's alerts.
    recent = [a for a in ALERTS if in_window(a[1][0])]
    assert_marks(page, "alerts", {"alerts raised": len({a[1][0] for a in recent})})
    rows = page.locator("table.alerts tbody tr")
    assert rows.count() == len(recent) == 3
    newest_first = sorted(recent, key=lambda a: at(*a[1]), reverse=True)
    for i, (_, (ago, hour), asset, partition, check_name, observed, limit, run) in enumerate(
        newest_first
    ):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[:6] == [
            at(ago, hour).isoformat(sep=" "), asset, partition, check_name, observed, limit
        ]  # fmt: skip
        assert rows.nth(i).locator("a.run-link").get_attribute("href") == f"/runs/{run}"
        assert rows.nth(i).locator("a.dagster-link").get_attribute("href") == f"{UI}/runs/{run}"

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert problems == []

    # A run link opens that run's row of the run log.
    rows.nth(0).locator("a.run-link").click()
    page.wait_for_load_state()
    assert page.url == f"{base}/runs/run-c1"
    assert page.locator('td[data-field="job_name"]').inner_text() == "ingest_job"
    assert page.locator('td[data-field="checks_failed"]').inner_text() == "1"
    assert "audit/audit_order_mismatches" in page.locator("body").inner_text()
    assert problems == []

    # The JSON gives the exact rates: 3 of 200 orders rows, a whole WMS file of 40.
    with urllib.request.urlopen(f"{base}/api/quarantine.json") as response:
        partitions = json.load(response)["data"]["partitions"]
    expected_rows = sorted(
        (source, partition, sum(held), raw_rows, sum(held) / raw_rows)
        for source, _, _, partition, raw_rows, held in QUARANTINE
        if partition[:10] >= day(WINDOW_DAYS - 1)
    )
    assert [
        (p["source"], p["partition"], p["held_rows"], p["raw_rows"], p["rate"]) for p in partitions
    ] == expected_rows
    assert (("orders", day(3), 3, 200, 0.015)) in expected_rows
    page.close()


def test_a_fresh_warehouse_shows_no_data_yet(serve: Any, browser: Any, northstar_env: Path) -> None:
    """No warehouse file at all, then an empty one: every panel says so, with HTTP 200."""
    base = serve()
    page, problems = open_page(browser, f"{base}/")
    for panel in ("rows", "checks", "quarantine", "alerts"):
        assert page.locator(f'[data-panel="{panel}"] .empty').inner_text() == "no data yet"
    assert page.locator('[data-panel="mismatches"] .empty').count() == 2
    assert page.locator("figure").count() == 0
    assert not (northstar_env / "warehouse.duckdb").exists()  # a reader creates nothing
    northstar_env.mkdir(parents=True)
    duckdb.connect(str(northstar_env / "warehouse.duckdb")).close()
    page.reload()
    assert page.locator(".empty").count() == 6
    assert problems == []
    page.close()


def test_a_locked_warehouse_answers_503_with_a_readable_message(
    serve: Any, northstar_env: Path
) -> None:
    path = northstar_env / "warehouse.duckdb"
    seed(path)
    base = serve()
    writer = duckdb.connect(str(path))  # what a run holds while it writes
    try:
        for url in (f"{base}/", f"{base}/api/alerts.json"):
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(url)
            assert caught.value.code == 503
            body = caught.value.read().decode()
            assert f"the warehouse is busy: a run holds {path}; reload in a moment" in body
            assert "Traceback" not in body
    finally:
        writer.close()
    with urllib.request.urlopen(f"{base}/api/alerts.json") as response:
        assert json.load(response)["data"]["total"] == 3
