"""Server (b): a bare slack-bolt AsyncApp with one slash command that acks, then posts a
reply with chat.postMessage — the baseline chatops-hub is compared with.

Served like chatops-hub: Bolt's Starlette adapter on ``POST /slack/events`` under the same
uvicorn settings, default ``process_before_response=False``, the Web API client pointed
at ``SLACK_API_URL`` and given one shared aiohttp session (as chatops-hub does; without it
the SDK opens a new session, and a new connection, for every call).
``python -m bench.bare_bolt --port N``.
"""

from __future__ import annotations

import contextlib
import os

import aiohttp
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.serving import port_argument, serve
from bench.slack_requests import BOT_TOKEN, SIGNING_SECRET


def create_app(*, token: str, signing_secret: str, api_url: str) -> Starlette:
    client = AsyncWebClient(token=token, base_url=api_url)
    bolt = AsyncApp(client=client, signing_secret=signing_secret)

    @bolt.command("/flint")
    async def flint(ack, command, client):
        await ack()
        await client.chat_postMessage(
            channel=command["channel_id"], text=f"Running `{command['text']}` …"
        )

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request):
        return await handler.handle(request)

    async def healthz(_request: Request):
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with aiohttp.ClientSession() as session:
            client.session = session
            yield

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    args = port_argument(__doc__ or "")
    serve(
        create_app(
            token=os.environ.get("SLACK_BOT_TOKEN", BOT_TOKEN),
            signing_secret=os.environ.get("SLACK_SIGNING_SECRET", SIGNING_SECRET),
            api_url=os.environ["SLACK_API_URL"],
        ),
        args.port,
    )
