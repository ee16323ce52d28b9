"""Applying the retention policy (`lib/retention.py`) to the landing zone and the warehouse.

`run_retention` (landed files, then warehouse partitions) is what the daily
`apply_retention_job` and `northstar retention purge` run; `apply_lifecycle` puts the 90-day
rule on the landing bucket (`northstar retention lifecycle --apply`), after which S3 expires
the files itself and the job finds nothing left. Every purged warehouse table is recorded in
`ops.audit_corrections` (RETENTION_PURGE) with the fingerprint of the rows it removed: finance
data is SOX-relevant, so even its scheduled deletion is auditable.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import AUDIT_CORRECTIONS, quote, warehouse_schemas
from northstar_platform.lib.corrections import Correction, CorrectionKind, record_correction
from northstar_platform.lib.fingerprints import Fingerprint, fingerprint, partition_column
from northstar_platform.lib.retention import (
    NEVER_PURGED_SCHEMAS,
    RetentionPolicy,
    expired,
    lifecycle_rule,
    merged_rules,
)
from northstar_platform.resources.landing import LandingObject, LandingZone, S3LandingZone
from northstar_platform.resources.warehouse import WarehouseResource, WarehouseSession


@dataclass(frozen=True)
class TablePurge:
    """Rows of one table past the warehouse retention (removed unless a dry run)."""

    schema: str
    table: str
    column: str
    cutoff: str
    removed: Fingerprint


@dataclass(frozen=True)
class RetentionRun:
    """What one application of the policy removed (or, in a dry run, would remove)."""

    files: list[LandingObject]
    tables: list[TablePurge]
    landing_cutoff: dt.datetime
    warehouse_cutoff: str

    @property
    def rows(self) -> int:
        return sum(t.removed.rows for t in self.tables)


def run_retention(
    zone: LandingZone,
    warehouse: WarehouseResource,
    policy: RetentionPolicy,
    now: dt.datetime,
    *,
    run_id: str | None,
    trigger: str,
    dry_run: bool = False,
) -> RetentionRun:
    """Purge the landed files, then the warehouse partitions, past retention at `now`."""
    files = purge_landing(zone, policy, now, dry_run=dry_run)
    with warehouse.connect() as session:
        tables = purge_warehouse(
            session, policy, now.date(), run_id=run_id, trigger=trigger, dry_run=dry_run
        )
    return RetentionRun(
        files, tables, policy.landing_cutoff(now), policy.warehouse_cutoff(now.date())
    )


def purge_landing(
    zone: LandingZone, policy: RetentionPolicy, now: dt.datetime, *, dry_run: bool = False
) -> list[LandingObject]:
    """Delete every landed file that arrived more than `landing_days` before `now`."""
    cutoff = policy.landing_cutoff(now)
    old = [obj for obj in zone.list("") if expired(obj.last_modified, cutoff)]
    if not dry_run:
        for obj in old:
            zone.delete(obj.key)
    return old


def purgeable_tables(session: WarehouseSession) -> list[tuple[str, str, str]]:
    """(schema, table, partition column) of every base table the warehouse purge covers:
    the environment's layer schemas but `ops`, tables with a partition column only."""
    schemas = [s for s in warehouse_schemas() if s not in NEVER_PURGED_SCHEMAS]
    marks = ", ".join("?" for _ in schemas)
    rows = session.fetchall(
        "select lower(table_schema), lower(table_name) from information_schema.tables "  # noqa: S608
        f"where lower(table_schema) in ({marks}) and upper(table_type) = 'BASE TABLE' "
        "order by 1, 2",
        schemas,
    )
    found = []
    for schema, table in rows:
        column = partition_column([name for name, _ in session.columns(schema, table)])
        if column is not None:
            found.append((str(schema), str(table), column))
    return found


def purge_warehouse(
    session: WarehouseSession,
    policy: RetentionPolicy,
    today: dt.date,
    *,
    run_id: str | None,
    trigger: str,
    dry_run: bool = False,
) -> list[TablePurge]:
    """Delete every row whose partition is older than `warehouse_days`, one table per
    transaction, each recorded as a RETENTION_PURGE correction with what it removed."""
    cutoff = policy.warehouse_cutoff(today)
    purged = []
    if not dry_run:  # DDL before any transaction: Snowflake commits the open one at DDL
        session.ensure_table(AUDIT_CORRECTIONS)
    for schema, table, column in purgeable_tables(session):
        # `cutoff` is an ISO date built here, never user text: safe as a fixed predicate.
        older = f"cast({quote(column)} as varchar) < '{cutoff}'"
        removed = fingerprint(session, schema, table, where=older)
        if not removed.rows:
            continue
        purged.append(TablePurge(schema, table, column, cutoff, removed))
        if dry_run:
            continue
        with session.transaction():
            session.execute(f"delete from {quote(schema)}.{quote(table)} where {older}")  # noqa: S608
            record_correction(
                session,
                Correction(
                    kind=CorrectionKind.RETENTION_PURGE,
                    asset_key=f"{schema}/{table}",
                    partition_key=None,
                    run_id=run_id,
                    trigger=trigger,
                    inputs=(removed,),
                    note=f"{column} < {cutoff} ({policy.warehouse_days} days)",
                ),
            )
    return purged


def landing_rule(zone: LandingZone, policy: RetentionPolicy) -> dict[str, Any]:
    """The landing bucket's expiration rule, over the zone's prefix; a folder has none."""
    if not isinstance(zone, S3LandingZone):
        raise NorthstarError(
            f"the landing zone {zone.uri()} is a folder: it has no lifecycle rules; "
            "`northstar retention purge` (or the daily apply_retention_job) removes its "
            "expired files"
        )
    return lifecycle_rule(f"{zone.prefix}/" if zone.prefix else "", policy.landing_days)


def apply_lifecycle(zone: LandingZone, policy: RetentionPolicy) -> list[dict[str, Any]]:
    """Put the landing-retention rule on the landing bucket, keeping the bucket's other
    rules; returns the bucket's rules as stored."""
    import botocore.exceptions

    ours = landing_rule(zone, policy)
    assert isinstance(zone, S3LandingZone)
    client, bucket = zone.client, zone.bucket
    try:
        existing = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise NorthstarError(f"reading the lifecycle rules of s3://{bucket}: {exc}") from None
        existing = []
    client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": merged_rules(existing, ours)}
    )
    return client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
