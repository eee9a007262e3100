"""The ``stomt_post`` Workflow Builder step: ``/stomt wish`` or ``/stomt like``."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, words
from handlers.common.vertical import Parameter, Step


def text(inputs: dict[str, Any]) -> str:
    kind = field(inputs, "kind").lower() or "wish"
    target = field(inputs, "target")
    labels = [label.strip() for label in field(inputs, "labels").split(",") if label.strip()]
    options = [*(("--target", target) if target else ())]
    for label in labels:
        options += ["--label", label]
    return words(kind, field(inputs, "text"), *options)


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
)
