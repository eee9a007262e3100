"""The Block Kit pieces every vertical's cards are made of, each within Slack's limits
(3,000 characters of section or context text, 2,000 per field and button value, at most
10 fields). Texts are mrkdwn the caller has already escaped."""

from __future__ import annotations

from typing import Any

from handlers.common.text import clip


def section(text: str) -> dict[str, Any]:
    # Slack refuses an empty text: a lone space keeps the block valid.
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000) or " "}}


def fields(items: list[str]) -> dict[str, Any]:
    """A section of up to 10 short fields, shown two by two."""
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": clip(item, 2000) or " "} for item in items[:10]],
    }


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 3000) or " "}]}


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    """``value`` comes back in the click; the ids put there are validated short, and the
    cut only keeps a hostile one from breaking the whole message."""
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": label[:75]},
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    return element
