"""The PII catalog: which column of which table, in which system, holds which kind of PII.

Data-subject request discovery searches exactly what the catalog lists, so the catalog is a
versioned file in the repo (`northstar_platform/pii_catalog.json`) plus the `pii` column meta
of dbt models (`config: {meta: {pii: <kind>}}`), merged at load time. A pre-flight
(`lib/dsr_drift.py`) compares it with the live schemas before any lookup, because a catalog
that silently lags the schema answers a request with an incomplete "nothing else found".
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from northstar_platform.errors import NorthstarError

DEFAULT_CATALOG = Path(__file__).resolve().parent.parent / "pii_catalog.json"


class PiiKind(StrEnum):
    """What a catalogued column holds."""

    EMAIL = "email"
    NAME = "name"
    PHONE = "phone"
    CUSTOMER_ID = "customer_id"
    FREE_TEXT = "free_text"


LOOKUP_KINDS = {PiiKind.EMAIL, PiiKind.CUSTOMER_ID}
"""Kinds a subject is looked up by (a request names an email and/or a customer id)."""

ERASABLE_KINDS = {PiiKind.EMAIL, PiiKind.NAME, PiiKind.PHONE, PiiKind.FREE_TEXT}
"""Kinds an erasure nulls. Customer ids stay: they are the pseudonymous keys that orders and
finance records must keep for their retention period; without the direct PII they name
nobody."""

SYSTEMS = ("postgres", "warehouse")

PII_LOOKING_NAME = re.compile(
    r"(^|_)(e_?mail|phone|mobile|full_name|first_name|last_name|surname|name|address|"
    r"birth_?date|date_of_birth|dob|ssn|passport|customer_id|customer_key)($|_)"
)
"""Column names that look like PII: an uncatalogued one is drift."""

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class CatalogError(NorthstarError):
    """The PII catalog (file or dbt meta) is malformed."""


@dataclass(frozen=True)
class PiiColumn:
    """One catalogued column."""

    system: str
    schema: str
    table: str
    column: str
    kind: PiiKind

    @property
    def relation(self) -> str:
        """`schema.table`."""
        return f"{self.schema}.{self.table}"


@dataclass(frozen=True)
class Catalog:
    """The whole catalog; `version` goes into every DSR report."""

    version: str
    columns: tuple[PiiColumn, ...]

    def tables(self, system: str) -> dict[tuple[str, str], list[PiiColumn]]:
        """(schema, table) → its catalogued columns, for one system, in a stable order."""
        out: dict[tuple[str, str], list[PiiColumn]] = {}
        for col in sorted(self.columns, key=lambda c: (c.schema, c.table, c.column)):
            if col.system == system:
                out.setdefault((col.schema, col.table), []).append(col)
        return out

    def schemas(self, system: str) -> list[str]:
        """Schemas the catalog covers in `system` (the drift scan looks at all their tables)."""
        return sorted({c.schema for c in self.columns if c.system == system})


def _ident(value: str, where: str) -> str:
    if not isinstance(value, str) or not _IDENT.match(value):
        raise CatalogError(f"{where}: {value!r} is not a lower-case SQL identifier")
    return value


def _kind(value: Any, where: str) -> PiiKind:
    try:
        return PiiKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in PiiKind)
        raise CatalogError(f"{where}: PII kind {value!r} is not one of {kinds}") from None


def parse_catalog(doc: Mapping[str, Any], source: str) -> Catalog:
    """Validate the catalog document; every problem names the file and the entry."""
    if not isinstance(doc, Mapping) or "version" not in doc or "systems" not in doc:
        raise CatalogError(f"{source}: expected an object with `version` and `systems`")
    systems = doc["systems"]
    if not isinstance(systems, Mapping) or not set(systems) <= set(SYSTEMS):
        raise CatalogError(f"{source}: `systems` must be an object with keys {SYSTEMS}")
    columns = []
    for system, tables in systems.items():
        if not isinstance(tables, Mapping):
            raise CatalogError(f"{source}: systems.{system} must map schema.table to columns")
        for relation, cols in tables.items():
            where = f"{source}: systems.{system}.{relation}"
            if relation.count(".") != 1 or not isinstance(cols, Mapping) or not cols:
                raise CatalogError(f"{where}: expected `schema.table` → {{column: kind}}")
            schema, table = relation.split(".")
            for column, kind in cols.items():
                columns.append(
                    PiiColumn(
                        system,
                        _ident(schema, where),
                        _ident(table, where),
                        _ident(column, where),
                        _kind(kind, f"{where}.{column}"),
                    )
                )
    return Catalog(str(doc["version"]), tuple(columns))


def dbt_meta_columns(manifest: Mapping[str, Any]) -> list[PiiColumn]:
    """Warehouse columns whose dbt model declares `meta: {pii: <kind>}` (in the manifest)."""
    found = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "snapshot", "seed"):
            continue
        if node.get("config", {}).get("materialized") == "view":
            continue  # a view holds no rows of its own: its table is searched
        for name, column in (node.get("columns") or {}).items():
            meta = {**(column.get("meta") or {}), **(column.get("config", {}).get("meta") or {})}
            if "pii" not in meta:
                continue
            where = f"dbt model {node.get('name')}.{name} meta.pii"
            found.append(
                PiiColumn(
                    "warehouse",
                    _ident(str(node["schema"]).lower(), where),
                    _ident(str(node.get("alias") or node["name"]).lower(), where),
                    _ident(name.lower(), where),
                    _kind(meta["pii"], where),
                )
            )
    return found


def load_catalog(path: Path | None = None, dbt_manifest: Path | None = None) -> Catalog:
    """The catalog file (default: the repo's) merged with the dbt models' `pii` meta."""
    path = path or DEFAULT_CATALOG
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CatalogError(f"PII catalog {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise CatalogError(f"PII catalog {path} is not valid JSON: {exc}") from None
    catalog = parse_catalog(doc, str(path))
    extra: list[PiiColumn] = []
    if dbt_manifest is not None and dbt_manifest.exists():
        extra = dbt_meta_columns(json.loads(dbt_manifest.read_text(encoding="utf-8")))
    return merge(catalog, extra)


def merge(catalog: Catalog, extra: Iterable[PiiColumn]) -> Catalog:
    """`catalog` plus `extra` columns; the same column twice with two kinds is an error."""
    by_key = {(c.system, c.schema, c.table, c.column): c for c in catalog.columns}
    for col in extra:
        key = (col.system, col.schema, col.table, col.column)
        if key in by_key and by_key[key].kind != col.kind:
            raise CatalogError(
                f"{col.system} {col.relation}.{col.column} is catalogued as {by_key[key].kind} "
                f"in the file and as {col.kind} in dbt meta"
            )
        by_key[key] = col
    return Catalog(catalog.version, tuple(by_key.values()))
