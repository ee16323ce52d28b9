"""`northstar verify-reproducible <asset> <partition>`: can a stored result be reproduced?

Exit 0 when every relation the asset's step writes rebuilds to the same fingerprint, 1 when
one differs (the verdict names the rows only one side has), 2 on a usage error (unknown
asset, not a partition of it, never materialized) with one line naming it.
"""

import sys
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # verify.py loads Dagster and dbt: only when the command runs
    from northstar_platform.verify import Verification


@click.command("verify-reproducible")
@click.argument("asset")
@click.argument("partition")
@click.pass_context
def verify_reproducible(ctx: click.Context, asset: str, partition: str) -> None:
    """Rebuild ASSET's PARTITION into scratch schemas and compare fingerprints.

    ASSET is an asset key such as staging/stg_orders or audit/audit_order_mismatches;
    PARTITION a day (YYYY-MM-DD) or, for hourly assets, an hour (YYYY-MM-DD-HH:00). Inputs
    are read from the stored schemas; only the asset's own relations are rebuilt, into
    `<schema>_verify`, dropped afterwards. Nothing is recorded: a verification is a read.
    """
    from northstar_platform import cli

    def go() -> int:
        from northstar_platform.settings import get_settings
        from northstar_platform.verify import verify

        started = time.monotonic()
        verification = verify(get_settings(), asset, partition)
        for line in render(verification, time.monotonic() - started):
            cli.console.print(line, markup=False, highlight=False)
        return 0 if verification.reproducible else 1

    sys.exit(cli.run_safely(go, ctx.obj["debug"]))


def render(verification: "Verification", seconds: float) -> list[str]:
    """The readable verdict: code version, each relation's rows and hash on both sides,
    match or mismatch, and up to a few rows only one side has."""
    from northstar_platform.verify_compare import scratch_schema

    target, version = verification.target, verification.code_version
    how = f"dbt model {target.dbt_model}" if target.dbt_model else "its Dagster asset"
    scratch = sorted({scratch_schema(layer) for layer, _ in target.relations})
    lines = [
        f"verify-reproducible {target.asset_key.to_user_string()} {target.partition}",
        f"code version: {version.commit} (dbt manifest {version.dbt_manifest_hash[:12]})",
        f"rebuilt with {how} into {', '.join(scratch)} from the stored inputs "
        f"(stored by run {target.stored_run_id}), in {seconds:.1f}s; scratch schemas dropped",
    ]
    for c in verification.comparisons:
        verdict = "MATCH" if c.matches else "MISMATCH"
        lines.append(f"{c.relation}  {verdict}")
        lines.append(f"  stored   rows={c.stored.rows:<8} sha256={c.stored.content_hash}")
        lines.append(f"  rebuilt  rows={c.rebuilt.rows:<8} sha256={c.rebuilt.content_hash}")
        for side, count, rows in (
            ("stored", c.extra_stored, c.only_stored),
            ("rebuilt", c.extra_rebuilt, c.only_rebuilt),
        ):
            if count:
                lines.append(f"  {count} row(s) only in {side}, e.g.:")
                lines.extend(f"    {row[:240]}" for row in rows)
    differing = [c.relation for c in verification.comparisons if not c.matches]
    if differing:
        lines.append(f"NOT REPRODUCIBLE: {', '.join(differing)} differ(s) from the rebuild")
    else:
        lines.append(f"REPRODUCIBLE: {len(verification.comparisons)} relation(s) match")
    return lines
