"""The load generator, run as its own process: N workers, each sending signed slash
commands back to back over a pool of N keep-alive connections, for a fixed time.

Every request gets a fresh trigger id and a signature made when it is sent; latency is
``perf_counter`` from just before the request to the last byte of the answer. A request
started inside the window counts toward latency even if its answer comes after the window
ends (so slow answers are never dropped); throughput counts answers received inside the
window. A warm-up phase on the same connections comes first and is discarded.

``python -m bench.loadgen --url URL --concurrency N --duration S [--warmup S]
[--watch NAME=PID ...]`` prints one JSON document on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time
from typing import Any

import aiohttp

from bench.slack_requests import SIGNING_SECRET, signed_headers, slash_command_body

CLIENT_TIMEOUT = 30.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


# The app's answers when it turns a command away at its CHATOPS_MAX_INFLIGHT limit, or at
# CHATOPS_MAX_INFLIGHT_PER_USER.
BUSY = (b"very busy right now", b"commands in progress")
# The load comes from this many Slack users in turn, as a workspace's would: one user
# alone would meet the per-user limit long before the process's own.
USERS = 1000


async def phase(
    session: aiohttp.ClientSession,
    url: str,
    concurrency: int,
    duration: float,
    text: str,
    secret: str,
    response_url: str,
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    busy = 0  # acks that refused the command because the app was at its in-flight limit
    in_window = 0
    start = time.perf_counter()
    deadline = start + duration

    users = itertools.count()

    async def worker() -> None:
        nonlocal in_window, busy
        while time.perf_counter() < deadline:
            user_id = f"U{next(users) % USERS:05d}"
            body = slash_command_body("/flint", text, response_url=response_url, user_id=user_id)
            headers = signed_headers(body, secret)
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    content = await resp.read()
                    status = resp.status
                    if status == 200 and any(b in content for b in BUSY):
                        busy += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                t1 = time.perf_counter()
                name = type(exc).__name__
                errors[name] = errors.get(name, 0) + 1
                latencies.append(t1 - t0)
                continue
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            statuses[status] = statuses.get(status, 0) + 1
            if t1 <= deadline:
                in_window += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "latencies": latencies,
        "statuses": {str(k): v for k, v in statuses.items()},
        "busy": busy,
        "errors": errors,
        "in_window": in_window,
        "duration": duration,
        "elapsed": time.perf_counter() - start,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    watch = dict(item.split("=", 1) for item in args.watch)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        common = (session, args.url, args.concurrency)
        warm: dict[str, Any] = {"statuses": {}}
        if args.warmup > 0:
            warm = await phase(*common, args.warmup, args.text, args.secret, args.response_url)
        cpu_before = {name: cpu_seconds(int(pid)) for name, pid in watch.items()}
        own_before = time.process_time()
        result = await phase(*common, args.duration, args.text, args.secret, args.response_url)
        result["client_cpu_s"] = time.process_time() - own_before
        result["warmup_ok"] = warm["statuses"].get("200", 0)
        result["warmup_busy"] = warm.get("busy", 0)
        result["cpu_s"] = {}
        for name, pid in watch.items():
            before, after = cpu_before[name], cpu_seconds(int(pid))
            if after is not None and before is not None:
                result["cpu_s"][name] = after - before
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--text", default="run demo:hello.rb")
    parser.add_argument("--secret", default=SIGNING_SECRET)
    parser.add_argument("--response-url", default="http://127.0.0.1:9/respond/unset")
    parser.add_argument("--watch", action="append", default=[], help="NAME=PID: CPU time")
    args = parser.parse_args()
    json.dump(asyncio.run(main_async(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
