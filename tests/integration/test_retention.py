"""Retention: the landing bucket's lifecycle rule, the landing purge on S3 (moto) and on a
folder, and the warehouse purge on DuckDB and Snowflake's dialect, recorded as corrections.

Expected survivors are written out by hand from the dates each row was given.
"""

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from northstar_platform.layers import Column, Layer, Table
from northstar_platform.lib.retention import LIFECYCLE_RULE_ID, RetentionPolicy
from northstar_platform.resources.landing import LandingResource
from northstar_platform.retention import apply_lifecycle, purge_landing, purge_warehouse

pytestmark = pytest.mark.integration

POLICY = RetentionPolicy(landing_days=90, warehouse_days=730)
TODAY = dt.date(2026, 12, 5)
CUTOFF = "2024-12-05"  # TODAY - 730 days, counted on a calendar


def test_the_cutoff_is_two_years_of_days_back() -> None:
    assert POLICY.warehouse_cutoff(TODAY) == CUTOFF


def test_lifecycle_rule_is_added_beside_the_buckets_other_rules(
    s3_client: Any, s3_bucket: str, moto_s3: str
) -> None:
    theirs = {
        "ID": "finance-archive",
        "Status": "Enabled",
        "Filter": {"Prefix": "finance-exports/"},
        "Expiration": {"Days": 400},
    }
    s3_client.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket, LifecycleConfiguration={"Rules": [theirs]}
    )
    zone = LandingResource(url=f"s3://{s3_bucket}/northstar", s3_endpoint_url=moto_s3).get_zone()
    apply_lifecycle(zone, POLICY)
    apply_lifecycle(zone, POLICY)  # applying again replaces our rule, never duplicates it

    rules = s3_client.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]
    by_id = {r["ID"]: r for r in rules}
    assert sorted(by_id) == ["finance-archive", LIFECYCLE_RULE_ID]
    assert by_id["finance-archive"]["Expiration"] == {"Days": 400}
    ours = by_id[LIFECYCLE_RULE_ID]
    assert ours["Filter"] == {"Prefix": "northstar/"}
    assert ours["Expiration"] == {"Days": 90}
    assert ours["Status"] == "Enabled"
    assert ours["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_landing_purge_on_s3_removes_files_past_90_days_only(s3_bucket: str, moto_s3: str) -> None:
    zone = LandingResource(url=f"s3://{s3_bucket}/northstar", s3_endpoint_url=moto_s3).get_zone()
    keys = ["stripe/2026/01/01/a.jsonl", "wms/2026/01/01/00/b.csv", "dsr/reports/r1.json"]
    for key in keys:
        zone.write_bytes(key, b"x\n")
    now = dt.datetime.now(dt.UTC)

    assert purge_landing(zone, POLICY, now + dt.timedelta(days=89)) == []
    assert [o.key for o in zone.list("")] == sorted(keys)

    listed = purge_landing(zone, POLICY, now + dt.timedelta(days=91), dry_run=True)
    assert sorted(o.key for o in listed) == sorted(keys)
    assert len(zone.list("")) == 3  # a dry run removes nothing

    removed = purge_landing(zone, POLICY, now + dt.timedelta(days=91))
    assert sorted(o.key for o in removed) == sorted(keys)
    assert zone.list("") == []


def test_landing_purge_in_a_folder_goes_by_arrival_time(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    zone = LandingResource(url=str(root)).get_zone()
    now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
    ages = {"stripe/old.jsonl": 100, "wms/edge.csv": 91, "finance/new.csv": 89, "x/y.csv": 0}
    for key, days in ages.items():
        zone.write_bytes(key, b"1\n")
        stamp = (now - dt.timedelta(days=days)).timestamp()
        os.utime(root / key, (stamp, stamp))

    removed = purge_landing(zone, POLICY, now)

    assert sorted(o.key for o in removed) == ["stripe/old.jsonl", "wms/edge.csv"]
    assert [o.key for o in zone.list("")] == ["finance/new.csv", "x/y.csv"]


DAILY = Table(Layer.STAGING, "stg_retention_daily", (Column("partition_key", "VARCHAR"),))
HOURLY = Table(Layer.RAW, "raw_retention_hourly", (Column("partition_key", "VARCHAR"),))
MARTS = Table(
    Layer.MARTS,
    "fct_retention",
    (Column("business_date", "DATE"), Column("amount_cents", "BIGINT")),
)
OPS_LOG = Table(Layer.OPS, "retention_ops_log", (Column("business_date", "DATE"),))
UNPARTITIONED = Table(Layer.CURATED, "retention_dim", (Column("name", "VARCHAR"),))


def _fill(session: Any) -> None:
    rows: dict[Table, dict[str, list[Any]]] = {
        DAILY: {"partition_key": ["2024-12-03", "2024-12-04", "2024-12-05", "2025-06-01"]},
        HOURLY: {"partition_key": ["2024-12-04-23:00", "2024-12-05-00:00", "2026-12-05-10:00"]},
        MARTS: {
            "business_date": [dt.date(2023, 1, 1), dt.date(2024, 12, 4), dt.date(2024, 12, 5)],
            "amount_cents": [100, 200, 300],
        },
        OPS_LOG: {"business_date": [dt.date(2020, 1, 1)]},
        UNPARTITIONED: {"name": ["kept"]},
    }
    for table, data in rows.items():
        session.ensure_table(table)
        session.insert_arrow(table, pa.table(data))


def test_warehouse_purge_removes_partitions_older_than_two_years_and_records_each(
    either_warehouse: Any,
) -> None:
    with either_warehouse.connect() as session:
        _fill(session)
        planned = purge_warehouse(
            session, POLICY, TODAY, run_id=None, trigger="person:ann", dry_run=True
        )
        assert {f"{p.schema}.{p.table}": p.removed.rows for p in planned} == {
            "staging.stg_retention_daily": 2,
            "raw.raw_retention_hourly": 1,
            "marts.fct_retention": 2,
        }
        assert session.fetchone(f"select count(*) from {DAILY.qualified}") == (4,)

        done = purge_warehouse(session, POLICY, TODAY, run_id="r-1", trigger="person:ann")

        assert [(p.table, p.removed.rows) for p in done] == [
            ("fct_retention", 2),
            ("raw_retention_hourly", 1),
            ("stg_retention_daily", 2),
        ]
        left = {
            t.name: sorted(str(r[0]) for r in session.fetchall(f"select * from {t.qualified}"))
            for t in (DAILY, HOURLY, MARTS, OPS_LOG, UNPARTITIONED)
        }
        assert left == {
            "stg_retention_daily": ["2024-12-05", "2025-06-01"],
            "raw_retention_hourly": ["2024-12-05-00:00", "2026-12-05-10:00"],
            "fct_retention": ["2024-12-05"],
            "retention_ops_log": ["2020-01-01"],  # ops is the audit trail: never purged
            "retention_dim": ["kept"],
        }
        recorded = session.fetchall(
            "select kind, asset_key, run_id, trigger, input_fingerprints, note "
            "from ops.audit_corrections order by asset_key"
        )
    assert [r[:4] for r in recorded] == [
        ("RETENTION_PURGE", "marts/fct_retention", "r-1", "person:ann"),
        ("RETENTION_PURGE", "raw/raw_retention_hourly", "r-1", "person:ann"),
        ("RETENTION_PURGE", "staging/stg_retention_daily", "r-1", "person:ann"),
    ]
    assert [json.loads(r[4])[0]["rows"] for r in recorded] == [2, 1, 2]
    assert recorded[0][5] == "business_date < 2024-12-05 (730 days)"


def test_a_second_purge_finds_nothing(either_warehouse: Any) -> None:
    with either_warehouse.connect() as session:
        _fill(session)
        purge_warehouse(session, POLICY, TODAY, run_id=None, trigger="t")
        assert purge_warehouse(session, POLICY, TODAY, run_id=None, trigger="t") == []


def test_the_daily_job_purges_files_and_partitions_and_names_its_trigger(tmp_path: Path) -> None:
    """`apply_retention_job` end to end in Dagster: an expired landed file and the partitions
    past two years go, a fresh file stays, and the run is the correction's trigger."""
    import dagster as dg

    from northstar_platform.defs.ops.retention import apply_retention_job
    from northstar_platform.resources.warehouse import DuckDBWarehouse

    landing = LandingResource(url=str(tmp_path / "landing"))
    zone = landing.get_zone()
    for key, days in {"stripe/old.jsonl": 120, "stripe/new.jsonl": 1}.items():
        zone.write_bytes(key, b"{}\n")
        stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).timestamp()
        os.utime(tmp_path / "landing" / key, (stamp, stamp))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    old_day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=800)).isoformat()
    with warehouse.connect() as session:
        session.ensure_table(DAILY)
        session.insert_arrow(DAILY, pa.table({"partition_key": [old_day, old_day, "2099-01-01"]}))

    result = apply_retention_job.execute_in_process(
        resources={"warehouse": warehouse, "landing": landing},
        tags={"northstar/user": "ann"},
    )

    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["landed_files"] == dg.IntMetadataValue(1)
    assert metadata["warehouse_rows"].value == {"staging.stg_retention_daily": 2}
    assert [o.key for o in zone.list("")] == ["stripe/new.jsonl"]
    with warehouse.connect(read_only=True) as session:
        assert session.fetchall(f"select partition_key from {DAILY.qualified}") == [("2099-01-01",)]
        assert session.fetchall("select kind, trigger from ops.audit_corrections") == [
            ("RETENTION_PURGE", "person:ann")
        ]
