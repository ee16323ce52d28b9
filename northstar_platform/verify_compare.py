"""Stored vs rebuilt rows of one partition, for `northstar verify-reproducible` (verify.py).

Both sides are fingerprinted with lib/fingerprints.py (rows + sha256 over the business
columns, run bookkeeping excluded). Where they differ, the rows only one side has are listed
as a multiset difference, a few per side, so the verdict names what changed.
"""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import VERIFY_SUFFIX, Layer, quote, schema_of, shadow_schema
from northstar_platform.lib.fingerprints import (
    RANGE_SEPARATOR,
    Fingerprint,
    business_columns,
    canonical,
    fingerprint,
    partition_column,
)
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import shadow_enabled

EXAMPLES = 5
"""Differing rows shown per side."""


class VerifyUsageError(NorthstarError):
    """The asset or partition cannot be verified (unknown, unpartitioned, never built)."""


@dataclass(frozen=True)
class Comparison:
    """Stored vs rebuilt rows of one relation's partition."""

    relation: str
    stored: Fingerprint
    rebuilt: Fingerprint
    only_stored: list[str] = field(default_factory=list)
    only_rebuilt: list[str] = field(default_factory=list)
    extra_stored: int = 0
    extra_rebuilt: int = 0

    @property
    def matches(self) -> bool:
        """Same rows and same content hash."""
        return (self.stored.rows, self.stored.content_hash) == (
            self.rebuilt.rows,
            self.rebuilt.content_hash,
        )


def stored_schema(layer: str, name: str | None = None) -> str:
    """The environment's schema of `layer` (production, or shadow mode's); `bi` included."""
    if layer in {m.value for m in Layer}:
        return schema_of(Layer(layer), name)
    return shadow_schema(layer) if shadow_enabled() else layer


def scratch_schema(layer: str) -> str:
    """Where the rebuild writes `layer`'s relations (what layers.redirected and the dbt macro
    `generate_schema_name` both spell): the environment's schema + `_verify`."""
    return f"{stored_schema(layer)}{VERIFY_SUFFIX}"


def drop_scratch(session: WarehouseSession, layers: Iterable[str]) -> None:
    """Drop the scratch schemas of `layers` (a rebuild writes nothing else there)."""
    for schema in sorted({scratch_schema(layer) for layer in layers}):
        session.execute(f"drop schema if exists {quote(schema)} cascade")


def compare(
    session: WarehouseSession, relations: Sequence[tuple[str, str]], partition: str
) -> list[Comparison]:
    """Fingerprint the partition's rows on both sides; list examples where they differ."""
    comparisons = []
    for layer, name in relations:
        stored_at, rebuilt_at = stored_schema(layer, name), scratch_schema(layer)
        try:
            stored = fingerprint(session, stored_at, name, partition)
            rebuilt = fingerprint(session, rebuilt_at, name, partition)
        except LookupError as exc:
            raise VerifyUsageError(
                f"cannot fingerprint one partition of {layer}.{name}: {exc}"
            ) from None
        comparison = Comparison(f"{layer}.{name}", stored, rebuilt)
        if not comparison.matches:
            comparison = _with_examples(session, comparison, stored_at, rebuilt_at, name, partition)
        comparisons.append(comparison)
    return comparisons


def _with_examples(
    session: WarehouseSession,
    comparison: Comparison,
    stored_at: str,
    rebuilt_at: str,
    name: str,
    partition: str,
) -> Comparison:
    """The rows only one side has (as a multiset), up to `EXAMPLES` rendered per side."""
    live = [c for c, _ in session.columns(stored_at, name)]
    columns = business_columns(live)
    stored = Counter(_rendered_rows(session, stored_at, name, columns, partition))
    rebuilt = Counter(_rendered_rows(session, rebuilt_at, name, columns, partition))
    only_stored, only_rebuilt = stored - rebuilt, rebuilt - stored
    return Comparison(
        comparison.relation,
        comparison.stored,
        comparison.rebuilt,
        sorted(only_stored)[:EXAMPLES],
        sorted(only_rebuilt)[:EXAMPLES],
        sum(only_stored.values()),
        sum(only_rebuilt.values()),
    )


def _rendered_rows(
    session: WarehouseSession, schema: str, name: str, columns: list[str], partition: str
) -> Iterator[str]:
    """Each row of the partition as `column=value, ...` over the business columns."""
    column = partition_column(columns)
    select = ", ".join(quote(c) for c in columns)
    sql = f"select {select} from {quote(schema)}.{quote(name)}"  # noqa: S608
    params: list[Any] = []
    if column is not None and RANGE_SEPARATOR not in partition:
        sql += f" where cast({quote(column)} as varchar) = ?"
        params.append(partition)
    for batch in session.fetch_arrow_batches(sql, params):
        values = [c.to_pylist() for c in batch.columns]
        for row in zip(*values, strict=True):
            yield ", ".join(f"{c}={canonical(v)}" for c, v in zip(columns, row, strict=True))
