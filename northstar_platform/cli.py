"""The `northstar` command: demo, materialize and dev, beside the Dagster UI (DESIGN §7).

Errors the user can fix are printed as one line (`error: ...`) with exit code 2; `--debug`
shows the traceback instead. Heavy imports (Dagster definitions, dbt) happen inside commands,
after the settings are validated and the dbt manifest is prepared.
"""

import datetime as dt
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from northstar_platform import launch
from northstar_platform.errors import NorthstarError
from northstar_platform.settings import REPO_ROOT, get_settings

console = Console(
    highlight=False, soft_wrap=True, file=sys.stdout, width=None if sys.stdout.isatty() else 120
)


def _say(started: float) -> Callable[[str], None]:
    return lambda line: console.print(f"[dim]{time.monotonic() - started:6.1f}s[/dim]  {line}")


def run_safely(fn: Callable[..., Any], debug: bool, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except NorthstarError as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(2)
    except Exception as exc:
        if debug:
            raise
        console.print(
            f"[red]error:[/red] unexpected {type(exc).__name__}: {str(exc).strip()[:300]} "
            "(run `northstar --debug ...` for the traceback)"
        )
        sys.exit(3)


@click.group()
@click.version_option(package_name="northstar-platform")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Northstar data platform: catch inconsistent data before it is published."""
    ctx.obj = {"debug": debug}
    if not debug:
        # Dagster flags preview APIs it is fine to use here (partitioned checks); users of the
        # command should not read about them on every run.
        warnings.filterwarnings("ignore", module=r"dagster(_\w+)?(\..*)?$")
        # ... also where Dagster attributes the warning to our call site (asset_checks).
        warnings.filterwarnings("ignore", message=r".* is currently in preview")


def _demo_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--seed", default=7, show_default=True, help="Random seed.")(fn)
    fn = click.option("--scale", default=1.0, show_default=True, help="1.0 ≈ 1,000 orders/day.")(fn)
    fn = click.option("--days", default=7, show_default=True, help="Business days to generate.")(fn)
    return click.option(
        "--start",
        type=click.DateTime(["%Y-%m-%d"]),
        default=None,
        help="First business day (default: DAYS days before today, UTC).",
    )(fn)


def _config(start: dt.datetime | None, days: int, scale: float, seed: int) -> Any:
    from northstar_platform.demo.generator import DemoConfig

    if days < 1 or scale <= 0:
        raise NorthstarError("--days must be >= 1 and --scale > 0")
    first = start.date() if start else dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    return DemoConfig(start=first, days=days, scale=scale, seed=seed)


def _demo(start: dt.datetime | None, days: int, scale: float, seed: int) -> bool:
    from northstar_platform.demo.run import run_demo

    settings = get_settings()
    return run_demo(settings, _config(start, days, scale, seed), _say(time.monotonic()), console)


@main.group(invoke_without_command=True)
@_demo_options
@click.pass_context
def demo(ctx: click.Context, start: dt.datetime | None, days: int, scale: float, seed: int) -> None:
    """Generate demo data, materialize every asset for every demo day, and summarize."""
    if ctx.invoked_subcommand is None:
        ok = run_safely(_demo, ctx.obj["debug"], start, days, scale, seed)
        sys.exit(0 if ok else 1)


@demo.command("generate")
@_demo_options
@click.pass_context
def demo_generate(
    ctx: click.Context, start: dt.datetime | None, days: int, scale: float, seed: int
) -> None:
    """Only write the demo's PostgreSQL tables, landing files and ground-truth manifest."""

    def go() -> None:
        settings = get_settings()
        from northstar_platform.demo.generator import generate
        from northstar_platform.resources.landing import LandingResource

        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        config = _config(start, days, scale, seed)
        manifest = generate(
            config, settings.source_dsn, zone, settings.home, progress=_say(time.monotonic())
        )
        console.print(
            f"manifest: {settings.home / 'demo' / 'manifest.json'} "
            f"({len(manifest['defects'])} defect classes)"
        )

    run_safely(go, ctx.obj["debug"])


@main.command()
@click.option(
    "--select", default=None, help="Dagster asset selection, e.g. 'group:orders+' (default: all)."
)
@click.option(
    "--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day (UTC)."
)
@click.option(
    "--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, included."
)
@click.pass_context
def materialize(
    ctx: click.Context, select: str | None, start: dt.datetime, end: dt.datetime
) -> None:
    """Materialize assets for a date range on whatever data the settings point at."""
    from northstar_platform.runner import days

    def go() -> int:
        settings = get_settings()
        try:
            keys = days(start.date(), end.date())
        except ValueError as exc:
            raise NorthstarError(str(exc)) from None
        report, _ = launch.materialize(settings, keys, select, _say(time.monotonic()))
        for line in report.failures:
            console.print(f"[red]failed:[/red] {line}")
        for check in report.failed_checks:
            where = f"{check.asset} {check.check} [{check.partition}]"
            console.print(f"[red]check failed:[/red] {where} {check.metadata}")
        return 1 if report.failures or report.failed_checks else 0

    sys.exit(run_safely(go, ctx.obj["debug"]))


@main.command()
@click.option("--port", default=3000, show_default=True)
@click.pass_context
def dev(ctx: click.Context, port: int) -> None:
    """Serve the Dagster UI (lineage, partitions, checks, runs) on the shared instance."""

    def go() -> None:
        launch.prepare_environment(get_settings())
        bin_dir = Path(sys.executable).parent
        dagster = bin_dir / "dagster"
        # dagster-dbt's dev-mode preparation looks for `dbt` on PATH: make it the venv's.
        os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        os.execv(
            str(dagster),
            [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-p", str(port)],
        )

    run_safely(go, ctx.obj["debug"])


def _register_subcommands() -> None:
    from northstar_platform.quarantine_commands import quarantine
    from northstar_platform.sync_commands import sync

    main.add_command(sync)
    main.add_command(quarantine)
    from northstar_platform.cutover_commands import cutover, parity, rollback

    for command in (parity, cutover, rollback):
        main.add_command(command)
    from northstar_platform.dashboard_commands import dashboard

    main.add_command(dashboard)
    from northstar_platform.explain_commands import explain

    main.add_command(explain)
    from northstar_platform.dsr_commands import dsr

    main.add_command(dsr)
    from northstar_platform.verify_commands import verify_reproducible

    main.add_command(verify_reproducible)
    from northstar_platform.retention_commands import retention

    main.add_command(retention)


_register_subcommands()
