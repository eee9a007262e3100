"""``/mint``: parse, acknowledge at once, then talk to Signicat Mint."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError, VendorNotFound
from adapters.mint import failing_step
from bot.store import NewJob
from bot.tracking import CardNotPosted
from handlers.common.audited import audited
from handlers.common.commands import acknowledge
from handlers.common.digest import run_digest
from handlers.common.replies import cannot_post, ephemeral, vendor_error
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.mint import blocks
from handlers.mint.jobs import VENDOR, to_poll
from handlers.mint.parsing import (
    USAGE,
    Digest,
    Execute,
    Flows,
    Instance,
    Instances,
    Note,
    Publish,
    action,
    parse,
)

log = logging.getLogger(__name__)


async def mint_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, *, deps: Deps
):
    request = await acknowledge(
        ack,
        deps,
        command,
        respond,
        parse=parse,
        usage_text=USAGE,
        client=deps.mint,
        status=deps.settings.mint_status,
        action=action,
    )
    if request is None:
        return
    channel_id, user_id = command["channel_id"], command["user_id"]
    try:
        if isinstance(request, Execute):
            await execute(deps, request, channel_id=channel_id, user_id=user_id, respond=respond)
        elif isinstance(request, Flows):
            await show_flows(deps, request.search, respond)
        elif isinstance(request, Instances):
            await show_instances(deps, request, respond)
        elif isinstance(request, Instance):
            await show_instance(deps, request.instance_id, respond)
        elif isinstance(request, Publish):
            await publish(deps, request, user_id=user_id, channel_id=channel_id, respond=respond)
        elif isinstance(request, Note):
            await add_note(
                deps,
                request.instance_id,
                request.text,
                user_id=user_id,
                channel_id=channel_id,
                respond=respond,
            )
        elif isinstance(request, Digest):
            await run_digest(
                deps,
                request.command,
                vendor=VENDOR,
                title="Signicat Mint",
                channel_id=channel_id,
                user_id=user_id,
                options={},
                respond=respond,
            )
    except VendorNotFound as exc:
        await respond(**ephemeral(f":mag: {escape(exc.message)}"))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def execute(
    deps: Deps, request: Execute, *, channel_id: str, user_id: str, respond: AsyncRespond
) -> None:
    """Record the execution and post its card, then start the flow, then track it."""
    assert deps.mint is not None
    try:
        flow = await deps.mint.get_flow(request.definition_id)
        title = flow.name
    except VendorError:
        title = request.definition_id  # the execute call below says what is wrong
    try:
        job = await deps.tracker.begin(
            NewJob(
                vendor=VENDOR,
                target=request.definition_id,
                channel_id=channel_id,
                user_id=user_id,
                params={"input": request.input, "title": title},
            )
        )
    except CardNotPosted as exc:
        await respond(**ephemeral(cannot_post(exc.error)))
        return
    try:
        async with audited(
            deps,
            user_id=user_id,
            channel_id=channel_id,
            command="mint execute",
            target=request.definition_id,
            params={"input": request.input},
        ) as outcome:
            instance = await deps.mint.execute(request.definition_id, request.input)
            outcome.vendor_ids["instance"] = instance.id
    except VendorError as exc:
        log.info("mint execute %s not started: %s", request.definition_id, exc.message)
        await deps.tracker.could_not_start(job.id, exc.message)
        return
    await deps.tracker.started(job.id, await to_poll(deps.mint, instance))


async def show_flows(deps: Deps, search: str | None, respond: AsyncRespond) -> None:
    assert deps.mint is not None
    items = await deps.mint.list_flows(search, limit=25)
    message = blocks.flows(items, search)
    await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def show_instances(
    deps: Deps, request: Instances, respond: AsyncRespond, *, replace: bool = False
) -> None:
    assert deps.mint is not None
    items = await deps.mint.flow_instances(
        request.definition_id, request.status, offset=request.offset, limit=blocks.PAGE
    )
    message = blocks.instances(
        items, definition_id=request.definition_id, status=request.status, offset=request.offset
    )
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=replace,
    )


async def show_instance(
    deps: Deps, instance_id: str, respond: AsyncRespond, *, replace: bool = False
) -> None:
    assert deps.mint is not None
    instance = await deps.mint.get_instance(instance_id)
    log_entries = await deps.mint.execution_log(instance_id)
    message = blocks.instance_detail(instance, log_entries, failing_step(log_entries))
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=replace,
    )


async def publish(
    deps: Deps, request: Publish, *, user_id: str, channel_id: str, respond: AsyncRespond
) -> None:
    assert deps.mint is not None
    call = deps.mint.publish if request.publish else deps.mint.unpublish
    async with audited(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        command="mint publish" if request.publish else "mint unpublish",
        target=request.definition_id,
    ) as outcome:
        flow = await call(request.definition_id)
        outcome.vendor_ids["flow"] = request.definition_id
    message = blocks.published(flow, request.publish, user_id)
    await respond(response_type="in_channel", text=message.text, blocks=message.blocks)


async def add_note(
    deps: Deps, instance_id: str, text: str, *, user_id: str, channel_id: str, respond: AsyncRespond
) -> None:
    assert deps.mint is not None
    async with audited(
        deps,
        user_id=user_id,
        channel_id=channel_id,
        command="mint note",
        target=instance_id,
        params={"note": text},
    ) as outcome:
        await deps.mint.create_note(instance_id, text)
        outcome.vendor_ids["instance"] = instance_id
    await respond(**ephemeral(f":memo: Note added to instance `{escape(instance_id)}`."))
