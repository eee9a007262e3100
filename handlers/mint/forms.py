"""The Execute form: ``/mint execute`` typed bare, and "Re-run with changes" on an
execution's card (prefilled). A flow picked by typeahead over Mint's flows, and the
input as a JSON object, checked before the form is sent."""

from __future__ import annotations

import json
from typing import Any

from adapters.mint import check_search
from bot.tracking import TrackedJob
from handlers.common import forms
from handlers.common.interaction import Interaction
from handlers.common.text import json_object
from handlers.deps import Deps
from handlers.mint.jobs import KEY
from handlers.mint.parsing import ExecuteRequest, execute_request
from handlers.mint.steps import show

CALLBACK = "mint_execute_form"
FLOWS = "mint_form_flow"  # the flow picker's action id (its options listener)
RERUN_EDIT = "mint_rerun_edit"
FLOW, INPUT = "flow", "input"  # block ids
SHOWN = 25  # flows offered per query: type more to find another
POLICY_NAME = "mint execute"


def view(
    channel_id: str, *, flow: tuple[str, str] | None = None, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The form; ``flow`` is (definition id, title) chosen already, ``data`` its input."""
    blocks = [
        forms.typeahead(
            FLOW,
            "Flow",
            FLOWS,
            initial=forms.option(*flow) if flow else None,
            hint="Type part of a flow's name.",
        ),
        forms.text_input(
            INPUT,
            "Input (a JSON object)",
            initial=json.dumps(data, indent=2, ensure_ascii=False) if data else "",
            optional=True,
            multiline=True,
            hint='Leave empty for no input, or e.g. {"email": "ada@example.com"}',
        ),
    ]
    return forms.modal(CALLBACK, "Execute a flow", blocks, channel_id, submit="Execute")


async def flow_options(deps: Deps, x: Interaction, query: str) -> list[dict[str, Any]]:
    """Mint's flows whose name or description holds ``query``, by name; only those the
    access policy lets this user execute where the form was opened."""
    assert deps.mint is not None
    try:
        search = check_search(query)
    except ValueError:
        return []
    found = await deps.mint.list_flows(search, limit=SHOWN)
    return [
        forms.option(flow.definition_id, flow.name)
        for flow in found
        if flow.definition_id and forms.may_pick(deps, x, POLICY_NAME, flow.definition_id)
    ]


def read(x: Interaction) -> tuple[ExecuteRequest, str]:
    fields = forms.Fields(x)
    chosen = fields.picked(FLOW, FLOWS, "Choose a flow.", lambda flow: execute_request(flow, None))
    raw = fields.text(INPUT)
    data = fields.check(INPUT, lambda: json_object(raw, what="The input")) if raw else {}
    fields.done()
    request = execute_request(chosen, data)
    return request, show(request)


def _prefilled(job: TrackedJob, channel_id: str) -> dict[str, Any]:
    """The form with the execution's flow and input."""
    params = job.params or {}
    data = params.get("input")
    title = str(params.get("title") or job.target)
    return view(channel_id, flow=(job.target, title), data=data if isinstance(data, dict) else None)


open_blank = forms.blank(view)
on_rerun_edit = forms.rerun_edit(KEY, POLICY_NAME, _prefilled)
