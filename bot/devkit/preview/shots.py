"""Pictures for the README: the gallery's items marked ``data-shot`` (by the tour's
``# shot NAME KIND`` lines), each cropped to its element."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.devkit.preview.browser import CHROMIUM, launch

WIDTH = 800  # an item is at most 760 px wide at this width


class ShotError(Exception):
    """No pictures can be taken here; the message says what is missing."""


def take(index: Path, out: Path, browser: Any = None) -> list[Path]:
    """Screenshot every ``[data-shot]`` of the gallery ``index`` into ``out/NAME.png``,
    with ``browser`` (Playwright's, sync API) or a Chromium of its own."""
    if browser is not None:
        written = _take(browser, index, out)
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ModuleNotFoundError:
            raise ShotError(
                "screenshots need Playwright (the dev extra: pip install -e '.[dev]')"
            ) from None
        if not CHROMIUM.exists():
            raise ShotError(f"screenshots need Chromium at {CHROMIUM} (apt-get install chromium)")
        with sync_playwright() as playwright:
            own = launch(playwright)
            try:
                written = _take(own, index, out)
            finally:
                own.close()
    for path in written:
        _shrink(path)
    return written


def _take(browser: Any, index: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    try:
        page.goto(index.resolve().as_uri())
        for shot in page.locator("[data-shot]").all():
            path = out / f"{shot.get_attribute('data-shot') or 'shot'}.png"
            shot.screenshot(path=str(path), animations="disabled")
            written.append(path)
    finally:
        page.close()
    return written


def _shrink(path: Path) -> None:
    """Smaller PNGs for the repository: a 256-colour palette is plenty for cards."""
    try:
        from PIL import Image
    except ModuleNotFoundError:  # Pillow comes with matplotlib; without it, keep as taken
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
