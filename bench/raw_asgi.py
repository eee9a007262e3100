"""Server (c): a raw ASGI endpoint that only verifies Slack's signature and answers 200.

The floor for "Slack request in, acknowledgement out" under the same uvicorn settings:
no framework, no routing beyond a path check, no work after the answer.
``python -m bench.raw_asgi --port N`` (signing secret: ``SLACK_SIGNING_SECRET``).
"""

from __future__ import annotations

import os

from bench.serving import port_argument, serve
from bench.slack_requests import SIGNING_SECRET, verify


def create_app(signing_secret: str):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        if scope["path"] == "/healthz":
            status = 200
        elif scope["path"] == "/slack/events" and scope["method"] == "POST":
            ts = headers.get(b"x-slack-request-timestamp", b"").decode("latin-1")
            sig = headers.get(b"x-slack-signature", b"").decode("latin-1")
            status = 200 if verify(body, ts, sig, signing_secret) else 401
        else:
            status = 404
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    args = port_argument(__doc__ or "")
    serve(create_app(os.environ.get("SLACK_SIGNING_SECRET", SIGNING_SECRET)), args.port)
