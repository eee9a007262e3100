"""The console's stack in this event loop: the vendor sandboxes, the Slack fake and the
real app, each a uvicorn server on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import uvicorn

from adapters import sandboxes
from bot.config import Settings
from bot.devkit.console.errors import StartupError
from bot.devkit.console.workspace import APP_ID, TEAM_DOMAIN, TEAM_ID, USER_ID
from bot.devkit.slack_fake import SlackFake
from bot.wiring.app import Runtime
from bot.wiring.server import create_server

log = logging.getLogger(__name__)

SANDBOX_SPEED = 1.0  # demo durations as written: hello.rb takes about a second


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: the console handles Ctrl-C itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Running:
    name: str
    server: _Server
    task: asyncio.Task
    url: str

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s; forcing it", self.name, timeout)
            self.server.force_exit = True
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.task, 5)


def bound_socket() -> socket.socket:
    """A socket bound to a free loopback port, for ``serve`` (its port is known at once)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


async def serve(
    name: str,
    app: Any,
    *,
    lifespan: Literal["auto", "on", "off"] = "off",
    grace: int = 5,
    sock: socket.socket | None = None,
) -> Running:
    """Serve ``app`` on a free loopback port as a task of this loop; return once it listens."""
    sock = sock or bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan=lifespan,
        log_config=None,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=grace,
    )
    server = _Server(config)

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn's way of saying that startup failed
            log.error("%s: startup failed", name)
        finally:
            sock.close()

    task = asyncio.create_task(run(), name=f"console-{name}")
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            raise StartupError(f"The {name} did not start.")
        await asyncio.sleep(0.02)
    return Running(name, server, task, f"http://127.0.0.1:{port}")


class _ConsoleSettings(Settings):
    """Settings from the arguments only: no .env file, no environment variables."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings,)


def console_settings(
    *,
    slack_api_url: str,
    sandbox_url: str,
    database_url: str,
    public_url: str | None = None,
    policy: str | None = None,
) -> Settings:
    # Settings fields by name (FLINT_BASE_URL → flint_base_url); pydantic checks them.
    vendors: dict[str, Any] = {}
    for env in sandboxes.environment(sandbox_url):
        vendors.update({key.lower(): value for key, value in env.variables.items()})
    return _ConsoleSettings(
        slack_bot_token="xoxb-console",  # noqa: S106 - the fake's token, not a secret
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=slack_api_url,
        database_url=database_url,
        chatops_poll_interval=1,
        chatops_poll_max_interval=5,
        # The sandboxes call the app back here (Stintmint results), as real vendors would.
        public_url=public_url,
        # An admin can try an access policy file here before deploying it.
        chatops_policy=policy,
        **vendors,
    )


class Stack:
    """The sandboxes, the Slack fake and the real app, started and stopped in order."""

    def __init__(self, workdir: Path, *, user_name: str, policy: str | None = None) -> None:
        self.workdir = workdir
        self.policy = policy
        self.fake = SlackFake(
            team_id=TEAM_ID,
            team_domain=TEAM_DOMAIN,
            app_id=APP_ID,
            users={USER_ID: {"name": user_name, "real_name": user_name}},
        )
        self.runtime: Runtime | None = None
        self.settings: Settings | None = None
        self.sandboxes: Running | None = None
        self.slack: Running | None = None
        self.app: Running | None = None

    @property
    def slack_url(self) -> str:
        """The Slack fake's base URL, once ``start`` has run."""
        if self.slack is None:
            raise RuntimeError("the console stack has not started")
        return self.slack.url

    @property
    def signing_secret(self) -> str:
        assert self.settings is not None and self.settings.slack_signing_secret is not None
        return self.settings.slack_signing_secret.get_secret_value()

    async def start(self) -> None:
        self.sandboxes = await serve("vendor sandboxes", sandboxes.create_app(speed=SANDBOX_SPEED))
        self.slack = await serve("Slack fake", self.fake.app)
        app_socket = bound_socket()
        self.settings = console_settings(
            slack_api_url=self.slack.url + "/api/",
            sandbox_url=self.sandboxes.url,
            database_url=f"sqlite:///{self.workdir / 'console.db'}",
            public_url=f"http://127.0.0.1:{app_socket.getsockname()[1]}",
            policy=self.policy,
        )
        self.runtime = Runtime(self.settings)
        self.app = await serve(
            "chatops-hub app",
            create_server(self.runtime),
            lifespan="on",
            grace=10,
            sock=app_socket,
        )

    async def stop(self) -> None:
        # The app first (its lifespan shutdown runs Runtime.stop), then what it talks to.
        for running, timeout in ((self.app, 40), (self.slack, 10), (self.sandboxes, 10)):
            if running is not None:
                await running.stop(timeout)
