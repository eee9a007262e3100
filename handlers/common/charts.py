"""Small charts for digests: PNG pictures drawn with matplotlib's Agg backend, and the text
(sparklines, bars) that stands in for them where a client shows no images.

A chart is a ``Picture`` whose ``draw`` runs only when the digest is sent, in a worker
thread (bot/digests.py): importing matplotlib takes about a second and drawing a tenth of
one, neither of which may hold the event loop. Pictures are small and bounded (a fixed
width, at most ``MAX_POINTS`` points or ``MAX_BARS`` bars, labels cut short) and the same
data always gives the same bytes (no timestamp or version in the PNG), so channels sharing
one occurrence's data share one drawing.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Sequence
from functools import lru_cache, partial
from typing import TYPE_CHECKING

from bot.messages import Picture

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

SPARKS = "▁▂▃▄▅▆▇█"
MAX_POINTS = 12
MAX_BARS = 10
LABEL_CHARS = 32
TITLE_CHARS = 80
TEXT_BAR_WIDTH = 16
WIDTH_INCHES = 6.4
DPI = 100
INK = "#1d9bd1"  # Slack's blue, readable on light and dark themes
SECOND_INK = "#b0b7bf"
# pyplot is not used (its global state is not thread-safe); separate Figures are, but
# FreeType's font cache is shared, so one drawing at a time.
_DRAWING = threading.Lock()


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def sparkline(values: Sequence[float]) -> str:
    """``[1, 5, 3]`` → ``▁█▄``: each value's height between the smallest and the largest.
    All equal: a flat middle line (a flat bottom when they are all zero)."""
    numbers = _finite(values)[-MAX_POINTS:]
    if not numbers:
        return ""
    low, high = min(numbers), max(numbers)
    if high == low:
        return (SPARKS[0] if high == 0 else SPARKS[3]) * len(numbers)
    top = len(SPARKS) - 1
    # Half up (not round()'s half to even): the same share always gets the same height.
    return "".join(SPARKS[int((v - low) / (high - low) * top + 0.5)] for v in numbers)


def text_bar(value: float, largest: float, width: int = TEXT_BAR_WIDTH) -> str:
    """A bar of full blocks, ``width`` long for ``largest``; never empty for a value above 0."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(value / largest * width))


def _label(text: str, limit: int = LABEL_CHARS) -> str:
    """One line per line of ``text``, each cut to ``limit`` characters."""
    lines = [" ".join(line.split()) for line in str(text).splitlines()] or [""]
    shown = "\n".join(line if len(line) <= limit else line[: limit - 1] + "…" for line in lines)
    # A `$` would start matplotlib's mathtext.
    return shown.replace("$", r"\$")


def line_chart(
    title: str, points: Sequence[tuple[str, float]], *, filename: str, alt_text: str
) -> Picture:
    """A line over the last ``MAX_POINTS`` (label, value) points, labels on the x axis."""
    kept = tuple((_label(label), float(value)) for label, value in points[-MAX_POINTS:])
    draw = partial(_line_png, _label(title, TITLE_CHARS), kept)
    return Picture(filename, title, alt_text[:1000], draw)


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[str],
    *,
    filename: str,
    alt_text: str,
) -> Picture:
    """Horizontal bars, the first row on top; each row's values stacked in ``series``
    order. At most ``MAX_BARS`` rows: the caller says how many were left out."""
    kept = tuple(
        (_label(label), tuple(float(v) for v in values)) for label, values in rows[:MAX_BARS]
    )
    names = tuple(series)
    draw = partial(_bars_png, _label(title, TITLE_CHARS), kept, names)
    return Picture(filename, title, alt_text[:1000], draw)


def _figure(height: float) -> Figure:
    # Imported here, in the worker thread: the first import costs about a second.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")


def _whole_numbers() -> MaxNLocator:
    """Ticks on whole numbers only: the charts count things (no "2.5 views")."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    # No "Software" (matplotlib's version) and no date: the same data, the same bytes.
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _plain(axes: Axes) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.tick_params(labelsize=8)


@lru_cache(maxsize=32)
def _line_png(title: str, points: tuple[tuple[str, float], ...]) -> bytes:
    with _DRAWING:
        figure = _figure(2.4)
        axes = figure.add_subplot()
        xs = list(range(len(points)))
        ys = [value for _, value in points]
        axes.plot(xs, ys, color=INK, marker="o", markersize=4, linewidth=2)
        axes.fill_between(xs, ys, color=INK, alpha=0.12)
        axes.set_xticks(xs, [label for label, _ in points])
        axes.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
        axes.set_ylim(bottom=0, top=max([*ys, 1.0]) * 1.15)
        axes.yaxis.set_major_locator(_whole_numbers())
        axes.set_title(title, fontsize=10, loc="left")
        _plain(axes)
        return _png(figure)


@lru_cache(maxsize=32)
def _bars_png(
    title: str, rows: tuple[tuple[str, tuple[float, ...]], ...], series: tuple[str, ...]
) -> bytes:
    with _DRAWING:
        figure = _figure(1.0 + 0.32 * max(len(rows), 1))
        axes = figure.add_subplot()
        ys = list(range(len(rows)))
        left = [0.0] * len(rows)
        for index, name in enumerate(series):
            widths = [values[index] if index < len(values) else 0.0 for _, values in rows]
            color = INK if index == 0 else SECOND_INK
            axes.barh(ys, widths, left=left, color=color, label=_label(name), height=0.6)
            left = [a + b for a, b in zip(left, widths, strict=True)]
        axes.set_yticks(ys, [label for label, _ in rows])
        axes.invert_yaxis()  # the first row on top, as in the message
        axes.set_xlim(left=0, right=max([*left, 1.0]) * 1.1)
        axes.xaxis.set_major_locator(_whole_numbers())
        if len(series) > 1:
            figure.legend(fontsize=8, frameon=False, loc="outside upper right", ncols=len(series))
        axes.set_title(title, fontsize=10, loc="left")
        _plain(axes)
        return _png(figure)
