"""Every vendor sandbox on one ASGI app, each under its own prefix (``/flint``, …)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from adapters.flint import sandbox as flint_sandbox
from adapters.mindstamp import sandbox as mindstamp_sandbox
from adapters.mint import sandbox as mint_sandbox
from adapters.stintmint import sandbox as stintmint_sandbox
from adapters.stomt import sandbox as stomt_sandbox

DEFAULT_PORT = 8700


@dataclass(frozen=True)
class SandboxEnv:
    """The settings that point the app at a sandbox, as environment variables."""

    vendor: str
    variables: dict[str, str]


def create_app(
    *,
    speed: float = 1.0,
    flint_answer_delay: float = 0.0,
    stintmint_retry_interval: float = 1.0,
) -> Starlette:
    """``speed`` scales how long sandbox jobs take (0.1: ten times faster)."""
    apps = {
        flint_sandbox.SANDBOX_PREFIX: flint_sandbox.create_app(
            speed=speed, answer_delay=flint_answer_delay
        ),
        stomt_sandbox.SANDBOX_PREFIX: stomt_sandbox.create_app(),
        mint_sandbox.SANDBOX_PREFIX: mint_sandbox.create_app(speed=speed),
        mindstamp_sandbox.SANDBOX_PREFIX: mindstamp_sandbox.create_app(),
        stintmint_sandbox.SANDBOX_PREFIX: stintmint_sandbox.create_app(
            complete_after=4.0 * speed, retry_interval=stintmint_retry_interval
        ),
    }

    async def index(_request):
        return JSONResponse({"sandboxes": sorted(prefix.strip("/") for prefix in apps)})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Starlette does not run the lifespans of mounted apps; some sandboxes own clients
        # and background tasks (Stintmint's callbacks), so run theirs here.
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    routes = [Route("/", index), *(Mount(prefix, app=app) for prefix, app in apps.items())]
    return Starlette(routes=routes, lifespan=lifespan)


def environment(base_url: str) -> list[SandboxEnv]:
    base_url = base_url.rstrip("/")
    return [
        SandboxEnv(
            "Flint",
            {
                "FLINT_URL": base_url + flint_sandbox.SANDBOX_PREFIX,
                "FLINT_USERNAME": flint_sandbox.DEMO_USERNAME,
                "FLINT_PASSWORD": flint_sandbox.DEMO_PASSWORD,
            },
        ),
        SandboxEnv(
            "STOMT",
            {
                "STOMT_URL": base_url + stomt_sandbox.SANDBOX_PREFIX,
                "STOMT_APPID": stomt_sandbox.DEMO_APPID,
                "STOMT_USERNAME": stomt_sandbox.DEMO_USERNAME,
                "STOMT_PASSWORD": stomt_sandbox.DEMO_PASSWORD,
                "STOMT_TARGET": stomt_sandbox.DEMO_TARGET,
            },
        ),
        SandboxEnv(
            "Stintmint",
            {
                "STINTMINT_URL": base_url + stintmint_sandbox.SANDBOX_PREFIX,
                "STINTMINT_USERNAME": stintmint_sandbox.DEMO_USERNAME,
                "STINTMINT_KEY": stintmint_sandbox.DEMO_KEY,
            },
        ),
        SandboxEnv(
            "Signicat Mint",
            {
                "MINT_URL": base_url + mint_sandbox.SANDBOX_PREFIX,
                "MINT_TOKEN_URL": base_url + mint_sandbox.SANDBOX_PREFIX + mint_sandbox.TOKEN_PATH,
                "MINT_CLIENT_ID": mint_sandbox.DEMO_CLIENT_ID,
                "MINT_CLIENT_SECRET": mint_sandbox.DEMO_CLIENT_SECRET,
            },
        ),
        SandboxEnv(
            "Mindstamp",
            {
                "MINDSTAMP_URL": base_url + mindstamp_sandbox.SANDBOX_PREFIX,
                "MINDSTAMP_TOKEN": mindstamp_sandbox.DEMO_TOKEN,
            },
        ),
    ]
