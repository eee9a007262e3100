"""``POST /hooks/stintmint``: Stintmint's result callback.

The per-request token is checked before anything else (no lookup, constant time), so a
bad or missing token gets 401, changes nothing and says nothing about which requests
exist. The body is validated, the result recorded and the notice delivered in the
background, so Stintmint gets its 200 at once; a repeated callback (Stintmint retries up
to 20 times) is answered 200 and notifies nobody again.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.stintmint import parse_callback
from bot.wiring.inbound import Refused, read_body
from handlers.deps import Deps
from handlers.stintmint.commands import CALLBACK_PATH
from handlers.stintmint.jobs import KEY, to_poll

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


def route(deps: Deps) -> Route:
    async def callback(request: Request) -> Response:
        job_id = request.query_params.get("request", "")
        token = request.query_params.get("token", "")
        signer = deps.callbacks
        if signer is None or not job_id or not token or not signer.verify(job_id, token):
            return JSONResponse({"error": "invalid or missing token"}, status_code=401)
        try:
            body = await read_body(request, MAX_BODY)
        except Refused as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        try:
            flow = parse_callback(body)
        except ValueError as exc:
            log.warning("stintmint callback for %s rejected: %s", job_id, exc)
            return JSONResponse({"error": f"invalid body: {exc}"[:300]}, status_code=400)
        job = await deps.store.jobs.get(job_id)
        if job is None or job.vendor != KEY:
            log.warning("stintmint callback for unknown request %s", job_id)
            return JSONResponse({"error": "unknown request"}, status_code=404)
        # The token names the request; what the body says it is about must agree with it.
        params = job.params or {}
        expected = params.get("identifier")
        if flow.identifier and expected and flow.identifier != expected:
            return JSONResponse({"error": "identifier does not match"}, status_code=400)
        expected_flow = params.get("sf_id") or job.target
        if flow.sf_id and expected_flow and flow.sf_id != expected_flow:
            log.warning("stintmint callback for %s names another StintFlow", job_id)
            return JSONResponse({"error": "sfId does not match"}, status_code=400)
        if not flow.is_complete:
            return JSONResponse({"ok": True, "result": "not final"})
        result = await deps.tracker.finish_external(job.id, to_poll(flow))
        return JSONResponse({"ok": True, "result": result})

    return Route(CALLBACK_PATH, callback, methods=["POST"])
