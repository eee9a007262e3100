"""Each ``/mint`` subcommand, once admitted: talk to Signicat Mint. The buttons and modals
reuse these."""

from __future__ import annotations

import logging

from adapters.errors import VendorError
from adapters.mint import failing_step
from bot.messages import Message
from bot.tracking import CardNotPosted, NewJob
from handlers.common.audited import audited
from handlers.common.digest import run_digest
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import cannot_post, ephemeral
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.mint import blocks
from handlers.mint.jobs import KEY, to_poll
from handlers.mint.parsing import (
    DigestRequest,
    ExecuteRequest,
    FlowsRequest,
    InstanceRequest,
    InstancesRequest,
    NoteRequest,
    PublishRequest,
)
from handlers.mint.titles import flow_title

log = logging.getLogger(__name__)


async def flows(deps: Deps, x: Interaction, request: FlowsRequest) -> None:
    assert deps.mint is not None
    items = await deps.mint.list_flows(request.search, limit=25)
    message = blocks.flows(items, request.search)
    await x.respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def execute(deps: Deps, x: Interaction, request: ExecuteRequest) -> None:
    await start_execution(deps, request, channel_id=x.channel, user_id=x.user, respond=x.respond)


async def instances(deps: Deps, x: Interaction, request: InstancesRequest) -> None:
    await show_instances(deps, request, x.respond)


async def instance(deps: Deps, x: Interaction, request: InstanceRequest) -> None:
    await show_instance(deps, request.instance_id, x.respond)


async def publish(deps: Deps, x: Interaction, request: PublishRequest) -> None:
    """``/mint publish`` and ``/mint unpublish``, typed or clicked: said in the channel."""
    assert deps.mint is not None
    call = deps.mint.publish if request.publish else deps.mint.unpublish
    async with audited(
        deps,
        user_id=x.user,
        channel_id=x.place,
        command="mint publish" if request.publish else "mint unpublish",
        target=request.definition_id,
    ) as outcome:
        flow = await call(request.definition_id)
        outcome.vendor_ids["flow"] = request.definition_id
    message = blocks.published(flow, request.publish, x.user)
    await x.respond(response_type="in_channel", text=message.text, blocks=message.blocks)


async def note(deps: Deps, x: Interaction, request: NoteRequest) -> None:
    await add_note(
        deps,
        request.instance_id,
        request.text,
        user_id=x.user,
        channel_id=x.channel,
        respond=x.respond,
    )


async def digest(deps: Deps, x: Interaction, request: DigestRequest) -> None:
    await run_digest(deps, x, request.command, vendor=KEY)


async def start_execution(
    deps: Deps,
    request: ExecuteRequest,
    *,
    channel_id: str,
    user_id: str,
    respond: Answer,
    step_execution_id: str | None = None,
) -> None:
    """Record the execution and post its card, then start the flow, then track it.
    ``step_execution_id``: a Workflow Builder step that completes when the flow ends."""
    assert deps.mint is not None
    # Unknown, the card shows the id; the execute call below says what is wrong.
    title = await flow_title(deps.mint, request.definition_id) or request.definition_id
    try:
        job = await deps.tracker.begin(
            NewJob(
                vendor=KEY,
                target=request.definition_id,
                channel_id=channel_id,
                user_id=user_id,
                params={"input": request.input, "title": title},
                step_execution_id=step_execution_id,
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


async def show_instances(
    deps: Deps, request: InstancesRequest, respond: Answer, *, replace: bool = False
) -> None:
    assert deps.mint is not None
    items = await deps.mint.flow_instances(
        request.definition_id, request.status, offset=request.offset, limit=blocks.PAGE
    )
    title = await flow_title(deps.mint, request.definition_id)
    message = blocks.instances(
        items,
        definition_id=request.definition_id,
        status=request.status,
        offset=request.offset,
        title=title or next((i.title for i in items if i.title), None),
    )
    await _show(respond, message, replace=replace)


async def show_instance(
    deps: Deps, instance_id: str, respond: Answer, *, replace: bool = False
) -> None:
    assert deps.mint is not None
    instance = await deps.mint.get_instance(instance_id)
    log_entries = await deps.mint.execution_log(instance_id)
    message = blocks.instance_detail(instance, log_entries, failing_step(log_entries))
    await _show(respond, message, replace=replace)


async def _show(respond: Answer, message: Message, *, replace: bool = False) -> None:
    """To the caller alone; ``replace`` puts it in place of the card whose button asked."""
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=replace,
    )


async def add_note(
    deps: Deps, instance_id: str, text: str, *, user_id: str, channel_id: str, respond: Answer
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
