"""The one place that turns failures into messages a Slack user can act on."""

from __future__ import annotations

import difflib
import json
from typing import Any

from adapters.base import shorten
from adapters.errors import (
    VendorAuthError,
    VendorError,
    VendorNotConfigured,
    VendorNotFound,
    VendorRateLimited,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
)
from bot.background import CLOSING, USER_FULL, BackgroundWork
from bot.config import VendorStatus
from handlers.common.text import UsageError, escape, split_trailing_json

RESTARTING = ":arrows_counterclockwise: The app is restarting. Try again in a few seconds."
BUSY = (
    ":hourglass: chatops-hub is very busy right now, so nothing was started. Try again in a minute."
)
USER_BUSY = (
    ":hourglass: You already have {} commands in progress, so nothing was started. "
    "Try again when one of them has finished."
)


def no_room(reason: str, work: BackgroundWork) -> str:
    """What to tell a user whose request ``BackgroundWork.why_not`` turned away."""
    if reason == CLOSING:
        return RESTARTING
    if reason == USER_FULL:
        return USER_BUSY.format(work.per_user)
    return BUSY


def cannot_post(error: str) -> str:
    return (
        f":no_entry: I can't post in this conversation (`{escape(error)}`). "
        "Invite me with `/invite @chatops-hub`, or run the command in a channel I'm in."
    )


def not_configured(status: VendorStatus) -> str:
    return (
        f":gear: *{status.name} is not configured.* "
        f"An admin needs to set {status.missing} and restart the app."
    )


def vendor_error(exc: VendorError) -> str:
    """A friendly sentence for a vendor failure. Never includes credentials: adapters build
    their messages from status codes and the vendor's own text only."""
    vendor = exc.vendor
    detail = escape(exc.message)
    if isinstance(exc, VendorNotConfigured):
        return f":gear: {detail}"
    if isinstance(exc, VendorRateLimited):
        wait = f" Try again in {exc.retry_after:.0f} s." if exc.retry_after else ""
        return f":hourglass: {vendor} is rate limiting us.{wait}"
    if isinstance(exc, VendorUnavailable):
        return f":warning: {detail}. Try again in a moment."
    if isinstance(exc, VendorAuthError):
        return (
            f":lock: {vendor} rejected the app's credentials. "
            "An admin should check them with `chatops check`."
        )
    if isinstance(exc, VendorNotFound):
        return f":mag: {detail}"
    if isinstance(exc, VendorRejected):
        return f":no_entry: {detail}"
    if isinstance(exc, VendorResponseInvalid):
        return f":warning: {vendor} sent an answer we could not read ({detail})."
    return f":warning: {detail}"


def usage(text: str, error: str | None = None) -> dict[str, Any]:
    """An ephemeral reply showing what was wrong (if anything) and the usage."""
    lines = [f":information_source: {escape(error)}", ""] if error else []
    lines.append(text)
    body = "\n".join(lines)
    return {
        "response_type": "ephemeral",
        "text": body,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}}],
    }


def trailing_json(text: str, *, alone: str | None = None) -> tuple[str, dict[str, Any] | None]:
    """``split_trailing_json``, but a valid object followed by more arguments is named for
    what it is: misplaced, not malformed (``… {"a": 1} a=2``). ``alone``: the command that
    takes the object and no other input (``/mint execute``)."""
    try:
        return split_trailing_json(text)
    except UsageError as exc:
        cause = exc.__cause__
        # json's own word for a complete value followed by more text.
        if not (isinstance(cause, json.JSONDecodeError) and cause.msg == "Extra data"):
            raise
        after = shorten(cause.doc[cause.pos :].strip())
        if after[:1] in ("}", "]"):
            message = f"The JSON object has `{after}` too many at its end."
        elif after.startswith("{"):
            message = f"Give one JSON object, at the end: `{after}` follows another; merge them."
        elif alone:
            message = (
                f"`{after}` follows the JSON object, but {alone} takes the object alone: "
                "put every input in it."
            )
        else:
            message = (
                f"The JSON object must come last, but `{after}` follows it: "
                "put it before the object."
            )
        raise UsageError(message) from exc


def closest(word: str, names: list[str]) -> str | None:
    """The one of ``names`` ``word`` was most likely meant to be (``instanecs`` →
    ``instances``), or None when none is close."""
    matches = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return matches[0] if matches else None


def ephemeral(text: str) -> dict[str, Any]:
    """Arguments for ``ack()`` or ``respond()``: a reply only the caller sees.

    (``respond`` to a button leaves the card alone: Slack only replaces the original
    message when asked to with ``replace_original``.)"""
    return {"response_type": "ephemeral", "text": text}
