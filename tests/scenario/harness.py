"""Start the real app (uvicorn, HTTP mode) against the Slack fake and vendor sandboxes,
and talk to it with correctly signed requests, the way Slack does."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters import sandboxes
from bot.config import Settings
from bot.store import Store
from bot.wiring.app import Runtime
from bot.wiring.server import create_server
from tests.fakes.servers import ThreadedServer, free_port, mounted_app
from tests.fakes.slack_api import block_actions_body, sign, slash_command_body, wait_for

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def running_sandboxes(**kw: Any) -> Iterator[ThreadedServer]:
    app = sandboxes.create_app(**kw)
    with ThreadedServer(app) as server:
        server.app = app  # type: ignore[attr-defined]
        yield server


def flint_sandbox_app(server: ThreadedServer):
    """The mounted Flint sandbox (for its ``state.calls`` record)."""
    return mounted_app(server, "/flint")


def app_env(*, slack_api_url: str, sandbox_url: str | None, database_url: str, **extra: Any):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": extra.pop("signing_secret", "test-signing-secret"),
        "SLACK_API_URL": slack_api_url,
        "DATABASE_URL": database_url,
        "CHATOPS_POLL_INTERVAL": "0.2",
        "CHATOPS_POLL_MAX_INTERVAL": "1",
    }
    if sandbox_url:
        for vendor in sandboxes.environment(sandbox_url):
            env.update(vendor.variables)
    env.update({k.upper(): str(v) for k, v in extra.items()})
    return env


@dataclass
class SlackClient:
    """Sends signed Slack requests to an app's /slack/events."""

    url: str
    signing_secret: str
    response_url: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def post(self, body: bytes, content_type: str, timestamp: int | None = None) -> httpx.Response:
        headers = sign(body, self.signing_secret, timestamp)
        headers["Content-Type"] = content_type
        return self.http.post(self.url + "/slack/events", content=body, headers=headers)

    def command(
        self, text: str, *, command: str = "/flint", timestamp: int | None = None, **kw: Any
    ) -> httpx.Response:
        kw.setdefault("response_url", self.response_url)
        body = slash_command_body(command, text, **kw)
        return self.post(body, "application/x-www-form-urlencoded", timestamp)

    def click(self, action_id: str, value: str, **kw: Any) -> httpx.Response:
        kw.setdefault("response_url", self.response_url)
        body = block_actions_body(action_id, value, **kw)
        return self.post(body, "application/x-www-form-urlencoded")


@dataclass
class InProcessApp:
    runtime: Runtime
    server: ThreadedServer
    client: SlackClient

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def running_app(
    slack, sandbox_url: str | None, tmp_path: Path, *, port: int | None = None, **overrides: Any
):
    """The real Starlette app + Runtime under uvicorn in a thread (lifespan on).

    ``port`` fixes the app's port in advance, e.g. to give it a PUBLIC_URL for callbacks.
    """
    env = app_env(
        slack_api_url=slack.api_url,
        sandbox_url=sandbox_url,
        database_url=overrides.pop("database_url", f"sqlite:///{tmp_path / 'app.db'}"),
        **overrides,
    )
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    runtime = Runtime(settings)
    server = ThreadedServer(create_server(runtime), lifespan="on", port=port)
    with server:
        client = SlackClient(
            server.url, env["SLACK_SIGNING_SECRET"], slack.fake.response_url(slack.url)
        )
        yield InProcessApp(runtime, server, client)


@dataclass
class AppProcess:
    """``chatops serve`` as a real subprocess (for restarts, kills and replicas)."""

    env: dict[str, str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppProcess:
        return self.launch().wait_healthy()

    def launch(self) -> AppProcess:
        env = {**os.environ, **self.env, "PORT": str(self.port), "HOST": "127.0.0.1"}
        env.pop("SLACK_APP_TOKEN", None)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"], env=env, stdout=log, stderr=log, cwd=REPO
            )
        return self

    def wait_healthy(self) -> AppProcess:
        wait_for(self._healthy, timeout=30, message=f"app on {self.port} never became healthy")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"app exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        self.terminate()
        return self.proc.wait(timeout=40) if self.proc else 0

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def client(self, slack) -> SlackClient:
        return SlackClient(
            self.url, self.env["SLACK_SIGNING_SECRET"], slack.fake.response_url(slack.url)
        )


def start_all(processes: list[AppProcess]) -> list[AppProcess]:
    """Start several at once: each spends its start-up importing, not waiting on the others.
    Their database is migrated here first: two start-ups migrating a new SQLite file at the
    same moment can fail ("table jobs already exists"), which is not what these tests test."""
    for url in {process.env["DATABASE_URL"] for process in processes}:
        asyncio.run(_migrate(url))
    for process in processes:
        process.launch()
    return [process.wait_healthy() for process in processes]


async def _migrate(database_url: str) -> None:
    store = Store(database_url)
    try:
        await store.start()
    finally:
        await store.close()


def stop_all(processes: list[AppProcess]) -> list[int]:
    """SIGTERM to all, then wait for each: their graceful shutdowns overlap."""
    for process in processes:
        process.terminate()
    return [process.stop() for process in processes]


def app_process(slack, sandbox_url: str, tmp_path: Path, name: str, **overrides: Any):
    env = app_env(
        slack_api_url=slack.api_url,
        sandbox_url=sandbox_url,
        database_url=overrides.pop("database_url", f"sqlite:///{tmp_path / 'shared.db'}"),
        **overrides,
    )
    return AppProcess(env=env, port=free_port(), log_path=tmp_path / f"{name}.log")


def blocks_text(blocks: Any) -> str:
    """All text in a message's blocks, for assertions."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks or [], ensure_ascii=False)


def new_secret() -> str:
    return secrets.token_hex(16)


def settle(seconds: float) -> None:
    time.sleep(seconds)
