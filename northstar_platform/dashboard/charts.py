"""Inline SVG charts: bar, stacked bar and line, with axes, a legend and `<title>` tooltips.

Pure functions from numbers to markup, so the page needs no script and no network (the
machines it runs on have no internet, and a CDN-hosted chart library would draw nothing).
Every drawn datum is one element with class `mark` (`rect` for bars, `circle` for points)
carrying `data-series` and `data-category`, which is what the browser test counts. A chart
without data is the sentence "no data yet", never an empty frame.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
"""Tableau 10: distinguishable colours, assigned to series in order."""

EMPTY = '<p class="empty">no data yet</p>'


@dataclass(frozen=True)
class Frame:
    """Size of a chart and its margins, in SVG user units (the SVG scales to its box)."""

    width: int = 1100
    height: int = 260
    left: int = 64
    right: int = 16
    top: int = 20
    bottom: int = 44

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom


SMALL = Frame(width=360, height=170, left=56, right=12, top=14, bottom=36)
"""A small multiple (one asset's history)."""


def count(value: float) -> str:
    """A count with thousands separators (`12,345`)."""
    return f"{value:,.0f}"


def percent(value: float) -> str:
    """A share as a percentage with up to two decimals (`1.5%`)."""
    return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"


def nice_ticks(top: float, most: int = 5, whole: bool = False) -> list[float]:
    """Axis ticks from 0 to at least `top` in steps of 1, 2 or 5 times 10^k (at least 1 when
    `whole`: a count of 2 has no tick at 1.5)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (most - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def colors_for(names: Sequence[str], fixed: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per series name: `fixed` ones first, the palette in order for the rest."""
    fixed = fixed or {}
    free = iter(c for c in PALETTE * (len(names) // len(PALETTE) + 1) if c not in fixed.values())
    return {name: fixed.get(name) or next(free) for name in names}


def _legend(colors: Mapping[str, str]) -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{color}"></span>{escape(name)}</li>'
        for name, color in colors.items()
    )
    return f'<ul class="legend">{items}</ul>'


def _axes(
    frame: Frame, ticks: list[float], fmt: Callable[[float], str], y_label: str, labels: list[str]
) -> list[str]:
    """Gridlines with y tick labels, the x axis with thinned category labels, axis titles."""
    parts = []
    y_max = ticks[-1]
    for tick in ticks:
        y = frame.top + frame.plot_height * (1 - tick / y_max)
        parts.append(
            f'<line class="grid" x1="{frame.left}" x2="{frame.width - frame.right}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="tick" x="{frame.left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(fmt(tick))}</text>'
        )
    base = frame.top + frame.plot_height
    parts.append(
        f'<line class="axis" x1="{frame.left}" x2="{frame.width - frame.right}" '
        f'y1="{base}" y2="{base}"/>'
    )
    step = max(1, math.ceil(len(labels) / max(1, int(frame.plot_width // 70))))
    slot = frame.plot_width / max(1, len(labels))
    for i in range(0, len(labels), step):
        x = frame.left + slot * (i + 0.5)
        parts.append(
            f'<text class="tick" x="{x:.1f}" y="{base + 16}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    parts.append(
        f'<text class="axis-title" transform="translate(14 {frame.top + frame.plot_height / 2})'
        f' rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def _svg(frame: Frame, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f'aria-label="{escape(title)}" preserveAspectRatio="xMidYMid meet">{"".join(body)}</svg>'
    )


def _figure(chart_id: str, svg: str, legend: Mapping[str, str], caption: str = "") -> str:
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="chart-figure" data-chart="{escape(chart_id)}">{cap}{svg}'
        f"{_legend(legend)}</figure>"
    )


def stacked_bar_chart(
    chart_id: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    y_label: str,
    tooltips: Mapping[str, Sequence[str]],
    colors: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    bar_labels: Sequence[str] | None = None,
    fmt: Callable[[float], str] = count,
    frame: Frame = Frame(),
    caption: str = "",
    draw_zeros: bool = False,
) -> str:
    """One bar per category, one segment per series with a non-zero value (zeros draw nothing,
    or a hairline on the axis with `draw_zeros`).

    `series` maps a series name to one value per category; `tooltips` the same shape, shown
    on hover. `labels` shortens the x-axis labels; `bar_labels` are printed above each bar.
    A single series is a plain bar chart (see `bar_chart`).
    """
    if not categories or not series:
        return EMPTY
    colors = colors_for(list(series), colors)
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    ticks = nice_ticks(max(totals), whole=fmt is count)
    y_max = ticks[-1]
    slot = frame.plot_width / len(categories)
    width = min(max(1.0, slot * 0.72), 48.0)
    body = _axes(frame, ticks, fmt, y_label, list(labels or categories))
    for i, category in enumerate(categories):
        x = frame.left + slot * i + (slot - width) / 2
        y = base = frame.top + frame.plot_height
        for name, values in series.items():
            if not values[i] and not draw_zeros:
                continue
            height = frame.plot_height * values[i] / y_max
            y -= height
            body.append(
                f'<rect class="mark" data-series="{escape(name)}" '
                f'data-category="{escape(category)}" x="{x:.2f}" y="{min(y, base - 1):.2f}" '
                f'width="{width:.2f}" height="{max(height, 1.0):.2f}" fill="{colors[name]}">'
                f"<title>{escape(tooltips[name][i])}</title></rect>"
            )
        if bar_labels and bar_labels[i]:
            body.append(
                f'<text class="bar-label" x="{x + width / 2:.1f}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{escape(bar_labels[i])}</text>'
            )
    return _figure(chart_id, _svg(frame, chart_id, body), colors, caption)


def bar_chart(
    chart_id: str,
    categories: Sequence[str],
    values: Sequence[float],
    *,
    name: str,
    y_label: str,
    tooltips: Sequence[str],
    color: str = PALETTE[0],
    labels: Sequence[str] | None = None,
    fmt: Callable[[float], str] = count,
    frame: Frame = Frame(),
    caption: str = "",
    zero_ticks: bool = False,
) -> str:
    """One bar per category. With `zero_ticks`, a zero is drawn as a hairline on the axis
    (a partition with nothing held is still a partition worth hovering), otherwise omitted."""
    if not categories:
        return EMPTY
    return stacked_bar_chart(
        chart_id,
        categories,
        {name: values},
        y_label=y_label,
        tooltips={name: tooltips},
        colors={name: color},
        labels=labels,
        fmt=fmt,
        frame=frame,
        caption=caption,
        draw_zeros=zero_ticks,
    )


def line_chart(
    chart_id: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    y_label: str,
    tooltips: Mapping[str, Sequence[str]],
    colors: Mapping[str, str] | None = None,
    labels: Sequence[str] | None = None,
    fmt: Callable[[float], str] = count,
    frame: Frame = Frame(),
    caption: str = "",
) -> str:
    """One point per (series, category) with a value (None draws nothing), joined by a line
    within each series; a gap in the data is a gap in the line."""
    present = [v for values in series.values() for v in values if v is not None]
    if not categories or not present:
        return EMPTY
    colors = colors_for(list(series), colors)
    ticks = nice_ticks(max(present), whole=fmt is count)
    y_max = ticks[-1]
    slot = frame.plot_width / len(categories)
    body = _axes(frame, ticks, fmt, y_label, list(labels or categories))
    for name, values in series.items():
        run: list[str] = []
        points = []
        for i, value in enumerate([*values, None]):
            if value is None:
                if len(run) > 1:
                    body.append(
                        f'<polyline class="line" fill="none" stroke="{colors[name]}" '
                        f'points="{" ".join(run)}"/>'
                    )
                run = []
                continue
            x = frame.left + slot * (i + 0.5)
            y = frame.top + frame.plot_height * (1 - value / y_max)
            run.append(f"{x:.1f},{y:.1f}")
            points.append(
                f'<circle class="mark" data-series="{escape(name)}" '
                f'data-category="{escape(categories[i])}" cx="{x:.1f}" cy="{y:.1f}" r="3.5" '
                f'fill="{colors[name]}"><title>{escape(tooltips[name][i])}</title></circle>'
            )
        body.extend(points)
    return _figure(chart_id, _svg(frame, chart_id, body), colors, caption)
