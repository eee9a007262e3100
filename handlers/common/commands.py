"""What every slash command does before its vendor work: parse, check the access policy,
then acknowledge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.config import VendorStatus
from handlers.common import policy
from handlers.common.replies import ephemeral, no_room, not_configured, usage
from handlers.common.text import UsageError
from handlers.deps import Deps


@dataclass(frozen=True)
class Help:
    """What a parser returns for `help`, an empty command, `-h` or `--help`."""


async def acknowledge(
    ack: AsyncAck,
    deps: Deps,
    command: dict[str, Any],
    respond: AsyncRespond,
    *,
    parse: Callable[[str | None], Any],
    usage_text: str,
    client: object | None,
    status: Callable[[], VendorStatus],
    action: Callable[[Any], tuple[str, str | None]],
) -> Any | None:
    """Parse the command, apply the access policy and ``ack()``; return the request to
    carry out, or None when the answer is already given (usage, help, not configured,
    shutting down, denied, held for confirmation).

    Only pure work runs before ``ack()``: parsing, and the policy when it needs no lookup.
    ``action`` names a parsed request for the policy: (subcommand, target).
    """
    text = command.get("text")
    slash = str(command.get("command") or "")
    user_id, channel_id = str(command.get("user_id", "")), str(command.get("channel_id", ""))
    confirmed = command.get("_confirmed")
    try:
        # A confirmed request runs exactly as it was held, never parsed again.
        request = confirmed.request if isinstance(confirmed, policy.Confirmed) else parse(text)
    except UsageError as exc:
        await _usage(ack, respond, deps, slash, usage_text, user_id, channel_id, str(exc))
        return None
    if isinstance(request, Help):
        await _usage(ack, respond, deps, slash, usage_text, user_id, channel_id, None)
        return None
    if client is None:
        await ack(**ephemeral(not_configured(status())))
        return None
    busy = deps.work.why_not(user_id)
    if busy is not None:
        await ack(**ephemeral(no_room(busy, deps.work)))
        return None
    sub, target = action(request)
    wanted = policy.request_for(f"{slash.lstrip('/')} {sub}", target, user_id, channel_id)
    decision = policy.decide_now(deps, wanted)
    tell: policy.Tell = ack
    if decision is None:  # a user group to look up first: answer Slack now, decide after
        await ack()
        tell = respond
        decision = await policy.decide(deps, wanted)
    if not decision.allowed:
        await policy.refuse(deps, wanted, decision, tell)
        return None
    if tell is ack:
        await ack()
    if decision.confirm and not isinstance(confirmed, policy.Confirmed):
        await policy.ask_to_confirm(
            deps, wanted, decision, slash=slash, text=str(text or ""), held=request, tell=respond
        )
        return None
    return request


async def _usage(
    ack: AsyncAck,
    respond: AsyncRespond,
    deps: Deps,
    slash: str,
    usage_text: str,
    user_id: str,
    channel_id: str,
    error: str | None,
) -> None:
    """The usage, listing only what the caller may run here."""
    if not deps.policy.enforced:
        await ack(**usage(usage_text, error))
        return
    name, members = slash.lstrip("/"), deps.members
    allowed = {
        sub: deps.policy.may_run(f"{name} {sub}", user_id, channel_id, members.known)
        for sub in policy.subcommands_in(usage_text)
    }
    send: policy.Tell = ack
    if None in allowed.values():  # a user group to look up first: answer Slack now
        await ack()
        send = respond
        for sub, answer in allowed.items():
            if answer is None:
                command = f"{name} {sub}"
                allowed[sub] = await deps.policy.may_run_with(
                    command, user_id, channel_id, members.members
                )
    shown = policy.filter_usage(usage_text, allowed)
    if shown is None:
        await send(
            **ephemeral(
                f":no_entry: The access policy lets you run no `{slash}` command here. "
                "If you need one, ask a workspace admin."
            )
        )
        return
    await send(**usage(shown, error))
