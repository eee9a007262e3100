"""App Home's quick actions: a form made from a vertical's Workflow Builder step (the same
inputs, titles, descriptions, choices and defaults) plus where to post the card, and its
submission read back into the command the step counts as. A form is validated exactly
like the typed command and like the step: its values become the step's typed request
(``Step.request``), each checked by the vertical parser's own validator, so no field is
ever read as command text (nor can become an option)."""

from __future__ import annotations

import re
from typing import Any

from bot.config import Settings
from handlers.common.interaction import Interaction
from handlers.common.text import UsageError
from handlers.common.vertical import Parameter, Step, Vertical

CALLBACK_PREFIX = "chatops_home_"
CHANNEL = "chatops_post_in"  # the channel picker's block id (no step input is named so)
ACTION = "value"  # every input's action id
_CONVERSATION = re.compile(r"[CGD][A-Z0-9]{1,40}")
_ERROR_LENGTH = 300


def callback_id(step: Step) -> str:
    return CALLBACK_PREFIX + step.callback_id


def defaults(step: Step) -> dict[str, str]:
    return {p.name: p.default or "" for p in step.inputs}


def counts_as(step: Step, values: dict[str, str]) -> str:
    """The subcommand these values make of the step."""
    return step.counts_as(values)


def subcommands(vertical: Vertical, step: Step) -> dict[str, set[str]]:
    """Every subcommand the step can count as, each with the choices that lead to it
    ("stomt_post": ``{"wish": {"kind=wish"}, "like": {"kind=like"}}``); a subcommand
    the defaults lead to has the empty set when no choice is needed for it."""
    known = {sub.name for sub in vertical.subcommands}
    found: dict[str, set[str]] = {}
    base = defaults(step)
    found.setdefault(counts_as(step, base), set())
    for param in step.inputs:
        for choice in param.choices:
            sub = counts_as(step, {**base, param.name: choice})
            found.setdefault(sub, set()).add(f"{param.name}={choice}")
    return {sub: ways for sub, ways in found.items() if sub in known}


def allowed_choices(
    step: Step, ways: dict[str, set[str]], allowed: set[str]
) -> dict[str, list[str]]:
    """Each choice input's choices that lead to a subcommand the user may run (a user
    allowed ``stomt like`` alone is not offered "wish")."""
    kept: dict[str, list[str]] = {}
    for param in step.inputs:
        if not param.choices:
            continue
        leads = {
            choice: {sub for sub, w in ways.items() if f"{param.name}={choice}" in w}
            for choice in param.choices
        }
        kept[param.name] = [c for c in param.choices if leads[c] & allowed]
    return kept


def form_view(vertical: Vertical, step: Step, choices: dict[str, list[str]]) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": step.description[:3000]}}
    ]
    blocks += [_input(param, choices.get(param.name, [])) for param in step.inputs]
    blocks.append(
        {
            "type": "input",
            "block_id": CHANNEL,
            "label": {"type": "plain_text", "text": "Post the card in"},
            "element": {
                "type": "conversations_select",
                "action_id": ACTION,
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": callback_id(step),
        "title": {"type": "plain_text", "text": vertical.name[:24]},
        "submit": {"type": "plain_text", "text": "Run"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _input(param: Parameter, choices: list[str]) -> dict[str, Any]:
    element: dict[str, Any]
    if param.choices:
        options = [_option(choice) for choice in choices]
        element = {"type": "static_select", "action_id": ACTION, "options": options}
        initial = param.default if param.default in choices else next(iter(choices), None)
        if initial is not None:
            element["initial_option"] = _option(initial)
    else:
        element = {"type": "plain_text_input", "action_id": ACTION, "multiline": param.multiline}
        if param.default:
            element["initial_value"] = param.default
    block = {
        "type": "input",
        "block_id": param.name,
        "optional": not param.required,
        "label": {"type": "plain_text", "text": param.title[:2000]},
        "element": element,
    }
    if param.description:
        block["hint"] = {"type": "plain_text", "text": param.description[:2000]}
    return block


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value[:75]}, "value": value[:150]}


def entered(x: Interaction, step: Step) -> dict[str, str]:
    return {param.name: x.entered(param.name) for param in step.inputs}


def chosen_channel(view: dict[str, Any]) -> str:
    """The conversation picked in the form ("" for none, or anything that is not an id)."""
    node: Any = view
    for key in ("state", "values", CHANNEL, ACTION, "selected_conversation"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, str) and _CONVERSATION.fullmatch(node) else ""


def parse(vertical: Vertical, step: Step, values: dict[str, str], settings: Settings) -> Any:
    """The request the values stand for, validated as the typed command is; UsageError
    when they stand for none, or for a subcommand this form is not for."""
    for param in step.inputs:
        given = values.get(param.name, "")
        if param.choices and given and given not in param.choices:
            raise UsageError(f"Choose one of {', '.join(param.choices)}.")
    request = step.request(values)
    if vertical.complete is not None:
        request = vertical.complete(request, settings)
    sub, _target = vertical.policy_view(request)
    if sub not in subcommands(vertical, step):
        raise UsageError(f"This form does not run `{vertical.slash} {sub}`.")
    return request


def field_errors(
    vertical: Vertical, step: Step, values: dict[str, str], settings: Settings, error: str
) -> dict[str, str]:
    """``response_action: errors`` for a submission that does not parse: the message on
    the first filled-in field without which it would parse (the culprit), else on the
    field the message names, else on the first required field."""
    culprit = None
    for param in step.inputs:
        if not values.get(param.name) or values[param.name] == (param.default or ""):
            continue
        try:
            parse(vertical, step, {**values, param.name: param.default or ""}, settings)
        except UsageError:
            continue
        culprit = param.name
        break
    if culprit is None:
        # A field the message is about ("Add at least one descriptor"), else the first
        # required one.
        lowered = error.lower()
        named = [p.name for p in step.inputs if p.title.lower().rstrip("s") in lowered]
        required = [p.name for p in step.inputs if p.required]
        culprit = (named or required or [p.name for p in step.inputs] or [CHANNEL])[0]
    return {culprit: error[:_ERROR_LENGTH]}
