"""`get_settings`: DESIGN §3 defaults, overrides, and one clear error per bad variable."""

from pathlib import Path

import pytest

from northstar_platform.errors import NorthstarError, SettingsError
from northstar_platform.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/northstar"

SNOWFLAKE_PASSWORD = "hunter2-Very$ecret"
SNOWFLAKE_ENV = {
    "NORTHSTAR_WAREHOUSE": "snowflake",
    "NORTHSTAR_SNOWFLAKE_ACCOUNT": "xy12345.eu-west-1",
    "NORTHSTAR_SNOWFLAKE_USER": "PIPELINE_USER",
    "NORTHSTAR_SNOWFLAKE_PASSWORD": SNOWFLAKE_PASSWORD,
}


def _error(env: dict[str, str]) -> str:
    """The message of the SettingsError `env` must raise."""
    with pytest.raises(SettingsError) as info:
        get_settings(env)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------------------------


def test_defaults_with_empty_environment():
    home = REPO_ROOT / ".northstar"
    s = get_settings({})

    assert s.home == home
    assert s.warehouse == "duckdb"
    assert s.duckdb_path == home / "warehouse.duckdb"
    assert s.source_dsn == DEFAULT_DSN
    assert s.landing_url == str(home / "landing")
    assert s.landing_is_s3 is False
    assert s.s3_endpoint_url is None
    assert s.dagster_home == home / "dagster"
    assert s.dbt_target == "duckdb"
    assert s.source_connect_timeout_s == 10
    assert s.source_statement_timeout_s == 300
    assert s.quarantine_max_rate == 0.05
    assert s.snowflake is None


def test_paths_default_under_northstar_home(tmp_path):
    home = tmp_path / "state"
    s = get_settings({"NORTHSTAR_HOME": str(home)})

    assert s.home == home
    assert s.duckdb_path == home / "warehouse.duckdb"
    assert s.landing_url == str(home / "landing")
    assert s.dagster_home == home / "dagster"
    assert s.home.is_absolute() and s.dagster_home.is_absolute()


def test_relative_home_is_resolved_against_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = get_settings({"NORTHSTAR_HOME": "rel/home"})

    assert s.home == tmp_path / "rel" / "home"
    assert s.duckdb_path == tmp_path / "rel" / "home" / "warehouse.duckdb"
    assert s.dagster_home == tmp_path / "rel" / "home" / "dagster"


def test_empty_values_mean_the_default(tmp_path):
    s = get_settings(
        {
            "NORTHSTAR_HOME": str(tmp_path),
            "NORTHSTAR_DUCKDB_PATH": "",
            "NORTHSTAR_LANDING_URL": "",
            "NORTHSTAR_S3_ENDPOINT_URL": "",
            "NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S": "",
            "NORTHSTAR_QUARANTINE_MAX_RATE": "",
        }
    )
    assert s.duckdb_path == tmp_path / "warehouse.duckdb"
    assert s.landing_url == str(tmp_path / "landing")
    assert s.s3_endpoint_url is None
    assert s.source_connect_timeout_s == 10
    assert s.quarantine_max_rate == 0.05


def test_reads_os_environ_when_no_mapping_is_given(northstar_env, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S", "42")
    s = get_settings()

    assert s.home == northstar_env
    assert s.dagster_home == northstar_env / "dagster"
    assert s.landing_url == str(northstar_env / "landing")
    assert s.source_statement_timeout_s == 42


def test_unknown_variable_in_os_environ_is_an_error(northstar_env, monkeypatch):
    monkeypatch.setenv("NORTHSTAR_WAREHOUS", "duckdb")
    with pytest.raises(SettingsError, match="NORTHSTAR_WAREHOUS;"):
        get_settings()


# --------------------------------------------------------------------------------------------
# Overrides
# --------------------------------------------------------------------------------------------


def test_every_setting_can_be_overridden(tmp_path):
    s = get_settings(
        {
            "NORTHSTAR_HOME": str(tmp_path / "h"),
            "NORTHSTAR_DUCKDB_PATH": str(tmp_path / "elsewhere" / "wh.duckdb"),
            "NORTHSTAR_SOURCE_DSN": "postgres://app:pw@db.internal:6543/oltp",
            "NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S": "3",
            "NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S": "45",
            "NORTHSTAR_LANDING_URL": str(tmp_path / "drops"),
            "NORTHSTAR_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "DAGSTER_HOME": str(tmp_path / "dh"),
            "NORTHSTAR_QUARANTINE_MAX_RATE": "0.2",
        }
    )
    assert s.home == tmp_path / "h"
    assert s.duckdb_path == tmp_path / "elsewhere" / "wh.duckdb"
    assert s.source_dsn == "postgres://app:pw@db.internal:6543/oltp"
    assert s.source_connect_timeout_s == 3
    assert s.source_statement_timeout_s == 45
    assert s.landing_url == str(tmp_path / "drops")
    assert s.landing_is_s3 is False
    assert s.s3_endpoint_url == "http://127.0.0.1:9000"
    assert s.dagster_home == tmp_path / "dh"
    assert s.quarantine_max_rate == 0.2


def test_home_tilde_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    s = get_settings({"NORTHSTAR_DUCKDB_PATH": "~/wh.duckdb", "NORTHSTAR_HOME": "~/ns"})
    assert s.duckdb_path == tmp_path / "wh.duckdb"
    assert s.home == tmp_path / "ns"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s3://landing-bucket", "s3://landing-bucket"),
        ("s3://landing-bucket/", "s3://landing-bucket"),
        ("s3://landing-bucket/raw/zone/", "s3://landing-bucket/raw/zone"),
    ],
)
def test_s3_landing_url(raw, expected, tmp_path):
    s = get_settings({"NORTHSTAR_HOME": str(tmp_path), "NORTHSTAR_LANDING_URL": raw})
    assert s.landing_url == expected
    assert s.landing_is_s3 is True


@pytest.mark.parametrize("rate", ["0", "1", "0.0", "1.0"])
def test_quarantine_rate_bounds_are_inclusive(rate):
    assert get_settings({"NORTHSTAR_QUARANTINE_MAX_RATE": rate}).quarantine_max_rate == float(rate)


def test_dbt_target_must_build_the_chosen_warehouse():
    # Python's tables and dbt's models live in one warehouse: dbt cannot build elsewhere.
    with pytest.raises(SettingsError, match="with NORTHSTAR_WAREHOUSE=duckdb expected one of"):
        get_settings({"NORTHSTAR_DBT_TARGET": "snowflake"})


# --------------------------------------------------------------------------------------------
# Snowflake
# --------------------------------------------------------------------------------------------


def test_snowflake_with_password_and_defaults():
    s = get_settings(SNOWFLAKE_ENV)

    assert s.warehouse == "snowflake"
    assert s.dbt_target == "snowflake"
    sf = s.snowflake
    assert sf is not None
    assert (sf.account, sf.user, sf.password) == (
        "xy12345.eu-west-1",
        "PIPELINE_USER",
        SNOWFLAKE_PASSWORD,
    )
    assert (sf.role, sf.warehouse, sf.database) == (
        "NORTHSTAR_PIPELINE",
        "NORTHSTAR_WH",
        "NORTHSTAR",
    )
    assert sf.private_key_path is None
    assert (sf.host, sf.port, sf.protocol) == (None, None, "https")


def test_snowflake_with_key_file_and_emulator_overrides(tmp_path):
    key = tmp_path / "rsa_key.p8"
    key.write_text("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n")
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != "NORTHSTAR_SNOWFLAKE_PASSWORD"}
    env |= {
        "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH": str(key),
        "NORTHSTAR_SNOWFLAKE_ROLE": "ANALYST",
        "NORTHSTAR_SNOWFLAKE_WAREHOUSE": "XS_WH",
        "NORTHSTAR_SNOWFLAKE_DATABASE": "NS_DEV",
        "NORTHSTAR_SNOWFLAKE_HOST": "localhost",
        "NORTHSTAR_SNOWFLAKE_PORT": "8085",
        "NORTHSTAR_SNOWFLAKE_PROTOCOL": "http",
    }
    sf = get_settings(env).snowflake

    assert sf is not None
    assert sf.password is None
    assert sf.private_key_path == str(key)
    assert (sf.role, sf.warehouse, sf.database) == ("ANALYST", "XS_WH", "NS_DEV")
    assert (sf.host, sf.port, sf.protocol) == ("localhost", 8085, "http")


def test_snowflake_variables_are_ignored_for_duckdb():
    s = get_settings({k: v for k, v in SNOWFLAKE_ENV.items() if k != "NORTHSTAR_WAREHOUSE"})
    assert s.warehouse == "duckdb"
    assert s.snowflake is None


def test_snowflake_password_never_appears_in_repr_or_str():
    s = get_settings(SNOWFLAKE_ENV)

    for text in (repr(s.snowflake), str(s.snowflake), repr(s), str(s)):
        assert SNOWFLAKE_PASSWORD not in text
        assert "hunter2" not in text
    assert "xy12345.eu-west-1" in repr(s.snowflake)


# --------------------------------------------------------------------------------------------
# Errors: every bad value raises SettingsError naming its variable
# --------------------------------------------------------------------------------------------


def test_settings_error_is_a_northstar_error():
    assert issubclass(SettingsError, NorthstarError)


def test_unknown_northstar_variable_is_an_error():
    message = _error({"NORTHSTAR_FOO": "1"})
    assert message == "unknown setting NORTHSTAR_FOO; the README lists every setting"


def test_unknown_variable_close_to_a_known_one_suggests_it():
    message = _error({"NORTHSTAR_WAREHOSE": "duckdb"})
    assert message == "unknown setting NORTHSTAR_WAREHOSE; did you mean NORTHSTAR_WAREHOUSE?"


def test_first_unknown_variable_in_sorted_order_is_named():
    message = _error({"NORTHSTAR_ZZZ": "1", "NORTHSTAR_AAA": "1"})
    assert message.startswith("unknown setting NORTHSTAR_AAA;")


def test_other_variables_are_not_settings():
    assert get_settings({"PATH": "/bin", "NORTHSTARX": "1", "northstar_foo": "1"}).warehouse == (
        "duckdb"
    )


INVALID = [
    ("NORTHSTAR_WAREHOUSE", "bigquery"),
    ("NORTHSTAR_WAREHOUSE", ""),
    ("NORTHSTAR_DBT_TARGET", "postgres"),
    ("NORTHSTAR_SOURCE_DSN", "mysql://root@127.0.0.1:3306/northstar"),
    ("NORTHSTAR_SOURCE_DSN", "host=127.0.0.1 dbname=northstar"),
    ("NORTHSTAR_LANDING_URL", "ftp://files.example.com/landing"),
    ("NORTHSTAR_LANDING_URL", "gs://bucket/prefix"),
    ("NORTHSTAR_LANDING_URL", "file:///tmp/landing"),
    ("NORTHSTAR_LANDING_URL", "s3://"),
    ("NORTHSTAR_LANDING_URL", "s3:///prefix-without-bucket"),
    ("NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", "ten"),
    ("NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", "1.5"),
    ("NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", "0"),
    ("NORTHSTAR_SOURCE_CONNECT_TIMEOUT_S", "-3"),
    ("NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S", "5m"),
    ("NORTHSTAR_SOURCE_STATEMENT_TIMEOUT_S", "0"),
    ("NORTHSTAR_QUARANTINE_MAX_RATE", "1.5"),
    ("NORTHSTAR_QUARANTINE_MAX_RATE", "-0.1"),
    ("NORTHSTAR_QUARANTINE_MAX_RATE", "5%"),
    ("NORTHSTAR_QUARANTINE_MAX_RATE", "nan"),
    ("NORTHSTAR_QUARANTINE_MAX_RATE", "inf"),
    ("NORTHSTAR_SYNC_CONFIG", "/no/such/sync_tables.json"),
    ("NORTHSTAR_SYNC_DRIFT_SLA_HOURS", "two"),
    ("NORTHSTAR_SYNC_DRIFT_SLA_HOURS", "0"),
    ("NORTHSTAR_SYNC_DRIFT_SLA_HOURS", "-1"),
    ("NORTHSTAR_SYNC_DRIFT_SLA_HOURS", "inf"),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_invalid_value_names_the_variable(name, value, tmp_path):
    message = _error({"NORTHSTAR_HOME": str(tmp_path), name: value})
    assert name in message


def test_bad_dsn_message_does_not_echo_the_password():
    message = _error({"NORTHSTAR_SOURCE_DSN": "mysql://appuser:TopSecretPw@db:3306/x"})
    assert "NORTHSTAR_SOURCE_DSN" in message
    assert "TopSecretPw" not in message


@pytest.mark.parametrize(
    "missing", ["NORTHSTAR_SNOWFLAKE_ACCOUNT", "NORTHSTAR_SNOWFLAKE_USER"], ids=["account", "user"]
)
def test_snowflake_without_required_variable(missing):
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != missing}
    message = _error(env)
    assert missing in message
    assert SNOWFLAKE_PASSWORD not in message


def test_snowflake_with_empty_account_is_missing():
    message = _error(SNOWFLAKE_ENV | {"NORTHSTAR_SNOWFLAKE_ACCOUNT": ""})
    assert "NORTHSTAR_SNOWFLAKE_ACCOUNT" in message


def test_snowflake_without_password_or_key():
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != "NORTHSTAR_SNOWFLAKE_PASSWORD"}
    message = _error(env)
    assert "NORTHSTAR_SNOWFLAKE_PASSWORD" in message
    assert "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH" in message


def test_snowflake_key_file_that_does_not_exist(tmp_path):
    missing = tmp_path / "no-such-key.p8"
    env = {k: v for k, v in SNOWFLAKE_ENV.items() if k != "NORTHSTAR_SNOWFLAKE_PASSWORD"}
    message = _error(env | {"NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH": str(missing)})
    assert "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH" in message
    assert str(missing) in message


def test_snowflake_key_path_that_is_a_directory(tmp_path):
    message = _error(SNOWFLAKE_ENV | {"NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH": str(tmp_path)})
    assert "NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PATH" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NORTHSTAR_SNOWFLAKE_PROTOCOL", "ftp"),
        ("NORTHSTAR_SNOWFLAKE_PORT", "http"),
        ("NORTHSTAR_SNOWFLAKE_PORT", "0"),
    ],
)
def test_snowflake_invalid_emulator_overrides(name, value):
    message = _error(SNOWFLAKE_ENV | {name: value})
    assert name in message
    assert SNOWFLAKE_PASSWORD not in message


def test_sync_settings_default_and_override(tmp_path):
    defaults = get_settings({"NORTHSTAR_HOME": str(tmp_path)})
    assert defaults.sync_config is None  # the repo's sync_tables.json
    assert defaults.sync_drift_sla_hours == 2.0
    config = tmp_path / "tables.json"
    config.write_text('{"tables": []}')
    custom = get_settings(
        {"NORTHSTAR_SYNC_CONFIG": str(config), "NORTHSTAR_SYNC_DRIFT_SLA_HOURS": "0.5"}
    )
    assert custom.sync_config == config
    assert custom.sync_drift_sla_hours == 0.5
