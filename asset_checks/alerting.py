"""The one way alerts leave the platform: `record_alerts`.

Every path that raises alerts (a check suite's failed checks, the run recorder's failed runs
and failed dbt tests) hands them here. Each alert goes, in order, to the JSON-lines file
under the Northstar home, the `ops.pipeline_alert_log` table (both always on; written by a
run, DESIGN §3), then to every configured external sink (Slack, email; lib/alert_sinks.py),
whose outcome per (alert, sink) is recorded in `ops.pipeline_alert_deliveries`.

An alert whose id is already in the alert log is skipped (`Alert.alert_id` is stable per run,
asset, check and partition): a retried step or a run recorded twice alerts once. A sink that
fails is logged and skipped: an alert must never turn a check result into a crashed step.
"""

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import dagster as dg

from northstar_platform.layers import PIPELINE_ALERT_DELIVERIES, PIPELINE_ALERT_LOG, Table
from northstar_platform.lib.alert_sinks import Delivery, configured_sinks, deliver_all
from northstar_platform.lib.alerts import Alert, append_json_lines, check_failed_alert
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import get_settings

Log = logging.Logger | logging.LoggerAdapter[Any] | dg.DagsterLogManager


def _insert(table: Table) -> str:
    return (
        f"insert into {table.qualified} ({', '.join(table.column_names)}) "  # noqa: S608
        f"values ({', '.join('?' for _ in table.columns)})"
    )


def alerts_for(
    failed: Sequence[tuple[dg.AssetKey, str, Mapping[str, Any]]],
    partition: str | None,
    run_id: str,
) -> list[Alert]:
    """One alert per failed (asset, check, metadata) of a run."""
    settings = get_settings()
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return [
        check_failed_alert(
            asset_key=asset.to_user_string(),
            check_name=check,
            partition_key=partition,
            metadata=metadata,
            run_id=run_id,
            ui_url=settings.dagster_ui_url,
            now=now,
        )
        for asset, check, metadata in failed
    ]


def recorded_alert_ids(session: WarehouseSession, run_ids: Sequence[str]) -> set[str]:
    """Ids of the alerts already in `ops.pipeline_alert_log` for `run_ids`."""
    if not run_ids:
        return set()
    session.ensure_table(PIPELINE_ALERT_LOG)
    marks = ", ".join("?" for _ in run_ids)
    rows = session.fetchall(
        f"select alert_id from {PIPELINE_ALERT_LOG.qualified} where run_id in ({marks})",  # noqa: S608
        list(run_ids),
    )
    return {str(r[0]) for r in rows}


def record_alerts(
    alerts: Sequence[Alert], session: WarehouseSession | None, log: Log
) -> list[Delivery]:
    """Raise `alerts` on every sink (see the module docstring); returns the external
    deliveries. With `session` None only the JSON-lines file and the external sinks get them
    (nothing can be de-duplicated or recorded)."""
    if not alerts:
        return []
    settings = get_settings()
    if settings.shadow:  # a shadow build shares the sinks: its alerts must not read as production's
        alerts = [
            a if a.message.startswith("[shadow]") else replace(a, message=f"[shadow] {a.message}")
            for a in alerts
        ]
    if session is not None:
        try:
            known = recorded_alert_ids(session, sorted({a.run_id for a in alerts}))
            alerts = [a for a in alerts if a.alert_id not in known]
            for alert in alerts:
                session.execute(
                    _insert(PIPELINE_ALERT_LOG),
                    [getattr(alert, c) for c in PIPELINE_ALERT_LOG.column_names],
                )
        except Exception as exc:  # a sink must not crash the step
            log.warning(f"alert table sink failed ({exc}); see {settings.alert_file}")
    if not alerts:
        return []
    try:
        append_json_lines(settings.alert_file, list(alerts))
    except OSError as exc:
        log.warning(f"alert file sink failed ({exc}); the alerts are in the run's check results")
    for alert in alerts:
        log.error(f"ALERT {alert.message} — {alert.run_url}")
    deliveries = deliver_all(
        alerts, configured_sinks(settings), retries=settings.alert_sink_retries
    )
    for failed in (d for d in deliveries if d.status == "failed"):
        log.warning(
            f"alert {failed.alert_id} not delivered to {failed.sink} after "
            f"{failed.attempts} attempts: {failed.error}"
        )
    if session is not None and deliveries:
        try:
            session.ensure_table(PIPELINE_ALERT_DELIVERIES)
            for delivery in deliveries:
                session.execute(
                    _insert(PIPELINE_ALERT_DELIVERIES),
                    [getattr(delivery, c) for c in PIPELINE_ALERT_DELIVERIES.column_names],
                )
        except Exception as exc:  # recording a delivery must not crash the step either
            log.warning(f"alert delivery log failed ({exc})")
    return deliveries
