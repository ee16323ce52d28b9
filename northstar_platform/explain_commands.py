"""`northstar explain <entity> <id>`: one record through every layer, and why it is
inconsistent (DESIGN §6). Reads the warehouse read-only (a run holding DuckDB's lock is named
as such) and the source PostgreSQL read-only with its statement timeout."""

import contextlib
import sys

import click

from northstar_platform.errors import SourceUnavailableError


@click.command()
@click.argument("entity", type=click.Choice(["order", "payment", "shipment", "preference"]))
@click.argument("ids", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="A machine-readable trace (JSON).")
@click.pass_context
def explain(ctx: click.Context, entity: str, ids: tuple[str, ...], as_json: bool) -> None:
    """Trace one record (file, line, run and time at each step) and classify it.

    \b
    order ORDER_ID | payment ORDER_ID|STRIPE_EVENT_ID | shipment SHIPMENT_ID
    | preference CUSTOMER_KEY CHANNEL

    Classes: SOURCE_CHANGE, LATE_ARRIVING, ETL_LOSS, TRANSFORMATION (tried in that order),
    UNEXPLAINED, or CONSISTENT. Exit 0 when the record is found, 2 when no layer has it.
    """
    from northstar_platform import cli

    def go() -> int:
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.explain.record import RecordNotFoundError, check_ids
        from northstar_platform.explain.record import explain as explain_record
        from northstar_platform.explain.render import to_json, to_text
        from northstar_platform.explain.source import read_only_source
        from northstar_platform.settings import get_settings

        check_ids(entity, ids)
        settings = get_settings()
        with contextlib.ExitStack() as stack:
            source, source_error = None, None
            if entity != "preference":
                try:
                    source = stack.enter_context(read_only_source(settings))
                except SourceUnavailableError as exc:
                    source_error = str(exc)
            session = stack.enter_context(build_warehouse(settings).connect(read_only=True))
            try:
                trace = explain_record(session, entity, ids, source, source_error)
            except RecordNotFoundError as exc:
                click.echo(str(exc))
                return 2
        click.echo(to_json(trace) if as_json else to_text(trace))
        return 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))
