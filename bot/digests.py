"""Scheduled channel digests, shared by every vendor.

A vendor's handlers register a ``DigestKind``: how to fetch what is new (``fetch``) and how
to show it (``render``). Subscriptions are rows in the state store, one per vendor and
channel, with a schedule in ``CHATOPS_TIMEZONE``. A poll cycle leases every due row in one
statement, groups them by what they would fetch, calls the vendor once per group and posts
to each channel. Each occurrence is marked as posted (fenced on the lease) before it is
sent, so several processes never post it twice; one missed while the app was down is
posted once, then the schedule moves on to the next future occurrence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Message
from bot.metrics import Metrics
from bot.store.digests import DigestStore, Subscription

log = logging.getLogger(__name__)

FREQUENCIES = ("daily", "weekly")
PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
DEFAULT_AT = "09:00"
WEEKLY_ON = 0  # Monday
# Slack's answers that mean no digest can be posted in that channel until someone acts.
CANNOT_POST = frozenset({"channel_not_found", "is_archived", "not_in_channel", "account_inactive"})


def parse_at(text: str) -> str:
    """``9:30`` → ``09:30``; raises ValueError for anything that is not a time of day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"`{text[:20]}` is not a time of day; use HH:MM, e.g. 09:00")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"`{text[:20]}` is not a time of day; use HH:MM, e.g. 09:00")
    return f"{h:02d}:{m:02d}"


def next_occurrence(frequency: str, at_time: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first scheduled moment strictly after ``after``, on the wall clock of ``tz``."""
    hours, minutes = (int(x) for x in at_time.split(":"))
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(15):
        candidate = datetime(day.year, day.month, day.day, hours, minutes, tzinfo=tz)
        weekday_ok = frequency == "daily" or candidate.weekday() == WEEKLY_ON
        if weekday_ok and candidate > after:
            return candidate
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week always has a Monday")


@dataclass(frozen=True)
class DigestKind:
    vendor: str
    title: str
    # Subscriptions whose keys are equal share one set of vendor calls per occurrence.
    group_key: Callable[[Subscription], str]
    # (a subscription of the group, the earliest "since" of the group) → vendor data
    fetch: Callable[[Subscription, float], Awaitable[Any]]
    # (subscription, data, since, forced) → the message, or None when there is nothing new
    # and the digest was not asked for with `now`
    render: Callable[[Subscription, Any, float, bool], Message | None]
    # the subscription's memory for next time; by default, "new since" moves to now
    advance: Callable[[Subscription, Any, float], dict[str, Any]] = field(
        default=lambda sub, data, now: {"since": now}
    )


def since_of(sub: Subscription) -> float:
    cursor = sub.cursor or {}
    if isinstance(cursor.get("since"), int | float):
        return float(cursor["since"])
    if sub.last_run_at is not None:
        return sub.last_run_at
    return sub.created_at - PERIOD[sub.frequency].total_seconds()


class Digests:
    def __init__(
        self,
        store: DigestStore,
        slack: AsyncWebClient,
        *,
        timezone: ZoneInfo,
        owner: str,
        lease_seconds: float = 300.0,
        concurrency: int = 10,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.slack = slack
        self.timezone = timezone
        self.owner = owner
        self.lease_seconds = lease_seconds
        self.metrics = metrics
        self._kinds: dict[str, DigestKind] = {}
        self._posting = asyncio.Semaphore(concurrency)

    def register(self, kind: DigestKind) -> None:
        self._kinds[kind.vendor] = kind

    # -- what users do ------------------------------------------------------------------

    async def subscribe(
        self,
        vendor: str,
        channel_id: str,
        *,
        frequency: str,
        at_time: str,
        user_id: str,
        options: dict[str, Any] | None = None,
    ) -> Subscription:
        if frequency not in FREQUENCIES:
            raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
        at_time = parse_at(at_time)
        first = next_occurrence(frequency, at_time, self.timezone, datetime.now(self.timezone))
        return await self.store.save(
            vendor=vendor,
            channel_id=channel_id,
            frequency=frequency,
            at_time=at_time,
            timezone=self.timezone.key,
            options=options or {},
            created_by=user_id,
            next_run_at=first.timestamp(),
        )

    async def unsubscribe(self, vendor: str, channel_id: str) -> bool:
        return await self.store.delete(vendor, channel_id)

    async def subscriptions(self, channel_id: str) -> list[Subscription]:
        return await self.store.for_channel(channel_id)

    async def subscribed_by(self, user_id: str) -> list[Subscription]:
        return await self.store.created_by(user_id)

    def describe(self, sub: Subscription) -> str:
        when = datetime.fromtimestamp(sub.next_run_at, ZoneInfo(sub.timezone))
        day = "every Monday" if sub.frequency == "weekly" else "every day"
        return f"{day} at {sub.at_time} ({sub.timezone}); next {when:%a %d %b %H:%M}"

    async def post_now(
        self, vendor: str, channel_id: str, *, options: dict[str, Any] | None = None
    ) -> None:
        """Post a digest at once (``digest now``), even when nothing is new. Moves the
        channel's "new since" on, so the next scheduled digest does not repeat it."""
        kind = self._kinds[vendor]
        now = time.time()
        sub = await self.store.get(vendor, channel_id) or Subscription(
            id="",
            vendor=vendor,
            channel_id=channel_id,
            frequency="daily",
            at_time=DEFAULT_AT,
            timezone=self.timezone.key,
            created_by="",
            created_at=now,
            next_run_at=now,
            options=options or {},
        )
        data = await kind.fetch(sub, since_of(sub))
        message = kind.render(sub, data, since_of(sub), True)
        assert message is not None, "a forced digest always renders"
        await self._post(sub, message)
        if sub.id:
            await self.store.update(sub.id, cursor=kind.advance(sub, data, now))

    # -- the scheduler's side -----------------------------------------------------------

    async def tick(self) -> int:
        """Post every due occurrence; returns how many subscriptions were handled."""
        due = await self.store.claim_due(self.owner, lease_seconds=self.lease_seconds, limit=1000)
        groups: dict[tuple[str, str], list[Subscription]] = defaultdict(list)
        for sub in due:
            kind = self._kinds.get(sub.vendor)
            if kind is None:
                log.warning(
                    "no digest registered for %s; subscription %s waits", sub.vendor, sub.id
                )
                await self.store.update(
                    sub.id,
                    owner=self.owner,
                    lease_owner=None,
                    lease_until=None,
                    next_run_at=time.time() + 3600,
                )
                continue
            groups[(sub.vendor, kind.group_key(sub))].append(sub)
        await asyncio.gather(
            *(self._run_group(self._kinds[v], subs) for (v, _), subs in groups.items())
        )
        return len(due)

    async def _run_group(self, kind: DigestKind, subs: list[Subscription]) -> None:
        now = time.time()
        try:
            data = await kind.fetch(subs[0], min(since_of(s) for s in subs))
        except Exception as exc:
            log.warning("%s digest fetch failed (%s); retrying in 5 minutes", kind.vendor, exc)
            for sub in subs:
                await self.store.update(
                    sub.id,
                    owner=self.owner,
                    lease_owner=None,
                    lease_until=None,
                    next_run_at=now + 300,
                )
            return
        await asyncio.gather(*(self._run_one(kind, sub, data, now) for sub in subs))

    async def _run_one(self, kind: DigestKind, sub: Subscription, data: Any, now: float) -> None:
        following = next_occurrence(
            sub.frequency,
            sub.at_time,
            ZoneInfo(sub.timezone),
            datetime.fromtimestamp(max(now, sub.next_run_at), self.timezone),
        )
        message = kind.render(sub, data, since_of(sub), False)
        # Marked before sending: a crash in between skips one digest rather than doubling it.
        if not await self.store.update(
            sub.id,
            owner=self.owner,
            next_run_at=following.timestamp(),
            last_run_at=sub.next_run_at,
            cursor=kind.advance(sub, data, now) if message is not None else sub.cursor,
            lease_owner=None,
            lease_until=None,
        ):
            return
        if message is None:
            self._count(sub.vendor, "nothing_new")
            return
        try:
            await self._post(sub, message)
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in CANNOT_POST:
                log.warning("removing %s digest of %s: %s", sub.vendor, sub.channel_id, error)
                await self.store.delete(sub.vendor, sub.channel_id)
                return
            await self._retry_soon(sub, now)
        except (aiohttp.ClientError, TimeoutError):
            await self._retry_soon(sub, now)

    async def _retry_soon(self, sub: Subscription, now: float) -> None:
        # Put the occurrence back: it is posted later instead of being lost.
        await self.store.update(
            sub.id, next_run_at=now + 60, last_run_at=sub.last_run_at, cursor=sub.cursor
        )
        self._count(sub.vendor, "retry")

    async def _post(self, sub: Subscription, message: Message) -> None:
        async with self._posting:
            await self.slack.chat_postMessage(
                channel=sub.channel_id,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        self._count(sub.vendor, "posted")

    def _count(self, vendor: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.digests.labels(vendor, outcome).inc()
