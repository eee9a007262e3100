"""``chatops`` (and ``python -m bot``): serve, console, sandbox, check."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from pydantic import ValidationError

from bot.logs import configure, secret_values

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
    from bot.policy import PolicyError
    from bot.server import create_server

    settings = _settings()
    configure(settings.chatops_log_level, settings.chatops_log_format, secret_values(settings))
    problems = settings.serve_problems()
    if problems:
        for problem in problems:
            print(f"chatops serve: {problem}", file=sys.stderr)
        return 2
    try:
        runtime = Runtime(settings)
    except PolicyError as exc:
        print(f"chatops serve: {exc}", file=sys.stderr)
        return 2
    if runtime.policy.enforced:
        log.info(
            "access policy: %d rule(s) from %s", len(runtime.policy.rules), runtime.policy.source
        )
    else:
        log.warning("CHATOPS_POLICY is not set: everyone in the workspace may run every command")
    uvicorn.run(
        create_server(runtime),
        host=settings.host,
        port=settings.port,
        log_level=settings.chatops_log_level.lower(),
        log_config=None,  # our one-line (or JSON) handler, for uvicorn's lines too
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


def audit(args: argparse.Namespace) -> int:
    from bot.audit_cli import main as audit_main

    return audit_main(
        _settings(), since=args.since, user=args.user, limit=args.limit, as_json=args.json
    )


def console(args: argparse.Namespace) -> int:
    from bot.console import main as console_main

    return console_main(script=args.script, policy=args.policy)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatops", description="chatops-hub: vendors from Slack")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set)")
    p_console = sub.add_parser("console", help="try every command in a terminal, no Slack needed")
    p_console.add_argument(
        "--script", help="read commands from this file ('-' for stdin) instead of a prompt"
    )
    p_console.add_argument(
        "--policy", help="try this access policy file (as CHATOPS_POLICY would in serve)"
    )
    p_sandbox = sub.add_parser("sandbox", help="serve the vendor sandboxes for local development")
    p_sandbox.add_argument("--host", default="127.0.0.1")
    p_sandbox.add_argument("--port", type=int, default=8700)
    p_sandbox.add_argument(
        "--speed", type=float, default=1.0, help="scale sandbox job durations (0.1 = 10x faster)"
    )
    sub.add_parser("check", help="validate settings and reach every configured vendor")
    p_audit = sub.add_parser("audit", help="print the audit log (who ran what, where, outcome)")
    p_audit.add_argument(
        "--since", help="only entries since: 7d, 12h, 30m, 2026-11-01 or an ISO date-time"
    )
    p_audit.add_argument("--user", help="only this Slack user id (U…)")
    p_audit.add_argument("--limit", type=int, default=1000, help="at most this many (newest)")
    p_audit.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    handlers = {
        "serve": serve,
        "console": console,
        "sandbox": sandbox,
        "check": check,
        "audit": audit,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
