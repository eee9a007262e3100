"""Every vendor sandbox on one ASGI app, each under its own prefix (``/flint``, …)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from adapters.flint import sandbox as flint_sandbox

DEFAULT_PORT = 8700


@dataclass(frozen=True)
class SandboxEnv:
    """The settings that point the app at a sandbox, as environment variables."""

    vendor: str
    variables: dict[str, str]


def create_app(*, speed: float = 1.0, flint_answer_delay: float = 0.0) -> Starlette:
    flint = flint_sandbox.create_app(speed=speed, answer_delay=flint_answer_delay)

    async def index(_request):
        return JSONResponse({"sandboxes": ["flint"]})

    return Starlette(
        routes=[Route("/", index), Mount(flint_sandbox.SANDBOX_PREFIX, app=flint)],
    )


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
        )
    ]
