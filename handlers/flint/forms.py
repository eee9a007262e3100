"""The Run form: ``/flint run`` typed bare, and "Re-run with changes" on a job's card
(prefilled). The flintbit is picked by typeahead over those run recently in this
workspace, or typed as BOX:BIT (offered as it is typed); the inputs are ``key=value``
lines and/or one JSON object after them, read by the typed command's own parsers, so a
wrong one gets the command's message."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from adapters.flint import parse_flintbit
from bot.tracking import TrackedJob
from handlers.common import forms
from handlers.common.interaction import Interaction
from handlers.common.replies import trailing_json
from handlers.common.step_text import lines
from handlers.deps import Deps
from handlers.flint.actions import as_command_text
from handlers.flint.jobs import KEY
from handlers.flint.parsing import INPUT_NAME, RunRequest, flintbit_ref, input_pair

CALLBACK = "flint_run_form"
FLINTBITS = "flint_form_flintbit"  # the flintbit picker's action id (its options listener)
RERUN_EDIT = "flint_rerun_edit"
FLINTBIT, INPUTS, WAIT = "flintbit", "inputs", "wait"  # block ids
SHOWN = 25  # recent flintbits offered per query: type more to find another
RECENT = 30 * 86400.0  # seconds: how far back the picker looks for flintbits run here
POLICY_NAME = "flint run"
_WAYS = [
    forms.option("background", "In the background; the card follows it"),
    forms.option("sync", "Wait for the result (--sync)"),
]


def view(channel_id: str, request: RunRequest | None = None) -> dict[str, Any]:
    """The form, prefilled with ``request``'s flintbit, inputs and way of running."""
    chosen = forms.option(str(request.flintbit)) if request else None
    blocks = [
        forms.typeahead(
            FLINTBIT,
            "Flintbit",
            FLINTBITS,
            initial=chosen,
            hint="Those run here lately are offered; or type BOX:BIT, e.g. demo:hello.rb.",
            placeholder="Type BOX:BIT or part of it",
        ),
        forms.text_input(
            INPUTS,
            "Inputs",
            initial=_inputs_text(request.input) if request else "",
            optional=True,
            multiline=True,
            hint='key=value lines, and/or one JSON object last, such as {"items": [1, 2]}',
        ),
        forms.select(
            WAIT, "Run", _WAYS, initial="sync" if request and request.sync else "background"
        ),
    ]
    return forms.modal(CALLBACK, "Run a flintbit", blocks, channel_id)


def _inputs_text(given: dict[str, Any]) -> str:
    """Inputs as the form shows them: ``key=value`` lines when every one is a one-line
    text under a valid name, else the JSON object."""
    if all(
        isinstance(v, str) and "\n" not in v and INPUT_NAME.fullmatch(k) for k, v in given.items()
    ):
        return "\n".join(f"{k}={v}" for k, v in given.items())
    return json.dumps(given, indent=2, ensure_ascii=False)


async def flintbit_options(deps: Deps, x: Interaction, query: str) -> list[dict[str, Any]]:
    """What is typed, when it is a flintbit, then the flintbits run here lately that hold
    it; only those the access policy lets this user run where the form was opened."""
    offered: list[str] = []
    with contextlib.suppress(ValueError):
        offered.append(str(parse_flintbit(query)))
    recent = await deps.store.jobs.recent_targets(
        KEY, since=time.time() - RECENT, query=query, limit=SHOWN
    )
    offered += [target for target in recent if target not in offered]
    return [
        forms.option(target) for target in offered if forms.may_pick(deps, x, POLICY_NAME, target)
    ]


def _inputs(given: str) -> dict[str, Any]:
    """The Inputs field read as ``/flint run`` reads its inputs, by its parsers and with
    their messages: ``key=value`` lines (a line is one input, whatever it holds), then at
    most one JSON object, from the line it starts on to the end; a name given both ways
    takes the line's value, as a typed pair beats the object's."""
    raw = given.splitlines()
    start = next((i for i, line in enumerate(raw) if line.lstrip().startswith("{")), len(raw))
    values = dict(input_pair(line) for line in lines("\n".join(raw[:start])))
    _, json_input = trailing_json("\n".join(raw[start:]).strip())
    return {**(json_input or {}), **values}


def read(x: Interaction) -> tuple[RunRequest, str]:
    fields = forms.Fields(x)
    chosen = fields.picked(
        FLINTBIT, FLINTBITS, "Choose a flintbit, or type one as BOX:BIT.", flintbit_ref
    )
    values = fields.check(INPUTS, lambda: _inputs(fields.text(INPUTS)))
    fields.done()
    request = RunRequest(flintbit_ref(chosen), values or {}, sync=fields.text(WAIT) == "sync")
    return request, as_command_text(request)


def _prefilled(job: TrackedJob, channel_id: str) -> dict[str, Any]:
    """The form with the job's flintbit, inputs and way of running."""
    params = job.params or {}
    given = params.get("input")
    request = RunRequest(
        flintbit=parse_flintbit(job.target),
        input=given if isinstance(given, dict) else {},
        sync=bool(params.get("sync")),
    )
    return view(channel_id, request)


open_blank = forms.blank(view)
on_rerun_edit = forms.rerun_edit(KEY, POLICY_NAME, _prefilled)
