"""``chatops`` (and ``python -m bot``): serve, console, preview, sandbox, check."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import logging
import signal
import socket
import sys

import uvicorn
from pydantic import ValidationError

from bot.logs import configure, secret_values

log = logging.getLogger("bot")

# How long a start-up still running when SIGTERM/SIGINT arrives may go on before it is
# abandoned (uvicorn alone would wait for it however long it takes).
STARTUP_STOP_WAIT = 3.0
# uvicorn's exit code when the app never started.
STARTUP_FAILURE = 3


def _settings():
    from bot.config import Settings, describe_errors

    try:
        return Settings()
    except ValidationError as exc:
        print("Configuration is invalid:", file=sys.stderr)
        for line in describe_errors(exc):
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _version() -> str:
    try:
        return importlib.metadata.version("chatops-hub")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown"


def _bind(host: str, port: int) -> list[socket.socket]:
    """A bound socket for each address ``host`` names, as asyncio's create_server would
    bind them; uvicorn listens on them once the app has started. Raises OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _name, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # so that "::" and "0.0.0.0" can both be bound
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _cannot_listen(command: str, host: str, port: int, exc: OSError) -> str:
    reason = (exc.strerror or str(exc)).lower()
    return f"chatops {command}: cannot listen on {host}:{port}: {reason}"


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _run(server: uvicorn.Server, sockets: list[socket.socket]) -> int:
    """Serve on ``sockets`` until SIGTERM/SIGINT; uvicorn's exit code semantics."""
    try:
        with asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            runner.run(_serve(server, sockets))
    except KeyboardInterrupt:
        pass
    finally:
        for sock in sockets:
            sock.close()
    return 0 if server.started else STARTUP_FAILURE


async def _serve(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """uvicorn's ``serve``, except that SIGTERM or SIGINT during start-up is obeyed too.

    uvicorn notes a signal that arrives while the app starts but then waits for the
    start-up to end, however long that takes (a database that never answers). Here the
    start-up gets STARTUP_STOP_WAIT seconds more (enough to finish and shut down cleanly),
    then it is abandoned: the signal takes its default course, ending the process at once
    (nothing has been served, so there is nothing to hand back).
    """
    serving = asyncio.ensure_future(server.serve(sockets=sockets))
    while not server.started and not serving.done():
        await asyncio.wait({serving}, timeout=0.1)
        if server.should_exit and not server.started and not serving.done():
            await asyncio.wait({serving}, timeout=STARTUP_STOP_WAIT)
            if not server.started and not serving.done():
                log.warning("stop requested during start-up: abandoning the start-up")
                # uvicorn keeps the signals it caught, to raise them again once it is done.
                caught = getattr(server, "_captured_signals", None) or [signal.SIGTERM]
                signal.signal(caught[-1], signal.SIG_DFL)
                signal.raise_signal(caught[-1])
            break
    await serving


def _app_token_refused(settings) -> str | None:
    """Slack's refusal of SLACK_APP_TOKEN, if it refuses it; None if it takes it or cannot
    be asked now (then the app connects in the background: bot/wiring/socket_mode.py)."""
    from bot.wiring.socket_mode import SocketModeError, verify_app_token

    token = settings.slack_app_token.get_secret_value()
    try:
        asyncio.run(verify_app_token(settings.slack_api_url, token))
    except SocketModeError as exc:
        if exc.refused:
            return f"SLACK_APP_TOKEN: Slack refused it ({exc})"
        log.warning("Socket Mode: cannot reach Slack yet (%s); connecting in the background", exc)
    return None


def serve(_args: argparse.Namespace) -> int:
    from bot.policy import PolicyError
    from bot.wiring.app import Runtime
    from bot.wiring.server import create_server

    settings = _settings()
    configure(settings.chatops_log_level, settings.chatops_log_format, secret_values(settings))
    problems = settings.serve_problems()
    if problems:
        for problem in problems:
            print(f"chatops serve: {problem}", file=sys.stderr)
        return 2
    # Bind first: a port in use is one line, before anything says the app is starting.
    try:
        sockets = _bind(settings.host, settings.port)
    except OSError as exc:
        print(_cannot_listen("serve", settings.host, settings.port, exc), file=sys.stderr)
        return 1
    refused: str | None
    try:
        runtime = Runtime(settings)
    except PolicyError as exc:
        refused = str(exc)
    else:
        refused = _app_token_refused(settings) if settings.socket_mode else None
    if refused:
        for sock in sockets:
            sock.close()
        print(f"chatops serve: {refused}", file=sys.stderr)
        return 2
    _announce(settings, runtime, sockets[0].getsockname()[1])
    config = uvicorn.Config(
        create_server(runtime),
        log_level=settings.chatops_log_level.lower(),
        log_config=None,  # our one-line (or JSON) handler, for uvicorn's lines too
        lifespan="on",
        timeout_graceful_shutdown=30,
        access_log=False,
    )
    return _run(uvicorn.Server(config), sockets)


def _announce(settings, runtime, port: int) -> None:
    if runtime.policy.enforced:
        log.info(
            "access policy: %d rule(s) from %s", len(runtime.policy.rules), runtime.policy.source
        )
        for warning in runtime.policy.warnings:
            log.warning("%s", warning)
    else:
        log.warning("CHATOPS_POLICY is not set: everyone in the workspace may run every command")
    for status in settings.vendor_statuses():
        if status.partial:
            log.warning("%s is not configured: %s", status.name, status.partial)
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    log.info(
        "chatops-hub %s (%s) listening on %s",
        _version(),
        mode,
        _base_url(settings.host, port),
    )


def sandbox(args: argparse.Namespace) -> int:
    from adapters import sandboxes

    configure("INFO")
    # Bind first: the settings printed below are only worth having if the port is ours.
    try:
        sockets = _bind(args.host, args.port)
    except OSError as exc:
        print(_cannot_listen("sandbox", args.host, args.port, exc), file=sys.stderr)
        return 1
    base = _base_url(args.host, sockets[0].getsockname()[1])
    print(f"Vendor sandboxes on {base}. Point the app at them with:\n")
    for env in sandboxes.environment(base):
        for key, value in env.variables.items():
            print(f"  {key}={value}")
    print(flush=True)
    config = uvicorn.Config(sandboxes.create_app(speed=args.speed), log_level="warning")
    return _run(uvicorn.Server(config), sockets)


def check(_args: argparse.Namespace) -> int:
    from bot.wiring.check import main as check_main

    return check_main()


def audit(args: argparse.Namespace) -> int:
    from bot.wiring.audit_cli import main as audit_main

    return audit_main(
        _settings(), since=args.since, user=args.user, limit=args.limit, as_json=args.json
    )


def _without_console_extra(exc: ModuleNotFoundError, command: str, hint: str = "") -> int:
    """``chatops COMMAND`` cannot start: say so if the console extra is what is missing."""
    if (exc.name or "").split(".")[0] not in ("rich", "prompt_toolkit"):
        raise exc
    print(
        f"chatops {command} needs the console extra: pip install 'chatops-hub[console]'{hint}.",
        file=sys.stderr,
    )
    return 2


def console(args: argparse.Namespace) -> int:
    try:
        from bot.devkit.console import main as console_main
    except ModuleNotFoundError as exc:
        return _without_console_extra(exc, "console", " (make console installs it)")

    return console_main(script=args.script, policy=args.policy)


def preview(args: argparse.Namespace) -> int:
    try:
        from bot.devkit.preview import main as preview_main
    except ModuleNotFoundError as exc:
        return _without_console_extra(exc, "preview")

    return preview_main(out=args.out, script=args.script, screenshots=args.screenshots)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatops", description="chatops-hub: vendors from Slack")
    parser.add_argument("--version", action="version", version=f"chatops-hub {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set)")
    p_console = sub.add_parser("console", help="try every command in a terminal, no Slack needed")
    p_console.add_argument(
        "--script", help="read commands from this file ('-' for stdin) instead of a prompt"
    )
    p_console.add_argument(
        "--policy", help="try this access policy file (as CHATOPS_POLICY would in serve)"
    )
    p_preview = sub.add_parser(
        "preview", help="draw every card, form and the Home page of a tour as an HTML gallery"
    )
    p_preview.add_argument("--out", required=True, help="write the gallery into this folder")
    p_preview.add_argument("--script", help="run this console script instead of the built-in tour")
    p_preview.add_argument(
        "--screenshots",
        metavar="DIR",
        help="also save the tour's marked items as PNGs here (needs Playwright and chromium)",
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
        "preview": preview,
        "sandbox": sandbox,
        "check": check,
        "audit": audit,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
