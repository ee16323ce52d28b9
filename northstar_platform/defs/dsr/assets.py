"""`dsr/dsr_discovery`: one materialization per data-subject request (dynamic partition).

The run reads the request file, checks the PII catalog against both live schemas, finds every
row of the subject in PostgreSQL and the warehouse, writes the report to the landing zone's
`dsr/reports/` and the request's status. Metadata and logs name the subject only by its
salted hash (DESIGN §5.6). Lineage stops here: the lookups read whatever the catalog lists.
"""

import dagster as dg

from northstar_platform.defs.partitions import dsr_request_partitions
from northstar_platform.dsr_discovery import discover, read_request
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings, warehouse_kind

DSR_DISCOVERY = dg.AssetKey(["dsr", "dsr_discovery"])


@dg.asset(
    key=DSR_DISCOVERY,
    partitions_def=dsr_request_partitions,
    group_name="dsr",
    kinds={"postgres", warehouse_kind(), "json"},
    pool="warehouse_write",
    description="Every row of one data subject in every catalogued table of PostgreSQL and the "
    "warehouse (northstar_platform/pii_catalog.json + dbt `pii` meta), after a catalog-drift "
    "pre-flight; report in dsr/reports/<request_id>.json, status in ops.dsr_requests, failed "
    "lookups in ops.dsr_dead_letters.",
)
def dsr_discovery(
    context: dg.AssetExecutionContext,
    source_db: SourceDatabaseResource,
    warehouse: WarehouseResource,
    landing: LandingResource,
) -> dg.MaterializeResult:
    settings = get_settings()
    zone = landing.get_zone()
    request = read_request(zone, context.partition_key)
    with warehouse.connect() as session:
        found = discover(
            request,
            settings=settings,
            source_db=source_db,
            session=session,
            zone=zone,
            run_id=context.run_id,
            sinks=(context.log.info,),
        )
    return dg.MaterializeResult(
        metadata={
            "status": str(found.status),
            "kind": request.kind,
            "subject_hash": found.subject_hash,
            "trace_id": found.trace_id,
            "report": zone.uri(found.report_key),
            "locations": found.locations,
            "rows_found": found.rows_found,
            "dead_letters": len(found.dead_letters),
            "deadline_at": found.deadline.isoformat(),
            "tolerated_drift_columns": found.drift_columns,
        }
    )
