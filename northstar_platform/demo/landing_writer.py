"""Putting the demo's files into the landing zone, and the late wave aside for later.

The keys one generation lands are recorded in `home/demo/landed_keys.json`, written *before*
the first file, so a rerun (even after a crash half-way) deletes exactly what the previous
one wrote — plus the sync's exports of the replaced database under `orders/`, `customers/`
and `core_preferences/`. A file under the demo's prefixes that no recorded generation wrote is
somebody else's data: generation refuses rather than delete or mix with it.
"""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from northstar_platform.errors import NorthstarError
from northstar_platform.resources.landing import LandingZone

SOURCE_PREFIXES = ("stripe/", "wms/", "finance/", "privacy/", "dsr/requests/")
"""What the generator writes."""
SYNC_PREFIXES = ("orders/", "customers/", "core_preferences/", "exports/")
"""What the platform wrote from the previous demo's data: the PostgreSQL sync's exports and
the preference patches (a new demo starts a new ledger, so old patches must go too)."""
RECORD_NAME = "landed_keys.json"


def demo_dir(home: Path) -> Path:
    """The generator's own folder under the Northstar home."""
    return home / "demo"


def late_dir(home: Path) -> Path:
    """Where the late wave waits, as `<key>` paths, until `land_late_files`."""
    return demo_dir(home) / "late"


def stale_keys(zone: LandingZone, home: Path) -> list[str]:
    """The keys the previous generation left; refuses when a file is not the demo's."""
    record = demo_dir(home) / RECORD_NAME
    previous = _read_record(record)
    stale = []
    for prefix in SOURCE_PREFIXES + SYNC_PREFIXES:
        for obj in zone.list(prefix):
            if obj.key in previous or (previous and prefix in SYNC_PREFIXES):
                stale.append(obj.key)
            else:
                raise NorthstarError(
                    f"landing zone {zone.uri()} already holds {obj.key}, which no demo "
                    f"generation recorded in {record} wrote; point NORTHSTAR_LANDING_URL at "
                    "another place or remove the files"
                )
    return stale


def replace_landing(
    zone: LandingZone,
    home: Path,
    stale: list[str],
    files: dict[str, bytes],
    late: dict[str, bytes],
    progress: Callable[[str], None],
) -> None:
    """Delete `stale` (see `stale_keys`), land `files`, and stash `late` under the home."""
    record = demo_dir(home) / RECORD_NAME
    if stale:
        progress(f"deleting {len(stale)} files of the previous generation")
    for key in stale:
        zone.delete(key)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(sorted([*files, *late]), indent=0) + "\n", encoding="utf-8")
    _write_by_day(zone, files, progress)
    stash = late_dir(home)
    shutil.rmtree(stash, ignore_errors=True)
    for key, data in late.items():
        path = stash / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    progress(f"stashed {len(late)} late files under {stash}")


def land_stashed(zone: LandingZone, home: Path) -> list[str]:
    """Copy the stashed late wave into the zone, keys unchanged; return the keys."""
    stash = late_dir(home)
    if not stash.is_dir():
        raise NorthstarError(
            f"no late wave stashed under {stash}; run `northstar demo generate` first"
        )
    keys = sorted(p.relative_to(stash).as_posix() for p in stash.rglob("*") if p.is_file())
    for key in keys:
        zone.write_bytes(key, (stash / key).read_bytes())
    return keys


def _read_record(record: Path) -> set[str]:
    try:
        return set(json.loads(record.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return set()
    except (json.JSONDecodeError, TypeError):
        raise NorthstarError(
            f"{record} is damaged; remove it and the demo's landing files"
        ) from None


def _write_by_day(
    zone: LandingZone, files: dict[str, bytes], progress: Callable[[str], None]
) -> None:
    """Write source by source, day by day, reporting each finished day."""
    for prefix in SOURCE_PREFIXES:
        keys = sorted(k for k in files if k.startswith(prefix))
        source = prefix.split("/")[0]
        if prefix == "dsr/requests/":
            for key in keys:
                zone.write_bytes(key, files[key])
            progress(f"writing {len(keys)} dsr requests")
            continue
        day_keys: dict[str, list[str]] = {}
        for key in keys:
            day_keys.setdefault("/".join(key.split("/")[1:4]), []).append(key)
        for n, (_, group) in enumerate(sorted(day_keys.items()), start=1):
            for key in group:
                zone.write_bytes(key, files[key])
            progress(f"writing {source} files {n}/{len(day_keys)} days")
