"""The one generic layer between Bolt and the verticals' tables.

* **Deps through Bolt's context.** One middleware puts the ``Deps`` in every request's
  context; Bolt passes a context key to any listener that names it.
* **Answering Slack the moment a listener acks.** The app runs Bolt with
  ``process_before_response=True``; each listener here starts its work as a task and
  returns to Bolt as soon as the task calls ``ack()``. (Bolt's lazy listeners would do the
  same, but they get a deep copy of the context, and the deps are not copyable.) The task
  is adopted by ``BackgroundWork``: bounded per process and per user, waited for at
  shutdown.
* **Carried out once.** A bare ``ack()`` (the one after which a listener goes to work)
  claims the request in the state store by Slack's trigger or event id, so a request Slack
  retries is acknowledged again but carried out once, whichever process gets it.
* **One error boundary.** ``Stale`` → its message, ``VendorError`` → ``vendor_error()``,
  anything else → logged with a reference, and the user gets the reference, never the trace.
* **Typeahead answers in time.** An options request (``block_suggestion``) is answered in
  its own HTTP response within ``OPTIONS_WITHIN`` seconds, whatever happens: what could
  not be loaded by then (or failed) is an empty list, logged, never a trace; the query
  is cut to ``MAX_QUERY`` characters; a user the access policy does not let run the
  command, or who has as many requests in flight as allowed, gets no options.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from starlette.routing import BaseRoute

from adapters.errors import VendorError
from bot.wiring.outbound import redact_message
from handlers.common import approve, commands, confirm, forms, home, policy, steps
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import ephemeral, not_configured, vendor_error
from handlers.common.vertical import Click, Options, Stale, Vertical
from handlers.deps import Deps

log = logging.getLogger("handlers.errors")

MAX_QUERY = 100  # characters of an options request's query passed on
OPTIONS_WITHIN = 2.5  # seconds: Slack waits 3 for options, then shows none

APOLOGY = (
    ":warning: Something went wrong on our side and has been logged (reference `{}`). "
    "Please try again."
)


class AlreadyHandled(Exception):
    """This very request (same trigger or event id) was taken on before."""


def request_key(body: Any) -> str | None:
    """What identifies one Slack request across its retries, or None if nothing does."""
    if not isinstance(body, dict):
        return None
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    if body.get("trigger_id"):
        return f"trigger:{body['trigger_id']}"
    return None


class GiveDeps(AsyncMiddleware):
    """Puts the deps in every request's context, where Bolt finds the listeners' ``deps``
    argument. A middleware class: Bolt calls it as it is, without working out a function's
    arguments on every request (a function middleware costs a measurable share of an ack)."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        req.context["deps"] = self.deps
        return await next()


def wire(app: AsyncApp, deps: Deps, verticals: Iterable[Vertical]) -> list[BaseRoute]:
    """Register every vertical's listeners, jobs and digests; returns the HTTP routes the
    vendors call us on."""

    verticals = tuple(verticals)
    app.use(GiveDeps(deps))
    app.error(on_error)
    deps.vendor_names.update({vertical.command: vertical.name for vertical in verticals})
    deps.changing = frozenset(
        f"{vertical.command} {sub.name}"
        for vertical in verticals
        for sub in vertical.subcommands
        if sub.changes
    )
    # A request held by the access policy runs, once confirmed, as the command it was.
    for action_id, work in confirm.buttons(verticals).items():
        app.action(action_id)(listener(work))
    approve.wire(app, deps, verticals, listener)  # ... or once approved by others
    routes: list[BaseRoute] = []
    for vertical in verticals:
        client = vertical.client(deps)
        if client is not None and vertical.jobs is not None:
            deps.tracker.register(vertical.jobs(client))
        if client is not None and vertical.digest is not None:
            deps.digests.register(vertical.digest(client, deps.settings))
        app.command(vertical.slash)(listener(_command(vertical)))
        for button in vertical.buttons:
            app.action(button.action_id)(listener(_click(vertical, button.run)))
        for shortcut in vertical.shortcuts:
            app.shortcut(shortcut.callback_id)(listener(_click(vertical, shortcut.run)))
        for form in vertical.forms:
            app.view(form.callback_id)(listener(form.run))
        for blank in vertical.blank_forms:
            app.view(blank.callback_id)(listener(forms.submitter(vertical, blank)))
        for options in vertical.options:
            app.options(options.action_id)(_options(vertical, options))
        if vertical.routes is not None:
            routes.extend(vertical.routes(deps))
    home.wire(app, deps, verticals, listener)  # each user's App Home
    steps.wire(app, deps, verticals, listener)  # Workflow Builder custom steps
    return routes


def _command(vertical: Vertical) -> Click:
    async def run(deps: Deps, x: Interaction) -> None:
        request = await commands.admit(deps, x, vertical)
        if request is not None:
            await commands.perform(deps, x, vertical, request)

    return run


def _click(vertical: Vertical, run: Click) -> Click:
    async def clicked(deps: Deps, x: Interaction) -> None:
        await x.ack()
        if vertical.client(deps) is None:
            await x.respond(**ephemeral(not_configured(vertical.status(deps.settings))))
            return
        await run(deps, x)

    return clicked


def _options(vertical: Vertical, options: Options) -> Callable[..., Awaitable[None]]:
    """The Bolt listener serving an ``external_select``'s options as its user types."""
    name = f"{vertical.command} {options.subcommand}"

    async def on_options(
        ack: Answer, body: dict[str, Any], client: AsyncWebClient, deps: Deps
    ) -> None:
        x = Interaction.of(body, ack=None, respond=None, client=client)
        typed = str(body.get("value") or "")[:MAX_QUERY]
        query = "".join(ch for ch in typed if ch.isprintable()).strip()

        async def load() -> list[dict[str, Any]]:
            # Counted with the user's other requests: past their in-flight limit (or while
            # shutting down) a keystroke reaches no vendor and gets no options.
            if not x.user or deps.work.why_not(x.user) is not None:
                return []
            if vertical.client(deps) is None or not await deps.policy.may_run_with(
                name, x.user, forms.place_of(deps, x), deps.members.members
            ):
                return []
            return await options.load(deps, x, query)

        found: list[dict[str, Any]] = []
        task = asyncio.create_task(load(), name=f"options-{options.action_id}")
        deps.work.adopt(task, x.user or None)
        try:
            async with asyncio.timeout(OPTIONS_WITHIN):
                found = await task
        except TimeoutError:
            log.info("options for %s not loaded within %g s", options.action_id, OPTIONS_WITHIN)
        except VendorError as exc:
            log.info("options for %s not loaded: %s", options.action_id, exc.message)
        except Exception as exc:
            _logged_apology(exc)
        await ack(options=forms.offered(found))

    return on_options


def listener(work: Click) -> Callable[..., Awaitable[None]]:
    """A Bolt listener that runs ``work`` and returns to Bolt as soon as it acks."""

    async def on_request(
        ack: Answer, body: dict[str, Any], respond: Answer, client: AsyncWebClient, deps: Deps
    ) -> None:
        acked = asyncio.Event()
        key = request_key(body)

        async def ack_now(*args: Any, **kw: Any) -> Any:
            try:
                shown_args, shown_kw = redact_message(args, kw, deps.redact)
                answer = await ack(*shown_args, **shown_kw)
            finally:
                acked.set()
            # A bare ack means "now to work": claim the request first (after Slack has
            # its answer), so a retried delivery stops here instead of redoing the work.
            if not args and not kw and key and not await deps.store.handled.first(key):
                raise AlreadyHandled(key)
            return answer

        x = Interaction.of(body, ack=ack_now, respond=respond, client=client)
        if not x.response_url and x.user:
            # A click on App Home or a form submission comes with no response URL: what
            # the handler answers goes to the user alone, in the channel or by DM.
            x = replace(x, respond=policy.modal_tell(client, x.user, x.place))

        async def run() -> None:
            try:
                await work(deps, x)
            except AlreadyHandled as exc:
                log.info("request %s was already handled: not repeating it", exc)
            except Stale as exc:
                await _tell(x, acked.is_set(), exc.message)
            except VendorError as exc:
                await _tell(x, acked.is_set(), vendor_error(exc))
            except Exception as exc:
                await _tell(x, acked.is_set(), _logged_apology(exc))

        task = asyncio.create_task(run(), name=f"listener-{getattr(work, '__name__', 'work')}")
        deps.work.adopt(task, x.user or None)
        signal = asyncio.create_task(acked.wait())
        await asyncio.wait({task, signal}, return_when=asyncio.FIRST_COMPLETED)
        signal.cancel()
        if not acked.is_set():
            await ack()  # a listener that never acked still gets Slack its 200

    return on_request


async def _tell(x: Interaction, acked: bool, text: str) -> None:
    """The error boundary's answer: in the ack if Slack still waits, else beside the card
    (or, with no response URL, to the user alone; an event has no user to tell)."""
    try:
        if not acked:
            await x.ack(response_type="ephemeral", text=text)
        elif x.response_url or x.user:
            await x.respond(response_type="ephemeral", replace_original=False, text=text)
    except Exception:  # the answer itself failing must not raise again
        log.warning("could not tell the user: %s", text.split("(")[0][:80])


def _logged_apology(error: BaseException) -> str:
    """Log the trace with a reference; the user is told the reference, never the trace."""
    reference = uuid.uuid4().hex[:8]
    log.error("unhandled error (reference %s)", reference, exc_info=error)
    return APOLOGY.format(reference)


async def on_error(error: Exception, body: dict[str, Any], respond: Answer | None) -> None:
    """Bolt's own last resort (an error before any listener of ours ran)."""
    apology = _logged_apology(error)
    if respond is None or not isinstance(body, dict) or not body.get("response_url"):
        return
    try:
        await respond(response_type="ephemeral", replace_original=False, text=apology)
    except Exception:  # the apology itself failing must not raise again
        log.warning("could not tell the user: %s", apology.split("(")[0][:80])
