"""Binds the resource keys (warehouse, source_db, landing, dbt) from the settings."""

import sys
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource

from northstar_platform.defs.dbt_project import dbt_project
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
        password=sf.password,
        private_key_path=sf.private_key_path,
        host=sf.host,
        port=sf.port,
        protocol=sf.protocol,
    )


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
            url=settings.landing_url, s3_endpoint_url=settings.s3_endpoint_url
        ),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            target=settings.dbt_target,
            # The venv's dbt, whether or not the venv is activated.
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
