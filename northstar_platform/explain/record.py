"""Which trace an entity gets, and the one clear line when a record is in no layer."""

from northstar_platform.errors import NorthstarError
from northstar_platform.explain.entities import trace_payment, trace_shipment
from northstar_platform.explain.orders import trace_order
from northstar_platform.explain.preferences import trace_preference
from northstar_platform.explain.steps import Trace
from northstar_platform.explain.subject import SourceFetch
from northstar_platform.resources.warehouse import WarehouseSession

ENTITIES = {
    "order": ("ORDER_ID",),
    "payment": ("ORDER_ID or STRIPE_EVENT_ID",),
    "shipment": ("SHIPMENT_ID",),
    "preference": ("CUSTOMER_KEY", "CHANNEL"),
}
"""Each entity and the ids it is named by."""

LAYERS = {
    "order": "the source, landing, raw, staging, quarantine, latest state, audit or marts",
    "payment": "landing, raw, staging, quarantine, latest state, audit or marts",
    "shipment": "landing, raw, staging, quarantine, latest state, audit or marts",
    "preference": "landing, raw, staging, quarantine, latest state, audit or remediation",
}


class RecordNotFoundError(NorthstarError):
    """The record is in no layer (exit code 2)."""


def check_ids(entity: str, ids: tuple[str, ...]) -> None:
    """One line naming what the entity expects when the ids do not fit it."""
    expected = ENTITIES[entity]
    if len(ids) != len(expected):
        raise NorthstarError(
            f"`northstar explain {entity}` takes {' '.join(expected)}; got {len(ids)} "
            f"argument(s): {' '.join(ids) or '(none)'}"
        )


def explain(
    session: WarehouseSession,
    entity: str,
    ids: tuple[str, ...],
    source: SourceFetch | None,
    source_error: str | None,
) -> Trace:
    """The trace of one record; RecordNotFoundError when no layer holds it."""
    check_ids(entity, ids)
    key = ids[0]
    trace: Trace | None
    if entity == "order":
        trace = trace_order(session, "order", key, key, [], source, source_error)
    elif entity == "payment":
        trace = trace_payment(session, key, source, source_error)
    elif entity == "shipment":
        trace = trace_shipment(session, key, source, source_error)
    else:
        trace = trace_preference(session, ids[0], ids[1])
    if trace is None or not trace.found:
        unchecked = f" (source not checked: {source_error})" if source_error else ""
        raise RecordNotFoundError(
            f"{entity} {' '.join(ids)} is in no layer: not in {LAYERS[entity]}{unchecked}"
        )
    return trace
