"""`ops.audit_corrections`: the append-only record of every correction (DESIGN §5.4).

A correction is anything that changes what users read after the fact: a remediation export
to the core system, a backfill (a partition materialized again), a cutover or a rollback of
the BI views. Finance data is SOX-relevant, so each says who or what triggered it, under which
code, and what went in and came out (fingerprints), so it can be re-checked later.
"""

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from northstar_platform.layers import AUDIT_CORRECTIONS
from northstar_platform.lib.code_version import CodeVersion
from northstar_platform.lib.code_version import current as current_code_version
from northstar_platform.lib.fingerprints import Fingerprint, to_json
from northstar_platform.resources.warehouse import WarehouseSession


class CorrectionKind(StrEnum):
    """What kind of correction a row records."""

    REMEDIATION_EXPORT = "REMEDIATION_EXPORT"
    BACKFILL = "BACKFILL"
    CUTOVER = "CUTOVER"
    ROLLBACK = "ROLLBACK"
    DSR_ERASURE = "DSR_ERASURE"
    RETENTION_PURGE = "RETENTION_PURGE"


@dataclass(frozen=True)
class Correction:
    """One correction, as recorded; `trigger` as `trigger_from_tags` spells it."""

    kind: CorrectionKind
    asset_key: str
    partition_key: str | None
    run_id: str | None
    trigger: str
    inputs: Sequence[Fingerprint] = field(default_factory=tuple)
    outputs: Sequence[Fingerprint] = field(default_factory=tuple)
    note: str | None = None


def trigger_from_tags(tags: Mapping[str, str]) -> str:
    """Who or what started a run, from its Dagster tags: `schedule:<name>`, `sensor:<name>`,
    `backfill:<id>`, `person:<user>` (the UI's `dagster/user`, or `northstar/user`), else the
    command that started it (`northstar/trigger`), else `manual`."""
    if tags.get("dagster/schedule_name"):
        return f"schedule:{tags['dagster/schedule_name']}"
    if tags.get("dagster/sensor_name"):
        return f"sensor:{tags['dagster/sensor_name']}"
    if tags.get("dagster/backfill"):
        return f"backfill:{tags['dagster/backfill']}"
    user = tags.get("northstar/user") or tags.get("dagster/user")
    if user:
        return f"person:{user}"
    return tags.get("northstar/trigger") or "manual"


def correction_id(correction: Correction, recorded_at: dt.datetime) -> str:
    """Stable id of one recorded correction (kind, asset, partition, run, instant)."""
    key = "|".join(
        (
            correction.kind,
            correction.asset_key,
            correction.partition_key or "",
            correction.run_id or "",
            recorded_at.isoformat(),
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def correction_row(
    correction: Correction, recorded_at: dt.datetime, version: CodeVersion
) -> dict[str, object]:
    """The `ops.audit_corrections` row of a correction, by column name."""
    return {
        "correction_id": correction_id(correction, recorded_at),
        "recorded_at": recorded_at,
        "kind": str(correction.kind),
        "asset_key": correction.asset_key,
        "partition_key": correction.partition_key,
        "run_id": correction.run_id,
        "trigger": correction.trigger,
        "code_version": version.commit,
        "dbt_manifest_hash": version.dbt_manifest_hash,
        "input_fingerprints": to_json(correction.inputs),
        "output_fingerprints": to_json(correction.outputs),
        "note": correction.note,
    }


def record_correction(
    session: WarehouseSession,
    correction: Correction,
    *,
    now: dt.datetime | None = None,
    version: CodeVersion | None = None,
) -> str:
    """Append one correction to `ops.audit_corrections`; returns its id. Append-only:
    nothing here updates or deletes a row."""
    recorded_at = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    row = correction_row(correction, recorded_at, version or current_code_version())
    columns = AUDIT_CORRECTIONS.column_names
    session.ensure_table(AUDIT_CORRECTIONS)
    session.execute(
        f"insert into {AUDIT_CORRECTIONS.qualified} ({', '.join(columns)}) "  # noqa: S608
        f"values ({', '.join('?' for _ in columns)})",
        [row[c] for c in columns],
    )
    return str(row["correction_id"])


def fingerprints_of(value: str) -> list[dict[str, object]]:
    """The fingerprint list stored in a row's `input_fingerprints`/`output_fingerprints`."""
    return list(json.loads(value))
