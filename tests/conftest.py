"""Fixtures shared by the whole test suite.

Everything here talks to real services on loopback; nothing is mocked:

- `moto_s3` / `s3_client` / `s3_bucket`: an S3-compatible moto server (real HTTP on
  127.0.0.1, one per test session) and fresh buckets on it.
- `pg_dsn_base` / `fresh_pg_dsn`: the local PostgreSQL server and a throw-away database per
  test. An unreachable server FAILS the test (it is part of the environment, never skipped).
- `snowflake_emulator`: fakesnow's server mode on loopback (one per test session), the
  Snowflake dialect's stand-in for dbt-snowflake and the Snowflake connector.
- `northstar_env`: a clean `NORTHSTAR_*` / `DAGSTER_HOME` environment rooted in `tmp_path`.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import background
import fakesnow_fixes
import pytest

# Bound at import: calling it imports the submodule `fakesnow.server`, which then shadows the
# function on the package, so a second `fakesnow.server()` in one process would fail.
from fakesnow import server as start_fakesnow_server

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DSN_BASE = f"postgresql://postgres@{PG_HOST}:{PG_PORT}"
PG_UNREACHABLE = (
    f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}; start it with: "
    "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
)

AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Fake credentials moto accepts; set for the whole session once `moto_s3` is used."""

AWS_UNSET_ENV = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
"""Variables that would make boto3 use a developer's real AWS identity instead of the fakes."""


# --------------------------------------------------------------------------------------------
# The demos, in the background from the end of collection (tests/background.py)
# --------------------------------------------------------------------------------------------

BACKGROUND = {
    background.EMBEDDED_MODULE: background.start_embedded,
    background.PRODUCTION_MODULE: background.start_production,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The demos' tests run last, so the suite works on while the demos run."""
    items.sort(key=lambda item: item.nodeid.startswith(tuple(BACKGROUND)))


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    for module, start in BACKGROUND.items():
        if any(item.nodeid.startswith(module) for item in session.items):
            start(PG_DSN_BASE)


def pytest_sessionfinish(session: pytest.Session) -> None:
    background.stop()


# --------------------------------------------------------------------------------------------
# S3 (moto server)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """Endpoint URL (`http://127.0.0.1:<port>`) of a moto S3 server running for the session.

    The server binds an OS-chosen free port on loopback. While it runs, the AWS credential
    variables hold fake test values (see `AWS_TEST_ENV`) and profile/session-token variables
    are removed; the previous environment is restored when the session ends. Pass the URL as
    `NORTHSTAR_S3_ENDPOINT_URL` / `endpoint_url`. State is in memory and shared by all tests,
    so use `s3_bucket` for a bucket of your own.
    """
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as mp:
        for name, value in AWS_TEST_ENV.items():
            mp.setenv(name, value)
        for name in AWS_UNSET_ENV:
            mp.delenv(name, raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_s3: str) -> Any:
    """A plain boto3 S3 client for the moto server, to arrange or inspect buckets directly."""
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=moto_s3, region_name=AWS_TEST_ENV["AWS_DEFAULT_REGION"]
    )


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """Name of a new, empty bucket (`ns-test-<hex>`) on the moto server, unique per test.

    Buckets are not deleted afterwards: the server's state is in memory and names never repeat.
    """
    name = f"ns-test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


def _pg_admin_connection(dsn_base: str) -> Any:
    """An autocommit connection to the `postgres` maintenance database."""
    import psycopg2

    conn = psycopg2.connect(f"{dsn_base}/postgres", connect_timeout=3)
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def pg_dsn_base() -> str:
    """`postgresql://postgres@127.0.0.1:5432` (no database), after checking the server answers.

    Append `/<dbname>` to get a DSN. Fails (never skips) when the server is down.
    """
    import psycopg2

    try:
        _pg_admin_connection(PG_DSN_BASE).close()
    except psycopg2.OperationalError:
        pytest.fail(PG_UNREACHABLE, pytrace=False)
    return PG_DSN_BASE


@pytest.fixture
def fresh_pg_dsn(pg_dsn_base: str) -> Iterator[str]:
    """DSN of a new, empty database `ns_test_<hex8>`, dropped after the test.

    Connections still open at the end (e.g. a leaked pool) are terminated before the drop.
    """
    name = f"ns_test_{uuid.uuid4().hex[:8]}"
    conn = _pg_admin_connection(pg_dsn_base)
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    try:
        yield f"{pg_dsn_base}/{name}"
    finally:
        conn = _pg_admin_connection(pg_dsn_base)
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            conn.close()


# --------------------------------------------------------------------------------------------
# Northstar settings environment
# --------------------------------------------------------------------------------------------


@pytest.fixture
def northstar_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean settings environment; returns the `NORTHSTAR_HOME` path.

    Every `NORTHSTAR_*` variable and `DAGSTER_HOME` is removed, then `NORTHSTAR_HOME` is set to
    `tmp_path / "home"` and `DAGSTER_HOME` to `tmp_path / "home" / "dagster"`. The folders are
    NOT created: code under test must create what it needs. Add further settings with
    `monkeypatch.setenv`; everything is restored after the test.
    """
    for name in list(os.environ):
        if name.startswith("NORTHSTAR_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("NORTHSTAR_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


@pytest.fixture(params=["duckdb", "snowflake"])
def either_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty warehouse resource of each kind: DuckDB, and Snowflake's dialect through
    fakesnow's in-process emulation of the connector (the same SQL must hold on both)."""
    from northstar_platform.resources.warehouse import DuckDBWarehouse, SnowflakeWarehouse

    if request.param == "duckdb":
        yield DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
        return
    import fakesnow

    (tmp_path / "fakesnow").mkdir()
    with fakesnow.patch(db_path=str(tmp_path / "fakesnow")):
        yield SnowflakeWarehouse(
            account="emulated",
            user="pipeline",
            password="not-a-secret",
            role="NORTHSTAR_PIPELINE",
            warehouse="NORTHSTAR_WH",
            database="NORTHSTAR",
        )


# --------------------------------------------------------------------------------------------
# Snowflake emulator (fakesnow server mode)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def snowflake_emulator() -> Iterator[dict[str, Any]]:
    """Connection kwargs (`host`, `port`, `protocol`, `user`, ...) of a fakesnow server.

    Its in-memory databases are shared by every test of the session: create a database of
    your own (a unique name) and point dbt at it with NORTHSTAR_SNOWFLAKE_DATABASE.
    """
    fakesnow_fixes.apply()
    with start_fakesnow_server() as kwargs:
        yield kwargs
