"""Debian's chromium, driven by Playwright: nothing is downloaded, and a machine with no
network must not make Chromium try (its background connections are refused in bulk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch(playwright: Any) -> Any:
    """A headless Chromium from ``playwright`` (sync API), run from CHROMIUM."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(ARGS))
