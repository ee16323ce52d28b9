"""Why a record is inconsistent (DESIGN §6): the root-cause classes, the order they are tried
in, and the pure parts of the rules.

The rules themselves run as set-based SQL over many records at once (`explain/rules.py`), so
the `audit_root_cause` asset and `northstar explain` share one implementation of each; what
needs no warehouse lives here: comparing a source row with the newest exported version,
spotting schema drift, and picking the first matching class.
"""

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RootCause(StrEnum):
    """The class of an inconsistency, or CONSISTENT when there is none."""

    SOURCE_CHANGE = "SOURCE_CHANGE"
    LATE_ARRIVING = "LATE_ARRIVING"
    ETL_LOSS = "ETL_LOSS"
    TRANSFORMATION = "TRANSFORMATION"
    UNEXPLAINED = "UNEXPLAINED"
    CONSISTENT = "CONSISTENT"


RULE_ORDER = (
    RootCause.SOURCE_CHANGE,
    RootCause.LATE_ARRIVING,
    RootCause.ETL_LOSS,
    RootCause.TRANSFORMATION,
)
"""Tried in this order, first match wins: a changed source explains everything after it; a
late input explains a missing row better than a loss; a code change is the last resort."""

COUNTED_CAUSES = (*RULE_ORDER, RootCause.UNEXPLAINED)
"""The classes `audit_root_cause` counts per partition (an open mismatch is never CONSISTENT)."""


@dataclass(frozen=True)
class Evidence:
    """Why one record matched one rule: a readable line and the facts behind it."""

    cause: RootCause
    summary: str
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as ISO text)."""
        return {
            "class": self.cause.value,
            "summary": self.summary,
            "facts": {k: plain(v) for k, v in self.facts.items()},
        }


def plain(value: Any) -> Any:
    """A value as JSON can hold it: timestamps and dates as ISO text, the rest unchanged."""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def first_match(key: str, matches: Mapping[RootCause, Mapping[str, Evidence]]) -> Evidence | None:
    """The evidence of the first rule (in RULE_ORDER) that matched `key`, if any."""
    for cause in RULE_ORDER:
        found = matches.get(cause, {}).get(key)
        if found is not None:
            return found
    return None


def classify_all(
    keys: Iterable[str], matches: Mapping[RootCause, Mapping[str, Evidence]]
) -> dict[str, RootCause]:
    """Each key's class: its first matching rule, else UNEXPLAINED."""
    result = {}
    for key in keys:
        found = first_match(key, matches)
        result[key] = found.cause if found else RootCause.UNEXPLAINED
    return result


def count_by_cause(classes: Mapping[str, RootCause]) -> dict[RootCause, int]:
    """How many keys fell in each counted class, every class present (zeros included)."""
    counts = dict.fromkeys(COUNTED_CAUSES, 0)
    for cause in classes.values():
        counts[cause] += 1
    return counts


def verdict(
    matched: Evidence | None, open_mismatches: Sequence[str], missing_layers: Sequence[str]
) -> Evidence:
    """One record's class for `explain`: a matched rule wins; otherwise CONSISTENT when the
    record has no open mismatch and is in every layer it should be, else UNEXPLAINED."""
    if matched is not None:
        return matched
    if not open_mismatches and not missing_layers:
        return Evidence(
            RootCause.CONSISTENT, "in every layer it should be, with no open mismatch", {}
        )
    reasons = [f"open mismatch {m}" for m in open_mismatches]
    reasons += [f"absent from {layer}" for layer in missing_layers]
    return Evidence(
        RootCause.UNEXPLAINED,
        f"{'; '.join(reasons)}, and no rule explains it",
        {"open_mismatches": list(open_mismatches), "missing_from": list(missing_layers)},
    )


def schema_drift(live: Sequence[str], contract: Sequence[str], table: str) -> str | None:
    """A line naming the columns by which a source table differs from its contract, if any."""
    missing = [c for c in contract if c not in live]
    extra = [c for c in live if c not in contract]
    if not missing and not extra:
        return None
    parts = []
    if missing:
        parts.append(f"lacks {', '.join(missing)}")
    if extra:
        parts.append(f"has extra {', '.join(extra)}")
    return f"source schema drift: {table} {' and '.join(parts)} (contract: {', '.join(contract)})"


def source_change(
    source: Mapping[str, Any] | None,
    exported: Mapping[str, Any] | None,
    columns: Sequence[str],
    version_column: str = "updated_at",
) -> Evidence | None:
    """SOURCE_CHANGE when the source row differs from the newest version ever exported.

    `exported` is the newest exported version (greatest `version_column`, then arrival) with
    its `source_file`, `line_no` and `ingested_ts`. A newer source version, other content at
    the same version, or a row gone from the source all mean the source changed after the
    last export; a row the source never had (an orphan id) is not a source change.
    """
    if source is None and exported is None:
        return None
    if source is None:
        assert exported is not None
        return Evidence(
            RootCause.SOURCE_CHANGE,
            f"no longer in the source; last exported in {where(exported)}",
            {"exported": _pick(exported, columns)},
        )
    if exported is None:
        return Evidence(
            RootCause.SOURCE_CHANGE,
            f"in the source ({version_column} {plain(source[version_column])}) but never "
            "exported: created or changed after the last export",
            {"source": _pick(source, columns)},
        )
    differing = [c for c in columns if source.get(c) != exported.get(c)]
    if not differing:
        return None
    src_v, exp_v = source.get(version_column), exported.get(version_column)
    if src_v is not None and exp_v is not None and src_v > exp_v:
        head = f"source {version_column} {plain(src_v)} is newer than the newest exported "
        head += f"version {plain(exp_v)} ({where(exported)})"
    else:
        head = f"the source holds other content at {version_column} {plain(src_v)} than the "
        head += f"exported version ({where(exported)})"
    changes = ", ".join(
        f"{c}: {plain(exported.get(c))!r} → {plain(source.get(c))!r}"
        for c in differing
        if c != version_column
    )
    return Evidence(
        RootCause.SOURCE_CHANGE,
        f"{head}{'; ' + changes if changes else ''}",
        {"differing_columns": differing, "source": _pick(source, columns)},
    )


def where(row: Mapping[str, Any]) -> str:
    """`file:line, arrived <ts>` of a loaded row, for evidence lines."""
    return f"{row.get('source_file')}:{row.get('line_no')}, arrived {plain(row.get('ingested_ts'))}"


def _pick(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {c: plain(row.get(c)) for c in columns}
