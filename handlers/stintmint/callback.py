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
from handlers.deps import Deps
from handlers.stintmint.commands import CALLBACK_PATH
from handlers.stintmint.jobs import VENDOR, to_poll

log = logging.getLogger(__name__)
MAX_BODY = 1_000_000


def route(deps: Deps) -> Route:
    async def callback(request: Request) -> Response:
        job_id = request.query_params.get("request", "")
        token = request.query_params.get("token", "")
        signer = deps.callbacks
        if signer is None or not job_id or not token or not signer.verify(job_id, token):
            return JSONResponse({"error": "invalid or missing token"}, status_code=401)
        body = await _read_capped(request)
        if body is None:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            flow = parse_callback(body)
        except ValueError as exc:
            log.warning("stintmint callback for %s rejected: %s", job_id, exc)
            return JSONResponse({"error": f"invalid body: {exc}"[:300]}, status_code=400)
        job = await deps.store.jobs.get(job_id)
        if job is None or job.vendor != VENDOR:
            log.warning("stintmint callback for unknown request %s", job_id)
            return JSONResponse({"error": "unknown request"}, status_code=404)
        expected = (job.params or {}).get("identifier")
        if flow.identifier and expected and flow.identifier != expected:
            return JSONResponse({"error": "identifier does not match"}, status_code=400)
        if not flow.is_complete:
            return JSONResponse({"ok": True, "result": "not final"})
        result = await deps.tracker.finish_external(job.id, to_poll(flow))
        return JSONResponse({"ok": True, "result": result})

    return Route(CALLBACK_PATH, callback, methods=["POST"])


async def _read_capped(request: Request) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
