"""Content fingerprints of a table partition: row count + sha256 of its business content.

DESIGN §5.2: a rerun of a partition must reproduce the same rows, compared by a content
fingerprint over business columns — run ids and first/last-seen bookkeeping excluded. Used by
`audit_corrections` (input and output fingerprints of every correction), cutover/rollback and
`northstar verify-reproducible`.

The hash is over a canonical text of each row (values in the table's column order, sorted
rows), so it does not depend on physical row order; it is computed by streaming, never holding
a whole partition.
"""

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from northstar_platform.layers import quote

BOOKKEEPING_COLUMNS = frozenset(
    {
        "run_id",
        "first_seen_run_id",
        "first_seen_at",
        "last_seen_run_id",
        "last_seen_at",
        "cleared_run_id",
        "cleared_at",
        "quarantined_at",
        "sent_at",
    }
)
"""Who/when evaluated a row (run ids, run clocks): differ between two equal builds."""

PARTITION_COLUMNS = {
    "business_date": "the dbt order models, marts and audits (a business date)",
    "recon_date": "the preference audit and remediation (a reconciliation date)",
    "partition_key": "raw, staging and quarantine tables (a day or an hour)",
}
"""Columns that hold a partition, tried in this order on a table's live columns."""

RANGE_SEPARATOR = ".."
"""A range of partitions, as the run log spells a single-run backfill: `first..last`."""
NULL = "\\N"
FIELD_SEPARATOR = "\x1f"


class Session(Protocol):
    """What fingerprinting needs of a warehouse session (resources/warehouse.py)."""

    def columns(self, schema: str, name: str) -> list[tuple[str, str]]: ...

    def fetch_arrow_batches(
        self, sql: str, params: Sequence[Any] = (), rows: int = ...
    ) -> Iterator[Any]: ...


@dataclass(frozen=True)
class Fingerprint:
    """Rows and content hash of one relation's partition (`partition` None = whole table)."""

    relation: str
    partition: str | None
    rows: int
    content_hash: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what `audit_corrections` stores, one per input or output)."""
        return asdict(self)


def to_json(fingerprints: Sequence[Fingerprint]) -> str:
    """The JSON list stored in `audit_corrections.input_fingerprints`/`output_fingerprints`."""
    return json.dumps([f.as_dict() for f in fingerprints], sort_keys=True)


def canonical(value: Any) -> str:
    """One value as stable text: ISO timestamps with microseconds, exact decimals."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def hash_rows(rows: Iterator[Sequence[Any]]) -> tuple[int, str]:
    """(count, sha256 hex) of rows already in canonical order."""
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(FIELD_SEPARATOR.join(canonical(v) for v in row).encode("utf-8"))
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def partition_column(live_columns: Collection[str]) -> str | None:
    """The column that holds a table's partition, or None for an unpartitioned table."""
    return next((c for c in PARTITION_COLUMNS if c in live_columns), None)


def business_columns(
    live_columns: Sequence[str], exclude: Collection[str] = BOOKKEEPING_COLUMNS
) -> list[str]:
    """The columns a fingerprint covers: every live column but the bookkeeping ones."""
    return [c for c in live_columns if c not in exclude]


def fingerprint(
    session: Session,
    schema: str,
    table: str,
    partition: str | None = None,
    *,
    exclude: Collection[str] = BOOKKEEPING_COLUMNS,
    where: str | None = None,
) -> Fingerprint:
    """Fingerprint `schema.table`, or its rows of `partition` (matched on the table's partition
    column as text: `2026-11-02`, `2026-11-02-13:00`, or a range `2026-11-01..2026-11-07`,
    both ends included). `where` adds a fixed SQL predicate
    (trusted text from code, e.g. `not is_cleared`). A missing table raises LookupError."""
    live = [name for name, _ in session.columns(schema, table)]
    if not live:
        raise LookupError(f"{schema}.{table} does not exist")
    columns = business_columns(live, exclude)
    select = ", ".join(quote(c) for c in columns)
    order = ", ".join(f"{quote(c)} nulls first" for c in columns)
    predicates, params = [], []
    if partition is not None:
        column = partition_column(live)
        if column is None:
            raise LookupError(f"{schema}.{table} has no partition column ({', '.join(live)})")
        first, _, last = partition.partition(RANGE_SEPARATOR)
        if last:  # a range run's `first..last`: ISO keys sort as text
            predicates.append(f"cast({quote(column)} as varchar) between ? and ?")
            params.extend((first, last))
        else:
            predicates.append(f"cast({quote(column)} as varchar) = ?")
            params.append(partition)
    if where:
        predicates.append(f"({where})")
    condition = f" where {' and '.join(predicates)}" if predicates else ""
    sql = f"select {select} from {quote(schema)}.{quote(table)}{condition} order by {order}"  # noqa: S608
    rows, content_hash = hash_rows(_rows(session.fetch_arrow_batches(sql, params)))
    return Fingerprint(f"{schema}.{table}", partition, rows, content_hash)


def _rows(batches: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
    for batch in batches:
        columns = [column.to_pylist() for column in batch.columns]
        yield from zip(*columns, strict=True)
