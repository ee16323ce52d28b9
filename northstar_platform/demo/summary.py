"""The demo's closing summary: rows per asset, checks, quarantine, defects vs the manifest."""

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table as RichTable

from northstar_platform.demo.detectors import detect
from northstar_platform.demo.ops_summary import print_operations
from northstar_platform.layers import (
    DSR_REQUESTS,
    QUARANTINE_VIEW_NAME,
    WAREHOUSE_LAYERS,
    Layer,
    qualified,
    quarantine_view,
    schema_of,
)
from northstar_platform.resources.warehouse import WarehouseSession
from northstar_platform.runner import RangeReport


@dataclass(frozen=True)
class DefectLine:
    """One manifest class: what was expected, what was found, and the verdict."""

    key: str
    expected: int
    found: int | None

    @property
    def verdict(self) -> str:
        """match, MISMATCH, or not yet detected."""
        if self.found is None:
            return "not yet detected"
        return "match" if self.found == self.expected else "MISMATCH"


def defect_lines(session: WarehouseSession, manifest: dict) -> list[DefectLine]:
    """Every manifest defect class with the platform's count."""
    keys = sorted(manifest["defects"])
    found = detect(session, keys)
    return [DefectLine(k, int(manifest["defects"][k]["expected"]), found[k]) for k in keys]


PUBLICATION_GATES = "audit_publication_gates"


def publication_gates(session: WarehouseSession) -> list[tuple[str, str, bool, str]]:
    """(business date, gate, passed, detail) of every evaluated marts publication gate."""
    if not session.table_exists(schema_of(Layer.AUDIT), PUBLICATION_GATES):
        return []
    rows = session.fetchall(
        "select cast(business_date as varchar), gate, passed, detail "  # noqa: S608
        f"from {qualified(Layer.AUDIT, PUBLICATION_GATES)} "
        "order by 1, 2"
    )
    return [(str(d), str(g), bool(p), str(t)) for d, g, p, t in rows]


def gate_mismatches(
    report: RangeReport, manifest: dict, gates: list[tuple[str, str, bool, str]]
) -> list[str]:
    """Expected gate outcomes (manifest `checks`) that the runs did not reproduce.

    Asset checks are compared with the run reports; the marts publication gates, evaluated
    per business date inside a ranged dbt run, with the `audit_publication_gates` table.
    """
    observed = {
        (c.asset.split("/")[-1], c.check, c.partition): ("pass" if c.passed else "fail")
        for c in report.checks
    }
    for day, gate, passed, _ in gates:
        observed[("audit_publication_gates", gate, day)] = "pass" if passed else "fail"
    problems = []
    for name, per_partition in sorted(manifest.get("checks", {}).items()):
        asset, check = name.split(".", 1)
        for partition, expected in sorted(per_partition.items()):
            actual = observed.get((asset, check, partition))
            if actual is not None and actual != expected:
                problems.append(f"{name} [{partition}]: expected {expected}, got {actual}")
    return problems


def table_rows(session: WarehouseSession, asset_keys: list[list[str]]) -> dict[str, int]:
    """Row counts of every warehouse asset that exists."""
    counts = {}
    order = {layer.value: n for n, layer in enumerate(WAREHOUSE_LAYERS)}
    for key in sorted(asset_keys, key=lambda k: (order.get(k[0], 99), k)):
        if len(key) == 2 and key[0] in {layer.value for layer in WAREHOUSE_LAYERS}:
            layer = Layer(key[0])
            if session.table_exists(schema_of(layer, key[1]), key[1]):
                row = session.fetchone(f"select count(*) from {qualified(layer, key[1])}")  # noqa: S608
                counts[".".join(key)] = int(row[0]) if row else 0
    return counts


def print_summary(
    console: Console,
    session: WarehouseSession,
    report: RangeReport,
    manifest: dict,
    asset_keys: list[list[str]],
    alert_file: Path | None = None,
) -> bool:
    """Print the summary tables; True when every built detector and gate matches the manifest."""
    rows = RichTable(title="Rows per asset")
    rows.add_column("asset")
    rows.add_column("rows", justify="right")
    for name, count in table_rows(session, asset_keys).items():
        rows.add_row(name, f"{count:,}")
    console.print(rows)

    checks = RichTable(title="Asset checks (per partition)")
    checks.add_column("asset")
    checks.add_column("check", overflow="fold")
    checks.add_column("passed", justify="right")
    checks.add_column("failed", justify="right")
    checks.add_column("warned", justify="right")
    tally: Counter[tuple[str, str, str]] = Counter(
        (c.asset, c.check, "passed" if c.passed else ("failed" if c.blocks else "warned"))
        for c in report.checks
    )
    for asset, check in sorted({(a, c) for a, c, _ in tally}):
        failed, warned = tally[(asset, check, "failed")], tally[(asset, check, "warned")]
        checks.add_row(
            asset,
            check,
            str(tally[(asset, check, "passed")]),
            f"[red]{failed}[/red]" if failed else "0",
            f"[yellow]{warned}[/yellow]" if warned else "0",
        )
    console.print(checks)
    if report.blocked:
        console.print(f"Blocked partitions (downstream not published): {', '.join(report.blocked)}")

    if session.table_exists(schema_of(Layer.STAGING), QUARANTINE_VIEW_NAME):
        held = session.fetchall(
            f"select source, rule, count(*) from {quarantine_view()} "  # noqa: S608
            "group by source, rule order by 1, 2"
        )
        quarantine = RichTable(title="Quarantined rows")
        for column in ("source", "rule", "rows"):
            quarantine.add_column(column)
        for source, rule, count in held:
            quarantine.add_row(str(source), str(rule), f"{count:,}")
        console.print(quarantine)

    lines = defect_lines(session, manifest)
    defects = RichTable(title="Injected defects: found vs manifest")
    for column in ("class", "expected", "found", "verdict"):
        defects.add_column(column)
    colours = {"match": "green", "MISMATCH": "red", "not yet detected": "yellow"}
    for line in lines:
        found = "—" if line.found is None else f"{line.found:,}"
        defects.add_row(
            line.key, f"{line.expected:,}", found, f"[{colours[line.verdict]}]{line.verdict}[/]"
        )
    console.print(defects)

    if session.table_exists(DSR_REQUESTS.schema, DSR_REQUESTS.name):
        requests = RichTable(title="Data-subject requests (reports under dsr/reports/)")
        for column in ("request", "kind", "status", "tables", "rows", "dead letters"):
            requests.add_column(column)
        for row in session.fetchall(
            "select request_id, kind, status, locations, rows_found, dead_letters "  # noqa: S608
            f"from {DSR_REQUESTS.qualified} order by deadline_at, request_id"
        ):
            requests.add_row(*(str(v) for v in row))
        console.print(requests)

    evaluated = publication_gates(session)
    withheld: dict[str, list[str]] = {}
    for day, gate, passed, detail in evaluated:
        if not passed:
            withheld.setdefault(day, []).append(f"{gate}: {detail}")
    publication = RichTable(title="Marts publication per business date")
    for column in ("business date", "marts", "why"):
        publication.add_column(column, overflow="fold")
    for day in sorted({d for d, *_ in evaluated}):
        reasons = withheld.get(day)
        verdict = "[red]withheld[/red]" if reasons else "[green]published[/green]"
        publication.add_row(day, verdict, "; ".join(reasons or []))
    if evaluated:
        console.print(publication)

    print_operations(console, session, alert_file, sorted({d for d, *_ in evaluated}))

    gates = gate_mismatches(report, manifest, evaluated)
    for problem in gates:
        console.print(f"[red]gate outcome differs from the manifest:[/red] {problem}")
    built = [line for line in lines if line.found is not None]
    matched = sum(line.verdict == "match" for line in built)
    console.print(
        f"{matched}/{len(built)} built detectors match the manifest; "
        f"{len(lines) - len(built)} classes not yet detected; "
        f"{len(gates)} gate outcome(s) differ."
    )
    return matched == len(built) and not gates
