"""Two-person approvals: a request a policy rule with ``approvers`` holds is posted in its
channel with Approve and Reject, and waits there (``bot/store/approvals.py``).

This module asks, audits and draws the card; ``handlers/common/approve.py`` takes the
clicks, runs the request once approved, and expires what waited too long. (Split so that
the command and button paths, which ask, do not import what runs them.)
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.audit import redact
from bot.policy import Decision, Request
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
from handlers.common.audited import audit_request
from handlers.common.blocks import button
from handlers.common.held import dump
from handlers.common.interaction import Answer
from handlers.common.replies import cannot_post
from handlers.common.text import (
    UsageError,
    clip,
    code,
    code_block,
    duration,
    escape,
    fit,
    normalize,
    split_trailing_json,
)
from handlers.deps import Deps

log = logging.getLogger(__name__)

APPROVE_ACTION = "chatops_approval_approve"
REJECT_ACTION = "chatops_approval_reject"
# Requests one user may have waiting for approval at once: enough for real work, while a
# script (or a stuck key) cannot bury a channel in cards.
MAX_WAITING = 20


async def ask_for_approval(
    deps: Deps,
    wanted: Request,
    decision: Decision,
    *,
    slash: str,
    text: str,
    held: Any,
    tell: Answer,
    origin: dict[str, Any] | None = None,
) -> None:
    """Hold the parsed request ``held`` (shown as ``slash text``) for the approvers
    ``decision`` names: post the card in ``wanted.channel_id`` for everyone there to see,
    and tell the requester it waits. ``origin`` ({"step": execution_id}) is a workflow
    step waiting on it."""
    assert decision.approval is not None
    approvers = decision.approval
    if not wanted.channel_id.startswith(("C", "G")):
        # A direct message (or a step without a channel): no approver would see the card.
        why = f"{decision.reason}, and approvers can only be asked in a channel"
        await not_asked(
            deps,
            wanted,
            tell,
            origin,
            f":no_entry: {escape(why)}. Nothing was run: ask again in a channel the "
            "approvers and I are in.",
            why,
        )
        return
    others = approvers.users - {wanted.user_id}
    if not approvers.usergroups and len(others) < approvers.needed:
        # The requester is one of the few approvers named, and never counts.
        why = f"{decision.reason}, but the policy names too few approvers besides you"
        await not_asked(
            deps,
            wanted,
            tell,
            origin,
            f":no_entry: {escape(why)}: it could never be approved. Nothing was run. Ask "
            "someone else to run it, or a workspace admin to change the access policy.",
            why,
        )
        return
    if await deps.store.approvals.waiting(wanted.user_id) >= MAX_WAITING:
        # Counted, then created: asks arriving at the same moment may pass it by a few.
        waiting = f"{MAX_WAITING} requests waiting for approval"
        await not_asked(
            deps,
            wanted,
            tell,
            origin,
            f":no_entry: {escape(decision.reason)}, but you already have {waiting}, so this "
            "one was not posted. Nothing was run. Withdraw one you no longer need (Reject on "
            "its card), or wait until they are decided.",
            f"{decision.reason}, but the requester already has {waiting}",
        )
        return
    approval = await deps.store.approvals.create(
        requester=wanted.user_id,
        channel_id=wanted.channel_id,
        command=slash,
        text=shown_text(text),
        action=wanted.command,
        target=wanted.target,
        request=dump(held),
        origin=origin,
        users=approvers.users,
        usergroups=approvers.usergroups,
        needed=approvers.needed,
        ttl=deps.settings.chatops_approval_ttl,
    )
    try:
        posted = await deps.tracker.slack.chat_postMessage(
            channel=approval.channel_id, **card(approval)
        )
    except SlackApiError as exc:
        await deps.store.approvals.close(approval.id, CANCELLED)
        error = str(exc.response.get("error") or "an error")
        why = f"the request for approval could not be posted in the channel ({error})"
        await not_asked(deps, wanted, tell, origin, cannot_post(error), why)
        return
    await deps.store.approvals.set_message(approval.id, str(posted["ts"]))
    await audit(deps, approval, "approval requested", wanted.user_id, decision.reason)
    await tell(
        response_type="ephemeral",
        text=(
            f":hourglass_flowing_sand: *Waiting for approval* — {escape(decision.reason)}. "
            f"The request is posted in this channel; it runs as you once "
            f"{_count(approvers.needed)} approved it, and expires unrun after "
            f"{duration(deps.settings.chatops_approval_ttl)}."
        ),
    )


async def cannot_hold(deps: Deps, wanted: Request, decision: Decision, tell: Answer) -> None:
    """A click under an approval rule that stands for no request to hold (so none to
    approve): refused, saying what to do instead."""
    what = f"`/{wanted.command}`" + (f" on `{escape(wanted.target)}`" if wanted.target else "")
    await not_asked(
        deps,
        wanted,
        tell,
        None,
        f":lock: {escape(decision.reason)}, and this button cannot ask for approval, so "
        f"nothing was sent to {deps.vendor_name(wanted.command)}. Type the command ({what}) "
        "instead: it will be posted for approval.",
        "this button cannot ask for approval",
    )


async def not_asked(
    deps: Deps,
    wanted: Request,
    tell: Answer,
    origin: dict[str, Any] | None,
    text: str,
    why: str,
) -> None:
    """Nothing held: the requester is told ``text``, the audit log and a waiting step
    ``why``."""
    try:
        await tell(response_type="ephemeral", text=text)
    finally:
        await audit_request(deps, wanted, "approval not asked", why)
        if origin is not None and origin.get("step"):
            from handlers.common import steps  # steps import this module, to ask

            await steps.abandon(deps, str(origin["step"]), f"Nothing was run: {why}.")


def _count(needed: int) -> str:
    return "an approver has" if needed == 1 else f"{needed} different approvers have"


async def audit(
    deps: Deps, approval: Approval, outcome: str, user_id: str, detail: str = ""
) -> None:
    """One step of an approval in the audit log, by ``user_id``. The held text is not
    recorded: the run's own entry has its (redacted) parameters."""
    await deps.audit.record(
        user_id=user_id,
        channel_id=approval.channel_id,
        command=approval.action,
        target=approval.target,
        outcome=outcome,
        detail=detail,
    )


# -- the card ---------------------------------------------------------------------------


def shown_text(text: str) -> str:
    """The typed text (as Slack sends it) as the card shows it to the whole channel:
    Slack's escaping undone, and values that look like secrets, by their name or their
    form, hidden as the audit log hides them. (What runs is the held request itself.)"""
    typed = normalize(text)
    try:
        words, data = split_trailing_json(typed)
    except UsageError:
        words, data = typed, None
    shown = str(redact(words))
    if data is not None:
        shown += " " + json.dumps(redact(data), ensure_ascii=False)
    return shown


_STATES = {
    APPROVED: ":white_check_mark: *Approved* — it runs as {requester}.",
    RUNNING: ":white_check_mark: *Approved* — it runs as {requester}.",
    NO_ROOM: (
        ":warning: *Approved, not run* — there was no room to run it at that moment (too "
        "many commands in progress), so nothing was run. {requester} may ask again."
    ),
    NOT_RUN: (
        ":warning: *Approved, not run* — it could no longer run as it was held; nothing "
        "was run, and {requester} was told why."
    ),
    INTERRUPTED: (
        ":warning: *Approved, not run* — the app restarted before it could run it, so "
        "nothing was run. {requester} may ask again."
    ),
    REJECTED: ":x: *Rejected* — nothing was run.",
    CANCELLED: ":leftwards_arrow_with_hook: *Withdrawn* — nothing was run.",
    EXPIRED: ":hourglass: *Expired* {closed} without enough approvals — nothing was run.",
}
_DECISIONS = {
    APPROVE: ":white_check_mark: Approved by",
    REJECT: ":x: Rejected by",
    WITHDRAW: ":leftwards_arrow_with_hook: Withdrawn by",
}


def when(at: float) -> str:
    """A time every reader sees in their own time zone (plain UTC where Slack cannot)."""
    utc = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(at)}^{{date_short_pretty}} at {{time}}|{utc}>"


def approvers_text(approval: Approval) -> str:
    names = [f"<@{user}>" for user in approval.users]
    names += [f"<!subteam^{group}>" for group in approval.usergroups]
    return ", ".join(names) or "nobody"


def card(approval: Approval) -> dict[str, Any]:
    """The request's message in its channel: who asked for what, who decided what and
    when, and how it ended; Approve and Reject while it is open."""
    requester = f"<@{approval.requester}>"
    what = f"{approval.command} {approval.text}".strip()
    shown, _cut = fit(what, 2000, code_block)  # as typed
    summary = f":lock: *Approval needed* — {requester} asks to run:\n{shown}"
    needs = (
        f"Needs {approval.needed} approval{'s' if approval.needed != 1 else ''} from "
        f"{approvers_text(approval)}, never from the requester."
    )
    if approval.state == OPEN:
        needs += f" Expires {when(approval.expires_at)}."
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": summary}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": needs}]},
    ]
    lines = [f"{_DECISIONS[d.decision]} <@{d.user}> {when(d.at)}" for d in approval.decisions]
    if lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": clip("\n".join(lines), 2900)}}
        )
    if approval.state == OPEN:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    button("Approve", APPROVE_ACTION, approval.id, "primary"),
                    button("Reject", REJECT_ACTION, approval.id, "danger"),
                ],
            }
        )
    else:
        closed = when(approval.closed_at or approval.expires_at)
        ended = _STATES[approval.state].format(requester=requester, closed=closed)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": ended}})
    text = f"Approval needed: {requester} asks to run {code(what[:300])}"
    return {"text": text, "blocks": blocks}


async def show(deps: Deps, approval_id: str) -> None:
    """Bring the request's card up to date. Drawn from the row as read just before, and
    drawn again if it changed meanwhile, so that two processes deciding at once cannot
    leave the older state showing."""
    seen = -1
    for _attempt in range(3):
        approval = await deps.store.approvals.get(approval_id)
        if approval is None or not approval.message_ts or approval.version == seen:
            return
        seen = approval.version
        try:
            await deps.tracker.slack.chat_update(
                channel=approval.channel_id, ts=approval.message_ts, **card(approval)
            )
        except SlackApiError as exc:
            log.warning("approval card %s not updated: %s", approval.id, exc.response.get("error"))
            return
