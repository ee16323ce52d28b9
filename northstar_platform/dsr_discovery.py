"""One data-subject request's discovery, end to end (what `dsr/dsr_discovery` runs).

Pre-flight (catalog vs live schemas, per system), then identity-expanding lookups in both
systems, then the report in the landing zone's `dsr/reports/`, the request's row in
`ops.dsr_requests` and its dead letters in `ops.dsr_dead_letters` (one transaction). Each
system has its own circuit breaker: PostgreSQL being down dead-letters its lookups and the
warehouse is still searched, so the status says exactly what is missing.
"""

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from northstar_platform.defs.dbt_project import dbt_project
from northstar_platform.dsr_sources import PostgresSource, WarehouseSource
from northstar_platform.layers import DSR_DEAD_LETTERS, DSR_REQUESTS, Table
from northstar_platform.lib import dsr_serialization
from northstar_platform.lib.dsr_catalog import Catalog, PiiKind, load_catalog
from northstar_platform.lib.dsr_circuit import CircuitBreaker
from northstar_platform.lib.dsr_discovery import (
    MAX_EXPANSION_ROUNDS,
    DeadLetter,
    Identifier,
    SystemResult,
    discover_system,
    linked_identifiers,
)
from northstar_platform.lib.dsr_drift import CatalogDriftError, DriftReport, compare, enforce
from northstar_platform.lib.dsr_logging import DsrLog, new_trace_id
from northstar_platform.lib.dsr_report import (
    build_report,
    erasure_plan,
    found_locations,
    status_of,
)
from northstar_platform.lib.dsr_requests import (
    REPORTS_PREFIX,
    REQUESTS_PREFIX,
    DsrRequest,
    RequestStatus,
    parse_request,
)
from northstar_platform.lib.dsr_retry import LookupFailedError, RetryPolicy, call_with_retry
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import Settings

MARKS = {"postgres": "%s", "warehouse": "?"}


def dsr_salt(settings: Settings) -> str:
    """`NORTHSTAR_DSR_SALT`, else a random salt created once under the Northstar home."""
    if settings.dsr.salt:
        return settings.dsr.salt
    path = settings.home / "secrets" / "dsr_salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def catalog_for(settings: Settings) -> Catalog:
    """The catalog file merged with the dbt models' `pii` meta."""
    return load_catalog(settings.dsr.catalog, Path(dbt_project.manifest_path))


def read_request(zone: LandingZone, request_id: str) -> DsrRequest:
    """The request file of `request_id`."""
    key = f"{REQUESTS_PREFIX}{request_id}.json"
    return parse_request(key, zone.read_bytes(key))


@dataclass(frozen=True)
class Discovery:
    """What one discovery did, for the asset's metadata (no identifiers in it)."""

    status: RequestStatus
    trace_id: str
    subject_hash: str
    report_key: str
    locations: int
    rows_found: int
    dead_letters: list[DeadLetter]
    deadline: dt.datetime
    drift_columns: int


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _replace_rows(session: WarehouseSession, table: Table, request_id: str, rows: list) -> None:
    session.execute(f"delete from {table.qualified} where request_id = ?", (request_id,))  # noqa: S608
    columns = table.column_names
    for row in rows:
        session.execute(
            f"insert into {table.qualified} ({', '.join(columns)}) "  # noqa: S608
            f"values ({', '.join('?' for _ in columns)})",
            [row[c] for c in columns],
        )


def write_status(session: WarehouseSession, row: dict[str, Any], letters: list[dict]) -> None:
    """Replace the request's status row and dead letters, atomically."""
    session.ensure_table(DSR_REQUESTS)
    session.ensure_table(DSR_DEAD_LETTERS)
    with session.transaction():
        _replace_rows(session, DSR_REQUESTS, row["request_id"], [row])
        _replace_rows(session, DSR_DEAD_LETTERS, row["request_id"], letters)


def discover(
    request: DsrRequest,
    *,
    settings: Settings,
    source_db: SourceDatabaseResource,
    session: WarehouseSession,
    zone: LandingZone,
    run_id: str,
    sinks: tuple[Callable[[str], None], ...] = (),
) -> Discovery:
    """Discover one request; raises `CatalogDriftError` (after recording DRIFT_HALTED)."""
    cfg = settings.dsr
    subject_hash = request.subject_hash(dsr_salt(settings))
    log = DsrLog(
        trace_id=new_trace_id(),
        request_id=request.request_id,
        subject_hash=subject_hash,
        path=settings.home / "logs" / "dsr.jsonl",
        sinks=sinks,
    )
    deadline = request.deadline(cfg.sla_days)
    catalog = catalog_for(settings)
    log.event("discovery_started", kind=request.kind, catalog_version=catalog.version)
    policy = RetryPolicy(retries=cfg.retries, base_s=cfg.backoff_s)
    sources = [
        PostgresSource(source_db, cfg.statement_timeout_s),
        WarehouseSource(session),
    ]
    breakers = {
        s.system: CircuitBreaker(s.system, cfg.circuit_failures, cfg.circuit_cooldown_s)
        for s in sources
    }
    results = {s.system: SystemResult() for s in sources}
    present: dict[str, set[tuple[str, str]]] = {}
    reports: list[DriftReport] = []
    for source in sources:
        catalogued = set(catalog.tables(source.system))
        try:
            live = call_with_retry(
                lambda source=source: source.live_columns(catalog.schemas(source.system)),
                policy=policy,
                breaker=breakers[source.system],
                is_transient=source.is_transient,
                on_retry=lambda n, exc, wait, system=source.system: log.event(
                    "preflight_retry",
                    system=system,
                    attempt=n,
                    error=type(exc).__name__,
                    backoff_s=wait,
                ),
            )
        except LookupFailedError as exc:
            letter = DeadLetter(source.system, "information_schema.columns", exc.attempts, str(exc))
            results[source.system].dead_letters.append(letter)
            log.event("preflight_failed", logging.ERROR, system=source.system, error=str(exc))
            present[source.system] = catalogued  # every lookup is tried (and dead-lettered)
            continue
        reports.append(compare(catalog, source.system, live))
        present[source.system] = catalogued & set(live)
    absent = {
        s.system: sorted(f"{a}.{b}" for a, b in set(catalog.tables(s.system)) - present[s.system])
        for s in sources
    }
    try:
        drift = enforce(reports, cfg.drift_max_columns)
    except CatalogDriftError as exc:
        drifted = [str(d) for r in reports for d in r.drift]
        log.event("drift_halted", logging.ERROR, columns=drifted)
        write_status(
            session,
            _row(
                request,
                subject_hash,
                deadline,
                RequestStatus.DRIFT_HALTED,
                log.trace_id,
                run_id,
                None,
                0,
                0,
                0,
            ),
            [],
        )
        raise exc from None
    identifiers: set[Identifier] = {(PiiKind.EMAIL, e.lower()) for e in request.emails}
    identifiers |= {(PiiKind.CUSTOMER_ID, c) for c in request.customer_ids}
    pending = set(identifiers)
    for _ in range(MAX_EXPANSION_ROUNDS):
        for source in sources:
            discover_system(
                source,
                catalog,
                sorted(pending),
                present=present[source.system],
                batch_size=cfg.batch_size,
                policy=policy,
                breaker=breakers[source.system],
                log=log.event,
                result=results[source.system],
            )
        pending = linked_identifiers(catalog, list(results.values())) - identifiers
        if not pending:
            break
        log.event("identities_linked", new_identifiers=len(pending))
        identifiers |= pending
    plan = []
    if request.kind == "erasure":
        found = found_locations(list(results.values()))
        plan = erasure_plan(catalog, found, sorted(identifiers), MARKS, cfg.batch_size)
    report = build_report(
        request=request,
        trace_id=log.trace_id,
        subject_hash=subject_hash,
        catalog=catalog,
        results=results,
        identifiers=sorted(identifiers),
        absent_tables=absent,
        plan=plan,
        deadline=deadline,
        generated_at=utc_now(),
    )
    key = f"{REPORTS_PREFIX}{request.request_id}.json"
    zone.write_bytes(key, dsr_serialization.dumps(report).encode())
    status = status_of(list(results.values()))
    letters = [d for r in results.values() for d in r.dead_letters]
    locations = sum(len(r.locations) for r in results.values())
    rows = int(report["total_rows"])
    write_status(
        session,
        _row(
            request,
            subject_hash,
            deadline,
            status,
            log.trace_id,
            run_id,
            key,
            locations,
            rows,
            len(letters),
        ),
        [
            {
                "request_id": request.request_id,
                "trace_id": log.trace_id,
                "system": d.system,
                "table_name": d.relation,
                "attempts": d.attempts,
                "error": d.error,
                "failed_at": utc_now(),
                "run_id": run_id,
            }
            for d in letters
        ],
    )
    log.event(
        "discovery_done",
        status=str(status),
        locations=locations,
        rows=rows,
        dead_letters=len(letters),
        report=key,
    )
    return Discovery(
        status, log.trace_id, subject_hash, key, locations, rows, letters, deadline, len(drift)
    )


def _row(
    request: DsrRequest,
    subject_hash: str,
    deadline: dt.datetime,
    status: RequestStatus,
    trace_id: str,
    run_id: str,
    report_key: str | None,
    locations: int,
    rows: int,
    letters: int,
) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "kind": request.kind,
        "subject_hash": subject_hash,
        "received_at": request.received_at,
        "deadline_at": deadline,
        "status": str(status),
        "locations": locations,
        "rows_found": rows,
        "dead_letters": letters,
        "report_key": report_key,
        "trace_id": trace_id,
        "run_id": run_id,
        "updated_at": utc_now(),
    }
