"""One typed view of a Slack request, whatever kind it is: who, where, what was clicked,
and how to answer. Listeners read these fields instead of digging through payload dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

Answer = Callable[..., Awaitable[Any]]


async def _nowhere(*_args: Any, **_kw: Any) -> None:
    """Where answers go once a request has none left (e.g. a confirmed request's ack)."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _id(value: Any) -> str:
    """``value["id"]`` when value is an object with a string id, else ``""``."""
    return _text(value.get("id")) if isinstance(value, dict) else ""


@dataclass(frozen=True)
class Interaction:
    """A command, button click, shortcut or form submission, as the handlers see it.

    ``value`` is the clicked button's value (or the command's text); ``trigger`` opens a
    modal; ``response_url`` is what ``respond`` answers on (absent after a modal). ``ack``,
    ``respond`` and ``client`` are Bolt's, already wrapped by the wiring (redacted, and the
    response URL host checked)."""

    user: str
    channel: str  # "" for a click without one (in a modal, App Home)
    value: str
    trigger: str
    response_url: str
    ack: Answer
    respond: Answer
    client: AsyncWebClient
    body: dict[str, Any]
    # Carried out after the access policy's Confirm: the user has said yes already.
    confirmed: bool = False

    @classmethod
    def of(
        cls, body: Any, *, ack: Answer | None, respond: Answer | None, client: AsyncWebClient
    ) -> Interaction:
        body = body if isinstance(body, dict) else {}
        if "command" in body:  # a slash command: flat form fields
            user, channel, value = body.get("user_id"), body.get("channel_id"), body.get("text")
        else:
            user, channel, value = _id(body.get("user")), _id(body.get("channel")), ""
            actions = body.get("actions")
            first = actions[0] if isinstance(actions, list) and actions else None
            if isinstance(first, dict):
                value = first.get("value") or _text(
                    (first.get("selected_option") or {}).get("value")
                )
        user = _text(user)
        return cls(
            user=user,
            channel=_text(channel),
            value=_text(value),
            trigger=_text(body.get("trigger_id")),
            response_url=_text(body.get("response_url")),
            ack=ack or _nowhere,
            respond=respond or _nowhere,
            client=client,
            body=body,
        )

    @property
    def place(self) -> str:
        """Where the policy sees this happen: the channel, or the user's own space."""
        return self.channel or self.user

    @property
    def message_ts(self) -> str:
        """The timestamp of the message a clicked button sits on ("" for anything else)."""
        message = self.body.get("message")
        container = self.body.get("container")
        if isinstance(message, dict) and isinstance(message.get("ts"), str):
            return message["ts"]
        return _text(container.get("message_ts")) if isinstance(container, dict) else ""

    @property
    def view(self) -> dict[str, Any]:
        """The submitted (or clicked-in) modal view, or ``{}``."""
        view = self.body.get("view")
        return view if isinstance(view, dict) else {}

    def entered(self, block: str, action: str = "value") -> str:
        """What was typed (or the option chosen) in a submitted modal's input ``block``;
        "" when there is none. A submission is still input: any level may be missing."""
        node: Any = self.view
        for key in ("state", "values", block, action):
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return ""
        option = node.get("selected_option")
        value = option.get("value") if isinstance(option, dict) else node.get("value")
        return value if isinstance(value, str) else ""

    async def beside(self, **message: Any) -> None:
        """Answer next to the clicked card, never over it."""
        await self.respond(**message, replace_original=False)
