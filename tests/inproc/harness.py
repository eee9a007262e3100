"""The real app in this process: ``bot.wiring.app.Runtime`` and
``bot.wiring.server.create_server`` built from settings exactly as ``chatops serve``
builds them, the server's lifespan run on an event loop in a thread (as uvicorn runs
it), and Slack's requests signed and sent through the Starlette app over httpx's ASGI
transport, so ``bot/wiring/inbound.py`` verifies every one.
The Slack Web API fake and the vendor sandboxes stay on real loopback HTTP.

No socket, no uvicorn and no process per request: a command costs milliseconds, and one
app serves a whole module (``World.reset`` between tests). What needs a real socket or a
real process (body limits on the wire, signals, restarts, replicas, Socket Mode) stays
in tests/scenario.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from bot.config import Settings
from bot.pacing import KV_ROW
from bot.store.jobs import ACTIVE, NOTIFYING, STARTING
from bot.wiring.app import Runtime
from bot.wiring.server import create_server
from tests.fakes.slack_api import RunningSlackFake, running_slack_fake, wait_for
from tests.scenario.harness import SlackClient, app_env, running_sandboxes

T = TypeVar("T")

# Only a name for the ASGI transport: no socket is opened for it.
BASE_URL = "http://chatops.inproc"
# What a test leaves behind in the state store; the next test on the same app starts
# without it (kv keeps the callback-signing key, handled_requests only grows).
PER_TEST_TABLES = (
    "jobs",
    "audit_log",
    "digest_subscriptions",
    "confirmations",
    "step_runs",
    "approvals",
)


class AppLoop:
    """An event loop in a daemon thread: the app's, as uvicorn's thread is in production."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class ASGIHttp:
    """A blocking ``get``/``post`` client (the part of ``httpx.Client`` tests use) whose
    requests go through the ASGI app on the app's own loop."""

    def __init__(self, asgi: Any, loop: AppLoop) -> None:
        self._loop = loop
        transport = httpx.ASGITransport(app=asgi, client=("127.0.0.1", 40000))
        self._client = httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30)

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self._loop.run(self._client.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def close(self) -> None:
        self._loop.run(self._client.aclose())


@dataclass
class InProcessApp:
    """The app as tests see it: ``client`` sends signed Slack requests, ``http`` reaches any
    route (``/healthz``, ``/metrics``, ``/hooks/...``), ``run`` runs a coroutine on the app's
    loop (e.g. a query through ``runtime.store``)."""

    runtime: Runtime
    loop: AppLoop
    http: ASGIHttp
    client: SlackClient
    url: str = BASE_URL

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return self.loop.run(coro, timeout)

    def busy_jobs(self) -> int:
        async def count() -> int:
            query = sa.text("SELECT COUNT(*) FROM jobs WHERE state IN (:a, :b, :c)")
            async with self.runtime.store.engine.connect() as conn:
                found = await conn.execute(query, {"a": STARTING, "b": ACTIVE, "c": NOTIFYING})
                return found.scalar_one()

        return self.run(count())

    def wait_quiet(self, timeout: float = 20.0) -> None:
        """Until no request's work runs and no job is still followed: whatever the requests
        so far would send the vendors or Slack, they have sent (no fixed sleep needed)."""
        wait_for(
            lambda: self.runtime.work.running == 0 and self.busy_jobs() == 0,
            timeout=timeout,
            message="the app never went quiet: a test left work running",
        )

    def forget_state(self) -> None:
        """The per-test tables emptied, and Mindstamp's and the card pacer's budgets full again."""
        mindstamp = self.runtime.deps.mindstamp
        if mindstamp is not None:
            mindstamp.limiter.reset()

        async def clear() -> None:
            async with self.runtime.store.engine.begin() as conn:
                for table in PER_TEST_TABLES:
                    await conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608
                # The card pacer's shared budget and any 429 pause a test left behind.
                await conn.execute(sa.text("DELETE FROM kv WHERE key = :key"), {"key": KV_ROW})

        self.run(clear())


@contextmanager
def inproc_app(
    slack: RunningSlackFake, sandbox_url: str | None, tmp_path: Path, **overrides: Any
) -> Iterator[InProcessApp]:
    """The real Starlette app and Runtime, lifespan on, served in process."""
    env = app_env(
        slack_api_url=slack.api_url,
        sandbox_url=sandbox_url,
        database_url=overrides.pop("database_url", f"sqlite:///{tmp_path / 'app.db'}"),
        **overrides,
    )
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})
    runtime = Runtime(settings)
    asgi = create_server(runtime)
    loop = AppLoop()
    lifespan = asgi.router.lifespan_context(asgi)
    try:
        loop.run(lifespan.__aenter__())
        http = ASGIHttp(asgi, loop)
        try:
            client = SlackClient(
                BASE_URL, env["SLACK_SIGNING_SECRET"], slack.response_url(), http=http
            )
            yield InProcessApp(runtime, loop, http, client)
        finally:
            http.close()
            loop.run(lifespan.__aexit__(None, None, None), timeout=60)
    finally:
        loop.close()


@dataclass
class Servers:
    """The Slack fake and the vendor sandboxes (None: no vendor configured), and the apps
    running against them."""

    slack: RunningSlackFake
    sandbox: Any  # tests.fakes.servers.ThreadedServer with ``.app``, or None
    apps: list[InProcessApp] = field(default_factory=list)

    @property
    def sandbox_url(self) -> str | None:
        return self.sandbox.url if self.sandbox is not None else None

    @contextmanager
    def app(self, tmp_path: Path, **overrides: Any) -> Iterator[InProcessApp]:
        """An app against these servers; ``overrides`` are its settings."""
        with inproc_app(self.slack, self.sandbox_url, tmp_path, **overrides) as running:
            self.apps.append(running)
            try:
                yield running
            finally:
                self.apps.remove(running)

    def clear(self) -> None:
        """Once every app here is quiet (a late answer of the previous test would land in
        the next one's records), empty the fake's and the sandboxes' records; their
        configuration stays."""
        for app in self.apps:
            app.wait_quiet()
        self.slack.fake.reset()
        if self.sandbox is not None:
            for route in self.sandbox.app.routes:
                calls = getattr(getattr(getattr(route, "app", None), "state", None), "calls", None)
                if calls is not None:
                    calls.clear()


@contextmanager
def servers(*, sandbox: dict[str, Any] | None = None, vendors: bool = True) -> Iterator[Servers]:
    """``sandbox`` are ``adapters.sandboxes.create_app`` options (default speed 0.05);
    ``vendors=False``: no sandbox, every vendor unconfigured."""
    with ExitStack() as stack:
        slack = stack.enter_context(running_slack_fake())
        server = None
        if vendors:
            server = stack.enter_context(running_sandboxes(**{"speed": 0.05, **(sandbox or {})}))
        yield Servers(slack, server)


@dataclass
class World:
    """The Slack fake, the vendor sandboxes and the app, for a module or a test."""

    servers: Servers
    app: InProcessApp

    @property
    def slack(self) -> RunningSlackFake:
        return self.servers.slack

    @property
    def sandbox(self) -> Any:
        return self.servers.sandbox

    def reset(self) -> None:
        """What one test did is not seen by the next: its work finished, the records of
        the fake and the sandboxes emptied, the per-test tables of the state store cleared."""
        self.servers.clear()
        self.app.forget_state()


@contextmanager
def world(
    tmp_path: Path,
    *,
    sandbox: dict[str, Any] | None = None,
    vendors: bool = True,
    **overrides: Any,
) -> Iterator[World]:
    """A fresh world; options as for ``servers``, ``overrides`` are app settings."""
    with (
        servers(sandbox=sandbox, vendors=vendors) as running,
        running.app(tmp_path, **overrides) as app,
    ):
        yield World(running, app)
