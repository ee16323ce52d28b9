"""Layers, schemas, asset keys and the contracts of the tables Python writes.

The naming rules live here (STYLE.md): warehouse schema = layer, asset key = [layer, table].
SQL identifiers are only ever built from these constants, so they can be quoted safely.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

import dagster as dg

from northstar_platform.settings import shadow_enabled, upper_case_identifiers


class Layer(StrEnum):
    """A warehouse schema, an asset-key prefix and a UI group at once."""

    LANDING = "landing"
    RAW = "raw"
    STAGING = "staging"
    CURATED = "curated"
    AUDIT = "audit"
    REMEDIATION = "remediation"
    MARTS = "marts"
    OPS = "ops"


WAREHOUSE_LAYERS = [layer for layer in Layer if layer is not Layer.LANDING]


def qualified(layer: "Layer", name: str) -> str:
    """`"schema"."relation"` of a warehouse relation, e.g. one a dbt model owns: the one place
    Python spells a relation's name, so shadow mode and verify redirects reach every query."""
    return f"{quote(schema_of(layer, name))}.{quote(name)}"


SHADOW_SUFFIX = "_shadow"
VERIFY_SUFFIX = "_verify"


def shadow_schema(layer: "Layer | str") -> str:
    """The schema a shadow build writes `layer` into, next to production (seed 004's
    `_SHADOW` targets): `marts` → `marts_shadow`. `bi` (the dbt views) works the same way."""
    return f"{Layer(layer).value if isinstance(layer, Layer) else layer}{SHADOW_SUFFIX}"


SHARED_OPS_TABLES = frozenset(
    {
        "pipeline_run_log",
        "pipeline_alert_log",
        "pipeline_alert_deliveries",
        "audit_corrections",
        "parity_report",
        "bi_view_routing",
    }
)
"""`ops` tables production and shadow builds share: both environments' records in one place."""

_redirected: set[tuple["Layer", str]] = set()
"""(layer, relation) pairs this process writes into `<schema>_verify` (verify-reproducible)."""


def schema_of(layer: "Layer", name: str | None = None) -> str:
    """The schema `layer` (or its relation `name`) resolves to in this process.

    Production: the layer (`staging`). `NORTHSTAR_SHADOW=true`: `staging_shadow`, read at call
    time so nothing depends on import order. The operating records of `SHARED_OPS_TABLES` stay
    in `ops` for both (they carry an environment instead); the rest of `ops` is pipeline state
    (the sync's loads and merges, DSR requests) and is shadowed like any layer, so a shadow
    sync does not resume from production's watermarks and files. A relation inside
    `redirected()` lives in the environment's schema + `_verify`; every other relation still
    resolves as above.
    """
    if layer is Layer.OPS and (name is None or name in SHARED_OPS_TABLES):
        return layer.value
    base = shadow_schema(layer) if shadow_enabled() else layer.value
    if name is not None and (layer, name) in _redirected:
        return f"{base}{VERIFY_SUFFIX}"
    return base


def warehouse_schemas() -> list[str]:
    """Every layer's schema in this process's environment (what sessions create up front):
    in shadow mode also `ops_shadow`, the shadow build's own pipeline state."""
    schemas = [schema_of(layer) for layer in WAREHOUSE_LAYERS]
    return [*schemas, shadow_schema(Layer.OPS)] if shadow_enabled() else schemas


@contextmanager
def redirected(relations: Iterable[tuple["Layer", str]]) -> Iterator[None]:
    """Write (and read) exactly `relations` in their `_verify` scratch schema while the block
    runs; their inputs keep resolving to the environment's schemas. Build definitions and
    SQL inside the block: strings built before it keep the names they were built with."""
    added = {(layer, name) for layer, name in relations} - _redirected
    _redirected.update(added)
    try:
        yield
    finally:
        _redirected.difference_update(added)


def quote_source(identifier: str) -> str:
    """Quote one identifier of the PostgreSQL source, spelled as written there."""
    if not identifier.replace("_", "").isalnum():
        raise ValueError(f"refusing unsafe SQL identifier {identifier!r}")
    return f'"{identifier}"'


def quote(identifier: str) -> str:
    """Quote one warehouse identifier (DuckDB and Snowflake both use double quotes),
    upper-cased on Snowflake where dbt's unquoted names live upper-case
    (`upper_case_identifiers`). PostgreSQL's names go through `quote_source`."""
    quoted = quote_source(identifier)
    return quoted.upper() if upper_case_identifiers() else quoted


def quote_in(system: str, identifier: str) -> str:
    """`quote_source` for the `postgres` system, `quote` for the warehouse."""
    return quote_source(identifier) if system == "postgres" else quote(identifier)


@dataclass(frozen=True)
class Column:
    """One column of a table contract, in portable SQL types."""

    name: str
    sql_type: str
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """A warehouse table written by Python: where it lives and what it holds."""

    layer: Layer
    name: str
    columns: tuple[Column, ...]

    @property
    def qualified(self) -> str:
        """`"schema"."table"`, safe to put in SQL."""
        return qualified(self.layer, self.name)

    @property
    def schema(self) -> str:
        """The schema this table lives in for this process (production, shadow or verify)."""
        return schema_of(self.layer, self.name)

    @property
    def asset_key(self) -> dg.AssetKey:
        """The Dagster asset key `[layer, table]`."""
        return dg.AssetKey([self.layer.value, self.name])

    @property
    def column_names(self) -> list[str]:
        """Column names in contract order."""
        return [c.name for c in self.columns]

    def create_sql(self) -> str:
        """`CREATE TABLE IF NOT EXISTS` for this contract."""
        body = ", ".join(
            f"{quote(c.name)} {c.sql_type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        )
        return f"create table if not exists {self.qualified} ({body})"


LOADER_COLUMNS = (
    Column("partition_key", "VARCHAR", nullable=False),
    Column("source_file", "VARCHAR", nullable=False),
    Column("line_no", "BIGINT", nullable=False),
    Column("ingested_ts", "TIMESTAMP", nullable=False),
    Column("run_id", "VARCHAR", nullable=False),
)
"""Where each record came from: set on every raw, staging and quarantine row."""

ORDER_COLUMNS = (
    Column("order_id", "VARCHAR"),
    Column("customer_id", "VARCHAR"),
    Column("status", "VARCHAR"),
    Column("currency", "VARCHAR"),
    Column("amount_cents", "BIGINT"),
    Column("created_at", "TIMESTAMP"),
    Column("updated_at", "TIMESTAMP"),
    Column("is_deleted", "BOOLEAN"),
)
"""The `orders` contract of DESIGN §4, as exported from PostgreSQL."""

RAW_ORDERS = Table(Layer.RAW, "raw_orders", ORDER_COLUMNS + LOADER_COLUMNS)
STG_ORDERS = Table(Layer.STAGING, "stg_orders", ORDER_COLUMNS + LOADER_COLUMNS)

QUARANTINE_COLUMNS = (
    Column("source", "VARCHAR", nullable=False),
    Column("partition_key", "VARCHAR", nullable=False),
    Column("source_file", "VARCHAR", nullable=False),
    Column("line_no", "BIGINT", nullable=False),
    Column("record_ref", "VARCHAR"),
    Column("rule", "VARCHAR", nullable=False),
    Column("reason", "VARCHAR", nullable=False),
    Column("payload", "VARCHAR"),
    Column("run_id", "VARCHAR", nullable=False),
    Column("quarantined_at", "TIMESTAMP", nullable=False),
    Column("held_rows", "BIGINT", nullable=False),
)
"""DESIGN §4 `quarantine_records`: one table per source, one view over all of them.

`held_rows` is how many raw rows the record stands for: 1 for a bad line, or every row of a
file held whole (a wrong header, a 0-byte file), so conservation sums it rather than counting.
"""

QUARANTINE_ORDERS = Table(Layer.STAGING, "quarantine_orders", QUARANTINE_COLUMNS)

RAW_STRIPE_EVENTS = Table(
    Layer.RAW,
    "raw_stripe_events",
    (Column("record", "VARCHAR"), Column("utf8_valid", "BOOLEAN", nullable=False), *LOADER_COLUMNS),
)
"""One row per delivered line, the line's text exactly as it arrived."""

STRIPE_EVENT_COLUMNS = (
    Column("event_id", "VARCHAR", nullable=False),
    Column("event_type", "VARCHAR", nullable=False),
    Column("created_at", "TIMESTAMP", nullable=False),
    Column("object_id", "VARCHAR"),
    Column("amount", "BIGINT", nullable=False),
    Column("currency", "VARCHAR", nullable=False),
    Column("status", "VARCHAR"),
    Column("order_id", "VARCHAR", nullable=False),
    Column("copies", "BIGINT", nullable=False),
)
STG_STRIPE_EVENTS = Table(Layer.STAGING, "stg_stripe_events", STRIPE_EVENT_COLUMNS + LOADER_COLUMNS)
"""One row per Stripe event id; `copies` counts the deliveries collapsed into it."""

QUARANTINE_STRIPE = Table(Layer.STAGING, "quarantine_stripe", QUARANTINE_COLUMNS)

LANDED_LINE_COLUMNS = (Column("record", "VARCHAR"), Column("utf8_valid", "BOOLEAN", nullable=False))
"""A landed line's text exactly as delivered (invalid UTF-8 kept with backslash escapes)."""

CSV_LINE_COLUMNS = (*LANDED_LINE_COLUMNS, Column("has_line_end", "BOOLEAN", nullable=False))
"""A CSV line also records whether it ended with a newline: a file cut off mid-line shows."""

RAW_WMS_SHIPMENTS = Table(Layer.RAW, "raw_wms_shipments", CSV_LINE_COLUMNS + LOADER_COLUMNS)
"""Every physical line of every WMS CSV of the hour, the header (line 1) included; a 0-byte
file is one row without a record (line 0), so its arrival is accounted for."""

WMS_SHIPMENT_COLUMNS = (
    Column("shipment_id", "VARCHAR", nullable=False),
    Column("order_id", "VARCHAR", nullable=False),
    Column("status", "VARCHAR", nullable=False),
    Column("quantity", "BIGINT", nullable=False),
    Column("warehouse_code", "VARCHAR", nullable=False),
    Column("event_ts", "TIMESTAMP", nullable=False),
    Column("copies", "BIGINT", nullable=False),
)
STG_WMS_SHIPMENTS = Table(Layer.STAGING, "stg_wms_shipments", WMS_SHIPMENT_COLUMNS + LOADER_COLUMNS)
"""One row per (shipment_id, event_ts); `copies` counts the landed rows collapsed into it."""
QUARANTINE_WMS = Table(Layer.STAGING, "quarantine_wms", QUARANTINE_COLUMNS)

RAW_FINANCE_REVENUE = Table(Layer.RAW, "raw_finance_revenue", CSV_LINE_COLUMNS + LOADER_COLUMNS)
"""Every physical line of the day's finance revenue CSVs, header included (as WMS)."""
FINANCE_REVENUE_COLUMNS = (
    Column("business_date", "DATE", nullable=False),
    Column("currency", "VARCHAR", nullable=False),
    Column("gross_revenue_cents", "BIGINT", nullable=False),
    Column("copies", "BIGINT", nullable=False),
)
STG_FINANCE_REVENUE = Table(
    Layer.STAGING, "stg_finance_revenue", FINANCE_REVENUE_COLUMNS + LOADER_COLUMNS
)
"""One row per (business_date, currency): the latest landed report wins (a restatement)."""
QUARANTINE_FINANCE = Table(Layer.STAGING, "quarantine_finance", QUARANTINE_COLUMNS)

RAW_PRIVACY_EVENTS = Table(Layer.RAW, "raw_privacy_events", LANDED_LINE_COLUMNS + LOADER_COLUMNS)
"""One row per delivered privacy-system JSON line, exactly as delivered."""
PRIVACY_EVENT_COLUMNS = (
    Column("customer_key", "VARCHAR", nullable=False),
    Column("channel", "VARCHAR", nullable=False),
    Column("preference_state", "VARCHAR", nullable=False),
    Column("event_ts", "TIMESTAMP", nullable=False),
    Column("source_record_id", "VARCHAR", nullable=False),
    Column("copies", "BIGINT", nullable=False),
)
STG_PRIVACY_EVENTS = Table(
    Layer.STAGING, "stg_privacy_events", PRIVACY_EVENT_COLUMNS + LOADER_COLUMNS
)
"""One row per source_record_id; event_ts in UTC with microseconds (DESIGN §8)."""
QUARANTINE_PRIVACY = Table(Layer.STAGING, "quarantine_privacy", QUARANTINE_COLUMNS)

CUSTOMERS_LATEST_KEYS = Table(
    Layer.CURATED, "customers_latest", (Column("customer_id", "VARCHAR"),)
)
"""What dbt reads of the synced customers (the sync's FINAL adds the source's other columns)."""

DBT_SOURCE_TABLES = (STG_ORDERS, STG_STRIPE_EVENTS, STG_WMS_SHIPMENTS, STG_FINANCE_REVENUE)
"""Python-written tables the dbt models read (dbt/models/sources.yml), with
CUSTOMERS_LATEST_KEYS: created empty before dbt runs, so a source that has not delivered yet
reads as no rows (every paid order a MISSING_PAYMENT) instead of failing the whole build."""

CORE_PREFERENCES_HISTORY_KEYS = Table(
    Layer.CURATED,
    "core_preferences_latest",
    (
        Column("customer_key", "VARCHAR"),
        Column("channel", "VARCHAR"),
        Column("preference_state", "VARCHAR"),
        Column("updated_ts", "TIMESTAMP"),
        Column("ingested_ts", "TIMESTAMP"),
    ),
)
"""What dbt reads of the synced core_preferences history (the sync's FINAL: its key includes
updated_ts, so every version stays)."""

PREFERENCE_SOURCE_TABLES = (STG_PRIVACY_EVENTS, CORE_PREFERENCES_HISTORY_KEYS)
"""Python-written tables the preference models read, created empty before dbt runs."""

PIPELINE_ALERT_LOG = Table(
    Layer.OPS,
    "pipeline_alert_log",
    (
        Column("alert_id", "VARCHAR", nullable=False),
        Column("raised_at", "TIMESTAMP", nullable=False),
        Column("kind", "VARCHAR", nullable=False),
        Column("asset_key", "VARCHAR", nullable=False),
        Column("partition_key", "VARCHAR"),
        Column("check_name", "VARCHAR", nullable=False),
        Column("observed", "VARCHAR"),
        Column("threshold", "VARCHAR"),
        Column("message", "VARCHAR", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
        Column("run_url", "VARCHAR", nullable=False),
    ),
)
"""One row per alert (lib/alerts.py), written by the run that raised it."""

PIPELINE_ALERT_DELIVERIES = Table(
    Layer.OPS,
    "pipeline_alert_deliveries",
    (
        Column("alert_id", "VARCHAR", nullable=False),
        Column("sink", "VARCHAR", nullable=False),
        Column("status", "VARCHAR", nullable=False),
        Column("attempts", "BIGINT", nullable=False),
        Column("error", "VARCHAR"),
        Column("attempted_at", "TIMESTAMP", nullable=False),
    ),
)
"""One row per (alert, external sink) (lib/alert_sinks.py): `sink` is `slack` or `email`,
`status` `delivered` or `failed` after `attempts` tries, `error` the last failure (secrets
blanked). Joins `pipeline_alert_log` on `alert_id`."""

QUARANTINE_TABLES = (
    QUARANTINE_ORDERS,
    QUARANTINE_STRIPE,
    QUARANTINE_WMS,
    QUARANTINE_FINANCE,
    QUARANTINE_PRIVACY,
)
QUARANTINE_VIEW_NAME = "quarantine_records"


def quarantine_view() -> str:
    """`"staging"."quarantine_records"` (or its shadow twin): one view over every source."""
    return qualified(Layer.STAGING, QUARANTINE_VIEW_NAME)


QUARANTINE_VIEW = f"{quote(Layer.STAGING.value)}.{quote(QUARANTINE_VIEW_NAME)}"
"""Production's view, for readers outside a build; code that runs in a build (and may run in
shadow mode) calls `quarantine_view()`."""


ORDER_MISMATCH_CLASSES = (
    "DUPLICATE_ORDER",
    "STATUS_CONFLICT",
    "MISSING_PAYMENT",
    "CURRENCY_MISMATCH",
    "AMOUNT_MISMATCH",
    "MISSING_SHIPMENT",
    "ORPHAN_PAYMENT",
    "ORPHAN_SHIPMENT",
)
"""`audit.audit_order_mismatches.mismatch_type`, in classification order (its dbt yml)."""
PREFERENCE_MISMATCH_CLASSES = (
    "MISSING_IN_PRIVACY",
    "MISSING_IN_CORE",
    "STATE_DIFF",
    "STALE_IN_CORE",
)
"""`audit.audit_preference_mismatches.mismatch_type`, in priority order (DESIGN §8)."""

AUDIT_PREFERENCE_MISMATCHES = Table(
    Layer.AUDIT,
    "audit_preference_mismatches",
    (
        Column("recon_date", "DATE", nullable=False),
        Column("customer_key", "VARCHAR", nullable=False),
        Column("channel", "VARCHAR", nullable=False),
        Column("expected_state", "VARCHAR"),
        Column("expected_updated_ts", "TIMESTAMP"),
        Column("core_state", "VARCHAR"),
        Column("core_updated_ts", "TIMESTAMP"),
        Column("mismatch_type", "VARCHAR"),
    ),
)
"""The dbt model's contract (DESIGN §4), as Python reads it: the export's spike gate counts it.
dbt owns the table; Python never creates it outside tests."""

AUDIT_ROOT_CAUSE = Table(
    Layer.AUDIT,
    "audit_root_cause",
    (
        Column("partition_key", "VARCHAR", nullable=False),
        Column("business_date", "DATE", nullable=False),
        Column("root_cause", "VARCHAR", nullable=False),
        Column("open_mismatches", "BIGINT", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
    ),
)
"""Per business date, the open `audit_order_mismatches` counted by root cause
(lib/root_cause.py: SOURCE_CHANGE, LATE_ARRIVING, ETL_LOSS, TRANSFORMATION, UNEXPLAINED): one
row per date and class, zeros included, so a date's rows always sum to its open mismatches."""

REMEDIATION_CORE_UPDATES = Table(
    Layer.REMEDIATION,
    "remediation_core_updates",
    (
        Column("recon_date", "DATE", nullable=False),
        Column("customer_key", "VARCHAR", nullable=False),
        Column("channel", "VARCHAR", nullable=False),
        Column("mismatch_type", "VARCHAR"),
        Column("new_preference_state", "VARCHAR", nullable=False),
        Column("effective_ts", "TIMESTAMP", nullable=False),
        Column("update_hash", "VARCHAR", nullable=False),
    ),
)
"""The dbt model's contract, as the core-update export reads it (dbt owns the table)."""

CORE_UPDATE_LEDGER = Table(
    Layer.REMEDIATION,
    "core_update_ledger",
    (
        Column("update_hash", "VARCHAR", nullable=False),
        Column("recon_date", "DATE", nullable=False),
        Column("patch_key", "VARCHAR", nullable=False),
        Column("sent_at", "TIMESTAMP", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
    ),
)
"""Every update_hash ever sent to the core system, with the patch file that carried it.
Append-only (DESIGN §5.4): a hash in the ledger is never sent again."""

CORE_UPDATE_ACK_LOG = Table(
    Layer.REMEDIATION,
    "core_update_ack_log",
    (
        Column("update_hash", "VARCHAR", nullable=False),
        Column("applied_at", "TIMESTAMP", nullable=False),
        Column("ack_file", "VARCHAR", nullable=False),
        Column("ingested_ts", "TIMESTAMP", nullable=False),
    ),
)
"""The core system's acknowledgements, one row per acked hash per ack file; a re-read file
replaces its rows. `ingested_ts` is the ack file's arrival time."""

PIPELINE_RUN_LOG = Table(
    Layer.OPS,
    "pipeline_run_log",
    (
        Column("run_id", "VARCHAR", nullable=False),
        Column("job_name", "VARCHAR", nullable=False),
        Column("partition_key", "VARCHAR"),
        Column("status", "VARCHAR", nullable=False),
        Column("started_at", "TIMESTAMP"),
        Column("ended_at", "TIMESTAMP"),
        Column("duration_s", "DOUBLE"),
        Column("trigger", "VARCHAR", nullable=False),
        Column("assets_materialized", "BIGINT", nullable=False),
        Column("rows_written", "VARCHAR", nullable=False),
        Column("checks_passed", "BIGINT", nullable=False),
        Column("checks_failed", "BIGINT", nullable=False),
        Column("check_results", "VARCHAR", nullable=False),
        Column("error", "VARCHAR"),
        Column("code_version", "VARCHAR", nullable=False),
        Column("dbt_manifest_hash", "VARCHAR", nullable=False),
        Column("environment", "VARCHAR", nullable=False),
        Column("recorded_at", "TIMESTAMP", nullable=False),
    ),
)
"""One row per finished run (DESIGN §2 ops): `partition_key` is a day, an hour or a range
`first..last`; `status` is Dagster's run status `SUCCESS`, `FAILURE` or `CANCELED`; `trigger`
is `schedule:<name>`, `sensor:<name>`, `backfill:<id>`, `person:<name>` or the command that
started it (lib/corrections.trigger_from_tags); `rows_written` is a JSON object asset → rows
(only assets whose step reports a row count: dbt models are absent) and `check_results` a
JSON list of {asset, check, partition, passed, severity}; `error` the first line of the first
failed step; `environment` is `production` or `shadow`. Written by run_recording.py;
re-recording a run replaces its row."""

AUDIT_CORRECTIONS = Table(
    Layer.OPS,
    "audit_corrections",
    (
        Column("correction_id", "VARCHAR", nullable=False),
        Column("recorded_at", "TIMESTAMP", nullable=False),
        Column("kind", "VARCHAR", nullable=False),
        Column("asset_key", "VARCHAR", nullable=False),
        Column("partition_key", "VARCHAR"),
        Column("run_id", "VARCHAR"),
        Column("trigger", "VARCHAR", nullable=False),
        Column("code_version", "VARCHAR", nullable=False),
        Column("dbt_manifest_hash", "VARCHAR", nullable=False),
        Column("input_fingerprints", "VARCHAR", nullable=False),
        Column("output_fingerprints", "VARCHAR", nullable=False),
        Column("note", "VARCHAR"),
    ),
)
"""Append-only record of every correction (DESIGN §5.4): `kind` is REMEDIATION_EXPORT,
BACKFILL, CUTOVER or ROLLBACK; fingerprints are JSON lists of {asset, partition, rows,
content_hash} (lib/fingerprints.py). Rows are never updated or deleted."""

PARITY_REPORT = Table(
    Layer.OPS,
    "parity_report",
    (
        Column("report_id", "VARCHAR", nullable=False),
        Column("compared_at", "TIMESTAMP", nullable=False),
        Column("table_name", "VARCHAR", nullable=False),
        Column("metric", "VARCHAR", nullable=False),
        Column("production_value", "DOUBLE"),
        Column("shadow_value", "DOUBLE"),
        Column("divergence", "DOUBLE"),
        Column("threshold", "DOUBLE", nullable=False),
        Column("passed", "BOOLEAN", nullable=False),
        Column("code_version", "VARCHAR", nullable=False),
    ),
)
"""Shadow-vs-production parity (seed 004 Phase 3), one row per table and metric; one
`report_id` per comparison, append-only. `table_name` is `layer.table`; `metric` is
`row_count`, `distinct_keys(<cols>)`/`distinct_rows`, `columns`, `missing_in_production`/
`missing_in_shadow`, `ks:<col>`, `tvd:<col>` or `null_share:<col>` (lib/parity.py)."""

BI_SCHEMA = "bi"
"""The schema of the stable BI views dashboards query (dbt models `dbt/models/bi`)."""

BI_VIEW_ROUTING = Table(
    Layer.OPS,
    "bi_view_routing",
    (
        Column("view_name", "VARCHAR", nullable=False),
        Column("source_schema", "VARCHAR", nullable=False),
        Column("changed_at", "TIMESTAMP", nullable=False),
        Column("changed_by", "VARCHAR", nullable=False),
        Column("correction_id", "VARCHAR"),
    ),
)
"""Which schema each stable BI view reads (`marts` or the shadow build's), one row per view,
written by `northstar cutover`/`rollback` and read by the bi models (macro `bi_routed_ref`),
so a later dbt build keeps the views where the last cutover or rollback put them. No row:
`marts`."""

DSR_REQUESTS = Table(
    Layer.OPS,
    "dsr_requests",
    (
        Column("request_id", "VARCHAR", nullable=False),
        Column("kind", "VARCHAR", nullable=False),
        Column("subject_hash", "VARCHAR", nullable=False),
        Column("received_at", "TIMESTAMP", nullable=False),
        Column("deadline_at", "TIMESTAMP", nullable=False),
        Column("status", "VARCHAR", nullable=False),
        Column("locations", "BIGINT", nullable=False),
        Column("rows_found", "BIGINT", nullable=False),
        Column("dead_letters", "BIGINT", nullable=False),
        Column("report_key", "VARCHAR"),
        Column("trace_id", "VARCHAR", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
        Column("updated_at", "TIMESTAMP", nullable=False),
    ),
)
"""One row per data-subject request (lib/dsr_requests.py `RequestStatus`), replaced on every
discovery or erasure. Subjects only as salted sha256 (DESIGN §5.6)."""

DSR_DEAD_LETTERS = Table(
    Layer.OPS,
    "dsr_dead_letters",
    (
        Column("request_id", "VARCHAR", nullable=False),
        Column("trace_id", "VARCHAR", nullable=False),
        Column("system", "VARCHAR", nullable=False),
        Column("table_name", "VARCHAR", nullable=False),
        Column("attempts", "BIGINT", nullable=False),
        Column("error", "VARCHAR", nullable=False),
        Column("failed_at", "TIMESTAMP", nullable=False),
        Column("run_id", "VARCHAR", nullable=False),
    ),
)
"""DSR lookups that failed for good (retries exhausted, or the source's circuit open), one row
per (request, system, table) of the request's latest discovery; errors never hold identifiers."""
