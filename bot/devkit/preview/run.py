"""``chatops preview --out DIR [--script FILE] [--screenshots DIR]``."""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bot.devkit.console.run import loopback_without_proxy
from bot.devkit.preview import gallery, shots
from bot.devkit.preview.tour import DEFAULT_TOUR, PreviewError, run_tour

OUR_FILES = re.compile(r"\d{2}-[A-Za-z0-9._-]+")  # the names tour.py gives copied files


def main(out: str, script: str | None = None, screenshots: str | None = None) -> int:
    """0 when the gallery (and the pictures asked for) were written."""
    if script is None:
        script_text = DEFAULT_TOUR
    else:
        try:
            script_text = Path(script).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"chatops preview: cannot read {script}: {exc}", file=sys.stderr)
            return 2
    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _forget_old_files(out_dir / "files")
    except OSError as exc:
        print(f"chatops preview: cannot write to {out}: {exc}", file=sys.stderr)
        return 2
    loopback_without_proxy()
    started = time.monotonic()
    print("chatops preview: running the tour (sandboxes, a Slack fake and the app)…", flush=True)
    try:
        with (
            (out_dir / "transcript.txt").open("w", encoding="utf-8") as transcript,
            tempfile.TemporaryDirectory(prefix="chatops-preview-") as workdir,
        ):
            console = Console(
                file=transcript, width=100, color_system=None, highlight=False, emoji=False
            )
            tour = asyncio.run(
                run_tour(script_text, workdir=Path(workdir), out=out_dir, transcript=console)
            )
    except PreviewError as exc:
        print(f"chatops preview: {exc}", file=sys.stderr)
        return 1
    index = gallery.write(tour, out_dir)
    items = tour.items()
    print(
        f"wrote {index} in {time.monotonic() - started:.0f} s: {len(tour.steps)} steps, "
        f"{sum(i.kind == 'message' for i in items)} messages, "
        f"{sum(i.kind == 'modal' for i in items)} forms, "
        f"{sum(i.kind == 'file' for i in items)} files, "
        f"{sum(i.kind == 'home' for i in items)} Home page "
        f"(what the console showed: {out_dir / 'transcript.txt'})"
    )
    if tour.app_error:
        print(
            f"chatops preview: the app logged an error during the tour: {tour.app_error} "
            f"(see {out_dir / 'app.log'})",
            file=sys.stderr,
        )
    if screenshots is not None:
        try:
            written = shots.take(index, Path(screenshots))
        except shots.ShotError as exc:
            print(f"chatops preview: {exc}", file=sys.stderr)
            return 2
        for path in written:
            print(f"wrote {path}")
    return 0


def _forget_old_files(files: Path) -> None:
    """Files copied by an earlier run would be shown by nothing: remove those only."""
    if not files.is_dir():
        return
    for path in files.iterdir():
        if path.is_file() and OUR_FILES.fullmatch(path.name):
            path.unlink()
