"""The message shortcut "Send to STOMT as a wish": a prefilled modal, then a thread reply."""

from __future__ import annotations

import html
import json
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError
from adapters.stomt import MAX_LABEL, MAX_TEXT, validate_target_id
from handlers.common.audited import audited
from handlers.common.direct import tell
from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, clearly_denied, modal_tell, permitted
from handlers.common.replies import not_configured, vendor_error
from handlers.common.text import link
from handlers.common.views import private_metadata
from handlers.deps import Deps
from handlers.stomt.parsing import PostRequest

log = logging.getLogger(__name__)

SHORTCUT = "stomt_wish_from_message"
MODAL = "stomt_wish_modal"
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_ANGLE = re.compile(r"<([^<>]+)>")


def plain(slack_text: str) -> str:
    """Slack message markup → the words a person sees (links keep their label)."""
    text = _LINK.sub(lambda m: m[2] if m[1][:1] in "@#!" else f"{m[2]} ({m[1]})", slack_text)
    text = _ANGLE.sub(lambda m: m[1].lstrip("!"), text)
    return html.unescape(text).strip()


def modal(text: str, target: str | None, metadata: dict[str, str]) -> dict[str, Any]:
    cut = len(text) > MAX_TEXT
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": "text",
            "label": {"type": "plain_text", "text": "The wish"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": True,
                "max_length": MAX_TEXT,
                "initial_value": text[:MAX_TEXT],
            },
        },
        {
            "type": "input",
            "block_id": "kind",
            "label": {"type": "plain_text", "text": "Send as"},
            "element": {
                "type": "static_select",
                "action_id": "value",
                "initial_option": _option("wish", "I wish …"),
                "options": [_option("wish", "I wish …"), _option("like", "I like …")],
            },
        },
        {
            "type": "input",
            "block_id": "target",
            "label": {"type": "plain_text", "text": "Target (STOMT page slug)"},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "max_length": 200,
                # Slack refuses a view whose initial value is longer than its max_length.
                **({"initial_value": target[:200]} if target else {}),
            },
        },
        {
            "type": "input",
            "block_id": "labels",
            "optional": True,
            "label": {"type": "plain_text", "text": "Labels (comma-separated)"},
            "element": {"type": "plain_text_input", "action_id": "value", "max_length": 500},
        },
    ]
    if cut:
        note = f"The message was longer than {MAX_TEXT:,} characters, so it was cut."
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {
        "type": "modal",
        "callback_id": MODAL,
        "title": {"type": "plain_text", "text": "Send to STOMT"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": blocks,
    }


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label}, "value": value}


async def on_shortcut(deps: Deps, x: Interaction) -> None:
    if await clearly_denied(deps, x, "stomt wish", deps.settings.stomt_target):
        return
    message = _message(x)
    metadata = {
        "channel": x.channel,
        # Reply in the message's thread (or start one under it).
        "thread_ts": str(message.get("thread_ts") or x.message_ts),
    }
    view = modal(plain(str(message.get("text") or "")), deps.settings.stomt_target, metadata)
    await x.client.views_open(trigger_id=x.trigger, view=view)


def _message(x: Interaction) -> dict[str, Any]:
    """The message a message shortcut was used on."""
    message = x.body.get("message")
    return message if isinstance(message, dict) else {}


async def on_submit(deps: Deps, x: Interaction) -> None:
    text = x.entered("text").strip()
    target = x.entered("target").strip()
    labels_raw = x.entered("labels")
    errors = {}
    if not text:
        errors["text"] = "Write the wish."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"{len(text):,} characters; STOMT takes at most {MAX_TEXT:,}."
    try:
        target = validate_target_id(target) if target else ""
    except ValueError as exc:
        errors["target"] = str(exc)[:150]
    if any(len(label.strip()) > MAX_LABEL for label in labels_raw.split(",")):
        errors["labels"] = f"A label is at most {MAX_LABEL} characters."
    if errors:
        await x.ack(response_action="errors", errors=errors)
        return
    await x.ack()
    user_id, client = x.user, x.client
    metadata = private_metadata(x.view)
    if deps.stomt is None:
        await tell(client, user_id, not_configured(deps.settings.stomt_status()))
        return
    labels = [label.strip() for label in labels_raw.split(",") if label.strip()][:10]
    target = target or deps.settings.stomt_target or ""
    channel_id = str(metadata.get("channel") or user_id)
    kind = "like" if x.entered("kind") == "like" else "wish"
    redo_words = [kind, text, *(f'--label "{label}"' for label in labels)]
    if target:
        redo_words.append(f"--target {target}")
    if not await permitted(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        name=f"stomt {kind}",
        target=target,
        tell=modal_tell(client, user_id, channel_id),
        redo=Redo(
            "/stomt",
            " ".join(redo_words),
            PostRequest(text, kind == "like", target or None, tuple(labels)),
        ),
    ):
        return
    try:
        async with audited(
            deps,
            user_id=user_id,
            channel_id=channel_id,
            command=f"stomt {kind}",
            target=target,
            params={"text": text, "labels": labels},
        ) as outcome:
            stomt = await deps.stomt.create_stomt(
                text,
                positive=kind == "like",
                target_id=target or None,
                labels=labels or None,
            )
            outcome.vendor_ids["stomt"] = stomt.id
    except VendorError as exc:
        await tell(client, user_id, f"Your stomt was not sent. {vendor_error(exc)}")
        return
    said = "a like" if stomt.positive else "a wish"
    # link() escapes its label itself: escaping the id here too would show "&amp;amp;".
    reply = f":speech_balloon: <@{user_id}> sent this to STOMT as {said}: " + link(
        stomt.shortlink, stomt.shortlink or stomt.id or ""
    )
    channel, thread_ts = metadata.get("channel"), metadata.get("thread_ts")
    try:
        if not channel:
            raise SlackApiError("no channel", {"error": "channel_not_found"})
        await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts or None, text=reply, unfurl_links=False
        )
    except SlackApiError as exc:
        log.info("stomt thread reply not posted (%s); telling the user directly", exc)
        await tell(client, user_id, reply)
