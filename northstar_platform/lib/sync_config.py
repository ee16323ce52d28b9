"""Which PostgreSQL tables the sync copies, and how (seed 003's table metadata).

The configuration is a JSON file in the repo (`northstar_platform/sync_tables.json`),
replaceable with `NORTHSTAR_SYNC_CONFIG`. Every identifier is validated here, so SQL built
from it can quote it safely; a bad entry fails at load with the file and field named.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from northstar_platform.errors import SettingsError

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "sync_tables.json"
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
FIELDS = {
    "table_name",
    "watermark_col",
    "primary_keys",
    "full_refresh",
    "soft_delete_col",
    "allow_additive_columns",
}


@dataclass(frozen=True)
class SyncTable:
    """One synced table: where it comes from and how its rows are matched."""

    source_schema: str
    source_table: str
    watermark_col: str
    primary_keys: tuple[str, ...]
    full_refresh: bool = False
    """Reload the whole table on every run (small reference tables); a one-off reload is
    the `full_refresh` run config instead, after which runs are incremental again."""
    soft_delete_col: str | None = None
    allow_additive_columns: bool = False
    """Add new source columns to STAGING and FINAL before exporting, instead of halting."""

    @property
    def name(self) -> str:
        """The table's name in the warehouse and the landing zone (`customers`)."""
        return self.source_table

    @property
    def qualified_source(self) -> str:
        """`"public"."customers"`, safe to put in SQL."""
        return f'"{self.source_schema}"."{self.source_table}"'


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value):
        raise SettingsError(
            f"{where}: {value!r} is not a valid identifier "
            "(lower-case letters, digits and _, not starting with a digit)"
        )
    return value


def parse_table(entry: Any, where: str) -> SyncTable:
    """One configuration entry, validated."""
    if not isinstance(entry, dict):
        raise SettingsError(f"{where}: expected an object with table_name, watermark_col, ...")
    unknown = sorted(set(entry) - FIELDS)
    if unknown:
        raise SettingsError(f"{where}: unknown field {unknown[0]!r}; known: {sorted(FIELDS)}")
    for required in ("table_name", "watermark_col", "primary_keys"):
        if required not in entry:
            raise SettingsError(f"{where}: {required} is required")
    parts = str(entry["table_name"]).split(".")
    if len(parts) == 1:
        parts = ["public", parts[0]]
    if len(parts) != 2:
        raise SettingsError(
            f"{where}.table_name: expected schema.table, got {entry['table_name']!r}"
        )
    schema, table = (_identifier(p, f"{where}.table_name") for p in parts)
    keys = entry["primary_keys"]
    if not isinstance(keys, list) or not keys:
        raise SettingsError(f"{where}.primary_keys: expected a non-empty list of column names")
    for flag in ("full_refresh", "allow_additive_columns"):
        if not isinstance(entry.get(flag, False), bool):
            raise SettingsError(f"{where}.{flag}: expected true or false")
    soft = entry.get("soft_delete_col")
    return SyncTable(
        source_schema=schema,
        source_table=table,
        watermark_col=_identifier(entry["watermark_col"], f"{where}.watermark_col"),
        primary_keys=tuple(_identifier(k, f"{where}.primary_keys") for k in keys),
        full_refresh=entry.get("full_refresh", False),
        soft_delete_col=_identifier(soft, f"{where}.soft_delete_col") if soft else None,
        allow_additive_columns=entry.get("allow_additive_columns", False),
    )


def load_sync_tables(path: Path | None = None) -> list[SyncTable]:
    """Every configured table, from `path` (default: the repo's sync_tables.json)."""
    path = path or DEFAULT_CONFIG
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"NORTHSTAR_SYNC_CONFIG: no such file {path}") from None
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc})") from None
    entries = document.get("tables") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise SettingsError(f'{path}: expected {{"tables": [ ... ]}}')
    tables = [parse_table(e, f"{path} tables[{i}]") for i, e in enumerate(entries)]
    names = [t.name for t in tables]
    if len(set(names)) != len(names):
        raise SettingsError(f"{path}: a table is configured twice ({sorted(names)})")
    return tables
