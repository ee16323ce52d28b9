"""The landing zone behaves the same on a local folder and on S3 (moto server on loopback).

Every behavioural test runs against three zones (S3 ones use the client `LandingResource` makes):
a local folder, a whole S3 bucket, and an S3 key prefix inside a bucket. Expected values
(md5 etags, sizes, full object names) are computed here, and what was stored is checked
directly on disk or through a plain boto3 client.
"""

import datetime as dt
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from northstar_platform.errors import LandingZoneError
from northstar_platform.resources.landing import (
    LandingObject,
    LandingResource,
    LandingZone,
    LocalLandingZone,
    S3LandingZone,
)

pytestmark = pytest.mark.integration

S3_PREFIX = "raw/landing"


@dataclass
class Backend:
    """A zone under test plus direct access to its storage, bypassing the zone."""

    zone: LandingZone
    full_name: Callable[[str], str]
    """Where a key is really stored: a file path or `s3://bucket/full/key`."""
    raw_read: Callable[[str], bytes]
    """Read a key straight from disk / S3."""
    raw_put_outside: Callable[[str, bytes], None]
    """Store an object next to the zone, but outside it (sibling folder / prefix)."""


def _local_backend(tmp_path: Path) -> Backend:
    root = tmp_path / "landing"

    def put_outside(name: str, data: bytes) -> None:
        path = tmp_path / "landing-other" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return Backend(
        zone=LandingResource(url=str(root)).get_zone(),
        full_name=lambda key: str(root / key),
        raw_read=lambda key: (root / key).read_bytes(),
        raw_put_outside=put_outside,
    )


@pytest.fixture(scope="module")
def zone_client(moto_s3: str) -> Any:
    """The boto3 client `LandingResource` makes for the moto endpoint, shared by the module.

    Building a client costs ~0.3 s, so the parametrized S3 zones below reuse this one.
    """
    zone = LandingResource(url="s3://any-bucket", s3_endpoint_url=moto_s3).get_zone()
    assert isinstance(zone, S3LandingZone)
    return zone.client


def _s3_backend(zone_client: Any, client: Any, bucket: str, prefix: str) -> Backend:
    def full_key(key: str) -> str:
        return f"{prefix}/{key}" if prefix else key

    def put_outside(name: str, data: bytes) -> None:
        # A sibling prefix that shares the zone prefix as a string ("raw/landing2/...") or, for a
        # whole-bucket zone, another bucket: neither may ever show up in the zone.
        if prefix:
            client.put_object(Bucket=bucket, Key=f"{prefix}2/{name}", Body=data)
        else:
            other = f"{bucket}-other"
            client.create_bucket(Bucket=other)
            client.put_object(Bucket=other, Key=name, Body=data)

    # A trailing slash in the URL must not change anything.
    url = f"s3://{bucket}/{prefix}/" if prefix else f"s3://{bucket}"
    return Backend(
        zone=S3LandingZone(url, zone_client),
        full_name=lambda key: f"s3://{bucket}/{full_key(key)}",
        raw_read=lambda key: client.get_object(Bucket=bucket, Key=full_key(key))["Body"].read(),
        raw_put_outside=put_outside,
    )


@pytest.fixture(params=["local", "s3-bucket", "s3-prefix"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "local":
        return _local_backend(tmp_path)
    zone_client = request.getfixturevalue("zone_client")
    client = request.getfixturevalue("s3_client")
    bucket = request.getfixturevalue("s3_bucket")
    prefix = S3_PREFIX if request.param == "s3-prefix" else ""
    return _s3_backend(zone_client, client, bucket, prefix)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


FILES = {
    "stripe/2026/11/01/b-events.jsonl": b'{"id": "evt_2"}\n{"id": "evt_3"}\n',
    "stripe/2026/11/01/a-events.jsonl": b'{"id": "evt_1"}\n',
    "stripe/2026/11/02/c-events.jsonl": b'{"id": "evt_4"}\n' * 7,
    "stripe2/2026/11/01/other.jsonl": b"{}\n",
    "wms/2026/11/01/00/drop.csv": b"shipment_id,order_id\ns1,o1\n",
    "top-level.txt": b"",
}


def _write_all(zone: LandingZone) -> None:
    for key, data in FILES.items():
        zone.write_bytes(key, data)


def _expected(prefix: str) -> list[tuple[str, int, str]]:
    return sorted((k, len(v), md5(v)) for k, v in FILES.items() if k.startswith(prefix))


def _listed(zone: LandingZone, prefix: str) -> list[tuple[str, int, str]]:
    return [(o.key, o.size, o.etag) for o in zone.list(prefix)]


# --------------------------------------------------------------------------------------------
# The resource picks the backend
# --------------------------------------------------------------------------------------------


def test_resource_returns_the_backend_named_by_the_url(tmp_path, moto_s3):
    local = LandingResource(url=str(tmp_path)).get_zone()
    assert isinstance(local, LocalLandingZone)
    assert local.uri("a/b.csv") == str(tmp_path / "a" / "b.csv")

    s3 = LandingResource(url="s3://bucket-x/p/q/", s3_endpoint_url=moto_s3).get_zone()
    assert isinstance(s3, S3LandingZone)
    assert (s3.bucket, s3.prefix) == ("bucket-x", "p/q")
    assert s3.uri() == "s3://bucket-x/p/q"
    assert s3.uri("a/b.csv") == "s3://bucket-x/p/q/a/b.csv"
    assert LandingResource(url="s3://bucket-x").get_zone().uri("k") == "s3://bucket-x/k"


# --------------------------------------------------------------------------------------------
# Behaviour shared by every backend
# --------------------------------------------------------------------------------------------


def test_empty_zone_lists_nothing(backend):
    assert backend.zone.list() == []
    assert backend.zone.list("stripe/") == []


@pytest.mark.parametrize(
    "data",
    [b"order_id,amount\n1,100\n", b"\x00\xff\xfe binary \x80\n", b""],
    ids=["csv", "binary", "empty"],
)
def test_write_read_round_trip(backend, data):
    key = "wms/2026/11/01/13/drop-001.csv"
    written = backend.zone.write_bytes(key, data)

    assert written.key == key
    assert written.size == len(data)
    assert written.etag == md5(data)
    assert backend.zone.read_bytes(key) == data
    assert backend.raw_read(key) == data
    assert backend.zone.uri(key) == backend.full_name(key)


def test_list_by_prefix_returns_exact_sorted_keys_and_sizes(backend):
    _write_all(backend.zone)
    backend.raw_put_outside("stripe/2026/11/01/outside.jsonl", b"not in the zone\n")

    assert _listed(backend.zone, "") == _expected("")
    assert _listed(backend.zone, "stripe/") == _expected("stripe/")
    assert [o.key for o in backend.zone.list("stripe/2026/11/01/")] == [
        "stripe/2026/11/01/a-events.jsonl",
        "stripe/2026/11/01/b-events.jsonl",
    ]
    assert [o.size for o in backend.zone.list("stripe/2026/11/01/")] == [
        len(FILES["stripe/2026/11/01/a-events.jsonl"]),
        len(FILES["stripe/2026/11/01/b-events.jsonl"]),
    ]
    assert _listed(backend.zone, "wms/2026/11/01/00/drop.csv") == _expected("wms/")
    assert backend.zone.list("finance/") == []
    assert backend.zone.list("stripe/2026/12/") == []


def test_list_prefix_that_is_a_partial_path_segment(backend):
    _write_all(backend.zone)

    # "str" matches both "stripe/..." and "stripe2/..."
    assert _listed(backend.zone, "str") == _expected("str")
    assert [k for k, _, _ in _listed(backend.zone, "str")] == [
        "stripe/2026/11/01/a-events.jsonl",
        "stripe/2026/11/01/b-events.jsonl",
        "stripe/2026/11/02/c-events.jsonl",
        "stripe2/2026/11/01/other.jsonl",
    ]
    # "stripe/" does not match "stripe2/"
    assert "stripe2/2026/11/01/other.jsonl" not in [o.key for o in backend.zone.list("stripe/")]
    # a partial day folder and a partial file name
    assert _listed(backend.zone, "stripe/2026/11/0") == _expected("stripe/2026/11/0")
    assert _listed(backend.zone, "stripe/2026/11/01/a") == _expected("stripe/2026/11/01/a")
    assert _listed(backend.zone, "top") == [("top-level.txt", 0, md5(b""))]
    assert backend.zone.list("stripe/2026/11/01/z") == []


def test_replacing_content_changes_etag_and_same_content_keeps_it(backend):
    key = "finance/2026/11/01/daily_revenue.csv"
    first = backend.zone.write_bytes(key, b"business_date,currency,gross_revenue_cents\n")
    second = backend.zone.write_bytes(key, b"business_date,currency,gross_revenue_cents\nx\n")
    third = backend.zone.write_bytes(key, b"business_date,currency,gross_revenue_cents\nx\n")

    assert first.etag == md5(b"business_date,currency,gross_revenue_cents\n")
    assert second.etag == md5(b"business_date,currency,gross_revenue_cents\nx\n")
    assert first.etag != second.etag
    assert third.etag == second.etag
    assert backend.zone.read_bytes(key) == b"business_date,currency,gross_revenue_cents\nx\n"
    assert [(o.key, o.size) for o in backend.zone.list("finance/")] == [
        (key, len(b"business_date,currency,gross_revenue_cents\nx\n"))
    ]


def test_last_modified_is_utc_aware_and_is_the_write_time(backend):
    before = utc_now()
    written = backend.zone.write_bytes("privacy/2026/11/01/events.jsonl", b"{}\n")
    after = utc_now()

    listed = backend.zone.list("privacy/")[0]
    for obj in (written, listed):
        assert obj.last_modified.tzinfo is not None
        assert obj.last_modified.utcoffset() == dt.timedelta(0)
        # S3 keeps whole seconds and file systems may lag the clock slightly.
        assert before - dt.timedelta(seconds=2) <= obj.last_modified <= after
    assert listed.last_modified == written.last_modified


def test_stat_and_delete(backend):
    key = "dsr/requests/req-1.json"
    written = backend.zone.write_bytes(key, b'{"request_id": "req-1"}')
    backend.zone.write_bytes("dsr/requests/req-10.json", b"{}")

    assert backend.zone.stat(key) == written
    assert backend.zone.stat(key) == LandingObject(
        key=key,
        size=len(b'{"request_id": "req-1"}'),
        last_modified=written.last_modified,
        etag=md5(b'{"request_id": "req-1"}'),
    )
    assert backend.zone.stat("dsr/requests/req-") is None  # a prefix of a key is not the key
    assert backend.zone.stat("dsr/requests/req-2.json") is None

    backend.zone.delete(key)

    assert backend.zone.stat(key) is None
    assert [o.key for o in backend.zone.list("dsr/")] == ["dsr/requests/req-10.json"]
    with pytest.raises(LandingZoneError):
        backend.zone.read_bytes(key)
    backend.zone.delete(key)  # deleting a missing key is not an error
    backend.zone.delete("never/written.json")
    assert backend.zone.stat("dsr/requests/req-10.json") is not None


def test_read_missing_key_names_the_key(backend):
    backend.zone.write_bytes("stripe/2026/11/01/present.jsonl", b"{}\n")
    key = "stripe/2026/11/01/missing.jsonl"

    with pytest.raises(LandingZoneError) as info:
        backend.zone.read_bytes(key)
    assert str(info.value) == f"no landing file {backend.full_name(key)}"


BAD_KEYS = ["../escape.csv", "a/../../escape.csv", "a/..", "/etc/passwd", "/abs/key.csv"]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("operation", ["write", "read", "stat", "delete", "list"])
def test_keys_leaving_the_zone_are_rejected(backend, tmp_path, key, operation):
    calls: dict[str, Callable[[], object]] = {
        "write": lambda: backend.zone.write_bytes(key, b"x"),
        "read": lambda: backend.zone.read_bytes(key),
        "stat": lambda: backend.zone.stat(key),
        "delete": lambda: backend.zone.delete(key),
        "list": lambda: backend.zone.list(key),
    }
    with pytest.raises(LandingZoneError) as info:
        calls[operation]()
    assert repr(key) in str(info.value)
    # nothing was written anywhere near the zone
    assert not (tmp_path / "escape.csv").exists()
    assert backend.zone.list() == []


# --------------------------------------------------------------------------------------------
# S3 failures
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "/some/prefix"], ids=["bucket", "prefix"])
@pytest.mark.parametrize("operation", ["list", "write", "read", "stat", "delete"])
def test_missing_bucket_is_named(zone_client, prefix, operation):
    bucket = f"ns-missing-{uuid.uuid4().hex[:12]}"
    zone = S3LandingZone(f"s3://{bucket}{prefix}", zone_client)
    calls: dict[str, Callable[[], object]] = {
        "list": lambda: zone.list("stripe/"),
        "write": lambda: zone.write_bytes("stripe/a.jsonl", b"{}"),
        "read": lambda: zone.read_bytes("stripe/a.jsonl"),
        "stat": lambda: zone.stat("stripe/a.jsonl"),
        "delete": lambda: zone.delete("stripe/a.jsonl"),
    }
    with pytest.raises(LandingZoneError) as info:
        calls[operation]()
    assert f"bucket {bucket!r} does not exist" in str(info.value)
    assert "NORTHSTAR_LANDING_URL" in str(info.value)


def test_unreachable_endpoint_fails_fast_naming_the_setting(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    zone = LandingResource(url="s3://landing/p", s3_endpoint_url="http://127.0.0.1:9").get_zone()
    calls: dict[str, Callable[[], object]] = {
        "list": lambda: zone.list(),
        "write": lambda: zone.write_bytes("k.csv", b"x"),
        "read": lambda: zone.read_bytes("k.csv"),
        "delete": lambda: zone.delete("k.csv"),
    }
    for operation, call in calls.items():
        started = time.monotonic()
        with pytest.raises(LandingZoneError) as info:
            call()
        assert time.monotonic() - started < 5, operation
        assert "NORTHSTAR_S3_ENDPOINT_URL" in str(info.value), operation
        assert "s3://landing/p" in str(info.value), operation


def test_missing_credentials_is_a_clear_error(monkeypatch, tmp_path, moto_s3, s3_bucket):
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    zone = LandingResource(url=f"s3://{s3_bucket}", s3_endpoint_url=moto_s3).get_zone()

    with pytest.raises(LandingZoneError) as info:
        zone.list()
    assert "AWS_ACCESS_KEY_ID" in str(info.value)
    assert s3_bucket in str(info.value)


# --------------------------------------------------------------------------------------------
# Local folder specifics
# --------------------------------------------------------------------------------------------


def test_local_zone_does_not_exist_yet(tmp_path):
    zone = LocalLandingZone(tmp_path / "not-yet")
    assert zone.list() == []
    assert zone.stat("a.csv") is None
    with pytest.raises(LandingZoneError, match="no landing file"):
        zone.read_bytes("a.csv")
    zone.write_bytes("a/b.csv", b"1")  # creates the folders
    assert (tmp_path / "not-yet" / "a" / "b.csv").read_bytes() == b"1"


def test_local_write_leaves_no_temporary_files(tmp_path):
    zone = LocalLandingZone(tmp_path)
    zone.write_bytes("wms/x.csv", b"a")
    zone.write_bytes("wms/x.csv", b"b")
    assert sorted(p.name for p in (tmp_path / "wms").iterdir()) == ["x.csv"]


def test_local_write_failure_is_a_landing_zone_error(tmp_path):
    (tmp_path / "blocker").write_bytes(b"a file where a folder should be")
    zone = LocalLandingZone(tmp_path)
    with pytest.raises(LandingZoneError, match="cannot write"):
        zone.write_bytes("blocker/x.csv", b"x")
