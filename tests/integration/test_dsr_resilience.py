"""A source that keeps failing: retries with backoff, the circuit opens, lookups dead-letter.

The failure is real: the source DSN points at a port nothing listens on. The preflight's
three attempts (1 + NORTHSTAR_DSR_RETRIES=2) open PostgreSQL's circuit (threshold 3); every
catalogued PostgreSQL table is then dead-lettered at once (0 attempts, circuit open) while
the warehouse is still searched. The status says DEAD_LETTERED and the blocking check
`lookups_complete` fails and alerts.
"""

import json
import socket
from pathlib import Path

import dagster as dg
import pytest

from tests.integration import dsr_world as w


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens


def test_failing_source_opens_the_circuit_and_dead_letters(
    northstar_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/nothing_here"
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", dsn)
    monkeypatch.setenv("NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", "2")
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    monkeypatch.setenv("NORTHSTAR_DSR_BACKOFF_S", "0.01")
    w.seed_warehouse(northstar_env)
    w.write_request(northstar_env, "req-1", "access", {"customer_id": "C1"}, "2026-11-20T10:00:00Z")

    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-1")
    # The discovery is materialized; its blocking check fails the run.
    assert not result.success
    assert "lookups_complete" in w.failure_message(result)
    assert len(result.asset_materializations_for_node("dsr__dsr_discovery")) == 1

    letters = w.warehouse(
        northstar_env,
        "select system, table_name, attempts, error like '%unreachable%', "
        "error like '%circuit for postgres is open%' from ops.dsr_dead_letters order by 2",
    )
    assert letters == [
        ("postgres", "information_schema.columns", 3, True, False),
        ("postgres", "public.core_preferences", 0, False, True),
        ("postgres", "public.customers", 0, False, True),
        ("postgres", "public.orders", 0, False, True),
    ]
    assert w.warehouse(
        northstar_env, "select status, dead_letters, rows_found from ops.dsr_requests"
    ) == [("DEAD_LETTERED", 4, 6)]  # the warehouse still answered: C1 in 5 tables, 6 rows
    report = w.report(northstar_env, "req-1")
    assert [loc["system"] for loc in report["locations"]] == ["warehouse"] * 5

    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks == {"lookups_complete": False, "answered_before_sla_warning": True}
    [alert] = w.warehouse(
        northstar_env, "select check_name, observed, threshold from ops.pipeline_alert_log"
    )
    assert alert == ("lookups_complete", "4", "0")
    lines = (northstar_env / "logs" / "dsr.jsonl").read_text().splitlines()
    events = [json.loads(x) for x in lines]
    retries = [
        (e["system"], e["attempt"], e["backoff_s"])
        for e in events
        if e["event"] == "preflight_retry"
    ]
    assert retries == [("postgres", 1, 0.01), ("postgres", 2, 0.02)]  # exponential backoff
    assert len({e["trace_id"] for e in events}) == 1
