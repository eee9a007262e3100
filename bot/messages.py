"""What a vendor's handlers hand the core to show in Slack: text, blocks, files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileUpload:
    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Picture:
    """An image sent with a message, drawn only when it is sent: ``draw`` returns PNG
    bytes and may take a while, so the sender runs it in a worker thread. ``alt_text``
    says in words what it shows (for screen readers and clients showing no images)."""

    filename: str
    title: str
    alt_text: str
    draw: Callable[[], bytes] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Message:
    """A Slack message: ``text`` is the notification/fallback, ``blocks`` the card,
    ``files`` pictures posted after it, on a best-effort basis (the text never waits for,
    nor depends on, them)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    files: tuple[Picture, ...] = ()
