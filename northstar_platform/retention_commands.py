"""`northstar retention lifecycle [--apply]` and `northstar retention purge [--dry-run]`.

`lifecycle` shows (and with `--apply` stores) the landing bucket's 90-day expiration rule, the
way production expires raw files without any run. `purge` does what the daily
`apply_retention_job` does, from the command line (the warehouse opened for writing).
"""

import datetime as dt
import json

import click

from northstar_platform.errors import NorthstarError


@click.group()
def retention() -> None:
    """Retention: landed files 90 days (S3 lifecycle rule), warehouse partitions 2 years."""


@retention.command()
@click.option("--apply", "apply_", is_flag=True, help="Store the rule on the landing bucket.")
@click.pass_context
def lifecycle(ctx: click.Context, apply_: bool) -> None:
    """Print the landing bucket's lifecycle rule; with --apply, put it on the bucket
    (keeping the bucket's other rules)."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.lib.retention import lifecycle_rule
        from northstar_platform.resources.landing import LandingResource, S3LandingZone
        from northstar_platform.retention import apply_lifecycle
        from northstar_platform.settings import get_settings

        settings = get_settings()
        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        if not isinstance(zone, S3LandingZone):
            raise NorthstarError(
                f"the landing zone {settings.landing_url} is a folder: it has no lifecycle "
                "rules; `northstar retention purge` (or the daily apply_retention_job) "
                "removes its expired files"
            )
        if apply_:
            rules = apply_lifecycle(zone, settings.retention)
            cli.console.print(f"stored on s3://{zone.bucket}: {len(rules)} rule(s)")
        else:
            prefix = f"{zone.prefix}/" if zone.prefix else ""
            rules = [lifecycle_rule(prefix, settings.retention.landing_days)]
        cli.console.print(json.dumps({"Rules": rules}, indent=2, default=str), markup=False)

    cli.run_safely(go, ctx.obj["debug"])


@retention.command()
@click.option("--dry-run", is_flag=True, help="List what is past retention; remove nothing.")
@click.option("--by", default=None, metavar="NAME", help="Who purges (default: $USER).")
@click.pass_context
def purge(ctx: click.Context, dry_run: bool, by: str | None) -> None:
    """Remove landed files and warehouse partitions past retention, now."""
    from northstar_platform import cli

    def go() -> None:
        from northstar_platform.cutover_commands import person_running
        from northstar_platform.defs.resources import build_warehouse
        from northstar_platform.resources.landing import LandingResource
        from northstar_platform.retention import purge_landing, purge_warehouse
        from northstar_platform.settings import get_settings

        settings = get_settings()
        policy, now = settings.retention, dt.datetime.now(dt.UTC)
        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        files = purge_landing(zone, policy, now, dry_run=dry_run)
        with build_warehouse(settings).connect() as session:
            tables = purge_warehouse(
                session,
                policy,
                now.date(),
                run_id=None,
                trigger=f"person:{person_running(by)}",
                dry_run=dry_run,
            )
        verb = "would remove" if dry_run else "removed"
        cli.console.print(
            f"{verb} {len(files)} landed file(s) that arrived before "
            f"{policy.landing_cutoff(now):%Y-%m-%d %H:%M} UTC"
        )
        for t in tables:
            cli.console.print(
                f"{verb} {t.removed.rows} row(s) of {t.schema}.{t.table} ({t.column} < {t.cutoff})",
                markup=False,
            )
        if not tables:
            cutoff = policy.warehouse_cutoff(now.date())
            cli.console.print(f"no warehouse partition before {cutoff}")

    cli.run_safely(go, ctx.obj["debug"])
