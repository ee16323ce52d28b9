"""Every failed check of a suite raises an alert: a row in `ops.pipeline_alert_log` (written by
the run itself, DESIGN §3) and a line in the JSON-lines sink under the Northstar home.

A sink that fails is logged and skipped: an alert must never turn a check result into a
crashed step.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

from northstar_platform.layers import PIPELINE_ALERT_LOG
from northstar_platform.lib.alerts import Alert, append_json_lines, check_failed_alert
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import get_settings

INSERT = (
    f"insert into {PIPELINE_ALERT_LOG.qualified} "  # noqa: S608
    f"({', '.join(PIPELINE_ALERT_LOG.column_names)}) "
    f"values ({', '.join('?' for _ in PIPELINE_ALERT_LOG.columns)})"
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


def record_alerts(
    alerts: list[Alert], session: WarehouseSession | None, log: dg.DagsterLogManager
) -> None:
    """Write `alerts` to the JSON-lines sink and, when a session is given, the alert table."""
    if not alerts:
        return
    try:
        append_json_lines(get_settings().alert_file, alerts)
    except OSError as exc:
        log.warning(f"alert file sink failed ({exc}); the alerts are in the run's check results")
    if session is None:
        return
    try:
        session.ensure_table(PIPELINE_ALERT_LOG)
        for alert in alerts:
            session.execute(INSERT, [getattr(alert, c) for c in PIPELINE_ALERT_LOG.column_names])
    except Exception as exc:  # a sink must not crash the step
        log.warning(f"alert table sink failed ({exc}); see {get_settings().alert_file}")
    for alert in alerts:
        log.error(f"ALERT {alert.message} — {alert.run_url}")
