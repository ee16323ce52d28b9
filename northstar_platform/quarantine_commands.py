"""`northstar quarantine`: see what is held and why, and re-validate after a fix.

Held records never leave `raw`, and raw and staging are rebuilt from the landed files on every
materialization. So a "release" reloads and re-validates the partition under the current
rules and inputs (a fixed rule, a corrected file landed under the same name): records that
now pass rejoin staging, the others stay held, and the run is recorded in the Dagster
instance like any other.
"""

import sys
import time

import click
from rich.table import Table as RichTable

from northstar_platform.errors import NorthstarError

STAGING_STEPS = {
    "orders": ["raw/raw_orders", "staging/stg_orders", "staging/quarantine_orders"],
    "stripe": ["raw/raw_stripe_events", "staging/stg_stripe_events", "staging/quarantine_stripe"],
    "wms": ["raw/raw_wms_shipments", "staging/stg_wms_shipments", "staging/quarantine_wms"],
    "finance": [
        "raw/raw_finance_revenue",
        "staging/stg_finance_revenue",
        "staging/quarantine_finance",
    ],
    "privacy": [
        "raw/raw_privacy_events",
        "staging/stg_privacy_events",
        "staging/quarantine_privacy",
    ],
}
"""Sources whose held records can be re-validated: the partition is reloaded from its landed
files (so a corrected file replaces the bad one) and validated again."""


@click.group()
def quarantine() -> None:
    """List held records with their reasons; release them after a fix."""


@quarantine.command("list")
@click.option("--source", default=None, help="Only this source (orders, stripe, customers...).")
@click.option("--partition", default=None, help="Only this partition key (YYYY-MM-DD).")
@click.option("--limit", default=50, show_default=True)
@click.option("--tsv", is_flag=True, help="Tab-separated lines instead of a table (for scripts).")
@click.pass_context
def list_held(
    ctx: click.Context, source: str | None, partition: str | None, limit: int, tsv: bool
) -> None:
    """Held records, newest partition first, with file, line, rule and reason."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.layers import (
            QUARANTINE_VIEW_NAME,
            Layer,
            quarantine_view,
            schema_of,
        )
        from northstar_platform.settings import get_settings

        view = quarantine_view()
        where, params = [], []
        for column, value in (("source", source), ("partition_key", partition)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"where {' and '.join(where)}" if where else ""
        with build_warehouse(get_settings()).connect(read_only=True) as session:
            if not session.table_exists(schema_of(Layer.STAGING), QUARANTINE_VIEW_NAME):
                raise NorthstarError(f"nothing has been quarantined yet (no {view})")
            total = session.fetchone(f"select count(*) from {view} {clause}", params)  # noqa: S608
            rows = session.fetchall(
                f"select source, partition_key, source_file, line_no, record_ref, rule, reason "  # noqa: S608
                f"from {view} {clause} "
                f"order by partition_key desc, source, source_file, line_no limit {int(limit)}",
                params,
            )
        count = total[0] if total else 0
        if tsv:
            click.echo(f"# {count} quarantined records")
            for row in rows:
                click.echo("\t".join("" if v is None else str(v) for v in row))
            return
        table = RichTable(title=f"Quarantined records ({count} in all)")
        for column in ("source", "partition", "file:line", "record", "rule", "reason"):
            table.add_column(column, overflow="fold")
        for src, pk, file, line, ref, rule, reason in rows:
            table.add_row(src, pk, f"{file}:{line}", str(ref or ""), rule, reason)
        cli.console.print(table)

    cli.run_safely(go, ctx.obj["debug"])


@quarantine.command()
@click.option("--source", required=True, type=click.Choice(sorted(STAGING_STEPS)))
@click.option(
    "--partition",
    required=True,
    help="Partition key to re-validate: YYYY-MM-DD, or YYYY-MM-DD-HH:00 for wms (hourly).",
)
@click.pass_context
def release(ctx: click.Context, source: str, partition: str) -> None:
    """Re-validate one partition of SOURCE: records that pass now rejoin staging."""
    from northstar_platform import cli, launch

    def go() -> int:
        import dagster as dg

        from northstar_platform.definitions import build_definitions
        from northstar_platform.layers import quarantine_view
        from northstar_platform.runner import run_partition
        from northstar_platform.settings import get_settings

        settings = get_settings()
        launch.prepare_environment(settings)
        defs = build_definitions(settings)
        warehouse = defs.resources["warehouse"]
        held_sql = (
            f"select count(*) from {quarantine_view()} where source = ? and partition_key = ?"  # noqa: S608
        )

        def held() -> int:
            with warehouse.connect(read_only=True) as session:
                row = session.fetchone(held_sql, (source, partition))
            return int(row[0]) if row else 0

        before = held()
        started = time.monotonic()
        keys = [dg.AssetKey.from_user_string(k) for k in STAGING_STEPS[source]]
        with dg.DagsterInstance.get() as instance:
            job = defs.resolve_implicit_global_asset_job_def()
            report = run_partition(job, instance, keys, partition)
        after = held()
        cli.console.print(
            f"{source} {partition}: {before - after} record(s) released, {after} still held "
            f"({time.monotonic() - started:.1f}s)"
        )
        cli.console.print(
            f"staging is re-validated; publish downstream with "
            f"`northstar materialize --from {partition} --to {partition}`"
        )
        for check in report.failed_checks:
            cli.console.print(
                f"[red]check failed:[/red] {check.asset} {check.check} {check.metadata}"
            )
        for line in report.failures:
            cli.console.print(f"[red]failed:[/red] {line}")
        return 1 if report.failures or report.failed_checks else 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))
