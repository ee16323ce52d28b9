"""Blocking checks that say which business dates' marts were withheld, and why.

The dbt model `audit_publication_gates` decides per date (the marts only publish passing
dates); each gate is also a Dagster check on the audit asset it is about, so the UI, the run
status and `northstar materialize` show a withheld date with its observed value and threshold.
"""

import dagster as dg

from asset_checks import build_check_suite
from asset_checks.publication import publication_gate

AUDIT_ORDER_MISMATCHES = dg.AssetKey(["audit", "audit_order_mismatches"])
AUDIT_REVENUE_VARIANCE = dg.AssetKey(["audit", "audit_revenue_variance"])

RECONCILIATION_CHECKS = [
    build_check_suite(
        "order_reconciliation_checks",
        [
            publication_gate(
                AUDIT_ORDER_MISMATCHES,
                name="duplicate_order_rate_below_limit",
                gate="duplicate_order_rate",
                description="Open DUPLICATE_ORDER / live orders < 0.1% per business date "
                "(dbt var duplicate_rate_limit); a date above it is not published.",
            ),
            publication_gate(
                AUDIT_ORDER_MISMATCHES,
                name="references_known_orders_and_customers",
                gate="referential_integrity",
                description="Orphan payments and shipments plus orders of unknown customers "
                "<= 1% of a date's live orders (dbt var referential_violation_limit).",
            ),
            publication_gate(
                AUDIT_ORDER_MISMATCHES,
                name="mismatch_count_within_baseline",
                gate="mismatch_spike",
                description="Open mismatches of a date <= the trailing 14-date median + 20% "
                "(or fewer than 20 above it); no history passes.",
            ),
            publication_gate(
                AUDIT_REVENUE_VARIANCE,
                name="revenue_variance_within_limit",
                gate="revenue_variance",
                description="|marts - finance| / finance <= 0.05% for every currency of a "
                "date (dbt var revenue_variance_limit); a date above it is not published.",
            ),
        ],
        partitions_def=None,
        required_resource_keys={"warehouse"},
    )
]
