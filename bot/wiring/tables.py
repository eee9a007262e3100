"""Tables for the admin commands (`check`, `audit`): drawn with rich when the `console`
extra is installed, as plain aligned text when it is not (a server image needs no
terminal UI library to say what is wrong)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

# Colours for a state word in a table cell (rich only).
COLOURS = {"ok": "green", "not configured": "yellow", "warning": "yellow", "error": "red"}


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def show(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    coloured: int | None = None,
    out: TextIO | None = None,
) -> None:
    """Print a table; cell text is shown as it is (never read as markup). ``coloured``: the
    index of a column of state words to colour."""
    out = out or sys.stdout
    if _rich_available():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title)
        for header in headers:
            table.add_column(header, overflow="fold")
        for row in rows:
            table.add_row(
                *(
                    Text(cell, style=COLOURS.get(cell, "") if i == coloured else "")
                    for i, cell in enumerate(row)
                )
            )
        Console(file=out).print(table)
        return
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)]
    print(title, file=out)
    for cells in (headers, ["-" * w for w in widths], *rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        print(line.rstrip(), file=out)
