"""What the demo's source says, in PostgreSQL SQL written independently of the platform:
the staging rules, the 60-second duplicate rule and the recognized revenue per day.

Shared by the embedded demo test (tests/e2e) and the production-profile test.
"""

RULES = {
    "amount_cents_non_negative": "amount_cents < 0",
    "currency_known": "currency not in ('USD', 'EUR', 'GBP', 'CAD')",
    "status_known": "status not in ('pending','paid','shipped','delivered','cancelled','refunded')",
    "customer_id_present": "customer_id is null",
}


def valid(alias: str = "") -> str:
    """The staging rules as a PostgreSQL predicate (optionally on a table alias)."""
    a = f"{alias}." if alias else ""
    return (
        f"{a}customer_id is not null and {a}amount_cents >= 0 "
        f"and {a}currency in ('USD', 'EUR', 'GBP', 'CAD') "
        f"and {a}status in ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')"
    )


# The 60-second rule of the manifest, written independently in PostgreSQL.
DUPLICATES = f"""
    select later.order_id from orders later join orders earlier
      on earlier.customer_id = later.customer_id and earlier.currency = later.currency
     and earlier.amount_cents = later.amount_cents
     and (earlier.created_at, earlier.order_id) < (later.created_at, later.order_id)
     and later.created_at <= earlier.created_at + interval '60 seconds'
     and {valid("earlier")} and not earlier.is_deleted
    where not later.is_deleted and {valid("later")}
"""
REVENUE = f"""
    select created_at::date, currency, count(*), sum(amount_cents)::bigint from orders
    where {valid()} and not is_deleted and status in ('paid', 'shipped', 'delivered')
      and order_id not in ({DUPLICATES})
    group by 1, 2 order by 1, 2
"""
