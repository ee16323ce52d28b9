"""The orders contract's validation rules and dedup key (DESIGN §4, demo manifest keys)."""

import pandera.polars as pa

from northstar_platform.lib.validation import RowRule

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled", "refunded")
CURRENCIES = ("USD", "EUR", "GBP", "CAD")

ORDER_DEDUP_KEY = ("order_id", "updated_at")
"""One version of one order: the same (order_id, updated_at) landed twice is a duplicate."""

ORDER_RULES = [
    RowRule("order_id_present", "order_id", "a non-null order_id"),
    RowRule("updated_at_present", "updated_at", "a non-null updated_at timestamp"),
    RowRule("created_at_present", "created_at", "a non-null created_at timestamp"),
    RowRule("customer_id_present", "customer_id", "a non-null customer_id"),
    RowRule("amount_cents_non_negative", "amount_cents", "a non-null integer amount"),
    RowRule("currency_known", "currency", "a non-null currency code"),
    RowRule("status_known", "status", "a non-null status"),
    RowRule(
        "amount_cents_non_negative",
        "amount_cents",
        "an integer amount in minor units >= 0",
        pa.Check.ge(0),
    ),
    RowRule(
        "currency_known",
        "currency",
        f"an upper-case ISO code in {', '.join(CURRENCIES)}",
        pa.Check.isin(CURRENCIES),
    ),
    RowRule(
        "status_known",
        "status",
        f"one of {', '.join(ORDER_STATUSES)}",
        pa.Check.isin(ORDER_STATUSES),
    ),
]
"""Rules in the order a row's first broken rule is reported."""
