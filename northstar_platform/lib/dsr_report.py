"""A request's report (`dsr/reports/<request_id>.json`) and, for erasures, its plan.

The report is the answer: every location (system, table, row count), the records for access
requests (lossless, `lib/dsr_serialization.py`), what could not be searched (dead letters,
tables not built yet) and, for erasure requests, the plan: the exact statements that
`northstar dsr erase <id> --confirm` would run. The plan is rebuilt from the catalog at
execution and must equal the stored one, so a report file edited by hand never runs SQL.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from northstar_platform.layers import quote_in
from northstar_platform.lib.dsr_catalog import ERASABLE_KINDS, Catalog
from northstar_platform.lib.dsr_discovery import (
    Identifier,
    SystemResult,
    batches,
    match_predicate,
)
from northstar_platform.lib.dsr_requests import DsrRequest, RequestStatus


@dataclass(frozen=True)
class PlannedStatement:
    """One anonymizing UPDATE of the erasure plan."""

    system: str
    relation: str
    columns: tuple[str, ...]
    sql: str
    params: tuple[str, ...]
    count_sql: str
    select_sql: str
    rows_found: int

    def as_dict(self) -> dict[str, Any]:
        """What the report stores."""
        return {
            "system": self.system,
            "table": self.relation,
            "set_null": list(self.columns),
            "statement": self.sql,
            "params": list(self.params),
            "rows_found": self.rows_found,
        }


Found = tuple[str, str, int]
"""(system, `schema.table`, rows found) of one location."""


def found_locations(results: Sequence[SystemResult]) -> list[Found]:
    """Every location of `results` as `Found`, in a stable order."""
    return sorted(
        (loc.system, loc.relation, loc.row_count) for r in results for loc in r.locations.values()
    )


def erasure_plan(
    catalog: Catalog,
    found: Sequence[Found],
    identifiers: Sequence[Identifier],
    marks: dict[str, str],
    batch_size: int,
) -> list[PlannedStatement]:
    """One UPDATE per (location, identifier batch) nulling the location's erasable columns
    (email, name, phone, free text); customer ids stay (see `ERASABLE_KINDS`)."""
    plan = []
    for system, relation, rows_found in sorted(found):
        schema, table = relation.split(".")
        columns = catalog.tables(system).get((schema, table), [])
        erasable = tuple(c.column for c in columns if c.kind in ERASABLE_KINDS)
        if not erasable:
            continue
        target = f"{quote_in(system, schema)}.{quote_in(system, table)}"
        sets = ", ".join(f"{quote_in(system, c)} = null" for c in erasable)
        for batch in batches(identifiers, batch_size):
            built = match_predicate(system, marks[system], columns, batch)
            if built is None:
                continue
            where, params = built
            plan.append(
                PlannedStatement(
                    system=system,
                    relation=relation,
                    columns=erasable,
                    sql=f"update {target} set {sets} where {where}",  # noqa: S608
                    params=tuple(params),
                    count_sql=f"select count(*) from {target} where {where}",  # noqa: S608
                    select_sql=f"select * from {target} where {where}",  # noqa: S608
                    rows_found=rows_found,
                )
            )
    return plan


def status_of(results: Sequence[SystemResult]) -> RequestStatus:
    """FOUND, NOT_FOUND, or DEAD_LETTERED when some lookup failed for good."""
    if any(r.dead_letters for r in results):
        return RequestStatus.DEAD_LETTERED
    if any(r.locations for r in results):
        return RequestStatus.FOUND
    return RequestStatus.NOT_FOUND


def build_report(
    *,
    request: DsrRequest,
    trace_id: str,
    subject_hash: str,
    catalog: Catalog,
    results: dict[str, SystemResult],
    identifiers: Sequence[Identifier],
    absent_tables: dict[str, list[str]],
    plan: Sequence[PlannedStatement],
    deadline: dt.datetime,
    generated_at: dt.datetime,
) -> dict[str, Any]:
    """The report document (serialize it with `lib/dsr_serialization.dumps`)."""
    locations = []
    for system, result in results.items():
        for loc in sorted(result.locations.values(), key=lambda x: x.relation):
            entry: dict[str, Any] = {"system": system, "table": loc.relation, "rows": loc.row_count}
            if request.kind == "access":
                entry["records"] = loc.records()
            locations.append(entry)
    report: dict[str, Any] = {
        "request_id": request.request_id,
        "kind": request.kind,
        "trace_id": trace_id,
        "subject_hash": subject_hash,
        "received_at": request.received_at,
        "deadline_at": deadline,
        "generated_at": generated_at,
        "status": str(status_of(list(results.values()))),
        "catalog_version": catalog.version,
        "identifiers": {
            "email": sorted(v for k, v in identifiers if k == "email"),
            "customer_id": sorted(v for k, v in identifiers if k == "customer_id"),
        },
        "locations": locations,
        "total_rows": sum(e["rows"] for e in locations),
        "dead_letters": [
            {"system": d.system, "table": d.relation, "attempts": d.attempts, "error": d.error}
            for r in results.values()
            for d in r.dead_letters
        ],
        "not_searched_absent_tables": absent_tables,
    }
    if request.kind == "erasure":
        report["erasure_plan"] = [p.as_dict() for p in plan]
    return report
