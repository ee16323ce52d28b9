"""One sensor shape for every landing-zone source: new or replaced files → their partitions.

Each source (Stripe, WMS, finance, privacy) lands files under `<source>/YYYY/MM/DD/[HH/]`;
the folder names the partition. A sensor lists the source's prefix, keeps a durable cursor
(`lib/landing_cursor`), and asks for one run per partition that received new or replaced
files. It reads only the landing zone, never the warehouse (DuckDB admits one writer process).
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import dagster as dg

from northstar_platform.lib.landing_cursor import Cursor, requests_by_partition, unseen
from northstar_platform.resources.landing import LandingResource

PartitionOf = Callable[[str], str | None]
"""A landed key → its partition key, or None for keys that are not the source's files."""


def daily_partition_of(source: str, extension: str) -> PartitionOf:
    """`<source>/YYYY/MM/DD/<name>.<extension>` → `YYYY-MM-DD`."""
    pattern = re.compile(rf"^{re.escape(source)}/(\d{{4}})/(\d{{2}})/(\d{{2}})/[^/]+\.{extension}$")

    def partition_of(key: str) -> str | None:
        match = pattern.match(key)
        if not match:
            return None
        try:
            return dt.date(*(int(part) for part in match.groups())).isoformat()
        except ValueError:
            return None

    return partition_of


def hourly_partition_of(source: str, extension: str) -> PartitionOf:
    """`<source>/YYYY/MM/DD/HH/<name>.<extension>` → `YYYY-MM-DD-HH:00` (Dagster's hourly key)."""
    pattern = re.compile(
        rf"^{re.escape(source)}/(\d{{4}})/(\d{{2}})/(\d{{2}})/(\d{{2}})/[^/]+\.{extension}$"
    )

    def partition_of(key: str) -> str | None:
        match = pattern.match(key)
        if not match:
            return None
        try:
            moment = dt.datetime(*(int(part) for part in match.groups()))
        except ValueError:
            return None
        return f"{moment:%Y-%m-%d-%H}:00"

    return partition_of


def build_landing_sensor(
    *, name: str, source: str, partition_of: PartitionOf, job: Any
) -> dg.SensorDefinition:
    """A sensor that runs `job` for each partition of `source` with new or replaced files."""

    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=30,
        # On from the start: a file dropped while `dagster dev` runs is ingested without a click.
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"New or replaced files under `{source}/` in the landing zone → a run of "
        "each partition they belong to (late files re-materialize old partitions).",
    )
    def _sensor(context: dg.SensorEvaluationContext, landing: LandingResource) -> dg.SensorResult:
        cursor = Cursor.from_json(context.cursor)
        new, advanced = unseen(landing.get_zone().list(f"{source}/"), cursor)
        runs = [
            dg.RunRequest(run_key=run_key, partition_key=partition)
            for partition, run_key in requests_by_partition(new, partition_of).items()
        ]
        return dg.SensorResult(run_requests=runs, cursor=advanced.to_json())

    return _sensor
