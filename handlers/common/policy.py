"""The access policy at Slack's door: decide, tell the caller why not, or ask to confirm.

Commands go through ``acknowledge`` (handlers/common/commands.py), buttons and modals
through ``permitted``. Both end here, so a denial or a confirmation looks and is audited
the same way wherever it comes from.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.policy import Decision, Request
from handlers.common.approvals import ask_for_approval, cannot_hold
from handlers.common.audited import audit_request
from handlers.common.held import dump
from handlers.common.interaction import Interaction
from handlers.common.replies import no_room
from handlers.common.text import code_block, escape, fit, normalize, slack_escaped
from handlers.deps import Deps

CONFIRM = "chatops_policy_confirm"
CANCEL = "chatops_policy_cancel"
CONFIRM_WITHIN = 600.0  # seconds: the confirmation button works this long

# Shows the user a message: ``respond`` for commands and buttons, a DM after a modal.
Tell = Callable[..., Awaitable[Any]]


class Confirmed:
    """Marks a command carried out after its confirmation click (never from a payload),
    with the request it held: that request runs, not the text parsed again."""

    def __init__(self, confirmation_id: str, request: Any) -> None:
        self.id = confirmation_id
        self.request = request


@dataclass(frozen=True)
class Redo:
    """What a button or a form stands for, to hold for a confirmation: the slash command,
    the command text it is shown as, and the parsed request that runs once confirmed."""

    slash: str
    text: str
    request: Any


def request_for(name: str, target: str | None, user_id: str, channel_id: str) -> Request:
    return Request(name, target or "", user_id, channel_id)


def decide_now(deps: Deps, request: Request) -> Decision | None:
    return deps.policy.decide_now(request, deps.members.known)


async def decide(deps: Deps, request: Request) -> Decision:
    return await deps.policy.decide(request, deps.members.members)


def denied_text(decision: Decision, vendor: str) -> str:
    return (
        f":no_entry: Not allowed: {escape(decision.reason)}. Nothing was sent to {vendor}. "
        "If you need this, ask a workspace admin to change the access policy."
    )


async def refuse(deps: Deps, request: Request, decision: Decision, tell: Tell) -> None:
    try:
        vendor = deps.vendor_name(request.command)
        await tell(response_type="ephemeral", text=denied_text(decision, vendor))
    finally:  # audited even if telling the user failed (after the ack: no DB wait before it)
        await audit_request(deps, request, "denied", decision.reason)


async def ask_to_confirm(
    deps: Deps,
    request: Request,
    decision: Decision,
    *,
    slash: str,
    text: str,
    held: Any,
    tell: Tell,
    origin: dict[str, Any] | None = None,
) -> None:
    """Hold the parsed request ``held`` until the same user clicks Confirm (it is shown
    as ``slash text``; ``held`` is what runs). ``origin`` ({"step": execution_id}) is a
    workflow step waiting on it: Confirm resumes the step, Cancel or expiry ends it."""
    confirmation_id = await deps.store.confirmations.create(
        user_id=request.user_id,
        channel_id=request.channel_id,
        command=slash,
        text=text,
        action=request.command,
        target=request.target,
        request=dump(held),
        origin=origin,
    )
    await audit_request(deps, request, "confirm requested", decision.reason)
    shown, _cut = fit(f"{slash} {normalize(text)}", 2000, code_block)  # as typed
    summary = f":raised_hand: *Please confirm* — {escape(decision.reason)}."
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{summary}\n{shown}"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": CONFIRM,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Confirm"},
                    "value": confirmation_id,
                },
                {
                    "type": "button",
                    "action_id": CANCEL,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": confirmation_id,
                },
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Only <@{request.user_id}> can confirm, within 10 minutes.",
                }
            ],
        },
    ]
    await tell(response_type="ephemeral", text=summary, blocks=blocks)


async def permitted(
    deps: Deps,
    *,
    user_id: str,
    channel_id: str,
    name: str,
    target: str | None,
    tell: Tell,
    redo: Redo | None = None,
) -> bool:
    """For buttons and modals: may this go ahead now?

    ``redo`` is the parsed request the click or form stands for, to hold for a
    confirmation or an approval; without it (a click that already went through Slack's
    own confirm dialog) a ``confirm`` rule lets the click through, but an approval rule
    does not: there is nothing to hold, so the click is refused.
    """
    busy = deps.work.why_not(user_id)
    if busy is not None:  # the same limits as typed commands: per process and per user
        await tell(response_type="ephemeral", text=no_room(busy, deps.work))
        return False
    request = request_for(name, target, user_id, channel_id)
    decision = await decide(deps, request)
    if not decision.allowed:
        await refuse(deps, request, decision, tell)
        return False
    if decision.approval is not None and redo is None:
        await cannot_hold(deps, request, decision, tell)
        return False
    if redo is None or (decision.approval is None and not decision.confirm):
        return True
    # Shown as Slack would send it (&, < and > escaped), like a typed command.
    text = slack_escaped(redo.text)
    if decision.approval is not None:
        await ask_for_approval(
            deps, request, decision, slash=redo.slash, text=text, held=redo.request, tell=tell
        )
    else:
        await ask_to_confirm(
            deps, request, decision, slash=redo.slash, text=text, held=redo.request, tell=tell
        )
    return False


async def clearly_denied(deps: Deps, x: Interaction, name: str, target: str | None) -> bool:
    """Before opening a modal: True (and the caller told why) when the policy denies it
    without a user group lookup. The modal's trigger expires in 3 s, so anything that
    needs a lookup is left to the check when the modal is submitted."""
    request = request_for(name, target, x.user, x.place)
    decision = decide_now(deps, request)
    if decision is None or decision.allowed:
        return False
    await refuse(deps, request, decision, x.beside)
    return True


def age(created_at: float) -> float:
    return time.time() - created_at


async def button_permitted(
    deps: Deps, x: Interaction, name: str, target: str | None, *, redo: Redo | None = None
) -> bool:
    """``permitted`` for a button: the answer goes beside the card, never over it."""
    return await permitted(
        deps, user_id=x.user, channel_id=x.place, name=name, target=target, tell=x.beside, redo=redo
    )


def modal_tell(client: Any, user_id: str, channel_id: str) -> Tell:
    """After a modal there is no response URL: show it in the channel to the user alone,
    or in a direct message when the app cannot post there."""

    async def tell(*args: Any, **message: Any) -> None:
        text, blocks = str(message.get("text", args[0] if args else "")), message.get("blocks")
        if channel_id == user_id:  # App Home: the user's own space is the DM
            await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)
            return
        try:
            await client.chat_postEphemeral(
                channel=channel_id, user=user_id, text=text, blocks=blocks
            )
        except Exception:
            await client.chat_postMessage(channel=user_id, text=text, blocks=blocks)

    return tell
