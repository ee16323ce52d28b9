"""Compare the shadow build with production in the warehouse and record the parity report.

Every metric is computed by the warehouse in portable SQL (DuckDB and Snowflake alike): counts
grouped by value, cumulative sums with window functions, and the distance kept in integers
scaled by both sides' totals, so millions of rows reduce to one number without floating sums
and only that number comes back (lib/parity.py says what is compared and why). Results go to
`ops.parity_report`, append-only, one `report_id` per comparison.
"""

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from northstar_platform.errors import NorthstarError
from northstar_platform.layers import PARITY_REPORT, Layer, quote, shadow_schema
from northstar_platform.lib import parity
from northstar_platform.lib.code_version import MANIFEST
from northstar_platform.lib.code_version import current as current_code_version
from northstar_platform.lib.fingerprints import BOOKKEEPING_COLUMNS
from northstar_platform.lib.parity import Metric
from northstar_platform.lib.sync_config import load_sync_tables
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.settings import Settings

NOT_COMPARED = BOOKKEEPING_COLUMNS | parity.LOAD_LINEAGE_COLUMNS


class ParityError(NorthstarError):
    """A parity comparison that cannot run as asked (an unknown table, no report yet)."""


@dataclass(frozen=True)
class ParityReport:
    """One comparison: its id, when, and every metric."""

    report_id: str
    compared_at: dt.datetime
    metrics: list[Metric]

    @property
    def passed(self) -> bool:
        """Every metric within its threshold (and at least one table compared)."""
        return bool(self.metrics) and all(m.passed for m in self.metrics)

    @property
    def failed_tables(self) -> list[str]:
        """Tables with a failed metric."""
        return parity.failed_tables(self.metrics)

    def summary(self) -> str:
        """Per table PASS/FAIL with the worst metrics, then the verdict."""
        return parity.summarize(self.metrics, self.report_id)


def table_keys(settings: Settings) -> dict[str, tuple[str, ...]]:
    """`layer.table` → key columns: dbt tests, the synced tables' primary keys, and the
    explicit map of Python tables."""
    keys = parity.load_dbt_keys(MANIFEST)
    for table in load_sync_tables(settings.sync_config):
        keys[f"{Layer.CURATED.value}.{table.name}_latest"] = table.primary_keys
        keys[f"{Layer.RAW.value}.raw_{table.name}"] = parity.LANDED_ROW_KEY
    keys.update(parity.PYTHON_TABLE_KEYS)
    return keys


def base_tables(session: WarehouseSession, schemas: Sequence[str]) -> set[tuple[str, str]]:
    """(schema, table) of every table (not view) in `schemas`, lower-cased."""
    marks = ", ".join("?" for _ in schemas)
    rows = session.fetchall(
        "select lower(table_schema), lower(table_name) from information_schema.tables "  # noqa: S608
        f"where lower(table_schema) in ({marks}) and upper(table_type) = 'BASE TABLE'",
        list(schemas),
    )
    return {(str(s), str(t)) for s, t in rows}


def tables_to_compare(session: WarehouseSession, only: Sequence[str] = ()) -> list[str]:
    """`layer.table` names: those asked for (validated), else every table of a compared
    layer in production or in the shadow build."""
    layers = [layer.value for layer in parity.COMPARED_LAYERS]
    if only:
        for name in only:
            layer, _, table = name.partition(".")
            if layer not in layers or not table or not table.replace("_", "").isalnum():
                raise ParityError(
                    f"--table {name!r}: expected layer.table with layer one of "
                    f"{', '.join(layers)}, e.g. marts.fct_orders"
                )
        return sorted(set(only))
    shadow = {shadow_schema(layer): layer for layer in layers}
    found = base_tables(session, [*layers, *shadow])
    return sorted({f"{shadow.get(schema, schema)}.{table}" for schema, table in found})


def compare_table(
    session: WarehouseSession,
    name: str,
    key: Sequence[str] | None,
    count_tolerance: float,
    divergence_tolerance: float,
) -> list[Metric]:
    """Every metric of one `layer.table` against its shadow twin."""
    layer, _, table = name.partition(".")
    production = dict(session.columns(layer, table))
    shadow = dict(session.columns(shadow_schema(layer), table))
    if not production or not shadow:
        if not production and not shadow:
            raise ParityError(f"{name}: no such table in production or in the shadow build")
        where = "production" if not production else "shadow"
        present = float(bool(production)), float(bool(shadow))
        return [Metric(name, f"missing_in_{where}", *present, 1, 0)]
    sides = (f"{quote(layer)}.{quote(table)}", f"{quote(shadow_schema(layer))}.{quote(table)}")
    kinds = {c: parity.column_kind(t) for c, t in production.items() if c not in NOT_COMPARED}
    shadow_kinds = {c: parity.column_kind(t) for c, t in shadow.items() if c not in NOT_COMPARED}
    differing = set(kinds.items()) ^ set(shadow_kinds.items())
    metrics = [
        Metric(name, "columns", len(kinds), len(shadow_kinds), len({c for c, _ in differing}), 0)
    ]
    common = [c for c in kinds if shadow_kinds.get(c) == kinds[c]]

    rows = [_scalar(session, f"select count(*) from {side}") for side in sides]  # noqa: S608
    metrics.append(_count_metric(name, "row_count", rows, count_tolerance))
    if key and all(c in common for c in key):
        label, distinct_on = f"distinct_keys({', '.join(key)})", list(key)
    else:
        label, distinct_on = "distinct_rows", common
    if distinct_on:
        columns = ", ".join(quote(c) for c in distinct_on)
        distinct = [
            _scalar(session, f"select count(*) from (select distinct {columns} from {side}) d")  # noqa: S608
            for side in sides
        ]
        metrics.append(_count_metric(name, label, distinct, count_tolerance))
    for column in common:
        if kinds[column] == "ks":
            metrics.extend(_ks(session, name, sides, column, divergence_tolerance))
        elif kinds[column] == "tvd":
            metrics.append(_tvd(session, name, sides, column, divergence_tolerance))
    return metrics


def _scalar(session: WarehouseSession, sql: str) -> int:
    row = session.fetchone(sql)
    return int(row[0]) if row and row[0] is not None else 0


def _count_metric(name: str, metric: str, values: Sequence[int], tolerance: float) -> Metric:
    production, shadow = values
    divergence = parity.relative_divergence(production, shadow)
    return Metric(name, metric, production, shadow, divergence, tolerance)


def _per_value(sides: Sequence[str], column: str, non_null: bool) -> str:
    """Rows per value on each side, one row per value: (v, pn, sn)."""
    c = quote(column)
    where = f" where {c} is not null" if non_null else ""
    production, shadow = sides
    return (
        f"counts as (select {c} as v, count(*) as pn, 0 as sn from {production}{where} group by {c}"  # noqa: S608
        f" union all select {c} as v, 0 as pn, count(*) as sn from {shadow}{where} group by {c}), "
        "per_value as (select v, sum(pn) as pn, sum(sn) as sn from counts group by v)"
    )


def _ks(
    session: WarehouseSession, name: str, sides: Sequence[str], column: str, tolerance: float
) -> list[Metric]:
    """The KS statistic over non-NULL values (ordered natively: dates and timestamps order as
    their epoch seconds do, so the statistic is the same), and the NULL shares."""
    cumulative = "rows between unbounded preceding and current row"
    row = session.fetchone(
        f"with {_per_value(sides, column, non_null=True)}, "  # noqa: S608
        f"cumulative as (select sum(pn) over (order by v {cumulative}) as cp, "
        f"sum(sn) over (order by v {cumulative}) as cs from per_value), "
        "totals as (select max(cp) as pt, max(cs) as st from cumulative) "
        "select t.pt, t.st, max(abs(c.cp * t.st - c.cs * t.pt)) "
        "from cumulative c cross join totals t group by t.pt, t.st"
    )
    pt, st, scaled = (int(v) for v in row) if row else (0, 0, 0)
    ks = Metric(name, f"ks:{column}", pt, st, parity.scaled_distance(scaled, pt, st), tolerance)
    c = quote(column)
    totals = [session.fetchone(f"select count(*), count({c}) from {side}") for side in sides]  # noqa: S608
    shares = [parity.null_share(int(t[0]) - int(t[1]), int(t[0])) if t else 0.0 for t in totals]
    nulls = Metric(
        name, f"null_share:{column}", shares[0], shares[1], abs(shares[0] - shares[1]), tolerance
    )
    return [ks, nulls]


def _tvd(
    session: WarehouseSession, name: str, sides: Sequence[str], column: str, tolerance: float
) -> Metric:
    """Total-variation distance of the value shares, NULL a value of its own."""
    row = session.fetchone(
        f"with {_per_value(sides, column, non_null=False)}, "  # noqa: S608
        "totals as (select sum(pn) as pt, sum(sn) as st from per_value) "
        "select t.pt, t.st, sum(abs(p.pn * t.st - p.sn * t.pt)) "
        "from per_value p cross join totals t group by t.pt, t.st"
    )
    pt, st, scaled = (int(v) for v in row) if row else (0, 0, 0)
    # ½ Σ |pn/pt - sn/st| = ½ Σ |pn·st - sn·pt| / (pt·st)
    return Metric(
        name, f"tvd:{column}", pt, st, parity.scaled_distance(scaled, pt, st) / 2, tolerance
    )


def compare(
    session: WarehouseSession,
    settings: Settings,
    only: Sequence[str] = (),
    keys: Mapping[str, tuple[str, ...]] | None = None,
) -> list[Metric]:
    """Every metric of every compared table."""
    keys = table_keys(settings) if keys is None else keys
    metrics: list[Metric] = []
    for name in tables_to_compare(session, only):
        metrics.extend(
            compare_table(
                session,
                name,
                keys.get(name),
                settings.parity_count_tolerance,
                settings.parity_divergence_tolerance,
            )
        )
    return metrics


def record(session: WarehouseSession, report: ParityReport) -> None:
    """Append the report's metrics to `ops.parity_report`."""
    version = current_code_version().commit
    m = report.metrics
    data = pa.table(
        {
            "report_id": [report.report_id] * len(m),
            "compared_at": pa.array([report.compared_at] * len(m), pa.timestamp("us")),
            "table_name": [x.table for x in m],
            "metric": [x.metric for x in m],
            "production_value": pa.array([x.production_value for x in m], pa.float64()),
            "shadow_value": pa.array([x.shadow_value for x in m], pa.float64()),
            "divergence": pa.array([x.divergence for x in m], pa.float64()),
            "threshold": pa.array([x.threshold for x in m], pa.float64()),
            "passed": pa.array([x.passed for x in m], pa.bool_()),
            "code_version": [version] * len(m),
        }
    )
    session.ensure_table(PARITY_REPORT)
    with session.transaction():
        session.insert_arrow(PARITY_REPORT, data)


def run_parity(
    session: WarehouseSession, settings: Settings, only: Sequence[str] = ()
) -> ParityReport:
    """Compare, record and return one parity report."""
    metrics = compare(session, settings, only)
    if not metrics:
        raise ParityError(
            "no tables to compare: production and the shadow build have no tables in "
            f"{', '.join(layer.value for layer in parity.COMPARED_LAYERS)}"
        )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    report = ParityReport(uuid.uuid4().hex, now, metrics)
    record(session, report)
    return report


@dataclass(frozen=True)
class LatestReport:
    """The newest recorded report: its id and its failed metrics (table, metric, production
    value, shadow value, divergence, threshold), worst first."""

    report_id: str
    failed: list[tuple[Any, ...]]

    @property
    def failed_tables(self) -> list[str]:
        """Tables with a failed metric, sorted."""
        return sorted({row[0] for row in self.failed})


def latest_report(session: WarehouseSession) -> LatestReport | None:
    """The newest parity report in `ops.parity_report`, or None when there is none."""
    if not session.table_exists(PARITY_REPORT.layer.value, PARITY_REPORT.name):
        return None
    row = session.fetchone(
        f"select report_id from {PARITY_REPORT.qualified} "  # noqa: S608
        "order by compared_at desc, report_id limit 1"
    )
    if row is None:
        return None
    failed = session.fetchall(
        "select table_name, metric, production_value, shadow_value, divergence, threshold "  # noqa: S608
        f"from {PARITY_REPORT.qualified} where report_id = ? and not passed "
        "order by divergence / nullif(threshold, 0) desc nulls first, table_name, metric",
        (row[0],),
    )
    return LatestReport(str(row[0]), [tuple(f) for f in failed])
