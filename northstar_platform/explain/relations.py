"""The warehouse relations `explain` and the root-cause rules read that dbt owns.

Their columns are declared in the models' yml (`dbt/models/**`); Python only reads them, so
they are named here once (no contract columns) and quoted through `layers.py`.
"""

from northstar_platform.layers import Layer, Table

ORDERS_LATEST = Table(Layer.CURATED, "orders_latest", ())
PAYMENTS_LATEST = Table(Layer.CURATED, "payments_latest", ())
SHIPMENTS_LATEST = Table(Layer.CURATED, "shipments_latest", ())
PRIVACY_LATEST = Table(Layer.CURATED, "privacy_latest", ())
CORE_LATEST = Table(Layer.CURATED, "core_latest", ())
AUDIT_ORDER_MISMATCHES = Table(Layer.AUDIT, "audit_order_mismatches", ())
AUDIT_PUBLICATION_GATES = Table(Layer.AUDIT, "audit_publication_gates", ())
FCT_ORDERS = Table(Layer.MARTS, "fct_orders", ())
FCT_FULFILLMENT = Table(Layer.MARTS, "fct_fulfillment", ())

AUDIT_ORDER_ASSET = "audit/audit_order_mismatches"
"""How the run log names the order audit among a run's materialized assets (`rows_written`)."""
AUDIT_PREFERENCE_ASSET = "audit/audit_preference_mismatches"
