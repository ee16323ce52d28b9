"""`shadow_matches_production`: the blocking check on `ops/parity_report`.

It reads the newest report back from `ops.parity_report` rather than trusting the step that
wrote it, so executed on its own it judges the latest comparison, whoever recorded it
(`northstar parity` or the asset).
"""

import dagster as dg

from northstar_platform.layers import PARITY_REPORT
from northstar_platform.parity import latest_report
from northstar_platform.resources.warehouse import WarehouseResource

SHOWN = 20
"""Failed metrics listed in the check's metadata (the report table holds all of them)."""


@dg.asset_check(
    asset=PARITY_REPORT.asset_key,
    name="shadow_matches_production",
    blocking=True,
    description="Every metric of the latest parity report is within its threshold.",
)
def shadow_matches_production(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as session:
        latest = latest_report(session)
    if latest is None:
        return dg.AssetCheckResult(passed=False, metadata={"why": "no parity report yet"})
    return dg.AssetCheckResult(
        passed=not latest.failed,
        metadata={
            "report_id": latest.report_id,
            "observed": len(latest.failed),
            "threshold": 0,
            "failed_tables": ", ".join(latest.failed_tables) or "none",
            "failed_metrics": "\n".join(
                f"{t} {m}: {p} vs {s}, divergence {d:.4g} > {th:g}"
                for t, m, p, s, d, th in latest.failed[:SHOWN]
            )
            or "none",
        },
    )
