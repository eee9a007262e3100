"""Forms instead of syntax: the modal a bare ``/<command> <subcommand>`` opens (and
"Re-run with changes", prefilled), its fields, and its submission carried out the way
the typed command would be.

* **Validated like the command.** A vendor's form reads each field with its parser's own
  validator (``Read``); a wrong field answers ``response_action: errors`` on that field,
  so the form stays open with what the user typed, and no message is posted.
* **Carried out as the command.** The request runs as the submitter, in the channel the
  form was opened from (the view's private metadata), through the access policy there:
  denied, held for a confirmation or an approval, exactly as if typed
  (``perform_there``, which App Home's forms use too).
* **Where it runs is sealed.** A submission is input like any other: the private metadata
  that names the channel carries an HMAC of itself, the callback id and the opener
  (``open_form``), under the app's own secret. Metadata without a valid seal (forged, or
  from a form opened for someone else) counts as opened in the submitter's own space,
  the app's DM, so it can neither post nor be decided for a channel of its choosing.
* **Errors as Slack shows them.** Slack shows a field error as plain text: the parsers'
  mrkdwn (code spans, bold, escapes) is taken out in one place (``answer_errors``), and an
  error for a block the view does not have goes to its first input instead.
* **Typeahead, not lists.** A picker over vendor objects is an ``external_select`` whose
  options the app serves as the user types (``Vertical.options``).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.tracking import TrackedJob
from handlers.common import commands, policy
from handlers.common.interaction import Interaction
from handlers.common.replies import ephemeral, not_configured
from handlers.common.text import UsageError, slack_unescaped
from handlers.common.tracked import tracked_job
from handlers.common.vertical import BlankForm, Click, Vertical
from handlers.common.views import private_metadata
from handlers.deps import Deps

log = logging.getLogger(__name__)
T = TypeVar("T")

ACTION = "value"  # every input's action id, but a typeahead's (its options' action id)
CHANNEL = "c"  # the private metadata's key for where the form was opened
SEAL = "s"  # the private metadata's key for its seal
ERROR_LENGTH = 300  # a field error Slack shows under the field
OPTIONS = 100  # Slack shows at most this many options
OPTION_TEXT, OPTION_VALUE = 75, 150  # Slack's limits on an option's text and value
_CONVERSATION = re.compile(r"[CGD][A-Z0-9]{1,40}")
STALE_JOB = ":grey_question: This button belongs to a job I no longer know about."


class FieldErrors(UsageError):
    """What is wrong with a submitted form, by block id (the first message per field)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class Fields:
    """A submitted form's fields, read one at a time through validators; the first error
    of each field is kept, and ``done`` raises them all at once."""

    def __init__(self, x: Interaction) -> None:
        self.x = x
        self.errors: dict[str, str] = {}

    def text(self, block: str, action: str = ACTION) -> str:
        """What was typed or chosen in ``block`` (its element's ``action``), trimmed."""
        return self.x.entered(block, action).strip()

    def check(self, block: str, validate: Callable[[], T]) -> T | None:
        """``validate()``; its UsageError becomes the field's error (None returned)."""
        try:
            return validate()
        except UsageError as exc:
            self.errors.setdefault(block, str(exc)[:ERROR_LENGTH])
            return None

    def picked(self, block: str, action: str, missing: str, validate: Callable[[str], Any]) -> str:
        """What was chosen in the picker ``block`` (its element's ``action``), checked by
        ``validate``; ``missing`` is the field's error when nothing was."""
        chosen = self.text(block, action)
        if not chosen:
            self.errors.setdefault(block, missing)
        else:
            self.check(block, lambda: validate(chosen))
        return chosen

    def done(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


# -- views ---------------------------------------------------------------------------


def option(value: str, text: str | None = None) -> dict[str, Any]:
    """An option showing ``text`` (cut to fit); its value is never cut, as a cut value
    would stand for something else (``offered`` leaves out one too long for Slack)."""
    shown = (text or value).strip() or value
    if len(shown) > OPTION_TEXT:
        shown = shown[: OPTION_TEXT - 1] + "…"
    return {"text": {"type": "plain_text", "text": shown}, "value": value}


def offered(options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An options response's list as Slack takes it: at most ``OPTIONS``, each with a
    value of 1 to 150 characters and a text of 1 to 75 (Slack refuses the whole answer,
    and shows none, for one that is not)."""
    fit = [
        o
        for o in options
        if 0 < len(str(o.get("value") or "")) <= OPTION_VALUE
        and 0 < len(str((o.get("text") or {}).get("text") or "")) <= OPTION_TEXT
    ]
    return fit[:OPTIONS]


def _block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool, hint: str
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label[:2000]},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:2000]}
    return block


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str = "",
    optional: bool = False,
    multiline: bool = False,
    hint: str = "",
    max_length: int = 3000,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ACTION,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        # Slack refuses a view whose initial value is longer than its max_length.
        element["initial_value"] = initial[:max_length]
    return _block(block_id, label, element, optional=optional, hint=hint)


def select(
    block_id: str,
    label: str,
    choices: list[dict[str, Any]],
    *,
    initial: str | None = None,
    optional: bool = False,
    hint: str = "",
) -> dict[str, Any]:
    """A short fixed list (never vendor objects: those are ``typeahead``)."""
    element: dict[str, Any] = {"type": "static_select", "action_id": ACTION, "options": choices}
    chosen = next((c for c in choices if c["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _block(block_id, label, element, optional=optional, hint=hint)


def typeahead(
    block_id: str,
    label: str,
    action_id: str,
    *,
    initial: dict[str, Any] | None = None,
    optional: bool = False,
    hint: str = "",
    placeholder: str = "Type to search",
    min_query_length: int = 0,
) -> dict[str, Any]:
    """An ``external_select``: its options come from the app's options listener for
    ``action_id`` as the user types. ``min_query_length`` 0 (Slack's default is 3) lists
    choices as soon as the picker opens: the flintbits run lately, Mint's first flows."""
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": action_id,
        "min_query_length": min_query_length,
        "placeholder": {"type": "plain_text", "text": placeholder[:150]},
    }
    if initial is not None:
        element["initial_option"] = initial
    return _block(block_id, label, element, optional=optional, hint=hint)


def modal(
    callback_id: str,
    title: str,
    blocks: list[dict[str, Any]],
    channel_id: str,
    *,
    submit: str = "Run",
    **metadata: Any,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title[:24]},
        "submit": {"type": "plain_text", "text": submit[:24]},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({CHANNEL: channel_id, **metadata}),
        "blocks": blocks,
    }


def _seal(deps: Deps, user_id: str, callback_id: str, metadata: dict[str, Any]) -> str | None:
    """The HMAC binding ``metadata`` to its form and the user it was opened for; None
    before the app's secret is loaded (its forms then run in their submitter's space)."""
    if deps.callbacks is None:
        return None
    unsealed = {key: value for key, value in metadata.items() if key != SEAL}
    what = json.dumps([callback_id, user_id, unsealed], sort_keys=True, separators=(",", ":"))
    return deps.callbacks.token(f"view {what}")


def sealed(deps: Deps, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """``view`` with its private metadata sealed for ``user_id``."""
    metadata = private_metadata(view)
    seal = _seal(deps, user_id, str(view.get("callback_id") or ""), metadata)
    if seal is None:
        return view
    return {**view, "private_metadata": json.dumps({**metadata, SEAL: seal})}


def metadata_of(deps: Deps, x: Interaction) -> dict[str, Any]:
    """The private metadata of the form ``x`` comes from (a submission, a typeahead, a
    button in it) when its seal holds for this form and this user, else ``{}``."""
    metadata = private_metadata(x.view)
    seal = metadata.get(SEAL)
    expected = _seal(deps, x.user, str(x.view.get("callback_id") or ""), metadata)
    if not isinstance(seal, str) or expected is None or not hmac.compare_digest(seal, expected):
        return {}
    return metadata


async def open_form(deps: Deps, x: Interaction, view: dict[str, Any]) -> None:
    """Open ``view`` on ``x``'s trigger, sealed for its user."""
    await x.client.views_open(trigger_id=x.trigger, view=sealed(deps, x.user, view))


async def update_form(deps: Deps, x: Interaction, view: dict[str, Any]) -> None:
    """Replace the form ``x`` was clicked in with ``view``, sealed for its user; Slack
    refuses it if the form changed meanwhile (its hash)."""
    await x.client.views_update(
        view_id=str(x.view.get("id") or ""),
        hash=x.view.get("hash"),
        view=sealed(deps, x.user, view),
    )


def blank(view: Callable[[str], dict[str, Any]]) -> Click:
    """A ``BlankForm``'s ``open``: the form ``view(channel)`` for where the command was typed."""

    async def open_blank(deps: Deps, x: Interaction) -> None:
        await open_form(deps, x, view(x.place))

    return open_blank


def opened_in(deps: Deps, x: Interaction) -> str:
    """Where the form was opened: the channel its sealed metadata names, else the user's
    own space."""
    channel = metadata_of(deps, x).get(CHANNEL)
    return channel if isinstance(channel, str) and _CONVERSATION.fullmatch(channel) else x.user


def place_of(deps: Deps, x: Interaction) -> str:
    """Where a request from a form (an options request, a submission) counts as made."""
    return x.channel or opened_in(deps, x)


# -- field errors ----------------------------------------------------------------------

_CODE = re.compile(r"```\n?(.*?)\n?```|`([^`\n]+)`", re.DOTALL)
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^*_~\n]+?)(?<=\S)\1(?![\w*_~])")
_EMOJI = re.compile(r"(?:(?<=\s)|^):[a-z0-9][a-z0-9_+\-]*:(?:\s+|$)")
_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")


def plain_error(message: str) -> str:
    """A message written in mrkdwn as a field error, which Slack shows as plain text:
    code spans in quotes, no emphasis marks, emoji codes or link markup, and Slack's
    escapes (``&lt;``) back to what they stand for."""
    text = _CODE.sub(lambda m: m[1] if m[1] is not None else f"\u201c{m[2]}\u201d", message)
    text = _EMPHASIS.sub(r"\2", text)
    text = _EMOJI.sub("", text)
    text = _LINK.sub(r"\2", text)
    text = slack_unescaped(text).strip()
    return text[:ERROR_LENGTH] or "Check this field."


def _inputs(view: dict[str, Any]) -> list[str]:
    blocks = view.get("blocks")
    return [
        str(block.get("block_id"))
        for block in (blocks if isinstance(blocks, list) else [])
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")
    ]


async def answer_errors(x: Interaction, errors: dict[str, str]) -> None:
    """Keep the submitted form open with ``errors`` under their fields, as plain text;
    an error about a block the view has not goes under its first input (Slack refuses
    an answer naming a block it does not show, and closes nothing: the user would see
    only a generic failure)."""
    inputs = _inputs(x.view)
    shown: dict[str, str] = {}
    for block, message in errors.items():
        where = block if block in inputs or not inputs else inputs[0]
        shown.setdefault(where, plain_error(message))
    await x.ack(response_action="errors", errors=shown)


# -- submission ----------------------------------------------------------------------


def submitter(vertical: Vertical, form: BlankForm) -> Click:
    """The form's submission: field errors in the ack, or the request carried out as its
    user in the channel the form was opened from."""

    async def submitted(deps: Deps, x: Interaction) -> None:
        try:
            request, text = form.read(x)
        except FieldErrors as exc:
            await answer_errors(x, exc.errors)
            return
        await x.ack()
        channel_id = opened_in(deps, x)
        if vertical.client(deps) is None:
            tell = tell_there(x.client, x.user, channel_id)
            await tell(**ephemeral(not_configured(vertical.status(deps.settings))))
            return
        await perform_there(deps, x, vertical, request, channel_id, text)

    return submitted


def tell_there(client: AsyncWebClient, user_id: str, channel_id: str) -> policy.Tell:
    """Where answers to a form go (a modal has no response URL): what a command would say
    in the channel is posted there; anything else is shown to the user alone in that
    channel, or in a direct message where the app cannot post."""
    privately = policy.modal_tell(client, user_id, channel_id)

    async def tell(*args: Any, **message: Any) -> None:
        if args and "text" not in message:
            message["text"] = args[0]
        if message.get("response_type") == "in_channel":
            try:
                await client.chat_postMessage(
                    channel=channel_id,
                    text=str(message.get("text") or ""),
                    blocks=message.get("blocks"),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                return
            except SlackApiError as exc:
                log.info("could not post in %s: %s", channel_id, exc.response.get("error"))
        await privately(**message)

    return tell


async def _answered(*_args: Any, **_kw: Any) -> None:
    """The ack of a request that has had its ack: nothing more goes to Slack that way."""


async def perform_there(
    deps: Deps, x: Interaction, vertical: Vertical, request: Any, channel_id: str, text: str
) -> None:
    """Carry out ``request`` (shown as ``text`` after the slash) as the user who submitted
    a form (or clicked on Home), as if typed in ``channel_id``: the policy decides for
    that channel, and may hold it for a confirmation or an approval there."""
    tell = tell_there(x.client, x.user, channel_id)
    name, target = vertical.policy_name(request)
    if not await policy.permitted(
        deps,
        user_id=x.user,
        channel_id=channel_id,
        name=name,
        target=target,
        tell=tell,
        redo=policy.Redo(vertical.slash, text, request),
    ):
        return
    there = replace(x, channel=channel_id, value=text, respond=tell, ack=_answered)
    await commands.perform(deps, there, vertical, request)


# -- Re-run with changes -------------------------------------------------------------


def rerun_edit(vendor: str, name: str, view: Callable[[TrackedJob, str], dict[str, Any]]) -> Click:
    """A "Re-run with changes" button: the form ``view(job, channel)`` prefilled with the
    job's parameters, for the channel it runs in."""

    async def on_rerun_edit(deps: Deps, x: Interaction) -> None:
        found = await _job_to_edit(deps, x, vendor, name)
        if found is not None:
            await open_form(deps, x, view(*found))

    return on_rerun_edit


async def _job_to_edit(
    deps: Deps, x: Interaction, vendor: str, name: str
) -> tuple[TrackedJob, str] | None:
    """The tracked job a "Re-run with changes" button names, and the channel its form
    runs in; None (and the user told why) when the clicker may not see or run it again.

    Its parameters are shown in the form, so only where the job is already seen: on its
    own card's channel, or by its owner (App Home). The policy is asked as for a click on
    the card; what needs a user group lookup is left to the submission."""
    job = await tracked_job(deps, x.value, vendor, STALE_JOB)
    channel_id = x.channel or job.channel_id
    if x.user != job.user_id and x.channel != job.channel_id:
        await x.beside(
            **ephemeral(
                ":lock: This job's parameters are shown only in the channel it ran in, "
                "or to the person who started it."
            )
        )
        return None
    clicked = replace(x, channel=channel_id)
    if await policy.clearly_denied(deps, clicked, name, job.target):
        return None
    return job, channel_id


# -- pickers -------------------------------------------------------------------------


def may_pick(deps: Deps, x: Interaction, name: str, target: str) -> bool:
    """Whether a picker offers ``target``: not when the policy denies ``name`` on it to
    this user there (decided without lookups; the submission is checked in full)."""
    request = policy.request_for(name, target, x.user, place_of(deps, x))
    decision = policy.decide_now(deps, request)
    return decision is None or decision.allowed
