"""The demo's ground-truth manifest (DESIGN §9): what the platform should find, and where.

`DEFECTS` is the one catalogue of detector keys (`<table>:<class>`) with a one-line meaning;
the generator's module docstring explains each in full. Every key is always present in a
manifest, with `expected` 0 when a small configuration leaves no room for that defect, so the
demo's summary can list every class.
"""

import json
from pathlib import Path
from typing import Any

from northstar_platform.errors import NorthstarError

DEFECTS: dict[str, str] = {
    "quarantine:orders:amount_cents_non_negative": "order rows with amount_cents < 0",
    "quarantine:orders:currency_known": "order rows whose currency is not USD, EUR, GBP or CAD",
    "quarantine:orders:status_known": "order rows whose status is not one of the six allowed",
    "quarantine:orders:customer_id_present": "order rows with a NULL customer_id",
    "referential:orders:customer_id_exists": "valid orders whose customer_id is not in customers",
    "audit_order_mismatches:DUPLICATE_ORDER": (
        "extra order rows: same customer, currency and amount created <= 60 s after another"
    ),
    "audit_order_mismatches:MISSING_PAYMENT": "paid orders with no Stripe event at all",
    "audit_order_mismatches:ORPHAN_PAYMENT": "order ids in Stripe events that no order has",
    "audit_order_mismatches:AMOUNT_MISMATCH": "orders whose Stripe amount differs from the order",
    "audit_order_mismatches:CURRENCY_MISMATCH": "orders whose Stripe currency differs",
    "audit_order_mismatches:STATUS_CONFLICT": (
        "orders shipped in WMS although payment failed, was refunded, or the order is cancelled"
    ),
    "audit_order_mismatches:MISSING_SHIPMENT": (
        "shipped orders with no WMS row 24 h after shipping (before the last day's end)"
    ),
    "audit_order_mismatches:ORPHAN_SHIPMENT": "order ids in WMS rows that no order has",
    "duplicates:stripe:event_id": "extra copies of Stripe events (webhook retries, same id)",
    "quarantine:stripe:json_parses": "Stripe lines that are not valid JSON (cut off)",
    "quarantine:stripe:id_present": "Stripe lines that parse but have no event id",
    "late_files:stripe": "Stripe files landed by the late wave into an earlier day",
    "quarantine:wms:column_count_matches": "WMS rows with 5 instead of 6 columns",
    "quarantine:wms:quantity_integer": "WMS rows whose quantity is not an integer",
    "quarantine:wms:event_ts_parses": "WMS rows whose event_ts is not a valid timestamp",
    "quarantine:wms:row_complete": "cut-off last line of a partial WMS file (no newline)",
    "quarantine:wms:header_matches": "WMS files with a wrong header (one record per file)",
    "duplicates:wms:shipment_event": "WMS rows re-sent in a renamed file (shipment_id, event_ts)",
    "late_files:wms": "WMS files landed by the late wave into an earlier day",
    "audit_revenue_variance:VARIANCE": "finance (date, currency) rows 1% off the orders' revenue",
    "audit_preference_mismatches:MISSING_IN_PRIVACY": "pairs only the core system knows",
    "audit_preference_mismatches:MISSING_IN_CORE": "pairs the core system has no row for",
    "audit_preference_mismatches:STATE_DIFF": "pairs whose expected and core states differ",
    "audit_preference_mismatches:STALE_IN_CORE": "same state, core older than expected",
    "remediation_core_updates:ROWS": (
        "STATE_DIFF + STALE_IN_CORE + MISSING_IN_CORE whose expected state is OPT_OUT"
    ),
    "dsr_requests:SUBJECT_NOT_FOUND": "data-subject requests that match no customer",
}

QUARANTINE_RATE_CHECK = "stg_orders.quarantine_rate_within_threshold"
WMS_QUARANTINE_RATE_CHECK = "stg_wms_shipments.quarantine_rate_within_threshold"
SOURCE_KEYS = (
    "orders",
    "customers",
    "core_preferences",
    "stripe_lines",
    "stripe_files",
    "wms_rows",
    "wms_files",
    "finance_rows",
    "privacy_events",
    "dsr_requests",
    "late_files",
)


def build_manifest(
    config: dict[str, Any],
    partitions: list[str],
    sources: dict[str, int],
    expected: dict[str, int],
    checks: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """Assemble the manifest; refuses unknown or missing keys so the catalogue stays exact."""
    if set(expected) != set(DEFECTS):
        raise ValueError(f"defect keys differ from the catalogue: {set(expected) ^ set(DEFECTS)}")
    if set(sources) != set(SOURCE_KEYS):
        raise ValueError(f"source keys differ: {set(sources) ^ set(SOURCE_KEYS)}")
    return {
        "config": config,
        "partitions": partitions,
        "sources": {key: sources[key] for key in SOURCE_KEYS},
        "defects": {
            key: {"expected": expected[key], "description": text} for key, text in DEFECTS.items()
        },
        "checks": checks,
    }


def manifest_path(home: Path) -> Path:
    """Where the manifest lives under the Northstar home."""
    return home / "demo" / "manifest.json"


def write_manifest(home: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically (a reader never sees half of it)."""
    path = manifest_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def load_manifest(home: Path) -> dict[str, Any]:
    """The manifest of the last generation under `home`."""
    path = manifest_path(home)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NorthstarError(
            f"no demo manifest at {path}; run `northstar demo generate` first"
        ) from None
    except json.JSONDecodeError as exc:
        raise NorthstarError(
            f"demo manifest {path} is not valid JSON ({exc.msg} at line {exc.lineno}); "
            "run `northstar demo generate` again"
        ) from None
