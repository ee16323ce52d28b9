"""A run that materializes a partition again is a BACKFILL correction in ops.audit_corrections,
recorded by the runner right after the run; a first materialization is not."""

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from northstar_platform.runner import run_partition
from tests.stripe_cases import charge_succeeded

pytestmark = pytest.mark.integration

DAY = "2026-10-01"
RAW, STAGED, HELD = (
    dg.AssetKey(["raw", "raw_stripe_events"]),
    dg.AssetKey(["staging", "stg_stripe_events"]),
    dg.AssetKey(["staging", "quarantine_stripe"]),
)


def _land(home: Path, lines: list[str]) -> None:
    folder = home / "landing" / "stripe" / DAY.replace("-", "/")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "events.jsonl").write_text("".join(line + "\n" for line in lines))


def _event(n: int, amount: int = 100) -> str:
    return charge_succeeded(
        f"evt_{n}", charge_id=f"ch_{n}", order_id=f"o{n}", amount=amount, created=1790000000
    )


def _corrections(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select kind, asset_key, partition_key, run_id, trigger, input_fingerprints, "
            "output_fingerprints from ops.audit_corrections order by recorded_at, asset_key"
        ).fetchall()


def test_a_rerun_of_a_day_records_one_backfill_per_asset_with_fingerprints(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from northstar_platform.definitions import build_definitions

    no_sync = tmp_path / "no_sync.json"
    no_sync.write_text('{"tables": []}')
    monkeypatch.setenv("NORTHSTAR_SYNC_CONFIG", str(no_sync))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    _land(northstar_env, [_event(n) for n in range(5)] + ["not json"])
    job = build_definitions().resolve_implicit_global_asset_job_def()

    def run(instance: dg.DagsterInstance) -> str:
        """One run of the day, recorded by the runner right after it ends."""
        run_partition(job, instance, [RAW, STAGED, HELD], DAY)
        return instance.get_runs(limit=1)[0].run_id

    with dg.DagsterInstance.ephemeral() as instance:
        run(instance)
        assert not _table_has_rows(northstar_env)  # a first materialization is no correction
        # The producer re-sends the day with one event corrected: the day is replayed.
        _land(northstar_env, [_event(n, 250 if n == 0 else 100) for n in range(5)] + ["not json"])
        second = run(instance)

    rows = _corrections(northstar_env)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        ("BACKFILL", "raw/raw_stripe_events", DAY, second, "northstar materialize"),
        ("BACKFILL", "staging/quarantine_stripe", DAY, second, "northstar materialize"),
        ("BACKFILL", "staging/stg_stripe_events", DAY, second, "northstar materialize"),
    ]
    raw_out = json.loads(rows[0][6])
    assert [(f["relation"], f["partition"], f["rows"]) for f in raw_out] == [
        ("raw.raw_stripe_events", DAY, 6)
    ]
    staged_in, staged_out = json.loads(rows[2][5]), json.loads(rows[2][6])
    assert staged_in == raw_out  # staging read exactly what raw wrote
    assert [(f["relation"], f["rows"]) for f in staged_out] == [("staging.stg_stripe_events", 5)]
    held_out = json.loads(rows[1][6])
    assert [(f["relation"], f["rows"]) for f in held_out] == [("staging.quarantine_stripe", 1)]


def _table_has_rows(home: Path) -> bool:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ops' and table_name = 'audit_corrections'"
        ).fetchone()
        if not found or not found[0]:
            return False
        return bool(con.execute("select count(*) from ops.audit_corrections").fetchone()[0])
