"""The HTTP server: Slack requests, health and metrics, as one Starlette app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import Runtime


def create_server(runtime: Runtime) -> Starlette:
    slack_handler = AsyncSlackRequestHandler(runtime.bolt)

    async def slack_events(request: Request) -> Response:
        return await slack_handler.handle(request)

    async def healthz(_request: Request) -> Response:
        if await runtime.store.ping(within=2.0):
            mode = "socket" if runtime.settings.socket_mode else "http"
            return JSONResponse({"status": "ok", "mode": mode, "database": "ok"})
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)

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
        routes.insert(0, Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan)
