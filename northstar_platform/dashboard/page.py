"""The HTML documents: the review page, one run's page, and a readable error page.

Everything is inline (style, SVG, even the empty favicon): the page makes no request but its
own, so it renders the same on a machine without internet.
"""

from html import escape
from typing import Any

from northstar_platform.dashboard.charts import count
from northstar_platform.dashboard.panels import PANEL_HTML
from northstar_platform.dashboard.reader import Window

STYLE = """
:root { color-scheme: light; --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: #f5f7fa; }
header { background: #102a43; color: #f0f4f8; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { margin: 0; color: #bcccdc; }
header code { color: #fff; }
header nav a { color: #9fb3c8; margin-right: 12px; }
header nav a.current { color: #fff; font-weight: 600; }
main { max-width: 1200px; margin: 0 auto; padding: 16px 24px 48px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px;
  padding: 16px 20px; margin: 16px 0; }
.panel h2 { margin: 0 0 4px; font-size: 18px; }
.panel h3 { margin: 16px 0 6px; font-size: 15px; }
.explain { margin: 0 0 8px; color: var(--muted); font-size: 13px; }
.empty { margin: 12px 0; padding: 16px; text-align: center; color: var(--muted);
  background: #f0f4f8; border-radius: 6px; }
.warning { color: #8a4b08; background: #fff4e0; padding: 6px 10px; border-radius: 4px; }
figure { margin: 8px 0; }
figcaption { font-size: 13px; font-weight: 600; margin-bottom: 2px; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
  gap: 8px 20px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #eef2f6; } svg .axis { stroke: #9aa5b1; }
svg .tick { font-size: 11px; fill: var(--muted); }
svg .axis-title { font-size: 11px; fill: var(--muted); }
svg .bar-label { font-size: 10px; fill: var(--ink); }
svg .line { stroke-width: 2; }
svg .mark:hover { opacity: 0.75; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 4px 0 0;
  padding: 0; font-size: 12px; color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 5px; vertical-align: -1px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; background: #f8fafc; }
a { color: #1d6fb8; }
"""

WINDOW_CHOICES = (7, 31, 92)


def _document(title: str, header: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><header>{header}</header>"
        f"<main>{body}</main></body></html>"
    )


def review_page(
    panels: dict[str, dict[str, Any]], window: Window, warehouse: str, read_at: str
) -> str:
    """The monthly review: a header saying what was read and when, then one section per panel."""
    days = (window.last - window.first).days + 1
    current = ' class="current"'
    nav = "".join(
        f'<a href="?days={n}&amp;end={window.last.isoformat()}"'
        f"{current if n == days else ''}>last {n} days</a>"
        for n in WINDOW_CHOICES
    )
    header = (
        "<h1>Northstar operations review</h1>"
        f'<p class="meta">warehouse <code>{escape(warehouse)}</code> · read {escape(read_at)} UTC'
        f" · {window.first.isoformat()} to {window.last.isoformat()} ({days} days)</p>"
        f"<nav>{nav}</nav>"
    )
    body = "".join(render(panels[name], window) for name, render in PANEL_HTML.items())
    return _document("Northstar operations review", header, body)


def run_page(run: dict[str, Any] | None, run_id: str, dagster_url: str) -> str:
    """One run's row of the run log: status, timing, rows written and check results."""
    header = (
        f"<h1>Run {escape(run_id)}</h1>"
        f'<p class="meta"><a href="/" style="color:#9fb3c8">back to the review</a> · '
        f'<a href="{escape(dagster_url)}" style="color:#9fb3c8">open in the Dagster UI</a></p>'
    )
    if run is None:
        body = (
            '<section class="panel"><p class="empty">this run is not in ops.pipeline_run_log '
            "(yet): it may still be running, or predate the run log</p></section>"
        )
        return _document(f"Run {run_id}", header, body)
    fields = (
        "job_name",
        "partition_key",
        "status",
        "started_at",
        "ended_at",
        "duration_s",
        "trigger",
        "checks_passed",
        "checks_failed",
        "error",
        "code_version",
        "dbt_manifest_hash",
        "environment",
    )
    summary = "".join(
        f'<tr><th>{escape(f)}</th><td data-field="{f}">{escape(str(run.get(f) or ""))}</td></tr>'
        for f in fields
    )
    rows = "".join(
        f"<tr><td>{escape(str(a))}</td><td>{count(int(n or 0))}</td></tr>"
        for a, n in sorted(run["rows_written"].items())
    )
    checks = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(c.get(k, '')))}</td>"
            for k in ("asset", "check", "partition", "passed", "severity")
        )
        + "</tr>"
        for c in run["check_results"]
    )
    body = (
        f'<section class="panel"><h2>Run</h2><table class="run">{summary}</table></section>'
        '<section class="panel"><h2>Rows written</h2><table><thead><tr><th>asset</th>'
        f"<th>rows</th></tr></thead><tbody>{rows}</tbody></table></section>"
        '<section class="panel"><h2>Check results</h2><table><thead><tr><th>asset</th>'
        "<th>check</th><th>partition</th><th>passed</th><th>severity</th></tr></thead>"
        f"<tbody>{checks}</tbody></table></section>"
    )
    return _document(f"Run {run_id}", header, body)


def error_page(title: str, message: str) -> str:
    """A short page that says what is wrong in one sentence (never a traceback)."""
    return _document(
        title,
        f"<h1>{escape(title)}</h1>",
        f'<section class="panel"><p class="error">{escape(message)}</p></section>',
    )
