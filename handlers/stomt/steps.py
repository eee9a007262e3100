"""The ``stomt_post`` Workflow Builder step: ``/stomt wish`` or ``/stomt like``, completed
as soon as STOMT has the stomt."""

from __future__ import annotations

import re
import shlex
from typing import Any

from handlers.common.step_text import field, words
from handlers.common.steps import post_card
from handlers.common.text import UsageError
from handlers.common.vertical import Parameter, Step, StepCall
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt.commands import create_stomt
from handlers.stomt.parsing import PostRequest, post_request

KINDS = ("wish", "like")
# Where the command would read an option in typed text ("… --target x").
_OPTION_MARK = re.compile(r"(?:^|\s)--")


def kind(inputs: dict[str, Any]) -> str:
    given = field(inputs, "kind").lower() or "wish"
    if given not in KINDS:
        raise UsageError(f"The kind is one of {', '.join(KINDS)}.")
    return given


def request(inputs: dict[str, Any]) -> PostRequest:
    """The Text input is the stomt's text, exactly as given: quotes, apostrophes and
    ``--target`` in it are text, never options."""
    target = field(inputs, "target")
    labels = [label.strip() for label in field(inputs, "labels").split(",") if label.strip()]
    return post_request(
        field(inputs, "text"),
        positive=kind(inputs) == "like",
        target=target or None,
        labels=labels,
    )


def show(request: PostRequest) -> str:
    """As typed, with the text quoted when part of it would read as an option, so that
    nobody reading the command takes it for one."""
    text = shlex.quote(request.text) if _OPTION_MARK.search(request.text) else request.text
    options = [*(("--target", request.target) if request.target else ())]
    for label in request.labels:
        options += ["--label", label]
    return " ".join(
        part for part in ("like" if request.positive else "wish", text, words(*options)) if part
    )


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
        Parameter("kind", "string", "Kind", "wish or like", choices=KINDS, default="wish"),
        Parameter("target", "string", "Target", "The STOMT target slug (default: STOMT_TARGET)"),
        Parameter("labels", "string", "Labels", "Comma-separated labels"),
    ),
    outputs=(
        Parameter(
            "stomt_id", "string", "Stomt id", "The new stomt's id (empty when STOMT gave none)"
        ),
        Parameter("url", "string", "Link", "The stomt on STOMT (empty when STOMT gave none)"),
    ),
    request=request,
    show=show,
    counts_as=kind,
    run=run,
)
