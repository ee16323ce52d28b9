"""What a trace is made of: steps (one table's rows for the record), the runs they name, and
the trace as a whole with its verdict, in a form that prints and serializes the same way."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from northstar_platform.layers import PIPELINE_RUN_LOG, Table, quote
from northstar_platform.lib.root_cause import Evidence, plain
from northstar_platform.resources.warehouse import WarehouseSession

RUN_ID_COLUMNS = ("run_id", "first_seen_run_id", "last_seen_run_id", "cleared_run_id")
"""Columns of traced rows that name a Dagster run, joined to `ops.pipeline_run_log`."""

RUN_LOG_COLUMNS = ("run_id", "job_name", "status", "ended_at", "code_version")


@dataclass
class Step:
    """One table's rows for the traced record (none: it is not there)."""

    layer: str
    table: str
    rows: list[dict[str, Any]]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "layer": self.layer,
            "table": self.table,
            "note": self.note,
            "rows": [{k: plain(v) for k, v in row.items()} for row in self.rows],
        }


@dataclass
class Trace:
    """One record through every layer, the runs involved, and its class."""

    entity: str
    key: str
    steps: list[Step]
    verdict: Evidence
    order_id: str | None = None
    runs: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether any layer holds the record."""
        return any(step.rows for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (`northstar explain --json`)."""
        return {
            "entity": self.entity,
            "key": self.key,
            "order_id": self.order_id,
            "steps": [s.to_dict() for s in self.steps],
            "runs": {
                run: None if info is None else {k: plain(v) for k, v in info.items()}
                for run, info in self.runs.items()
            },
            "classification": self.verdict.to_dict(),
        }


def exists(session: WarehouseSession, table: Table) -> bool:
    """Whether a relation exists yet."""
    return session.table_exists(table.schema, table.name)


def select_rows(
    session: WarehouseSession,
    layer: str,
    table: Table,
    where: str,
    params: Sequence[Any],
    order_by: str = "",
) -> Step:
    """A step with every row of `table` matching `where` (`?` parameters); a table that does
    not exist yet gives an empty step that says so."""
    label = f"{table.layer.value}.{table.name}"
    if not exists(session, table):
        return Step(layer, label, [], "table does not exist yet")
    order = f" order by {order_by}" if order_by else ""
    sql = f"select * from {table.qualified} where {where}{order}"  # noqa: S608
    return Step(layer, label, session.fetch_arrow(sql, params).to_pylist())


def runs_of(session: WarehouseSession, steps: Sequence[Step]) -> dict[str, dict[str, Any] | None]:
    """Every run the steps name, with its run-log row (None: the run is not in the log)."""
    ids = sorted(
        {str(r[c]) for s in steps for r in s.rows for c in RUN_ID_COLUMNS if r.get(c) is not None}
    )
    if not ids:
        return {}
    found: dict[str, dict[str, Any] | None] = dict.fromkeys(ids)
    if exists(session, PIPELINE_RUN_LOG):
        cols = ", ".join(quote(c) for c in RUN_LOG_COLUMNS)
        marks = ", ".join("?" for _ in ids)
        rows = session.fetch_arrow(
            f"select {cols} from {PIPELINE_RUN_LOG.qualified} where run_id in ({marks})",  # noqa: S608
            ids,
        ).to_pylist()
        for row in rows:
            found[row["run_id"]] = row
    return found
