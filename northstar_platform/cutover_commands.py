"""`northstar parity`, `northstar cutover`, `northstar rollback` (seed 004 Phases 3-4).

`parity` compares the shadow build with production and records a report; `cutover` repoints
the stable BI views to the shadow marts after a passing report; `rollback` points them back.
Each opens the warehouse for writing (DuckDB: while no run holds it).
"""

import getpass
import os
import sys

import click

from northstar_platform.errors import NorthstarError


def person_running(by: str | None) -> str:
    """Who ran the command: `--by`, else `$USER`, else the login name."""
    name = by or os.environ.get("USER")
    if not name:
        try:
            name = getpass.getuser()
        except (OSError, KeyError):
            name = ""
    if not name or not name.strip():
        raise NorthstarError("cannot tell who is running this: pass --by NAME")
    return name.strip()


@click.command()
@click.option(
    "--table",
    "tables",
    multiple=True,
    metavar="LAYER.TABLE",
    help="Compare only this table (repeatable), e.g. marts.fct_orders. Default: every table.",
)
@click.pass_context
def parity(ctx: click.Context, tables: tuple[str, ...]) -> None:
    """Compare the shadow build with production; exit 0 when every metric passes."""
    from northstar_platform import cli

    def go() -> int:
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.parity import run_parity
        from northstar_platform.settings import get_settings

        settings = get_settings()
        with build_warehouse(settings).connect() as session:
            report = run_parity(session, settings, tables)
        for line in report.summary().splitlines():
            style = "red" if line.startswith(("FAIL", "verdict: FAIL")) else None
            cli.console.print(line, style=style, markup=False)
        return 0 if report.passed else 1

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))


@click.command()
@click.option("--by", default=None, metavar="NAME", help="Who cuts over (default: $USER).")
@click.pass_context
def cutover(ctx: click.Context, by: str | None) -> None:
    """Point the BI views at the shadow build's marts, after a passing parity report."""
    _repoint(ctx, by, rollback=False)


@click.command()
@click.option("--by", default=None, metavar="NAME", help="Who rolls back (default: $USER).")
@click.pass_context
def rollback(ctx: click.Context, by: str | None) -> None:
    """Point the BI views back at production's marts."""
    _repoint(ctx, by, rollback=True)


def _repoint(ctx: click.Context, by: str | None, rollback: bool) -> None:
    from northstar_platform import cli

    def go() -> int:
        from northstar_platform import cutover as views
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.settings import get_settings

        person = person_running(by)
        with build_warehouse(get_settings()).connect() as session:
            try:
                done = (views.rollback if rollback else views.cutover)(session, person)
            except views.CutoverRefusedError as exc:
                cli.console.print(f"refused: {exc}", style="red", markup=False)
                return 1
        if done is None:
            where = views.PRODUCTION_MARTS if rollback else views.SHADOW_MARTS
            what = "nothing is cut over" if rollback else "already cut over"
            cli.console.print(f"{what}: the BI views read {where}; nothing recorded")
            return 0
        for view in views.BI_VIEWS:
            cli.console.print(f"bi.{view}: {done.before[view]}.{view} -> {done.after}.{view}")
        cli.console.print(
            f"{done.kind} recorded in ops.audit_corrections ({done.correction_id}), "
            f"parity report {done.report_id or 'none'}"
        )
        return 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))
