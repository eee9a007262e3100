"""The HTTP server: Slack requests, health and metrics, as one Starlette app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.wiring.app import Runtime
from bot.wiring.inbound import slack_endpoint


def create_server(runtime: Runtime) -> Starlette:
    async def healthz(_request: Request) -> Response:
        mode = "socket" if runtime.settings.socket_mode else "http"
        database = await runtime.store.ping(within=2.0)
        body = {"status": "ok", "mode": mode, "database": "ok" if database else "unreachable"}
        healthy = database
        if runtime.settings.socket_mode:
            # Not connected to Slack means no Slack request reaches this process: a
            # deployment should see that here, with the reason (bot/wiring/socket_mode.py).
            link = runtime.socket_mode
            problem = await link.status() if link is not None else "not started"
            body["socket_mode"] = "connected" if problem is None else f"not connected: {problem}"
            healthy = healthy and problem is None
        if not healthy:
            body["status"] = "error"
        return JSONResponse(body, status_code=200 if healthy else 503)

    async def metrics(_request: Request) -> Response:
        return Response(runtime.metrics.render(), media_type=runtime.metrics.content_type)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *runtime.routes,
    ]
    if not runtime.settings.socket_mode:
        secret = runtime.settings.slack_signing_secret
        assert secret is not None, "serve_problems() requires it in HTTP mode"
        events = slack_endpoint(runtime.bolt, secret.get_secret_value())
        routes.insert(0, Route("/slack/events", events, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)
