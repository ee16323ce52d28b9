"""`ops.audit_corrections` rows: who triggered, which code, what went in and out; append-only."""

import datetime as dt
import json

import duckdb
import pytest

from northstar_platform.lib.code_version import CodeVersion
from northstar_platform.lib.corrections import (
    Correction,
    CorrectionKind,
    fingerprints_of,
    record_correction,
    trigger_from_tags,
)
from northstar_platform.lib.fingerprints import Fingerprint
from northstar_platform.resources.warehouse import DuckDBSession

pytestmark = pytest.mark.integration

VERSION = CodeVersion("abc123", "f" * 64)
AT = dt.datetime(2026, 3, 4, 6, 0, 1, 123456)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"dagster/schedule_name": "s", "dagster/user": "ann"}, "schedule:s"),
        ({"dagster/sensor_name": "wms_files_sensor"}, "sensor:wms_files_sensor"),
        ({"dagster/backfill": "bf1", "northstar/trigger": "x"}, "backfill:bf1"),
        ({"dagster/user": "ann"}, "person:ann"),
        ({"northstar/user": "bob", "dagster/user": "ann"}, "person:bob"),
        ({"northstar/trigger": "northstar materialize"}, "northstar materialize"),
        ({}, "manual"),
    ],
)
def test_trigger_names_who_or_what_started_the_run(tags: dict, expected: str) -> None:
    assert trigger_from_tags(tags) == expected


def test_each_correction_appends_one_row_with_its_fingerprints() -> None:
    session = DuckDBSession(duckdb.connect())
    before = Fingerprint("marts.fct_orders", None, 10, "a" * 64)
    after = Fingerprint("marts_shadow.fct_orders", None, 11, "b" * 64)
    cutover = Correction(
        CorrectionKind.CUTOVER, "bi/fct_orders", None, None, "person:ann", [before], [after], "p1"
    )
    first = record_correction(session, cutover, now=AT, version=VERSION)
    second = record_correction(session, cutover, now=AT + dt.timedelta(seconds=1), version=VERSION)
    rows = session.fetchall(
        "select correction_id, recorded_at, kind, asset_key, partition_key, run_id, trigger, "
        "code_version, dbt_manifest_hash, input_fingerprints, output_fingerprints, note "
        "from ops.audit_corrections order by recorded_at"
    )
    assert [r[0] for r in rows] == [first, second] and first != second
    assert rows[0][1:9] == (
        AT,
        "CUTOVER",
        "bi/fct_orders",
        None,
        None,
        "person:ann",
        "abc123",
        "f" * 64,
    )
    assert fingerprints_of(rows[0][9]) == [
        {"relation": "marts.fct_orders", "partition": None, "rows": 10, "content_hash": "a" * 64}
    ]
    assert json.loads(rows[0][10])[0]["relation"] == "marts_shadow.fct_orders"
    assert rows[0][11] == "p1"
