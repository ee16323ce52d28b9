"""Cut the stable BI views over to the shadow build's marts, and roll them back (seed 004
Phase 4, DESIGN §6).

The three views dashboards query (`bi.fct_orders`, `bi.fct_daily_revenue`,
`bi.fct_fulfillment`) are repointed all together or not at all: the routing rows, the three
`create or replace view` statements and the `ops.audit_corrections` row share one
transaction. The routing lives in `ops.bi_view_routing`, which the bi dbt models read
(macro `bi_routed_ref`), so a later production dbt build keeps the views where the last
cutover or rollback put them.

Snowflake commits a transaction at every DDL statement, so there a failure part-way cannot be
rolled back: the views already repointed are repointed back to where they were (best effort)
before the error is raised.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import (
    AUDIT_CORRECTIONS,
    BI_SCHEMA,
    BI_VIEW_ROUTING,
    Layer,
    quote,
    shadow_schema,
)
from northstar_platform.lib.corrections import Correction, CorrectionKind, record_correction
from northstar_platform.lib.fingerprints import fingerprint
from northstar_platform.parity import latest_report
from northstar_platform.resources.warehouse import DuckDBSession, WarehouseSession

BI_VIEWS = ("fct_orders", "fct_daily_revenue", "fct_fulfillment")
"""The stable views, each named as the marts table it reads (dbt/models/bi)."""

PRODUCTION_MARTS = Layer.MARTS.value
SHADOW_MARTS = shadow_schema(Layer.MARTS)


class CutoverRefusedError(NorthstarError):
    """A cutover or rollback that must not happen (no passing parity report, missing marts)."""


@dataclass(frozen=True)
class Repointed:
    """What a cutover or rollback did: where the views pointed before and after."""

    kind: CorrectionKind
    before: dict[str, str]
    after: str
    correction_id: str
    report_id: str | None


def routing(session: WarehouseSession) -> dict[str, str]:
    """View → the schema it reads now (`marts` without a routing row)."""
    current = dict.fromkeys(BI_VIEWS, PRODUCTION_MARTS)
    if session.table_exists(BI_VIEW_ROUTING.layer.value, BI_VIEW_ROUTING.name):
        rows = session.fetchall(
            f"select view_name, source_schema from {BI_VIEW_ROUTING.qualified}"  # noqa: S608
        )
        current.update({str(v): str(s) for v, s in rows if v in current})
    return current


def view_ddl(view: str, source_schema: str) -> str:
    """The view as the bi model defines it (`select *` from its marts table)."""
    return (
        f"create or replace view {quote(BI_SCHEMA)}.{quote(view)} as "  # noqa: S608
        f"select * from {quote(source_schema)}.{quote(view)}"
    )


def cutover(session: WarehouseSession, changed_by: str) -> Repointed | None:
    """Repoint the views to the shadow marts, if the latest parity report passed; None when
    they already read the shadow marts."""
    latest = latest_report(session)
    if latest is None:
        raise CutoverRefusedError("no parity report yet: run `northstar parity` first")
    report_id, failed = latest.report_id, latest.failed_tables
    if failed:
        raise CutoverRefusedError(
            f"the latest parity report {report_id} failed on {', '.join(failed)}: "
            "fix the shadow build and run `northstar parity` again"
        )
    before = routing(session)
    if all(schema == SHADOW_MARTS for schema in before.values()):
        return None
    return _repoint(session, CorrectionKind.CUTOVER, before, SHADOW_MARTS, changed_by, report_id)


def rollback(session: WarehouseSession, changed_by: str) -> Repointed | None:
    """Point the views back at production's marts; None when nothing is cut over."""
    before = routing(session)
    if all(schema == PRODUCTION_MARTS for schema in before.values()):
        return None
    latest = latest_report(session)
    report_id = latest.report_id if latest else None
    return _repoint(
        session, CorrectionKind.ROLLBACK, before, PRODUCTION_MARTS, changed_by, report_id
    )


def _repoint(
    session: WarehouseSession,
    kind: CorrectionKind,
    before: Mapping[str, str],
    target: str,
    changed_by: str,
    report_id: str | None,
) -> Repointed:
    missing = [f"{target}.{v}" for v in BI_VIEWS if not session.table_exists(target, v)]
    if missing:
        raise CutoverRefusedError(
            f"cannot point the BI views at {target}: {', '.join(missing)} does not exist"
        )
    outputs = [fingerprint(session, target, v) for v in BI_VIEWS]
    inputs, gone = [], []
    for view in BI_VIEWS:  # a rollback must work even when the shadow marts are gone
        try:
            inputs.append(fingerprint(session, before[view], view))
        except LookupError:
            gone.append(f"{before[view]}.{view}")
    note = f"bi views {', '.join(BI_VIEWS)} -> {target}; parity report {report_id or 'none'}"
    if gone:
        note += f"; previous source no longer exists: {', '.join(gone)}"
    correction = Correction(
        kind=kind,
        asset_key=",".join(f"{BI_SCHEMA}/{v}" for v in BI_VIEWS),
        partition_key=None,
        run_id=None,
        trigger=f"person:{changed_by}",
        inputs=inputs,
        outputs=outputs,
        note=note,
    )
    # DDL before the transaction: Snowflake would commit the open transaction at each one.
    session.execute(f"create schema if not exists {quote(BI_SCHEMA)}")
    session.ensure_table(BI_VIEW_ROUTING)
    session.ensure_table(AUDIT_CORRECTIONS)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        with session.transaction():
            correction_id = record_correction(session, correction, now=now)
            names = ", ".join("?" for _ in BI_VIEWS)
            session.execute(
                f"delete from {BI_VIEW_ROUTING.qualified} where view_name in ({names})",  # noqa: S608
                BI_VIEWS,
            )
            session.insert_arrow(
                BI_VIEW_ROUTING, _routing_rows(target, now, changed_by, correction_id)
            )
            for view in BI_VIEWS:
                session.execute(view_ddl(view, target))
    except Exception:
        if not isinstance(session, DuckDBSession):  # DDL committed as it went: undo it
            for view in BI_VIEWS:
                session.execute(view_ddl(view, before[view]))
        raise
    return Repointed(kind, dict(before), target, correction_id, report_id)


def _routing_rows(target: str, now: dt.datetime, by: str, correction_id: str) -> pa.Table:
    n = len(BI_VIEWS)
    return pa.table(
        {
            "view_name": list(BI_VIEWS),
            "source_schema": [target] * n,
            "changed_at": pa.array([now] * n, pa.timestamp("us")),
            "changed_by": [by] * n,
            "correction_id": [correction_id] * n,
        }
    )
