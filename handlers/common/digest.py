"""``/<vendor> digest [daily|weekly|off|now] [HH:MM]``, the same for every vendor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError
from bot.digests import CANNOT_POST, DEFAULT_AT, FREQUENCIES, parse_at
from handlers.common.interaction import Interaction
from handlers.common.replies import cannot_post, ephemeral, vendor_error
from handlers.common.text import UsageError, escape
from handlers.deps import Deps

USAGE_LINE = (
    "`digest` shows this channel's digests · `digest daily [HH:MM]` or "
    "`digest weekly [HH:MM]` (Mondays) subscribes this channel · `digest now` posts one "
    "now · `digest off` stops it"
)


@dataclass(frozen=True)
class DigestCommand:
    action: str  # "list", "daily", "weekly", "off", "now"
    at_time: str = DEFAULT_AT


def parse_digest(args: list[str]) -> DigestCommand:
    if not args:
        return DigestCommand("list")
    action = args[0].lower()
    if action not in (*FREQUENCIES, "off", "now"):
        raise UsageError(f"`digest {args[0][:20]}`? Use daily, weekly, off or now.")
    if action in FREQUENCIES:
        if len(args) > 2:
            raise UsageError("`digest daily|weekly` takes at most a time, HH:MM.")
        try:
            return DigestCommand(action, parse_at(args[1]) if len(args) == 2 else DEFAULT_AT)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if len(args) > 1:
        raise UsageError(f"`digest {action}` takes nothing more.")
    return DigestCommand(action)


async def run_digest(
    deps: Deps,
    x: Interaction,
    command: DigestCommand,
    *,
    vendor: str,
    options: dict[str, Any] | None = None,
) -> None:
    """Carry out a parsed digest command for one vendor (its key, also its command's name)
    in the caller's channel, and tell the caller what happened."""
    channel_id, user_id, respond = x.channel, x.user, x.respond
    title = deps.vendor_name(vendor)
    options = options or {}
    digests = deps.digests
    if command.action == "list":
        subs = await digests.subscriptions(channel_id)
        if not subs:
            await respond(**ephemeral(f"This channel has no digests. {USAGE_LINE}"))
            return
        lines = [f"• *{escape(s.vendor)}*: {escape(digests.describe(s))}" for s in subs]
        await respond(**ephemeral("This channel's digests:\n" + "\n".join(lines)))
        return
    if command.action == "off":
        removed = await digests.unsubscribe(vendor, channel_id)
        text = (
            f":no_bell: The {title} digest for this channel is off."
            if removed
            else f"This channel had no {title} digest."
        )
        await respond(**ephemeral(text))
        return
    if command.action == "now":
        try:
            await digests.post_now(vendor, channel_id, options=options)
        except VendorError as exc:
            await respond(**ephemeral(vendor_error(exc)))
        except SlackApiError as exc:
            error = str(exc.response.get("error", "error"))
            # A subscription here could never be posted either: it goes, and we say so.
            stopped = error in CANNOT_POST and await digests.unsubscribe(vendor, channel_id)
            note = f" The {title} digest for this channel is off." if stopped else ""
            await respond(**ephemeral(cannot_post(error) + note))
        return
    sub = await digests.subscribe(
        vendor,
        channel_id,
        frequency=command.action,
        at_time=command.at_time,
        user_id=user_id,
        options=options,
    )
    announcement = (
        f":bell: <@{user_id}> subscribed this channel to the {title} digest: "
        f"{escape(digests.describe(sub))}. `/{vendor} digest off` stops it."
    )
    try:
        # Said in the channel, so everyone there knows where digests come from; and the
        # proof that the app can post here before anyone waits for a digest that cannot come.
        await digests.slack.chat_postMessage(channel=channel_id, text=announcement)
    except SlackApiError as exc:
        await digests.unsubscribe(vendor, channel_id)
        error = str(exc.response.get("error", "error"))
        await respond(**ephemeral(cannot_post(error) + " The digest was not set up."))
        return
    await respond(
        **ephemeral(
            f":bell: This channel gets the {title} digest {escape(digests.describe(sub))}. "
            "A digest with nothing new is skipped."
        )
    )
