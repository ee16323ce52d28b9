"""Bad input reaches the user as one clear line and a non-zero exit, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NORTHSTAR = str(Path(sys.executable).parent / "northstar")


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
    return subprocess.run(
        [NORTHSTAR, *args],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out
    return [line for line in out.splitlines() if line.startswith("error:")]


def test_unknown_setting(tmp_path: Path) -> None:
    result = _run(
        ["materialize", "--from", "2026-11-01", "--to", "2026-11-01"],
        NORTHSTAR_HOME=str(tmp_path),
        NORTHSTAR_WAREHOSE="duckdb",
    )
    assert result.returncode == 2
    assert _error_lines(result) == [
        "error: unknown setting NORTHSTAR_WAREHOSE; did you mean NORTHSTAR_WAREHOUSE?"
    ]


def test_missing_postgresql(tmp_path: Path) -> None:
    result = _run(
        ["materialize", "--from", "2026-11-01", "--to", "2026-11-03"],
        NORTHSTAR_HOME=str(tmp_path),
        NORTHSTAR_SOURCE_DSN="postgresql://postgres@127.0.0.1:1/northstar",
    )
    assert result.returncode == 2
    [line] = _error_lines(result)
    assert line.startswith("error: source PostgreSQL 127.0.0.1:1/northstar is unreachable")
    assert "NORTHSTAR_SOURCE_DSN" in line


def test_unreachable_bucket(tmp_path: Path, moto_s3: str, fresh_pg_dsn: str) -> None:
    result = _run(
        ["demo", "generate", "--start", "2026-11-01", "--days", "1", "--scale", "0.1"],
        NORTHSTAR_HOME=str(tmp_path),
        NORTHSTAR_SOURCE_DSN=fresh_pg_dsn,
        NORTHSTAR_LANDING_URL="s3://no-such-bucket/landing",
        NORTHSTAR_S3_ENDPOINT_URL=moto_s3,
    )
    assert result.returncode == 2
    [line] = _error_lines(result)
    assert "bucket 'no-such-bucket' does not exist" in line


def test_malformed_landing_file_names_the_file(tmp_path: Path, fresh_pg_dsn: str) -> None:
    import psycopg2

    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "create table orders (order_id text primary key, customer_id text, status text, "
            "currency text, amount_cents bigint, created_at timestamp, updated_at timestamp, "
            "is_deleted boolean)"
        )
    bad = tmp_path / "landing" / "orders" / "2026" / "11" / "01" / "00" / "bad.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"this is not parquet")
    result = _run(
        ["materialize", "--select", "group:orders", "--from", "2026-11-01", "--to", "2026-11-01"],
        NORTHSTAR_HOME=str(tmp_path),
        NORTHSTAR_SOURCE_DSN=fresh_pg_dsn,
    )
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed:")]
    [line] = failed
    assert line.startswith(f"failed: raw__raw_orders [2026-11-01]: {bad} is not a readable parquet")
    assert "magic bytes not found" in line


def test_reversed_range(tmp_path: Path) -> None:
    result = _run(
        ["materialize", "--from", "2026-11-03", "--to", "2026-11-01"], NORTHSTAR_HOME=str(tmp_path)
    )
    assert result.returncode == 2
    assert _error_lines(result) == ["error: --to 2026-11-01 is before --from 2026-11-03"]
