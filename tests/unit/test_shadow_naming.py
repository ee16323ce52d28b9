"""Shadow mode's naming rules without services: schemas, redirects, settings, landing keys.

The integration test (tests/integration/test_shadow_mode.py) builds the graph both ways; these
pin the rules it relies on, with the expected names written out by hand.
"""

from pathlib import Path

import pytest

from northstar_platform.errors import LandingZoneError, SettingsError
from northstar_platform.layers import (
    AUDIT_CORRECTIONS,
    PIPELINE_RUN_LOG,
    QUARANTINE_ORDERS,
    STG_ORDERS,
    Layer,
    quarantine_view,
    redirected,
    schema_of,
    shadow_schema,
    warehouse_schemas,
)
from northstar_platform.lib.sync_sql import SYNC_LOADS
from northstar_platform.resources.landing import LocalLandingZone, ShadowLandingZone
from northstar_platform.settings import get_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith("NORTHSTAR_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    monkeypatch.setenv("NORTHSTAR_HOME", str(tmp_path / "home"))
    return monkeypatch


def test_production_names_are_the_layers(clean_env: pytest.MonkeyPatch) -> None:
    assert STG_ORDERS.qualified == '"staging"."stg_orders"'
    assert quarantine_view() == '"staging"."quarantine_records"'
    assert warehouse_schemas() == [
        "raw",
        "staging",
        "curated",
        "audit",
        "remediation",
        "marts",
        "ops",
    ]


def test_shadow_mode_moves_every_layer_but_the_shared_ops_records(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("NORTHSTAR_SHADOW", "true")
    assert STG_ORDERS.qualified == '"staging_shadow"."stg_orders"'
    assert STG_ORDERS.schema == "staging_shadow"
    assert quarantine_view() == '"staging_shadow"."quarantine_records"'
    assert PIPELINE_RUN_LOG.qualified == '"ops"."pipeline_run_log"'
    assert AUDIT_CORRECTIONS.qualified == '"ops"."audit_corrections"'
    # The sync's loads are pipeline state: a shadow sync keeps its own.
    assert SYNC_LOADS.qualified == '"ops_shadow"."sync_loads"'
    assert warehouse_schemas() == [
        "raw_shadow",
        "staging_shadow",
        "curated_shadow",
        "audit_shadow",
        "remediation_shadow",
        "marts_shadow",
        "ops",
        "ops_shadow",
    ]
    assert shadow_schema("bi") == "bi_shadow"
    # Read at call time: switching the setting off again names production.
    clean_env.setenv("NORTHSTAR_SHADOW", "false")
    assert STG_ORDERS.qualified == '"staging"."stg_orders"'


def test_a_redirect_moves_only_the_named_relations(clean_env: pytest.MonkeyPatch) -> None:
    with redirected([(Layer.STAGING, "stg_orders")]):
        assert STG_ORDERS.qualified == '"staging_verify"."stg_orders"'
        assert QUARANTINE_ORDERS.qualified == '"staging"."quarantine_orders"'
        assert schema_of(Layer.RAW, "raw_orders") == "raw"
        clean_env.setenv("NORTHSTAR_SHADOW", "1")
        assert STG_ORDERS.qualified == '"staging_shadow_verify"."stg_orders"'
    assert STG_ORDERS.qualified == '"staging_shadow"."stg_orders"'


def test_shadow_setting_and_its_own_dagster_instance(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    assert get_settings().shadow is False
    assert get_settings().dagster_home == home / "dagster"
    assert get_settings().environment == "production"
    clean_env.setenv("NORTHSTAR_SHADOW", "true")
    assert get_settings().shadow is True
    assert get_settings().dagster_home == home / "dagster-shadow"
    assert get_settings().environment == "shadow"
    clean_env.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert get_settings().dagster_home == tmp_path / "mine"
    clean_env.setenv("NORTHSTAR_SHADOW", "yes please")
    with pytest.raises(SettingsError, match=r"^NORTHSTAR_SHADOW='yes please': expected true"):
        get_settings()


def test_shadow_landing_keeps_own_exports_under_shadow(tmp_path: Path) -> None:
    root = tmp_path / "landing"
    production = LocalLandingZone(root)
    production.write_bytes("orders/2024/05/02/00/run-a.parquet", b"prod")
    production.write_bytes("stripe/2024/05/02/events.jsonl", b"{}\n")
    production.write_bytes("exports/core_updates_acks/ack-1.csv", b"update_hash,applied_at\n")
    zone = ShadowLandingZone(production, ["orders/", "exports/core_updates/"])

    written = zone.write_bytes("orders/2024/05/02/00/run-b.parquet", b"shadow")
    zone.write_bytes("exports/core_updates/2024-05-02/patch-1.csv", b"patch")

    assert written.key == "orders/2024/05/02/00/run-b.parquet"
    assert (root / "shadow/orders/2024/05/02/00/run-b.parquet").read_bytes() == b"shadow"
    # Its own prefixes: only the shadow files; outside producers: production's files.
    assert [o.key for o in zone.list("orders/")] == ["orders/2024/05/02/00/run-b.parquet"]
    assert [o.key for o in zone.list("stripe/")] == ["stripe/2024/05/02/events.jsonl"]
    assert [o.key for o in zone.list("exports/")] == [
        "exports/core_updates/2024-05-02/patch-1.csv",
        "exports/core_updates_acks/ack-1.csv",
    ]
    assert zone.read_bytes("orders/2024/05/02/00/run-b.parquet") == b"shadow"
    assert zone.read_bytes("stripe/2024/05/02/events.jsonl") == b"{}\n"
    with pytest.raises(LandingZoneError, match=r"refusing to write .*stripe/x\.jsonl"):
        zone.write_bytes("stripe/x.jsonl", b"")
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "exports/core_updates_acks/ack-1.csv",
        "orders/2024/05/02/00/run-a.parquet",
        "shadow/exports/core_updates/2024-05-02/patch-1.csv",
        "shadow/orders/2024/05/02/00/run-b.parquet",
        "stripe/2024/05/02/events.jsonl",
    ]


def test_shadow_alerts_say_shadow(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Through the one alert path (`record_alerts`), to the always-on JSON-lines sink."""
    import json
    import logging

    import dagster as dg

    from asset_checks.alerting import alerts_for, record_alerts

    failed = [(dg.AssetKey(["staging", "stg_orders"]), "conserves_records", {"observed": 3})]
    log = logging.getLogger("test")
    record_alerts(alerts_for(failed, "2024-05-02", "r1"), None, log)
    clean_env.setenv("NORTHSTAR_SHADOW", "true")
    record_alerts(alerts_for(failed, "2024-05-02", "r2"), None, log)
    sink = tmp_path / "home" / "alerts" / "alerts.jsonl"
    messages = [json.loads(line)["message"] for line in sink.read_text().splitlines()]
    assert messages == [
        "conserves_records failed on staging/stg_orders [2024-05-02]: observed 3 vs threshold None",
        "[shadow] conserves_records failed on staging/stg_orders [2024-05-02]: "
        "observed 3 vs threshold None",
    ]


def test_only_the_platforms_own_landing_prefixes_are_shadowed(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from northstar_platform.defs.resources import build_resources

    tables = tmp_path / "tables.json"
    tables.write_text(
        '{"tables": [{"table_name": "public.customers", "watermark_col": "updated_at", '
        '"primary_keys": ["customer_id"]}]}'
    )
    clean_env.setenv("NORTHSTAR_SYNC_CONFIG", str(tables))
    assert build_resources(get_settings())["landing"].shadow_prefixes is None
    clean_env.setenv("NORTHSTAR_SHADOW", "true")
    assert build_resources(get_settings())["landing"].shadow_prefixes == [
        "orders/",
        "customers/",
        "exports/core_updates/",
        "dsr/reports/",
    ]
