"""The catalog pre-flight halts discovery on drift, naming every drifted column.

Drift is made for real in both systems: PostgreSQL's customers gain an uncatalogued
`backup_email` column and the warehouse's customers_latest loses its catalogued `phone`.
"""

from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from tests.integration import dsr_world as w


@pytest.fixture
def drifted(northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    w.seed_postgres(fresh_pg_dsn)
    w.seed_warehouse(northstar_env)
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("alter table customers add column backup_email text")
    conn.close()
    import duckdb

    with duckdb.connect(str(northstar_env / "warehouse.duckdb")) as con:
        con.execute("alter table curated.customers_latest drop column phone")
    w.write_request(northstar_env, "req-1", "access", {"customer_id": "C1"}, "2026-11-20T10:00:00Z")
    return northstar_env


def test_drift_halts_discovery_and_names_the_columns(drifted: Path) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-1")
    assert not result.success
    message = w.failure_message(result)
    assert "PII catalog drift: 2 column(s) > NORTHSTAR_DSR_DRIFT_MAX_COLUMNS=0" in message
    assert "postgres public.customers.backup_email (uncatalogued)" in message
    assert "warehouse curated.customers_latest.phone (missing)" in message
    assert not (drifted / "landing" / "dsr" / "reports" / "req-1.json").exists()
    assert w.warehouse(drifted, "select status, rows_found from ops.dsr_requests") == [
        ("DRIFT_HALTED", 0)
    ]


def test_drift_within_the_threshold_lets_discovery_run(
    drifted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NORTHSTAR_DSR_DRIFT_MAX_COLUMNS", "2")
    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-1")
    assert result.success, w.failure_message(result)
    assert w.report(drifted, "req-1")["status"] == "FOUND"
    [materialization] = result.asset_materializations_for_node("dsr__dsr_discovery")
    assert materialization.metadata["tolerated_drift_columns"].value == 2
