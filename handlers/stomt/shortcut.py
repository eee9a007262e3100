"""The message shortcut "Send to STOMT as a wish": a prefilled modal, then a thread reply."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError, VendorNotFound
from adapters.stomt import MAX_LABEL, MAX_TEXT, Stomt, validate_target_id
from handlers.common.audited import audited
from handlers.common.direct import tell
from handlers.common.forms import answer_errors, metadata_of, open_form
from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, clearly_denied, modal_tell, permitted
from handlers.common.replies import not_configured, vendor_error
from handlers.common.text import code_block, link
from handlers.deps import Deps
from handlers.stomt.parsing import PostRequest

log = logging.getLogger(__name__)

SHORTCUT = "stomt_wish_from_message"
MODAL = "stomt_wish_modal"
SEND_WITHIN = 2.0  # seconds STOMT's answer is waited for before the form closes
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
    await open_form(deps, x, view)


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
        errors["target"] = str(exc)
    if any(len(label.strip()) > MAX_LABEL for label in labels_raw.split(",")):
        errors["labels"] = f"A label is at most {MAX_LABEL} characters."
    if errors:
        await answer_errors(x, errors)
        return
    user_id, client = x.user, x.client
    # Where to reply, only as this user's own form said (else to the user directly).
    metadata = metadata_of(deps, x)
    if deps.stomt is None:
        await x.ack()
        await tell(client, user_id, not_configured(deps.settings.stomt_status()))
        return
    labels = [label.strip() for label in labels_raw.split(",") if label.strip()][:10]
    kind = "like" if x.entered("kind") == "like" else "wish"
    request = PostRequest(
        text, kind == "like", target or deps.settings.stomt_target or None, tuple(labels)
    )
    # STOMT usually answers well within Slack's 3 s: its refusal is then shown on the field
    # with everything typed still there. A slower answer closes the form first, and a
    # refusal after that gives the user their text back in the message.
    sending = asyncio.ensure_future(_send(deps, x, request, str(metadata.get("channel") or "")))
    done, _pending = await asyncio.wait({sending}, timeout=SEND_WITHIN)
    refused = sending.exception() if done else None
    if isinstance(refused, VendorError):
        field = "target" if isinstance(refused, VendorNotFound) and request.target else "text"
        await answer_errors(x, {field: f"STOMT did not take it: {refused.message}"})
        return
    await x.ack()
    try:
        stomt = await sending
    except VendorError as exc:
        await tell(
            client,
            user_id,
            f"Your stomt was not sent. {vendor_error(exc)}\nWhat you wrote:\n{code_block(text)}",
        )
        return
    if stomt is None:
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


async def _send(deps: Deps, x: Interaction, request: PostRequest, channel: str) -> Stomt | None:
    """Post the stomt as the submitter, through the access policy for the channel the
    message was in; None when the policy refused or held it (the user has been told)."""
    assert deps.stomt is not None
    user_id, kind = x.user, "like" if request.positive else "wish"
    channel_id = channel or user_id
    target = request.target or ""
    words = [kind, request.text, *(f'--label "{label}"' for label in request.labels)]
    if target:
        words.append(f"--target {target}")
    if not await permitted(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        name=f"stomt {kind}",
        target=target,
        tell=modal_tell(x.client, user_id, channel_id),
        redo=Redo("/stomt", " ".join(words), request),
    ):
        return None
    async with audited(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        command=f"stomt {kind}",
        target=target,
        params={"text": request.text, "labels": list(request.labels)},
    ) as outcome:
        stomt = await deps.stomt.create_stomt(
            request.text,
            positive=request.positive,
            target_id=request.target,
            labels=list(request.labels) or None,
        )
        outcome.vendor_ids["stomt"] = stomt.id
    return stomt
