"""Benchmark: a day of Stripe webhook files through our ingestion, against hand-written DuckDB SQL.

    .venv/bin/python bench/stripe_ingest.py [--events 8000000] [--files 96] [--slice 85000]

1. Generates (`bench/stripe_landing.py`, deterministic) one landing day of `--events` lines in
   `--files` JSONL files (one per 15-minute slice), ~2% retried deliveries, a few hundred
   malformed lines and a few hundred events breaking a field rule, and a second day holding
   one 15-minute slice of `--slice` lines. The generator counts what a correct ingestion must
   report (staged events, quarantined lines, collapsed retries) from the kind of each line.
2. *ours*: materializes the day's `raw/raw_stripe_events` and `staging/stg_stripe_events`
   (+ quarantine) with every check on them through Dagster, as `northstar materialize` does
   (`runner.materialize_range` on `build_definitions()`), in a child process whose settings
   point NORTHSTAR_HOME, NORTHSTAR_LANDING_URL and NORTHSTAR_DUCKDB_PATH at the bench folder.
3. *peer*: the same ingest, retry collapse and field rules written by hand in DuckDB SQL
   (`read_csv` of the lines, `json_extract`/`json_type`, `qualify row_number()`), in its own
   child process and DuckDB file.
4. Both again on the one-slice day; ours end to end (raw + staging + all checks).
5. Prints seconds, lines/s, peak RSS and the ratios ours/peer; checks that both warehouses
   hold exactly the generator's counts, and the targets of issue 4 (the day under 180 s and
   4 GiB, the slice under 15 s). Exits 1 when a count or a target is off.

`seconds` is the work itself, timed inside the child (interpreter start, imports and building
the Definitions are excluded; `proc s` is the child's whole wall time). Peak RSS is the
child tree's high-water mark (`child_process.py`); `load` the 1-minute load average when the
child started (the machine is shared). Work files live in `.northstar/bench/stripe/`
(git-ignored), removed unless `--keep`.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child_process import mib, run_child
from stripe_landing import Expected, write_day

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / ".northstar" / "bench" / "stripe"
DAY = dt.date(2026, 11, 2)
SLICE_DAY = dt.date(2026, 11, 3)
TARGET_DAY_S = 180.0
TARGET_RSS_BYTES = 4 << 30
TARGET_SLICE_S = 15.0
STEP_EVENTS = {"STEP_START", "STEP_SUCCESS", "STEP_FAILURE"}
COUNTS = ("lines", "staged", "quarantined", "collapsed")

OURS_COUNTS_SQL = {
    "lines": "select count(*) from raw.raw_stripe_events where partition_key = ?",
    "staged": "select count(*) from staging.stg_stripe_events where partition_key = ?",
    "quarantined": "select count(*) from staging.quarantine_stripe where partition_key = ?",
    "collapsed": "select coalesce(sum(copies - 1), 0) from staging.stg_stripe_events "
    "where partition_key = ?",
}

# The peer: what a team would write by hand instead of the platform. Lines as delivered
# (invalid UTF-8 lands in DuckDB's reject table), the first delivery per event id in arrival
# order kept, the contract's field rules as one boolean, a held event holds all its copies.
PEER_SQL = [
    "create schema raw",
    "create schema staging",
    r"""
    create table raw.stripe_lines as
    select l.filename as source_file, l.ordinality as line_no, l.line as record,
           f.last_modified as arrived
    from read_csv($glob, columns = {'line': 'VARCHAR'}, header = false, delim = chr(31),
                  quote = '', escape = '', new_line = '\n', filename = true,
                  ignore_errors = true, store_rejects = true) with ordinality as l
    join read_blob($glob) as f using (filename)
    """,
    """
    create temp table parsed as
    with lines as (
        select *, case when json_valid(record) then json_extract(record, [
            '$', '$.id', '$.type', '$.created', '$.data.object.id', '$.data.object.amount',
            '$.data.object.currency', '$.data.object.status', '$.data.object.metadata.order_id'
        ]) end as v
        from raw.stripe_lines
    ), fields as (
        select source_file, line_no, record, arrived,
               case when v is null then 'json_parses'
                    when json_type(v[1]) <> 'OBJECT' then 'json_object' end as parse_rule,
               case when json_type(v[2]) = 'VARCHAR' then v[2] ->> '$' end as event_id,
               case when json_type(v[3]) = 'VARCHAR' then v[3] ->> '$' end as event_type,
               case when json_type(v[4]) in ('BIGINT', 'UBIGINT')
                    then try_cast(v[4] as bigint) end as created,
               case when json_type(v[5]) = 'VARCHAR' then v[5] ->> '$' end as object_id,
               case when json_type(v[6]) in ('BIGINT', 'UBIGINT')
                    then try_cast(v[6] as bigint) end as amount,
               case when json_type(v[7]) = 'VARCHAR' then v[7] ->> '$' end as currency,
               case when json_type(v[8]) = 'VARCHAR' then v[8] ->> '$' end as status,
               case when json_type(v[9]) <> 'NULL' then v[9] ->> '$' end as order_id
        from lines
    )
    select *,
           coalesce(event_id is not null
               and event_type in ('payment_intent.succeeded', 'payment_intent.payment_failed',
                                  'payment_intent.canceled', 'charge.succeeded',
                                  'charge.failed', 'charge.refunded')
               and created >= 1262304000 and created - epoch(arrived) <= 86400
               and amount between 0 and 999999999999
               and regexp_full_match(currency, '[a-z]{3}')
               and order_id is not null, false) as is_valid
    from fields
    """,
    """
    create temp table events as
    select *, count(*) over (partition by event_id) as copies
    from parsed
    where parse_rule is null and event_id is not null
    qualify row_number() over (partition by event_id order by arrived, source_file, line_no) = 1
    """,
    """
    create table staging.stg_stripe_events as
    select event_id, event_type, make_timestamp(created * 1000000) as created_at, object_id,
           amount, currency, status, order_id, copies, source_file, line_no,
           arrived as ingested_ts
    from events where is_valid
    """,
    """
    create table staging.quarantine_stripe as
    select source_file, line_no, record, coalesce(parse_rule, 'field_rules') as rule
    from parsed
    where parse_rule is not null or event_id is null
       or event_id in (select event_id from events where not is_valid)
    union all
    select s.file_path, e.line, e.csv_line, 'utf8_valid'
    from reject_errors as e join reject_scans as s using (scan_id, file_id)
    """,
]
PEER_COUNTS_SQL = {
    "lines": "select (select count(*) from raw.stripe_lines) + "
    "(select count(*) from staging.quarantine_stripe where rule = 'utf8_valid')",
    "staged": "select count(*) from staging.stg_stripe_events",
    "quarantined": "select count(*) from staging.quarantine_stripe",
    "collapsed": "select coalesce(sum(copies - 1), 0) from staging.stg_stripe_events",
}


# --------------------------------------------------------------------------- children


def run_ours(day: str) -> dict[str, Any]:
    """raw + staging + every check of one day, as `northstar materialize` runs them."""
    import dagster as dg

    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range

    payments = [
        dg.AssetKey(["raw", "raw_stripe_events"]),
        dg.AssetKey(["staging", "stg_stripe_events"]),
        dg.AssetKey(["staging", "quarantine_stripe"]),
    ]
    defs = build_definitions()
    with dg.DagsterInstance.ephemeral() as instance:
        start = time.perf_counter()
        report = materialize_range(defs, instance, [day], selection=payments)
        seconds = time.perf_counter() - start
        steps = step_seconds(instance)
    return {
        "seconds": seconds,
        "steps": steps,
        "checks": len(report.checks),
        "failed": [f"{c.asset} {c.check}" for c in report.failed_checks] + report.failures,
    }


def step_seconds(instance: Any) -> dict[str, float]:
    """Seconds per step (asset or check) of every run: first to last event of the step."""
    spans: dict[str, list[float]] = {}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if entry.step_key and event and event.event_type_value in STEP_EVENTS:
                spans.setdefault(entry.step_key, []).append(entry.timestamp)
    return {step: max(ts) - min(ts) for step, ts in spans.items()}


def run_peer(landing: str, database: str) -> dict[str, Any]:
    """The hand-written DuckDB SQL, statement by statement, into its own file."""
    import duckdb

    start = time.perf_counter()
    connection = duckdb.connect(database)
    steps: dict[str, float] = {}
    names = ["", "", "raw", "parse", "dedup", "staging", "quarantine"]
    for name, sql in zip(names, PEER_SQL, strict=True):
        began = time.perf_counter()
        connection.execute(sql, {"glob": f"{landing}/*.jsonl"} if "$glob" in sql else {})
        if name:
            steps[name] = time.perf_counter() - began
    connection.close()
    return {"seconds": time.perf_counter() - start, "steps": steps, "checks": 0, "failed": []}


def child_main(args: argparse.Namespace) -> None:
    if args.child == "ours":
        result = run_ours(args.day)
    else:
        result = run_peer(args.landing, args.database)
    Path(args.result).write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent


def ours_env(home: Path, landing_root: Path) -> dict[str, str]:
    """Only the bench's NORTHSTAR_* settings; a developer's own ones must not leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORTHSTAR_")}
    no_sync = home / "no_synced_tables.json"
    no_sync.write_text('{"tables": []}')
    env.update(
        NORTHSTAR_HOME=str(home),
        NORTHSTAR_LANDING_URL=str(landing_root),
        NORTHSTAR_DUCKDB_PATH=str(home / "warehouse.duckdb"),
        NORTHSTAR_SYNC_CONFIG=str(no_sync),
        DAGSTER_HOME=str(home / "dagster"),
    )
    return env


def run_tool(label: str, cmd: list[str], env: dict[str, str], workdir: Path) -> dict[str, Any]:
    """One tool in its own process, measured by `child_process.run_child`."""
    result_file = workdir / f"result-{label}.json"
    cmd = [sys.executable, __file__, *cmd, "--result", str(result_file)]
    run_ = run_child(cmd, workdir / f"log-{label}.txt", env, REPO)
    if run_["code"] != 0:
        sys.stderr.write(run_["log"].read_text()[-4000:])
        raise SystemExit(f"{label} failed (exit {run_['code']}); log: {run_['log']}")
    result = json.loads(result_file.read_text())
    result.update(label=label, wall=run_["wall"], peak_rss=run_["peak_rss"], load=run_["load"])
    return result


def run_ours_child(label: str, home: Path, landing_root: Path, day: dt.date) -> dict[str, Any]:
    home.mkdir(parents=True)
    env = ours_env(home, landing_root)
    result = run_tool(label, ["--child", "ours", "--day", day.isoformat()], env, WORKDIR)
    result["counts"] = counts(home / "warehouse.duckdb", OURS_COUNTS_SQL, (day.isoformat(),))
    return result


def run_peer_child(label: str, folder: Path, database: Path) -> dict[str, Any]:
    cmd = ["--child", "peer", "--landing", str(folder), "--database", str(database)]
    result = run_tool(label, cmd, dict(os.environ), WORKDIR)
    result["counts"] = counts(database, PEER_COUNTS_SQL, ())
    return result


def counts(database: Path, queries: dict[str, str], params: tuple[str, ...]) -> dict[str, int]:
    import duckdb

    connection = duckdb.connect(str(database), read_only=True)
    try:
        return {
            name: int(connection.execute(sql, list(params) if "?" in sql else []).fetchall()[0][0])
            for name, sql in queries.items()
        }
    finally:
        connection.close()


def print_table(results: list[dict[str, Any]], lines: int) -> None:
    header = f"{'run':<10} {'lines':>10} {'seconds':>8} {'lines/s':>10} {'peak RSS':>10} "
    header += f"{'proc s':>7} {'load':>5}  steps (s)"
    print(header)
    print("-" * (len(header) + 40))
    for r in results:
        steps = ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items())
        print(
            f"{r['label']:<10} {lines:>10,} {r['seconds']:>8.2f} {lines / r['seconds']:>10,.0f} "
            f"{mib(r['peak_rss']):>10} {r['wall']:>7.2f} {r['load']:>5.1f}  {steps}"
        )


def print_ratio(ours: dict[str, Any], peer: dict[str, Any]) -> None:
    print(
        f"{'ours/peer':<10} {'':>10} {ours['seconds'] / peer['seconds']:>8.2f} "
        f"{peer['seconds'] / ours['seconds']:>10.2f} {ours['peak_rss'] / peer['peak_rss']:>10.2f} "
        f"{ours['wall'] / peer['wall']:>7.2f}"
    )


def verify(expected: Expected, results: list[dict[str, Any]]) -> bool:
    """Every run's warehouse holds the generator's counts; every check of ours passed."""
    wanted = {name: getattr(expected, name) for name in COUNTS}
    print("  expected: " + ", ".join(f"{k} {v:,}" for k, v in wanted.items()))
    ok = True
    for r in results:
        wrong = [k for k in COUNTS if r["counts"][k] != wanted[k]]
        got = ", ".join(f"{k} {r['counts'][k]:,}" for k in COUNTS)
        verdict = "equal" if not wrong else f"DIFFERS in {', '.join(wrong)}"
        print(f"  {r['label']:<9} {got}: {verdict}")
        if r["failed"]:
            print(f"            failed: {'; '.join(r['failed'])}")
        ok = ok and not wrong and not r["failed"]
    return ok


def check_targets(day: dict[str, Any], slice_run: dict[str, Any]) -> bool:
    checks = [
        (
            f"the day in {day['seconds']:.1f} s < {TARGET_DAY_S:.0f} s",
            day["seconds"] < TARGET_DAY_S,
        ),
        (f"peak RSS {mib(day['peak_rss'])} < 4 GiB", day["peak_rss"] < TARGET_RSS_BYTES),
        (
            f"the 15-minute slice end to end in {slice_run['seconds']:.1f} s "
            f"< {TARGET_SLICE_S:.0f} s",
            slice_run["seconds"] < TARGET_SLICE_S,
        ),
    ]
    print("targets (issue 4):")
    for text, met in checks:
        print(f"  {'met   ' if met else 'MISSED'}  {text}")
    return all(met for _, met in checks)


def parent_main(args: argparse.Namespace) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    landing = WORKDIR / "landing"
    day_folder = landing / "stripe" / DAY.strftime("%Y/%m/%d")
    slice_folder = landing / "stripe" / SLICE_DAY.strftime("%Y/%m/%d")
    print(f"{os.cpu_count()} cores; work files in {WORKDIR.relative_to(REPO)}")
    start = time.perf_counter()
    day_expected = write_day(day_folder, DAY, args.events, args.files)
    slice_expected = write_day(slice_folder, SLICE_DAY, args.slice, 1, span_s=900)
    print(
        f"generated in {time.perf_counter() - start:.1f} s: {DAY} {day_expected.lines:,} lines "
        f"in {day_expected.files} files ({day_expected.bytes / 1e9:.2f} GB, "
        f"{day_expected.by_kind}); {SLICE_DAY} one slice of {slice_expected.lines:,} lines"
    )
    try:
        peer = run_peer_child("peer", day_folder, WORKDIR / "peer.duckdb")
        ours = run_ours_child("ours", WORKDIR / "ours", landing, DAY)
        slice_ours = run_ours_child("ours-slice", WORKDIR / "ours-slice", landing, SLICE_DAY)
        slice_peer = run_peer_child("peer-slice", slice_folder, WORKDIR / "peer-slice.duckdb")
    finally:
        if not args.keep:
            shutil.rmtree(WORKDIR, ignore_errors=True)
    print(f"\none day, {DAY}:")
    print_table([ours, peer], day_expected.lines)
    print_ratio(ours, peer)
    ok = verify(day_expected, [ours, peer])
    print(f"\none 15-minute slice, {SLICE_DAY}:")
    print_table([slice_ours, slice_peer], slice_expected.lines)
    print_ratio(slice_ours, slice_peer)
    ok = verify(slice_expected, [slice_ours, slice_peer]) and ok
    print()
    print(f"verification: {'both tools hold the expected counts' if ok else 'FAILED'}")
    return 0 if check_targets(ours, slice_ours) and ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=8_000_000, help="lines in the day")
    parser.add_argument("--files", type=int, default=96, help="files in the day")
    parser.add_argument("--slice", type=int, default=85_000, help="lines in the one slice")
    parser.add_argument("--keep", action="store_true", help="keep .northstar/bench/stripe/")
    parser.add_argument("--child", choices=["ours", "peer"], help=argparse.SUPPRESS)
    parser.add_argument("--day", help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
    else:
        raise SystemExit(parent_main(args))


if __name__ == "__main__":
    main()
