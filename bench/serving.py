"""One uvicorn configuration for every server under load, copied from ``chatops serve``.

``bot/__main__.py`` runs ``uvicorn.run(server, host, port, log_level=<CHATOPS_LOG_LEVEL>,
lifespan="on", timeout_graceful_shutdown=30, access_log=False)`` with uvicorn's default
loop and HTTP implementations; the bare Bolt app and the raw ASGI endpoint get exactly
that, so the comparison measures the apps, not the server settings.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import uvicorn

UVICORN_SETTINGS: dict[str, Any] = {
    "log_level": "info",
    "lifespan": "on",
    "timeout_graceful_shutdown": 30,
    "access_log": False,
}


def implementations() -> dict[str, str]:
    """What uvicorn's ``auto`` loop and HTTP settings resolve to in this environment."""
    has = importlib.util.find_spec
    return {
        "loop": "uvloop" if has("uvloop") else "asyncio",
        "http": "httptools" if has("httptools") else "h11",
    }


def serve(app: Any, port: int, host: str = "127.0.0.1") -> None:
    uvicorn.run(app, host=host, port=port, **UVICORN_SETTINGS)


def port_argument(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_known_args()[0]
