"""Data-subject requests (`dsr/requests/<request_id>.json`, DESIGN §4): parsing, deadline,
priority and the salted hash that stands for the subject everywhere but the report.
"""

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from northstar_platform.errors import InputFileError

REQUESTS_PREFIX = "dsr/requests/"
REPORTS_PREFIX = "dsr/reports/"
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class RequestStatus(StrEnum):
    """Where a request stands (`ops.dsr_requests.status`)."""

    FOUND = "FOUND"
    NOT_FOUND = "NOT_FOUND"
    DEAD_LETTERED = "DEAD_LETTERED"
    """Some lookups failed for good: the answer is incomplete (see ops.dsr_dead_letters)."""
    DRIFT_HALTED = "DRIFT_HALTED"
    ERASED = "ERASED"


ANSWERED = {
    "access": {RequestStatus.FOUND, RequestStatus.NOT_FOUND},
    "erasure": {RequestStatus.NOT_FOUND, RequestStatus.ERASED},
}
"""Statuses that answer a request of each kind (the SLA clock stops)."""


@dataclass(frozen=True)
class DsrRequest:
    """One request as filed."""

    request_id: str
    kind: str
    emails: tuple[str, ...]
    customer_ids: tuple[str, ...]
    received_at: dt.datetime
    """UTC, naive."""

    def deadline(self, sla_days: float) -> dt.datetime:
        """When the answer is due."""
        return self.received_at + dt.timedelta(days=sla_days)

    def subject_hash(self, salt: str) -> str:
        """One salted sha256 over every identifier of the request (logs, metadata, tables)."""
        parts = [f"email:{e.lower()}" for e in self.emails]
        parts += [f"customer_id:{c}" for c in self.customer_ids]
        return hash_identifier("|".join(sorted(parts)), salt)


def hash_identifier(value: str, salt: str) -> str:
    """Salted sha256 (hex) of one identifier: the only form a subject id is logged in."""
    return hashlib.sha256(f"{salt}|{value}".encode()).hexdigest()


def request_id_of(key: str) -> str | None:
    """`dsr/requests/<request_id>.json` → the request id, or None for other keys."""
    if not key.startswith(REQUESTS_PREFIX) or not key.endswith(".json"):
        return None
    name = key[len(REQUESTS_PREFIX) : -len(".json")]
    return name if REQUEST_ID.match(name) else None


def _strings(value: object, where: str) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise InputFileError(f"{where}: expected a non-empty string or a list of them")
    return tuple(v.strip() for v in values)


def parse_request(key: str, data: bytes) -> DsrRequest:
    """Validate one request file; every problem names the file and the field."""
    try:
        doc = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{key}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise InputFileError(f"{key}: expected a JSON object")
    request_id = doc.get("request_id")
    if request_id != request_id_of(key):
        raise InputFileError(f"{key}: request_id {request_id!r} must equal the file name")
    kind = doc.get("kind")
    if kind not in ("access", "erasure"):
        raise InputFileError(f"{key}: kind {kind!r} must be access or erasure")
    subject = doc.get("subject")
    if not isinstance(subject, dict) or not ({"email", "customer_id"} & set(subject)):
        raise InputFileError(f"{key}: subject must hold an email and/or a customer_id")
    emails = _strings(subject["email"], f"{key}: subject.email") if "email" in subject else ()
    if not all(EMAIL.match(e) for e in emails):
        raise InputFileError(f"{key}: subject.email must look like an email address")
    ids = (
        _strings(subject["customer_id"], f"{key}: subject.customer_id")
        if ("customer_id" in subject)
        else ()
    )
    try:
        received = dt.datetime.fromisoformat(str(doc.get("received_at")).replace("Z", "+00:00"))
    except ValueError:
        raise InputFileError(
            f"{key}: received_at {doc.get('received_at')!r} is not an ISO-8601 timestamp"
        ) from None
    if received.tzinfo is not None:
        received = received.astimezone(dt.UTC).replace(tzinfo=None)
    return DsrRequest(str(request_id), kind, emails, ids, received)


def priority(deadline: dt.datetime, now: dt.datetime) -> int:
    """Dagster run priority (`dagster/priority`, higher first): the nearer the deadline, the
    higher; overdue requests highest. Whole days, so requests due the same day tie."""
    days_left = (deadline - now).total_seconds() / 86_400
    return max(0, min(100, 100 - int(days_left)))
