"""Checks of the PostgreSQL sync (seed 003's controls), blocking, one set per table."""

import io
from collections.abc import Mapping
from typing import Any

import dagster as dg
import pyarrow.parquet as pq

from asset_checks import build_conservation_check, build_no_duplicates_check
from northstar_platform.defs.sync.assets import sync_keys
from northstar_platform.layers import Layer, Table, quote
from northstar_platform.lib.sync_config import SyncTable
from northstar_platform.lib.sync_sql import DEAD_LETTER_REVIEWS, SYNC_LOADS, SYNC_MERGES, SYNC_RUNS
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings

SAMPLE_SIZE = 20
ERROR = dg.AssetCheckSeverity.ERROR


def _scalar(session: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = session.fetchone(sql, params)
    return row[0] if row else None


def build_sync_checks(table: SyncTable) -> list[dg.AssetChecksDefinition]:
    """Conservation, row-count delta, drift, sample, duplicates and dead letters of a table."""
    keys = sync_keys(table)
    raw = Table(Layer.RAW, f"raw_{table.name}", ())
    final = Table(Layer.CURATED, f"{table.name}_latest", ())
    dead = Table(Layer.STAGING, f"quarantine_{table.name}", ())
    wm = quote(table.watermark_col)
    on_keys = " and ".join(f"{quote(k)} = ?" for k in table.primary_keys)
    source_max_sql = f"select max({wm})::timestamp from {table.qualified_source}"  # noqa: S608
    final_max_sql = f"select max({wm}) from {final.qualified}"  # noqa: S608
    final_row_sql = f"select 1 from {final.qualified} where {on_keys} and {wm} = ?"  # noqa: S608

    def landed(
        context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
    ) -> dict[str, int]:
        zone = resources["landing"].get_zone()
        with resources["warehouse"].connect() as session:
            files = session.fetchall(
                f"select source_file from {SYNC_LOADS.qualified} where table_name = ?",  # noqa: S608
                (table.name,),
            )
        rows = sum(
            pq.ParquetFile(io.BytesIO(zone.read_bytes(f))).metadata.num_rows for (f,) in files
        )
        return {"landed_rows_of_staged_files": rows}

    def staged(
        context: dg.AssetCheckExecutionContext, resources: Mapping[str, Any]
    ) -> dict[str, int]:
        with resources["warehouse"].connect() as session:
            if not session.table_exists(raw.layer.value, raw.name):
                return {"staged": 0}
            return {"staged": int(_scalar(session, f"select count(*) from {raw.qualified}"))}  # noqa: S608

    conserves = build_conservation_check(
        keys["staging"],
        description="Rows in every staged export file (parquet metadata) = rows in STAGING.",
        inputs=landed,
        outputs=staged,
        required_resource_keys={"landing", "warehouse"},
    )

    @dg.asset_check(
        asset=keys["final"],
        name="row_count_delta",
        blocking=True,
        description="The last merge accounts for every staged row: rows of its files = "
        "inserted + updated + unchanged + superseded + dead-lettered, and FINAL grew "
        "by exactly the inserted rows.",
    )
    def row_count_delta(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as session:
            last = session.fetchone(
                f"select run_id, rows_in, dead_lettered, superseded, inserted, updated, unchanged, "  # noqa: S608
                f"final_rows_before, final_rows_after, mode from {SYNC_RUNS.qualified} "
                "where table_name = ? order by merged_at desc limit 1",
                (table.name,),
            )
            if last is None:
                return dg.AssetCheckResult(passed=True, metadata={"note": "no merge yet"})
            run_id, rows_in, dead_n, sup, ins, upd, unch, before, after, mode = last
            loaded = _scalar(
                session,
                f"select coalesce(sum(l.rows_loaded), 0) from {SYNC_MERGES.qualified} m "  # noqa: S608
                f"join {SYNC_LOADS.qualified} l on l.table_name = m.table_name "
                "and l.source_file = m.source_file where m.table_name = ? and m.run_id = ?",
                (table.name, run_id),
            )
            final_now = _scalar(session, f"select count(*) from {final.qualified}")  # noqa: S608
        accounted = dead_n + sup + ins + upd + unch
        growth_ok = after == (ins if mode == "full" else before + ins)
        return dg.AssetCheckResult(
            passed=int(loaded) == rows_in == accounted and growth_ok and final_now == after,
            severity=ERROR,
            metadata={
                "staged_rows_of_merged_files": int(loaded),
                "rows_in": rows_in,
                "accounted": accounted,
                "inserted": ins,
                "updated": upd,
                "unchanged": unch,
                "superseded": sup,
                "dead_lettered": dead_n,
                "final_rows_before": before,
                "final_rows_after": after,
                "final_rows_now": final_now,
                "mode": mode,
            },
        )

    @dg.asset_check(
        asset=keys["final"],
        name="watermark_drift_within_sla",
        blocking=True,
        description=f"max({table.watermark_col}) in the source minus in FINAL stays "
        "within NORTHSTAR_SYNC_DRIFT_SLA_HOURS (default 2 h).",
    )
    def drift(
        source_db: SourceDatabaseResource, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        sla_hours = get_settings().sync_drift_sla_hours
        source_max = source_db.fetchall(source_max_sql)[0][0]
        with warehouse.connect() as session:
            exists = session.table_exists(final.layer.value, final.name)
            final_max = _scalar(session, final_max_sql) if exists else None
        if source_max is None:
            passed, drift_hours = True, 0.0  # an empty source cannot be behind
        elif final_max is None:
            passed, drift_hours = False, None  # the source has rows FINAL has never seen
        else:
            drift_hours = round((source_max - final_max).total_seconds() / 3600, 3)
            passed = drift_hours <= sla_hours
        return dg.AssetCheckResult(
            passed=passed,
            severity=ERROR,
            metadata={
                "source_max": str(source_max),
                "final_max": str(final_max),
                "drift_hours": drift_hours if drift_hours is not None else "FINAL is empty",
                "sla_hours": sla_hours,
            },
        )

    @dg.asset_check(
        asset=keys["final"],
        name="recent_source_rows_in_final",
        blocking=True,
        description=f"The {SAMPLE_SIZE} most recent source rows the sync has reached "
        "exist in FINAL with identical keys and watermark.",
    )
    def sample(
        source_db: SourceDatabaseResource, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        key_sql = ", ".join(quote(k) for k in table.primary_keys)
        keyed = " and ".join(f"{quote(k)} is not null" for k in table.primary_keys)
        with warehouse.connect() as session:
            if not session.table_exists(final.layer.value, final.name):
                return dg.AssetCheckResult(
                    passed=False, severity=ERROR, metadata={"note": "FINAL does not exist"}
                )
            reached = _scalar(session, f"select max({wm}) from {final.qualified}")  # noqa: S608
            if reached is None:
                return dg.AssetCheckResult(passed=True, metadata={"note": "FINAL is empty"})
            # A source row without a full key can never be in FINAL: it is a dead letter,
            # which `dead_letters_reviewed` answers for; sampling it would fail this check
            # for good, even after the review.
            recent = source_db.fetchall(
                f"select {key_sql}, {wm}::timestamp from {table.qualified_source} "  # noqa: S608
                f"where {wm} <= %s and {keyed} order by {wm} desc limit {SAMPLE_SIZE}",
                (reached,),
            )
            missing = [row for row in recent if session.fetchone(final_row_sql, tuple(row)) is None]
        return dg.AssetCheckResult(
            passed=not missing,
            severity=ERROR,
            metadata={
                "sampled": len(recent),
                "missing_or_different": len(missing),
                "examples": [" | ".join(map(str, r)) for r in missing[:5]],
            },
        )

    duplicates = build_no_duplicates_check(
        final, keys=list(table.primary_keys), name="no_duplicate_primary_keys"
    )

    @dg.asset_check(
        asset=keys["dead_letters"],
        name="dead_letters_reviewed",
        blocking=True,
        description="Every row that failed to merge has been reviewed "
        "(`northstar sync review`); until then the check fails.",
    )
    def reviewed(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as session:
            if not session.table_exists(dead.layer.value, dead.name):
                return dg.AssetCheckResult(passed=True, metadata={"unreviewed": 0})
            session.ensure_table(DEAD_LETTER_REVIEWS)
            open_rows = session.fetchall(
                f"select d.source_file, d.line_no, d.rule from {dead.qualified} d "  # noqa: S608
                f"left join {DEAD_LETTER_REVIEWS.qualified} r on r.source = d.source "
                "and r.source_file = d.source_file and r.line_no = d.line_no "
                "where r.source_file is null order by 1, 2"
            )
        return dg.AssetCheckResult(
            passed=not open_rows,
            severity=ERROR,
            metadata={
                "unreviewed": len(open_rows),
                "examples": [f"{f}:{n} {rule}" for f, n, rule in open_rows[:10]],
            },
        )

    return [conserves, row_count_delta, drift, sample, duplicates, reviewed]
