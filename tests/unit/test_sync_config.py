"""Sync configuration (`sync_tables.json` / `NORTHSTAR_SYNC_CONFIG`): defaults, and one
`SettingsError` naming the file and the field for every bad entry.

Identifiers end up in SQL (quoted), so anything that is not a plain lower-case identifier
must be refused at load time, before any SQL is built from it.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from northstar_platform.errors import SettingsError
from northstar_platform.lib.sync_config import DEFAULT_CONFIG, SyncTable, load_sync_tables
from northstar_platform.settings import get_settings

MINIMAL = {"table_name": "orders", "watermark_col": "updated_at", "primary_keys": ["order_id"]}


def write_config(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "sync.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def load_error(tmp_path: Path, document: Any) -> tuple[Path, str]:
    """(config path, message of the SettingsError loading `document` raises)."""
    path = write_config(tmp_path, document)
    with pytest.raises(SettingsError) as info:
        load_sync_tables(path)
    message = str(info.value)
    assert "\n" not in message
    return path, message


# --------------------------------------------------------------------------------------------
# Valid configurations and defaults
# --------------------------------------------------------------------------------------------


def test_a_minimal_entry_gets_the_documented_defaults(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"tables": [MINIMAL]})

    assert load_sync_tables(path) == [
        SyncTable(
            source_schema="public",
            source_table="orders",
            watermark_col="updated_at",
            primary_keys=("order_id",),
            full_refresh=False,
            soft_delete_col=None,
            allow_additive_columns=False,
        )
    ]


def test_every_field_set(tmp_path: Path) -> None:
    entry = {
        "table_name": "sales.order_lines",
        "watermark_col": "modified_ts",
        "primary_keys": ["order_id", "line_no"],
        "full_refresh": True,
        "soft_delete_col": "deleted",
        "allow_additive_columns": True,
    }
    (table,) = load_sync_tables(write_config(tmp_path, {"tables": [entry]}))

    assert table == SyncTable(
        "sales", "order_lines", "modified_ts", ("order_id", "line_no"), True, "deleted", True
    )
    assert table.name == "order_lines"
    assert table.qualified_source == '"sales"."order_lines"'


def test_an_empty_table_list_is_valid(tmp_path: Path) -> None:
    assert load_sync_tables(write_config(tmp_path, {"tables": []})) == []


def test_the_repo_default_configuration_loads() -> None:
    tables = load_sync_tables()

    assert DEFAULT_CONFIG.name == "sync_tables.json"
    assert [(t.source_schema, t.name, t.watermark_col) for t in tables] == [
        ("public", "customers", "updated_at"),
        ("public", "core_preferences", "updated_ts"),
    ]
    assert tables[0].primary_keys == ("customer_id",)
    assert all(not t.full_refresh and not t.allow_additive_columns for t in tables)


def test_northstar_sync_config_overrides_the_repo_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"tables": [MINIMAL]})

    settings = get_settings({"NORTHSTAR_SYNC_CONFIG": str(path)})

    assert settings.sync_config == path.resolve()
    assert [t.name for t in load_sync_tables(settings.sync_config)] == ["orders"]
    assert get_settings({}).sync_config is None  # → the repo's sync_tables.json


def test_northstar_sync_config_naming_a_missing_file_is_a_settings_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(SettingsError) as info:
        get_settings({"NORTHSTAR_SYNC_CONFIG": str(missing)})
    assert "NORTHSTAR_SYNC_CONFIG" in str(info.value)
    assert "nope.json" in str(info.value)

    with pytest.raises(SettingsError) as info:
        load_sync_tables(missing)
    assert str(missing) in str(info.value)


# --------------------------------------------------------------------------------------------
# Bad documents
# --------------------------------------------------------------------------------------------


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path, message = load_error(tmp_path, '{"tables": [')
    assert str(path) in message
    assert "not valid JSON" in message


@pytest.mark.parametrize("document", [[MINIMAL], {"table": [MINIMAL]}, {"tables": MINIMAL}, 7])
def test_a_document_without_a_tables_list_names_the_expected_shape(
    tmp_path: Path, document: Any
) -> None:
    path, message = load_error(tmp_path, document)
    assert str(path) in message
    assert '"tables"' in message


def test_a_table_configured_twice_is_refused(tmp_path: Path) -> None:
    twice = {**MINIMAL, "table_name": "public.orders"}
    path, message = load_error(tmp_path, {"tables": [MINIMAL, twice]})
    assert str(path) in message
    assert "configured twice" in message
    assert "orders" in message


# --------------------------------------------------------------------------------------------
# Bad entries: the message names the file, the entry and the field
# --------------------------------------------------------------------------------------------

BAD_ENTRIES = [
    # (entry, field named in the message, another fragment of the message)
    ("orders", "tables[1]", "expected an object"),
    (["orders"], "tables[1]", "expected an object"),
    ({**MINIMAL, "watermark": "updated_at"}, "tables[1]", "unknown field 'watermark'"),
    ({**MINIMAL, "Primary_Keys": ["x"]}, "tables[1]", "unknown field 'Primary_Keys'"),
    (
        {"watermark_col": "updated_at", "primary_keys": ["id"]},
        "tables[1]",
        "table_name is required",
    ),
    ({"table_name": "orders", "primary_keys": ["id"]}, "tables[1]", "watermark_col is required"),
    ({"table_name": "orders", "watermark_col": "ts"}, "tables[1]", "primary_keys is required"),
    ({**MINIMAL, "table_name": "db.public.orders"}, "tables[1].table_name", "schema.table"),
    ({**MINIMAL, "table_name": "Orders"}, "tables[1].table_name", "'Orders'"),
    ({**MINIMAL, "table_name": "public.9orders"}, "tables[1].table_name", "'9orders'"),
    ({**MINIMAL, "table_name": "public."}, "tables[1].table_name", "''"),
    ({**MINIMAL, "table_name": 'orders"; drop table x; --'}, "tables[1].table_name", "identifier"),
    ({**MINIMAL, "table_name": "ord ers"}, "tables[1].table_name", "identifier"),
    ({**MINIMAL, "watermark_col": "updated-at"}, "tables[1].watermark_col", "'updated-at'"),
    ({**MINIMAL, "watermark_col": 'x" or 1=1 --'}, "tables[1].watermark_col", "identifier"),
    ({**MINIMAL, "watermark_col": 5}, "tables[1].watermark_col", "5"),
    ({**MINIMAL, "watermark_col": None}, "tables[1].watermark_col", "None"),
    ({**MINIMAL, "primary_keys": []}, "tables[1].primary_keys", "non-empty list"),
    ({**MINIMAL, "primary_keys": "order_id"}, "tables[1].primary_keys", "non-empty list"),
    ({**MINIMAL, "primary_keys": ["order_id", "Line"]}, "tables[1].primary_keys", "'Line'"),
    ({**MINIMAL, "primary_keys": [None]}, "tables[1].primary_keys", "None"),
    ({**MINIMAL, "full_refresh": "true"}, "tables[1].full_refresh", "true or false"),
    ({**MINIMAL, "full_refresh": 1}, "tables[1].full_refresh", "true or false"),
    (
        {**MINIMAL, "allow_additive_columns": "yes"},
        "tables[1].allow_additive_columns",
        "true or false",
    ),
    ({**MINIMAL, "soft_delete_col": "is deleted"}, "tables[1].soft_delete_col", "'is deleted'"),
    ({**MINIMAL, "soft_delete_col": ["is_deleted"]}, "tables[1].soft_delete_col", "identifier"),
]


@pytest.mark.parametrize(("entry", "field", "fragment"), BAD_ENTRIES)
def test_every_bad_entry_is_refused_naming_file_and_field(
    tmp_path: Path, entry: Any, field: str, fragment: str
) -> None:
    # The bad entry is the second one: the message must point at it, not at the first.
    path, message = load_error(tmp_path, {"tables": [{**MINIMAL, "table_name": "ok"}, entry]})

    assert message.startswith(f"{path} {field}"), message
    assert fragment in message, message
