"""The last line of defence: an unexpected error is logged with its trace, and the user
gets a short apology with a reference, never the trace."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond

from handlers.common.binding import APOLOGY

log = logging.getLogger("handlers.errors")


def register(app: AsyncApp) -> None:
    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None):
        reference = uuid.uuid4().hex[:8]
        log.error("unhandled error (reference %s)", reference, exc_info=error)
        if respond is None or not isinstance(body, dict) or not body.get("response_url"):
            return
        try:
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text=APOLOGY.format(reference),
            )
        except Exception:  # the apology itself failing must not raise again
            log.warning("could not tell the user about error %s", reference)
