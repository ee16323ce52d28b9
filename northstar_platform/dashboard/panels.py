"""One HTML section per panel, from the data `queries` returns (the same dicts the JSON API
serves), so what the page draws and what `/api/<panel>.json` says cannot drift apart."""

from collections import defaultdict
from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import quote as url_quote

from northstar_platform.dashboard.charts import (
    EMPTY,
    SMALL,
    bar_chart,
    count,
    line_chart,
    percent,
    stacked_bar_chart,
)
from northstar_platform.dashboard.reader import Window
from northstar_platform.layers import ORDER_MISMATCH_CLASSES, PREFERENCE_MISMATCH_CLASSES


def _days(window: Window) -> list[str]:
    days, day = [], window.first
    while day <= window.last:
        days.append(day.isoformat())
        day = day.fromordinal(day.toordinal() + 1)
    return days


def _short(days: Sequence[str]) -> list[str]:
    """`MM-DD` axis labels for ISO days."""
    return [d[5:] for d in days]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    """An HTML table; cells are already-escaped markup."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(panel: str, title: str, explain: str, body: str) -> str:
    return (
        f'<section class="panel" id="{panel}" data-panel="{panel}"><h2>{escape(title)}</h2>'
        f'<p class="explain">{escape(explain)}</p>{body}</section>'
    )


def _unreadable(data: dict[str, Any], column: str) -> str:
    n = data.get("unreadable_runs", 0)
    if not n:
        return ""
    return (
        f'<p class="warning">{n} run-log row(s) have an unreadable {column} and are left out.</p>'
    )


def rows_panel(data: dict[str, Any], window: Window) -> str:
    """Small multiples: one line chart of rows written per day for each asset."""
    days = _days(window)
    by_asset: dict[str, dict[str, int]] = defaultdict(dict)
    for point in data["points"]:
        by_asset[point["asset"]][point["day"]] = point["rows"]
    charts = []
    for asset, per_day in sorted(by_asset.items()):
        values = [per_day.get(day) for day in days]
        tips = [f"{asset} {day}: {count(v or 0)} rows" for day, v in zip(days, values, strict=True)]
        charts.append(
            line_chart(
                f"rows:{asset}",
                days,
                {asset: values},
                y_label="rows",
                tooltips={asset: tips},
                labels=_short(days),
                frame=SMALL,
                caption=f"{asset} — {count(sum(per_day.values()))} rows in {len(per_day)} day(s)",
            )
        )
    body = f'<div class="multiples">{"".join(charts)}</div>' if charts else EMPTY
    return _section(
        "rows",
        "Rows written per asset",
        "Rows each asset wrote per day (sum over the day's runs, by run end), from "
        "ops.pipeline_run_log.",
        _unreadable(data, "rows_written") + body,
    )


def checks_panel(data: dict[str, Any], window: Window) -> str:
    """Passed and failed check results per day, the pass rate above each bar, and the
    checks that failed."""
    days = _days(window)
    by_day = {d["day"]: d for d in data["days"]}
    passed = [by_day[d]["passed"] if d in by_day else 0 for d in days]
    failed = [by_day[d]["failed"] if d in by_day else 0 for d in days]
    tips = [
        f"{d}: {by_day[d]['passed']} passed, {by_day[d]['failed']} failed "
        f"({percent(by_day[d]['pass_rate'])} pass)"
        if d in by_day
        else ""
        for d in days
    ]
    chart = (
        stacked_bar_chart(
            "checks",
            days,
            {"passed": passed, "failed": failed},
            y_label="check results",
            tooltips={"passed": tips, "failed": tips},
            colors={"passed": "#59a14f", "failed": "#e15759"},
            labels=_short(days),
            bar_labels=[percent(by_day[d]["pass_rate"]) if d in by_day else "" for d in days],
        )
        if by_day
        else EMPTY
    )
    rows = [
        (
            escape(f["asset"]),
            escape(f["check"]),
            escape(str(f["severity"] or "")),
            str(f["failures"]),
            escape(", ".join(map(str, f["partitions"][:6]))) + (" …" * (len(f["partitions"]) > 6)),
            escape(f["last_day"]),
        )
        for f in data["failing"]
    ]
    failing = (
        "<h3>Failed checks</h3>"
        + _table(
            ("asset", "check", "severity", "failures", "partitions", "last failed"),
            rows,
            "failing",
        )
        if rows
        else ""
    )
    return _section(
        "checks",
        "Check pass rate per day",
        "Check results recorded by the runs that ended each day (ops.pipeline_run_log); the "
        "label above a bar is its pass rate.",
        _unreadable(data, "check_results") + chart + failing,
    )


def _mismatch_chart(
    chart_id: str, rows: list[dict[str, Any]], value: str, classes: Sequence[str], days: list[str]
) -> str:
    counts = {(r["date"], r["mismatch_type"]): r[value] for r in rows}
    present = [c for c in classes if any(t == c for _, t in counts)]
    present += sorted({t for _, t in counts} - set(classes))
    if not present:
        return EMPTY
    series = {c: [counts.get((d, c), 0) for d in days] for c in present}
    tips = {c: [f"{d} {c}: {counts.get((d, c), 0)}" for d in days] for c in present}
    return stacked_bar_chart(
        chart_id, days, series, y_label="mismatches", tooltips=tips, labels=_short(days)
    )


def mismatches_panel(data: dict[str, Any], window: Window) -> str:
    """Open order mismatches per business date, preference mismatches per reconciliation
    date, each stacked by class."""
    days = _days(window)
    body = (
        "<h3>Open order mismatches per business date</h3>"
        + _mismatch_chart("mismatches:orders", data["orders"], "open", ORDER_MISMATCH_CLASSES, days)
        + "<h3>Preference mismatches per reconciliation date</h3>"
        + _mismatch_chart(
            "mismatches:preferences",
            data["preferences"],
            "mismatches",
            PREFERENCE_MISMATCH_CLASSES,
            days,
        )
    )
    return _section(
        "mismatches",
        "Mismatch trends by class",
        "audit.audit_order_mismatches (open = not cleared) and "
        "audit.audit_preference_mismatches, counted per date and class.",
        body,
    )


def quarantine_panel(data: dict[str, Any], window: Window) -> str:
    """Per source, the share of each partition's raw rows held in quarantine."""
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in data["partitions"]:
        if p["raw_rows"]:
            by_source[p["source"]].append(p)
    charts = []
    for source, parts in sorted(by_source.items()):
        keys = [p["partition"] for p in parts]
        charts.append(
            bar_chart(
                f"quarantine:{source}",
                keys,
                [p["rate"] for p in parts],
                name=f"{source}: held / raw rows",
                y_label="held share",
                tooltips=[
                    f"{source} {p['partition']}: {count(p['held_rows'])} of "
                    f"{count(p['raw_rows'])} rows held ({percent(p['rate'])})"
                    for p in parts
                ],
                labels=[k[5:] for k in keys],
                fmt=percent,
                caption=f"{source} — {len(parts)} partition(s)",
                zero_ticks=True,
            )
        )
    held = [p for p in data["partitions"] if p["held_rows"]]
    table = _table(
        ("source", "partition", "held rows", "raw rows", "rate"),
        [
            (
                escape(p["source"]),
                escape(p["partition"]),
                count(p["held_rows"]),
                count(p["raw_rows"]),
                percent(p["rate"]) if p["rate"] is not None else "no raw rows",
            )
            for p in held
        ],
        "held",
    )
    body = "".join(charts) or EMPTY
    if held:
        body += "<h3>Partitions with held rows</h3>" + table
    return _section(
        "quarantine",
        "Quarantine rate per source and partition",
        "Held rows (sum of held_rows in staging.quarantine_records) / rows of the source's raw "
        "table, per partition (day, or hour for WMS); a hairline is a partition with none held.",
        body,
    )


def alerts_panel(data: dict[str, Any], window: Window) -> str:
    """Alerts raised per day, and the latest alerts with links to their runs."""
    days = _days(window)
    per_day = {d["day"]: d["alerts"] for d in data["per_day"]}
    chart = (
        bar_chart(
            "alerts",
            days,
            [per_day.get(d, 0) for d in days],
            name="alerts raised",
            y_label="alerts",
            tooltips=[f"{d}: {per_day.get(d, 0)} alert(s)" for d in days],
            color="#e15759",
            labels=_short(days),
        )
        if per_day
        else EMPTY
    )
    rows = [
        (
            escape(a["raised_at"]),
            escape(a["asset_key"]),
            escape(a["partition_key"] or ""),
            f'<span title="{escape(a["message"])}">{escape(a["check_name"])}</span>',
            escape(a["observed"] or ""),
            escape(a["threshold"] or ""),
            f'<a class="run-link" href="/runs/{url_quote(a["run_id"], safe="")}">'
            f"{escape(a['run_id'][:8])}</a> · "
            f'<a class="dagster-link" href="{escape(a["run_url"])}">Dagster</a>',
        )
        for a in data["latest"]
    ]
    table = (
        f"<h3>Latest alerts ({len(rows)} of {data['total']})</h3>"
        + _table(
            ("raised (UTC)", "asset", "partition", "check", "observed", "threshold", "run"),
            rows,
            "alerts",
        )
        if rows
        else ""
    )
    return _section(
        "alerts",
        "Alerts",
        "Failed blocking checks and failed runs, from ops.pipeline_alert_log.",
        chart + table,
    )


PANEL_HTML = {
    "rows": rows_panel,
    "checks": checks_panel,
    "mismatches": mismatches_panel,
    "quarantine": quarantine_panel,
    "alerts": alerts_panel,
}
"""Panel name → its section, in page order."""
