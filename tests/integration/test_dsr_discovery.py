"""DSR discovery through Dagster against the real PostgreSQL and a DuckDB warehouse.

The world (tests/integration/dsr_world.py) holds Alice (C1) and Bob (C12) in three source
tables and five warehouse tables; the expected locations and row counts below are counted by
hand from those rows. Alice's request names only her email (in another case): her orders,
preferences and quarantined payloads are reached through the customer id her email links to.
"""

from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from tests.integration import dsr_world as w


@pytest.fixture
def world(northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    w.seed_postgres(fresh_pg_dsn)
    w.seed_warehouse(northstar_env)
    return northstar_env


ALICE_LOCATIONS = [
    # (system, table, rows): counted from dsr_world's rows for C1 / alice@example.com
    ("postgres", "public.core_preferences", 1),
    ("postgres", "public.customers", 1),
    ("postgres", "public.orders", 2),
    ("warehouse", "curated.customers_latest", 1),
    ("warehouse", "curated.orders_latest", 2),
    ("warehouse", "raw.raw_privacy_events", 1),
    ("warehouse", "staging.quarantine_orders", 1),
    ("warehouse", "staging.stg_orders", 1),
]


@pytest.mark.parametrize("batch_size", ["500", "1"])
def test_subject_is_found_in_several_tables_of_both_systems(
    world: Path, batch_size: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # batch size 1: every identifier is its own lookup, and rows found by both merge exactly.
    monkeypatch.setenv("NORTHSTAR_DSR_BATCH_SIZE", batch_size)
    w.write_request(
        world, "req-alice", "access", {"email": "Alice@Example.COM"}, "2026-11-20T10:00:00Z"
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-alice")
    assert result.success, w.failure_message(result)

    report = w.report(world, "req-alice")
    found = [(loc["system"], loc["table"], loc["rows"]) for loc in report["locations"]]
    assert found == ALICE_LOCATIONS
    assert report["status"] == "FOUND"
    assert report["total_rows"] == 10
    assert report["identifiers"] == {"email": ["alice@example.com"], "customer_id": ["C1"]}
    assert report["deadline_at"] == {"$type": "datetime", "value": "2026-12-20T10:00:00"}
    by_table = {loc["table"]: loc["records"] for loc in report["locations"]}
    stamp = {"$type": "datetime", "value": "2026-11-02T09:30:00"}
    assert by_table["public.customers"] == [
        {"customer_id": "C1", "email": "alice@example.com", "full_name": "Alice Liddell",
         "phone": "+44 20 7946 0001", "created_at": stamp, "updated_at": stamp}
    ]  # fmt: skip
    assert sorted(r["order_id"] for r in by_table["public.orders"]) == ["O1", "O2"]
    assert by_table["staging.quarantine_orders"][0]["payload"] == (
        '{"customer_id": "C1", "amount": -5}'
    )

    status = w.warehouse(
        world,
        "select request_id, kind, status, locations, rows_found, dead_letters, report_key, "
        "cast(deadline_at as varchar) from ops.dsr_requests",
    )
    assert status == [
        ("req-alice", "access", "FOUND", 8, 10, 0, "dsr/reports/req-alice.json",
         "2026-12-20 10:00:00")
    ]  # fmt: skip
    checks = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks == {"lookups_complete": True, "answered_before_sla_warning": True}


def test_subject_found_nowhere(world: Path) -> None:
    w.write_request(
        world, "req-nobody", "erasure", {"email": "nobody@example.org", "customer_id": "C9"},
        "2026-11-20T10:00:00+01:00",
    )  # fmt: skip
    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-nobody")
    assert result.success, w.failure_message(result)
    report = w.report(world, "req-nobody")
    assert (report["status"], report["locations"], report["total_rows"]) == ("NOT_FOUND", [], 0)
    assert report["erasure_plan"] == []
    assert report["received_at"] == {"$type": "datetime", "value": "2026-11-20T09:00:00"}
    assert w.warehouse(world, "select status, locations, rows_found from ops.dsr_requests") == [
        ("NOT_FOUND", 0, 0)
    ]


def test_erasure_runs_only_confirmed_and_is_audited(world: Path, fresh_pg_dsn: str) -> None:
    from northstar_platform.definitions import build_definitions

    w.write_request(world, "req-erase", "erasure", {"customer_id": "C1"}, "2026-11-20T10:00:00Z")
    with dg.DagsterInstance.ephemeral() as instance:
        assert w.discover(instance, "req-erase").success
        plan = w.report(world, "req-erase")["erasure_plan"]
        # Email, name, phone and free text are nulled where Alice's rows are; ids stay.
        assert [(p["system"], p["table"], p["set_null"], p["rows_found"]) for p in plan] == [
            ("postgres", "public.customers", ["email", "full_name", "phone"], 1),
            ("warehouse", "curated.customers_latest", ["email", "full_name", "phone"], 1),
            ("warehouse", "raw.raw_privacy_events", ["record"], 1),
            ("warehouse", "staging.quarantine_orders", ["payload"], 1),
        ]
        job = build_definitions().resolve_job_def("erase_dsr_subject_job")

        def run(confirm: bool) -> dg.ExecuteInProcessResult:
            config = {"request_id": "req-erase", "confirm": confirm}
            return job.execute_in_process(
                run_config={"ops": {"erase_dsr_subject": {"config": config}}},
                instance=instance,
                raise_on_error=False,
            )

        refused = run(confirm=False)
        assert not refused.success and "confirm explicitly" in w.failure_message(refused)
        with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
            cur.execute("select count(*) from customers where email is not null")
            assert cur.fetchone() == (2,)
        conn.close()
        assert run(confirm=True).success

    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("select customer_id, email, full_name, phone from customers order by 1")
        assert cur.fetchall() == [("C1", None, None, None), ("C12", *w.BOB[1:])]
        cur.execute("select count(*) from orders where customer_id = 'C1'")
        assert cur.fetchone() == (2,)
    conn.close()
    assert w.warehouse(
        world, "select customer_id, email from curated.customers_latest order by 1"
    ) == [("C1", None), ("C12", "bob@example.com")]
    assert w.warehouse(
        world, "select count(*) from staging.quarantine_orders where payload is null"
    ) == [(1,)]
    audit = w.warehouse(
        world,
        "select kind, asset_key, partition_key, note from ops.audit_corrections order by note",
    )
    assert [(k, a, p) for k, a, p, _ in audit] == [
        ("DSR_ERASURE", "dsr/dsr_discovery", "req-erase")
    ] * 4
    assert ['"rows_changed": 1' in note for *_, note in audit] == [True] * 4
    assert w.warehouse(world, "select status from ops.dsr_requests") == [("ERASED",)]
