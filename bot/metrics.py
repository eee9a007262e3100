"""Prometheus metrics, one registry per app instance (tests run several in one process)."""

from __future__ import annotations

import time

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.slack_requests = Counter(
            "chatops_slack_requests",
            "Slack requests handled, by kind (command, action, view, shortcut) and name.",
            ["kind", "name"],
            registry=self.registry,
        )
        self.slack_request_seconds = Histogram(
            "chatops_slack_request_seconds",
            "Time from receiving a Slack request to acknowledging it.",
            ["kind", "name"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.vendor_calls = Counter(
            "chatops_vendor_calls",
            "HTTP calls made to vendors, by vendor and outcome (HTTP status class or error).",
            ["vendor", "outcome"],
            registry=self.registry,
        )
        self.vendor_call_seconds = Histogram(
            "chatops_vendor_call_seconds",
            "Vendor HTTP call latency.",
            ["vendor"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.vendor_errors = Counter(
            "chatops_vendor_errors",
            "Vendor calls that failed (transport error or HTTP status >= 400).",
            ["vendor"],
            registry=self.registry,
        )
        self.tracked_jobs = Gauge(
            "chatops_tracked_jobs",
            "Tracked vendor jobs by state.",
            ["state"],
            registry=self.registry,
        )
        self.notices = Counter(
            "chatops_completion_notices",
            "Completion notices delivered, by vendor and outcome.",
            ["vendor", "outcome"],
            registry=self.registry,
        )
        self.card_refreshes = Counter(
            "chatops_card_refreshes",
            "Job-card chat.update decisions: made, skipped (budget or channel spacing), "
            "paused (Slack's Retry-After), final (a completion card sent), final_held (one "
            "rescheduled: pause, channel or budget), rate_limited (a 429).",
            ["outcome"],
            registry=self.registry,
        )

        self.digests = Counter(
            "chatops_digests",
            "Digest occurrences by vendor and outcome (posted, nothing_new, retry; a chart: "
            "chart_posted, chart_failed).",
            ["vendor", "outcome"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsTransport(httpx.AsyncBaseTransport):
    """Wraps a vendor client's transport to count and time every call."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics, vendor: str) -> None:
        self._inner = inner
        self._metrics = metrics
        self._vendor = vendor

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except Exception as exc:
            self._record(started, type(exc).__name__, error=True)
            raise
        self._record(started, f"{response.status_code // 100}xx", error=response.status_code >= 400)
        return response

    def _record(self, started: float, outcome: str, *, error: bool) -> None:
        self._metrics.vendor_call_seconds.labels(self._vendor).observe(
            time.perf_counter() - started
        )
        self._metrics.vendor_calls.labels(self._vendor, outcome).inc()
        if error:
            self._metrics.vendor_errors.labels(self._vendor).inc()

    async def aclose(self) -> None:
        await self._inner.aclose()
