"""What the console says went wrong: something typed, or a part that did not start."""

from __future__ import annotations


class ConsoleError(Exception):
    """Something the person typed cannot be done; the message says what would work."""


class StartupError(Exception):
    """A part of the console's stack did not start; the message names it."""
