"""Every column type of a PostgreSQL row comes back from the report exactly.

A table with one column per awkward type is the only catalogued table (NORTHSTAR_DSR_CATALOG);
an access request finds its two rows, and the report decoded with `lib/dsr_serialization`
equals the Python values written here by hand — offsets, decimal scale, bytes that are not
UTF-8, JSON with a `$type` key, arrays with NULLs.
"""

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from northstar_platform.lib import dsr_serialization
from tests.integration import dsr_world as w

DDL = """
create table subject_types (
  customer_id text, seen_at timestamptz, local_at timestamp, born date, wake time,
  waited interval, balance numeric(30, 10), ratio double precision, flag boolean,
  token uuid, blob bytea, doc jsonb, tags text[], scores integer[]
);
"""
ROW = {
    "customer_id": "C1",
    "seen_at": dt.datetime(2026, 3, 28, 23, 30, 0, 123456, tzinfo=dt.UTC),  # +02 in the insert
    "local_at": dt.datetime(2026, 3, 29, 1, 30, 0, 654321),
    "born": dt.date(1969, 7, 20),
    "wake": dt.time(6, 45, 0, 1),
    "waited": dt.timedelta(days=3, seconds=3661, microseconds=7),
    "balance": Decimal("12345678901234567890.0123456780"),
    "ratio": 0.1 + 0.2,
    "flag": True,
    "token": uuid.UUID("6f1c2a9e-8d41-4c1b-9a0e-3b7f5d2c1e00"),
    "blob": b"\x00\xff\xfe not utf-8 \x80",
    "doc": {"$type": "not ours", "n": 2**62, "nested": [1.5, None, "ünïcode"], "ok": False},
    "tags": ["a", None, "ß"],
    "scores": [3, -1],
}
INSERT = (
    "insert into subject_types values ('C1', '2026-03-29 01:30:00.123456+02', "
    "'2026-03-29 01:30:00.654321', '1969-07-20', '06:45:00.000001', "
    "'3 days 01:01:01.000007', 12345678901234567890.0123456780, 0.1::float8 + 0.2::float8, true, "
    "'6f1c2a9e-8d41-4c1b-9a0e-3b7f5d2c1e00', '\\x00fffe206e6f74207574662d382080'::bytea, "
    """'{"$type": "not ours", "n": 4611686018427387904, "nested": [1.5, null, "ünïcode"], """
    """"ok": false}', array['a', null, 'ß'], array[3, -1]), """
    "('C1', null, null, null, null, null, 'NaN', 'NaN', null, null, null, null, null, null)"
)


def test_every_column_type_round_trips_exactly(
    northstar_env: Path, fresh_pg_dsn: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from northstar_platform.defs.dbt_project import ensure_manifest

    ensure_manifest()
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "version": "t1",
                "systems": {"postgres": {"public.subject_types": {"customer_id": "customer_id"}}},
            }
        )
    )
    monkeypatch.setenv("NORTHSTAR_DSR_CATALOG", str(catalog))
    monkeypatch.setenv("NORTHSTAR_SOURCE_DSN", fresh_pg_dsn)
    monkeypatch.setenv("NORTHSTAR_DSR_SALT", "test-salt")
    w.seed_postgres(fresh_pg_dsn, DDL + INSERT, rows={})
    northstar_env.mkdir(parents=True)
    w.write_request(
        northstar_env, "req-types", "access", {"customer_id": "C1"}, "2026-11-20T10:00:00Z"
    )

    with dg.DagsterInstance.ephemeral() as instance:
        result = w.discover(instance, "req-types")
    assert result.success, w.failure_message(result)

    path = northstar_env / "landing" / "dsr" / "reports" / "req-types.json"
    report = dsr_serialization.loads(path.read_bytes())
    assert report["catalog_version"] == "t1"
    [location] = report["locations"]
    full, empty = sorted(location["records"], key=lambda r: r["seen_at"] is None)
    assert full == ROW
    assert str(full["balance"]) == "12345678901234567890.0123456780"  # the scale is kept
    assert full["seen_at"].utcoffset() == dt.timedelta(0)
    assert math.isnan(empty["ratio"]) and empty["balance"].is_nan()
    assert sorted(k for k, v in empty.items() if v is not None) == [
        "balance",
        "customer_id",
        "ratio",
    ]
    text = path.read_text()
    assert '"value": "2026-03-28T23:30:00.123456+00:00"' in text


@pytest.mark.parametrize(
    "value",
    [
        {"$type": "x", "value": [dt.date(2020, 1, 1)]},
        [float("inf"), float("-inf"), -0.0, 2**70, ""],
        memoryview(b"\x00\x01"),
        dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    ],
)
def test_awkward_python_values_round_trip(value: object) -> None:
    decoded = dsr_serialization.loads(dsr_serialization.dumps(value))
    expected = bytes(value) if isinstance(value, memoryview) else value
    assert decoded == expected and type(decoded) is type(expected)
    if isinstance(value, dt.datetime):
        assert decoded.utcoffset() == value.utcoffset()
