"""SOURCE_CHANGE: the source row differs from what was last exported (DESIGN §6).

Two reads per set of orders, whatever its size: the newest exported version of each order
from the warehouse (raw or staging), and the orders' rows from the source PostgreSQL, after a
check of the source table's columns against the contract.
"""

from typing import Any

from northstar_platform.explain.steps import exists
from northstar_platform.explain.subject import SourceFetch, Subject
from northstar_platform.layers import ORDER_COLUMNS, RAW_ORDERS, STG_ORDERS, quote, quote_source
from northstar_platform.lib.root_cause import Evidence, RootCause, schema_drift, source_change
from northstar_platform.resources.warehouse import WarehouseSession

SOURCE_ORDERS = ("public", "orders")
"""The source table the order export reads (`defs/orders/assets.py`)."""

EXPORTED_COLUMNS = [c.name for c in ORDER_COLUMNS]


def _select_source_orders() -> str:
    columns = ", ".join(
        f"{quote_source(c.name)}::timestamp as {quote_source(c.name)}"
        if c.sql_type == "TIMESTAMP"
        else quote_source(c.name)
        for c in ORDER_COLUMNS
    )
    schema, table = SOURCE_ORDERS
    return f"select {columns} from {quote_source(schema)}.{quote_source(table)}"  # noqa: S608


SELECT_SOURCE_ORDERS = _select_source_orders()
"""The exported columns of the source's orders (timestamps without a time zone, as exported);
append the `where` (PostgreSQL placeholders)."""


def newest_exported(session: WarehouseSession, subject: Subject) -> dict[str, dict[str, Any]]:
    """The newest version of each order ever exported (raw or staging), with its file and line."""
    cols = ", ".join(quote(c) for c in [*EXPORTED_COLUMNS, "source_file", "line_no", "ingested_ts"])
    parts = [
        f"select {cols} from {t.qualified} where updated_at is not null "  # noqa: S608
        "and order_id in (select order_id from subject)"
        for t in (RAW_ORDERS, STG_ORDERS)
        if exists(session, t)
    ]
    if not parts:
        return {}
    sql = (
        f"with subject as ({subject.sql}), versions as ({' union all '.join(parts)}), "  # noqa: S608
        "ranked as (select v.*, row_number() over (partition by order_id order by updated_at "
        "desc, ingested_ts desc, source_file desc, line_no desc) as rn from versions v) "
        f"select {cols} from ranked where rn = 1"
    )
    return {row["order_id"]: row for row in session.fetch_arrow(sql, subject.params).to_pylist()}


def source_changes(
    session: WarehouseSession, subject: Subject, source: SourceFetch
) -> dict[str, Evidence]:
    """SOURCE_CHANGE: the source row differs from the newest exported version, or the source
    table's columns drifted from the contract (then every order of the subject: its export
    can no longer be trusted)."""
    ids = [
        str(r[0])
        for r in session.fetchall(
            f"with subject as ({subject.sql}) select distinct order_id from subject "  # noqa: S608
            "where order_id is not null",
            subject.params,
        )
    ]
    if not ids:
        return {}
    schema, table = SOURCE_ORDERS
    live = [
        str(r[0])
        for r in source(
            "select column_name from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        )
    ]
    drift = schema_drift(live, EXPORTED_COLUMNS, f"{schema}.{table}")
    if drift:
        return {i: Evidence(RootCause.SOURCE_CHANGE, drift, {"live_columns": live}) for i in ids}
    rows = source(f"{SELECT_SOURCE_ORDERS} where order_id = any(%s) order by updated_at", (ids,))
    in_source = {str(r[0]): dict(zip(EXPORTED_COLUMNS, r, strict=True)) for r in rows}
    exported = newest_exported(session, subject)
    found = {}
    for order_id in ids:
        evidence = source_change(in_source.get(order_id), exported.get(order_id), EXPORTED_COLUMNS)
        if evidence is not None:
            found[order_id] = evidence
    return found
