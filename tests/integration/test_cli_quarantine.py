"""`northstar quarantine list/release` on a real landing folder and warehouse."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NORTHSTAR = str(Path(sys.executable).parent / "northstar")
DAY = "2026-11-05"


def _event(event_id: str, amount: int) -> str:
    return json.dumps(
        {
            "id": event_id,
            "type": "charge.succeeded",
            "created": 1793869200,
            "data": {
                "object": {
                    "id": f"ch_{event_id}",
                    "amount": amount,
                    "currency": "usd",
                    "status": "succeeded",
                    "metadata": {"order_id": "ord_1"},
                }
            },
        }
    )


def _run(home: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    no_sync = home.parent / "no_sync.json"
    no_sync.write_text('{"tables": []}')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORTHSTAR_", "DAGSTER_"))}
    env.update(
        NORTHSTAR_HOME=str(home),
        NORTHSTAR_SOURCE_DSN=dsn,
        NORTHSTAR_SYNC_CONFIG=str(no_sync),
        NORTHSTAR_LANDING_QUARANTINE_MAX_RATE="0.5",
    )
    return subprocess.run(
        [NORTHSTAR, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_corrected_file_releases_its_held_line(tmp_path: Path, fresh_pg_dsn: str) -> None:
    home = tmp_path / "home"
    folder = home / "landing" / "stripe" / "2026" / "11" / "05"
    folder.mkdir(parents=True)
    events = folder / "events-001.jsonl"
    events.write_text(_event("evt_1", 100) + "\n" + _event("evt_2", -5) + "\n")

    done = _run(
        home, fresh_pg_dsn, "materialize", "--select", "group:payments", "--from", DAY, "--to", DAY
    )
    assert done.returncode == 0, done.stdout + done.stderr
    listed = _run(home, fresh_pg_dsn, "quarantine", "list", "--source", "stripe", "--tsv")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert listed.stdout.splitlines() == [
        "# 1 quarantined records",
        "\t".join(
            [
                "stripe",
                DAY,
                "stripe/2026/11/05/events-001.jsonl",
                "2",
                "evt_2",
                "amount_valid",
                "raw.raw_stripe_events column amount='-5': expected an amount >= 0 and < 10^12",
            ]
        ),
    ]

    events.write_text(_event("evt_1", 100) + "\n" + _event("evt_2", 500) + "\n")  # the fix
    released = _run(
        home, fresh_pg_dsn, "quarantine", "release", "--source", "stripe", "--partition", DAY
    )
    assert released.returncode == 0, released.stdout + released.stderr
    assert f"stripe {DAY}: 1 record(s) released, 0 still held" in released.stdout
    after = _run(home, fresh_pg_dsn, "quarantine", "list", "--source", "stripe", "--tsv")
    assert after.stdout.splitlines() == ["# 0 quarantined records"]


def test_release_of_an_unknown_source_is_refused(tmp_path: Path, fresh_pg_dsn: str) -> None:
    done = _run(
        tmp_path / "home",
        fresh_pg_dsn,
        "quarantine",
        "release",
        "--source",
        "invoices",
        "--partition",
        DAY,
    )
    assert done.returncode == 2
    assert "Invalid value for '--source'" in done.stderr
