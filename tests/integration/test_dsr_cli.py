"""`northstar dsr`: discover, list, erase only with --confirm, status, one-line errors."""

import io
from pathlib import Path

import psycopg2
import pytest
from click.testing import CliRunner
from rich.console import Console

from tests.integration import dsr_world as w


def test_dsr_commands(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from northstar_platform import cli

    printed = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=printed, width=200, highlight=False))

    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    w.seed_postgres(fresh_pg_dsn)
    w.seed_warehouse(northstar_env)
    far = "2099-01-01T00:00:00Z"  # received in the future: nowhere near its deadline
    w.write_request(northstar_env, "req-bob", "erasure", {"customer_id": "C12"}, far)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        printed.seek(0)
        printed.truncate()
        result = runner.invoke(cli.main, ["dsr", *args], catch_exceptions=False)
        return result.exit_code, result.output + printed.getvalue()

    code, out = run("list", "--tsv")
    header, line = out.splitlines()
    assert (code, header) == (0, "request\tkind\tstatus\tdeadline (UTC)\tdays left\trows\tdead")
    fields = line.split("\t")
    assert fields[:4] + fields[5:] == ["req-bob", "erasure", "PENDING", "2099-01-31 00:00", "", ""]
    assert float(fields[4]) > 365 * 72  # days left until 2099-01-31
    code, out = run("discover", "req-bob")
    # Bob (C12): customers, orders, preferences in PostgreSQL; customers_latest, stg_orders,
    # orders_latest, a quarantined payload and a raw privacy line in the warehouse.
    assert (code, out.strip()) == (
        0,
        "req-bob: FOUND, 8 row(s) in 8 table(s), 0 dead letter(s); report dsr/reports/req-bob.json",
    )
    code, out = run("erase", "req-bob")
    assert code == 1 and "4 statement(s) planned; rerun with --confirm to erase" in out
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("select email from customers where customer_id = 'C12'")
        assert cur.fetchone() == ("bob@example.com",)
    conn.close()
    code, out = run("erase", "req-bob", "--confirm")
    assert (code, out.splitlines()[-1]) == (
        0,
        "req-bob: erased, 4 row(s) changed; see ops.audit_corrections",
    )
    with psycopg2.connect(fresh_pg_dsn) as conn, conn.cursor() as cur:
        cur.execute("select email, full_name, phone from customers where customer_id = 'C12'")
        assert cur.fetchone() == (None, None, None)
    conn.close()
    code, out = run("status", "req-bob")
    assert code == 0 and "status: ERASED" in out
    assert run("status", "req-nobody") == (2, "error: request req-nobody: unknown\n")
