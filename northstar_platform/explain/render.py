"""A trace as plain text (readable in a log) or JSON (`--json`)."""

import json
from typing import Any

from northstar_platform.explain.steps import Step, Trace
from northstar_platform.lib.root_cause import plain

WHERE_COLUMNS = ("source_file", "line_no", "ingested_ts", "run_id")
"""Shown first on every row: where it came from, when, and which run wrote it."""

HIDDEN = {"record", "payload"}
"""Long raw texts: kept in --json, shortened in the text."""


def to_json(trace: Trace) -> str:
    """The whole trace as one JSON document."""
    return json.dumps(trace.to_dict(), indent=2, sort_keys=False, default=str)


def _value(value: Any) -> str:
    text = str(plain(value))
    return text if len(text) <= 80 else f"{text[:77]}..."


def _run(run_id: str, trace: Trace) -> str:
    info = trace.runs.get(run_id)
    if info is None:
        return f"{run_id} (run not in the run log)"
    return (
        f"{run_id} ({info['job_name']}, {info['status']}, ended {plain(info['ended_at'])}, "
        f"code {info['code_version']})"
    )


def _row(row: dict[str, Any], trace: Trace) -> str:
    parts = []
    if row.get("source_file") is not None:
        line = f":{row['line_no']}" if row.get("line_no") is not None else ""
        parts.append(f"{row['source_file']}{line}")
    if row.get("ingested_ts") is not None:
        parts.append(f"arrived {plain(row['ingested_ts'])}")
    parts += [
        f"{k}={_value(v)}"
        for k, v in row.items()
        if k not in WHERE_COLUMNS and not k.endswith("run_id") and v is not None
    ]
    runs = [
        f"{k.removesuffix('_id').replace('_', ' ')}: {_run(str(row[k]), trace)}"
        for k in row
        if k.endswith("run_id") and row[k] is not None
    ]
    return "  ".join(parts) + "".join(f"\n        {r}" for r in runs)


def _step(n: int, step: Step, trace: Trace) -> list[str]:
    head = f"[{n:2}] {step.layer:<11} {step.table}"
    if not step.rows:
        return [f"{head}: none{f' ({step.note})' if step.note else ''}"]
    lines = [f"{head}: {len(step.rows)} row(s){f' - {step.note}' if step.note else ''}"]
    for row in step.rows:
        shown = {k: ("…" if k in HIDDEN and v else v) for k, v in row.items()}
        lines.append(f"      - {_row(shown, trace)}")
    return lines


def to_text(trace: Trace) -> str:
    """Step by step, then the class with its evidence."""
    head = f"{trace.entity} {trace.key}"
    if trace.order_id and trace.order_id != trace.key:
        head += f" (order {trace.order_id})"
    lines = [head]
    for n, step in enumerate(trace.steps, start=1):
        lines += _step(n, step, trace)
    lines.append(f"class: {trace.verdict.cause.value}")
    lines.append(f"evidence: {trace.verdict.summary}")
    return "\n".join(lines)
