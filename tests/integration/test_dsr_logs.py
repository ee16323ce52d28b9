"""No raw email anywhere in what a discovery logs; one trace id across both systems.

Alice's request names her email only. After a discovery that finds her in both systems, the
email (in any case) must not appear in the Python log records (caplog), stdout/stderr
(capsys), the JSON log file, the Dagster run's event log, the materialization metadata or the
status table — only the salted sha256 computed here by hand.
"""

import hashlib
import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from tests.integration import dsr_world as w

EMAIL = "Alice@Example.com"


def test_no_raw_email_in_any_log(
    northstar_env: Path,
    fresh_pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "pepper-42")
    w.seed_postgres(fresh_pg_dsn)
    w.seed_warehouse(northstar_env)
    w.write_request(northstar_env, "req-log", "access", {"email": EMAIL}, "2026-11-20T10:00:00Z")

    caplog.set_level(logging.DEBUG)
    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-log")
        assert result.success, w.failure_message(result)
        dagster_log = "\n".join(str(e.user_message) for e in instance.all_logs(result.run_id))
    captured = capsys.readouterr()
    json_log = (northstar_env / "logs" / "dsr.jsonl").read_text()
    [materialization] = result.asset_materializations_for_node("dsr__dsr_discovery")
    metadata = json.dumps({k: str(v.value) for k, v in materialization.metadata.items()})
    status = str(w.warehouse(northstar_env, "select * from ops.dsr_requests"))

    expected_hash = hashlib.sha256(b"pepper-42|email:alice@example.com").hexdigest()
    places = {
        "caplog": caplog.text,
        "stdout": captured.out,
        "stderr": captured.err,
        "json log": json_log,
        "dagster": dagster_log,
        "metadata": metadata,
        "status": status,
    }
    for where, text in places.items():
        assert "alice@example.com" not in text.lower(), where
        assert "alice liddell" not in text.lower(), where
    for where in ("caplog", "json log", "metadata", "status"):
        assert expected_hash in places[where], where

    events = [json.loads(line) for line in json_log.splitlines()]
    assert {e["trace_id"] for e in events} == {events[0]["trace_id"]}
    assert {e["subject_hash"] for e in events} == {expected_hash}
    systems = {e["system"] for e in events if e["event"] == "lookup_done"}
    assert systems == {"postgres", "warehouse"}
    assert events[0]["trace_id"] in metadata
