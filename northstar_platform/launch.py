"""Launching runs from the command line: the instance, the dbt manifest, pre-flight, logs.

`northstar materialize`, `northstar sync` and `northstar demo` share these steps so that they
and `dagster dev` use one Dagster instance and fail the same way on an unreachable server.
"""

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Callable
from typing import Any

from northstar_platform.errors import NorthstarError
from northstar_platform.settings import Settings


def prepare_environment(settings: Settings) -> None:
    """Export an absolute DAGSTER_HOME holding the instance config (`NORTHSTAR_DAGSTER_YAML`:
    the repo's SQLite `dagster.yaml`, or `deploy/dagster.production.yaml` on PostgreSQL), and
    parse dbt once. `dagster dev` and `northstar` then share one instance, and `@dbt_assets`
    finds its manifest.
    """
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.dagster_yaml, settings.dagster_home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()


def preflight(defs: Any) -> None:
    """Reach the source and the landing zone once before any run, so an unreachable server
    is one clear line instead of one failed step per partition."""
    resources = defs.resources
    resources["source_db"].fetchall("select 1")
    resources["landing"].get_zone().list("orders/")


def materialize(
    settings: Settings, keys: list[str], select: str | None, say: Callable[[str], None]
) -> Any:
    prepare_environment(settings)
    import dagster as dg

    from northstar_platform.definitions import build_definitions
    from northstar_platform.runner import materialize_range

    defs = build_definitions(settings)
    preflight(defs)
    selection = None
    if select:
        try:
            selection = dg.AssetSelection.from_string(select).resolve(defs.resolve_asset_graph())
        except Exception as exc:  # the selection grammar raises several types
            raise NorthstarError(
                f"--select {select!r} is not a valid asset selection: {exc}"
            ) from None
    say(f"materializing {keys[0]} .. {keys[-1]} ({len(keys)} daily partitions)")
    # dbt echoes its own log to stdout; keep it in a file so progress stays readable.
    log_path = settings.home / "logs" / f"materialize-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        log_path.open("w") as log,
        contextlib.redirect_stdout(log),
        dg.DagsterInstance.get() as instance,
    ):
        report = materialize_range(defs, instance, keys, selection, progress=say)
    say(f"dbt and step logs: {log_path}")
    return report, defs
