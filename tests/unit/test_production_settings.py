"""The production profile's settings: identifier case per warehouse, dbt targets, the
Dagster instance file, retention and key-pair auth."""

from pathlib import Path

import pytest

from northstar_platform.errors import SettingsError
from northstar_platform.layers import STG_ORDERS, quote, quote_in, quote_source
from northstar_platform.settings import REPO_ROOT, get_settings

SNOWFLAKE = {
    "NORTHSTAR_WAREHOUSE": "snowflake",
    "NORTHSTAR_SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1",
    "NORTHSTAR_SNOWFLAKE_USER": "NORTHSTAR_SVC",
    "NORTHSTAR_SNOWFLAKE_PASSWORD": "secret",
}


def test_snowflake_identifiers_are_upper_case_like_dbts_unquoted_names(northstar_env, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_WAREHOUSE", "snowflake")
    assert STG_ORDERS.qualified == '"STAGING"."STG_ORDERS"'
    assert quote("ingested_ts") == '"INGESTED_TS"'
    assert quote_in("warehouse", "email") == '"EMAIL"'
    # PostgreSQL keeps its names as written, whatever the warehouse.
    assert quote_source("updated_ts") == '"updated_ts"'
    assert quote_in("postgres", "email") == '"email"'


def test_duckdb_identifiers_keep_their_spelling(northstar_env):
    assert STG_ORDERS.qualified == '"staging"."stg_orders"'
    assert quote_in("warehouse", "email") == '"email"'


def test_unsafe_identifiers_are_refused_in_both_systems():
    for fn in (quote, quote_source):
        with pytest.raises(ValueError, match="unsafe SQL identifier"):
            fn('x"; drop table y; --')


def test_the_emulator_target_belongs_to_snowflake_only():
    assert get_settings({**SNOWFLAKE, "NORTHSTAR_DBT_TARGET": "snowflake_emulator"}).dbt_target == (
        "snowflake_emulator"
    )
    with pytest.raises(SettingsError, match="NORTHSTAR_DBT_TARGET='snowflake_emulator'"):
        get_settings({"NORTHSTAR_DBT_TARGET": "snowflake_emulator"})
    with pytest.raises(SettingsError, match="expected one of snowflake, snowflake_emulator"):
        get_settings({**SNOWFLAKE, "NORTHSTAR_DBT_TARGET": "duckdb"})


def test_instance_config_defaults_to_the_repos_sqlite_file(tmp_path: Path):
    assert get_settings({}).dagster_yaml == REPO_ROOT / "dagster.yaml"
    production = REPO_ROOT / "deploy" / "dagster.production.yaml"
    chosen = get_settings({"NORTHSTAR_DAGSTER_YAML": str(production)})
    assert chosen.dagster_yaml == production
    with pytest.raises(SettingsError, match=r"NORTHSTAR_DAGSTER_YAML=.*no such file"):
        get_settings({"NORTHSTAR_DAGSTER_YAML": str(tmp_path / "missing.yaml")})


def test_retention_defaults_are_the_seeds_and_can_be_set():
    default = get_settings({}).retention
    assert (default.landing_days, default.warehouse_days) == (90, 730)
    tuned = get_settings(
        {"NORTHSTAR_RETENTION_LANDING_DAYS": "30", "NORTHSTAR_RETENTION_WAREHOUSE_DAYS": "365"}
    ).retention
    assert (tuned.landing_days, tuned.warehouse_days) == (30, 365)
    with pytest.raises(SettingsError, match="NORTHSTAR_RETENTION_LANDING_DAYS"):
        get_settings({"NORTHSTAR_RETENTION_LANDING_DAYS": "0"})


def test_key_pair_auth_with_a_passphrase(tmp_path: Path):
    key = tmp_path / "rsa_key.p8"
    key.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    env = {k: v for k, v in SNOWFLAKE.items() if k != "NORTHSTAR_SNOWFLAKE_PASSWORD"}
    sf = get_settings(
        {
            **env,
            "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH": str(key),
            "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "p4ss",
        }
    ).snowflake
    assert sf is not None
    assert (sf.password, sf.private_key_path, sf.private_key_passphrase) == (None, str(key), "p4ss")
    assert "p4ss" not in repr(sf)


def test_the_warehouse_resource_holds_secrets_by_reference(northstar_env, monkeypatch):
    """The resource (shown on the UI's resource page) names the variables; a session still
    logs in with their values, inside a run or called directly by a command."""
    import dagster as dg

    from northstar_platform.defs.resources import build_warehouse
    from northstar_platform.resources.warehouse import _secret

    for name, value in SNOWFLAKE.items():
        monkeypatch.setenv(name, value)
    warehouse = build_warehouse(get_settings())
    assert isinstance(warehouse.password, dg.EnvVar)
    assert "secret" not in repr(warehouse).replace("NORTHSTAR_SNOWFLAKE_PASSWORD", "")
    assert _secret(warehouse.password) == "secret"
    assert _secret(warehouse.private_key_passphrase) is None
