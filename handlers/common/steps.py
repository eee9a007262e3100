"""Workflow Builder custom steps: each vertical's ``Step`` served as a Slack function.

A ``function_executed`` event is acknowledged and claimed by its event id (the listener of
handlers/common/listeners.py), then its run is stored (``step_runs``) before anything else,
so a second delivery of the same execution stops there too. The inputs become the command
text the step stands for (``Step.text``), read by the vertical's own parser, so a step is
validated like the typed command; the access policy then decides for the step's
``user_id`` where the command would be decided (its ``channel_id``, else the user's own
space). A step ends once, through ``bot.steps.StepCompleter``:

* at once, with its outputs (``Step.run`` returned them) or with the reason it could not
  run (bad inputs, not configured, busy, denied, a vendor error), never silently;
* when the tracked job it started ends: a tracker finisher completes it, under the job's
  lease and again after a crash (``JobKind.step_outputs``);
* held by a ``confirm`` rule (Confirm or Cancel in a direct message to the requester) or
  an approval rule (``handlers/common/approvals.py``): ``resume`` runs it once confirmed or
  approved, ``abandon`` ends it when cancelled, rejected or expired.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as attribute
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from adapters.errors import VendorError
from bot.messages import Message
from bot.policy import Request
from bot.steps import StepCompleter
from bot.store.steps import HELD, RECEIVED, RUNNING, StepRun
from handlers.common import policy
from handlers.common.approvals import ask_for_approval, not_asked
from handlers.common.commands import Help
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import no_room, not_configured, vendor_error
from handlers.common.step_text import field
from handlers.common.text import UsageError
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
KEEP_COMPLETED = 30 * 86400.0  # completed runs are forgotten after this long
NOT_CONFIRMED = "Not confirmed within 10 minutes; nothing was run."
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
            await _guarded(deps, run.execution_id, _admit(deps, vertical, step, run))

    on_step.__name__ = f"step_{step.callback_id}"
    return on_step


async def _guarded(deps: Deps, execution_id: str, work: Awaitable[None]) -> None:
    """The steps' one error boundary: whatever stops a step ends it with a reason. The work
    (up to its completion, or the tracked job that will complete it) is bounded in time,
    so that a run found unfinished later can only be one whose process died."""
    limit = deps.settings.chatops_command_seconds
    try:
        async with asyncio.timeout(limit):
            await work
    except TimeoutError:
        await completer(deps).fail(
            execution_id,
            f"The step took longer than {limit:g} s to carry out and was stopped. Check "
            "whether it ran before running the workflow again.",
        )
    except UsageError as exc:
        await completer(deps).fail(execution_id, f"Invalid input: {exc}")
    except VendorError as exc:
        await completer(deps).fail(execution_id, plain(vendor_error(exc)))
    except SlackApiError as exc:
        error = exc.response.get("error") or "an error"
        await completer(deps).fail(execution_id, f"Slack refused a message of this step ({error}).")
    except Exception as exc:
        reference = uuid.uuid4().hex[:8]
        log.error("unhandled error in step run (reference %s)", reference, exc_info=exc)
        await completer(deps).fail(execution_id, APOLOGY.format(reference))


async def _admit(deps: Deps, vertical: Vertical, step: Step, run: StepRun) -> None:
    """What a slash command goes through before its work, for a step: valid inputs, a
    configured vendor, room for it, and the access policy for its user."""
    tell = ender(deps, run.execution_id)
    wrong = _wrong_inputs(step, run)
    if wrong is not None:
        await tell(text=wrong)
        return
    text = _as_typed(step.text(run.inputs))
    request = vertical.parse(text)
    if isinstance(request, Help):
        raise UsageError(f"the inputs make no `{vertical.slash}` request")
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
        await deps.store.steps.move(run.execution_id, from_states=(RECEIVED,), to=HELD)
        await ask_for_approval(
            deps,
            wanted,
            decision,
            slash=vertical.slash,
            text=text,
            held=request,
            # Beside the request's card, to the requester alone (or in a direct message).
            tell=policy.modal_tell(deps.tracker.slack, run.user_id, run.channel_id),
            origin=origin,
        )
        return
    if decision.confirm:
        await deps.store.steps.move(run.execution_id, from_states=(RECEIVED,), to=HELD)
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


def _as_typed(text: str) -> str:
    """The command text as Slack sends a typed command's: &, < and > escaped (the parsers
    take them back, so a step's input reads exactly as typed in Slack)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
    """Run a held step's request now, as its requester (after Confirm, or once approved).
    The policy is asked again (it may have changed since), but not to hold it again."""
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
    await _guarded(deps, execution_id, _resume(deps, *found, run, request))


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
    await _carry_out(deps, step, run, request, held=True)


async def abandon(deps: Deps, execution_id: str, reason: str) -> None:
    """End a held step with ``reason`` (cancelled, rejected, expired); nothing is run."""
    if await deps.store.steps.move(execution_id, from_states=(HELD,), to=RUNNING):
        await completer(deps).fail(execution_id, reason)


async def sweep(deps: Deps) -> None:
    """End the held steps nobody confirmed in time and the runs a dead process left."""
    now = time.time()
    for held in await deps.store.confirmations.held_steps(now - policy.CONFIRM_WITHIN):
        if held.step and await deps.store.confirmations.use(held.id):
            await deps.audit.record(
                user_id=held.user_id,
                channel_id=held.channel_id,
                command=held.action or held.command.lstrip("/"),
                target=held.target,
                outcome="confirm expired",
            )
            await abandon(deps, held.step, NOT_CONFIRMED)
    since = now - deps.settings.chatops_command_seconds - STRANDED_GRACE
    for run in await deps.store.steps.stranded(since):
        log.warning("step run %s was left unfinished; ending it", run.execution_id)
        await completer(deps).fail(
            run.execution_id,
            "The app stopped while carrying out this step. Check whether it ran before "
            "running the workflow again.",
        )
    await deps.store.steps.prune(now - KEEP_COMPLETED)


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
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


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
            "output_parameters": _parameters(step.outputs, given=True),
        }
        for vertical in verticals
        for step in vertical.steps
    }


def _parameters(parameters: Iterable[Parameter], *, given: bool = False) -> dict[str, Any]:
    """``given``: outputs, each of which a completed step always gives."""
    return {
        parameter.name: {
            "type": parameter.type,
            "title": parameter.title,
            "description": parameter.description
            + (f" (default: {parameter.default})" if parameter.default else ""),
            "is_required": given or parameter.required,
            "name": parameter.name,
        }
        for parameter in parameters
    }
