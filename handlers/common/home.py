"""App Home: each user's own page, published (``views.publish``) when they open the Home
tab, on **Refresh**, and when one of their jobs ends. It shows their recent jobs across
vendors, the digests they subscribed, each vendor's state, and quick actions opening a
form for each Workflow Builder step the access policy lets them run.

* **Only for users who opened it.** A user's first ``app_home_opened`` is remembered in
  the state store (kv), so after a restart, or on another replica, their page is still
  refreshed, and nobody else's ever is.
* **Refreshing after a job is best-effort and debounced.** A tracker finisher notes the
  job's owner; one publish follows ``DEBOUNCE`` seconds later however many of their jobs
  ended meanwhile. It never holds a job back (no RetryLater): a page that could not be
  published is logged at info, and the next refresh shows the newest state anyway.
* **Slack's rate limit.** views.publish is limited per app and workspace: a 429 (after the
  Web API client's own retries) holds every publish of this process until its Retry-After
  has passed. Pages put off longer than ``MAX_DEFER`` are owed, and published (once each)
  when it has passed.
* **Vendors reachable?** Each adapter's ``ping``, the cheap call ``chatops check`` makes,
  at most once a minute per vendor and never longer than two seconds, so opening Home
  stays fast.
* **Everything on the page goes through the access policy** the way it will be checked
  when used: Re-run (a vertical's own button declared with ``reruns``, e.g. Flint's
  Re-run), **Off** on a digest (``<command> digest`` in that channel, then the
  same code as ``/<command> digest off``), and each quick action (the subcommand its step
  counts as). A form runs as its user in the channel they pick.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorAuthError, VendorError
from bot.store.digests import Subscription
from bot.store.kv import KeyValueStore
from bot.tracking import TrackedJob
from handlers.common import home_forms, policy
from handlers.common.blocks import button
from handlers.common.direct import tell as tell_directly
from handlers.common.forms import answer_errors
from handlers.common.forms import perform_there as _perform_there
from handlers.common.forms import tell_there as home_tell
from handlers.common.home_blocks import (
    DIGEST_OFF,
    OPEN_FORM,
    REFRESH,
    DigestLine,
    JobLine,
    Page,
    QuickAction,
    VendorLine,
    home_view,
)
from handlers.common.interaction import Interaction
from handlers.common.replies import ephemeral, not_configured
from handlers.common.text import UsageError
from handlers.common.vertical import Click, Stale, Step, Vertical
from handlers.deps import Deps

log = logging.getLogger(__name__)

JOBS = 10  # recent jobs on the page
DIGESTS = 20  # subscriptions on the page (the rest are counted)
DEBOUNCE = 2.0  # seconds between a job's end and the refresh it causes
# A Retry-After longer than this is not waited for (shutdown would wait on it): the page
# is owed, and published with the first publish after it has passed.
MAX_DEFER = 20.0
PERMALINKS = 1000  # cards' permalinks remembered (they never change)
_OPENED = "home_opened:"  # kv key prefix: the user has opened Home at least once
_USER = re.compile(r"[UW][A-Z0-9]{1,40}")
_CONVERSATION = re.compile(r"[CGD][A-Z0-9]{1,40}")

# Bolt's listener for one piece of work (handlers/common/listeners.py ``listener``).
Listen = Callable[[Click], Callable[..., Awaitable[None]]]


def wire(app: AsyncApp, deps: Deps, verticals: Iterable[Vertical], listen: Listen) -> None:
    """Register Home's event, buttons and forms, and the finisher that refreshes a page
    when a job ends."""
    home = Home(deps, tuple(verticals))
    deps.tracker.add_finisher(home.job_ended)
    app.event("app_home_opened")(listen(home.on_opened))
    app.action(REFRESH)(listen(home.on_refresh))
    app.action(DIGEST_OFF)(listen(home.on_digest_off))
    taken = {form.callback_id for vertical in home.verticals for form in vertical.forms}
    for vertical in home.verticals:
        for step in vertical.steps:
            callback_id = home_forms.callback_id(step)
            if callback_id in taken:
                raise ValueError(f"two forms would answer to the callback id {callback_id!r}")
            taken.add(callback_id)
            app.action(OPEN_FORM + step.callback_id)(listen(home.opener(vertical, step)))
            app.view(callback_id)(listen(home.submitter(vertical, step)))


def rerun_of(vertical: Vertical) -> tuple[str, str] | None:
    """(action id, policy name) of the vertical's button that starts one of its jobs again
    (``Button.reruns``), its value the job's id."""
    for own in vertical.buttons:
        if own.reruns:
            return own.action_id, f"{vertical.command} {own.reruns}"
    return None


class Reachability:
    """Whether each configured vendor answers (its adapter's ``ping``), remembered for
    ``ttl`` seconds; a vendor that has not answered within ``timeout`` is not reachable."""

    def __init__(self, *, ttl: float = 60.0, timeout: float = 2.0) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._known: dict[str, tuple[float, str | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def problem(self, key: str, client: Any) -> str | None:
        """None when the vendor answered, else why not (safe to show)."""
        known = self._known.get(key)
        if known is not None and known[0] > time.monotonic():
            return known[1]
        async with self._locks.setdefault(key, asyncio.Lock()):  # one ping for every page
            known = self._known.get(key)
            if known is not None and known[0] > time.monotonic():
                return known[1]
            problem = await self._ping(client)
            self._known[key] = (time.monotonic() + self.ttl, problem)
            return problem

    async def _ping(self, client: Any) -> str | None:
        try:
            async with asyncio.timeout(self.timeout):
                await client.ping()
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except VendorAuthError:
            return "it refuses the app's credentials (an admin can run `chatops check`)"
        except VendorError as exc:
            return exc.message
        except Exception as exc:  # whatever else a ping may raise: not reachable either
            return type(exc).__name__
        return None


class Home:
    def __init__(self, deps: Deps, verticals: tuple[Vertical, ...]) -> None:
        self.deps = deps
        self.verticals = verticals
        self.by_key = {vertical.key: vertical for vertical in verticals}
        self.slack: AsyncWebClient = deps.tracker.slack
        self.kv = KeyValueStore(deps.store.engine)
        self.reachability = Reachability()
        self._opened: set[str] = set()
        self._soon: set[str] = set()  # users with a refresh on its way
        # One publish at a time per user; a lock lives only while someone holds it.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # views.publish is rate-limited per app and workspace, not per user: after a 429,
        # no page is published before this (monotonic time).
        self._blocked_until = 0.0
        self._owed: set[str] = set()  # pages not published for a long Retry-After
        self._owed_timer: asyncio.TimerHandle | None = None
        self._permalinks: dict[tuple[str, str], str] = {}

    # -- who has a Home page ---------------------------------------------------------

    async def remember(self, user_id: str) -> None:
        if user_id in self._opened:
            return
        await self.kv.get_or_create(_OPENED + user_id, lambda: str(int(time.time())))
        self._opened.add(user_id)

    async def has_opened(self, user_id: str) -> bool:
        if user_id in self._opened:
            return True
        if await self.kv.get(_OPENED + user_id) is None:
            return False
        self._opened.add(user_id)
        return True

    # -- publishing ------------------------------------------------------------------

    async def job_ended(self, job: TrackedJob) -> None:
        """The tracker's finisher: refresh the owner's page soon. Never raises, never asks
        to be run again: a missed refresh must not hold the job's own notices back."""
        try:
            if _USER.fullmatch(job.user_id) and await self.has_opened(job.user_id):
                self.refresh_soon(job.user_id)
        except Exception:
            log.info("could not schedule the Home refresh for job %s", job.id, exc_info=True)

    def refresh_soon(self, user_id: str) -> None:
        """One publish for the user after ``DEBOUNCE`` seconds (or once Slack's Retry-After
        has passed), however many times this is called meanwhile."""
        if user_id in self._soon or not self.deps.work.accepting:
            return
        blocked = self._blocked_until - time.monotonic()
        if blocked > MAX_DEFER:
            self._owe(user_id, blocked)
            return
        wait = max(DEBOUNCE, blocked)
        self._soon.add(user_id)
        task = asyncio.create_task(self._later(user_id, wait), name=f"home-refresh-{user_id}")
        self.deps.work.adopt(task)  # waited for at shutdown like a request's work

    async def _later(self, user_id: str, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            self._soon.discard(user_id)  # a job ending from now on asks for a new refresh
        try:
            await self.publish(user_id)
        except Exception:
            log.info("could not refresh the Home of %s", user_id, exc_info=True)

    async def publish(self, user_id: str) -> None:
        """Publish the user's page now (best-effort: Slack's refusal is logged, not raised),
        after any Retry-After Slack gave for this user."""
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        async with lock:
            wait = self._blocked_until - time.monotonic()
            if wait > MAX_DEFER:
                self._owe(user_id, wait)
                return
            if wait > 0:
                await asyncio.sleep(wait)
            view = home_view(await self.page(user_id))
            try:
                await self.slack.views_publish(user_id=user_id, view=view)
            except SlackApiError as exc:
                after = _retry_after(exc)
                if after is None:
                    log.info("Home of %s not published: %s", user_id, exc.response.get("error"))
                    return
                self._blocked_until = max(self._blocked_until, time.monotonic() + after)
                log.info("views.publish rate-limited; Home of %s again in %.0f s", user_id, after)
                self.refresh_soon(user_id)
                return
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("Home of %s not published: %s", user_id, type(exc).__name__)
                return
        self._owed.discard(user_id)

    def _owe(self, user_id: str, wait: float) -> None:
        """Publish the user's page once Slack takes pages again (a timer, not a task: a
        shutdown does not wait for it)."""
        log.info("Home of %s owed: Slack asked to wait %.0f s", user_id, wait)
        self._owed.add(user_id)
        if self._owed_timer is None:
            self._owed_timer = asyncio.get_running_loop().call_later(wait, self._pay)

    def _pay(self) -> None:
        self._owed_timer = None
        owed, self._owed = self._owed, set()
        for user_id in owed:
            self.refresh_soon(user_id)

    # -- what the page shows ---------------------------------------------------------

    async def page(self, user_id: str) -> Page:
        jobs = await self.deps.store.jobs.recent_for_user(user_id, JOBS)
        subs = await self.deps.digests.subscribed_by(user_id)
        job_lines, digest_lines, vendor_lines = await asyncio.gather(
            asyncio.gather(*(self._job(user_id, job) for job in jobs)),
            asyncio.gather(*(self._digest(user_id, sub) for sub in subs[:DIGESTS])),
            asyncio.gather(*(self._vendor(vertical) for vertical in self.verticals)),
        )
        actions = [a for vertical in self.verticals for a in await self._actions(user_id, vertical)]
        return Page(
            jobs=list(job_lines),
            digests=list(digest_lines),
            more_digests=max(0, len(subs) - DIGESTS),
            vendors=list(vendor_lines),
            actions=actions,
        )

    async def _job(self, user_id: str, job: TrackedJob) -> JobLine:
        vertical = self.by_key.get(job.vendor)
        rerun = None
        found = rerun_of(vertical) if vertical is not None else None
        if found is not None and job.channel_id and vertical and vertical.client(self.deps):
            action_id, name = found
            # Decided as the click will be: a Re-run runs (and is checked) in the job's
            # channel, wherever it is clicked.
            wanted = policy.request_for(name, job.target, user_id, job.channel_id)
            if (await policy.decide(self.deps, wanted)).allowed:
                rerun = button("Re-run", action_id, job.id)
        name = vertical.name if vertical is not None else job.vendor
        return JobLine(job, name, await self._permalink(job), rerun)

    async def _permalink(self, job: TrackedJob) -> str | None:
        if not job.channel_id or not job.message_ts:
            return None
        known = self._permalinks.get((job.channel_id, job.message_ts))
        if known is not None:
            return known
        try:
            answer = await self.slack.chat_getPermalink(
                channel=job.channel_id, message_ts=job.message_ts
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("no permalink for the card of job %s: %s", job.id, type(exc).__name__)
            return None
        link = answer.get("permalink")
        if not isinstance(link, str):
            return None
        if len(self._permalinks) >= PERMALINKS:
            self._permalinks.pop(next(iter(self._permalinks)))  # the oldest
        self._permalinks[(job.channel_id, job.message_ts)] = link
        return link

    async def _digest(self, user_id: str, sub: Subscription) -> DigestLine:
        vertical = self.by_key.get(sub.vendor)
        off = None
        request = self._digest_off(vertical) if vertical is not None else None
        if vertical is not None and request is not None:
            name, target = vertical.policy_name(request)
            wanted = policy.request_for(name, target, user_id, sub.channel_id)
            if (await policy.decide(self.deps, wanted)).allowed:
                off = f"{sub.vendor} {sub.channel_id}"
        return DigestLine(
            vertical.name if vertical is not None else sub.vendor,
            sub.channel_id,
            self.deps.digests.describe(sub),
            off,
        )

    def _digest_off(self, vertical: Vertical) -> Any | None:
        """``/<command> digest off``, parsed and completed as typed; None when the vertical
        has no digest (or its settings leave it none)."""
        if not any(sub.name == "digest" for sub in vertical.subcommands):
            return None
        try:
            request = vertical.parse("digest off")
            if vertical.complete is not None:
                request = vertical.complete(request, self.deps.settings)
        except UsageError:
            return None
        return request

    async def _vendor(self, vertical: Vertical) -> VendorLine:
        status = vertical.status(self.deps.settings)
        client = vertical.client(self.deps)
        if client is None:
            return VendorLine(status.name, False, status.missing, status.partial)
        problem = await self.reachability.problem(vertical.key, client)
        return VendorLine(status.name, True, status.missing, status.partial, problem)

    async def _actions(self, user_id: str, vertical: Vertical) -> list[QuickAction]:
        if vertical.client(self.deps) is None:
            return []
        actions = []
        for step in vertical.steps:
            for sub in home_forms.subcommands(vertical, step):
                if await self._may_run(user_id, f"{vertical.command} {sub}"):
                    actions.append(QuickAction(step.callback_id, step.title))
                    break
        return actions

    def _places(self, user_id: str) -> list[str]:
        """Where a form could run a command: Home is nowhere, and the form names the
        channel; a rule naming channels may allow it in one of them."""
        named = {channel for rule in self.deps.policy.rules for channel in rule.channels}
        return [user_id, *sorted(named)]

    async def _may_run(self, user_id: str, name: str) -> bool:
        members = self.deps.members.members
        for place in self._places(user_id):
            if await self.deps.policy.may_run_with(name, user_id, place, members):
                return True
        return False

    def _may_run_now(self, user_id: str, name: str) -> bool | None:
        """``_may_run`` without looking a user group up (None: it would need to)."""
        answers = [
            self.deps.policy.may_run(name, user_id, place, self.deps.members.known)
            for place in self._places(user_id)
        ]
        if True in answers:
            return True
        return None if None in answers else False

    # -- listeners -------------------------------------------------------------------

    async def on_opened(self, deps: Deps, x: Interaction) -> None:
        event = x.body.get("event")
        if not isinstance(event, dict) or event.get("tab") != "home":
            return  # the Messages tab; the listener acknowledges it without claiming it
        user_id = event.get("user")
        if not isinstance(user_id, str) or not _USER.fullmatch(user_id):
            return
        await x.ack()
        await self.remember(user_id)
        await self.publish(user_id)

    async def on_refresh(self, deps: Deps, x: Interaction) -> None:
        await x.ack()
        await self.remember(x.user)
        await self.publish(x.user)

    async def on_digest_off(self, deps: Deps, x: Interaction) -> None:
        await x.ack()
        vendor, _, channel_id = x.value.partition(" ")
        vertical = self.by_key.get(vendor)
        request = self._digest_off(vertical) if vertical is not None else None
        if vertical is None or request is None or not _CONVERSATION.fullmatch(channel_id):
            raise Stale()
        await _perform_there(deps, x, vertical, request, channel_id, "digest off")
        await self.publish(x.user)

    def opener(self, vertical: Vertical, step: Step) -> Click:
        """The quick action's button: open the step's form, with only the choices the
        policy lets this user run. Decided without user group lookups: the trigger
        expires in 3 s, and the submission is checked in full anyway."""

        async def open_form(deps: Deps, x: Interaction) -> None:
            await x.ack()
            if vertical.client(deps) is None:
                status = vertical.status(deps.settings)
                await tell_directly(x.client, x.user, not_configured(status))
                return
            ways = home_forms.subcommands(vertical, step)
            allowed = {
                sub
                for sub in ways
                if self._may_run_now(x.user, f"{vertical.command} {sub}") is not False
            }
            if not allowed:
                await tell_directly(
                    x.client,
                    x.user,
                    f":no_entry: The access policy lets you run no `{vertical.slash}` command "
                    "this form makes. If you need one, ask a workspace admin.",
                )
                return
            view = home_forms.form_view(
                vertical, step, home_forms.allowed_choices(step, ways, allowed)
            )
            await x.client.views_open(trigger_id=x.trigger, view=view)

        return open_form

    def submitter(self, vertical: Vertical, step: Step) -> Click:
        """The form's submission: field errors in the ack, or run the command as its user
        in the chosen channel, through the access policy like a typed command."""

        async def submitted(deps: Deps, x: Interaction) -> None:
            values = home_forms.entered(x, step)
            try:
                request = home_forms.parse(vertical, step, values, deps.settings)
            except UsageError as exc:
                errors = home_forms.field_errors(vertical, step, values, deps.settings, str(exc))
                await answer_errors(x, errors)
                return
            channel_id = home_forms.chosen_channel(x.view)
            if not channel_id:
                await answer_errors(x, {home_forms.CHANNEL: "Choose where to post the card."})
                return
            await x.ack()
            if vertical.client(deps) is None:
                tell = home_tell(x.client, x.user, channel_id)
                await tell(**ephemeral(not_configured(vertical.status(deps.settings))))
                return
            await _perform_there(deps, x, vertical, request, channel_id, step.text(values))

        return submitted


def _retry_after(exc: SlackApiError) -> float | None:
    """Seconds Slack asks to wait before the next call (a 429), or None for another error."""
    response = exc.response
    if getattr(response, "status_code", None) != 429 and response.get("error") != "ratelimited":
        return None
    headers = getattr(response, "headers", None) or {}
    given = str(headers.get("Retry-After") or headers.get("retry-after") or "")
    try:
        return max(1.0, float(given))
    except ValueError:
        return 1.0
