"""`northstar demo`: generate, materialize every demo day, land the late wave, summarize.

The late wave shows the landing-zone sensors at work: the Stripe sensor ticks once before the
first pass (its cursor then covers every on-time file) and once after the late files land,
and only the days it asks for are materialized again.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg
from rich.console import Console

from northstar_platform import launch
from northstar_platform.defs.payments.sensors import stripe_files_sensor
from northstar_platform.demo.generator import DemoConfig, generate, land_late_files
from northstar_platform.demo.summary import print_summary
from northstar_platform.errors import NorthstarError
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.warehouse import DuckDBWarehouse
from northstar_platform.runner import RangeReport, materialize_range
from northstar_platform.settings import Settings


def _tick(landing: LandingResource, cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    with dg.build_sensor_context(cursor=cursor, resources={"landing": landing}) as context:
        result = stripe_files_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return list(result.run_requests or []), result.cursor


def _merge(into: RangeReport, other: RangeReport) -> None:
    for name, count in other.materialized.items():
        into.materialized[name] = into.materialized.get(name, 0) + count
    into.checks.extend(other.checks)
    into.failures.extend(other.failures)


def run_demo(
    settings: Settings, config: DemoConfig, say: Callable[[str], None], console: Console
) -> bool:
    """Run the whole demo; True when every built detector and gate matches the manifest."""
    if settings.warehouse != "duckdb":
        raise NorthstarError("the demo runs on the embedded warehouse: unset NORTHSTAR_WAREHOUSE")
    launch.prepare_environment(settings)
    settings.duckdb_path.unlink(missing_ok=True)  # the demo owns its embedded warehouse
    landing = LandingResource(url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url)
    c = config
    say(f"generating {c.days} days from {c.start} (scale {c.scale}, seed {c.seed})")
    manifest = generate(
        config, settings.source_dsn, landing.get_zone(), settings.home, progress=say
    )
    _, cursor = _tick(landing, None)  # the first pass below covers every on-time file
    report, defs = launch.materialize(settings, manifest["partitions"], None, say)
    late = land_late_files(landing.get_zone(), settings.home)
    requests, cursor = _tick(landing, cursor)
    days = sorted(str(r.partition_key) for r in requests)
    asked = ", ".join(days) or "no day"
    say(f"late wave: {len(late)} files landed; the Stripe sensor asks for {asked}")
    payments = dg.AssetSelection.groups("payments").resolve(defs.resolve_asset_graph())
    with dg.DagsterInstance.get() as instance:
        for day in days:
            _merge(report, materialize_range(defs, instance, [day], payments, progress=say))
    keys: list[Any] = [k.path for k in defs.resolve_asset_graph().get_all_asset_keys()]
    with DuckDBWarehouse(path=str(settings.duckdb_path)).connect(read_only=True) as session:
        ok = print_summary(console, session, report, manifest, keys)
    say("done; browse the lineage with `northstar dev` (Dagster UI on http://127.0.0.1:3000)")
    return ok
