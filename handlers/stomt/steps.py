"""The ``stomt_post`` Workflow Builder step: ``/stomt wish`` or ``/stomt like``, completed
as soon as STOMT has the stomt."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, words
from handlers.common.steps import post_card
from handlers.common.vertical import Parameter, Step, StepCall
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt.commands import create_stomt
from handlers.stomt.parsing import PostRequest


def text(inputs: dict[str, Any]) -> str:
    kind = field(inputs, "kind").lower() or "wish"
    target = field(inputs, "target")
    labels = [label.strip() for label in field(inputs, "labels").split(",") if label.strip()]
    options = [*(("--target", target) if target else ())]
    for label in labels:
        options += ["--label", label]
    return words(kind, field(inputs, "text"), *options)


async def run(deps: Deps, call: StepCall, request: PostRequest) -> dict[str, Any]:
    stomt = await create_stomt(deps, request, user_id=call.user_id, channel_id=call.channel_id)
    await post_card(deps, call, blocks.stomt_card(stomt, posted_by=call.user_id))
    return {"stomt_id": stomt.id or "", "url": stomt.shortlink or ""}


POST = Step(
    callback_id="stomt_post",
    title="Post a STOMT wish or like",
    description="Posts feedback to a STOMT target; outputs the stomt's id and link.",
    inputs=(
        Parameter("text", "string", "Text", "What to wish or like", required=True, multiline=True),
        Parameter(
            "kind", "string", "Kind", "wish or like", choices=("wish", "like"), default="wish"
        ),
        Parameter("target", "string", "Target", "The STOMT target slug (default: STOMT_TARGET)"),
        Parameter("labels", "string", "Labels", "Comma-separated labels"),
    ),
    outputs=(
        Parameter("stomt_id", "string", "Stomt id", "The new stomt's id"),
        Parameter("url", "string", "Link", "The stomt on STOMT"),
    ),
    text=text,
    run=run,
)
