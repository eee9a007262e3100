"""Buttons and modals on Signicat Mint cards."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorError, VendorNotFound
from adapters.mint import check_note, validate_definition_id, validate_instance_id
from bot.store.jobs import ACTIVE, NOTIFYING
from handlers.common.direct import tell
from handlers.common.policy import (
    Redo,
    button_permitted,
    clearly_denied,
    modal_tell,
    permitted,
    where,
)
from handlers.common.replies import RESTARTING, ephemeral, not_configured, vendor_error
from handlers.common.text import UsageError, escape, json_object
from handlers.common.views import private_metadata
from handlers.deps import Deps
from handlers.mint import commands
from handlers.mint.jobs import VENDOR
from handlers.mint.parsing import STATUSES, Execute, Instance, Instances, Note, Publish

EXECUTE_MODAL = "mint_execute_modal"
NOTE_MODAL = "mint_note_modal"
STALE = ":grey_question: This button is out of date."
_TRACKED_ID = re.compile(r"[0-9a-f]{32}")


def _where(body: dict[str, Any]) -> tuple[str, str]:
    return (body.get("channel") or {}).get("id", ""), body["user"]["id"]


async def _unconfigured(deps: Deps, respond: AsyncRespond) -> bool:
    if deps.mint is None:
        await respond(**ephemeral(not_configured(deps.settings.mint_status())))
        return True
    return False


def _text_modal(
    callback_id: str,
    title: str,
    label: str,
    metadata: dict,
    *,
    hint: str,
    optional: bool,
    submit: str,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "optional": optional,
                "label": {"type": "plain_text", "text": label},
                "hint": {"type": "plain_text", "text": hint},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 3000,
                },
            }
        ],
    }


async def on_execute(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    """The Execute button: a modal for the flow's input (a JSON object), checked on submit."""
    await ack()
    if await _unconfigured(deps, respond):
        return
    try:
        definition_id = validate_definition_id(str(action.get("value") or ""))
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    if await clearly_denied(deps, body, respond, "mint execute", definition_id):
        return
    channel_id, _user = _where(body)
    view = _text_modal(
        EXECUTE_MODAL,
        "Execute flow",
        "Input (a JSON object)",
        {"d": definition_id, "c": channel_id},
        hint='Leave empty for no input, or e.g. {"email": "ada@example.com"}',
        optional=True,
        submit="Execute",
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


def _submitted_text(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get("text") or {}).get("value") or {}).get("value") or "").strip()


async def on_execute_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
):
    raw = _submitted_text(view)
    data: dict[str, Any] = {}
    if raw:
        try:
            data = json_object(raw, what="The input")
        except UsageError as exc:
            await ack(response_action="errors", errors={"text": str(exc)})
            return
    meta = private_metadata(view)
    try:
        definition_id = validate_definition_id(str(meta.get("d") or ""))
    except ValueError:
        await ack(response_action="errors", errors={"text": "This form is out of date."})
        return
    await ack()
    user_id, channel_id = body["user"]["id"], str(meta.get("c") or body["user"]["id"])
    if deps.mint is None or not deps.work.accepting:
        await tell(client, user_id, RESTARTING if deps.mint else "Signicat Mint is not configured.")
        return

    async def reply(**message: Any) -> None:
        await tell(client, user_id, str(message.get("text", "")))

    shown = f"execute {definition_id} {json.dumps(data, ensure_ascii=False)}"
    redo = Redo("/mint", shown, Execute(definition_id, data))
    if not await permitted(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        name="mint execute",
        target=definition_id,
        tell=modal_tell(client, user_id, channel_id),
        redo=redo,
    ):
        return
    await commands.execute(
        deps,
        Execute(definition_id, data),
        channel_id=channel_id,
        user_id=user_id,
        respond=reply,  # type: ignore[arg-type]
    )


async def on_publish(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await _toggle(ack, body, action, respond, deps, publish=True)


async def on_unpublish(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await _toggle(ack, body, action, respond, deps, publish=False)


async def _toggle(ack, body, action, respond, deps: Deps, *, publish: bool) -> None:
    await ack()
    if await _unconfigured(deps, respond):
        return
    try:
        request = Publish(validate_definition_id(str(action.get("value") or "")), publish)
        verb = "publish" if publish else "unpublish"
        redo = Redo("/mint", f"{verb} {request.definition_id}", request)
        if not await button_permitted(
            deps, body, respond, f"mint {verb}", request.definition_id, redo=redo
        ):
            return
        user_id, channel_id = where(body)
        await commands.publish(
            deps, request, user_id=user_id, channel_id=channel_id, respond=respond
        )
    except ValueError:
        await respond(**ephemeral(STALE))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def on_instances(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if await _unconfigured(deps, respond):
        return
    try:
        request = Instances(validate_definition_id(str(action.get("value") or "")))
        if not await button_permitted(
            deps,
            body,
            respond,
            "mint instances",
            request.definition_id,
            redo=Redo("/mint", f"instances {request.definition_id}", request),
        ):
            return
        await commands.show_instances(deps, request, respond)
    except ValueError:
        await respond(**ephemeral(STALE))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def on_more(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if await _unconfigured(deps, respond):
        return
    try:
        page = json.loads(str(action.get("value") or ""))
        request = Instances(
            validate_definition_id(str(page["d"])),
            page["s"] if page.get("s") in STATUSES else None,
            max(0, min(int(page["o"]), 100_000)),
        )
        if not await button_permitted(deps, body, respond, "mint instances", request.definition_id):
            return
        await commands.show_instances(deps, request, respond, replace=True)
    except (ValueError, KeyError, TypeError):
        await respond(**ephemeral(STALE))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def on_refresh(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    """Refresh on a tracked card polls now; on an instance view, shows it again."""
    await ack()
    if await _unconfigured(deps, respond):
        return
    value = str(action.get("value") or "")
    try:
        if value.startswith("inst:"):
            instance_id = validate_instance_id(value[5:])
            redo = Redo("/mint", f"instance {instance_id}", Instance(instance_id))
            if await button_permitted(deps, body, respond, "mint instance", instance_id, redo=redo):
                await commands.show_instance(deps, instance_id, respond, replace=True)
            return
        job = await deps.store.jobs.get(value) if _TRACKED_ID.fullmatch(value) else None
        if job is None or job.vendor != VENDOR:
            await respond(**ephemeral(STALE))
        elif not await button_permitted(deps, body, respond, "mint instance", job.vendor_job_id):
            return
        elif job.state in (ACTIVE, NOTIFYING):
            if await deps.tracker.refresh(job.id) is None:
                await respond(**ephemeral(":hourglass: This instance is being updated right now."))
        elif job.vendor_job_id:
            await commands.show_instance(deps, job.vendor_job_id, respond)
        else:
            await respond(**ephemeral("This flow never started."))
    except ValueError:
        await respond(**ephemeral(STALE))
    except VendorNotFound:
        await respond(**ephemeral(":mag: Signicat Mint no longer knows this instance."))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def on_note(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if await _unconfigured(deps, respond):
        return
    try:
        instance_id = validate_instance_id(str(action.get("value") or ""))
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    if await clearly_denied(deps, body, respond, "mint note", instance_id):
        return
    channel_id, _user = _where(body)
    view = _text_modal(
        NOTE_MODAL,
        "Add a note",
        "Note",
        {"i": instance_id, "c": channel_id},
        hint="Saved on the instance in Signicat Mint.",
        optional=False,
        submit="Add note",
    )
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def on_note_submit(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient, *, deps: Deps
):
    try:
        text = check_note(_submitted_text(view))
        instance_id = validate_instance_id(str(private_metadata(view).get("i") or ""))
    except ValueError as exc:
        await ack(response_action="errors", errors={"text": str(exc)[:150]})
        return
    await ack()
    user_id = body["user"]["id"]
    channel_id = str(private_metadata(view).get("c") or user_id)
    if deps.mint is None:
        return
    if not await permitted(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        name="mint note",
        target=instance_id,
        tell=modal_tell(client, user_id, channel_id),
        redo=Redo("/mint", f"note {instance_id} {text}", Note(instance_id, text)),
    ):
        return

    async def reply(**message: Any) -> None:
        await tell(client, user_id, str(message.get("text", "")))

    try:
        await commands.add_note(
            deps, instance_id, text, user_id=user_id, channel_id=channel_id, respond=reply
        )  # type: ignore[arg-type]
    except VendorError as exc:
        await tell(client, user_id, f"The note was not saved. {vendor_error(exc)}")


async def on_report(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    """Download report: the instance's CSV report, attached where the button was."""
    await ack()
    if await _unconfigured(deps, respond):
        return
    assert deps.mint is not None
    try:
        instance_id = validate_instance_id(str(action.get("value") or ""))
        # A report is only ever for an instance.
        redo = Redo("/mint", f"instance {instance_id}", Instance(instance_id))
        if not await button_permitted(deps, body, respond, "mint instance", instance_id, redo=redo):
            return
        report = await deps.mint.instance_report(instance_id, "csv")
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))
        return
    channel_id, user_id = _where(body)
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or message.get("ts")
    try:
        await client.files_upload_v2(
            channel=channel_id or user_id,
            thread_ts=thread_ts
            if channel_id and not (body.get("container") or {}).get("is_ephemeral")
            else None,
            filename=report.filename,
            content=report.content,
            title=f"Report for instance {instance_id}",
        )
    except SlackApiError as exc:
        await respond(
            **ephemeral(
                f"The report could not be attached here (`{escape(exc.response.get('error'))}`)."
            )
        )
