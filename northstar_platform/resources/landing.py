"""The landing zone: one interface over a local folder and an S3 prefix.

Sensors and assets only see `LandingZone`; which backend stands behind it is the
`NORTHSTAR_LANDING_URL` setting. Keys are always relative, '/'-separated
(`stripe/2026/11/01/events-001.jsonl`), whatever the backend.
"""

import dataclasses
import datetime as dt
import functools
import hashlib
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dagster as dg

from northstar_platform.errors import LandingZoneError


@dataclass(frozen=True)
class LandingObject:
    """One landed file: its key, size, arrival time (UTC) and a content tag."""

    key: str
    size: int
    last_modified: dt.datetime
    etag: str
    """Changes when the content changes: S3's ETag, or the md5 of a local file."""


class LandingZone(ABC):
    """Where source files land; the same calls work on a folder and on a bucket."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[LandingObject]:
        """Every object whose key starts with `prefix`, sorted by key."""

    @abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """The whole content of one object."""

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> LandingObject:
        """Create or replace one object."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; missing objects are ignored."""

    @abstractmethod
    def uri(self, key: str = "") -> str:
        """A full address for messages (`s3://bucket/prefix/key` or a path)."""

    def stat(self, key: str) -> LandingObject | None:
        """The object stored under exactly `key`, if any."""
        return next((o for o in self.list(key) if o.key == key), None)


def _check_key(key: str) -> str:
    if key.startswith("/") or ".." in key.split("/"):
        raise LandingZoneError(f"landing key {key!r} must be relative and stay inside the zone")
    return key


@functools.lru_cache(maxsize=65536)
def _content_tag(path: Path, size: int, mtime_ns: int, ctime_ns: int) -> str:
    """md5 of a local file, remembered per (path, size, mtime, ctime): a sensor listing the
    zone every 30 s hashes only the files that arrived or changed since the last listing.
    ctime moves on every write, even one that restores the modification time."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LocalLandingZone(LandingZone):
    """A folder on this machine: the embedded default (`.northstar/landing`)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def list(self, prefix: str = "") -> list[LandingObject]:
        _check_key(prefix)
        if not self.root.exists():
            return []
        base = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for path in base.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and ".tmp-" not in path.name:
                found.append(self._object(key, path))
        return sorted(found, key=lambda o: o.key)

    def _object(self, key: str, path: Path) -> LandingObject:
        stat = path.stat()
        return LandingObject(
            key=key,
            size=stat.st_size,
            last_modified=dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC),
            etag=_content_tag(path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns),
        )

    def read_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise LandingZoneError(f"no landing file {self.uri(key)}") from None

    def write_bytes(self, key: str, data: bytes) -> LandingObject:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a sensor never sees half a file
        except OSError as exc:
            raise LandingZoneError(f"cannot write {path}: {exc.strerror}") from None
        return self._object(key, path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def uri(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


class S3LandingZone(LandingZone):
    """An `s3://bucket/prefix` through a boto3 client from dagster-aws."""

    def __init__(self, url: str, client: Any) -> None:
        parsed = urlparse(url)
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = client

    def _key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        import botocore.exceptions

        try:
            return fn(**kwargs)
        except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
            # ConnectionError covers refused connections and connect timeouts alike.
            raise LandingZoneError(
                f"cannot reach S3 to {what} {self.uri()}: {exc}; "
                "check NORTHSTAR_LANDING_URL and NORTHSTAR_S3_ENDPOINT_URL"
            ) from None
        except botocore.exceptions.NoCredentialsError:
            raise LandingZoneError(
                f"no AWS credentials found to {what} {self.uri()}; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
            ) from None
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket" or (code == "404" and what != "read"):
                raise LandingZoneError(
                    f"bucket {self.bucket!r} does not exist ({self.uri()}); "
                    "create it or fix NORTHSTAR_LANDING_URL"
                ) from None
            if code in ("NoSuchKey", "404"):
                raise LandingZoneError(
                    f"no landing file {self.uri(self._relative(kwargs.get('Key', '')))}"
                ) from None
            raise LandingZoneError(f"S3 refused to {what} {self.uri()}: {code} {exc}") from None

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call(
            "list",
            lambda **kw: list(paginator.paginate(**kw)),
            Bucket=self.bucket,
            Prefix=self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else ""),
        )
        for page in pages:
            yield from page.get("Contents", [])

    def list(self, prefix: str = "") -> list[LandingObject]:
        found = [
            LandingObject(
                key=self._relative(item["Key"]),
                size=item["Size"],
                last_modified=item["LastModified"].astimezone(dt.UTC),
                etag=item["ETag"].strip('"'),
            )
            for item in self._pages(prefix)
            if not item["Key"].endswith("/")
        ]
        return sorted(found, key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        response = self._call(
            "read", self.client.get_object, Bucket=self.bucket, Key=self._key(key)
        )
        return response["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> LandingObject:
        self._call(
            "write", self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data
        )
        stored = self.stat(key)
        if stored is None:
            raise LandingZoneError(f"{self.uri(key)} was written but cannot be listed")
        return stored

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def uri(self, key: str = "") -> str:
        base = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{base}/{key}" if key else base


SHADOW_PREFIX = "shadow/"
"""Where shadow mode keeps the files the platform writes itself, inside the same zone."""


class ShadowLandingZone(LandingZone):
    """Shadow mode's landing zone: no external side effect, outside producers still read.

    Keys under `own_prefixes` (what the platform exports itself: the orders export, the
    PostgreSQL sync exports, the preference patches) are written and read under `shadow/`;
    every other key (Stripe, WMS, finance, privacy, acks: outside producers' drops) is the
    production object. Callers keep using the same relative keys, so `source_file` values of
    a shadow build equal production's.
    """

    def __init__(self, inner: LandingZone, own_prefixes: list[str]) -> None:
        self.inner = inner
        self.own_prefixes = tuple(own_prefixes)

    def _owned(self, key: str) -> bool:
        return key.startswith(self.own_prefixes)

    def _stored(self, key: str) -> str:
        return f"{SHADOW_PREFIX}{key}" if self._owned(key) else key

    def _unshadowed(self, found: LandingObject) -> LandingObject:
        return dataclasses.replace(found, key=found.key[len(SHADOW_PREFIX) :])

    def list(self, prefix: str = "") -> list[LandingObject]:
        found: list[LandingObject] = []
        if not self._owned(prefix):  # production objects, minus what shadow mode redirects
            found += [
                o
                for o in self.inner.list(prefix)
                if not self._owned(o.key) and not o.key.startswith(SHADOW_PREFIX)
            ]
        if any(p.startswith(prefix) or prefix.startswith(p) for p in self.own_prefixes):
            shadowed = (self._unshadowed(o) for o in self.inner.list(f"{SHADOW_PREFIX}{prefix}"))
            found += [o for o in shadowed if self._owned(o.key)]
        return sorted(found, key=lambda o: o.key)

    def read_bytes(self, key: str) -> bytes:
        return self.inner.read_bytes(self._stored(key))

    def write_bytes(self, key: str, data: bytes) -> LandingObject:
        if not self._owned(key):
            raise LandingZoneError(
                f"shadow mode writes only under {SHADOW_PREFIX} of the landing zone; refusing "
                f"to write {self.inner.uri(key)} (a production prefix)"
            )
        return self._unshadowed(self.inner.write_bytes(self._stored(key), data))

    def delete(self, key: str) -> None:
        if self._owned(key):
            self.inner.delete(self._stored(key))

    def uri(self, key: str = "") -> str:
        return self.inner.uri(self._stored(key))


class LandingResource(dg.ConfigurableResource):
    """Dagster resource that hands out the landing zone named by `url`."""

    url: str
    """A folder path or `s3://bucket/prefix`."""
    s3_endpoint_url: str | None = None
    """An S3-compatible endpoint, e.g. a moto server in tests."""
    shadow_prefixes: list[str] | None = None
    """Shadow mode: the key prefixes the platform writes itself, kept under `shadow/`
    (`ShadowLandingZone`); None in production."""

    def get_zone(self) -> LandingZone:
        """The backend behind `url` (seen through shadow mode's redirect when it is on)."""
        zone = self._backend()
        return ShadowLandingZone(zone, self.shadow_prefixes) if self.shadow_prefixes else zone

    def _backend(self) -> LandingZone:
        if not self.url.startswith("s3://"):
            return LocalLandingZone(self.url)
        from dagster_aws.s3 import S3Resource

        client = S3Resource(endpoint_url=self.s3_endpoint_url).get_client()
        return S3LandingZone(self.url, client)
