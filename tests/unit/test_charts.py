"""Digest charts (handlers/common/charts.py) and the words around them: sparklines, text
bars, small deterministic PNGs, and the units Mindstamp figures are shown with."""

from __future__ import annotations

import struct
import zlib

import pytest

from handlers.common.charts import MAX_BARS, MAX_POINTS, bar_chart, line_chart, sparkline, text_bar
from handlers.mindstamp.blocks import with_unit

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, each CRC checked: a PNG read without an image library."""
    assert data[:8] == PNG_SIGNATURE
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        at += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png_chunks(data)[0][1][:8])
    return width, height


@pytest.mark.parametrize(
    ("values", "line"),
    [
        ([], ""),
        ([5], "▄"),
        ([0, 0], "▁▁"),
        ([3, 3, 3], "▄▄▄"),
        ([1, 8], "▁█"),
        ([0, 7, 14], "▁▅█"),
        ([10, 5, 0], "█▅▁"),
        ([0, 5, 10, 15, 20, 25, 30, 35], "▁▂▃▄▅▆▇█"),
        ([1, float("nan"), 2], "▁█"),
        (list(range(20)), sparkline(list(range(8, 20)))),
    ],
)
def test_sparkline(values, line):
    """Each value's height between the smallest and the largest of the last 12; flat when
    all are equal; what is not a finite number is left out."""
    assert sparkline(values) == line
    assert len(sparkline(list(range(100)))) == MAX_POINTS


def test_text_bar():
    """A bar as long as its share of the largest, never empty above zero."""
    assert text_bar(10, 10, 8) == "█" * 8
    assert text_bar(5, 10, 8) == "█" * 4
    assert text_bar(0.1, 10, 8) == "█"
    assert text_bar(0, 10, 8) == "" and text_bar(3, 0, 8) == ""


def test_a_line_chart_is_a_small_deterministic_png():
    """A PNG of a fixed size, the same bytes for the same data, with no version or date
    in its text chunks; only the last 12 points are kept."""
    points = [(f"{n:02d} Mar", n * 3) for n in range(30)]
    picture = line_chart("Views", points, filename="v.png", alt_text="views ▁▂")
    png = picture.draw()
    assert png_size(png) == (640, 240)
    assert len(png) < 100_000
    assert png == line_chart("Views", points, filename="v.png", alt_text="x").draw()
    text = b"".join(body for kind, body in png_chunks(png) if kind in (b"tEXt", b"iTXt"))
    assert b"atplotlib" not in text and b"Date" not in text and b"Software" not in text
    assert picture.draw.args[1] == tuple((f"{n:02d} Mar", n * 3.0) for n in range(18, 30))
    assert (picture.filename, picture.title, picture.alt_text) == ("v.png", "Views", "views ▁▂")


def test_a_bar_chart_grows_with_its_bars_up_to_a_bound():
    """One bar per row, at most 10 rows; the height follows the rows, the width is fixed;
    a `$` or a newline in a label draws as text (no mathtext error)."""
    rows = [(f"flow ${n}$ \\frac{{", (n, 1)) for n in range(40)]
    many = bar_chart("Faults $", rows, ("faulted", "cancelled"), filename="f.png", alt_text="")
    few = bar_chart("Faults", rows[:2], ("faulted", "cancelled"), filename="f.png", alt_text="")
    assert len(many.draw.args[1]) == MAX_BARS
    (wide, tall), (wide_few, short) = png_size(many.draw()), png_size(few.draw())
    assert wide == wide_few == 640 and short < tall <= 500


def test_alt_text_is_cut_to_slacks_limit():
    """Slack takes at most 1,000 characters of alt text."""
    assert len(line_chart("t", [("a", 1)], filename="a.png", alt_text="x" * 5000).alt_text) == 1000


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Total views", 12, "12 views"),
        ("Total views", 1, "1 view"),
        ("Unique viewers", 3, "3 viewers"),
        ("Total interactions", 0, "0 interactions"),
        ("Videos watched", 2, "2 videos"),
        ("Plays", 7, "7 plays"),
        ("Avg watch time", 30.0, "30.0 s"),
        ("Total watch time", 125, "125 s (2 min 5 s)"),
        ("Minutes watched", 12, "12 min"),
        ("Completion rate", 0.667, "0.667 (66.7 %)"),
        ("Completion rate", 45, "45"),  # not a fraction: no unit we could vouch for
        ("Percent complete", 45, "45 %"),
        ("Views per day", 3, "3"),
        ("By device: mobile", 3, "3"),
        ("Total views", 0.1 + 0.2, "0.30000000000000004 views"),  # still verbatim
        ("Total views", True, "True"),
        ("Total views", "x<y", "x&lt;y"),
    ],
)
def test_mindstamp_figures_carry_their_unit(name, value, shown):
    """A figure's unit comes from its name (Mindstamp's summary is undocumented); the value
    stays verbatim, and a name that says no unit gets none."""
    assert with_unit(name, value) == shown
