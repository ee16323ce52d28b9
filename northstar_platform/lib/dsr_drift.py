"""Pre-flight: the PII catalog against the live schemas, before any DSR lookup.

Two kinds of drift, per system: a catalogued column missing from a table that exists (renamed
or dropped: discovery would search nothing there), and a column whose name looks like PII in
a table of a catalogued schema that the catalog does not list (new personal data nobody
searches). A catalogued table that does not exist at all is reported but not counted: a
table not built yet holds nobody's data, and a renamed table shows up as new uncatalogued
columns. Discovery halts when the drift exceeds the threshold (`NORTHSTAR_DSR_DRIFT_MAX_COLUMNS`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from northstar_platform.errors import NorthstarError
from northstar_platform.lib.dsr_catalog import PII_LOOKING_NAME, Catalog

LiveColumns = Mapping[tuple[str, str], Sequence[str]]
"""(schema, table) → column names (lower case) of every base table of the scanned schemas."""


class CatalogDriftError(NorthstarError):
    """The catalog and the live schemas differ by more than the threshold."""


@dataclass(frozen=True)
class Drift:
    """One drifted column."""

    system: str
    schema: str
    table: str
    column: str
    problem: str
    """`missing` (catalogued, not in the live table) or `uncatalogued` (looks like PII)."""

    def __str__(self) -> str:
        return f"{self.system} {self.schema}.{self.table}.{self.column} ({self.problem})"


@dataclass(frozen=True)
class DriftReport:
    """What the pre-flight found in one system."""

    drift: list[Drift]
    absent_tables: list[str]


def compare(catalog: Catalog, system: str, live: LiveColumns) -> DriftReport:
    """Drift of one system: missing catalogued columns and uncatalogued PII-looking ones."""
    catalogued = catalog.tables(system)
    drift: list[Drift] = []
    absent: list[str] = []
    for (schema, table), columns in catalogued.items():
        if (schema, table) not in live:
            absent.append(f"{schema}.{table}")
            continue
        present = set(live[(schema, table)])
        drift += [
            Drift(system, schema, table, c.column, "missing")
            for c in columns
            if c.column not in present
        ]
    known = {(s, t, c.column) for (s, t), cols in catalogued.items() for c in cols}
    for (schema, table), names in sorted(live.items()):
        drift += [
            Drift(system, schema, table, name, "uncatalogued")
            for name in sorted(names)
            if PII_LOOKING_NAME.search(name) and (schema, table, name) not in known
        ]
    return DriftReport(drift, absent)


def enforce(reports: Sequence[DriftReport], max_columns: int) -> list[Drift]:
    """All drift of `reports`; raise naming every drifted column when more than `max_columns`."""
    drift = [d for r in reports for d in r.drift]
    if len(drift) > max_columns:
        listed = "; ".join(str(d) for d in drift)
        raise CatalogDriftError(
            f"PII catalog drift: {len(drift)} column(s) > NORTHSTAR_DSR_DRIFT_MAX_COLUMNS="
            f"{max_columns}: {listed}. Update northstar_platform/pii_catalog.json (or the dbt "
            "model's `pii` meta) before discovering"
        )
    return drift
