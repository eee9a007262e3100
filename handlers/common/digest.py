"""``/<vendor> digest [daily|weekdays|weekly|DAY|off|now] [HH:MM]``, the same for every
vendor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError
from bot.digests import (
    CANNOT_POST,
    DEFAULT_AT,
    describe_schedule,
    parse_at,
    same_schedule,
    schedule_adjective,
    schedule_of,
)
from handlers.common.interaction import Interaction
from handlers.common.replies import cannot_post, ephemeral, vendor_error
from handlers.common.text import UsageError, escape
from handlers.deps import Deps

SCHEDULE_WORDS = "`daily`, `weekdays`, `weekly` (Mondays) or a day (`friday` or `fri`)"
USAGE_LINE = (
    "`digest` shows this channel's digests · `digest SCHEDULE [HH:MM]` subscribes this "
    f"channel, SCHEDULE being {SCHEDULE_WORDS}, at 09:00 unless a time is given · "
    "`digest now` posts one now · `digest off` stops it"
)
SKIPPED = "A digest with nothing new is skipped."


@dataclass(frozen=True)
class DigestCommand:
    # "list", "off", "now", or a schedule in its stored form ("daily", "weekdays",
    # "weekly", "mon" … "sun"): subscribe the channel to it
    action: str
    at_time: str = DEFAULT_AT

    @property
    def subscribes(self) -> bool:
        return self.action not in ("list", "off", "now")


def parse_digest(args: list[str]) -> DigestCommand:
    if not args:
        return DigestCommand("list")
    action = args[0].lower()
    schedule = schedule_of(action)
    if schedule is None:
        if action not in ("off", "now"):
            raise UsageError(
                f"`digest {args[0][:20]}`? Use a schedule ({SCHEDULE_WORDS}), off or now."
            )
        if len(args) > 1:
            raise UsageError(f"`digest {action}` takes nothing more.")
        return DigestCommand(action)
    if len(args) > 2:
        raise UsageError(f"`digest {action}` takes at most a time, HH:MM.")
    try:
        return DigestCommand(schedule, parse_at(args[1]) if len(args) == 2 else DEFAULT_AT)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def parse_digest_with(args: list[str], option: str) -> tuple[DigestCommand, str | None]:
    """``parse_digest`` for a vendor whose digest is about something named by ``option``
    (``--target SLUG`` or ``--target=SLUG``, anywhere), given with a schedule or ``now``."""
    rest: list[str] = []
    value: str | None = None
    words = iter(args)
    for arg in words:
        name, equals, given = arg.partition("=")
        if name.lower() != option:
            rest.append(arg)
            continue
        if value is not None:
            raise UsageError(f"Give `{option}` once.")
        value = given if equals else next(words, "")
        if not value:
            raise UsageError(f"`{option}` needs a value.")
    command = parse_digest(rest)
    if value is not None and not (command.subscribes or command.action == "now"):
        shown = "digest" if command.action == "list" else f"digest {command.action}"
        raise UsageError(f"`{shown}` takes no `{option}`: give it with a schedule or `now`.")
    return command, value


async def run_digest(
    deps: Deps,
    x: Interaction,
    command: DigestCommand,
    *,
    vendor: str,
    options: dict[str, Any] | None = None,
) -> None:
    """Carry out a parsed digest command for one vendor (its key, also its command's name)
    in the caller's channel, and tell the caller what happened. ``options``: what a new
    subscription (or a ``now`` in a channel without one) is about."""
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
    previous = await digests.subscription(vendor, channel_id)
    if (
        previous is not None
        and same_schedule(previous, command.action, command.at_time, digests.timezone.key)
        and previous.options == options
    ):
        await respond(
            **ephemeral(
                f":bell: This channel's {title} digest is unchanged: "
                f"{escape(digests.describe(previous))}."
            )
        )
        return
    sub = await digests.subscribe(
        vendor,
        channel_id,
        frequency=command.action,
        at_time=command.at_time,
        user_id=user_id,
        options=options,
    )
    described = escape(digests.describe(sub))
    done = (
        f"subscribed this channel to the {title} digest"
        if previous is None
        else f"changed this channel's {title} digest to"
    )
    announcement = f":bell: <@{user_id}> {done}: {described}. `/{vendor} digest off` stops it."
    try:
        # Said in the channel, so everyone there knows where digests come from; and the
        # proof that the app can post here before anyone waits for a digest that cannot come.
        await digests.slack.chat_postMessage(channel=channel_id, text=announcement)
    except SlackApiError as exc:
        await digests.unsubscribe(vendor, channel_id)
        error = str(exc.response.get("error", "error"))
        await respond(**ephemeral(cannot_post(error) + " The digest was not set up."))
        return
    if previous is None:
        told = f":bell: This channel gets the {title} digest {described}."
    else:
        # Subscribing again replaces the channel's digest: never silently. What it was
        # about (STOMT: its target) is said when that changed too.
        was = (
            describe_schedule(previous.frequency, previous.at_time)
            if previous.options == options
            else digests.schedule(previous)
        )
        told = (
            f":bell: Replaced this channel's {schedule_adjective(previous.frequency)} "
            f"{title} digest ({escape(was)}) with a {schedule_adjective(sub.frequency)} one: "
            f"{described}."
        )
    await respond(**ephemeral(f"{told} {SKIPPED}"))
