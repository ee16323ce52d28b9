"""The `customers` table of the demo's PostgreSQL source.

Names are drawn from neutral lists and e-mail addresses use the reserved `example.com`
domain, so the demo's PII is obviously synthetic; ids are `cus_NNNNNN`, so an id beyond the
last one is guaranteed unknown (the referential-integrity defect uses that).
"""

import datetime as dt
import random
from dataclasses import dataclass

from northstar_platform.demo.records import DemoDays, seconds

FIRST_NAMES = (
    "Avery Blake Casey Devon Emery Finley Harper Jordan Kendall Logan Morgan Parker Quinn "
    "Reese Rowan Sawyer Skyler Taylor Drew Elliot"
).split()
LAST_NAMES = (
    "Abbott Brennan Castillo Dalton Ellison Foster Garrison Hale Ingram Jensen Keller Lowell "
    "Mercer Nolan O'Neill Prescott Ramsey Sutton Thorne Whitaker"
).split()


@dataclass(frozen=True)
class Customer:
    """A row of `customers`."""

    customer_id: str
    email: str
    full_name: str
    phone: str
    created_at: dt.datetime
    updated_at: dt.datetime


def build_customers(rng: random.Random, count: int, days: DemoDays) -> list[Customer]:
    """`count` customers who all signed up (and last changed) before the first day."""
    customers = []
    for n in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = days.begin(0) - dt.timedelta(
            days=rng.randint(2, 720), seconds=rng.randint(0, 86399)
        )
        updated = min(created + dt.timedelta(days=rng.randint(0, 60)), days.begin(0) - seconds(1))
        handle = f"{first}.{last}".lower().replace("'", "")
        customers.append(
            Customer(
                customer_id=f"cus_{n:06d}",
                email=f"{handle}{n}@example.com",
                full_name=f"{first} {last}",
                phone=f"+1555{rng.randint(0, 9999999):07d}",
                created_at=created,
                updated_at=updated,
            )
        )
    return customers
