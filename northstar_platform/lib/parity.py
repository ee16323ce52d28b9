"""Shadow-vs-production parity: which metrics, how they are judged, how they read (seed 004).

A shadow build (`NORTHSTAR_SHADOW=true`) writes every layer into `<layer>_shadow`; before the
BI views are cut over to it, each table is compared with production (northstar_platform/
parity.py runs the SQL; this module is the pure part):

- `row_count` and `distinct_keys(<key>)` (or `distinct_rows` for a table without a known key)
  may differ by the count tolerance, relative to production (default 0.5%);
- per column, the distribution may diverge by the divergence tolerance (default 1%): the
  two-sample Kolmogorov-Smirnov statistic (max |F_prod(x) - F_shadow(x)|) for numeric, date
  and timestamp columns over their non-NULL values, with the NULL share compared on its own
  (`null_share:<col>`, |p_null - q_null|, the total-variation distance of {NULL, not NULL});
  the total-variation distance (½ Σ |p - q| over values, NULL a value of its own) for
  categorical columns (varchar, boolean);
- a table or a column present on one side only fails (`missing`, `columns`).

Which columns: every column but the bookkeeping ones (run ids, first/last seen, cleared,
quarantined_at, sent_at: `lib/fingerprints.BOOKKEEPING_COLUMNS`), which differ between any two
builds by design, and the load lineage `LOAD_LINEAGE_COLUMNS` (`source_file`, `ingested_ts`):
for files the platform exports itself (the orders export, the sync) they name the build's own
export file and its arrival, so a shadow build differs there by construction; for outside
drops they are equal anyway, and the rows they point at are compared through every other
column. Identifier columns are compared like any other, on purpose: a shadow build of the
same inputs reproduces them, and for a column of unique identifiers the total-variation
distance is exactly the share of identifiers missing or extra (10 of 1,000 dropped → 0.01),
so it says something. Columns of other types (blobs, arrays, JSON) are skipped.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from northstar_platform.layers import (
    CORE_UPDATE_ACK_LOG,
    CORE_UPDATE_LEDGER,
    QUARANTINE_TABLES,
    RAW_FINANCE_REVENUE,
    RAW_ORDERS,
    RAW_PRIVACY_EVENTS,
    RAW_STRIPE_EVENTS,
    RAW_WMS_SHIPMENTS,
    STG_FINANCE_REVENUE,
    STG_ORDERS,
    STG_PRIVACY_EVENTS,
    STG_STRIPE_EVENTS,
    STG_WMS_SHIPMENTS,
    Layer,
    Table,
)

COMPARED_LAYERS = (
    Layer.RAW,
    Layer.STAGING,
    Layer.CURATED,
    Layer.AUDIT,
    Layer.REMEDIATION,
    Layer.MARTS,
)
"""The production layers a parity report covers (ops is bookkeeping of the runs themselves)."""

FLOAT_SLACK = 1e-12
"""A divergence equal to its threshold passes: 10 of 1,000 rows is 0.01 and must not fail a
0.01 tolerance because a float sum came out at 0.010000000000000002."""

NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
    "UINTEGER", "UBIGINT", "UHUGEINT", "DECIMAL", "NUMERIC", "NUMBER", "DOUBLE", "FLOAT",
    "REAL",
)  # fmt: skip
TEMPORAL_TYPES = ("DATE", "TIMESTAMP", "TIME", "DATETIME")
CATEGORICAL_TYPES = ("VARCHAR", "TEXT", "STRING", "CHAR", "CHARACTER", "BOOLEAN", "BOOL")

LOAD_LINEAGE_COLUMNS = frozenset({"source_file", "ingested_ts"})
"""Where and when a row was loaded: not compared (see the module docstring)."""


def _key(table: Table) -> str:
    return f"{table.layer.value}.{table.name}"


LANDED_ROW_KEY = ("partition_key", "source_file", "line_no")
"""A raw row is one landed line: its partition, file and line."""

PYTHON_TABLE_KEYS: dict[str, tuple[str, ...]] = {
    **{_key(t): LANDED_ROW_KEY for t in (RAW_ORDERS, RAW_STRIPE_EVENTS, RAW_WMS_SHIPMENTS)},
    **{_key(t): LANDED_ROW_KEY for t in (RAW_FINANCE_REVENUE, RAW_PRIVACY_EVENTS)},
    **{_key(t): LANDED_ROW_KEY for t in QUARANTINE_TABLES},
    _key(STG_ORDERS): ("order_id", "updated_at"),
    _key(STG_STRIPE_EVENTS): ("event_id",),
    _key(STG_WMS_SHIPMENTS): ("shipment_id", "event_ts"),
    _key(STG_FINANCE_REVENUE): ("business_date", "currency"),
    _key(STG_PRIVACY_EVENTS): ("source_record_id",),
    _key(CORE_UPDATE_LEDGER): ("update_hash",),
    _key(CORE_UPDATE_ACK_LOG): ("update_hash", "ack_file"),
}
"""Keys of the tables Python writes (their de-duplication keys, layers.py). dbt models take
theirs from the manifest; synced tables from the sync configuration."""


@dataclass(frozen=True)
class Metric:
    """One compared quantity of one table; `divergence` is judged against `threshold`."""

    table: str
    metric: str
    production_value: float | None
    shadow_value: float | None
    divergence: float
    threshold: float

    @property
    def passed(self) -> bool:
        """Within the threshold (equal passes)."""
        return self.divergence <= self.threshold + FLOAT_SLACK

    @property
    def severity(self) -> float:
        """How far over (or under) its threshold: divergence / threshold."""
        return self.divergence / self.threshold if self.threshold > 0 else self.divergence


def column_kind(sql_type: str) -> str | None:
    """`ks` for numeric, date and timestamp columns, `tvd` for varchar and boolean ones,
    None for anything else (not compared)."""
    base = sql_type.upper().split("(")[0].strip()
    if base.startswith(TEMPORAL_TYPES) or base in NUMERIC_TYPES:
        return "ks"
    if base in CATEGORICAL_TYPES or base.startswith(("VARCHAR", "CHAR")):
        return "tvd"
    return None


def relative_divergence(production: int, shadow: int) -> float:
    """|production - shadow| / production; against an empty production table every shadow
    row counts whole (|0 - s| / 1), so an empty table equals only an empty table."""
    return abs(production - shadow) / max(production, 1)


def scaled_distance(scaled: int, production_total: int, shadow_total: int) -> float:
    """A distance the warehouse computed in integers, scaled by both totals (exact: no float
    sums over millions of values), back to [0, 1]. One side empty and the other not → 1."""
    if production_total == 0 or shadow_total == 0:
        return 0.0 if production_total == shadow_total else 1.0
    return scaled / (production_total * shadow_total)


def null_share(nulls: int, total: int) -> float:
    """Share of NULLs among `total` rows (0 for an empty table)."""
    return nulls / total if total else 0.0


def dbt_keys(manifest: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """`layer.table` → key columns, from the `unique` and `unique_combination` tests on each
    model of a parsed dbt manifest. The layer is the model's configured schema (not the
    schema it was built in), so a manifest parsed in shadow mode names production's tables."""
    nodes = manifest.get("nodes") or {}
    keys: dict[str, tuple[str, ...]] = {}
    for node in nodes.values():
        test = node.get("test_metadata") or {}
        name = test.get("name")
        model = nodes.get(node.get("attached_node") or "")
        if node.get("resource_type") != "test" or name not in ("unique", "unique_combination"):
            continue
        if not model:
            continue
        schema = (model.get("config") or {}).get("schema") or model.get("schema")
        table = f"{schema}.{model.get('alias') or model['name']}"
        if name == "unique" and node.get("column_name"):
            keys.setdefault(table, (str(node["column_name"]),))
        elif name == "unique_combination":
            columns = (test.get("kwargs") or {}).get("columns") or []
            keys.setdefault(table, tuple(str(c) for c in columns))
    return keys


def load_dbt_keys(manifest_path: Path) -> dict[str, tuple[str, ...]]:
    """`dbt_keys` of the manifest file, or none when it has not been parsed yet."""
    try:
        return dbt_keys(json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def failed_tables(metrics: Iterable[Metric]) -> list[str]:
    """Tables with at least one failed metric, sorted."""
    return sorted({m.table for m in metrics if not m.passed})


def summarize(metrics: Sequence[Metric], report_id: str, worst: int = 3) -> str:
    """The readable summary: per table PASS/FAIL with its worst metrics, then the verdict."""
    by_table: dict[str, list[Metric]] = {}
    for metric in metrics:
        by_table.setdefault(metric.table, []).append(metric)
    lines = [f"parity report {report_id}: {len(by_table)} tables, {len(metrics)} metrics"]
    for table in sorted(by_table):
        rows = by_table[table]
        failed = [m for m in rows if not m.passed]
        shown = sorted(failed or rows, key=lambda m: -m.severity)[:worst]
        verdict = "FAIL" if failed else "PASS"
        details = "; ".join(_describe(m) for m in shown)
        lines.append(f"{verdict}  {table}  ({len(failed)}/{len(rows)} failed)  {details}")
    bad = failed_tables(metrics)
    if bad:
        lines.append(f"verdict: FAIL, {len(bad)} of {len(by_table)} tables: {', '.join(bad)}")
    else:
        lines.append(f"verdict: PASS, all {len(by_table)} tables within thresholds")
    return "\n".join(lines)


def _describe(metric: Metric) -> str:
    values = f"{_number(metric.production_value)} vs {_number(metric.shadow_value)}"
    return (
        f"{metric.metric} {values}: divergence {metric.divergence:.4g} "
        f"(threshold {metric.threshold:g})"
    )


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.4g}"
