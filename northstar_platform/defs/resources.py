"""Binds the resource keys (warehouse, source_db, landing, dbt) from the settings."""

import sys
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource

from northstar_platform.defs.dbt_project import dbt_project
from northstar_platform.lib.core_update_export import EXPORT_PREFIX
from northstar_platform.lib.dsr_requests import REPORTS_PREFIX
from northstar_platform.lib.sync_config import load_sync_tables
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import (
    DuckDBWarehouse,
    SnowflakeWarehouse,
    WarehouseResource,
)
from northstar_platform.settings import Settings


def build_warehouse(settings: Settings) -> WarehouseResource:
    """The warehouse backend the settings choose."""
    if settings.snowflake is None:
        return DuckDBWarehouse(path=str(settings.duckdb_path))
    sf = settings.snowflake
    return SnowflakeWarehouse(
        account=sf.account,
        user=sf.user,
        role=sf.role,
        warehouse=sf.warehouse,
        database=sf.database,
        # Secrets by reference: the UI's resource page shows the variable, not the value.
        password=dg.EnvVar("NORTHSTAR_SNOWFLAKE_PASSWORD") if sf.password else None,
        private_key_path=sf.private_key_path,
        private_key_passphrase=(
            dg.EnvVar("NORTHSTAR_SNOWFLAKE_PRIVATE_KEY_PASSPHRASE")
            if sf.private_key_passphrase
            else None
        ),
        host=sf.host,
        port=sf.port,
        protocol=sf.protocol,
        login_timeout_s=sf.login_timeout_s,
        network_timeout_s=sf.network_timeout_s,
    )


def platform_written_prefixes(settings: Settings) -> list[str]:
    """Landing prefixes the platform writes itself (and reads back): the daily orders export,
    each synced table's exports, the preference patches, the DSR reports. Shadow mode keeps
    them under `shadow/`; outside producers' prefixes (stripe, wms, finance, privacy, acks,
    DSR requests) stay shared."""
    synced = [f"{table.name}/" for table in load_sync_tables(settings.sync_config)]
    return ["orders/", *synced, f"{EXPORT_PREFIX}/", REPORTS_PREFIX]


def build_resources(settings: Settings) -> dict[str, Any]:
    """Every resource the code location's assets, checks and sensors ask for."""
    return {
        "warehouse": build_warehouse(settings),
        "source_db": SourceDatabaseResource(
            dsn=settings.source_dsn,
            connect_timeout_s=settings.source_connect_timeout_s,
            statement_timeout_s=settings.source_statement_timeout_s,
        ),
        "landing": LandingResource(
            url=settings.landing_url,
            s3_endpoint_url=settings.s3_endpoint_url,
            shadow_prefixes=platform_written_prefixes(settings) if settings.shadow else None,
        ),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            target=settings.dbt_target,
            # The venv's dbt, whether or not the venv is activated.
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
