"""Completion-notice latency, measured against a running chatops-hub.

(i) ``callback_to_notice``: Stintmint callback received → Slack call made. The benchmark
plays Stintmint (``vendor_server``'s stub records the app's ``/post`` and its
``callbackUrl``), sends the callback itself and times it against the Slack fake's record.
While ``POST /hooks/stintmint`` answers 404 it reports "n/a (Stintmint not implemented
yet)", so the figure lights up once the route exists.

(ii) ``vendor_to_notice``: a Flint job finished at the vendor → its card updated in Slack
(chat.update showing ``complete``). The finish time is known from the sandbox (submitted
time plus the flintbit's run time at the sandbox's speed); both clocks are
``time.monotonic()``, which on Linux is one clock for every process.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from bench.processes import Service
from bench.slack_requests import signed_headers, slash_command_body
from bench.stats import percentile

CHANNEL = "C0BENCH"  # slash_command_body's default channel
NOT_YET = "n/a (Stintmint not implemented yet)"


def send_command(app: Service, command: str, text: str, response_url: str) -> int:
    body = slash_command_body(command, text, response_url=response_url)
    response = httpx.post(app.url + "/slack/events", content=body, headers=signed_headers(body))
    return response.status_code


def slack_calls(slack_url: str, after: int = 0, method: str | None = None) -> list[dict]:
    params: dict[str, Any] = {"after": after}
    if method:
        params["method"] = method
    return httpx.get(slack_url + "/_bench/calls", params=params, timeout=30).json()


def last_seq(slack_url: str) -> int:
    calls = slack_calls(slack_url)
    return calls[-1]["seq"] if calls else 0


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50_s": percentile(samples, 50),
        "p99_s": percentile(samples, 99),
        "min_s": min(samples) if samples else None,
        "max_s": max(samples) if samples else None,
    }


def vendor_to_notice(
    app: Service,
    *,
    slack_url: str,
    vendor_url: str,
    response_url: str,
    jobs: int,
    poll_interval: float,
    spacing: float = 0.37,
) -> dict[str, Any]:
    """Run ``/flint run demo:hello.rb`` ``jobs`` times against the un-slowed sandbox."""
    begin = time.monotonic()
    for i in range(jobs):
        status = send_command(app, "/flint", f"run demo:hello.rb name=bench{i}", response_url)
        if status != 200:
            return {"status": f"error: /flint run answered {status}"}
        time.sleep(spacing)  # spread the jobs over the poller's tick
    deadline = time.monotonic() + 3 * poll_interval + 20
    notices: dict[str, float] = {}
    mine: list[dict] = []
    while time.monotonic() < deadline:
        mine = [
            j
            for j in httpx.get(vendor_url + "/_bench/flint/fast/jobs").json()
            if j["started"] >= begin and j["context"] == "demo:hello.rb"
        ]
        for call in slack_calls(slack_url, method="chat.update"):
            for job in mine:
                if call["text"] == f"Flint demo:hello.rb: complete ({job['id']})":
                    notices.setdefault(job["id"], call["at"])
        if len(mine) == jobs and len(notices) == jobs:
            break
        time.sleep(0.25)
    samples = [notices[j["id"]] - j["ends_at"] for j in mine if j["id"] in notices]
    tick = max(0.05, min(1.0, poll_interval / 2))
    return {
        "status": "ok" if len(samples) == jobs else f"only {len(samples)} of {jobs} notices",
        "poll_interval_s": poll_interval,
        "tick_s": tick,
        "job_run_s": 1.2,
        **_summary(samples),
    }


def callback_to_notice(
    app: Service, *, slack_url: str, vendor_url: str, response_url: str, samples: int
) -> dict[str, Any]:
    """Stintmint callback received → first Slack call after it (p50/p99)."""
    try:
        probe = httpx.post(app.url + "/hooks/stintmint", content=b"{}", timeout=10)
    except httpx.HTTPError as exc:
        return {"status": f"error: {type(exc).__name__}"}
    if probe.status_code == 404:
        return {"status": NOT_YET}
    found: list[float] = []
    for i in range(samples):
        ident = f"bench{i:04d}{secrets.token_hex(4)}"
        status = send_command(app, "/stint", f"post demo {ident} text=hello", response_url)
        if status != 200:
            return {"status": f"error: /stint post answered {status}"}
        callback_url = _wait_for_callback_url(vendor_url, ident)
        if callback_url is None:
            return {"status": "error: the app posted no callbackUrl to Stintmint"}
        time.sleep(0.5)  # let the card settle, so the next Slack call is the notice
        seq = last_seq(slack_url)
        now_ms = int(time.time() * 1000)
        body = {
            "identifier": ident,
            "status": "COMPLETED",
            "created": now_ms - 1000,
            "completed": now_ms,
            "sfId": "demo",
            "batchId": "",
            "cost": 1,
            "responses": [{"name": "text", "answer": "ok", "worker": "bench"}],
        }
        sent = time.monotonic()
        answer = httpx.post(callback_url, json=body, timeout=10)
        if answer.status_code != 200 or answer.json().get("result") not in (None, "accepted"):
            return {
                "status": f"error: the callback was answered {answer.status_code} "
                f"{answer.text[:100]}"
            }
        at = _first_call_after(slack_url, seq, timeout=10)
        if at is None:
            return {"status": "error: no Slack call followed the callback within 10 s"}
        found.append(at - sent)
    return {"status": "ok", **_summary(found)}


def _wait_for_callback_url(vendor_url: str, ident: str, timeout: float = 10) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for post in httpx.get(vendor_url + "/_bench/stintmint/posts").json():
            body = post["body"]
            if body.get("identifier") == ident and body.get("callbackUrl"):
                return body["callbackUrl"]
        time.sleep(0.05)
    return None


def _first_call_after(slack_url: str, seq: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [c for c in slack_calls(slack_url, after=seq) if c["method"].startswith("chat.")]
        if calls:
            return calls[0]["at"]
        time.sleep(0.02)
    return None
