"""Trace a preference pair (customer_key, channel) through the preference reconciliation.

privacy landing file → raw.raw_privacy_events → staging.stg_privacy_events / quarantine →
curated.privacy_latest, and the core system's synced history → curated.core_latest →
audit.audit_preference_mismatches → remediation (updates, ledger, acknowledgements).

Classified against the latest reconciliation date that audited the pair: LATE_ARRIVING
when an input arrived after the last run that built the preference audit for that date,
ETL_LOSS when a staged event or core row never reached its latest table. SOURCE_CHANGE and
TRANSFORMATION are order rules (their inputs are the order export and the order audit).
"""

import json
from typing import Any

from northstar_platform.explain.relations import (
    AUDIT_PREFERENCE_ASSET,
    CORE_LATEST,
    PRIVACY_LATEST,
)
from northstar_platform.explain.rules import evaluated_by, known_runs
from northstar_platform.explain.steps import Step, Trace, exists, runs_of, select_rows
from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    CORE_PREFERENCES_HISTORY_KEYS,
    CORE_UPDATE_ACK_LOG,
    CORE_UPDATE_LEDGER,
    QUARANTINE_PRIVACY,
    RAW_PRIVACY_EVENTS,
    REMEDIATION_CORE_UPDATES,
    STG_PRIVACY_EVENTS,
)
from northstar_platform.lib.root_cause import Evidence, RootCause, plain, verdict
from northstar_platform.resources.warehouse import WarehouseSession

PAIR = "customer_key = ? and channel = ?"


def _pair_of(record: str | None) -> tuple[Any, Any, Any]:
    try:
        event = json.loads(record or "")
        return event.get("customer_key"), event.get("channel"), event.get("source_record_id")
    except (ValueError, AttributeError):
        return None, None, None


def _in(column: str, values: list[Any]) -> str:
    return f"{column} in ({', '.join('?' for _ in values)})" if values else "1 = 0"


def trace_preference(session: WarehouseSession, customer_key: str, channel: str) -> Trace:
    """Every layer's rows for one (customer_key, channel) pair, and its class."""
    pair = (customer_key, channel)
    raw = select_rows(
        session,
        "raw",
        RAW_PRIVACY_EVENTS,
        "record like ?",
        (f"%{customer_key}%",),
        "ingested_ts, source_file, line_no",
    )
    raw.rows = [r for r in raw.rows if _pair_of(r["record"])[:2] == pair]
    record_ids = [_pair_of(r["record"])[2] for r in raw.rows]
    files = {r["source_file"]: r["ingested_ts"] for r in raw.rows}
    steps = [
        Step(
            "landing",
            "landing zone (privacy/YYYY/MM/DD/…)",
            [{"source_file": f, "ingested_ts": t} for f, t in files.items()],
        ),
        raw,
        select_rows(session, "staging", STG_PRIVACY_EVENTS, PAIR, pair, "event_ts, ingested_ts"),
        select_rows(
            session, "quarantine", QUARANTINE_PRIVACY, _in("record_ref", record_ids), record_ids
        ),
        select_rows(session, "synced", CORE_PREFERENCES_HISTORY_KEYS, PAIR, pair, "updated_ts"),
        select_rows(session, "latest", PRIVACY_LATEST, PAIR, pair),
        select_rows(session, "latest", CORE_LATEST, PAIR, pair),
        select_rows(session, "audit", AUDIT_PREFERENCE_MISMATCHES, PAIR, pair, "recon_date"),
    ]
    updates = select_rows(
        session, "remediation", REMEDIATION_CORE_UPDATES, PAIR, pair, "recon_date"
    )
    hashes = sorted({r["update_hash"] for r in updates.rows})
    steps += [
        updates,
        select_rows(session, "remediation", CORE_UPDATE_LEDGER, _in("update_hash", hashes), hashes),
        select_rows(
            session, "remediation", CORE_UPDATE_ACK_LOG, _in("update_hash", hashes), hashes
        ),
    ]
    open_rows, recon = _open_mismatches(session, steps)
    found = _late(session, steps, recon) or _lost(steps)
    result = verdict(found, [f"{r['mismatch_type']} ({r['recon_date']})" for r in open_rows], [])
    key = f"{customer_key} {channel}"
    return Trace("preference", key, steps, result, None, runs_of(session, steps))


def _rows(steps: list[Step], table: Any) -> list[dict[str, Any]]:
    label = f"{table.layer.value}.{table.name}"
    return [r for s in steps if s.table == label for r in s.rows]


def _open_mismatches(session: WarehouseSession, steps: list[Step]) -> tuple[list[dict], Any]:
    """The pair's rows at the latest reconciliation date audited (open findings), and it."""
    if not exists(session, AUDIT_PREFERENCE_MISMATCHES):
        return [], None
    row = session.fetchone(f"select max(recon_date) from {AUDIT_PREFERENCE_MISMATCHES.qualified}")  # noqa: S608
    recon = row[0] if row else None
    return [r for r in _rows(steps, AUDIT_PREFERENCE_MISMATCHES) if r["recon_date"] == recon], recon


def _late(session: WarehouseSession, steps: list[Step], recon: Any) -> Evidence | None:
    """An input of the pair that arrived after the last run that built the audit of `recon`."""
    if recon is None:
        return None
    runs, params = known_runs(session, None)
    row = session.fetchone(
        f"with runs as ({runs}) select r.run_id, r.ended_at from runs r "  # noqa: S608
        f"where {evaluated_by('r', '?')} order by r.ended_at desc limit 1",
        [*params, f'%"{AUDIT_PREFERENCE_ASSET}"%', recon, recon],
    )
    if row is None:
        return None
    run_id, ended_at = row
    inputs = _rows(steps, STG_PRIVACY_EVENTS) + _rows(steps, CORE_PREFERENCES_HISTORY_KEYS)
    late = [r for r in inputs if r.get("ingested_ts") and r["ingested_ts"] > ended_at]
    if not late:
        return None
    newest = max(late, key=lambda r: r["ingested_ts"])
    where = f"{newest.get('source_file', 'core sync')}:{newest.get('line_no', '')}"
    return Evidence(
        RootCause.LATE_ARRIVING,
        f"{where} arrived {plain(newest['ingested_ts'])}, after the last run that built the "
        f"preference audit for {plain(recon)} ended {plain(ended_at)} (run {run_id})",
        {"run_id": run_id, "evaluated_at": ended_at, "ingested_ts": newest["ingested_ts"]},
    )


def _lost(steps: list[Step]) -> Evidence | None:
    """A staged privacy event newer than privacy_latest's, or core history without core_latest."""
    staged = _rows(steps, STG_PRIVACY_EVENTS)
    latest = _rows(steps, PRIVACY_LATEST)
    if staged:
        newest = max(staged, key=lambda r: (r["event_ts"], r["ingested_ts"]))
        if not latest or latest[0]["event_ts"] < newest["event_ts"]:
            return Evidence(
                RootCause.ETL_LOSS,
                f"staging.stg_privacy_events {newest['source_file']}:{newest['line_no']} "
                f"(event_ts {plain(newest['event_ts'])}) is absent from curated.privacy_latest",
                {"source_record_id": newest["source_record_id"]},
            )
    if _rows(steps, CORE_PREFERENCES_HISTORY_KEYS) and not _rows(steps, CORE_LATEST):
        return Evidence(
            RootCause.ETL_LOSS,
            "the core system's synced history has the pair; curated.core_latest does not",
        )
    return None
