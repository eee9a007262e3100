"""``chatops`` (and ``python -m bot``): serve, console, sandbox, check."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from pydantic import ValidationError

from bot.logs import configure

log = logging.getLogger("bot")


def _settings():
    from bot.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        print("Configuration is invalid:", file=sys.stderr)
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]).upper()
            print(f"  {field}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def serve(_args: argparse.Namespace) -> int:
    from bot.app import Runtime
    from bot.server import create_server

    settings = _settings()
    configure(settings.chatops_log_level)
    problems = settings.serve_problems()
    if problems:
        for problem in problems:
            print(f"chatops serve: {problem}", file=sys.stderr)
        return 2
    if settings.chatops_policy:
        print(
            "chatops serve: CHATOPS_POLICY is set, but this version cannot enforce access "
            "policies yet; refusing to start rather than ignore it. Unset it to allow "
            "everyone to run every command.",
            file=sys.stderr,
        )
        return 2
    log.warning("CHATOPS_POLICY is not set: everyone in the workspace may run every command")
    server = create_server(Runtime(settings))
    uvicorn.run(
        server,
        host=settings.host,
        port=settings.port,
        log_level=settings.chatops_log_level.lower(),
        lifespan="on",
        timeout_graceful_shutdown=30,
        access_log=False,
    )
    return 0


def sandbox(args: argparse.Namespace) -> int:
    from adapters import sandboxes

    configure("INFO")
    base = f"http://{args.host}:{args.port}"
    print(f"Vendor sandboxes on {base}. Point the app at them with:\n")
    for env in sandboxes.environment(base):
        for key, value in env.variables.items():
            print(f"  {key}={value}")
    print()
    uvicorn.run(
        sandboxes.create_app(speed=args.speed),
        host=args.host,
        port=args.port,
        log_level="warning",
    )
    return 0


def check(_args: argparse.Namespace) -> int:
    from bot.check import main as check_main

    return check_main()


def console(args: argparse.Namespace) -> int:
    from bot.console import main as console_main

    return console_main(script=args.script)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatops", description="chatops-hub: vendors from Slack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set)")
    p_console = sub.add_parser("console", help="try every command in a terminal, no Slack needed")
    p_console.add_argument(
        "--script", help="read commands from this file ('-' for stdin) instead of a prompt"
    )
    p_sandbox = sub.add_parser("sandbox", help="serve the vendor sandboxes for local development")
    p_sandbox.add_argument("--host", default="127.0.0.1")
    p_sandbox.add_argument("--port", type=int, default=8700)
    p_sandbox.add_argument(
        "--speed", type=float, default=1.0, help="scale sandbox job durations (0.1 = 10x faster)"
    )
    sub.add_parser("check", help="validate settings and reach every configured vendor")
    args = parser.parse_args(argv)
    handlers = {"serve": serve, "console": console, "sandbox": sandbox, "check": check}
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
