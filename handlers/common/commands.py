"""What every slash command does before its vendor work: parse, check the access policy,
then acknowledge; and carrying a request out once it is admitted (typed or confirmed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.policy import Request
from bot.store.approvals import APPROVED
from handlers.common import policy
from handlers.common.approvals import ask_for_approval
from handlers.common.interaction import Interaction
from handlers.common.replies import closest, ephemeral, no_room, not_configured, usage
from handlers.common.text import UsageError, first_word, normalize
from handlers.common.vertical import BlankForm, Vertical
from handlers.deps import Deps


@dataclass(frozen=True)
class Help:
    """What a parser returns for `help`, an empty command, `-h` or `--help`."""


async def admit(
    deps: Deps, x: Interaction, vertical: Vertical, *, confirmed: policy.Confirmed | None = None
) -> Any | None:
    """Parse the command, apply the access policy and ``ack()``; return the request to
    carry out, or None when the answer is already given (usage, help, not configured,
    shutting down, denied, held for confirmation or for approval).

    Only pure work runs before ``ack()``: parsing, and the policy when it needs no lookup.
    A ``confirmed`` request runs exactly as it was held, never parsed again; the policy is
    asked again (it may have changed), but not to confirm twice, nor for approval again
    once approved (``confirmed`` is then the approval, as the state store has it).
    """
    form = vertical.blank_form(x.value) if confirmed is None else None
    if form is not None:
        await _open_blank_form(deps, x, vertical, form)
        return None
    try:
        if confirmed is not None:
            request = confirmed.request
        else:
            request = vertical.parse(x.value)
            if vertical.complete is not None and not isinstance(request, Help):
                request = vertical.complete(request, deps.settings)
    except UsageError as exc:
        await _usage(deps, x, vertical, str(exc))
        return None
    if isinstance(request, Help):
        await _usage(deps, x, vertical, None)
        return None
    if vertical.client(deps) is None:
        await x.ack(**ephemeral(not_configured(vertical.status(deps.settings))))
        return None
    busy = deps.work.why_not(x.user)
    if busy is not None:
        await x.ack(**ephemeral(no_room(busy, deps.work)))
        return None
    name, target = vertical.policy_name(request)
    wanted = policy.request_for(name, target, x.user, x.channel)
    decision = policy.decide_now(deps, wanted)
    tell: policy.Tell = x.ack
    if decision is None:  # a user group to look up first: answer Slack now, decide after
        await x.ack()
        tell = x.respond
        decision = await policy.decide(deps, wanted)
    if not decision.allowed:
        await policy.refuse(deps, wanted, decision, tell)
        return None
    if tell is x.ack:
        await x.ack()
    if decision.approval is not None and not await _approved(deps, confirmed, wanted):
        await ask_for_approval(
            deps, wanted, decision, slash=vertical.slash, text=x.value, held=request, tell=x.respond
        )
        return None
    if decision.confirm and confirmed is None:
        await policy.ask_to_confirm(
            deps, wanted, decision, slash=vertical.slash, text=x.value, held=request, tell=x.respond
        )
        return None
    return request


async def _open_blank_form(deps: Deps, x: Interaction, vertical: Vertical, form: BlankForm) -> None:
    """A subcommand typed bare opens its form: decided before the ack without lookups (the
    trigger expires in 3 s); what needs a user group lookup is left to the submission,
    which the policy checks in full with its target."""
    if vertical.client(deps) is None:
        await x.ack(**ephemeral(not_configured(vertical.status(deps.settings))))
        return
    name = f"{vertical.command} {form.subcommand}"
    if deps.policy.may_run(name, x.user, x.place, deps.members.known) is False:
        await x.ack(
            **ephemeral(
                f":no_entry: The access policy does not let you run `/{name}` here. "
                "If you need it, ask a workspace admin."
            )
        )
        return
    await x.ack()
    await form.open(deps, x)


async def _approved(deps: Deps, confirmed: policy.Confirmed | None, wanted: Request) -> bool:
    """Whether ``confirmed`` is this requester's request approved here, as stored (a
    confirmation click is not an approval)."""
    if confirmed is None:
        return False
    approval = await deps.store.approvals.get(confirmed.id)
    return (
        approval is not None
        and approval.state == APPROVED
        and approval.requester == wanted.user_id
        and approval.channel_id == wanted.channel_id
    )


async def perform(deps: Deps, x: Interaction, vertical: Vertical, request: Any) -> None:
    """Carry out an admitted request with its subcommand's handler."""
    sub, _target = vertical.policy_view(request)
    await vertical.subcommand(sub).run(deps, x, request)


async def _usage(deps: Deps, x: Interaction, vertical: Vertical, error: str | None) -> None:
    """The usage, listing only what the caller may run here; after a mistyped subcommand,
    the closest one the caller may run first."""
    if not deps.policy.enforced:
        names = [sub.name for sub in vertical.subcommands]
        await x.ack(**usage(str(vertical.usage()), _suggest(error, x.value, vertical, names)))
        return
    members = deps.members
    allowed = {
        sub.name: deps.policy.may_run(
            f"{vertical.command} {sub.name}", x.user, x.channel, members.known
        )
        for sub in vertical.subcommands
    }
    send: policy.Tell = x.ack
    if None in allowed.values():  # a user group to look up first: answer Slack now
        await x.ack()
        send = x.respond
        for sub, answer in allowed.items():
            if answer is None:
                allowed[sub] = await deps.policy.may_run_with(
                    f"{vertical.command} {sub}", x.user, x.channel, members.members
                )
    shown = vertical.usage(sub for sub, ok in allowed.items() if ok)
    if shown is None:
        await send(
            **ephemeral(
                f":no_entry: The access policy lets you run no `{vertical.slash}` command "
                "here. If you need one, ask a workspace admin."
            )
        )
        return
    names = [sub for sub, ok in allowed.items() if ok]
    await send(**usage(shown, _suggest(error, x.value, vertical, names)))


def _suggest(
    error: str | None, text: str | None, vertical: Vertical, names: list[str]
) -> str | None:
    """``error`` with "Did you mean `instances`?" when the typed subcommand is none of the
    vertical's but close to one of ``names``, those the caller may run."""
    if error is None:
        return None
    typed = first_word(normalize(text))[0].lower()
    if not typed or typed in (sub.name for sub in vertical.subcommands):
        return error
    match = closest(typed, names)
    return error if match is None else f"{error} Did you mean `{match}`?"
