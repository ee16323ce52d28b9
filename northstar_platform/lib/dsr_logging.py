"""Structured JSON logs for DSR work: one trace id per request, across both systems.

Every event is one JSON object (`event`, `trace_id`, `request_id`, `subject_hash`, fields)
sent to the Python logger `northstar.dsr`, appended to `$NORTHSTAR_HOME/logs/dsr.jsonl`, and
handed to any extra sink (the Dagster run log). The subject appears only as a salted sha256:
callers never pass identifiers, and `redact` masks anything shaped like an email address
that reached a field anyway (an error message quoting a value, say).
"""

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger("northstar.dsr")
EMAIL_LIKE = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+")


def new_trace_id() -> str:
    """A fresh trace id (one per discovery or erasure of a request)."""
    return uuid.uuid4().hex


def redact(text: str) -> str:
    """`text` with every email-shaped token replaced by `<redacted-email>`."""
    return EMAIL_LIKE.sub("<redacted-email>", text)


class DsrLog:
    """Emits the JSON events of one request's trace."""

    def __init__(
        self,
        *,
        trace_id: str,
        request_id: str,
        subject_hash: str,
        path: Path | None = None,
        sinks: tuple[Callable[[str], None], ...] = (),
    ) -> None:
        self.trace_id = trace_id
        self.request_id = request_id
        self.subject_hash = subject_hash
        self.path = path
        self.sinks = sinks

    def event(self, event: str, level: int = logging.INFO, **fields: Any) -> str:
        """Log one event; returns its JSON line."""
        record = {
            "ts": dt.datetime.now(dt.UTC).isoformat(),
            "level": logging.getLevelName(level),
            "event": event,
            "trace_id": self.trace_id,
            "request_id": self.request_id,
            "subject_hash": self.subject_hash,
            **fields,
        }
        line = redact(json.dumps(record, default=str, sort_keys=True))
        LOGGER.log(level, line)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        for sink in self.sinks:
            sink(line)
        return line
