"""Publication gates: report, per business date, why a date's marts were withheld.

The gates themselves are computed by the dbt model `audit_publication_gates` (so the marts can
publish only the dates that pass, inside the same dbt run); these checks read that table and
make each gate a blocking Dagster check, so a withheld date shows in the UI, in the run's
failure and in `northstar materialize`'s exit status, with the observed value, the threshold
and the reason for every date that failed.
"""

import dagster as dg

from asset_checks.suite import Assertion, CheckContext, Verdict
from northstar_platform.layers import Layer, qualified

GATES_TABLE = "audit_publication_gates"


def _failing_dates(context: CheckContext, gate: str) -> tuple[int, list[tuple]]:
    """(dates evaluated, failing rows) of `gate` for this run.

    The rows this run's dbt invocation wrote (its run id: the window with its lookback and
    the day after); when the check runs on its own, the dates of the run's partition window,
    or every date when there is none.
    """
    base = f"from {qualified(Layer.AUDIT, GATES_TABLE)} where gate = ?"
    scopes: list[tuple[str, tuple]] = [(" and run_id = ?", (context.run_id,))]
    if context.window is not None:
        start, end = context.window
        scopes.append(
            (
                " and business_date >= cast(? as date) and business_date < cast(? as date)",
                (start, end),
            )
        )
    else:
        scopes.append(("", ()))
    for where, params in scopes:
        evaluated = context.count(f"select count(*) {base}{where}", (gate, *params))
        if evaluated:
            failing = context.session.fetchall(
                "select cast(business_date as varchar), observed, threshold, detail "
                f"{base}{where} and not passed order by business_date",
                (gate, *params),
            )
            return evaluated, failing
    return 0, []


def publication_gate(
    asset_key: dg.AssetKey, *, name: str, gate: str, description: str
) -> Assertion:
    """Fails when `gate` failed for any business date the run evaluated."""

    def evaluate(context: CheckContext) -> Verdict:
        evaluated, failing = _failing_dates(context, gate)
        withheld = {
            day: f"observed {observed:.6g} vs threshold {threshold:.6g}: {detail}"
            for day, observed, threshold, detail in failing
        }
        worst = max(failing, key=lambda row: row[1], default=None)
        measured = {"observed": worst[1], "threshold": worst[2]} if worst else {}
        return not failing, {
            "gate": gate,
            **measured,
            "dates_evaluated": evaluated,
            "withheld_dates": ", ".join(withheld) or "none",
            "why": dg.MetadataValue.json(withheld),
            "note": "marts of the withheld dates keep their last published rows"
            if withheld
            else ("no business dates evaluated" if not evaluated else ""),
        }

    return Assertion(asset_key, name, description, evaluate)
