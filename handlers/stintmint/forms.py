"""The Post form: ``/stint post`` typed bare, and "Re-run with changes" on a request's
card (prefilled). StintFlow id, identifier, descriptors (each a name, a type and a
value; rows added with a button, up to Stintmint's 10), batch and urgency, each checked
by ``/stint post``'s own parser."""

from __future__ import annotations

from typing import Any

from adapters.base import shorten
from adapters.stintmint import MAX_DESCRIPTORS, DescriptorType
from bot.tracking import TrackedJob
from handlers.common import forms
from handlers.common.interaction import Interaction
from handlers.deps import Deps
from handlers.stintmint.jobs import KEY
from handlers.stintmint.parsing import PostRequest, batch_id, post_request, urgency_code
from handlers.stintmint.steps import show

CALLBACK = "stint_post_form"
MORE = "stint_form_more"  # the button adding a descriptor row
RERUN_EDIT = "stint_rerun_edit"
SF_ID, IDENTIFIER, BATCH, URGENCY = "sf_id", "identifier", "batch_id", "urgency"  # block ids
ROWS = 3  # descriptor rows a blank form starts with
ROWS_KEY = "n"  # the private metadata's key for the rows shown
POLICY_NAME = "stint post"
GUESS = "guess"
_TYPES = [
    forms.option(GUESS, "Guess: a URL is HREF, else TEXT"),
    *(forms.option(kind.value) for kind in DescriptorType),
]
_KNOWN = "form"  # an id every validator takes: a part checked alone beside it


def _row(i: int) -> tuple[str, str, str]:
    return f"d{i}_name", f"d{i}_type", f"d{i}_value"


def view(
    channel_id: str,
    *,
    rows: int = ROWS,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The form with ``rows`` descriptor rows, prefilled from ``request`` (a job's params:
    sf_id, identifier, descriptors as {name, type, info}, batch_id, urgency)."""
    given = request or {}
    descriptors = [d for d in given.get("descriptors") or [] if isinstance(d, dict)]
    rows = max(1, min(MAX_DESCRIPTORS, max(rows, len(descriptors))))
    blocks = [
        forms.text_input(
            SF_ID,
            "StintFlow id",
            initial=str(given.get("sf_id") or ""),
            hint="The service to send it to, e.g. demo.",
        ),
        forms.text_input(
            IDENTIFIER,
            "Identifier",
            initial=str(given.get("identifier") or ""),
            hint="Your id for this request; a new request needs a new one.",
        ),
    ]
    for i in range(1, rows + 1):
        prefill = descriptors[i - 1] if i <= len(descriptors) else {}
        name, kind, value = _row(i)
        blocks += [
            forms.text_input(
                name, f"Descriptor {i}: name", initial=str(prefill.get("name") or ""), optional=True
            ),
            forms.select(
                kind,
                f"Descriptor {i}: type",
                _TYPES,
                initial=str(prefill.get("type") or GUESS),
                optional=True,
            ),
            forms.text_input(
                value,
                f"Descriptor {i}: value",
                initial=str(prefill.get("info") or ""),
                optional=True,
                multiline=True,
                max_length=3000,
            ),
        ]
    if rows < MAX_DESCRIPTORS:
        blocks.append(
            {
                "type": "actions",
                "block_id": "more",
                "elements": [
                    {
                        "type": "button",
                        "action_id": MORE,
                        "text": {"type": "plain_text", "text": "Add a descriptor"},
                        "value": str(rows + 1),
                    }
                ],
            }
        )
    blocks += [
        forms.text_input(
            BATCH,
            "Batch id",
            initial=str(given.get("batch_id") or ""),
            optional=True,
            hint="Groups requests into a dataset of their own.",
        ),
        forms.text_input(
            URGENCY,
            "Urgency",
            initial=str(given.get("urgency") or ""),
            optional=True,
            hint="Stintmint's processing criteria code, e.g. U1.",
        ),
    ]
    return forms.modal(
        CALLBACK, "Send to Stintmint", blocks, channel_id, submit="Send", **{ROWS_KEY: rows}
    )


async def on_more(deps: Deps, x: Interaction) -> None:
    """Add a descriptor: the same form with one more row (Slack keeps what was typed in
    the rows already there, their block ids unchanged)."""
    shown = forms.metadata_of(deps, x).get(ROWS_KEY)
    rows = shown + 1 if isinstance(shown, int) else ROWS
    await forms.update_form(deps, x, view(forms.opened_in(deps, x), rows=rows))


def read(x: Interaction) -> tuple[PostRequest, str]:
    fields = forms.Fields(x)
    sf_id, identifier = fields.text(SF_ID), fields.text(IDENTIFIER)
    fields.check(SF_ID, lambda: post_request(sf_id, _KNOWN, ["a=1"]))
    fields.check(IDENTIFIER, lambda: post_request(_KNOWN, identifier, ["a=1"]))
    pairs = [pair for i in range(1, MAX_DESCRIPTORS + 1) if (pair := _pair(fields, i))]
    batch, urgency = fields.text(BATCH), fields.text(URGENCY)
    fields.check(BATCH, lambda: batch_id(batch) if batch else None)
    fields.check(URGENCY, lambda: urgency_code(urgency) if urgency else None)
    if not fields.errors:
        fields.check(_row(1)[0], lambda: post_request(sf_id, identifier, pairs))
    fields.done()
    request = post_request(sf_id, identifier, pairs, batch or None, urgency or None)
    return request, show(request)


def _pair(fields: forms.Fields, i: int) -> str:
    """Row ``i`` as the command's ``name[:TYPE]=value`` ("" for an empty row), its name
    checked alone first so that an error lands on the field it is about."""
    name_block, type_block, value_block = _row(i)
    name, kind, value = (fields.text(b) for b in (name_block, type_block, value_block))
    if not name and not value:
        return ""
    if not name:
        fields.errors[name_block] = "Name this descriptor (the StintFlow's input name)."
        return ""
    if ":" in name or "=" in name:  # would split into another name, type or value
        fields.errors[name_block] = f"`{shorten(name)}` is not a valid descriptor name."
        return ""
    if fields.check(name_block, lambda: post_request(_KNOWN, _KNOWN, [f"{name}=x"])) is None:
        return ""
    typed = f":{kind}" if kind and kind != GUESS else ""
    pair = f"{name}{typed}={value}"
    if fields.check(value_block, lambda: post_request(_KNOWN, _KNOWN, [pair])) is None:
        return ""
    return pair


def _prefilled(job: TrackedJob, channel_id: str) -> dict[str, Any]:
    """The form with the request's parameters."""
    return view(channel_id, request=job.params)


open_blank = forms.blank(view)
on_rerun_edit = forms.rerun_edit(KEY, POLICY_NAME, _prefilled)
