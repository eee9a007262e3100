"""A vendor's whole Slack side, declared once: its command, subcommands, buttons, forms,
tracked jobs and digest. ``handlers/common/listeners.py`` turns these tables into Bolt
listeners; the usage text and the access policy's command names come from them too."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from bot.config import Settings, VendorStatus
from bot.digests import DigestKind
from bot.tracking import JobKind

if TYPE_CHECKING:
    from handlers.common.interaction import Interaction
    from handlers.deps import Deps

# Carries out one parsed request: (deps, who/where, the typed request).
Run = Callable[["Deps", "Interaction", Any], Awaitable[None]]
# Handles a click or a submitted form: (deps, who/where/what).
Click = Callable[["Deps", "Interaction"], Awaitable[None]]


class Stale(Exception):
    """A button or form refers to something the app no longer knows (or never made):
    the one error boundary answers with this message."""

    DEFAULT = ":grey_question: This button belongs to something I no longer know about."

    def __init__(self, message: str = DEFAULT) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Subcommand:
    """``/<command> <name> …``. ``usage`` is its bullet in the help text, after "• ";
    empty to share the bullet before it (``/mint publish … · /mint unpublish …``)."""

    name: str
    usage: str
    run: Run
    # Changes something at the vendor: its call is written to the audit log first; only
    # these may be audited (``audited`` refuses a command not declared so).
    changes: bool = False
    # Whole command lines shown under its bullet ("/flint run demo:hello.rb name=Ada"); each
    # runs as written against the built-in sandboxes (tests/inproc/test_examples.py).
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Button:
    """A button (or menu) with this ``action_id``, on any message or view of the app.
    Acknowledged before ``run``; ``run`` is not called when the vendor is not configured."""

    action_id: str
    run: Click
    # The subcommand this button carries out again, its value a job's id (Flint's Re-run:
    # "run"): App Home offers it beside the user's jobs of this vertical.
    reruns: str = ""


@dataclass(frozen=True)
class Form:
    """A modal submission (``callback_id``): ``run`` acks itself, with field errors or not."""

    callback_id: str
    run: Click


@dataclass(frozen=True)
class Shortcut:
    """A message or global shortcut (``callback_id``), acknowledged before ``run``."""

    callback_id: str
    run: Click


@dataclass(frozen=True)
class Parameter:
    """One input or output of a Workflow Builder step, as ``manifest.yml`` declares it
    (and as App Home's quick-action forms show it)."""

    name: str
    type: str  # "string", "integer", "number", "slack#/types/user_id", …
    title: str
    description: str
    # An input the workflow must give; an output every completed step gives, never empty
    # (Slack may refuse a completion whose required output is missing or empty).
    required: bool = False
    choices: tuple[str, ...] = ()  # a string input offered as one of these
    default: str | None = None
    multiline: bool = False  # a form shows it as a multi-line field


# A step's inputs (strings, as Workflow Builder sends them, or a quick-action form's
# values) → the typed request they stand for, each input checked by the vertical parser's
# own validator for that field (UsageError, as the command says it). No input is ever
# read as command text, so none can become an option or change another field.
StepRequest = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class StepCall:
    """One run of a step, once admitted: as whom, where its card goes, and how to end it
    with an error before its work started (what a command would answer the user)."""

    execution_id: str
    user_id: str
    channel_id: str  # "" when the workflow gave none: no card
    tell: Callable[..., Awaitable[Any]]  # takes a message (text=…); ends the step with it


# Carries out a step's admitted request: its outputs now, or None when it started a tracked
# job (``NewJob(step_execution_id=…)``), whose end completes the step (``JobKind.step_outputs``).
StepWork = Callable[["Deps", StepCall, Any], Awaitable[dict[str, Any] | None]]


def starts_job(start: Callable[..., Awaitable[None]]) -> StepWork:
    """A long step's work: the command's own start function (``start(deps, request, *,
    channel_id, user_id, respond, step_execution_id)``), which records the job for the
    step; the job's end completes it."""

    async def work(deps: Deps, call: StepCall, request: Any) -> None:
        await start(
            deps,
            request,
            channel_id=call.channel_id,
            user_id=call.user_id,
            respond=call.tell,
            step_execution_id=call.execution_id,
        )

    return work


@dataclass(frozen=True)
class Step:
    """A Workflow Builder custom step (a function with this ``callback_id``). Besides
    ``inputs``, every step has ``user_id`` (required) and ``channel_id`` (optional)."""

    callback_id: str
    title: str
    description: str
    inputs: tuple[Parameter, ...]
    outputs: tuple[Parameter, ...]
    request: StepRequest
    # A request of this step → the command text (after the slash) it is shown as, where
    # a confirmation or an approval holds it: "run demo:hello.rb name=Ada". Only shown:
    # what runs is the request itself.
    show: Callable[[Any], str]
    # The subcommand the inputs count as, whatever else they hold ("wish" or "like").
    counts_as: Callable[[dict[str, Any]], str]
    run: StepWork

    def text(self, inputs: dict[str, Any]) -> str:
        """The command text valid ``inputs`` are shown as (UsageError when they are not)."""
        return self.show(self.request(inputs))


# A submitted form's fields → (the typed request, the command text it is shown as after
# the slash), each field checked by the vertical parser's own validator; raises
# ``handlers.common.forms.FieldErrors`` (the messages, by block id) when any is wrong.
Read = Callable[["Interaction"], tuple[Any, str]]


@dataclass(frozen=True)
class BlankForm:
    """``/<command> <subcommand>`` typed with nothing after it opens this modal instead of
    answering with the usage (contract). ``open`` is called after the ack, with the
    command's ``trigger``; the access policy has already been asked whether the user may
    run the subcommand here at all. The view's ``callback_id`` submission is ``read``
    into the request, which runs as its user in the channel the form was opened from
    (``handlers/common/forms.py``), through the access policy like the typed command."""

    subcommand: str
    open: Click
    callback_id: str
    read: Read


# An ``external_select``'s options for what the user typed so far: (deps, who/where, the
# query, already cut to a bounded length) → Slack option objects, at most 100.
Load = Callable[["Deps", "Interaction", str], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Options:
    """The options of every ``external_select`` with this ``action_id`` (typeahead),
    served by Bolt's options listener. Only a user the access policy lets run
    ``subcommand`` somewhere gets any: a picker must not list what its user may not use."""

    action_id: str
    load: Load
    subcommand: str


@dataclass(frozen=True)
class Vertical:
    key: str  # the jobs' and digests' vendor key in the state store
    slash: str  # e.g. "/flint"; the policy's command names start with it, without "/"
    name: str  # display name, e.g. "Signicat Mint"
    summary: str  # the usage's first line, after the name
    parse: Callable[[str | None], Any]  # text → typed request, Help, or UsageError
    # The access policy's view of a request: (subcommand name, target).
    policy_view: Callable[[Any], tuple[str, str | None]]
    subcommands: tuple[Subcommand, ...]
    client: Callable[[Deps], Any]  # the adapter from the deps (None: not configured)
    status: Callable[[Settings], VendorStatus]
    buttons: tuple[Button, ...] = ()
    forms: tuple[Form, ...] = ()
    shortcuts: tuple[Shortcut, ...] = ()
    jobs: Callable[[Any], JobKind] | None = None  # given the client
    digest: Callable[[Any, Settings], DigestKind] | None = None  # given the client
    routes: Callable[[Deps], list[BaseRoute]] | None = None  # vendor → us (callbacks)
    steps: tuple[Step, ...] = ()  # Workflow Builder custom steps
    # Fills in what a typed request leaves to the settings (e.g. STOMT_TARGET), or raises
    # UsageError; runs before the policy sees the request, so rules see the real target.
    complete: Callable[[Any, Settings], Any] | None = None
    blank_forms: tuple[BlankForm, ...] = ()  # a subcommand typed bare opens a form
    options: tuple[Options, ...] = ()  # typeahead pickers' options

    def blank_form(self, text: str | None) -> BlankForm | None:
        """The form ``text`` (a command's text) opens: exactly a subcommand with a form."""
        typed = (text or "").strip().lower()
        return next((form for form in self.blank_forms if form.subcommand == typed), None)

    @property
    def command(self) -> str:
        return self.slash.lstrip("/")

    def subcommand(self, name: str) -> Subcommand:
        for sub in self.subcommands:
            if sub.name == name:
                return sub
        raise LookupError(f"{self.slash} has no subcommand {name!r}")

    def policy_name(self, request: Any) -> tuple[str, str | None]:
        """``("flint run", "demo:hello.rb")``: a request as an access policy rule names it."""
        sub, target = self.policy_view(request)
        return f"{self.command} {sub}", target

    def policy_names(self) -> list[str]:
        return [f"{self.command} {sub.name}" for sub in self.subcommands]

    def usage(self, allowed: Iterable[str] | None = None) -> str | None:
        """The help text; with ``allowed`` (subcommand names), only their bullets, or None
        when none is left."""
        keep = None if allowed is None else set(allowed)
        bullets: list[tuple[list[Subcommand], str]] = []
        for sub in self.subcommands:
            if sub.usage or not bullets:
                bullets.append(([sub], sub.usage))
            else:
                bullets[-1][0].append(sub)
        lines = [f"*{self.name}* — {self.summary}"]
        for subs, text in bullets:
            # A shared bullet shows whole, but only the examples the caller may run.
            mine = [sub for sub in subs if keep is None or sub.name in keep]
            if not mine:
                continue
            lines.append(f"• {text}")
            examples = [example for sub in mine for example in sub.examples]
            if examples:
                lines.append("   e.g. " + " · ".join(f"`{example}`" for example in examples))
        if len(lines) == 1:
            return None
        lines.append(f"• `{self.slash} help` — this message")
        return "\n".join(lines)
