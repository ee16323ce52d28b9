"""Retention (seed 002): raw landing files 90 days, warehouse data 2 years.

Two mechanisms, one rule each. On S3 a bucket lifecycle rule expires landing objects 90 days
after they were written (no run needed, no request cost); the cleanup job deletes the same
objects by the same clock wherever it runs (a local folder, or a bucket whose rule is missing)
and purges warehouse rows whose partition (a business date, reconciliation date, or landing
day/hour) is older than two years. The operating records in `ops` (run log, alerts,
corrections) are the audit trail of what was done and are not purged.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LIFECYCLE_RULE_ID = "northstar-raw-landing-retention"
"""The id of the platform's rule in the bucket's lifecycle configuration."""

NEVER_PURGED_SCHEMAS = frozenset({"ops", "ops_shadow"})
"""Schemas whose rows the warehouse purge never touches (the operating records)."""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long landed files and warehouse rows are kept, in days."""

    landing_days: int = 90
    warehouse_days: int = 730

    def landing_cutoff(self, now: dt.datetime) -> dt.datetime:
        """Files that arrived before this instant (UTC) are expired."""
        return now - dt.timedelta(days=self.landing_days)

    def warehouse_cutoff(self, today: dt.date) -> str:
        """Rows whose partition sorts before this ISO date are expired (`2024-12-05` also
        sorts before every hour key of that day, `2024-12-05-00:00`)."""
        return (today - dt.timedelta(days=self.warehouse_days)).isoformat()


def lifecycle_rule(prefix: str, days: int) -> dict[str, Any]:
    """The S3 lifecycle rule expiring every object under `prefix` `days` after it landed;
    old versions (a versioned bucket) go a day later, unfinished uploads after a week."""
    return {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "Expiration": {"Days": days},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }


def merged_rules(existing: Sequence[dict[str, Any]], ours: dict[str, Any]) -> list[dict[str, Any]]:
    """The bucket's rules with ours put in (replacing an older version of it). S3 replaces a
    bucket's whole lifecycle configuration on every write, so other teams' rules are kept."""
    return [*(r for r in existing if r.get("ID") != ours["ID"]), ours]


def expired(last_modified: dt.datetime, cutoff: dt.datetime) -> bool:
    """Whether a file that arrived at `last_modified` is past the landing retention."""
    arrived = last_modified if last_modified.tzinfo else last_modified.replace(tzinfo=dt.UTC)
    return arrived < cutoff
