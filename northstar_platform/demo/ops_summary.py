"""The operating part of the demo's summary: alerts, run log, corrections, root causes, and
the commands to look further (dashboard, explain, shadow build + parity).

Everything is read back from the ops and audit tables the runs wrote, so what the summary
shows is what a user finds there afterwards.
"""

from pathlib import Path

from rich.console import Console

from northstar_platform.layers import (
    AUDIT_CORRECTIONS,
    AUDIT_ROOT_CAUSE,
    PIPELINE_ALERT_LOG,
    PIPELINE_RUN_LOG,
    Layer,
    Table,
    qualified,
)
from northstar_platform.resources.warehouse import WarehouseSession

LATEST_ALERTS = 12


def _name(table: Table) -> str:
    """`schema.table` as a user types it (the unquoted name)."""
    return f"{table.schema}.{table.name}"


def _exists(session: WarehouseSession, table: Table) -> bool:
    return session.table_exists(table.schema, table.name)


def print_operations(
    console: Console, session: WarehouseSession, alert_file: Path | None, days: list[str]
) -> None:
    """Alerts (latest, with run links), run log, corrections and root causes, then next steps."""
    if _exists(session, PIPELINE_ALERT_LOG):
        _alerts(console, session, alert_file)
    if _exists(session, PIPELINE_RUN_LOG):
        runs = session.fetchall(
            f"select status, count(*) from {PIPELINE_RUN_LOG.qualified} "  # noqa: S608
            "group by status order by status"
        )
        listed = ", ".join(f"{status} {count}" for status, count in runs)
        console.print(
            f"Run log: {listed} (every run, rows written, checks, code version: "
            f"{_name(PIPELINE_RUN_LOG)})"
        )
    if _exists(session, AUDIT_CORRECTIONS):
        kinds = session.fetchall(
            f"select kind, count(*) from {AUDIT_CORRECTIONS.qualified} "  # noqa: S608
            "group by kind order by kind"
        )
        listed = ", ".join(f"{kind} {count}" for kind, count in kinds)
        console.print(f"Audited corrections: {listed} ({_name(AUDIT_CORRECTIONS)})")
    if _exists(session, AUDIT_ROOT_CAUSE):
        causes = session.fetchall(
            f"select root_cause, sum(open_mismatches) from {AUDIT_ROOT_CAUSE.qualified} "  # noqa: S608
            "group by root_cause having sum(open_mismatches) > 0 order by 1"
        )
        listed = ", ".join(f"{cause} {count}" for cause, count in causes) or "none open"
        console.print(f"Open order mismatches by root cause: {listed}")
    _next_steps(console, session, days)


def _alerts(console: Console, session: WarehouseSession, alert_file: Path | None) -> None:
    total = session.fetchone(f"select count(*) from {PIPELINE_ALERT_LOG.qualified}")  # noqa: S608
    latest = session.fetchall(
        "select raised_at, asset_key, partition_key, check_name, observed, threshold, "  # noqa: S608
        f"run_url from {PIPELINE_ALERT_LOG.qualified} "
        "order by raised_at desc, alert_id limit ?",
        (LATEST_ALERTS,),
    )
    console.print(f"[bold]Alerts[/bold] (latest {len(latest)} of {total[0] if total else 0}):")
    for raised, asset, partition, check, observed, threshold, url in latest:
        where = f"{asset} [{partition}]" if partition else asset
        console.print(
            f"  {raised:%H:%M:%S}  {check} on {where}: observed {_short(observed)} "
            f"vs {_short(threshold)}  {url}"
        )
    where = f"{_name(PIPELINE_ALERT_LOG)} and {alert_file}" if alert_file else "the table"
    console.print(f"Alert log: {where} (Slack/email deliveries: ops.pipeline_alert_deliveries)")


def _short(value: str | None) -> str:
    """A metadata value as text, numbers to 4 significant digits (0.01010 not 0.010100916…)."""
    if value is None:
        return "—"
    try:
        return f"{float(value):.4g}"
    except ValueError:
        return value


def _next_steps(console: Console, session: WarehouseSession, days: list[str]) -> None:
    """Commands that work on the demo's data right now."""
    mismatches = qualified(Layer.AUDIT, "audit_order_mismatches")
    example = None
    if session.table_exists(Layer.AUDIT.value, "audit_order_mismatches"):
        example = session.fetchone(
            f"select order_id from {mismatches} where not is_cleared "  # noqa: S608
            "and order_id is not null order by business_date, order_id limit 1"
        )
    console.print("Look further:")
    console.print("  northstar dashboard            # the monthly review page on :8050")
    if example:
        console.print(f"  northstar explain order {example[0]}   # trace one open mismatch")
    if days:
        console.print(
            f"  NORTHSTAR_SHADOW=true northstar materialize --from {days[0]} --to {days[-1]}"
            "   # a shadow build next to production"
        )
        console.print("  northstar parity               # shadow vs production, then cutover")
