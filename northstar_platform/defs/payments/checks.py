"""Stripe checks: every delivered line is accounted for, the 1% quarantine gate, the volume."""

from northstar_platform.defs.line_source_checks import build_line_source_checks
from northstar_platform.defs.payments.assets import stripe_files
from northstar_platform.layers import QUARANTINE_STRIPE, RAW_STRIPE_EVENTS, STG_STRIPE_EVENTS

STRIPE_CHECKS = build_line_source_checks(
    source="Stripe",
    raw=RAW_STRIPE_EVENTS,
    staged=STG_STRIPE_EVENTS,
    held=QUARANTINE_STRIPE,
    key="event_id",
    files=stripe_files,
    copies_label="retries",
)
