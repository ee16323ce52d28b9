"""Executing an erasure request's plan: separate from discovery, and only when confirmed.

`erase_dsr_subject_job` (UI, or `northstar dsr erase <id> --confirm`) runs this. The plan in
the report is rebuilt from the catalog and the report's identifiers and must be identical,
so only statements the platform itself generated ever run. Each system's statements run in
one transaction; every table changed gets one `DSR_ERASURE` row in `ops.audit_corrections`
(fingerprints of the subject's rows before and after, rows changed, trace id, subject hash),
and the request's status becomes ERASED.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from northstar_platform.dsr_discovery import (
    MARKS,
    catalog_for,
    dsr_salt,
    read_request,
    utc_now,
    write_status,
)
from northstar_platform.errors import NorthstarError
from northstar_platform.layers import DSR_REQUESTS
from northstar_platform.lib import dsr_serialization
from northstar_platform.lib.corrections import Correction, CorrectionKind, record_correction
from northstar_platform.lib.dsr_catalog import PiiKind
from northstar_platform.lib.dsr_logging import DsrLog, new_trace_id
from northstar_platform.lib.dsr_report import PlannedStatement, erasure_plan
from northstar_platform.lib.dsr_requests import REPORTS_PREFIX, RequestStatus
from northstar_platform.lib.fingerprints import Fingerprint
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import Settings

ERASURE_ASSET = "dsr/dsr_discovery"


class ErasureRefusedError(NorthstarError):
    """An erasure that must not run (not confirmed, not an erasure, stale or partial plan)."""


def load_report(zone: LandingZone, request_id: str) -> dict[str, Any]:
    """The discovery report of `request_id`."""
    key = f"{REPORTS_PREFIX}{request_id}.json"
    if zone.stat(key) is None:
        raise ErasureRefusedError(
            f"no report {zone.uri(key)}: discover the request first (its sensor run)"
        )
    return dsr_serialization.loads(zone.read_bytes(key))


def planned(settings: Settings, report: dict[str, Any]) -> list[PlannedStatement]:
    """The plan rebuilt from the catalog; refuses when it differs from the stored one."""
    identifiers = [(PiiKind.EMAIL, e) for e in report["identifiers"]["email"]]
    identifiers += [(PiiKind.CUSTOMER_ID, c) for c in report["identifiers"]["customer_id"]]
    found = [(loc["system"], loc["table"], loc["rows"]) for loc in report["locations"]]
    plan = erasure_plan(
        catalog_for(settings), found, sorted(identifiers), MARKS, settings.dsr.batch_size
    )
    if [p.as_dict() for p in plan] != report.get("erasure_plan"):
        raise ErasureRefusedError(
            f"the erasure plan of {report['request_id']} differs from what the catalog gives "
            "now (catalog changed or report edited); re-run its discovery first"
        )
    return plan


def _fingerprint(system: str, relation: str, request_id: str, rows: list) -> Fingerprint:
    digest = hashlib.sha256()
    for row in sorted(json.dumps(dsr_serialization.to_jsonable(list(r))) for r in rows):
        digest.update(row.encode() + b"\n")
    return Fingerprint(f"{system}:{relation}", request_id, len(rows), digest.hexdigest())


def _run(cur: Any, statement: PlannedStatement, request_id: str) -> tuple[Any, Any, int]:
    """(before, after, rows changed) of one statement on a DB-API cursor-like runner."""
    before = cur(statement.select_sql, statement.params)
    cur(statement.sql, statement.params)
    after = cur(statement.select_sql, statement.params)
    return (
        _fingerprint(statement.system, statement.relation, request_id, before),
        _fingerprint(statement.system, statement.relation, request_id, after),
        len(before),
    )


def erase(
    request_id: str,
    *,
    confirm: bool,
    settings: Settings,
    source_db: SourceDatabaseResource,
    session: WarehouseSession,
    zone: LandingZone,
    run_id: str,
    trigger: str,
    sinks: tuple[Callable[[str], None], ...] = (),
) -> list[dict[str, Any]]:
    """Run the confirmed plan of `request_id`; returns what changed per table."""
    report = load_report(zone, request_id)
    request = read_request(zone, request_id)
    if report["kind"] != "erasure":
        raise ErasureRefusedError(f"{request_id} is an {report['kind']} request, not an erasure")
    if report["status"] != RequestStatus.FOUND:
        raise ErasureRefusedError(
            f"{request_id} has status {report['status']}: only a complete discovery (FOUND) "
            "can be erased; re-run its discovery"
        )
    plan = planned(settings, report)
    if not confirm:
        raise ErasureRefusedError(
            f"erasing {request_id} changes {len(plan)} statement(s) of data; confirm explicitly "
            "(`northstar dsr erase <id> --confirm`, or config confirm: true)"
        )
    subject_hash = request.subject_hash(dsr_salt(settings))
    log = DsrLog(
        trace_id=new_trace_id(),
        request_id=request_id,
        subject_hash=subject_hash,
        path=settings.home / "logs" / "dsr.jsonl",
        sinks=sinks,
    )
    changes: list[tuple[PlannedStatement, Fingerprint, Fingerprint, int]] = []
    pg = [p for p in plan if p.system == "postgres"]
    if pg:
        with source_db.connection() as conn, conn.cursor() as cur:

            def pg_run(sql: str, params: tuple) -> list:
                cur.execute(sql, list(params))
                return [tuple(r) for r in cur.fetchall()] if cur.description else []

            changes += [(p, *_run(pg_run, p, request_id)) for p in pg]
        log.event("erased", system="postgres", statements=len(pg))
    wh = [p for p in plan if p.system == "warehouse"]
    with session.transaction():
        changes += [(p, *_run(session.fetchall, p, request_id)) for p in wh]
    log.event("erased", system="warehouse", statements=len(wh))
    summary = []
    for statement, before, after, rows in changes:
        note = {
            "table": f"{statement.system}:{statement.relation}",
            "set_null": list(statement.columns),
            "rows_changed": rows,
            "trace_id": log.trace_id,
            "subject_hash": subject_hash,
        }
        correction = Correction(
            kind=CorrectionKind.DSR_ERASURE,
            asset_key=ERASURE_ASSET,
            partition_key=request_id,
            run_id=run_id,
            trigger=trigger,
            inputs=[before],
            outputs=[after],
            note=json.dumps(note, sort_keys=True),
        )
        record_correction(session, correction)
        summary.append(note)
    session.ensure_table(DSR_REQUESTS)
    row = session.fetchone(
        f"select * from {DSR_REQUESTS.qualified} where request_id = ?",  # noqa: S608
        (request_id,),
    )
    if row is not None:
        current = dict(zip(DSR_REQUESTS.column_names, row, strict=False))
        current.update(status=str(RequestStatus.ERASED), run_id=run_id, updated_at=utc_now())
        current["trace_id"] = log.trace_id
        write_status(session, current, [])
    receipt = {"request_id": request_id, "erased_at": utc_now(), "changes": summary}
    zone.write_bytes(
        f"{REPORTS_PREFIX}{request_id}.erasure.json", dsr_serialization.dumps(receipt).encode()
    )
    log.event("erasure_done", tables=len(summary), rows=sum(n["rows_changed"] for n in summary))
    return summary
