"""The Slack Web API fake (``bot.devkit.slack_fake.SlackFake``) in its own process, plus two
routes for the benchmark: ``GET /_bench/calls?after=SEQ`` (what the fake recorded, with
``time.monotonic()`` times, comparable across processes on Linux), ``POST /_bench/reset``,
``GET /_bench/response_url`` (a response URL the fake serves) and ``POST /_bench/fail_next``
(JSON ``{"method", "error", "retry_after", "times"}``: the fake's ``fail_next``, e.g. a 429).
``python -m bench.slack_server --port N``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from bench.serving import port_argument
from bot.devkit.slack_fake import SlackFake


def create_app() -> Starlette:
    fake = SlackFake()
    base: dict[str, str] = {}

    async def calls(request: Request):
        after = int(request.query_params.get("after", "0"))
        method = request.query_params.get("method")
        rows = [
            {
                "seq": c.seq,
                "method": c.method,
                "at": c.at,
                "channel": c.args.get("channel"),
                "ts": c.args.get("ts"),
                "text": c.args.get("text") if isinstance(c.args.get("text"), str) else None,
                "error": c.error,
            }
            for c in fake.calls
            if c.seq > after and (method is None or c.method == method)
        ]
        return JSONResponse(rows)

    async def reset(_request: Request):
        fake.reset()
        return JSONResponse({"ok": True})

    async def fail_next(request: Request):
        spec = await request.json()
        fake.fail_next(
            spec["method"],
            spec.get("error", "ratelimited"),
            retry_after=spec.get("retry_after"),
            times=int(spec.get("times", 1)),
        )
        return JSONResponse({"ok": True})

    async def response_url(request: Request):
        base.setdefault("url", str(request.base_url).rstrip("/"))
        return JSONResponse({"url": fake.response_url(base["url"])})

    return Starlette(
        routes=[
            Route("/_bench/calls", calls),
            Route("/_bench/reset", reset, methods=["POST"]),
            Route("/_bench/response_url", response_url),
            Route("/_bench/fail_next", fail_next, methods=["POST"]),
            Route("/healthz", lambda _r: JSONResponse({"ok": True})),
            Mount("/", app=fake.app),
        ]
    )


if __name__ == "__main__":
    import uvicorn

    args = port_argument(__doc__ or "")
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_level="warning")
