"""`ops/parity_report`: the shadow build compared with production (seed 004 Phase 3).

Unpartitioned: a comparison covers every table of the compared layers at once. Each
materialization appends one report to `ops.parity_report` (northstar_platform/parity.py) and
carries its summary as metadata; `check_shadow_parity_job` runs it (UI, or after a shadow
build), and the blocking check `shadow_matches_production` (parity_checks.py) fails on any
failed metric. `northstar parity` does the same from the command line.
"""

import dagster as dg

from northstar_platform.defs.run_policy import ON_DEMAND
from northstar_platform.layers import PARITY_REPORT
from northstar_platform.parity import run_parity
from northstar_platform.resources.warehouse import WarehouseResource
from northstar_platform.settings import get_settings, warehouse_kind


@dg.asset(
    key=PARITY_REPORT.asset_key,
    group_name=PARITY_REPORT.layer.value,
    tags=ON_DEMAND,
    kinds={warehouse_kind()},
    pool="warehouse_write",
    description="Shadow build vs production per table: row and distinct-key counts, KS "
    "statistic / total-variation distance per column, against NORTHSTAR_PARITY_* thresholds. "
    "One report_id per materialization, appended to ops.parity_report.",
)
def parity_report(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    settings = get_settings()
    with warehouse.connect() as session:
        report = run_parity(session, settings)
    context.log.info(report.summary())
    failed = [m for m in report.metrics if not m.passed]
    return dg.MaterializeResult(
        metadata={
            "report_id": report.report_id,
            "passed": report.passed,
            "tables": len({m.table for m in report.metrics}),
            "metrics": len(report.metrics),
            "failed_metrics": len(failed),
            "failed_tables": ", ".join(report.failed_tables) or "none",
            "summary": dg.MetadataValue.md(f"```\n{report.summary()}\n```"),
        }
    )


check_shadow_parity_job = dg.define_asset_job(
    "check_shadow_parity_job",
    selection=dg.AssetSelection.assets(parity_report),
    description="Compare the shadow build with production and record a parity report.",
)
