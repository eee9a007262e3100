"""Buttons and modals on Signicat Mint cards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorError, VendorNotFound
from adapters.mint import check_note, validate_definition_id, validate_instance_id
from bot.tracking import TrackedJob
from handlers.common.direct import tell
from handlers.common.forms import answer_errors, open_form, opened_in
from handlers.common.interaction import Interaction
from handlers.common.job_cards import Again, open_modal, rerun
from handlers.common.policy import (
    Redo,
    Tell,
    button_permitted,
    clearly_denied,
    modal_tell,
    permitted,
)
from handlers.common.replies import RESTARTING, ephemeral, vendor_error
from handlers.common.text import UsageError, escape, json_object
from handlers.common.tracked import tracked_job
from handlers.common.vertical import Stale
from handlers.common.views import private_metadata
from handlers.deps import Deps
from handlers.mint import blocks, commands
from handlers.mint import forms as mint_forms
from handlers.mint.jobs import KEY
from handlers.mint.parsing import (
    STATUSES,
    ExecuteRequest,
    InstanceRequest,
    InstancesRequest,
    NoteRequest,
    PublishRequest,
    policy_view,
)
from handlers.mint.steps import show
from handlers.mint.titles import flow_title

EXECUTE_MODAL = "mint_execute_modal"  # the Execute button's modal before the Mint form
NOTE_MODAL = "mint_note_modal"
STALE = ":grey_question: This button is out of date."
TITLE_WITHIN = 1.0  # seconds a flow's title is waited for before its form opens


def _valid(validate: Callable[[str], str], value: str) -> str:
    """A button's value as the id it should be; ``Stale`` when it is not one."""
    try:
        return validate(value)
    except ValueError:
        raise Stale(STALE) from None


@dataclass(frozen=True)
class _TextForm:
    """A modal with one text field, opened by a button for the id in its value."""

    callback_id: str
    policy_name: str  # what the access policy is asked about before it opens
    key: str  # the id's key in the modal's private metadata
    validate: Callable[[str], str]
    title: str
    label: str
    hint: str
    optional: bool
    submit: str

    def view(self, target: str, channel_id: str) -> dict[str, Any]:
        return {
            "type": "modal",
            "callback_id": self.callback_id,
            "title": {"type": "plain_text", "text": self.title},
            "submit": {"type": "plain_text", "text": self.submit},
            "close": {"type": "plain_text", "text": "Cancel"},
            "private_metadata": json.dumps({self.key: target, "c": channel_id}),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "text",
                    "optional": self.optional,
                    "label": {"type": "plain_text", "text": self.label},
                    "hint": {"type": "plain_text", "text": self.hint},
                    "element": {
                        "type": "plain_text_input",
                        "action_id": "value",
                        "multiline": True,
                        "max_length": 3000,
                    },
                }
            ],
        }

    async def open(self, deps: Deps, x: Interaction) -> None:
        target = _valid(self.validate, x.value)
        if await clearly_denied(deps, x, self.policy_name, target):
            return
        await open_form(deps, x, self.view(target, x.channel))


NOTE_FORM = _TextForm(
    NOTE_MODAL,
    "mint note",
    "i",
    validate_instance_id,
    title="Add a note",
    label="Note",
    hint="Saved on the instance in Signicat Mint.",
    optional=False,
    submit="Add note",
)


async def _form_permitted(deps: Deps, x: Interaction, redo: Redo) -> bool:
    """``permitted`` for a submitted modal, about the request it stands for, where its
    sealed metadata says it was opened (``opened_in``: else the user's own space)."""
    user_id, channel_id = x.user, opened_in(deps, x)
    sub, target = policy_view(redo.request)
    return await permitted(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        name=f"mint {sub}",
        target=target,
        tell=modal_tell(x.client, user_id, channel_id),
        redo=redo,
    )


def _direct(client: AsyncWebClient, user_id: str) -> Tell:
    """After a modal there is no response URL: the answer goes to the user directly."""

    async def reply(**message: Any) -> None:
        await tell(client, user_id, str(message.get("text", "")))

    return reply


async def on_execute(deps: Deps, x: Interaction) -> None:
    """The Execute button on a flow's card: the Mint form with that flow chosen."""
    definition_id = _valid(validate_definition_id, x.value)
    if await clearly_denied(deps, x, "mint execute", definition_id):
        return
    assert deps.mint is not None
    # The trigger expires 3 s after the click: a slow title lookup shows the id instead.
    try:
        async with asyncio.timeout(TITLE_WITHIN):
            title = await flow_title(deps.mint, definition_id)
    except TimeoutError:
        title = None
    view = mint_forms.view(x.place, flow=(definition_id, title or definition_id))
    await open_form(deps, x, view)


async def on_execute_submit(deps: Deps, x: Interaction) -> None:
    """The one-field modal the Execute button opened before the Mint form, for those still
    open: it executes as it did, but its metadata carries no seal, so it runs where an
    unsealed form does (the user's own space), never in the channel it names."""
    raw = x.entered("text").strip()
    data: dict[str, Any] = {}
    if raw:
        try:
            data = json_object(raw, what="The input")
        except UsageError as exc:
            await answer_errors(x, {"text": str(exc)})
            return
    try:
        definition_id = validate_definition_id(str(private_metadata(x.view).get("d") or ""))
    except ValueError:
        await answer_errors(x, {"text": "This form is out of date."})
        return
    await x.ack()
    user_id, channel_id = x.user, opened_in(deps, x)
    if deps.mint is None or not deps.work.accepting:
        await tell(
            x.client, user_id, RESTARTING if deps.mint else "Signicat Mint is not configured."
        )
        return
    request = ExecuteRequest(definition_id, data)
    shown = f"execute {definition_id} {json.dumps(data, ensure_ascii=False)}"
    if not await _form_permitted(deps, x, Redo("/mint", shown, request)):
        return
    await commands.start_execution(
        deps,
        request,
        channel_id=channel_id,
        user_id=user_id,
        respond=_direct(x.client, user_id),
    )


async def on_publish(deps: Deps, x: Interaction) -> None:
    await _toggle(deps, x, publish=True)


async def on_unpublish(deps: Deps, x: Interaction) -> None:
    await _toggle(deps, x, publish=False)


async def _toggle(deps: Deps, x: Interaction, *, publish: bool) -> None:
    request = PublishRequest(_valid(validate_definition_id, x.value), publish)
    verb = "publish" if publish else "unpublish"
    redo = Redo("/mint", f"{verb} {request.definition_id}", request)
    if await button_permitted(deps, x, f"mint {verb}", request.definition_id, redo=redo):
        await commands.publish(deps, x, request)


async def on_instances(deps: Deps, x: Interaction) -> None:
    request = InstancesRequest(_valid(validate_definition_id, x.value))
    redo = Redo("/mint", f"instances {request.definition_id}", request)
    if await button_permitted(deps, x, "mint instances", request.definition_id, redo=redo):
        await commands.show_instances(deps, request, x.respond)


async def on_more(deps: Deps, x: Interaction) -> None:
    request = _page(x.value)
    if await button_permitted(deps, x, "mint instances", request.definition_id):
        await commands.show_instances(deps, request, x.respond, replace=True)


def _page(value: str) -> InstancesRequest:
    """The next page a More button names (blocks.instances writes it)."""
    try:
        page = json.loads(value)
        return InstancesRequest(
            validate_definition_id(str(page["d"])),
            page["s"] if page.get("s") in STATUSES else None,
            max(0, min(int(page["o"]), 100_000)),
        )
    except (ValueError, KeyError, TypeError):
        raise Stale(STALE) from None


async def on_refresh(deps: Deps, x: Interaction) -> None:
    """Refresh on a tracked card polls now; on an instance view, shows it again."""
    try:
        await _refresh(deps, x)
    except VendorNotFound:
        await x.respond(**ephemeral(":mag: Signicat Mint no longer knows this instance."))


async def _refresh(deps: Deps, x: Interaction) -> None:
    if x.value.startswith("inst:"):
        instance_id = _valid(validate_instance_id, x.value[5:])
        redo = Redo("/mint", f"instance {instance_id}", InstanceRequest(instance_id))
        if await button_permitted(deps, x, "mint instance", instance_id, redo=redo):
            await commands.show_instance(deps, instance_id, x.respond, replace=True)
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    if not await button_permitted(deps, x, "mint instance", job.vendor_job_id):
        return
    if job.in_progress:
        if await deps.tracker.refresh(job.id) is None:
            await x.respond(**ephemeral(":hourglass: This instance is being updated right now."))
    elif job.vendor_job_id:
        await commands.show_instance(deps, job.vendor_job_id, x.respond)
    else:
        await x.respond(**ephemeral("This flow never started."))


async def on_note(deps: Deps, x: Interaction) -> None:
    await NOTE_FORM.open(deps, x)


async def on_note_submit(deps: Deps, x: Interaction) -> None:
    try:
        text = check_note(x.entered("text").strip())
        instance_id = validate_instance_id(str(private_metadata(x.view).get("i") or ""))
    except ValueError as exc:
        await answer_errors(x, {"text": str(exc)})
        return
    await x.ack()
    # Its policy decision and audit row are for the channel its seal vouches for; a note
    # modal opened before forms were sealed has none, so it counts as in the user's space.
    user_id, channel_id = x.user, opened_in(deps, x)
    if deps.mint is None:
        return
    redo = Redo("/mint", f"note {instance_id} {text}", NoteRequest(instance_id, text))
    if not await _form_permitted(deps, x, redo):
        return
    try:
        await commands.add_note(
            deps,
            instance_id,
            text,
            user_id=user_id,
            channel_id=channel_id,
            respond=_direct(x.client, user_id),
        )
    except VendorError as exc:
        await tell(x.client, user_id, f"The note was not saved. {vendor_error(exc)}")


async def on_report(deps: Deps, x: Interaction) -> None:
    """Download report: the instance's CSV report, attached where the button was."""
    assert deps.mint is not None
    instance_id = _valid(validate_instance_id, x.value)
    # A report is only ever for an instance.
    redo = Redo("/mint", f"instance {instance_id}", InstanceRequest(instance_id))
    if not await button_permitted(deps, x, "mint instance", instance_id, redo=redo):
        return
    report = await deps.mint.instance_report(instance_id, "csv")
    try:
        await x.client.files_upload_v2(
            channel=x.place,
            thread_ts=_thread(x),
            filename=report.filename,
            content=report.content,
            title=f"Report for instance {instance_id}",
        )
    except SlackApiError as exc:
        await x.respond(
            **ephemeral(
                f"The report could not be attached here (`{escape(exc.response.get('error'))}`)."
            )
        )


def _thread(x: Interaction) -> str | None:
    """The thread of the clicked card, or None where there can be no thread (outside a
    channel, or on a card only the user sees)."""
    container = x.body.get("container")
    if not x.channel or (isinstance(container, dict) and container.get("is_ephemeral")):
        return None
    message = x.body.get("message")
    thread = message.get("thread_ts") if isinstance(message, dict) else None
    return thread if isinstance(thread, str) and thread else (x.message_ts or None)


async def on_rerun(deps: Deps, x: Interaction) -> None:
    """Re-run: execute the job's flow again with the same input, as whoever clicked."""
    await rerun(deps, x, vendor=KEY, stale=STALE, again=_again, start=commands.start_execution)


def _again(job: TrackedJob) -> Again:
    try:
        definition_id = validate_definition_id(job.target)
    except ValueError:
        raise Stale(STALE) from None
    data = (job.params or {}).get("input")
    request = ExecuteRequest(definition_id, dict(data) if isinstance(data, dict) else {})
    return Again("mint execute", definition_id, Redo("/mint", show(request), request))


async def on_full_log(deps: Deps, x: Interaction) -> None:
    """Full log: the instance's whole execution log in a modal (an instance's card shows
    the last few entries, a tracked execution's none)."""
    assert deps.mint is not None
    instance_id = _valid(validate_instance_id, x.value)
    redo = Redo("/mint", f"instance {instance_id}", InstanceRequest(instance_id))
    if not await button_permitted(deps, x, "mint instance", instance_id, redo=redo):
        return
    try:
        instance = await deps.mint.get_instance(instance_id)
        entries = await deps.mint.execution_log(instance_id)
    except VendorNotFound:
        await x.beside(**ephemeral(":mag: Signicat Mint no longer knows this instance."))
        return
    title = instance.title
    if not title and instance.definition_id:
        title = await flow_title(deps.mint, instance.definition_id)
    name = title or instance.definition_id or "Flow"
    await open_modal(x, blocks.log_view(instance_id, name, entries))
