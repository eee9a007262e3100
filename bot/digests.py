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
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Message, Picture
from bot.metrics import Metrics
from bot.store.digests import DigestStore, Subscription

log = logging.getLogger(__name__)

FREQUENCIES = ("daily", "weekdays", "weekly")
# A day of the week as a schedule, in the one form it is stored in (the column holds 8
# characters: "wednesday" would not fit).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SCHEDULES = (*FREQUENCIES, *DAYS)
DEFAULT_AT = "09:00"
WEEKLY_ON = 0  # Monday
DAY = 86400.0
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


def schedule_of(word: str) -> str | None:
    """A schedule as typed (``daily``, ``Weekdays``, ``weekly``, ``friday``, ``FRI`` …) in
    the form it is stored in; None when ``word`` is no schedule."""
    word = word.lower()
    if word in SCHEDULES:
        return word
    names = [name.lower() for name in DAY_NAMES]
    return DAYS[names.index(word)] if word in names else None


def days_of(frequency: str) -> frozenset[int]:
    """The days of the week (Monday is 0) a stored schedule runs on."""
    if frequency == "daily":
        return frozenset(range(7))
    if frequency == "weekdays":
        return frozenset(range(5))
    if frequency == "weekly":
        return frozenset({WEEKLY_ON})
    return frozenset({DAYS.index(frequency)})


def describe_schedule(frequency: str, at_time: str) -> str:
    """``every day at 09:00``, ``weekdays at 08:30``, ``Mondays at 09:00`` (weekly too),
    ``Fridays at 17:30``."""
    if frequency == "daily":
        return f"every day at {at_time}"
    if frequency == "weekdays":
        return f"weekdays at {at_time}"
    [day] = days_of(frequency)
    return f"{DAY_NAMES[day]}s at {at_time}"


def schedule_adjective(frequency: str) -> str:
    """The schedule's word before "digest": daily, weekday, weekly, Friday …"""
    if frequency in ("daily", "weekly"):
        return frequency
    if frequency == "weekdays":
        return "weekday"
    return DAY_NAMES[DAYS.index(frequency)]


def same_schedule(sub: Subscription, frequency: str, at_time: str, timezone: str) -> bool:
    """Whether ``sub`` already runs at the moments ``frequency`` and ``at_time`` name
    (``weekly`` and ``mon`` are the same schedule)."""
    return (
        days_of(sub.frequency) == days_of(frequency)
        and sub.at_time == at_time
        and sub.timezone == timezone
    )


def moment_of(day: date, at_time: str, tz: ZoneInfo) -> datetime:
    """When a schedule at ``at_time`` runs on ``day``: the first instant at which the wall
    clock of ``tz`` reads ``day`` at ``at_time`` or later.

    That is ``at_time`` itself on most days. On a day the clocks spring forward over it
    (02:30 when 02:00 jumps to 03:00; 00:00 where midnight is skipped) it does not exist,
    and the digest runs at the first moment after the gap (03:00, 01:00). On a day they
    fall back over it (02:30 happens twice) it runs once, the first time.
    """
    hours, minutes = (int(x) for x in at_time.split(":"))
    wall = datetime(day.year, day.month, day.day, hours, minutes)
    first = wall.replace(tzinfo=tz)  # fold=0: the earlier instant of an ambiguous time
    if _wall_clock(first.timestamp(), tz) == wall:
        return first
    # In a gap, fold=1 reads the wall time with the offset after the change (an instant
    # before the change) and fold=0 with the offset before it (an instant after): the
    # change, the first instant that reads ``wall`` or later, lies between them.
    before, after = int(wall.replace(tzinfo=tz, fold=1).timestamp()), int(first.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if _wall_clock(middle, tz) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, tz)


def _wall_clock(timestamp: float, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(timestamp, tz).replace(tzinfo=None)


# Hand-written rather than APScheduler's CronTrigger: in 3.11 it skips a whole week for a
# weekly 00:00 schedule in a spring-forward week (tests/unit/test_schedules.py).
def next_occurrence(frequency: str, at_time: str, tz: ZoneInfo, after: datetime) -> datetime:
    """The first scheduled moment strictly after ``after``: a day of ``frequency`` at
    ``at_time`` on the wall clock of ``tz``, across daylight saving changes as
    ``moment_of`` says (after a gap; once in a fold). Instants are compared, not wall
    times (Python compares two datetimes of one zone by their wall times, fold ignored)."""
    days = days_of(frequency)
    day = after.astimezone(tz).date()
    for _ in range(8):
        if day.weekday() in days:
            moment = moment_of(day, at_time, tz)
            if moment.timestamp() > after.timestamp():
                return moment
        day += timedelta(days=1)
    raise AssertionError("unreachable: every schedule runs at least once a week")


def previous_occurrence(frequency: str, at_time: str, tz: ZoneInfo, before: datetime) -> datetime:
    """The last scheduled moment at or before ``before`` (as ``next_occurrence`` counts)."""
    days = days_of(frequency)
    # From the day after: where the clocks fall back over midnight (America/Goose_Bay
    # until 2011), ``before`` may read the day before a moment already past.
    day = before.astimezone(tz).date() + timedelta(days=1)
    for _ in range(9):
        if day.weekday() in days:
            moment = moment_of(day, at_time, tz)
            if moment.timestamp() <= before.timestamp():
                return moment
        day -= timedelta(days=1)
    raise AssertionError("unreachable: every schedule runs at least once a week")


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
    # what the subscription is about, shown with its schedule (STOMT: "target SLUG");
    # None when a vendor's digests differ by channel only
    subject: Callable[[Subscription], str | None] = field(default=lambda sub: None)


def since_of(sub: Subscription) -> float:
    """What the subscription's next digest counts as new from: its cursor's "since", else
    its last occurrence; a first digest covers what an occurrence would have had the
    schedule run before (from its last moment before the subscription was made)."""
    cursor = sub.cursor or {}
    if isinstance(cursor.get("since"), int | float):
        return float(cursor["since"])
    if sub.last_run_at is not None:
        return sub.last_run_at
    made = datetime.fromtimestamp(sub.created_at, UTC)
    tz = ZoneInfo(sub.timezone)
    return previous_occurrence(sub.frequency, sub.at_time, tz, made).timestamp()


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
        if frequency not in SCHEDULES:
            raise ValueError(f"frequency must be one of {', '.join(SCHEDULES)}")
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

    async def subscription(self, vendor: str, channel_id: str) -> Subscription | None:
        return await self.store.get(vendor, channel_id)

    async def subscribed_by(self, user_id: str) -> list[Subscription]:
        return await self.store.created_by(user_id)

    def describe(self, sub: Subscription) -> str:
        """``weekdays at 08:30 (Europe/Berlin), target acme; next Tue 24 Mar 08:30``."""
        when = datetime.fromtimestamp(sub.next_run_at, ZoneInfo(sub.timezone))
        schedule = f"{describe_schedule(sub.frequency, sub.at_time)} ({sub.timezone})"
        return f"{schedule}{self._about(sub)}; next {when:%a %d %b %H:%M}"

    def schedule(self, sub: Subscription) -> str:
        """``Mondays at 09:00``, with what the subscription is about: ``…, target acme``."""
        return describe_schedule(sub.frequency, sub.at_time) + self._about(sub)

    def _about(self, sub: Subscription) -> str:
        kind = self._kinds.get(sub.vendor)
        subject = kind.subject(sub) if kind is not None else None
        return f", {subject}" if subject else ""

    async def post_now(
        self, vendor: str, channel_id: str, *, options: dict[str, Any] | None = None
    ) -> None:
        """Post a digest at once (``digest now``), even when nothing is new. Moves the
        channel's "new since" on, so the next scheduled digest does not repeat it. A
        channel with no subscription gets one of the past day, about ``options``."""
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
            cursor={"since": now - DAY},
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
        for picture in message.files:
            await self._post_picture(sub, picture)

    async def _post_picture(self, sub: Subscription, picture: Picture) -> None:
        """A chart, after the digest's text, in the same channel. Best effort: the text is
        already posted and the occurrence marked as sent, so whatever stops the chart
        (drawing, the upload URL, Slack's answer) is logged and counted, and never
        raised to where it would be taken for the digest's own failure and posted again."""
        try:
            png = await asyncio.to_thread(picture.draw)
            async with self._posting:
                # `file`, not `content`: the bytes go to the upload URL as they are.
                await self.slack.files_upload_v2(
                    channel=sub.channel_id,
                    file=png,
                    filename=picture.filename,
                    title=picture.title,
                    alt_txt=picture.alt_text,
                )
        except Exception:
            log.warning(
                "%s digest chart %s not posted in %s",
                sub.vendor,
                picture.filename,
                sub.channel_id,
                exc_info=True,
            )
            self._count(sub.vendor, "chart_failed")
            return
        self._count(sub.vendor, "chart_posted")

    def _count(self, vendor: str, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.digests.labels(vendor, outcome).inc()
