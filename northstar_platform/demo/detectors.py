"""What the platform detected, per manifest detector key (`<table>:<class>` or
`quarantine:<source>:<rule>`), read from the warehouse after a run.

A key whose detector is not built yet returns None, and the summary shows it as "not yet
detected" — never as a match (DESIGN §9).
"""

from collections.abc import Callable

from northstar_platform.layers import (
    AUDIT_PREFERENCE_MISMATCHES,
    CUSTOMERS_LATEST_KEYS,
    DSR_REQUESTS,
    ORDER_MISMATCH_CLASSES,
    PREFERENCE_MISMATCH_CLASSES,
    REMEDIATION_CORE_UPDATES,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    Layer,
    Table,
    qualified,
    quarantine_view,
    schema_of,
)
from northstar_platform.resources.warehouse import WarehouseSession

BUILT_QUARANTINE_SOURCES = {"orders", "stripe", "wms", "finance"}
BUILT_AUDIT_CLASSES = {
    "audit_order_mismatches": set(ORDER_MISMATCH_CLASSES),
    "audit_preference_mismatches": set(PREFERENCE_MISMATCH_CLASSES),
}


def _count(session: WarehouseSession, sql: str, params: tuple[str, ...]) -> int:
    row = session.fetchone(sql, params)
    return int(row[0]) if row else 0


def _if_built(layer: Layer, *tables: str) -> Callable[..., Callable[[WarehouseSession], int]]:
    """0 instead of an error when a run failed before creating one of `tables`."""

    def wrap(detector: Callable[[WarehouseSession], int]) -> Callable[[WarehouseSession], int]:
        def guarded(session: WarehouseSession) -> int:
            if not all(session.table_exists(schema_of(layer, t), t) for t in tables):
                return 0
            return detector(session)

        return guarded

    return wrap


def _quarantine(source: str, rule: str) -> Callable[[WarehouseSession], int]:
    sql = f"select count(*) from {quarantine_view()} where source = ? and rule = ?"  # noqa: S608
    return lambda session: _count(session, sql, (source, rule))


def _preference_audit(mismatch_type: str) -> Callable[[WarehouseSession], int]:
    """Rows of the latest reconciliation date (the manifest reconciles the last demo day)."""
    sql = (
        f"select count(*) from {AUDIT_PREFERENCE_MISMATCHES.qualified} where mismatch_type = ? "  # noqa: S608
        f"and recon_date = (select max(recon_date) from {AUDIT_PREFERENCE_MISMATCHES.qualified})"
    )
    return _if_built(Layer.AUDIT, "audit_preference_mismatches")(
        lambda session: _count(session, sql, (mismatch_type,))
    )


@_if_built(Layer.REMEDIATION, "remediation_core_updates")
def _remediation_rows(session: WarehouseSession) -> int:
    sql = (
        f"select count(*) from {REMEDIATION_CORE_UPDATES.qualified} "  # noqa: S608
        f"where recon_date = (select max(recon_date) from {REMEDIATION_CORE_UPDATES.qualified})"
    )
    return _count(session, sql, ())


def _audit(mismatch_type: str) -> Callable[[WarehouseSession], int]:
    """Open findings only: a cleared row (e.g. a payment that arrived late) is history."""
    sql = (
        f"select count(*) from {qualified(Layer.AUDIT, 'audit_order_mismatches')} "  # noqa: S608
        "where mismatch_type = ? and not is_cleared"
    )
    return _if_built(Layer.AUDIT, "audit_order_mismatches")(
        lambda session: _count(session, sql, (mismatch_type,))
    )


@_if_built(Layer.AUDIT, "audit_revenue_variance")
def _variance(session: WarehouseSession) -> int:
    variance = qualified(Layer.AUDIT, "audit_revenue_variance")
    sql = f"select count(*) from {variance} where status = 'OVER_LIMIT'"  # noqa: S608
    return _count(session, sql, ())


@_if_built(Layer.CURATED, "orders_latest", "customers_latest")
def _unknown_customers(session: WarehouseSession) -> int:
    sql = (
        f"select count(*) from {qualified(Layer.CURATED, 'orders_latest')} "  # noqa: S608
        "where not is_deleted and customer_id not in "
        f"(select customer_id from {CUSTOMERS_LATEST_KEYS.qualified})"
    )
    return _count(session, sql, ())


def _collapsed(table: Table) -> Callable[[WarehouseSession], int]:
    def count(session: WarehouseSession) -> int:
        if not session.table_exists(table.schema, table.name):
            return 0
        return _count(session, f"select coalesce(sum(copies - 1), 0) from {table.qualified}", ())  # noqa: S608

    return count


@_if_built(Layer.OPS, DSR_REQUESTS.name)
def _dsr_not_found(session: WarehouseSession) -> int:
    """Requests whose discovery found the subject nowhere (status NOT_FOUND)."""
    sql = f"select count(*) from {DSR_REQUESTS.qualified} where status = 'NOT_FOUND'"  # noqa: S608
    return _count(session, sql, ())


BY_KEY = {
    "duplicates:stripe:event_id": _collapsed(STG_STRIPE_EVENTS),
    "duplicates:wms:shipment_event": _collapsed(STG_WMS_SHIPMENTS),
    "audit_revenue_variance:VARIANCE": _variance,
    "referential:orders:customer_id_exists": _unknown_customers,
    "remediation_core_updates:ROWS": _remediation_rows,
    "dsr_requests:SUBJECT_NOT_FOUND": _dsr_not_found,
}


def detector_for(key: str) -> Callable[[WarehouseSession], int] | None:
    """The counting function for one manifest key, or None when it is not built yet."""
    if key in BY_KEY:
        return BY_KEY[key]
    parts = key.split(":")
    if len(parts) == 3 and parts[0] == "quarantine" and parts[1] in BUILT_QUARANTINE_SOURCES:
        return _quarantine(parts[1], parts[2])
    if len(parts) == 2 and parts[1] in BUILT_AUDIT_CLASSES.get(parts[0], set()):
        if parts[0] == "audit_preference_mismatches":
            return _preference_audit(parts[1])
        return _audit(parts[1])
    return None


def detect(session: WarehouseSession, keys: list[str]) -> dict[str, int | None]:
    """Detected count per key (None = detector not built yet)."""
    found: dict[str, int | None] = {}
    for key in keys:
        detector = detector_for(key)
        found[key] = detector(session) if detector else None
    return found
