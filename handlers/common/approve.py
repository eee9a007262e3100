"""The Approve and Reject buttons of a request held for approval, the run once enough
approvers approved it, and its expiry (``CHATOPS_APPROVAL_TTL``).

Whoever clicks, in whichever process, each decision is a compare-and-set on the stored
request (``bot/store/approvals.py``): an approver counts once, and only the click whose
write closed the request acts on it, so it runs once, as the requester, where it was
asked. A replayed click (the same payload again) is stopped by the listener's claim on
its trigger id; a second click by the same approver finds its decision already there.

**At most once, never silently lost.** The approved request is marked ``running`` just
before it is handed to its run, and never run again after that mark (its vendor call may
have happened). A request still only ``approved`` ``START_GRACE`` seconds after the
approval was written belongs to a process that stopped in between: the sweep closes it
as ``interrupted``, audited, and says so on the card and to the requester (or ends the
waiting step). Whatever keeps an approved request from running (no room for the
requester, the policy now denying it) closes it the same way, never leaving it waiting.

**The requester's own work.** The run is a task counted toward the requester's limit
(``CHATOPS_MAX_INFLIGHT_PER_USER``), not the approver's: with no room for it, an
approver's completing click is not recorded (they are told to try again), and if the room
is gone by the time it starts, it is closed unrun and the requester told.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorError
from bot.background import CLOSING, USER_FULL
from bot.policy import LOOKUP_FAILED
from bot.store.approvals import (
    APPROVE,
    APPROVED,
    CANCELLED,
    EXPIRED,
    INTERRUPTED,
    NO_ROOM,
    NOT_RUN,
    OPEN,
    REJECT,
    REJECTED,
    RUNNING,
    WITHDRAW,
    Approval,
)
from handlers.common import commands, steps
from handlers.common.approvals import APPROVE_ACTION, REJECT_ACTION, audit, show
from handlers.common.held import load
from handlers.common.interaction import Answer, Interaction
from handlers.common.policy import Confirmed, modal_tell
from handlers.common.replies import ephemeral, no_room, vendor_error
from handlers.common.text import code, duration, fit
from handlers.common.vertical import Click, Stale, Vertical
from handlers.deps import Deps, Periodic

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{32}")
GONE = ":grey_question: I no longer know this request for approval."
_ENDED = {
    APPROVED: "was approved already",
    RUNNING: "was approved already",
    NO_ROOM: "was approved, but there was no room to run it then; nothing ran",
    NOT_RUN: "was approved, but could not be run as held; nothing ran",
    INTERRUPTED: "was approved, but the app restarted before running it; nothing ran",
    REJECTED: "was rejected",
    CANCELLED: "was withdrawn",
    EXPIRED: "has expired",
}
# Concurrent decisions on one request retry their compare-and-set this many times.
_TRIES = 20
# Seconds an approved request may take to start (its card updated, the policy asked
# again) before the sweep takes its process for stopped: far longer than that takes.
START_GRACE = 300.0


def wire(
    app: AsyncApp,
    deps: Deps,
    verticals: Iterable[Vertical],
    listener: Callable[[Click], Callable[..., Awaitable[None]]],
) -> None:
    """Register the buttons (each wrapped by ``listener``, the listeners' one boundary)
    and the expiry sweep."""
    by_slash = {vertical.slash: vertical for vertical in verticals}

    async def on_approve(deps: Deps, x: Interaction) -> None:
        await x.ack()
        await approve(deps, x, by_slash)

    async def on_reject(deps: Deps, x: Interaction) -> None:
        await x.ack()
        await reject(deps, x)

    app.action(APPROVE_ACTION)(listener(on_approve))
    app.action(REJECT_ACTION)(listener(on_reject))

    async def sweep() -> None:
        await expire_due(deps)
        await close_unstarted(deps)

    every = min(30.0, deps.settings.chatops_approval_ttl)
    deps.periodic.append(Periodic("approvals-expiry", every, sweep))


async def approve(deps: Deps, x: Interaction, by_slash: dict[str, Vertical]) -> None:
    for _attempt in range(_TRIES):
        approval = await _open(deps, x)
        if approval is None:
            return
        if x.user == approval.requester:
            await audit(deps, approval, "self-approval refused", x.user)
            await x.beside(**ephemeral(":no_entry: You cannot approve your own request."))
            return
        if not await _may_approve(deps, x, approval):
            return
        if approval.decision_of(x.user) is not None:
            left = approval.needed - len(approval.approved_by)
            await x.beside(
                **ephemeral(
                    f":ballot_box_with_check: You approved this already; it waits for "
                    f"{left} more approval{'s' if left != 1 else ''}."
                )
            )
            return
        completes = len(approval.approved_by) + 1 >= approval.needed
        if completes:
            busy = _no_room_for(deps, approval.requester)
            if busy is not None:
                # Not recorded: the same button works again in a moment.
                await x.beside(**ephemeral(_busy_for_approver(deps, approval, busy)))
                return
        decided = await deps.store.approvals.decide(
            approval, x.user, APPROVE, close=APPROVED if completes else None
        )
        if decided is None:
            continue  # someone else decided meanwhile: read it again
        count = f"{len(decided.approved_by)} of {decided.needed}"
        await audit(deps, decided, "approved", x.user, f"{count}; asked by {decided.requester}")
        await show(deps, decided.id)
        if decided.state == APPROVED:
            # ``approval`` as read still holds the request; the closed row no longer does.
            run = asyncio.create_task(_run(deps, x, approval, by_slash), name=f"approved-{x.value}")
            deps.work.adopt(run, approval.requester)
            await run
        return
    await x.beside(**ephemeral(":hourglass: Many people are deciding on this; try again."))


async def reject(deps: Deps, x: Interaction) -> None:
    """Reject (by an approver) or withdraw (by the requester): either closes it unrun."""
    for _attempt in range(_TRIES):
        approval = await _open(deps, x)
        if approval is None:
            return
        withdraw = x.user == approval.requester
        if not withdraw and not await _may_approve(deps, x, approval):
            return
        decision, state = (WITHDRAW, CANCELLED) if withdraw else (REJECT, REJECTED)
        decided = await deps.store.approvals.decide(approval, x.user, decision, close=state)
        if decided is None:
            continue
        await audit(
            deps,
            decided,
            "cancelled" if withdraw else "rejected",
            x.user,
            f"asked by {decided.requester}",
        )
        await show(deps, decided.id)
        await _abandon(deps, decided, "withdrawn" if withdraw else f"rejected by {x.user}")
        return
    await x.beside(**ephemeral(":hourglass: Many people are deciding on this; try again."))


async def _open(deps: Deps, x: Interaction) -> Approval | None:
    """The request the button is for, if it is still open (else the clicker is told)."""
    approval = await deps.store.approvals.get(x.value) if _ID.fullmatch(x.value) else None
    if approval is None:
        await x.beside(**ephemeral(GONE))
        return None
    if approval.state == OPEN and approval.expires_at <= time.time():
        # Not yet swept: expired all the same, and never run.
        await _expire(deps, approval.id)
        approval = await deps.store.approvals.get(approval.id) or approval
    if approval.state != OPEN:
        await x.beside(**ephemeral(f":information_source: This request {_ENDED[approval.state]}."))
        return None
    return approval


async def _may_approve(deps: Deps, x: Interaction, approval: Approval) -> bool:
    """Whether the clicker is one of the approvers (told and audited when not)."""
    if x.user in approval.users:
        return True
    for group in approval.usergroups:
        members = await deps.members.members(group)
        if members is LOOKUP_FAILED:
            await x.beside(
                **ephemeral(
                    f":warning: Slack could not tell me who is in <!subteam^{group}> just now; "
                    "try again shortly."
                )
            )
            return False
        if x.user in members:
            return True
    await audit(deps, approval, "approval refused", x.user, "not an approver")
    await x.beside(**ephemeral(":no_entry: You are not one of the approvers of this request."))
    return False


def _no_room_for(deps: Deps, user: str) -> str | None:
    """``why_not`` for work of ``user``'s asked from a task that is not theirs (``why_not``
    counts the asking task as the user's own)."""
    busy = deps.work.why_not(user)
    if busy is None and deps.work.running_for(user) >= deps.work.per_user:
        return USER_FULL
    return busy


def _busy_for_approver(deps: Deps, approval: Approval, busy: str) -> str:
    if busy != USER_FULL:
        return no_room(busy, deps.work)
    return (
        f":hourglass: <@{approval.requester}> already has {deps.work.per_user} commands in "
        "progress, so this request could not run now. Your approval was not recorded: "
        "approve again once one of them has finished."
    )


async def _run(
    deps: Deps, x: Interaction, approval: Approval, by_slash: dict[str, Vertical]
) -> None:
    """Carry out an approved request once, as its requester, where it was asked (in a
    task counted as the requester's)."""
    request = load(approval.request)
    step = (approval.origin or {}).get("step")
    vertical = by_slash.get(approval.command)
    tell = _as_requester(x.client, approval)
    if request is None or (not step and vertical is None):
        # E.g. an upgrade changed the request's type since it was held.
        await _not_run(
            deps,
            approval,
            NOT_RUN,
            "it can no longer be run",
            tell,
            f"{GONE} It was approved but can no longer be run: ask again.",
        )
        return
    busy = deps.work.why_not(approval.requester)
    if busy is not None:
        await _no_room(deps, approval, busy, tell)
        return
    if step:
        if await _started(deps, approval):
            await steps.resume(deps, str(step), request, approval.requester)
        return
    assert vertical is not None

    async def answer(*args: Any, **kw: Any) -> None:
        if kw:  # e.g. the policy changed meanwhile and now denies it
            await tell(**kw)

    # The approver's click carries the requester's request: the approver's response URL
    # and payload are not the requester's, so answers go to the requester in the channel.
    as_typed = replace(
        x,
        user=approval.requester,
        channel=approval.channel_id,
        value=approval.text,
        trigger="",
        response_url="",
        ack=answer,
        respond=tell,
        body={},
        confirmed=True,
    )
    try:
        # Nothing is awaited between the room checked above and admit's own check.
        admitted = await commands.admit(
            deps, as_typed, vertical, confirmed=Confirmed(approval.id, request)
        )
        if admitted is None:
            # The requester has been told why (denied now, its vendor not configured).
            await _not_run(deps, approval, NOT_RUN, "it could not run as held", None, None)
            return
        if await _started(deps, approval):
            await commands.perform(deps, as_typed, vertical, admitted)
    except VendorError as exc:
        await tell(**ephemeral(vendor_error(exc)))
    except Stale as exc:
        await tell(**ephemeral(exc.message))


async def _started(deps: Deps, approval: Approval) -> bool:
    """Mark the approved request as running, just before it runs (its card already says
    it runs): False when it has been moved on meanwhile (the sweep took its process for
    stopped), and must not run."""
    return await deps.store.approvals.settle(approval.id, RUNNING) is not None


async def _no_room(deps: Deps, approval: Approval, busy: str, tell: Answer) -> None:
    what = _what(approval)
    if busy == CLOSING:
        text = (
            f":arrows_counterclockwise: Your request {what} was approved, but the app was "
            "restarting, so it was not run. Ask again in a moment."
        )
        await _not_run(deps, approval, INTERRUPTED, "the app was restarting", tell, text)
        return
    if busy == USER_FULL:
        why = f"the requester already had {deps.work.per_user} commands in progress"
        text = (
            f":hourglass: Your request {what} was approved, but you already had "
            f"{deps.work.per_user} commands in progress, so it was not run. Ask again once "
            "one of them has finished."
        )
    else:
        why = "the app had too many requests in progress"
        text = (
            f":hourglass: Your request {what} was approved, but chatops-hub was too busy to "
            "run it, so it was not run. Ask again in a minute."
        )
    await _not_run(deps, approval, NO_ROOM, why, tell, text)


async def _not_run(
    deps: Deps,
    approval: Approval,
    state: str,
    why: str,
    tell: Answer | None,
    text: str | None,
) -> bool:
    """Close an approved request unrun as ``state``, once (False when it was moved on
    already): audited with ``why``, its card updated, and the requester told ``text``, or
    the step waiting on it ended."""
    settled = await deps.store.approvals.settle(approval.id, state)
    if settled is None:
        return False
    await audit(deps, settled, "approval not run", settled.requester, f"approved, but {why}")
    await show(deps, settled.id)
    step = (settled.origin or {}).get("step")
    if step:
        await steps.abandon(
            deps, str(step), f"The request for approval was approved, but {why}; nothing ran."
        )
    elif tell is not None and text is not None:
        await tell(**ephemeral(text))
    return True


def _what(approval: Approval) -> str:
    return fit(f"{approval.command} {approval.text}".strip(), 300, code)[0]


def _as_requester(client: AsyncWebClient, approval: Approval) -> Answer:
    """Answers for the requester: in the channel when meant for everyone, else visible
    to the requester alone (in a direct message when the channel will not take it)."""
    alone = modal_tell(client, approval.requester, approval.channel_id)

    async def tell(**message: Any) -> None:
        if message.get("response_type") == "in_channel":
            await client.chat_postMessage(
                channel=approval.channel_id,
                text=str(message.get("text", "")),
                blocks=message.get("blocks"),
            )
        else:
            await alone(**message)

    return tell


async def expire_due(deps: Deps, now: float | None = None) -> int:
    """Close every open request past its expiry (each once, whichever process sweeps);
    how many this call closed."""
    closed = 0
    for approval in await deps.store.approvals.expired(now):
        closed += await _expire(deps, approval.id)
    await deps.store.approvals.prune(time.time() - 7 * 86400)
    return closed


async def close_unstarted(deps: Deps, now: float | None = None) -> int:
    """Close every request approved more than ``START_GRACE`` seconds ago and never
    started (its process stopped in between) as ``interrupted``, each once whichever
    process sweeps; how many this call closed. None is run late: its requester asked for
    it then, and is told instead (the held request is not kept past the approval)."""
    now = time.time() if now is None else now
    closed = 0
    for approval in await deps.store.approvals.unstarted(now - START_GRACE):
        text = (
            f":warning: Your request {_what(approval)} was approved, but the app restarted "
            "before it could run it, so nothing was run. Ask again if you still need it."
        )
        tell = _as_requester(deps.tracker.slack, approval)
        why = "the app restarted before running it"
        closed += await _not_run(deps, approval, INTERRUPTED, why, tell, text)
    return closed


async def _expire(deps: Deps, approval_id: str) -> bool:
    expired = await deps.store.approvals.close(approval_id, EXPIRED)
    if expired is None:
        return False  # decided or expired by someone else meanwhile
    waited = duration(expired.expires_at - expired.created_at)
    got = f"{len(expired.approved_by)} of {expired.needed} approvals in {waited}"
    await audit(deps, expired, "expired", expired.requester, got)
    await show(deps, expired.id)
    await _abandon(deps, expired, "expired without enough approvals")
    return True


async def _abandon(deps: Deps, approval: Approval, why: str) -> None:
    step = (approval.origin or {}).get("step")
    if step:
        await steps.abandon(deps, str(step), f"The request for approval {why}; nothing ran.")
