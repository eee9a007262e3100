"""Workflow Builder custom steps: each vertical's ``Step`` served as a Slack function.

A ``function_executed`` event is acknowledged and claimed by its event id (the listener of
handlers/common/listeners.py), then its run is stored (``step_runs``) before anything else,
so a second delivery of the same execution stops there too. The inputs become the typed
request the step stands for (``Step.request``), each checked by the vertical parser's own
validator, so a step is validated like the typed command and no input is ever read as
command text (nor can become an option); the access policy then decides for the step's
``user_id`` where the command would be decided (its ``channel_id``, else the user's own
space). A step ends once, through ``bot.steps.StepCompleter``:

* at once, with its outputs (``Step.run`` returned them) or with the reason it could not
  run (bad inputs, not configured, busy, denied, a vendor error), never silently;
* when the tracked job it started ends: a tracker finisher completes it, under the job's
  lease and again after a crash (``JobKind.step_outputs``);
* held by a ``confirm`` rule (Confirm or Cancel in a direct message to the requester) or
  an approval rule (``handlers/common/approvals.py``): ``resume`` runs it once confirmed or
  approved, ``abandon`` ends it when cancelled, rejected or expired.

Whatever a process dying mid-way leaves, the sweep ends: a run taken on and neither
completed nor followed by a job (with the job's outputs if it ended), a completion decided
and not yet taken by Slack (sent again), and a held run that nothing will resume or end
any more (its confirmation used, its request for approval closed or handed on).

A step's work runs as a task counted as its ``user_id``'s, like that user's commands
(``CHATOPS_MAX_INFLIGHT_PER_USER``): the event it comes in has no user.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from dataclasses import field as attribute
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError
from bot.messages import Message
from bot.policy import Decision, Request
from bot.steps import StepCompleter
from bot.store.approvals import APPROVED, CANCELLED, EXPIRED, OPEN, REJECTED
from bot.store.approvals import RUNNING as APPROVAL_RUNNING
from bot.store.steps import APPROVAL, HELD, RECEIVED, RUNNING, Holder, StepRun
from bot.tracking import RetryLater
from handlers.common import approvals, policy
from handlers.common.approvals import ask_for_approval, not_asked
from handlers.common.audited import audit_held
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import no_room, not_configured, vendor_error
from handlers.common.step_text import field
from handlers.common.text import UsageError, slack_escaped, slack_unescaped
from handlers.common.vertical import Click, Parameter, Step, StepCall, Vertical
from handlers.deps import Deps, Periodic

log = logging.getLogger(__name__)

# Every step's two inputs besides its own (CONTRACT.md, "Workflow Builder steps").
USER_ID = Parameter(
    "user_id",
    "slack#/types/user_id",
    "Run as",
    'Map it to "Person who used this workflow": the step runs as this person, and the '
    "access policy decides as for their own command.",
    required=True,
)
CHANNEL_ID = Parameter(
    "channel_id",
    "slack#/types/channel_id",
    "Channel",
    "Optional: the step also posts its usual card in this channel (invite the app there).",
)

SWEEP_EVERY = 15.0  # seconds between looks for held steps expired and runs left stranded
# A step is carried out within CHATOPS_COMMAND_SECONDS of being taken on (or stopped); one
# neither held, nor followed by a job, nor completed this much longer after was being
# carried out by a process that died: it ends with an error rather than never.
STRANDED_GRACE = 30.0
# A request approved and never started is closed (and its step ended) by the approvals
# sweep (handlers/common/approve.py, after 5 minutes); one left approved this much longer
# is ended here.
APPROVED_GRACE = 900.0
KEEP_COMPLETED = 30 * 86400.0  # completed runs are forgotten after this long
NOT_CONFIRMED = "Not confirmed within 10 minutes; nothing was run."
STOPPED = (
    "The app stopped while carrying out this step. Check whether it ran before running "
    "the workflow again."
)
# Why a held run ends when nothing is left to resume or end it (its process stopped in
# between), by what held it last.
UNHELD = {
    None: "The app stopped before asking for this step to be confirmed or approved; "
    "nothing was run. Run the workflow again if it is still wanted.",
    "confirmation": "The app stopped after this step was confirmed or cancelled, before "
    "carrying it out; nothing was run. Run the workflow again if it is still wanted.",
    REJECTED: "The request for approval was rejected; nothing ran.",
    CANCELLED: "The request for approval was withdrawn; nothing ran.",
    EXPIRED: "The request for approval expired without enough approvals; nothing ran.",
    APPROVAL: "The request for approval was approved, but the app stopped before carrying "
    "it out; nothing ran. Run the workflow again if it is still wanted.",
}
APOLOGY = (
    "Something went wrong on our side and has been logged (reference {}). "
    "Run the workflow again, or ask an admin to look the reference up."
)
_USER = re.compile(r"[UW][A-Z0-9]{1,63}")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{1,63}")
_EMOJI = re.compile(r"^(:[a-z0-9_+-]+:\s*)+")

# Each step by its callback id, with its vertical: a held step resumes from this.
_STEPS: dict[str, tuple[Vertical, Step]] = {}

Listener = Callable[[Click], Callable[..., Awaitable[None]]]


def wire(app: AsyncApp, deps: Deps, verticals: Iterable[Vertical], listener: Listener) -> None:
    """Serve every vertical's steps (through ``listener``, the listeners' one wrapper), and
    end the held steps nobody confirmed and the runs a dead process left."""
    for vertical in verticals:
        for step in vertical.steps:
            _STEPS[step.callback_id] = (vertical, step)
            app.function(step.callback_id)(listener(_on_event(vertical, step)))

    async def sweep_now() -> None:  # a coroutine function: the scheduler awaits only those
        await sweep(deps)

    deps.periodic.append(Periodic("workflow-steps", SWEEP_EVERY, sweep_now))


def completer(deps: Deps) -> StepCompleter:
    return StepCompleter(deps.store.steps, deps.tracker.slack)


@dataclass(frozen=True)
class Execution:
    """What a ``function_executed`` event says: which run, with which token and inputs."""

    execution_id: str
    token: str = attribute(repr=False)  # never in a repr, so never in a log line
    inputs: dict[str, Any] = attribute(default_factory=dict)

    @classmethod
    def of(cls, body: dict[str, Any]) -> Execution | None:
        event = body.get("event")
        if not isinstance(event, dict):
            return None
        execution_id, token = event.get("function_execution_id"), event.get("bot_access_token")
        inputs = event.get("inputs")
        if not (isinstance(execution_id, str) and execution_id and isinstance(token, str)):
            return None
        return cls(execution_id, token, inputs if isinstance(inputs, dict) else {})


def _on_event(vertical: Vertical, step: Step) -> Click:
    async def on_step(deps: Deps, x: Interaction) -> None:
        await x.ack()  # claims the event: a redelivery stops in the ack
        execution = Execution.of(x.body)
        if execution is None:
            log.warning("a %s event without its execution id or token", step.callback_id)
            return
        stored = await deps.store.steps.create(
            execution_id=execution.execution_id,
            callback_id=step.callback_id,
            token=execution.token,
            user_id=field(execution.inputs, "user_id"),
            channel_id=field(execution.inputs, "channel_id"),
            inputs=execution.inputs,
        )
        if not stored:
            log.info("step run %s is known already: not repeating it", execution.execution_id)
            return
        run = await deps.store.steps.get(execution.execution_id)
        if run is not None:
            _as_user(deps, run, _guarded(deps, run.execution_id, _admit(deps, vertical, step, run)))

    on_step.__name__ = f"step_{step.callback_id}"
    return on_step


def _as_user(deps: Deps, run: StepRun, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` as a task of its own, counted as the step's user's work."""

    async def logged() -> None:
        try:
            await work
        except Exception as exc:  # e.g. the database away while ending it: the sweep ends it
            log.error("step run %s: error while ending it", run.execution_id, exc_info=exc)

    task = asyncio.create_task(logged(), name=f"step-{run.callback_id}")
    deps.work.adopt(task, run.user_id if _USER.fullmatch(run.user_id) else None)


async def _guarded(deps: Deps, execution_id: str, work: Awaitable[None]) -> None:
    """The steps' one error boundary: whatever stops a step ends it with a reason. The work
    (up to its completion, or the tracked job that will complete it) is bounded in time,
    so that a run found unfinished later can only be one whose process died."""
    limit = deps.settings.chatops_command_seconds
    since = time.time()
    try:
        async with asyncio.timeout(limit):
            await work
    except TimeoutError:
        await _stop(
            deps,
            execution_id,
            since,
            f"The step took longer than {limit:g} s to carry out and was stopped. Check "
            "whether it ran before running the workflow again.",
        )
    except UsageError as exc:
        await _stop(deps, execution_id, since, f"Invalid input: {exc}")
    except VendorError as exc:
        await _stop(deps, execution_id, since, plain(vendor_error(exc)))
    except SlackApiError as exc:
        error = exc.response.get("error") or "an error"
        await _stop(deps, execution_id, since, f"Slack refused a message of this step ({error}).")
    except Exception as exc:
        reference = uuid.uuid4().hex[:8]
        log.error("unhandled error in step run (reference %s)", reference, exc_info=exc)
        await _stop(deps, execution_id, since, APOLOGY.format(reference))


async def _stop(deps: Deps, execution_id: str, since: float, reason: str) -> None:
    """End a step whose work (begun at ``since``) was stopped. One stopped while being
    held lets go of what holds it first, so that a later Confirm or Approve finds it gone,
    unless someone acted on that meanwhile (then they resume or end it)."""
    run = await deps.store.steps.get(execution_id)
    if run is not None and run.state == HELD and not await _let_go(deps, run, since):
        return
    await completer(deps).fail(execution_id, reason)


async def _let_go(deps: Deps, run: StepRun, since: float) -> bool:
    """Close the requests for confirmation or approval still holding ``run``; False when
    one was used or decided by someone else since ``since``."""
    taken = False
    holders = (await deps.store.steps.holders([run]))[run.execution_id]
    for holder in holders:
        if holder.kind == APPROVAL and holder.state == OPEN:
            closed = await deps.store.approvals.close(holder.id, CANCELLED)
            if closed is None:  # decided just now
                taken = True
                continue
            await approvals.audit(
                deps, closed, "cancelled", run.user_id, "the workflow step was stopped"
            )
            await approvals.show(deps, closed.id)
        elif holder.ended_at is None:  # a confirmation not used yet
            if not await deps.store.confirmations.use(holder.id):
                taken = True  # used by a click just now
        elif holder.ended_at >= since:
            taken = True
    return not taken


async def _admit(deps: Deps, vertical: Vertical, step: Step, run: StepRun) -> None:
    """What a slash command goes through before its work, for a step: valid inputs, a
    configured vendor, room for it, and the access policy for its user."""
    tell = ender(deps, run.execution_id)
    wrong = _wrong_inputs(step, run)
    if wrong is not None:
        await tell(text=wrong)
        return
    request = step.request(run.inputs)
    # As Slack sends a typed command (the confirmation and the approval card unescape it).
    text = slack_escaped(step.show(request))
    if vertical.complete is not None:
        request = vertical.complete(request, deps.settings)
    if vertical.client(deps) is None:
        await tell(text=not_configured(vertical.status(deps.settings)))
        return
    busy = deps.work.why_not(run.user_id)
    if busy is not None:
        await tell(text=no_room(busy, deps.work))
        return
    name, target = vertical.policy_name(request)
    wanted = policy.request_for(name, target, run.user_id, run.place)
    decision = await policy.decide(deps, wanted)
    if not decision.allowed:
        await policy.refuse(deps, wanted, decision, tell)
        return
    origin = {"step": run.execution_id}
    if decision.approval is not None:
        if not run.channel_id:
            await _no_channel_for_approvers(deps, wanted, decision.reason, tell)
            return
        if await deps.store.steps.move(run.execution_id, from_states=(RECEIVED,), to=HELD):
            await _ask_approvers(deps, vertical, run, wanted, decision, text, request)
        return
    if decision.confirm:
        if not await deps.store.steps.move(run.execution_id, from_states=(RECEIVED,), to=HELD):
            return
        await policy.ask_to_confirm(
            deps,
            wanted,
            decision,
            slash=vertical.slash,
            text=text,
            held=request,
            tell=_direct(deps, run.user_id),
            origin=origin,
        )
        return
    await _carry_out(deps, step, run, request, held=False)


async def _ask_approvers(
    deps: Deps,
    vertical: Vertical,
    run: StepRun,
    wanted: Request,
    decision: Decision,
    text: str,
    request: Any,
) -> None:
    await ask_for_approval(
        deps,
        wanted,
        decision,
        slash=vertical.slash,
        text=text,
        held=request,
        # Beside the request's card, to the requester alone (or in a direct message).
        tell=policy.modal_tell(deps.tracker.slack, run.user_id, run.channel_id),
        origin={"step": run.execution_id},
    )


def _wrong_inputs(step: Step, run: StepRun) -> str | None:
    """What is wrong with the inputs as the step declares them, or None."""
    if not _USER.fullmatch(run.user_id):
        return (
            f"The step's {USER_ID.title} input ({USER_ID.name}) must be a person: map it to "
            '"Person who used this workflow".'
        )
    if run.channel_id and not _CHANNEL.fullmatch(run.channel_id):
        return f"The step's {CHANNEL_ID.title} input ({CHANNEL_ID.name}) is not a channel."
    for parameter in step.inputs:
        value = field(run.inputs, parameter.name)
        if parameter.required and not value:
            return f"The step's {parameter.title} input ({parameter.name}) is required."
        if value and parameter.choices and value.lower() not in parameter.choices:
            return (
                f"The step's {parameter.title} input ({parameter.name}) is one of "
                f"{', '.join(parameter.choices)}, not {value[:40]!r}."
            )
    return None


async def _no_channel_for_approvers(deps: Deps, wanted: Request, reason: str, tell: Answer) -> None:
    text = (
        f"Approval needed: {reason}. This step has no channel, and approvers are asked in "
        "one: give the step a channel (its Channel input) that the approvers and the app "
        "are in. Nothing was run."
    )
    # No origin: the step ends with this text as its error, through ``tell``.
    await not_asked(deps, wanted, tell, None, text, text)


async def _carry_out(deps: Deps, step: Step, run: StepRun, request: Any, *, held: bool) -> None:
    """Run the admitted request once (whoever else tries), and complete the step with its
    outputs now, or leave that to the end of the job it started."""
    if not await deps.store.steps.move(
        run.execution_id, from_states=(HELD,) if held else (RECEIVED,), to=RUNNING
    ):
        return
    call = StepCall(
        execution_id=run.execution_id,
        user_id=run.user_id,
        channel_id=run.channel_id,
        tell=ender(deps, run.execution_id),
    )
    outputs = await step.run(deps, call, request)
    if outputs is not None:
        await completer(deps).succeed(run.execution_id, outputs)


async def resume(deps: Deps, execution_id: str, request: Any, user_id: str) -> None:
    """Run a held step's request now, as its requester (after Confirm, or once approved),
    in a task counted as theirs. The policy is asked again (it may have changed since):
    not to confirm again, but for approval when it now needs approvers and this step was
    not approved."""
    run = await deps.store.steps.get(execution_id)
    if run is None or run.state != HELD:
        return
    if user_id != run.user_id:
        log.warning("step run %s: resumed for another user; not run", execution_id)
        return
    found = _STEPS.get(run.callback_id)
    if found is None:
        await abandon(deps, execution_id, "This app no longer offers this step.")
        return
    busy = deps.work.why_not(run.user_id)
    if busy is not None:
        await abandon(deps, execution_id, plain(no_room(busy, deps.work)))
        return
    _as_user(deps, run, _guarded(deps, execution_id, _resume(deps, *found, run, request)))


async def _resume(deps: Deps, vertical: Vertical, step: Step, run: StepRun, request: Any) -> None:
    if vertical.client(deps) is None:
        await abandon(deps, run.execution_id, plain(not_configured(vertical.status(deps.settings))))
        return
    name, target = vertical.policy_name(request)
    wanted = policy.request_for(name, target, run.user_id, run.place)
    decision = await policy.decide(deps, wanted)
    if not decision.allowed:
        if await deps.store.steps.move(run.execution_id, from_states=(HELD,), to=RUNNING):
            await policy.refuse(deps, wanted, decision, ender(deps, run.execution_id))
        return
    if decision.approval is not None and not await _approved(deps, run):
        # A Confirm click is no approval: it waits for the approvers now, still held.
        if not run.channel_id:
            reason = decision.reason
            await _no_channel_for_approvers(deps, wanted, reason, ender(deps, run.execution_id))
            return
        text = slack_escaped(step.show(request))
        await _ask_approvers(deps, vertical, run, wanted, decision, text, request)
        return
    await _carry_out(deps, step, run, request, held=True)


async def _approved(deps: Deps, run: StepRun) -> bool:
    """Whether approvers approved this run, as its requester asked it, where it was asked."""
    holders = (await deps.store.steps.holders([run]))[run.execution_id]
    return any(
        holder.kind == APPROVAL
        and holder.state in (APPROVED, APPROVAL_RUNNING)
        and holder.requester == run.user_id
        and holder.channel_id == run.place
        for holder in holders
    )


async def abandon(deps: Deps, execution_id: str, reason: str) -> None:
    """End a held step with ``reason`` (cancelled, rejected, expired); nothing is run."""
    await completer(deps).fail(execution_id, reason, from_states=(HELD,))


async def sweep(deps: Deps) -> None:
    """End the held steps nobody confirmed in time, and whatever a dead process left: runs
    never completed, completions Slack did not take yet, held runs nothing will resume."""
    now = time.time()
    ending = completer(deps)
    for held in await deps.store.confirmations.held_steps(now - policy.CONFIRM_WITHIN):
        if held.step and await deps.store.confirmations.use(held.id):
            await audit_held(deps, held, "confirm expired", held.user_id)
            await _later(ending.complete(held.step, None, NOT_CONFIRMED, from_states=(HELD,)))
    since = now - deps.settings.chatops_command_seconds - STRANDED_GRACE
    await _unheld(deps, since)
    for run, job_id in await deps.store.steps.stranded(since):
        job = await deps.store.jobs.get(job_id) if job_id else None
        if job is not None:
            # Its job ended, and its finishers did not complete it (a process died between).
            await _later(ending.for_job(job, deps.tracker))
            continue
        log.warning("step run %s was left unfinished; ending it", run.execution_id)
        await _later(ending.complete(run.execution_id, None, STOPPED))
    for run in await deps.store.steps.completing(now):
        await _later(ending.resend(run.execution_id))
    await deps.store.steps.prune(now - KEEP_COMPLETED)


async def _unheld(deps: Deps, since: float) -> None:
    """End the runs held since before ``since`` that nothing will resume or end any more:
    nothing holds them (the process stopped before asking), or what held them was used,
    closed or handed on before ``since`` (and its process stopped before going on)."""
    runs = await deps.store.steps.held(since)
    by_run = await deps.store.steps.holders(runs)
    for run in runs:
        holders = by_run[run.execution_id]
        if any(_acted_on(holder, since) for holder in holders):
            continue
        log.warning("step run %s was left held; ending it", run.execution_id)
        why = _why_unheld(holders[-1] if holders else None)
        await _later(completer(deps).complete(run.execution_id, None, why, from_states=(HELD,)))


def _acted_on(holder: Holder, since: float) -> bool:
    """Whether someone may still act on ``holder``: it is open, or was used or closed
    after ``since``, or was approved and the approvals sweep has yet to move it on."""
    if holder.ended_at is None or holder.ended_at >= since:
        return True
    return holder.state == APPROVED and holder.ended_at >= since - APPROVED_GRACE


def _why_unheld(last: Holder | None) -> str:
    if last is None:
        return UNHELD[None]
    if last.kind != APPROVAL:
        return UNHELD["confirmation"]
    return UNHELD.get(last.state, UNHELD[APPROVAL])


async def _later(sending: Awaitable[None]) -> None:
    """One of a sweep's sends: what Slack cannot take now is stored, and sent by a later
    sweep; an error with one run leaves the others to go on."""
    try:
        await sending
    except RetryLater:
        return
    except Exception:
        log.exception("a step run could not be ended now; the next sweep tries again")


# -- telling -----------------------------------------------------------------------------


def ender(deps: Deps, execution_id: str) -> Answer:
    """A ``tell`` for a step: the message it is given ends the step, as its error."""

    async def tell(*_args: Any, **message: Any) -> None:
        await completer(deps).fail(execution_id, plain(str(message.get("text") or "")))

    return tell


def _direct(deps: Deps, user_id: str) -> Answer:
    """A ``tell`` for the requester: a direct message from the app."""

    async def tell(*_args: Any, **message: Any) -> None:
        await deps.tracker.slack.chat_postMessage(
            channel=user_id, text=str(message.get("text") or ""), blocks=message.get("blocks")
        )

    return tell


def plain(text: str) -> str:
    """A Slack message's words for a step's error, which shows no mrkdwn."""
    text = _EMOJI.sub("", text.strip())
    for mark in ("*", "`"):
        text = text.replace(mark, "")
    return slack_unescaped(text)


async def post_card(deps: Deps, call: StepCall, message: Message) -> None:
    """A short step's card in its channel, if it was given one. The work is done by then,
    so a card Slack refuses is logged, and the step still completes with its outputs."""
    if not call.channel_id:
        return
    try:
        await deps.tracker.slack.chat_postMessage(
            channel=call.channel_id,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        log.warning(
            "step run %s: card not posted (%s)", call.execution_id, exc.response.get("error")
        )


# -- the manifest ------------------------------------------------------------------------


def manifest_functions(verticals: Iterable[Vertical]) -> dict[str, Any]:
    """manifest.yml's ``functions``: every step, in the format of Slack's Bolt templates."""
    return {
        step.callback_id: {
            "title": step.title,
            "description": step.description,
            "input_parameters": _parameters((*step.inputs, USER_ID, CHANNEL_ID)),
            "output_parameters": _parameters(step.outputs),
        }
        for vertical in verticals
        for step in vertical.steps
    }


def _parameters(parameters: Iterable[Parameter]) -> dict[str, Any]:
    return {
        parameter.name: {
            "type": parameter.type,
            "title": parameter.title,
            "description": parameter.description
            + (f" (default: {parameter.default})" if parameter.default else ""),
            "is_required": parameter.required,
            "name": parameter.name,
        }
        for parameter in parameters
    }
