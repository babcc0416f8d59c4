"""Charts drawn on the server as SVG geometry (no script, no external asset).

A chart is a list of horizontal bars with their exact values, scaled to a fixed width; the
template draws it with a ``<title>`` and ``<desc>`` and puts the same figures in a table
beside it, so a screen reader (or anyone) gets the numbers, not only the picture. Bars carry
their value as text too: color is never the only signal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Bar", "BarChart", "Segment", "bar_chart", "stacked_chart"]

#: Drawing area (SVG user units).
WIDTH = 640
LABEL_WIDTH = 220
ROW_HEIGHT = 28
BAR_HEIGHT = 18
VALUE_GAP = 6


@dataclass(frozen=True)
class Segment:
    """A part of a bar: what it is, its value and its drawn extent."""

    label: str
    value: int
    shown: str
    x: float
    width: float
    kind: str  # a CSS class: the part's pattern and color


@dataclass(frozen=True)
class Bar:
    """One row: its label, total and segments (one for a plain bar)."""

    label: str
    value: int
    shown: str
    y: float
    segments: tuple[Segment, ...]
    end: float  # where the value text starts


@dataclass
class BarChart:
    """A horizontal bar chart ready to draw."""

    id: str
    title: str
    description: str
    bars: list[Bar] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (kind, label)
    marker: tuple[float, str] | None = None  # (x, label): e.g. the budget
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    row_height: int = ROW_HEIGHT
    bar_height: int = BAR_HEIGHT

    @property
    def height(self) -> int:
        """The drawing's height (one row per bar, one for the axis)."""
        return self.row_height * (len(self.bars) + 1)


def _scale(biggest: int, room: float) -> Callable[[int], float]:
    return lambda value: 0.0 if biggest <= 0 else room * value / biggest


def bar_chart(
    id_: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, int]],
    fmt: Callable[[int], str],
    *,
    marker: tuple[int, str] | None = None,
) -> BarChart:
    """Plain bars of ``rows`` (label, value); ``marker``: a value drawn as a vertical line."""
    return stacked_chart(
        id_,
        title,
        description,
        [(label, [("bar", label, value)]) for label, value in rows],
        fmt,
        marker=marker,
    )


def stacked_chart(
    id_: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[tuple[str, str, int]]]],
    fmt: Callable[[int], str],
    *,
    legend: Sequence[tuple[str, str]] = (),
    marker: tuple[int, str] | None = None,
) -> BarChart:
    """Bars made of segments: ``rows`` is (label, [(kind, segment label, value), …])."""
    chart = BarChart(id_, title, description, legend=list(legend))
    room = chart.width - chart.label_width - 150
    totals = [sum(max(v, 0) for _, _, v in parts) for _, parts in rows]
    biggest = max([*totals, marker[0] if marker else 0, 0])
    scale = _scale(biggest, room)
    for n, ((label, parts), total) in enumerate(zip(rows, totals, strict=True)):
        x = float(chart.label_width)
        segments = []
        for kind, part, value in parts:
            width = scale(max(value, 0))
            segments.append(Segment(part, value, fmt(value), x, width, kind))
            x += width
        y = chart.row_height * n + (chart.row_height - chart.bar_height) / 2
        chart.bars.append(Bar(label, total, fmt(total), y, tuple(segments), x + VALUE_GAP))
    if marker is not None:
        chart.marker = (chart.label_width + scale(marker[0]), marker[1])
    return chart
