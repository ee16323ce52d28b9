"""Benchmark: the PostgreSQL → warehouse sync against dlt's `sql_database` source.

    .venv/bin/python bench/sync_orders.py [--rows 1000000] [--changed 100000] [--repeat 3]

1. Creates a throwaway database on 127.0.0.1:5432 (user postgres) with `public.orders`
   and loads `--rows` rows with generate_series; the database is dropped at the end.
2. Full load into an empty DuckDB warehouse, by each tool in its own subprocess:
   ours = export_table + stage_files + merge_pending (one warehouse session per step, as the
   Dagster assets do); dlt = `sql_database` (pyarrow backend, incremental on updated_at,
   merge on order_id) into its own DuckDB file.
3. Updates `--changed` rows (new updated_at, status and amount_cents) and runs the
   incremental sync of each tool, again one subprocess per tool and phase.
4. Prints phase, tool, rows, seconds, rows/s and peak RSS side by side with the ratios
   ours/dlt, verifies both warehouses against the source after each phase, and checks the
   targets of issue 3 (at least 2x dlt's full-load throughput, peak RSS < 1 GB, incremental
   batch < 10 s) on the median of `--repeat` rounds (fresh source and warehouses each; the
   tools take turns going first).

`seconds` is the sync itself, measured inside the child (interpreter start and imports are
excluded for both tools; `proc s` is the child's whole wall time). Peak RSS is the child
tree's high-water mark (`child_process.py`).
Work files live in `.northstar/bench/orders/` (git-ignored), removed unless `--keep`.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from child_process import mib, run_child

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / ".northstar" / "bench" / "orders"
SERVER = "postgresql://postgres@127.0.0.1:5432"
ORDERS = {
    "table_name": "public.orders",
    "watermark_col": "updated_at",
    "primary_keys": ["order_id"],
    "soft_delete_col": "is_deleted",
}
DLT_DATASET = "orders_sync"
TOOLS = ("ours", "dlt")
PHASES = ("full", "incremental")
TARGET_RATIO = 2.0
TARGET_RSS_BYTES = 1 << 30
TARGET_INCREMENTAL_S = 10.0

CREATE_SQL = """
create table public.orders (
    order_id text not null,
    customer_id text,
    status text,
    currency text,
    amount_cents bigint,
    created_at timestamp,
    updated_at timestamp,
    is_deleted boolean
)
"""
# Deterministic rows: 5 statuses, 3 currencies, 50k customers (every 1000th one NULL),
# one order every 20 s from 2024-01-01, updated within a day, every 97th soft-deleted.
LOAD_SQL = """
insert into public.orders
select 'ord-' || lpad(i::text, 8, '0'),
       case when mod(i, 1000) = 0 then null
            else 'cus-' || lpad(mod(i::bigint * 7919, 50000)::text, 6, '0') end,
       (array['placed', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + mod(i, 5)],
       (array['EUR', 'USD', 'GBP'])[1 + mod(i, 3)],
       mod(i::bigint * 104729, 500000) + 100,
       timestamp '2024-01-01' + i * interval '20 second',
       timestamp '2024-01-01' + i * interval '20 second' + mod(i, 86400) * interval '1 second',
       mod(i, 97) = 0
from generate_series(1, %s) as i
"""
# `--changed` rows spread over the table: a new status, a new amount and an updated_at
# later than every existing one (one millisecond apart).
UPDATE_SQL = """
with picked as (
    select order_id, row_number() over (order by order_id) as n
    from (select order_id from public.orders order by md5(order_id) limit %s) as s
)
update public.orders as o
set status = case o.status when 'placed' then 'paid' when 'paid' then 'shipped'
                           when 'shipped' then 'delivered' when 'delivered' then 'returned'
                           else 'placed' end,
    amount_cents = o.amount_cents + 1,
    updated_at = timestamp '2026-01-01' + picked.n * interval '1 millisecond'
from picked
where o.order_id = picked.order_id
"""
STATS_SQL = {
    "rows": "select count(*) from {t}",
    "distinct_keys": "select count(distinct order_id) from {t}",
    "sum_amount_cents": "select sum(amount_cents) from {t}",
    "max_updated_at": "select max(updated_at) from {t}",
    "deleted": "select count(*) from {t} where is_deleted",
    "by_status": "select coalesce(status, '<null>'), count(*) from {t} group by 1 order by 1",
}


# --------------------------------------------------------------------------- children


def run_ours(dsn: str, workdir: Path, phase: str) -> dict[str, Any]:
    """export_table → stage_files → merge_pending, each with its own warehouse session."""
    from northstar_platform.lib.sync_config import parse_table
    from northstar_platform.lib.sync_export import export_table
    from northstar_platform.lib.sync_merge import merge_pending
    from northstar_platform.lib.sync_stage import stage_files
    from northstar_platform.resources.landing import LocalLandingZone
    from northstar_platform.resources.source_db import SourceDatabaseResource
    from northstar_platform.resources.warehouse import DuckDBWarehouse

    table = parse_table(ORDERS, "bench")
    source = SourceDatabaseResource(dsn=dsn)
    zone = LocalLandingZone(workdir / "landing")
    warehouse = DuckDBWarehouse(path=str(workdir / "ours.duckdb"))
    run_id = f"bench-{phase}-{uuid.uuid4().hex[:8]}"
    steps: dict[str, float] = {}
    start = time.perf_counter()
    with warehouse.connect() as session:
        exported = export_table(
            source,
            zone,
            session,
            table,
            run_id=run_id,
            full_refresh=False,
            now=dt.datetime.now(dt.UTC),
        )
    steps["export"] = time.perf_counter() - start
    with warehouse.connect() as session:
        stage_files(zone, session, table, run_id=run_id, now=dt.datetime.now(dt.UTC))
    steps["stage"] = time.perf_counter() - start - sum(steps.values())
    with warehouse.connect() as session:
        merged = merge_pending(session, table, run_id=run_id, now=dt.datetime.now(dt.UTC))
    steps["merge"] = time.perf_counter() - start - sum(steps.values())
    seconds = time.perf_counter() - start
    source.close()
    return {
        "rows": exported.rows,
        "seconds": seconds,
        "steps": steps,
        "detail": f"watermark from {exported.watermark_from}; inserted {merged.inserted}, "
        f"updated {merged.updated}, unchanged {merged.unchanged}, "
        f"superseded {merged.superseded}, dead-lettered {merged.dead_lettered}",
    }


def run_dlt(dsn: str, workdir: Path, phase: str) -> dict[str, Any]:
    """dlt's sql_database source: pyarrow backend, incremental on updated_at, merge."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    import dlt
    from dlt.sources.sql_database import sql_database

    start = time.perf_counter()
    source = sql_database(
        credentials=dsn.replace("postgresql://", "postgresql+psycopg2://", 1),
        schema="public",
        table_names=["orders"],
        backend="pyarrow",
    )
    source.orders.apply_hints(
        incremental=dlt.sources.incremental("updated_at"),
        write_disposition="merge",
        primary_key="order_id",
    )
    pipeline = dlt.pipeline(
        pipeline_name="orders_bench",
        destination=dlt.destinations.duckdb(str(workdir / "dlt.duckdb")),
        dataset_name=DLT_DATASET,
        pipelines_dir=str(workdir / "dlt_pipelines"),
    )
    pipeline.run(source)
    seconds = time.perf_counter() - start
    trace = pipeline.last_trace
    steps = {
        s.step: (s.finished_at - s.started_at).total_seconds()
        for s in trace.steps
        if s.step != "run"
    }
    rows = trace.last_normalize_info.row_counts.get("orders", 0)
    return {"rows": rows, "seconds": seconds, "steps": steps, "detail": ""}


def child_main(args: argparse.Namespace) -> None:
    run = run_ours if args.child == "ours" else run_dlt
    result = run(args.dsn, Path(args.workdir), args.phase)
    Path(args.result).write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent


@contextmanager
def pg(dbname: str = "postgres") -> Iterator[Any]:
    """An autocommit connection to `dbname`, closed at the end of the block."""
    import psycopg2

    conn = psycopg2.connect(f"{SERVER}/{dbname}")
    conn.autocommit = True
    try:
        yield conn
    finally:
        conn.close()


def create_source(dbname: str, rows: int) -> float:
    start = time.perf_counter()
    with pg() as admin, admin.cursor() as cur:
        cur.execute(f'create database "{dbname}"')
    with pg(dbname) as conn, conn.cursor() as cur:
        cur.execute(CREATE_SQL)
        cur.execute(LOAD_SQL, (rows,))
        cur.execute("alter table public.orders add primary key (order_id)")
        # An OLTP table synced by watermark has an index on it; both tools use it.
        cur.execute("create index orders_updated_at on public.orders (updated_at)")
        cur.execute("vacuum analyze public.orders")
    return time.perf_counter() - start


def update_source(dbname: str, changed: int) -> tuple[int, float]:
    start = time.perf_counter()
    with pg(dbname) as conn, conn.cursor() as cur:
        cur.execute(UPDATE_SQL, (changed,))
        updated = cur.rowcount
        cur.execute("vacuum analyze public.orders")
    return updated, time.perf_counter() - start


def drop_source(dbname: str) -> None:
    with pg() as admin, admin.cursor() as cur:
        cur.execute(f'drop database if exists "{dbname}" with (force)')


def source_stats(dbname: str) -> dict[str, Any]:
    with pg(dbname) as conn, conn.cursor() as cur:
        return _stats(cur.execute, cur.fetchall, "public.orders")


def warehouse_stats(path: Path, table: str) -> dict[str, Any]:
    import duckdb

    conn = duckdb.connect(str(path), read_only=True)
    try:
        return _stats(conn.execute, lambda: conn.fetchall(), table)
    finally:
        conn.close()


def _stats(execute: Any, fetchall: Any, table: str) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for name, sql in STATS_SQL.items():
        execute(sql.format(t=table))
        rows = fetchall()
        if name == "by_status":
            stats[name] = {str(k): int(v) for k, v in rows}
        elif name == "max_updated_at":
            stats[name] = str(rows[0][0])
        else:
            stats[name] = int(rows[0][0] or 0)
    return stats


def run_tool(tool: str, phase: str, dsn: str, workdir: Path) -> dict[str, Any]:
    """One tool, one phase, in its own process, measured by `child_process.run_child`."""
    result_file = workdir / f"result-{tool}-{phase}.json"
    cmd = [sys.executable, __file__, "--child", tool, "--phase", phase, "--dsn", dsn]
    cmd += ["--workdir", str(workdir), "--result", str(result_file)]
    run_ = run_child(cmd, workdir / f"log-{tool}-{phase}.txt", dict(os.environ), REPO)
    if run_["code"] != 0:
        sys.stderr.write(run_["log"].read_text()[-4000:])
        raise SystemExit(f"{tool} {phase} failed (exit {run_['code']}); log: {run_['log']}")
    result = json.loads(result_file.read_text())
    result.update(tool=tool, phase=phase, wall=run_["wall"], peak_rss=run_["peak_rss"])
    return result


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def summarize(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per phase and tool: the median seconds over the rounds, the highest peak RSS."""
    summary = []
    for phase in PHASES:
        for tool in TOOLS:
            runs = [
                r for results in rounds for r in results if (r["tool"], r["phase"]) == (tool, phase)
            ]
            summary.append(
                {
                    "tool": tool,
                    "phase": phase,
                    "rows": runs[0]["rows"],
                    "seconds": median([r["seconds"] for r in runs]),
                    "wall": median([r["wall"] for r in runs]),
                    "peak_rss": max(r["peak_rss"] for r in runs),
                    "steps": {
                        step: median([r["steps"].get(step, 0.0) for r in runs])
                        for step in runs[0]["steps"]
                    },
                }
            )
    return summary


def print_table(results: list[dict[str, Any]]) -> None:
    header = f"{'phase':<12} {'tool':<9} {'rows':>10} {'seconds':>8} {'rows/s':>10} "
    header += f"{'peak RSS':>10} {'proc s':>7}  steps (s)"
    print(header)
    print("-" * (len(header) + 34))
    for phase in PHASES:
        by_tool = {r["tool"]: r for r in results if r["phase"] == phase}
        for tool in TOOLS:
            r = by_tool[tool]
            steps = ", ".join(f"{k} {v:.2f}" for k, v in r["steps"].items())
            print(
                f"{phase:<12} {tool:<9} {r['rows']:>10,} {r['seconds']:>8.2f} "
                f"{r['rows'] / r['seconds']:>10,.0f} {mib(r['peak_rss']):>10} "
                f"{r['wall']:>7.2f}  {steps}"
            )
        ours, dlt = by_tool["ours"], by_tool["dlt"]
        speed = (ours["rows"] / ours["seconds"]) / (dlt["rows"] / dlt["seconds"])
        print(
            f"{phase:<12} {'ours/dlt':<9} {'':>10} {ours['seconds'] / dlt['seconds']:>8.2f} "
            f"{speed:>10.2f} {ours['peak_rss'] / dlt['peak_rss']:>10.2f} "
            f"{ours['wall'] / dlt['wall']:>7.2f}"
        )


def verify(dbname: str, workdir: Path, phase: str) -> bool:
    """Both warehouses equal the source: rows, keys, sums, max watermark, counts by status."""
    expected = source_stats(dbname)
    ours = warehouse_stats(workdir / "ours.duckdb", "curated.orders_latest")
    dlt = warehouse_stats(workdir / "dlt.duckdb", f"{DLT_DATASET}.orders")
    ok = True
    print(
        f"  verification after {phase}: source rows {expected['rows']:,}, "
        f"sum(amount_cents) {expected['sum_amount_cents']:,}, "
        f"max(updated_at) {expected['max_updated_at']}, is_deleted {expected['deleted']:,}"
    )
    print(f"    by status: {expected['by_status']}")
    for tool, got in (("ours", ours), ("dlt", dlt)):
        wrong = [k for k in expected if got[k] != expected[k]]
        if got["distinct_keys"] != got["rows"]:
            wrong.append("duplicate keys")
        ok = ok and not wrong
        verdict = "equal to the source" if not wrong else f"DIFFERS in {', '.join(wrong)}"
        print(f"    {tool}: {verdict}")
        for key in wrong:
            if key in got:
                print(f"      {key}: source {expected[key]} vs {tool} {got[key]}")
    return ok


def check_targets(results: list[dict[str, Any]]) -> bool:
    get = {(r["tool"], r["phase"]): r for r in results}
    ours_full, dlt_full = get["ours", "full"], get["dlt", "full"]
    ratio = (ours_full["rows"] / ours_full["seconds"]) / (dlt_full["rows"] / dlt_full["seconds"])
    peak = max(r["peak_rss"] for r in results if r["tool"] == "ours")
    incremental = get["ours", "incremental"]["seconds"]
    checks = [
        (f"full-load throughput ours/dlt {ratio:.2f}x >= {TARGET_RATIO:.0f}x", ratio >= 2),
        (f"our peak RSS {mib(peak)} < 1 GiB", peak < TARGET_RSS_BYTES),
        (
            f"our incremental batch end to end {incremental:.2f} s < {TARGET_INCREMENTAL_S:.0f} s",
            incremental < TARGET_INCREMENTAL_S,
        ),
    ]
    print("targets (issue 3):")
    for text, met in checks:
        print(f"  {'met   ' if met else 'MISSED'}  {text}")
    return all(met for _, met in checks)


def run_round(number: int, args: argparse.Namespace) -> tuple[list[dict[str, Any]], bool]:
    """A fresh source and fresh warehouses: full load, update, incremental, both tools.

    The tools take turns going first, so neither always meets the warmer caches.
    """
    workdir = WORKDIR / f"round-{number}"
    workdir.mkdir(parents=True)
    order = TOOLS if number % 2 else TOOLS[::-1]
    dbname = f"northstar_bench_{os.getpid()}_{number}"
    dsn = f"{SERVER}/{dbname}"
    results: list[dict[str, Any]] = []
    print(f"round {number}: source database {dbname}, {' then '.join(order)}")
    try:
        seconds = create_source(dbname, args.rows)
        print(f"  source: {args.rows:,} rows loaded in {seconds:.1f} s")
        results += [run_tool(tool, "full", dsn, workdir) for tool in order]
        ok = verify(dbname, workdir, "the full load")
        updated, seconds = update_source(dbname, args.changed)
        print(f"  source: {updated:,} rows updated in {seconds:.1f} s")
        results += [run_tool(tool, "incremental", dsn, workdir) for tool in order]
        ok = verify(dbname, workdir, "the incremental batch") and ok
    finally:
        drop_source(dbname)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    for r in results:
        if r["detail"]:
            print(f"  {r['phase']} {r['tool']}: {r['detail']}")
    print_table(results)
    print()
    return results, ok


def parent_main(args: argparse.Namespace) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir(parents=True)
    print(
        f"{os.cpu_count()} cores; {args.rows:,} rows, {args.changed:,} changed; "
        f"{args.repeat} round(s); work files in {WORKDIR.relative_to(REPO)}"
    )
    rounds = []
    ok = True
    for number in range(1, args.repeat + 1):
        results, verified = run_round(number, args)
        rounds.append(results)
        ok = ok and verified
    if not args.keep:
        shutil.rmtree(WORKDIR, ignore_errors=True)
    summary = summarize(rounds)
    if args.repeat > 1:
        print(f"median of {args.repeat} rounds (seconds, rows/s); peak RSS: the highest")
        print_table(summary)
        print()
    print(f"verification: {'both tools equal the source after every phase' if ok else 'FAILED'}")
    return 0 if check_targets(summary) and ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--changed", type=int, default=100_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds; the summary takes the median"
    )
    parser.add_argument("--keep", action="store_true", help="keep .northstar/bench/orders/")
    parser.add_argument("--child", choices=["ours", "dlt"], help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
    else:
        sys.exit(parent_main(args))


if __name__ == "__main__":
    main()
