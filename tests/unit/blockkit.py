"""Checks that a builder's output is Block Kit Slack accepts, and that vendor text in it is
inert (no mentions, broadcasts, links or code fences of its own)."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
MESSAGE_TEXT = 40_000

# What the builders themselves put in mrkdwn: a user mention from a Slack user id, a date
# token and an http(s) link. Anything else in angle brackets came from outside.
_ALLOWED_TOKENS = re.compile(
    r"<@[UW][A-Z0-9]+>|<!date\^\d+\^[^<>|]*\|[^<>]*>|<https?://[^\s<>|]+\|[^<>]*>"
)
_BROADCAST = re.compile(r"@(channel|here|everyone)(?![A-Za-z0-9_])", re.IGNORECASE)
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def texts(node: Any) -> list[dict[str, Any]]:
    """Every text object (``{"type": "mrkdwn"|"plain_text", "text": …}``) under ``node``."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
            found.append(node)
        for value in node.values():
            found.extend(texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(texts(item))
    return found


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in ``blocks``, in order: in actions blocks and as section accessories."""
    found = []
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        accessory = block.get("accessory")
        found.extend(e for e in [*elements, accessory] if e and e.get("type") == "button")
    return found


def assert_valid(blocks: list[dict[str, Any]]) -> None:
    """Slack would accept these blocks: slack_sdk's models parse every block without
    dropping a key and their validators pass; the limits they do not check are checked here."""
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        model = Block.parse(block)
        assert model is not None, f"unknown block type: {block.get('type')}"
        # to_dict() runs the validators of the block and of everything in it.
        assert model.to_dict() == block
        if block["type"] == "section":
            for field in block.get("fields", []):
                assert 0 < len(field["text"]) <= FIELD_TEXT
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= SECTION_TEXT
        if block["type"] == "context":
            assert 0 < len(block["elements"]) <= CONTEXT_ELEMENTS
            for element in block["elements"]:
                assert 0 < len(element["text"]) <= SECTION_TEXT
    for button in buttons(blocks):
        assert 0 < len(button["text"]["text"]) <= BUTTON_TEXT
        assert 0 < len(button["value"]) <= BUTTON_VALUE


def assert_inert(text: str) -> None:
    """``text`` (mrkdwn) holds nothing live but what the builders add themselves."""
    assert not _BROADCAST.search(text), text
    rest = _ALLOWED_TOKENS.sub("", text)
    assert "<" not in rest and ">" not in rest, text
    assert not _BARE_AMPERSAND.search(text), text
    fences = text.count("```")
    assert fences == 0 or (fences == 2 and text.startswith("```") and text.endswith("```")), text


def assert_message(message: Any, *, text_limit: int | None = MESSAGE_TEXT) -> None:
    """A whole message: valid blocks, inert mrkdwn everywhere, a fallback text within
    ``text_limit`` (None: any length, for a text that Slack may cut itself)."""
    assert_valid(message.blocks)
    assert message.text
    if text_limit is not None:
        assert len(message.text) <= text_limit
    assert_inert(message.text)
    for node in texts(message.blocks):
        if node["type"] == "mrkdwn":
            assert_inert(node["text"])
