"""Stripe webhook lines for tests: a succeeded charge, as Stripe delivers one event per line."""

import datetime as dt
import json


def epoch(moment: dt.datetime) -> int:
    """A naive UTC datetime as Stripe's `created` (Unix seconds)."""
    return int(moment.replace(tzinfo=dt.UTC).timestamp())


def charge_succeeded(
    event_id: str, *, charge_id: str, order_id: str, amount: int, created: int
) -> str:
    """One `charge.succeeded` event (USD) as a JSON line, without its line end."""
    charge = {
        "id": charge_id,
        "amount": amount,
        "currency": "usd",
        "status": "succeeded",
        "metadata": {"order_id": order_id},
    }
    return json.dumps(
        {"id": event_id, "type": "charge.succeeded", "created": created, "data": {"object": charge}}
    )
