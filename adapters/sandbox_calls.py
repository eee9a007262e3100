"""What every vendor sandbox records: each answer it sent, for tests and benchmarks."""

from __future__ import annotations

import time
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Call(NamedTuple):
    """One answer a sandbox sent."""

    at: float  # time.monotonic() when the response started
    method: str
    path: str
    status: int


class RecordCalls:
    """ASGI middleware appending a Call to ``calls`` just before each response starts."""

    def __init__(self, app: ASGIApp, calls: list[Call]) -> None:
        self.app = app
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                call = Call(time.monotonic(), scope["method"], scope["path"], message["status"])
                self.calls.append(call)
            await send(message)

        await self.app(scope, receive, recording_send)
