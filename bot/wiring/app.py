"""Wiring: builds the Bolt app, store, tracker, scheduler and vendor clients from settings."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import httpx
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)

from adapters.http import DEFAULT_LIMITS, DEFAULT_TIMEOUT
from bot.audit import Audit
from bot.background import BackgroundWork
from bot.callbacks import CallbackSigner
from bot.config import Settings
from bot.digests import Digests
from bot.logs import SecretRedactor, secret_values
from bot.metrics import Metrics, MetricsTransport
from bot.pacing import Pace, Pacer
from bot.policy import Policy, UsergroupMembers
from bot.steps import StepCompleter
from bot.store import Store
from bot.store.digests import DigestStore
from bot.store.kv import KeyValueStore
from bot.tracking import Tracker
from bot.wiring.outbound import Outbound, RedactingWebClient
from bot.wiring.scheduler import Scheduler
from bot.wiring.socket_mode import SocketModeLink
from bot.wiring.vendors import build_clients
from handlers import policy_commands, register_listeners
from handlers.deps import Deps

log = logging.getLogger(__name__)

# How long a clean shutdown waits for work started before it (vendor calls after ack).
SHUTDOWN_GRACE = 25.0


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


class Runtime:
    """Everything one ``chatops serve`` process runs. ``start``/``stop`` bracket its life."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Raises PolicyError (naming the line) for a malformed file: better not to start.
        self.policy = Policy.load(settings.chatops_policy, policy_commands())
        self.metrics = Metrics()
        self.store = Store(settings.database_url)
        self.work = BackgroundWork(
            limit=settings.chatops_max_inflight, per_user=settings.chatops_max_inflight_per_user
        )
        # Every string bound for Slack loses the app's own secrets first (bot/wiring/outbound.py).
        self.redact = SecretRedactor(secret_values(settings))
        self.slack = RedactingWebClient(
            redact=self.redact,
            token=_secret(settings.slack_bot_token),
            base_url=settings.slack_api_url,
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        self.bolt = MeasuredApp(
            self.metrics,
            client=self.slack,
            signing_secret=_secret(settings.slack_signing_secret) or "unused-in-socket-mode",
            # HTTP requests are verified (and bounded) before Bolt sees them: bot/wiring/inbound.py.
            request_verification_enabled=False,
            # Listeners return to Bolt the moment they ack (handlers/common/listeners.py).
            process_before_response=True,
            # Bolt gives each of its loggers the root logger's level unless given a base;
            # "slack_bolt" has the quieter level bot/logs.py sets for it.
            logger=logging.getLogger("slack_bolt"),
        )
        self.bolt.use(Outbound(settings.response_url_hosts, self.redact).middleware)
        self.tracker = Tracker(
            self.store.jobs,
            self.slack,
            poll_interval=settings.chatops_poll_interval,
            max_interval=settings.chatops_poll_max_interval,
            job_timeout=settings.chatops_job_timeout,
            metrics=self.metrics,
            pacer=Pacer(
                KeyValueStore(self.store.engine),
                Pace.per_minute(settings.chatops_card_updates_per_minute),
                metrics=self.metrics,
            ),
        )
        self.digests = Digests(
            DigestStore(self.store.engine),
            self.slack,
            timezone=settings.timezone,
            owner=self.tracker.owner,
            metrics=self.metrics,
        )
        # A Workflow Builder step that started a job completes when the job ends.
        self.tracker.add_finisher(
            StepCompleter(self.store.steps, self.slack).finisher(self.tracker)
        )
        self.scheduler = Scheduler(settings.timezone)
        self._http: list[httpx.AsyncClient] = []
        self.deps = Deps(
            settings=settings,
            store=self.store,
            tracker=self.tracker,
            work=self.work,
            digests=self.digests,
            **vars(build_clients(settings, self._http_client)),
            policy=self.policy,
            redact=self.redact,
            members=UsergroupMembers(self._usergroup_members),
            audit=Audit(
                self.store,
                secrets=secret_values(settings),
                retention_days=settings.chatops_audit_retention_days,
            ),
        )
        # Vendor endpoints beside /slack/events (e.g. callbacks), served in both modes.
        self.routes = register_listeners(self.bolt, self.deps)
        self.socket_mode: SocketModeLink | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- vendor clients -----------------------------------------------------------------

    def _http_client(self, vendor: str) -> httpx.AsyncClient:
        transport = MetricsTransport(
            httpx.AsyncHTTPTransport(limits=DEFAULT_LIMITS), self.metrics, vendor
        )
        client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=transport)
        self._http.append(client)
        return client

    async def _usergroup_members(self, usergroup: str) -> list[str]:
        answer = await self.slack.usergroups_users_list(usergroup=usergroup)
        return [str(user) for user in answer.get("users") or []]

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        started = time.perf_counter()
        await self.store.start()
        self.deps.callbacks = await CallbackSigner.load(KeyValueStore(self.store.engine))
        # One connection pool for every Slack Web API call, instead of one per call.
        self._session = aiohttp.ClientSession()
        self.slack.session = self._session
        tick = max(0.05, min(1.0, self.settings.chatops_poll_interval / 2))
        self.scheduler.every(tick, self.tracker.tick, "tracker-tick")
        self.scheduler.every(
            self.settings.chatops_digest_check_interval, self.digests.tick, "digest-tick"
        )
        # Audit retention, and forgetting old confirmations and handled-request keys.
        self.scheduler.every(3600, self.deps.audit.prune, "audit-prune")
        # The handlers' own sweeps (approval expiry, held workflow steps).
        for job in self.deps.periodic:
            self.scheduler.every(job.seconds, job.run, job.name)
        self.scheduler.start()
        if self.settings.socket_mode:
            # Never waits for Slack: the link connects in the background, trying again with
            # back-off, and /healthz says 503 and why until it is open (bot/wiring/socket_mode.py).
            app_token = str(_secret(self.settings.slack_app_token))
            self.socket_mode = SocketModeLink(self.bolt, app_token)
            self.socket_mode.start()
        log.info(
            "chatops-hub started in %s in %.2f s",
            "Socket Mode" if self.settings.socket_mode else "HTTP mode",
            time.perf_counter() - started,
        )

    async def stop(self) -> None:
        log.info("shutting down: no new work; finishing what is in flight")
        self.work.accepting = False
        if self.socket_mode is not None:
            await self.socket_mode.close()  # also stops a connection attempt in progress
        # Before the scheduler goes: its shutdown cancels a poll cycle that is mid-query.
        await self.tracker.stop_claiming()
        self.scheduler.shutdown()
        if not await self.work.drain(SHUTDOWN_GRACE):
            log.warning("%d request(s) still running at shutdown", self.work.running)
        await self.tracker.drain(timeout=SHUTDOWN_GRACE)
        await asyncio.gather(*(client.aclose() for client in self._http))
        if self._session is not None:
            await self._session.close()
        await self.store.close()
        log.info("stopped")


class MeasuredApp(AsyncApp):
    """Bolt's app, counting and timing each request from arrival to ack (listeners return
    to Bolt the moment they ack). Metric labels name only what a listener of this app
    handled: the ids in a request are the sender's to choose, and each new label value
    would be a new time series kept for the life of the process."""

    def __init__(self, metrics: Metrics, **kw: Any) -> None:
        super().__init__(**kw)
        self.metrics = metrics

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        started = time.perf_counter()
        response = await super().async_dispatch(req)
        kind, name = request_name(req.body)
        if response.status == 404:  # Bolt's answer when no listener took the request
            name = OTHER
        self.metrics.slack_requests.labels(kind, name).inc()
        self.metrics.slack_request_seconds.labels(kind, name).observe(time.perf_counter() - started)
        return response


OTHER = "other"


def request_name(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, name) of a Slack request: its command, action id, callback id or event type."""
    kind = body.get("type")
    if "command" in body:
        kind, name = "command", body["command"]
    elif kind == "block_actions":
        actions = body.get("actions")
        first = actions[0] if isinstance(actions, list) and actions else {}
        kind, name = "action", first.get("action_id") if isinstance(first, dict) else None
    elif kind in ("view_submission", "view_closed"):
        view = body.get("view")
        kind, name = "view", view.get("callback_id") if isinstance(view, dict) else None
    elif kind in ("shortcut", "message_action"):
        kind, name = "shortcut", body.get("callback_id")
    elif kind == "event_callback":
        event = body.get("event")
        kind, name = "event", event.get("type") if isinstance(event, dict) else None
    else:
        return OTHER, OTHER
    return kind, str(name)[:60] if isinstance(name, str) and name else OTHER
