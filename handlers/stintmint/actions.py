"""The Fetch now button on Stintmint cards."""

from __future__ import annotations

from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, button_permitted
from handlers.common.tracked import refresh, tracked_job
from handlers.common.vertical import Stale
from handlers.deps import Deps
from handlers.stintmint.commands import show_fetch
from handlers.stintmint.jobs import KEY
from handlers.stintmint.parsing import FetchRequest, parse

STALE = ":grey_question: This button belongs to a request I no longer know about."


async def on_fetch(deps: Deps, x: Interaction) -> None:
    if x.value.startswith("fetch:"):
        # An ephemeral `/stint fetch` card: fetch again and show the answer.
        try:
            request = parse("fetch " + " ".join(x.value.split(":")[1:]))
        except ValueError:
            raise Stale(STALE) from None
        if isinstance(request, FetchRequest) and await button_permitted(
            deps,
            x,
            "stint fetch",
            request.sf_id,
            redo=Redo("/stint", f"fetch {request.sf_id} {request.identifier}", request),
        ):
            await show_fetch(deps, request, x.respond)
        return
    job = await tracked_job(deps, x.value, KEY, STALE)
    if not await button_permitted(deps, x, "stint fetch", job.target):
        return
    await refresh(
        deps,
        x,
        job,
        noun="request",
        never_sent="This request was never sent. Send it again with `/stint post`.",
        done=":white_check_mark: The responses are in; the card is up to date.",
    )
