"""A local Socket Mode server speaking Slack's protocol, on a free port in a thread.

How slack_sdk's aiohttp client (the one Bolt's ``AsyncSocketModeHandler`` uses) talks to
it, read from slack_sdk/socket_mode/aiohttp and async_client.py:

* it asks ``apps.connections.open`` (app-level ``xapp-`` token) for a ``wss://`` URL, so
  point the Slack fake there: ``SlackFake(socket_mode_url=socket_mode.new_url)``;
* it ignores ``hello``; any message with ``type``, ``envelope_id`` and ``payload`` is an
  envelope, answered by ``{"envelope_id": ..., "payload": ...}`` (payload only when the
  listener acked with content);
* on ``{"type": "disconnect"}`` (whatever the reason) it closes that socket itself, calls
  apps.connections.open again and connects to the new URL; a socket closed without
  warning is reconnected the same way from its receive loop;
* it pings every ``ping_interval`` (Bolt's default 10 s) and answers our pings; websockets
  answers its pings for us.

Use ``wait_*_async`` inside a test's event loop when the client runs in that loop too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

ENVELOPE_TYPES = {"slash_commands", "interactive", "events_api"}


class SocketModeFake:
    """``with SocketModeFake() as sm: ...; sm.send_envelope("slash_commands", payload)``."""

    def __init__(
        self,
        *,
        app_id: str = "A0001",
        ping_interval: float | None = 20,
        disconnect_grace: float = 0.5,
    ) -> None:
        self.app_id = app_id
        self.ping_interval = ping_interval
        self.disconnect_grace = disconnect_grace
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.received: list[dict[str, Any]] = []  # everything the app sent, acks included
        self.connection_paths: list[str] = []  # the URL path each connection used
        self._lock = threading.Lock()
        self._open: list[ServerConnection] = []
        self._connections = 0
        self._acks: dict[str, concurrent.futures.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="socket-mode-fake")
        self._error: BaseException | None = None

    # -- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/"

    def new_url(self) -> str:
        """A fresh connection URL like the one apps.connections.open returns."""
        return f"{self.url}?ticket={uuid.uuid4()}&app_id={self.app_id}"

    def start(self) -> SocketModeFake:
        self._thread.start()
        if not self._started.wait(15) or self._error is not None:
            raise RuntimeError(f"socket mode fake did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)

    def __enter__(self) -> SocketModeFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:
            self._error = exc
            self._started.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._check_path,
            ping_interval=self.ping_interval,
            close_timeout=2,
        ) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._started.set()
            await self._stop.wait()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- connections ------------------------------------------------------------------

    def _check_path(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/link"):
            return None
        return connection.respond(HTTPStatus.NOT_FOUND, "unknown socket mode path\n")

    async def _handle(self, ws: ServerConnection) -> None:
        with self._lock:
            self._open.append(ws)
            self._connections += 1
            self.connection_paths.append(ws.request.path if ws.request else "")
            open_now = len(self._open)
        try:
            await ws.send(json.dumps(self._hello(open_now)))
            async for raw in ws:
                self._receive(raw)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.remove(ws)

    def _hello(self, num_connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": num_connections,
            "debug_info": {
                "host": "applink-fake-1",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsed": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}
        if not isinstance(message, dict):
            message = {"unparsed": message}
        with self._lock:
            self.received = [*self.received, message]
            future = self._acks.get(str(message.get("envelope_id")))
        if future is not None and not future.done():
            future.set_result(message)

    @property
    def connections(self) -> int:
        """How many connections were accepted so far (reconnections included)."""
        with self._lock:
            return self._connections

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def wait_connected(self, n: int = 1, timeout: float = 10.0) -> None:
        """Block until ``n`` connections have been accepted in total."""
        deadline = time.monotonic() + timeout
        while self.connections < n:
            if time.monotonic() >= deadline:
                raise AssertionError(self._not_connected(n, timeout))
            time.sleep(0.01)

    async def wait_connected_async(self, n: int = 1, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.connections < n:
            if time.monotonic() >= deadline:
                raise AssertionError(self._not_connected(n, timeout))
            await asyncio.sleep(0.01)

    def _not_connected(self, n: int, timeout: float) -> str:
        return f"expected {n} socket mode connections within {timeout}s, got {self.connections}"

    # -- envelopes --------------------------------------------------------------------

    def send_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = True,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send an envelope to the newest open connection; returns its envelope_id.

        Raises RuntimeError when no connection is open (wait for one first).
        """
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope type must be one of {sorted(ENVELOPE_TYPES)}")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == "events_api":  # Slack sends the retry fields with events only
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        with self._lock:
            if not self._open:
                raise RuntimeError("no open socket mode connection; wait_connected() first")
            target = self._open[-1]
            self._acks[envelope_id] = concurrent.futures.Future()
        self._call(target.send(json.dumps(envelope)))
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Block until the app acks ``envelope_id``; returns ``{"envelope_id", "payload"?}``."""
        try:
            return self._ack_future(envelope_id).result(timeout)
        except concurrent.futures.TimeoutError:
            raise AssertionError(self._no_ack(envelope_id, timeout)) from None

    async def wait_ack_async(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        future = asyncio.shield(asyncio.wrap_future(self._ack_future(envelope_id)))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AssertionError(self._no_ack(envelope_id, timeout)) from None

    def _ack_future(self, envelope_id: str) -> concurrent.futures.Future[dict[str, Any]]:
        with self._lock:
            future = self._acks.get(envelope_id)
        if future is None:
            raise KeyError(f"no envelope {envelope_id} was sent")
        return future

    def _no_ack(self, envelope_id: str, timeout: float) -> str:
        return (
            f"envelope {envelope_id} not acked within {timeout}s; "
            f"{self.open_connections} open connection(s), received: {self.received[-5:]}"
        )

    def disconnect(self, reason: str = "refresh_requested", *, grace: float | None = None) -> None:
        """Tell every open connection to go away, then close them after ``grace`` seconds.

        The client answers by fetching a new URL from apps.connections.open and
        connecting again (watch ``connections`` grow).
        """
        grace = self.disconnect_grace if grace is None else grace
        with self._lock:
            targets = list(self._open)
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}}
        )

        async def tell_then_close() -> None:
            for ws in targets:
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(message)
            task = asyncio.create_task(close_later())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        async def close_later() -> None:
            await asyncio.sleep(grace)
            for ws in targets:
                await ws.close(code=1000, reason=reason)

        self._call(tell_then_close())

    def _call(self, coro: Any, timeout: float = 5.0) -> Any:
        """Run ``coro`` on the server's loop and wait (briefly) for it."""
        assert self.loop is not None, "start() the server first"
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)
