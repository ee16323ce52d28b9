"""DSR jobs: discovery per request (the sensor's target), the SLA re-check, and erasure.

Erasure is its own op job, never part of discovery or of "materialize all": it changes
source data, so it runs only when started for one request with `confirm: true` (the UI's
launchpad, or `northstar dsr erase <id> --confirm`).
"""

import dagster as dg

from northstar_platform.defs.dsr.assets import DSR_DISCOVERY
from northstar_platform.defs.partitions import dsr_request_partitions
from northstar_platform.dsr_erasure import erase
from northstar_platform.lib.corrections import trigger_from_tags
from northstar_platform.resources.landing import LandingResource
from northstar_platform.resources.source_db import SourceDatabaseResource
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings

discover_dsr_job = dg.define_asset_job(
    "discover_dsr_job",
    selection=dg.AssetSelection.assets(DSR_DISCOVERY),
    partitions_def=dsr_request_partitions,
    description="Discover one data-subject request (its partition) and check it.",
)

check_dsr_sla_job = dg.define_asset_job(
    "check_dsr_sla_job",
    selection=dg.AssetSelection.checks_for_assets(DSR_DISCOVERY),
    partitions_def=dsr_request_partitions,
    description="Re-evaluate a request's checks (SLA) without discovering it again.",
)


class ErasureConfig(dg.Config):
    """Which request to erase; nothing runs unless `confirm` is true."""

    request_id: str
    confirm: bool = False


@dg.op(description="Run the confirmed erasure plan of one request; audit every changed table.")
def erase_dsr_subject(
    context: dg.OpExecutionContext,
    config: ErasureConfig,
    source_db: SourceDatabaseResource,
    warehouse: WarehouseResource,
    landing: LandingResource,
) -> dg.Output[int]:
    with warehouse.connect() as session:
        changes = erase(
            config.request_id,
            confirm=config.confirm,
            settings=get_settings(),
            source_db=source_db,
            session=session,
            zone=landing.get_zone(),
            run_id=context.run_id,
            trigger=trigger_from_tags(context.run.tags),
            sinks=(context.log.info,),
        )
    rows = sum(c["rows_changed"] for c in changes)
    return dg.Output(
        rows,
        metadata={
            "request_id": config.request_id,
            "tables": [c["table"] for c in changes],
            "rows_changed": rows,
        },
    )


@dg.job(description="Erase one data subject (explicitly confirmed); see dsr/reports/<id>.json.")
def erase_dsr_subject_job() -> None:
    erase_dsr_subject()
