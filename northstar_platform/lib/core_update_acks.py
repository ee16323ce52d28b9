"""The core system's acknowledgements of applied patches, and which sent updates still lack one.

The core system drops `exports/core_updates_acks/<name>.csv` files (`update_hash,applied_at`
with a header). Each file is loaded into `remediation.core_update_ack_log` replacing the rows
of an earlier read of the same file, so reading a file twice — or a corrected file landed
under the same name — converges. An ack file comes from another system: a file that breaks
the format halts the load naming the file, line and column (nothing is half-loaded), rather
than being skipped, because a skipped ack turns into a false SLA breach days later.
"""

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from northstar_platform.errors import InputFileError
from northstar_platform.layers import CORE_UPDATE_ACK_LOG, CORE_UPDATE_LEDGER
from northstar_platform.lib.loading import utc_naive
from northstar_platform.lib.privacy_events import parse_event_ts
from northstar_platform.resources.landing import LandingObject, LandingZone
from northstar_platform.resources.warehouse import WarehouseSession

ACK_PREFIX = "exports/core_updates_acks/"
ACK_COLUMNS = ("update_hash", "applied_at")
ACK_FILE = re.compile(rf"^{re.escape(ACK_PREFIX)}[^/]+\.csv$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
LISTED = 20
"""Offending hashes named in check metadata (the counts are always complete)."""


def is_ack_file(key: str) -> bool:
    """Whether a landing key is an ack file (a `.csv` directly under the ack prefix)."""
    return ACK_FILE.match(key) is not None


def ack_files(zone: LandingZone) -> list[LandingObject]:
    """Every ack file in the landing zone, by key."""
    return [o for o in zone.list(ACK_PREFIX) if is_ack_file(o.key)]


def parse_ack_file(data: bytes, where: str) -> list[tuple[str, dt.datetime]]:
    """(update_hash, applied_at as naive UTC) per data row; InputFileError names what is wrong."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{where}: not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    if tuple(c.strip() for c in rows[0]) != ACK_COLUMNS:
        raise InputFileError(
            f"{where} line 1: header {','.join(rows[0])!r}, expected {','.join(ACK_COLUMNS)}"
        )
    acks = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(ACK_COLUMNS):
            raise InputFileError(f"{where} line {line_no}: {len(row)} fields, expected 2")
        update_hash, applied_text = (c.strip() for c in row)
        if not SHA256_HEX.match(update_hash):
            raise InputFileError(
                f"{where} line {line_no} column update_hash: {update_hash!r} is not a "
                "lower-case sha256 hex digest"
            )
        applied_at = parse_event_ts(applied_text)
        if applied_at is None:
            raise InputFileError(
                f"{where} line {line_no} column applied_at: {applied_text!r} is not an "
                "ISO-8601 timestamp"
            )
        acks.append((update_hash, applied_at))
    return acks


def _log_rows(acks: list[tuple[str, dt.datetime]], key: str, arrived: dt.datetime) -> pa.Table:
    n = len(acks)
    return pa.table(
        {
            "update_hash": pa.array([h for h, _ in acks], pa.string()),
            "applied_at": pa.array([a for _, a in acks], pa.timestamp("us")),
            "ack_file": pa.array([key] * n, pa.string()),
            "ingested_ts": pa.array([utc_naive(arrived)] * n, pa.timestamp("us")),
        }
    )


def load_ack_files(
    session: WarehouseSession, zone: LandingZone, files: Sequence[LandingObject]
) -> int:
    """Replace the log rows of each of `files` with its current content, all in one
    transaction; return the acks loaded. Every file is parsed before anything is written."""
    parsed = [(o, parse_ack_file(zone.read_bytes(o.key), zone.uri(o.key))) for o in files]
    session.ensure_table(CORE_UPDATE_ACK_LOG)
    delete = f"delete from {CORE_UPDATE_ACK_LOG.qualified} where ack_file = ?"  # noqa: S608
    with session.transaction():
        for obj, acks in parsed:
            session.execute(delete, (obj.key,))
            session.insert_arrow(CORE_UPDATE_ACK_LOG, _log_rows(acks, obj.key, obj.last_modified))
    return sum(len(acks) for _, acks in parsed)


@dataclass(frozen=True)
class AckStatus:
    """How the sent updates stand against their acknowledgements at one moment."""

    overdue: int
    """Ledger rows sent before the SLA cutoff with no ack."""
    overdue_listed: list[tuple[str, str, dt.datetime]]
    """(update_hash, patch_key, sent_at) of the oldest overdue rows, at most LISTED."""
    awaiting: int
    """Sent within the SLA, not acked yet (not a failure)."""
    acknowledged: int
    unknown: int
    """Acked hashes the ledger never sent (reported, not a failure)."""
    unknown_listed: list[str]


def ack_status(session: WarehouseSession, cutoff: dt.datetime) -> AckStatus:
    """Ledger vs ack log: what is overdue (sent before `cutoff`, no ack), awaiting, unknown."""
    if not session.table_exists(CORE_UPDATE_LEDGER.schema, CORE_UPDATE_LEDGER.name):
        return AckStatus(0, [], 0, 0, 0, [])
    session.ensure_table(CORE_UPDATE_ACK_LOG)
    ledger, log = CORE_UPDATE_LEDGER.qualified, CORE_UPDATE_ACK_LOG.qualified
    acked = f"exists (select 1 from {log} as a where a.update_hash = l.update_hash)"  # noqa: S608
    unacked = (
        f"select l.update_hash, l.patch_key, l.sent_at from {ledger} as l "  # noqa: S608
        f"where not {acked}"
    )
    overdue_count = session.fetchone(
        f"select count(*) from ({unacked}) as u where sent_at < ?",  # noqa: S608
        (cutoff,),
    )
    overdue = session.fetchall(
        f"select * from ({unacked}) as u where sent_at < ? "  # noqa: S608
        "order by sent_at, update_hash limit ?",
        (cutoff, LISTED),
    )
    counts = session.fetchone(
        f"select count(*), coalesce(sum(case when {acked} then 1 else 0 end), 0) "  # noqa: S608
        f"from {ledger} as l"
    )
    total, acknowledged = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    late = int(overdue_count[0]) if overdue_count else 0
    unknown_sql = (
        f"from {log} as a where not exists "  # noqa: S608
        f"(select 1 from {ledger} as l where l.update_hash = a.update_hash)"
    )
    unknown_count = session.fetchone(f"select count(distinct a.update_hash) {unknown_sql}")
    unknown = session.fetchall(
        f"select distinct a.update_hash {unknown_sql} order by 1 limit ?", (LISTED,)
    )
    return AckStatus(
        overdue=late,
        overdue_listed=[(str(h), str(k), s) for h, k, s in overdue],
        awaiting=total - acknowledged - late,
        acknowledged=acknowledged,
        unknown=int(unknown_count[0]) if unknown_count else 0,
        unknown_listed=[str(h) for (h,) in unknown],
    )
