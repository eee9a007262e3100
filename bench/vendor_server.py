"""The vendor sandboxes in their own process, twice: under ``/slow`` every Flint run call
is answered after 5 s ("vendors = sandboxes made slow"), under ``/fast`` at once.

Also, for the benchmark:

* ``GET /_bench/flint/{slow|fast}/jobs`` — each sandbox job's id and the ``time.monotonic()``
  at which it was submitted and finishes (known from the sandbox's speed);
* ``GET /_bench/flint/{slow|fast}/calls`` — the sandbox's answered calls (path, status, at);
* ``/stintmint-stub`` — a stand-in Stintmint that records ``POST /post`` bodies (with their
  ``callbackUrl``) and answers ``PENDING``, so the benchmark itself can play the vendor's
  callback and time it (``GET /_bench/stintmint/posts``).

``python -m bench.vendor_server --port N [--slow-delay 5.0]``.
"""

from __future__ import annotations

import argparse
import json
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from adapters import sandboxes


def _flint(app: Starlette) -> Starlette:
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/flint" and isinstance(route.app, Starlette):
            return route.app
    raise LookupError("the sandboxes app has no /flint mount")


def create_app(slow_delay: float) -> Starlette:
    mounts = {
        "slow": sandboxes.create_app(flint_answer_delay=slow_delay),
        "fast": sandboxes.create_app(flint_answer_delay=0.0),
    }
    flints = {name: _flint(app) for name, app in mounts.items()}
    stint_posts: list[dict] = []

    async def jobs(request: Request):
        sandbox = flints[request.path_params["which"]].state.sandbox
        rows = [
            {"id": j.id, "context": j.context, "started": j.started, "ends_at": j.ends_at()}
            for j in list(sandbox.jobs.values())
        ]
        return JSONResponse(rows)

    async def calls(request: Request):
        recorded = flints[request.path_params["which"]].state.calls
        rows = [
            {"at": c.at, "method": c.method, "path": c.path, "status": c.status}
            for c in list(recorded)
        ]
        return JSONResponse(rows)

    async def stint_post(request: Request):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"message": "not JSON"}, 400)
        stint_posts.append({"at": time.monotonic(), "body": body})
        return JSONResponse(
            {"identifier": body.get("identifier"), "sfId": body.get("sfId"), "status": "PENDING"}
        )

    async def stint_fetch(request: Request):
        body = json.loads(await request.body() or b"{}")
        return JSONResponse(
            {
                "identifier": body.get("identifier"),
                "sfId": body.get("sfId"),
                "status": "PENDING",
                "responses": [],
            }
        )

    async def stint_seen(_request: Request):
        return JSONResponse(stint_posts)

    return Starlette(
        routes=[
            Route("/_bench/flint/{which}/jobs", jobs),
            Route("/_bench/flint/{which}/calls", calls),
            Route("/_bench/stintmint/posts", stint_seen),
            Route("/stintmint-stub/post", stint_post, methods=["POST"]),
            Route("/stintmint-stub/fetch", stint_fetch, methods=["POST"]),
            Route("/healthz", lambda _r: JSONResponse({"ok": True})),
            *(Mount(f"/{name}", app=app) for name, app in mounts.items()),
        ]
    )


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slow-delay", type=float, default=5.0)
    args = parser.parse_args()
    uvicorn.run(create_app(args.slow_delay), host="127.0.0.1", port=args.port, log_level="warning")
