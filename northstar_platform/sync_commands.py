"""`northstar sync`: run the PostgreSQL sync now, reload a table, review its dead letters."""

import datetime as dt
import getpass
import sys
import time
from typing import Any

import click
import pyarrow as pa

from northstar_platform.errors import NorthstarError


@click.group(invoke_without_command=True)
@click.option("--table", "tables", multiple=True, help="Only this table (repeatable).")
@click.option(
    "--full-refresh", is_flag=True, help="Reload the table(s) once, then go on incrementally."
)
@click.pass_context
def sync(ctx: click.Context, tables: tuple[str, ...], full_refresh: bool) -> None:
    """Export, stage and merge the configured PostgreSQL tables (all checks run)."""
    if ctx.invoked_subcommand is not None:
        return
    from northstar_platform import cli, launch

    def go() -> int:
        import dagster as dg

        from northstar_platform.defs.sync.assets import sync_keys
        from northstar_platform.lib.sync_config import load_sync_tables
        from northstar_platform.runner import CONSOLE_QUIET, RangeReport, collect_events
        from northstar_platform.settings import get_settings

        settings = get_settings()
        configured = {t.name: t for t in load_sync_tables(settings.sync_config)}
        unknown = sorted(set(tables) - set(configured))
        if unknown:
            raise NorthstarError(
                f"--table {unknown[0]} is not in the sync configuration "
                f"(configured: {', '.join(sorted(configured))})"
            )
        chosen = [configured[n] for n in tables] if tables else list(configured.values())
        launch.prepare_environment(settings)
        from northstar_platform.definitions import build_definitions

        defs = build_definitions(settings)
        launch.preflight(defs)
        job = defs.resolve_implicit_global_asset_job_def()
        failed = 0
        with dg.DagsterInstance.get() as instance:
            for table in chosen:
                keys = sync_keys(table)
                started = time.monotonic()
                export_op = keys["export"].to_python_identifier()
                run_config: dict[str, Any] = dict(CONSOLE_QUIET)
                run_config["ops"] = {export_op: {"config": {"full_refresh": full_refresh}}}
                result = job.execute_in_process(
                    instance=instance,
                    asset_selection=list(keys.values()),
                    raise_on_error=False,
                    run_config=run_config,
                    tags={"northstar/trigger": "northstar sync"},
                )
                report = RangeReport()
                collect_events(result, "-", report)
                merged = next(
                    (
                        e.materialization.metadata
                        for e in result.get_asset_materialization_events()
                        if e.asset_key == keys["final"]
                    ),
                    {},
                )
                counts = ", ".join(
                    f"{k} {merged[k].value}"
                    for k in ("inserted", "updated", "unchanged", "dead_lettered")
                    if k in merged
                )
                state = "ok" if result.success else "FAILED"
                cli.console.print(
                    f"{table.name:<24} {state:<6} {time.monotonic() - started:5.1f}s  {counts}"
                )
                for line in report.failures:
                    cli.console.print(f"  [red]failed:[/red] {line}")
                for check in report.failed_checks:
                    cli.console.print(
                        f"  [red]check failed:[/red] {check.asset} {check.check} {check.metadata}"
                    )
                failed += 0 if result.success else 1
        return 1 if failed else 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))


@sync.command()
@click.argument("table")
@click.option("--by", "reviewer", default=None, help="Who reviewed them (default: your login).")
@click.pass_context
def review(ctx: click.Context, table: str, reviewer: str | None) -> None:
    """Mark TABLE's current dead letters as reviewed, so its check passes again."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.layers import Layer, Table
        from northstar_platform.lib.sync_sql import DEAD_LETTER_REVIEWS
        from northstar_platform.settings import get_settings

        dead = Table(Layer.STAGING, f"quarantine_{table}", ())
        with build_warehouse(get_settings()).connect() as session:
            if not session.table_exists(dead.schema, dead.name):
                raise NorthstarError(f"{table} has no dead letters table (staging.{dead.name})")
            session.ensure_table(DEAD_LETTER_REVIEWS)
            open_rows = session.fetchall(
                f"select d.source, d.source_file, d.line_no from {dead.qualified} d "  # noqa: S608
                f"left join {DEAD_LETTER_REVIEWS.qualified} r on r.source = d.source "
                "and r.source_file = d.source_file and r.line_no = d.line_no "
                "where r.source_file is null"
            )
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            who = reviewer or getpass.getuser()
            rows = pa.table(
                {
                    "source": [r[0] for r in open_rows],
                    "source_file": [r[1] for r in open_rows],
                    "line_no": pa.array([r[2] for r in open_rows], pa.int64()),
                    "reviewed_by": [who] * len(open_rows),
                    "reviewed_at": pa.array([now] * len(open_rows), pa.timestamp("us")),
                }
            )
            with session.transaction():
                session.insert_arrow(DEAD_LETTER_REVIEWS, rows)
        cli.console.print(f"{len(open_rows)} dead letter(s) of {table} marked reviewed by {who}")

    cli.run_safely(go, ctx.obj["debug"])
