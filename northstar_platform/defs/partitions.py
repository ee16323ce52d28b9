"""The shared partitions definitions.

Daily partitions start at a fixed date rather than a setting: partition keys are part of the
run history and asset identity, so they must not move when someone's environment differs.
`end_offset=1` makes today's partition exist, so schedules and sensors can target it.
"""

import dagster as dg

PARTITIONS_START = "2024-01-01"

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START, end_offset=1, timezone="UTC"
)
"""Business date / landing date partitions (UTC days)."""

hourly_partitions = dg.HourlyPartitionsDefinition(
    start_date=f"{PARTITIONS_START}-00:00", end_offset=1, timezone="UTC"
)
"""Landing hours (WMS drops)."""

dsr_request_partitions = dg.DynamicPartitionsDefinition(name="dsr_requests")
"""One partition per data-subject request (its request_id), added by `dsr_requests_sensor`."""
