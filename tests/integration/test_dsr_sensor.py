"""Dropping a request file: the sensor adds exactly one partition and asks for its run, and
that run writes the report.
"""

from pathlib import Path

import dagster as dg
import pytest

from tests.integration import dsr_world as w


def test_a_dropped_request_becomes_one_partition_and_its_report(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    from northstar_platform.definitions import build_definitions
    from northstar_platform.defs.dsr.sensors import dsr_requests_sensor
    from northstar_platform.resources.landing import LandingResource

    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    w.seed_postgres(fresh_pg_dsn)
    w.seed_warehouse(northstar_env)
    landing = LandingResource(url=str(northstar_env / "landing"))

    def tick(instance: dg.DagsterInstance) -> dg.SensorResult:
        with dg.build_sensor_context(instance=instance, resources={"landing": landing}) as ctx:
            result = dsr_requests_sensor(ctx)
        assert isinstance(result, dg.SensorResult)
        return result

    with dg.DagsterInstance.ephemeral() as instance:
        assert tick(instance).run_requests == []
        # Received 2000 days ago: long overdue, so the highest priority.
        w.write_request(
            northstar_env, "req-7", "access", {"email": "bob@example.com"}, "2021-01-01T00:00:00Z"
        )
        (northstar_env / "landing" / "dsr" / "requests" / "notes.txt").write_text("not a request")
        result = tick(instance)
        [add] = result.dynamic_partitions_requests
        assert isinstance(add, dg.AddDynamicPartitionsRequest)
        assert (add.partitions_def_name, list(add.partition_keys)) == ("dsr_requests", ["req-7"])
        [run] = result.run_requests
        assert (run.partition_key, run.run_key, run.tags["dagster/priority"]) == (
            "req-7",
            "req-7",
            "100",
        )

        instance.add_dynamic_partitions(add.partitions_def_name, list(add.partition_keys))
        assert instance.get_dynamic_partitions("dsr_requests") == ["req-7"]
        again = tick(instance)
        assert (again.run_requests, again.dynamic_partitions_requests) == ([], [])

        job = build_definitions().resolve_job_def("discover_dsr_job")
        ran = job.execute_in_process(
            partition_key=run.partition_key, tags=run.tags, instance=instance, raise_on_error=False
        )
    # Overdue and open? No: an access request answered by its report is answered.
    assert ran.success, w.failure_message(ran)
    report = w.report(northstar_env, "req-7")
    assert [(loc["system"], loc["table"], loc["rows"]) for loc in report["locations"]] == [
        ("postgres", "public.core_preferences", 1),
        ("postgres", "public.customers", 1),
        ("postgres", "public.orders", 1),
        ("warehouse", "curated.customers_latest", 1),
        ("warehouse", "curated.orders_latest", 1),
        ("warehouse", "raw.raw_privacy_events", 1),
        ("warehouse", "staging.quarantine_orders", 1),
        ("warehouse", "staging.stg_orders", 1),
    ]
