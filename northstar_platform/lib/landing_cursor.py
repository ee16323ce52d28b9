"""Which landed files a sensor has not seen yet: a durable cursor over arrival times.

The cursor is the newest arrival time seen plus the keys that arrived at that instant (STYLE:
S3 sensors). A restart resumes from it, so no file is missed or repeated; a replaced file
arrives again (a newer LastModified / mtime) and is picked up. Run keys carry each file's
content tag, so the same content landed again does not start a second run.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from northstar_platform.resources.landing import LandingObject


@dataclass(frozen=True)
class Cursor:
    """The newest arrival seen and every file (`key:etag`) that arrived at exactly that instant.

    The content tag is part of what is remembered: S3 `LastModified` has whole seconds, so a
    file replaced within the second of the last tick keeps its arrival time and only its tag
    tells it apart.
    """

    newest: dt.datetime | None
    keys_at_newest: frozenset[str]

    def to_json(self) -> str:
        """A sensor cursor string."""
        return json.dumps(
            {
                "newest": self.newest.isoformat() if self.newest else None,
                "keys": sorted(self.keys_at_newest),
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> "Cursor":
        """Parse a cursor string; none yet means nothing has been seen."""
        if not text:
            return cls(None, frozenset())
        data = json.loads(text)
        newest = dt.datetime.fromisoformat(data["newest"]) if data["newest"] else None
        return cls(newest, frozenset(data["keys"]))


def _seen_as(obj: LandingObject) -> str:
    return f"{obj.key}:{obj.etag}"


def unseen(objects: list[LandingObject], cursor: Cursor) -> tuple[list[LandingObject], Cursor]:
    """The objects that arrived after the cursor, and the cursor that includes them."""
    new = [
        o
        for o in objects
        if cursor.newest is None
        or o.last_modified > cursor.newest
        or (o.last_modified == cursor.newest and _seen_as(o) not in cursor.keys_at_newest)
    ]
    if not new:
        return [], cursor
    newest = max(o.last_modified for o in new)
    if cursor.newest is not None and newest == cursor.newest:
        keys = cursor.keys_at_newest | {_seen_as(o) for o in new}
    else:
        keys = frozenset(_seen_as(o) for o in new if o.last_modified == newest)
    return new, Cursor(newest, frozenset(keys))


def requests_by_partition(
    new: list[LandingObject], partition_of: Callable[[str], str | None]
) -> dict[str, str]:
    """partition key → run key for the new files (files outside any partition are ignored).

    The run key hashes the (key, content tag) pairs, so the same files with the same content
    never start a second run, while a replaced file (new content) does.
    """
    files: dict[str, list[str]] = {}
    for obj in new:
        partition = partition_of(obj.key)
        if partition is not None:
            files.setdefault(partition, []).append(f"{obj.key}:{obj.etag}")
    return {
        partition: f"{partition}:{hashlib.sha256('|'.join(sorted(tags)).encode()).hexdigest()[:16]}"
        for partition, tags in sorted(files.items())
    }
