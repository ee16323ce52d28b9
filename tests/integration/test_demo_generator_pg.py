"""The demo generator against the real local PostgreSQL (127.0.0.1:5432) and a landing folder.

Every test database is created under a unique name and dropped afterwards. Counts are redone
in SQL over what was loaded (the 60-s duplicate rule, the staging rules, the per-partition
quarantine rate) and from the landed files, then compared with the manifest.
"""

import datetime as dt
import io
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from northstar_platform.demo.generator import (
    DemoConfig,
    build_demo,
    generate,
    land_late_files,
    load_manifest,
)
from northstar_platform.errors import NorthstarError, SourceUnavailableError
from northstar_platform.resources.landing import LocalLandingZone, S3LandingZone

pytestmark = pytest.mark.integration

SERVER = "postgresql://postgres@127.0.0.1:5432"
START = dt.date(2026, 11, 1)
CONFIG = DemoConfig(start=START)

VALID = (
    "customer_id is not null and amount_cents >= 0 "
    "and currency in ('USD', 'EUR', 'GBP', 'CAD') "
    "and status in ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')"
)
RULE = """
    case
        when customer_id is null then 'customer_id_present'
        when amount_cents < 0 then 'amount_cents_non_negative'
        when currency not in ('USD', 'EUR', 'GBP', 'CAD') then 'currency_known'
        when status not in ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')
            then 'status_known'
    end
"""
DUPLICATES = f"""
    with o as (select * from orders where {VALID} and not is_deleted)
    select count(distinct later.order_id)
    from o as later
    join o as earlier
      on earlier.customer_id = later.customer_id
     and earlier.currency = later.currency
     and earlier.amount_cents = later.amount_cents
     and (earlier.created_at, earlier.order_id) < (later.created_at, later.order_id)
     and later.created_at <= earlier.created_at + interval '60 seconds'
"""


PREFERENCE_CLASSES = """
    with latest_privacy as (
        select distinct on (customer_key, channel) customer_key, channel, state, event_ts
        from privacy_events
        order by customer_key, channel, event_ts desc, ingested_rank desc,
                 source_record_id collate "C" desc
    ),
    latest_core as (
        select distinct on (customer_key, channel)
            customer_key, channel, preference_state as state, updated_ts
        from core_preferences
        where updated_ts < timestamp '2026-11-08'
        order by customer_key, channel, updated_ts desc, (preference_state = 'OPT_OUT') desc
    ),
    do_not_contact as (
        select customer_key, event_ts
        from latest_privacy
        where channel = 'ALL' and state = 'OPT_OUT'
    ),
    pairs as (
        select customer_key, channel from latest_privacy
        union
        select customer_key, channel from latest_core
    ),
    compared as (
        select
            case when pairs.channel <> 'ALL' and g.customer_key is not null
                 then 'OPT_OUT' else p.state end as expected_state,
            case when pairs.channel <> 'ALL' and g.customer_key is not null
                 then g.event_ts else p.event_ts end as expected_ts,
            c.state as core_state,
            c.updated_ts as core_ts
        from pairs
        left join latest_privacy p
          on p.customer_key = pairs.customer_key and p.channel = pairs.channel
        left join latest_core c on c.customer_key = pairs.customer_key and c.channel = pairs.channel
        left join do_not_contact g on g.customer_key = pairs.customer_key
    ),
    classified as (
        select expected_state, case
            when expected_state is null then 'MISSING_IN_PRIVACY'
            when core_state is null then 'MISSING_IN_CORE'
            when expected_state <> core_state then 'STATE_DIFF'
            when expected_ts > core_ts then 'STALE_IN_CORE'
        end as kind
        from compared
    )
    select kind, count(*), count(*) filter (where expected_state = 'OPT_OUT')
    from classified where kind is not null group by kind
"""


def _admin() -> Any:
    try:
        conn = psycopg2.connect(f"{SERVER}/postgres", connect_timeout=3)
    except psycopg2.OperationalError:
        pytest.fail(
            "PostgreSQL is not reachable at 127.0.0.1:5432; start it with: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            pytrace=False,
        )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="module")
def db_names() -> Iterator[list[str]]:
    """Names handed out by `new_db`; every one is dropped when the module ends."""
    names: list[str] = []
    yield names
    conn = _admin()
    with conn.cursor() as cur:
        for name in names:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    conn.close()


def new_db(names: list[str], label: str = "ns_demo_test") -> str:
    """A DSN for a database name that does not exist yet (generate must create it)."""
    name = f"{label}_{uuid.uuid4().hex[:10]}"
    names.append(name)
    return f"{SERVER}/{name}"


def query(dsn: str, statement: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(statement)
        rows = cur.fetchall()
    conn.close()
    return rows


def fingerprint(dsn: str) -> dict[str, str]:
    """md5 of each table's full content, row order ignored."""
    return {
        table: query(dsn, f"select md5(string_agg(t::text, '|' order by t::text)) from {table} t")[
            0
        ][0]
        for table in ("orders", "customers", "core_preferences")
    }


def snapshot(zone: LocalLandingZone) -> dict[str, bytes]:
    return {o.key: zone.read_bytes(o.key) for o in zone.list("")}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, db_names: list[str]) -> dict[str, Any]:
    _admin().close()
    home = tmp_path_factory.mktemp("home")
    zone = LocalLandingZone(home / "landing")
    dsn = new_db(db_names)
    lines: list[str] = []
    began = time.perf_counter()
    manifest = generate(CONFIG, dsn, zone, home, lines.append)
    elapsed = time.perf_counter() - began
    return {
        "manifest": manifest,
        "home": home,
        "zone": zone,
        "dsn": dsn,
        "elapsed": elapsed,
        "progress": lines,
    }


def expected(generated: dict[str, Any], key: str) -> int:
    return generated["manifest"]["defects"][key]["expected"]


def test_default_scale_is_fast_and_reports_progress(generated: dict[str, Any]) -> None:
    assert generated["elapsed"] < 10, f"default generation took {generated['elapsed']:.1f} s"
    progress = generated["progress"]
    assert any(line.startswith("loading PostgreSQL") for line in progress)
    assert "writing stripe files 3/6 days" in progress
    assert "writing wms files 6/6 days" in progress
    assert load_manifest(generated["home"]) == generated["manifest"]


def test_tables_follow_the_contract(generated: dict[str, Any]) -> None:
    columns = query(
        generated["dsn"],
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'public' order by table_name, ordinal_position",
    )
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in columns:
        by_table.setdefault(table, []).append((column, kind))
    ts = "timestamp without time zone"
    assert by_table["orders"] == [
        ("order_id", "text"),
        ("customer_id", "text"),
        ("status", "text"),
        ("currency", "text"),
        ("amount_cents", "bigint"),
        ("created_at", ts),
        ("updated_at", ts),
        ("is_deleted", "boolean"),
    ]
    assert by_table["customers"] == [
        ("customer_id", "text"),
        ("email", "text"),
        ("full_name", "text"),
        ("phone", "text"),
        ("created_at", ts),
        ("updated_at", ts),
    ]
    assert by_table["core_preferences"] == [
        ("customer_key", "text"),
        ("channel", "text"),
        ("preference_state", "text"),
        ("updated_ts", ts),
    ]
    assert "northstar_demo_marker" in by_table
    constraints = query(
        generated["dsn"],
        "select conrelid::regclass::text, contype from pg_constraint "
        "where connamespace = 'public'::regnamespace order by 1",
    )
    assert constraints == [("customers", "p"), ("orders", "p")]  # keys only, no CHECK / FK


def test_row_counts_match_the_manifest(generated: dict[str, Any]) -> None:
    sources = generated["manifest"]["sources"]
    for table in ("orders", "customers", "core_preferences"):
        assert query(generated["dsn"], f"select count(*) from {table}")[0][0] == sources[table]


def test_duplicates_and_invalid_rows_recounted_in_sql(generated: dict[str, Any]) -> None:
    dsn = generated["dsn"]
    assert query(dsn, DUPLICATES)[0][0] == expected(
        generated, "audit_order_mismatches:DUPLICATE_ORDER"
    )
    # The rule holds over every row too: no accidental collision among invalid or deleted ones.
    every = DUPLICATES.replace(f"where {VALID} and not is_deleted", "")
    assert query(dsn, every)[0][0] == expected(generated, "audit_order_mismatches:DUPLICATE_ORDER")
    rules = dict(query(dsn, f"select {RULE} as rule, count(*) from orders group by 1"))
    for rule in (
        "amount_cents_non_negative",
        "currency_known",
        "status_known",
        "customer_id_present",
    ):
        assert rules[rule] == expected(generated, f"quarantine:orders:{rule}"), rule
    referential = query(
        dsn,
        f"select count(*) from orders o where {VALID} "
        "and not exists (select 1 from customers c where c.customer_id = o.customer_id)",
    )[0][0]
    assert referential == expected(generated, "referential:orders:customer_id_exists")


def test_quarantine_rate_per_partition_in_sql(generated: dict[str, Any]) -> None:
    rates = query(
        generated["dsn"],
        f"select updated_at::date, avg(case when {VALID} then 0.0 else 1.0 end) "
        "from orders group by 1 order by 1",
    )
    outcomes = generated["manifest"]["checks"]["stg_orders.quarantine_rate_within_threshold"]
    assert [d.isoformat() for d, _ in rates] == list(outcomes)
    for day, rate in rates:
        if day == dt.date(2026, 11, 4):
            assert rate >= 0.09 and outcomes[day.isoformat()] == "fail"
        else:
            assert rate < 0.05 and outcomes[day.isoformat()] == "pass"
    late_touch = query(
        generated["dsn"],
        "select count(*) from orders where updated_at::date = '2026-11-04' "
        "and (created_at::date <> '2026-11-04' or status not in ('pending', 'SHIPPED?', "
        "'unknown', 'in_transit'))",
    )[0][0]
    assert late_touch == 0


def test_landed_files_are_the_built_ones(generated: dict[str, Any]) -> None:
    built = build_demo(CONFIG)
    landed = snapshot(generated["zone"])
    assert landed == built.files
    ids: Counter = Counter()
    for key, data in landed.items():
        if key.startswith("stripe/"):
            for line in data.decode().splitlines():
                try:
                    event_id = json.loads(line).get("id")
                except json.JSONDecodeError:
                    continue
                if event_id:
                    ids[event_id] += 1
    # The late file holds first deliveries only, so repeats are all in the on-time files.
    repeats = sum(n - 1 for n in ids.values())
    assert repeats == expected(generated, "duplicates:stripe:event_id")


def test_preference_classes_recounted_in_sql(generated: dict[str, Any]) -> None:
    """DESIGN §8 once more, in SQL over the landed privacy files and the core table.

    PostgreSQL parses `event_ts` itself (offsets, microseconds, naive = UTC), so neither the
    generator's parsing nor its classifier is reused.
    """
    zone = generated["zone"]
    buffer = io.StringIO()
    for rank, obj in enumerate(zone.list("privacy/")):
        for line in zone.read_bytes(obj.key).decode().splitlines():
            e = json.loads(line)
            fields = (
                e["customer_key"],
                e["channel"],
                e["preference_state"],
                e["event_ts"],
                str(rank),
                e["source_record_id"],
            )
            buffer.write("\t".join(fields) + "\n")
    buffer.seek(0)
    with psycopg2.connect(generated["dsn"]) as conn, conn.cursor() as cur:
        cur.execute("set local time zone 'UTC'")
        cur.execute(
            "create temp table privacy_raw (customer_key text, channel text, state text, "
            "event_ts timestamptz, ingested_rank int, source_record_id text)"
        )
        cur.copy_expert("copy privacy_raw from stdin", buffer)
        cur.execute(
            "create temp view privacy_events as select customer_key, channel, state, "
            "(event_ts at time zone 'UTC') as event_ts, ingested_rank, source_record_id "
            "from privacy_raw"
        )
        cur.execute(PREFERENCE_CLASSES)
        found = {kind: (n, opt_out) for kind, n, opt_out in cur.fetchall()}
    conn.close()
    for kind in ("MISSING_IN_PRIVACY", "MISSING_IN_CORE", "STATE_DIFF", "STALE_IN_CORE"):
        assert found[kind][0] == expected(generated, f"audit_preference_mismatches:{kind}"), kind
    remediation = found["STATE_DIFF"][0] + found["STALE_IN_CORE"][0] + found["MISSING_IN_CORE"][1]
    assert remediation == expected(generated, "remediation_core_updates:ROWS")


def test_late_wave_lands_with_unchanged_keys(generated: dict[str, Any], tmp_path: Path) -> None:
    zone = LocalLandingZone(tmp_path / "other-landing")
    keys = land_late_files(zone, generated["home"])
    assert len(keys) == generated["manifest"]["sources"]["late_files"] == 3
    assert snapshot(zone) == build_demo(CONFIG).late_files


def test_regeneration_is_identical_then_clean(tmp_path: Path, db_names: list[str]) -> None:
    # A name that needs quoting: CREATE DATABASE must use a quoted identifier.
    dsn = new_db(db_names, "NS-Demo-Test")
    zone = LocalLandingZone(tmp_path / "landing")
    small = DemoConfig(start=START, days=4, scale=0.2, seed=3)
    first = generate(small, dsn, zone, tmp_path)
    files, rows = snapshot(zone), fingerprint(dsn)
    land_late_files(zone, tmp_path)
    zone.write_bytes("orders/2026/11/01/00/run-old.parquet", b"an export of the old database")
    again = generate(small, dsn, zone, tmp_path)
    assert again == first
    assert snapshot(zone) == files  # late files and sync exports of the old run are gone
    assert fingerprint(dsn) == rows
    other = DemoConfig(start=dt.date(2026, 12, 1), days=2, scale=0.2, seed=4)
    generate(other, dsn, zone, tmp_path)
    assert snapshot(zone) == build_demo(other).files
    assert fingerprint(dsn) != rows


def test_refuses_a_database_with_a_foreign_orders_table(
    tmp_path: Path, db_names: list[str]
) -> None:
    dsn = new_db(db_names)
    name = dsn.rsplit("/", 1)[1]
    with _admin().cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("create table orders (order_id text primary key, note text)")
        cur.execute("insert into orders values ('theirs', 'precious')")
    conn.close()
    zone = LocalLandingZone(tmp_path / "landing")
    with pytest.raises(NorthstarError) as caught:
        generate(DemoConfig(start=START, days=1, scale=0.1), dsn, zone, tmp_path)
    assert str(caught.value) == (
        f"database {name} holds an orders table that the demo did not create; "
        "point NORTHSTAR_SOURCE_DSN at another database"
    )
    assert query(dsn, "select note from orders") == [("precious",)]
    assert zone.list("") == []


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    dsn = "postgresql://postgres:secret@127.0.0.1:1/northstar"
    with pytest.raises(SourceUnavailableError) as caught:
        generate(DemoConfig(start=START, days=1), dsn, LocalLandingZone(tmp_path), tmp_path)
    message = str(caught.value)
    assert "\n" not in message and "secret" not in message
    assert "127.0.0.1:1" in message
    assert "pg_ctlcluster" in message and "NORTHSTAR_SOURCE_DSN" in message


def test_generates_into_s3(
    tmp_path: Path, db_names: list[str], s3_client: Any, s3_bucket: str
) -> None:
    zone = S3LandingZone(f"s3://{s3_bucket}/landing", s3_client)
    small = DemoConfig(start=START, days=3, scale=0.1, seed=5)
    generate(small, new_db(db_names), zone, tmp_path)
    built = build_demo(small)
    assert {o.key for o in zone.list("")} == set(built.files)
    assert land_late_files(zone, tmp_path) == sorted(built.late_files)
    assert (
        zone.read_bytes(sorted(built.late_files)[0])
        == built.late_files[sorted(built.late_files)[0]]
    )
