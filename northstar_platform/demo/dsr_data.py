"""A handful of data-subject requests (`dsr/requests/<request_id>.json`).

They are chosen to make the DSR discovery earn its keep: one subject has an order that staging
quarantines (so their PII sits in `quarantine_records.payload` too), one has preference
records, one is known only by customer id, and one matches nobody at all.
"""

import json
import random
from dataclasses import dataclass, field
from typing import Any

from northstar_platform.demo.customers_data import Customer
from northstar_platform.demo.orders_data import Order
from northstar_platform.demo.records import DemoDays, iso_z


@dataclass
class DsrFiles:
    """Rendered request files and the counts the manifest needs."""

    files: dict[str, bytes] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def build_dsr(
    rng: random.Random,
    days: DemoDays,
    customers: list[Customer],
    orders: list[Order],
    preference_keys: set[str],
) -> DsrFiles:
    """Five requests, received on normal days, mixing access and erasure."""
    by_id = {c.customer_id: c for c in customers}
    quarantined = sorted(
        {
            o.customer_id
            for o in orders
            if o.rule == "amount_cents_non_negative" and o.customer_id in by_id
        }
    )
    with_prefs = sorted(k for k in preference_keys if k in by_id)
    anyone = sorted(by_id)
    subjects: list[tuple[str, dict[str, Any]]] = []
    pick = by_id[rng.choice(quarantined or anyone)]
    subjects.append(("erasure", {"email": pick.email, "customer_id": pick.customer_id}))
    pick = by_id[rng.choice(with_prefs or anyone)]
    subjects.append(("access", {"email": pick.email}))
    subjects.append(("access", {"customer_id": rng.choice(anyone)}))
    pick = by_id[rng.choice(anyone)]
    subjects.append(("access", {"email": pick.email, "customer_id": pick.customer_id}))
    subjects.append(("erasure", {"email": f"nobody.{rng.randint(1000, 9999)}@example.org"}))

    out = DsrFiles(counts={"dsr_requests:SUBJECT_NOT_FOUND": 1})
    for n, (kind, subject) in enumerate(subjects, start=1):
        received = days.random_instant(rng, days.normal_days[(n - 1) % len(days.normal_days)])
        request_id = f"dsr-{received:%Y%m%d}-{n:03d}"
        body = {
            "request_id": request_id,
            "kind": kind,
            "subject": subject,
            "received_at": iso_z(received),
        }
        out.files[f"dsr/requests/{request_id}.json"] = (json.dumps(body, indent=2) + "\n").encode()
    return out
