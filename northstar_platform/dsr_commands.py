"""`northstar dsr`: data-subject requests — list, status, discover, erase (confirmed).

Requests arrive as `dsr/requests/<request_id>.json` in the landing zone and are discovered by
`dsr_requests_sensor` under `dagster dev`; `discover` does the same from the command line.
`erase` shows the plan and runs it only with `--confirm`, as a Dagster run of
`erase_dsr_subject_job` (recorded like any other run, audited in ops.audit_corrections).
Output names subjects by their hash only; the report in the landing zone holds the data.
"""

import datetime as dt
import sys
from typing import Any

import click
from rich.table import Table as RichTable

from northstar_platform.errors import NorthstarError

CONSOLE_QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The run's own console log off: the command prints one line per outcome."""


@click.group()
def dsr() -> None:
    """Data-subject requests: list, status, discover, erase."""


def _status_rows(request_id: str | None = None) -> list[dict[str, Any]]:
    from northstar_platform.defs.resources import build_warehouse
    from northstar_platform.layers import DSR_REQUESTS
    from northstar_platform.settings import get_settings

    settings = get_settings()
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return []
    where, params = ("where request_id = ?", [request_id]) if request_id else ("", [])
    with build_warehouse(settings).connect(read_only=True) as session:
        if not session.table_exists(DSR_REQUESTS.schema, DSR_REQUESTS.name):
            return []
        rows = session.fetchall(
            f"select * from {DSR_REQUESTS.qualified} {where} order by deadline_at",  # noqa: S608
            params,
        )
    return [dict(zip(DSR_REQUESTS.column_names, r, strict=False)) for r in rows]


def _landed() -> dict[str, Any]:
    """request_id → parsed request (None if unparsable) of every landed request file."""
    from northstar_platform.defs.dsr.sensors import _requests
    from northstar_platform.resources.landing import LandingResource
    from northstar_platform.settings import get_settings

    settings = get_settings()
    landing = LandingResource(url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url)
    return _requests(landing)


@dsr.command("list")
@click.option("--tsv", is_flag=True, help="Tab-separated lines instead of a table.")
@click.pass_context
def list_requests(ctx: click.Context, tsv: bool) -> None:
    """Every request with its status and deadline, nearest deadline first."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.settings import get_settings

        sla = get_settings().dsr.sla_days
        rows = {r["request_id"]: r for r in _status_rows()}
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        lines = []
        for request_id, request in _landed().items():
            row = rows.get(request_id)
            if row is None and request is None:
                lines.append((dt.datetime.max, request_id, "?", "UNREADABLE", "", "", "", ""))
                continue
            deadline = row["deadline_at"] if row else request.deadline(sla)
            lines.append(
                (
                    deadline,
                    request_id,
                    row["kind"] if row else request.kind,
                    row["status"] if row else "PENDING",
                    f"{deadline:%Y-%m-%d %H:%M}",
                    f"{(deadline - now).total_seconds() / 86_400:.1f}",
                    str(row["rows_found"]) if row else "",
                    str(row["dead_letters"]) if row else "",
                )
            )
        lines.sort()
        header = ("request", "kind", "status", "deadline (UTC)", "days left", "rows", "dead")
        if tsv:
            click.echo("\t".join(header))
            for line in lines:
                click.echo("\t".join(line[1:]))
            return
        table = RichTable(title=f"Data-subject requests ({len(lines)})")
        for column in header:
            table.add_column(column)
        for line in lines:
            table.add_row(*line[1:])
        cli.console.print(table)

    cli.run_safely(go, ctx.obj["debug"])


@dsr.command()
@click.argument("request_id")
@click.pass_context
def status(ctx: click.Context, request_id: str) -> None:
    """One request's status, counts, report and dead letters."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.layers import DSR_DEAD_LETTERS
        from northstar_platform.settings import get_settings

        rows = _status_rows(request_id)
        if not rows:
            state = "landed, not discovered yet" if request_id in _landed() else "unknown"
            raise NorthstarError(f"request {request_id}: {state}")
        row = rows[0]
        for key in ("request_id", "kind", "status", "subject_hash", "received_at", "deadline_at",
                    "locations", "rows_found", "dead_letters", "report_key", "trace_id",
                    "run_id", "updated_at"):  # fmt: skip
            cli.console.print(f"{key:>13}: {row[key]}")
        if row["dead_letters"]:
            with build_warehouse(get_settings()).connect(read_only=True) as session:
                letters = session.fetchall(
                    f"select system, table_name, attempts, error from {DSR_DEAD_LETTERS.qualified} "  # noqa: S608
                    "where request_id = ? order by 1, 2",
                    (request_id,),
                )
            for system, table, attempts, error in letters:
                cli.console.print(f"  dead letter: {system} {table} ({attempts} attempts): {error}")

    cli.run_safely(go, ctx.obj["debug"])


def _failure(result: Any) -> str:
    """The innermost error of the run's failed step, as one line without the class name."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            message = error.message.strip().splitlines()[0]
            return (
                message.split(": ", 1)[-1] if message.startswith("northstar_platform") else message
            )
    return "the run failed"


@dsr.command()
@click.argument("request_id")
@click.pass_context
def discover(ctx: click.Context, request_id: str) -> None:
    """Discover one landed request now (what its sensor run does)."""
    from northstar_platform import cli, launch

    def go() -> int:
        import dagster as dg

        from northstar_platform.definitions import build_definitions
        from northstar_platform.defs.partitions import dsr_request_partitions
        from northstar_platform.settings import get_settings

        if request_id not in _landed():
            raise NorthstarError(f"no request file dsr/requests/{request_id}.json")
        settings = get_settings()
        launch.prepare_environment(settings)
        defs = build_definitions(settings)
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions(dsr_request_partitions.name, [request_id])
            result = defs.resolve_job_def("discover_dsr_job").execute_in_process(
                partition_key=request_id,
                instance=instance,
                raise_on_error=False,
                run_config=CONSOLE_QUIET,
                tags={"northstar/trigger": "northstar dsr discover"},
            )
        if not result.asset_materializations_for_node("dsr__dsr_discovery"):
            raise NorthstarError(f"discovery of {request_id} failed: {_failure(result)}")
        row = _status_rows(request_id)[0]
        cli.console.print(
            f"{request_id}: {row['status']}, {row['rows_found']} row(s) in "
            f"{row['locations']} table(s), {row['dead_letters']} dead letter(s); "
            f"report {row['report_key']}"
        )
        failed = [
            e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and not e.asset_check_evaluation_data.passed
        ]
        for check in failed:
            note = check.metadata.get("note")
            detail = f": {note.value}" if note is not None else ""
            cli.console.print(f"[red]check failed:[/red] {check.check_name}{detail}")
        return 1 if failed else 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))


@dsr.command()
@click.argument("request_id")
@click.option("--confirm", is_flag=True, help="Really change the data (otherwise: show the plan).")
@click.pass_context
def erase(ctx: click.Context, request_id: str, confirm: bool) -> None:
    """Show the erasure plan of REQUEST_ID; run it (audited) only with --confirm."""
    from northstar_platform import cli, launch

    def go() -> int:
        import dagster as dg

        from northstar_platform.definitions import build_definitions
        from northstar_platform.dsr_erasure import load_report, planned
        from northstar_platform.resources.landing import LandingResource
        from northstar_platform.settings import get_settings

        settings = get_settings()
        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        report = load_report(zone, request_id)
        if report["kind"] != "erasure":
            raise NorthstarError(f"{request_id} is an {report['kind']} request, not an erasure")
        plan = planned(settings, report)
        for p in plan:
            cli.console.print(
                f"{p.system} {p.relation}: set {', '.join(p.columns)} to NULL "
                f"({p.rows_found} row(s))"
            )
        if not confirm:
            cli.console.print(f"{len(plan)} statement(s) planned; rerun with --confirm to erase")
            return 1
        launch.prepare_environment(settings)
        defs = build_definitions(settings)
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def("erase_dsr_subject_job").execute_in_process(
                run_config={
                    **CONSOLE_QUIET,
                    "ops": {
                        "erase_dsr_subject": {"config": {"request_id": request_id, "confirm": True}}
                    },
                },
                instance=instance,
                raise_on_error=False,
                tags={"northstar/trigger": "northstar dsr erase"},
            )
        if not result.success:
            raise NorthstarError(f"erasure of {request_id} failed: {_failure(result)}")
        rows = result.output_for_node("erase_dsr_subject")
        cli.console.print(f"{request_id}: erased, {rows} row(s) changed; see ops.audit_corrections")
        return 0

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))
