"""Check suites: every blocking check of one step, evaluated in one Dagster step.

Each check is an `Assertion` (one named, blocking `AssetCheckSpec` and the function that
decides it). A suite groups the assertions that run after the same step (e.g. the raw load,
or the staging step with its quarantine output) into one `@multi_asset_check`: the checks
still appear one by one in the UI, block downstream one by one, and can be executed alone
(`can_subset`), but a partition pays one step and one warehouse session for all of them
instead of one each. That matters for hourly sources: a WMS day is 24 runs.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from asset_checks.alerting import alerts_for, record_alerts
from northstar_platform.resources.landing import LandingZone
from northstar_platform.resources.warehouse import WarehouseSession


@dataclass
class CheckContext:
    """What an assertion may look at: the partition, and sessions opened once per suite."""

    partition_key: str | None
    resources: Mapping[str, Any]
    run_id: str = ""
    window: tuple[str, str] | None = None
    """The run's partition window [start, end) as ISO dates, for checks of ranged (dbt) runs."""
    _stack: ExitStack = field(default_factory=ExitStack)
    _session: WarehouseSession | None = None
    _zone: LandingZone | None = None

    @property
    def session(self) -> WarehouseSession:
        """The warehouse session shared by every assertion of the suite."""
        if self._session is None:
            self._session = self._stack.enter_context(self.resources["warehouse"].connect())
        return self._session

    @property
    def zone(self) -> LandingZone:
        """The landing zone (only for suites that require the `landing` resource)."""
        if self._zone is None:
            self._zone = self.resources["landing"].get_zone()
        return self._zone

    def count(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        """The first column of a one-row query as an int (NULL or no row = 0)."""
        row = self.session.fetchone(sql, params)
        return int(row[0]) if row and row[0] is not None else 0


Verdict = tuple[bool, Mapping[str, Any]]
"""passed, and the metadata that says why (observed values, thresholds, offending keys)."""


@dataclass(frozen=True)
class Assertion:
    """One blocking check on one asset."""

    asset_key: dg.AssetKey
    name: str
    description: str
    evaluate: Callable[[CheckContext], Verdict]


def build_check_suite(
    name: str,
    assertions: list[Assertion],
    *,
    partitions_def: dg.PartitionsDefinition | None,
    required_resource_keys: set[str],
) -> dg.AssetChecksDefinition:
    """One step that evaluates `assertions` (all blocking, severity ERROR) with one session."""
    specs = [
        dg.AssetCheckSpec(
            a.name,
            asset=a.asset_key,
            description=a.description,
            blocking=True,
            partitions_def=partitions_def,
        )
        for a in assertions
    ]

    @dg.multi_asset_check(
        name=name,
        specs=specs,
        can_subset=True,
        required_resource_keys=required_resource_keys,
    )
    def _suite(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        resources = {key: getattr(context.resources, key) for key in required_resource_keys}
        partition = context.partition_key if partitions_def is not None else None
        check_context = CheckContext(
            partition, resources, context.op_execution_context.run_id, _window(context)
        )
        with check_context._stack:
            results = [
                (a, a.evaluate(check_context))
                for a in assertions
                if dg.AssetCheckKey(a.asset_key, a.name) in selected
            ]
            failed = [(a.asset_key, a.name, m) for a, (passed, m) in results if not passed]
            if failed:
                label = partition or _range_label(context)
                alerts = alerts_for(failed, label, check_context.run_id)
                session = check_context.session if "warehouse" in resources else None
                record_alerts(alerts, session, context.log)
        for assertion, (passed, metadata) in results:
            yield dg.AssetCheckResult(
                asset_key=assertion.asset_key,
                check_name=assertion.name,
                passed=passed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=dict(metadata),
            )

    return _suite


def _range_label(context: dg.AssetCheckExecutionContext) -> str | None:
    """`first..last` partition keys of a ranged run (as `northstar materialize` prints it)."""
    op_context = context.op_execution_context
    if not op_context.has_partition_key_range:
        return None
    keys = op_context.partition_key_range
    return f"{keys.start}..{keys.end}"


def _window(context: dg.AssetCheckExecutionContext) -> tuple[str, str] | None:
    """The time window of a partitioned run (one partition or a range), else None."""
    op_context = context.op_execution_context
    if not op_context.has_partition_key_range:
        return None
    window = op_context.partition_time_window
    return f"{window.start:%Y-%m-%d}", f"{window.end:%Y-%m-%d}"
