"""Order reconciliation: orders, payments, fulfilment and finance (dbt models + gate checks)."""
