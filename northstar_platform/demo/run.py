"""`northstar demo`: generate, materialize every demo day, land the late wave, summarize.

The late wave shows the landing-zone sensors at work: each source's sensor ticks once before
the first pass (its cursor then covers every on-time file) and once after the late files land,
and only the partitions they ask for (Stripe days, WMS hours) are materialized again.

Then the dbt models (curated state, audits, marts) run once more, the catch-up an engineer
starts once the late files are in: over every day except those whose own daily staging gate
failed (the trip day stays unpublished). A day the first pass held back only because one of
its WMS hours failed the hourly quarantine gate is included: that hour's valid rows are
staged and its bad rows quarantined, and the hour itself stays flagged in the summary.
Mismatches the late files resolve (a payment that arrived late) are then cleared, not
reported forever.
"""

import contextlib
import shutil
from collections.abc import Callable
from typing import Any

import dagster as dg
from rich.console import Console

from northstar_platform import launch
from northstar_platform.defs.dsr.assets import DSR_DISCOVERY
from northstar_platform.defs.dsr.sensors import dsr_requests_sensor
from northstar_platform.defs.finance.sensors import finance_files_sensor
from northstar_platform.defs.fulfillment.sensors import wms_files_sensor
from northstar_platform.defs.payments.sensors import stripe_files_sensor
from northstar_platform.defs.resources import build_warehouse
from northstar_platform.demo.generator import DemoConfig, generate, land_late_files
from northstar_platform.demo.summary import print_summary
from northstar_platform.errors import NorthstarError
from northstar_platform.layers import warehouse_schemas
from northstar_platform.resources.landing import LandingResource
from northstar_platform.runner import RangeReport, materialize_range, run_partition
from northstar_platform.settings import Settings

SENSORS = {
    "payments": stripe_files_sensor,
    "fulfillment": wms_files_sensor,
    "finance": finance_files_sensor,
}
"""The landing sensors the demo ticks, by the asset group each one's runs materialize."""


def _tick(
    landing: LandingResource, cursors: dict[str, str | None]
) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """One evaluation of every landing sensor: partitions asked for per group, new cursors."""
    asked: dict[str, list[str]] = {}
    advanced: dict[str, str | None] = {}
    for group, sensor in SENSORS.items():
        with dg.build_sensor_context(
            cursor=cursors.get(group), resources={"landing": landing}
        ) as context:
            result = sensor(context)
        assert isinstance(result, dg.SensorResult)
        asked[group] = sorted(str(r.partition_key) for r in result.run_requests or [])
        advanced[group] = result.cursor
    return asked, advanced


def _merge(into: RangeReport, other: RangeReport) -> None:
    for name, count in other.materialized.items():
        into.materialized[name] = into.materialized.get(name, 0) + count
    into.checks.extend(other.checks)
    into.failures.extend(other.failures)


def _discover_requests(
    landing: LandingResource, instance: dg.DagsterInstance, job: Any, say: Callable[[str], None]
) -> RangeReport:
    """What `dsr_requests_sensor` does under `dagster dev`: one partition per landed request,
    then each request's discovery run (nearest deadline first)."""
    with dg.build_sensor_context(instance=instance, resources={"landing": landing}) as context:
        result = dsr_requests_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for add in result.dynamic_partitions_requests or []:
        assert isinstance(add, dg.AddDynamicPartitionsRequest)
        instance.add_dynamic_partitions(add.partitions_def_name, list(add.partition_keys))
    report = RangeReport()
    say(f"data-subject requests: {len(result.run_requests or [])} new, discovering each")
    for run in result.run_requests or []:
        assert run.partition_key is not None
        _merge(report, run_partition(job, instance, [DSR_DISCOVERY], run.partition_key, say))
    return report


INSTANCE_STATE = ("storage", "history", "schedules")
"""What a SQLite Dagster instance keeps under DAGSTER_HOME besides dagster.yaml."""


def _start_afresh(settings: Settings, say: Callable[[str], None]) -> None:
    """The demo owns its embedded warehouse (and the alert file beside it) and the Dagster
    instance under the Northstar home: all start empty, so a second demo is not a replay of
    the first (every partition a BACKFILL correction, every request partition already known).
    A Snowflake database is never emptied: the demo refuses one that already holds the
    platform's tables. An instance elsewhere (DAGSTER_HOME outside NORTHSTAR_HOME, or
    PostgreSQL storage) is never touched; the demo says how many runs it already holds."""
    settings.alert_file.unlink(missing_ok=True)  # the JSON-lines twin of the alert table
    if settings.snowflake is None:
        settings.duckdb_path.unlink(missing_ok=True)
    else:
        _require_empty_database(settings)
    if settings.dagster_home.resolve().is_relative_to(settings.home.resolve()):
        for name in INSTANCE_STATE:
            shutil.rmtree(settings.dagster_home / name, ignore_errors=True)
    launch.prepare_environment(settings)
    with dg.DagsterInstance.get() as instance:
        kept = instance.get_runs_count()
    if kept:
        say(f"keeping the Dagster instance at {settings.dagster_home}: {kept} earlier runs stay")


def _require_empty_database(settings: Settings) -> None:
    """Refuse a Snowflake database that already holds tables in the platform's schemas."""
    assert settings.snowflake is not None
    schemas = warehouse_schemas()
    marks = ", ".join("?" for _ in schemas)
    with build_warehouse(settings).connect(read_only=True) as session:
        row = session.fetchone(
            "select count(*) from information_schema.tables "  # noqa: S608
            f"where lower(table_schema) in ({marks})",
            schemas,
        )
    if row and row[0]:
        raise NorthstarError(
            f"the demo needs an empty Snowflake database: {settings.snowflake.database} "
            f"already holds {row[0]} tables in the platform's schemas; point "
            "NORTHSTAR_SNOWFLAKE_DATABASE at a new database"
        )


def run_demo(
    settings: Settings, config: DemoConfig, say: Callable[[str], None], console: Console
) -> bool:
    """Run the whole demo; True when every built detector and gate matches the manifest."""
    _start_afresh(settings, say)
    landing = LandingResource(url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url)
    c = config
    say(f"generating {c.days} days from {c.start} (scale {c.scale}, seed {c.seed})")
    manifest = generate(
        config, settings.source_dsn, landing.get_zone(), settings.home, progress=say
    )
    _, cursors = _tick(landing, {})  # the first pass below covers every on-time file
    report, defs = launch.materialize(settings, manifest["partitions"], None, say)
    late = land_late_files(landing.get_zone(), settings.home)
    asked, cursors = _tick(landing, cursors)
    wanted = "; ".join(f"{g}: {', '.join(keys) or 'nothing'}" for g, keys in asked.items())
    say(f"late wave: {len(late)} files landed; the sensors ask for {wanted}")
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.get() as instance:
        for group, partitions in asked.items():
            selection = dg.AssetSelection.groups(group).resolve(graph)
            for partition in partitions:
                _merge(report, run_partition(job, instance, selection, partition, say))
        days = [d for d in manifest["partitions"] if d not in report.blocked]
        say(f"catch-up: the dbt models over {', '.join(days)}, after the late wave")
        models = dg.AssetSelection.from_string(
            "(kind:dbt and not tag:preferences) or tag:northstar/runs=after_gates"
        ).resolve(graph)
        log_path = settings.home / "logs" / "demo-catch-up.log"
        with log_path.open("w") as log, contextlib.redirect_stdout(log):
            _merge(report, materialize_range(defs, instance, days, models, say))
        _merge(report, _discover_requests(landing, instance, job, say))
    keys: list[Any] = [k.path for k in graph.get_all_asset_keys()]
    with build_warehouse(settings).connect(read_only=True) as session:
        ok = print_summary(console, session, report, manifest, keys, settings.alert_file)
    say("done; browse the lineage with `northstar dev` (Dagster UI on http://127.0.0.1:3000)")
    return ok
