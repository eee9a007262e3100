"""What a vendor's handlers hand the core to show in Slack: text, blocks, files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FileUpload:
    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Message:
    """A Slack message: ``text`` is the notification/fallback, ``blocks`` the card."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
