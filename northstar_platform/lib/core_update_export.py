"""Send the core system each remediation update once: patch files plus a ledger of sent hashes.

A reconciliation date's `remediation_core_updates` rows are written as one CSV patch file to
the landing zone (`exports/core_updates/<recon_date>/patch-<id>.csv`), holding only the
update_hash values the ledger (`remediation.core_update_ledger`) has never recorded: a retry
with the same payload sends nothing, a changed payload (a new hash) is sent. A hash is "sent"
once it is in the ledger, across every date: a patch the core system has not applied yet
stays in the next day's remediation with the same hash and must not go out twice.

Order of the two writes, so that a crash between them can neither lose a patch nor send one
twice without a record:

1. the file, under a name derived from its content (sha256 of the sorted hashes) — a rerun
   over the same payload writes the same name with the same bytes;
2. the ledger rows, in one transaction.

A file whose ledger rows never committed (a crash after step 1) is found on the next run
(`patch-*.csv` under the date's folder with no ledger row) and recorded as sent before
anything else is computed: it may already have been picked up, so its hashes are not sent
again even when the payload changed meanwhile. The result names every such recovered file.
"""

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    CORE_UPDATE_LEDGER,
    REMEDIATION_CORE_UPDATES,
)
from northstar_platform.lib.corrections import Correction, CorrectionKind
from northstar_platform.lib.fingerprints import Fingerprint, fingerprint
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.warehouse import WarehouseSession

EXPORT_PREFIX = "exports/core_updates"
PATCH_COLUMNS = ("customer_key", "channel", "new_preference_state", "effective_ts", "update_hash")
PATCH_NAME = re.compile(r"^patch-[0-9a-f]{12}\.csv$")
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
"""DESIGN §8's rendering of effective_ts (the same text the update_hash was computed over)."""


@dataclass(frozen=True)
class ExportOutcome:
    """What one export of a reconciliation date did."""

    rows_in_remediation: int
    already_sent: int
    newly_sent: int
    patch_key: str | None
    recovered: dict[str, int] = field(default_factory=dict)
    """patch key → hashes recorded from a file an earlier, crashed attempt wrote."""

    def metadata(self) -> dict[str, Any]:
        """Asset metadata: the counts, the patch key, and why nothing was sent."""
        if self.patch_key:
            note = f"{self.newly_sent} new updates written to {self.patch_key}"
        elif self.rows_in_remediation:
            note = "nothing new to send: every update_hash is already in the ledger; no file"
        else:
            note = "no remediation rows for this date; no file written"
        return {
            "rows_in_remediation": self.rows_in_remediation,
            "already_sent": self.already_sent,
            "newly_sent": self.newly_sent,
            "patch_key": self.patch_key or "none",
            "recovered_patches": ", ".join(f"{k} ({n})" for k, n in self.recovered.items())
            or "none",
            "note": note,
        }


def date_folder(recon_date: str) -> str:
    """The landing folder of one reconciliation date's patch files."""
    return f"{EXPORT_PREFIX}/{dt.date.fromisoformat(recon_date).isoformat()}/"


def patch_key(recon_date: str, hashes: Sequence[str]) -> str:
    """`exports/core_updates/<date>/patch-<12 hex>.csv`: the same hashes give the same name."""
    digest = hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()[:12]
    return f"{date_folder(recon_date)}patch-{digest}.csv"


def render_patch(rows: Sequence[tuple[str, str, str, dt.datetime, str]]) -> bytes:
    """The patch CSV (header + rows in the given order), effective_ts as DESIGN §8 renders it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PATCH_COLUMNS)
    for key, channel, state, effective_ts, update_hash in rows:
        writer.writerow((key, channel, state, effective_ts.strftime(TS_FORMAT), update_hash))
    return out.getvalue().encode()


def patch_hashes(data: bytes, where: str) -> list[str]:
    """The update_hash column of a patch file this module wrote."""
    reader = csv.reader(io.StringIO(data.decode()))
    header = next(reader, None)
    if header is None or tuple(header) != PATCH_COLUMNS:
        raise NorthstarError(
            f"{where}: not a core-update patch (header {header!r}, expected "
            f"{','.join(PATCH_COLUMNS)}); move it out of {EXPORT_PREFIX}/"
        )
    return [row[-1] for row in reader if row]


def _ledger_rows(
    hashes: Sequence[str], recon_date: str, key: str, sent_at: dt.datetime, run_id: str
) -> pa.Table:
    n = len(hashes)
    return pa.table(
        {
            "update_hash": pa.array(list(hashes), pa.string()),
            "recon_date": pa.array([dt.date.fromisoformat(recon_date)] * n, pa.date32()),
            "patch_key": pa.array([key] * n, pa.string()),
            "sent_at": pa.array([sent_at] * n, pa.timestamp("us")),
            "run_id": pa.array([run_id] * n, pa.string()),
        }
    )


def _sent(session: WarehouseSession) -> set[str]:
    """Every hash in the ledger: only read to recover a crashed attempt's file (rare)."""
    rows = session.fetchall(f"select distinct update_hash from {CORE_UPDATE_LEDGER.qualified}")  # noqa: S608
    return {str(h) for (h,) in rows}


def recover_unrecorded_patches(
    session: WarehouseSession, zone: LandingZone, recon_date: str, run_id: str, now: dt.datetime
) -> dict[str, int]:
    """Record the patch files of `recon_date` that have no ledger row (a crashed attempt)."""
    recorded = {
        str(k)
        for (k,) in session.fetchall(
            f"select distinct patch_key from {CORE_UPDATE_LEDGER.qualified} "  # noqa: S608
            "where recon_date = cast(? as date)",
            (recon_date,),
        )
    }
    folder = date_folder(recon_date)
    orphans = [
        o.key
        for o in zone.list(folder)
        if PATCH_NAME.match(o.key[len(folder) :]) and o.key not in recorded
    ]
    recovered: dict[str, int] = {}
    for key in orphans:
        sent = _sent(session)
        fresh = sorted(set(patch_hashes(zone.read_bytes(key), zone.uri(key))) - sent)
        with session.transaction():
            session.insert_arrow(
                CORE_UPDATE_LEDGER, _ledger_rows(fresh, recon_date, key, now, run_id)
            )
        recovered[key] = len(fresh)
    return recovered


def export_core_updates(
    session: WarehouseSession,
    zone: LandingZone,
    recon_date: str,
    run_id: str,
    now: dt.datetime | None = None,
) -> ExportOutcome:
    """Write the unsent updates of `recon_date` as one patch file, then record them as sent."""
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    source = REMEDIATION_CORE_UPDATES
    if not session.table_exists(source.schema, source.name):
        raise NorthstarError(
            f"{source.schema}.{source.name} does not exist yet: materialize the "
            f"preference reconciliation models for {recon_date} first"
        )
    session.ensure_table(CORE_UPDATE_LEDGER)  # DDL before any transaction (Snowflake commits)
    recovered = recover_unrecorded_patches(session, zone, recon_date, run_id, now)
    total = session.fetchone(
        f"select count(*) from {source.qualified} where recon_date = cast(? as date)",  # noqa: S608
        (recon_date,),
    )
    rows_in_remediation = int(total[0]) if total else 0
    # the anti-join stays in the warehouse: the ledger grows by every update ever sent
    pending = session.fetchall(
        "select r.customer_key, r.channel, r.new_preference_state, r.effective_ts, "  # noqa: S608
        f"r.update_hash from {source.qualified} as r where r.recon_date = cast(? as date) "
        f"and not exists (select 1 from {CORE_UPDATE_LEDGER.qualified} as l "
        "where l.update_hash = r.update_hash) "
        "order by r.customer_key, r.channel, r.update_hash",
        (recon_date,),
    )
    already_sent = rows_in_remediation - len(pending)
    outcome = ExportOutcome(rows_in_remediation, already_sent, len(pending), None, recovered)
    if not pending:
        return outcome
    hashes = [str(r[4]) for r in pending]
    key = patch_key(recon_date, hashes)
    zone.write_bytes(key, render_patch(pending))  # 1. the file, under a content-derived name
    with session.transaction():  # 2. then the ledger, all rows or none
        session.insert_arrow(CORE_UPDATE_LEDGER, _ledger_rows(hashes, recon_date, key, now, run_id))
    return ExportOutcome(rows_in_remediation, already_sent, len(pending), key, recovered)


def export_correction(
    session: WarehouseSession,
    zone: LandingZone,
    outcome: ExportOutcome,
    recon_date: str,
    run_id: str,
    trigger: str,
) -> Correction | None:
    """The `audit_corrections` record of an export that sent a patch (None when nothing was
    sent): the date's audit and remediation rows in, the patch file and its ledger rows out."""
    if not outcome.patch_key:
        return None
    patch = zone.read_bytes(outcome.patch_key)
    inputs = [
        fingerprint(session, t.schema, t.name, recon_date)
        for t in (AUDIT_PREFERENCE_MISMATCHES, REMEDIATION_CORE_UPDATES)
    ]
    outputs = [
        Fingerprint(zone.uri(outcome.patch_key), recon_date, outcome.newly_sent, sha256_hex(patch)),
        fingerprint(session, CORE_UPDATE_LEDGER.schema, CORE_UPDATE_LEDGER.name, recon_date),
    ]
    return Correction(
        CorrectionKind.REMEDIATION_EXPORT,
        "remediation/core_update_exports",
        recon_date,
        run_id,
        trigger,
        inputs,
        outputs,
        f"{outcome.newly_sent} updates sent in {outcome.patch_key}",
    )


def sha256_hex(data: bytes) -> str:
    """Hex sha256 of a file's bytes (a patch file's content fingerprint)."""
    return hashlib.sha256(data).hexdigest()
