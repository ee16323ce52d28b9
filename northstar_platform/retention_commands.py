"""`northstar retention lifecycle [--apply]` and `northstar retention purge [--dry-run]`.

`lifecycle` shows (and with `--apply` stores) the landing bucket's 90-day expiration rule, the
way production expires raw files without any run. `purge` does what the daily
`apply_retention_job` does, from the command line (the warehouse opened for writing).
"""

import datetime as dt
import json

import click


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
        from northstar_platform.resources.landing import LandingResource
        from northstar_platform.retention import apply_lifecycle, landing_rule
        from northstar_platform.settings import get_settings

        settings = get_settings()
        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        if apply_:
            rules = apply_lifecycle(zone, settings.retention)
            cli.console.print(f"stored on {zone.uri()}: {len(rules)} rule(s) on the bucket")
        else:
            rules = [landing_rule(zone, settings.retention)]
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
        from northstar_platform.retention import run_retention
        from northstar_platform.settings import get_settings

        settings = get_settings()
        zone = LandingResource(
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ).get_zone()
        done = run_retention(
            zone,
            build_warehouse(settings),
            settings.retention,
            dt.datetime.now(dt.UTC),
            run_id=None,
            trigger=f"person:{person_running(by)}",
            dry_run=dry_run,
        )
        verb = "would remove" if dry_run else "removed"
        cli.console.print(
            f"{verb} {len(done.files)} landed file(s) that arrived before "
            f"{done.landing_cutoff:%Y-%m-%d %H:%M} UTC"
        )
        for t in done.tables:
            cli.console.print(
                f"{verb} {t.removed.rows} row(s) of {t.schema}.{t.table} ({t.column} < {t.cutoff})",
                markup=False,
            )
        if not done.tables:
            cli.console.print(f"no warehouse partition before {done.warehouse_cutoff}")

    cli.run_safely(go, ctx.obj["debug"])
