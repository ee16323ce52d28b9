"""Finding every row of a data subject in every catalogued table of one system.

Queries are built here, once, for both systems: identifiers only from the validated catalog
(quoted), values only as bind parameters, at most `batch_size` values per statement (a
request can carry many identifiers), a dialect switch in `_contains` alone. Identities are
expanded: an email found in a table that also holds a customer id adds that id (and the
other way round), so a request naming only an email still finds the subject's orders and
preferences. Each lookup goes through retry + circuit breaker (`lib/dsr_retry.py`); one that
fails for good becomes a dead letter, and the rest of the request goes on.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from northstar_platform.layers import quote_in
from northstar_platform.lib.dsr_catalog import Catalog, PiiColumn, PiiKind
from northstar_platform.lib.dsr_circuit import CircuitBreaker
from northstar_platform.lib.dsr_retry import LookupFailedError, RetryPolicy, call_with_retry
from northstar_platform.lib.dsr_serialization import to_jsonable

MAX_EXPANSION_ROUNDS = 3


class LookupSource(Protocol):
    """What discovery needs of a system (PostgreSQL or the warehouse)."""

    system: str
    placeholder: str
    """`%s` (psycopg2) or `?` (DuckDB, Snowflake qmark)."""

    def fetch(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of one query."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` is worth a retry (connection, timeout, lock)."""
        ...


Identifier = tuple[PiiKind, str]
"""(EMAIL or CUSTOMER_ID, value); emails lower-cased."""


def _contains(system: str, column_sql: str, mark: str) -> str:
    """Substring test: the one place the dialects differ (DuckDB/Snowflake vs PostgreSQL)."""
    return (
        f"strpos({column_sql}, {mark}) > 0"
        if system == "postgres"
        else f"contains({column_sql}, {mark})"
    )


def match_predicate(
    system: str, mark: str, columns: Sequence[PiiColumn], batch: Sequence[Identifier]
) -> tuple[str, list[str]] | None:
    """`(col in (...) or ...)` over `columns` for the identifiers of `batch`, with params;
    None when no column of the table can hold any of them."""
    emails = [v for k, v in batch if k is PiiKind.EMAIL]
    ids = [v for k, v in batch if k is PiiKind.CUSTOMER_ID]
    terms: list[str] = []
    params: list[str] = []
    for col in columns:
        name = quote_in(system, col.column)
        values = {PiiKind.EMAIL: emails, PiiKind.CUSTOMER_ID: ids}.get(col.kind)
        if values:
            target = f"lower({name})" if col.kind is PiiKind.EMAIL else name
            terms.append(f"{target} in ({', '.join(mark for _ in values)})")
            params += values
        elif col.kind is PiiKind.FREE_TEXT:
            # Payloads are JSON: the identifier as a JSON string token ("C0001", not C00012).
            for kind, value in batch:
                target = f"lower({name})" if kind is PiiKind.EMAIL else name
                terms.append(_contains(system, target, mark))
                params.append(json.dumps(value))
    if not terms:
        return None
    return "(" + " or ".join(terms) + ")", params


@dataclass
class Location:
    """Rows of one table that belong to the subject."""

    system: str
    schema: str
    table: str
    columns: list[str]
    rows: dict[str, tuple[tuple[Any, ...], int]] = field(default_factory=dict)
    """A row's lossless JSON → (row, how many identical rows the table holds)."""

    @property
    def relation(self) -> str:
        """`schema.table`."""
        return f"{self.schema}.{self.table}"

    @property
    def row_count(self) -> int:
        """Rows of the table that matched (identical rows counted each)."""
        return sum(n for _, n in self.rows.values())

    def add(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        """Merge one lookup's rows. Identical rows match identically, so a row's count in any
        result is its multiplicity in the table: the max over lookups is exact."""
        self.columns = columns
        seen: dict[str, tuple[tuple[Any, ...], int]] = {}
        for row in rows:
            key = json.dumps(to_jsonable(list(row)), sort_keys=True)
            seen[key] = (row, seen.get(key, (row, 0))[1] + 1)
        for key, (row, n) in seen.items():
            if n > self.rows.get(key, (row, 0))[1]:
                self.rows[key] = (row, n)

    def records(self) -> list[dict[str, Any]]:
        """Every matched row as a column → value dict (identical rows repeated)."""
        out = []
        for key in sorted(self.rows):
            row, n = self.rows[key]
            out += [dict(zip(self.columns, row, strict=True)) for _ in range(n)]
        return out


@dataclass(frozen=True)
class DeadLetter:
    """A lookup that failed for good."""

    system: str
    relation: str
    attempts: int
    error: str


@dataclass
class SystemResult:
    """What discovery found (or could not look at) in one system."""

    locations: dict[str, Location] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    lookups: int = 0


def batches(identifiers: Sequence[Identifier], size: int) -> list[list[Identifier]]:
    """`identifiers` in sorted chunks of at most `size`."""
    ordered = sorted(identifiers)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def discover_system(
    source: LookupSource,
    catalog: Catalog,
    identifiers: Sequence[Identifier],
    *,
    present: set[tuple[str, str]],
    batch_size: int,
    policy: RetryPolicy,
    breaker: CircuitBreaker,
    log: Callable[..., Any],
    result: SystemResult | None = None,
) -> SystemResult:
    """Look `identifiers` up in every catalogued table of `source` that exists (`present`)."""
    result = result or SystemResult()
    failed = {d.relation for d in result.dead_letters}
    for (schema, table), columns in catalog.tables(source.system).items():
        relation = f"{schema}.{table}"
        if (schema, table) not in present or relation in failed:
            continue
        for batch in batches(identifiers, batch_size):
            built = match_predicate(source.system, source.placeholder, columns, batch)
            if built is None:
                continue
            predicate, params = built
            quoted = f"{quote_in(source.system, schema)}.{quote_in(source.system, table)}"
            sql = f"select * from {quoted} where {predicate}"  # noqa: S608
            result.lookups += 1

            def retry_logged(
                attempt: int, exc: BaseException, wait: float, relation: str = relation
            ) -> None:
                log(
                    "lookup_retry",
                    system=source.system,
                    table=relation,
                    attempt=attempt,
                    error=type(exc).__name__,
                    backoff_s=wait,
                )

            try:
                names, rows = call_with_retry(
                    lambda sql=sql, params=params: source.fetch(sql, params),
                    policy=policy,
                    breaker=breaker,
                    is_transient=source.is_transient,
                    on_retry=retry_logged,
                )
            except LookupFailedError as exc:
                letter = DeadLetter(source.system, relation, exc.attempts, str(exc))
                result.dead_letters.append(letter)
                failed.add(relation)
                log(
                    "lookup_dead_lettered",
                    system=source.system,
                    table=relation,
                    attempts=exc.attempts,
                    error=str(exc),
                    circuit=breaker.state,
                )
                break
            location = result.locations.setdefault(
                relation, Location(source.system, schema, table, names)
            )
            location.add(names, rows)
            log(
                "lookup_done",
                system=source.system,
                table=relation,
                rows=len(rows),
                identifiers=len(batch),
            )
    result.locations = {k: v for k, v in result.locations.items() if v.rows}
    return result


def linked_identifiers(catalog: Catalog, results: Sequence[SystemResult]) -> set[Identifier]:
    """Emails and customer ids of matched rows in tables that hold both (identity links)."""
    found: set[Identifier] = set()
    for result in results:
        for loc in result.locations.values():
            kinds = {
                c.column: c.kind
                for c in catalog.tables(loc.system).get((loc.schema, loc.table), [])
            }
            if not {PiiKind.EMAIL, PiiKind.CUSTOMER_ID} <= set(kinds.values()):
                continue
            for record in loc.records():
                for column, kind in kinds.items():
                    value = record.get(column)
                    if kind in (PiiKind.EMAIL, PiiKind.CUSTOMER_ID) and isinstance(value, str):
                        found.add((kind, value.lower() if kind is PiiKind.EMAIL else value))
    return found
