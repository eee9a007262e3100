"""The whole benchmark in one run: start the servers, load them in turn, measure the rest."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from adapters import sandboxes
from bench import card_pacing, digest_fanout, notices, tracker_cost
from bench.loadgen import cpu_seconds
from bench.processes import REPO, Service
from bench.serving import UVICORN_SETTINGS, implementations
from bench.slack_requests import BOT_TOKEN, SIGNING_SECRET
from bench.stats import percentile

SERVERS = {"a": "chatops-hub", "b": "bare Bolt", "c": "raw ASGI"}
# Settings a developer's shell may carry that would change what is measured.
_SCRUB = ("SLACK_", "CHATOPS_", "FLINT_", "STOMT_", "MINT_", "STINTMINT_", "MINDSTAMP_")
_SCRUB_NAMES = {"DATABASE_URL", "PUBLIC_URL", "HOST", "PORT"}


@dataclass(frozen=True)
class Plan:
    quick: bool
    duration: float  # seconds of measured load per run
    warmup: float  # seconds of discarded load before each run, on the same connections
    repeats: int
    drain_cap: float  # how long to wait for chatops-hub's background work after a run
    notice_jobs: int
    notice_polls: tuple[float, ...]
    callback_samples: int
    tracker_cycles: int
    sustained: float = 0.0  # seconds of one extra c=100 run of chatops-hub (0: none)
    concurrencies: tuple[int, ...] = (1, 10, 100)
    digest_channels: int = 500
    vendor_delay: float = 5.0


FULL = Plan(
    quick=False,
    duration=8.0,
    warmup=1.0,
    repeats=3,
    drain_cap=60.0,
    notice_jobs=20,
    notice_polls=(5.0, 1.0),
    callback_samples=20,
    tracker_cycles=10,
    sustained=40.0,
)
QUICK = Plan(
    quick=True,
    duration=1.5,
    warmup=0.3,
    repeats=1,
    drain_cap=10.0,
    notice_jobs=4,
    notice_polls=(1.0,),
    callback_samples=3,
    tracker_cycles=3,
    sustained=2.0,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _clean_environ() -> None:
    for key in list(os.environ):
        if key.startswith(_SCRUB) or key in _SCRUB_NAMES:
            del os.environ[key]


def app_env(
    workdir: Path, name: str, slack: Service, vendors: Service, which: str, **extra: str
) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.url + "/api/",
        "SLACK_APP_TOKEN": "",
        "CHATOPS_POLICY": "",
        "DATABASE_URL": f"sqlite:///{workdir / (name + '.db')}",
    }
    for vendor in sandboxes.environment(f"{vendors.url}/{which}"):
        env.update(vendor.variables)
    env.update(extra)
    return env


def load_run(
    service: Service, concurrency: int, plan: Plan, response_url: str, watch: dict[str, int]
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        service.url + "/slack/events",
        "--concurrency",
        str(concurrency),
        "--duration",
        str(plan.duration),
        "--warmup",
        str(plan.warmup),
        "--response-url",
        response_url,
    ]
    for name, pid in watch.items():
        cmd += ["--watch", f"{name}={pid}"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(  # noqa: S603 - our own module, our own arguments
        cmd,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=plan.duration + plan.warmup + 120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr[-3000:]}")
    data = json.loads(done.stdout)
    latencies = data["latencies"]
    ok = data["statuses"].get("200", 0)
    failed = sum(data["errors"].values()) + sum(
        n for code, n in data["statuses"].items() if code != "200"
    )
    ms = [x * 1000 for x in latencies]
    return {
        "n": len(latencies),
        "ok": ok,
        "busy": data.get("busy", 0),
        "warmup_busy": data.get("warmup_busy", 0),
        "errors": failed,
        "error_kinds": {
            **data["errors"],
            **{k: v for k, v in data["statuses"].items() if k != "200"},
        },
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
        "over_3s": sum(1 for x in latencies if x > 3.0),
        "rps": data["in_window"] / plan.duration,
        "client_cpu_s": data["client_cpu_s"],
        "cpu_s": data["cpu_s"],
        "warmup_ok": data["warmup_ok"],
    }


def job_counts(db: Path) -> dict[str, int]:
    """Jobs in chatops-hub's own database: all of them, and those with their notice done."""
    with sqlite3.connect(db, timeout=30) as conn:
        total, done = conn.execute(
            "SELECT count(*), coalesce(sum(state = 'done'), 0) FROM jobs"
        ).fetchone()
    return {"recorded": total, "notified": done}


def drain(db: Path, pid: int, cap: float) -> dict[str, Any]:
    """Wait until chatops-hub has finished the background work of a run: every job it
    recorded has its notice, and its CPU is quiet (work acked but not yet recorded exists
    only while the process is busy)."""
    started = time.perf_counter()
    counts = job_counts(db)
    quiet_since = None
    cpu = cpu_seconds(pid) or 0.0
    while time.perf_counter() - started < cap:
        time.sleep(0.25)
        counts = job_counts(db)
        now_cpu = cpu_seconds(pid) or 0.0
        busy = (now_cpu - cpu) / 0.25 > 0.05
        cpu = now_cpu
        if counts["notified"] < counts["recorded"] or busy:
            quiet_since = None
            continue
        quiet_since = quiet_since or time.perf_counter()
        if time.perf_counter() - quiet_since >= 1.0:
            break
    return {
        **counts,
        "seconds": time.perf_counter() - started,
        "complete": counts["notified"] == counts["recorded"] and quiet_since is not None,
    }


class Hubs:
    """chatops-hub instances for the load runs: a fresh process and database per run, so
    the backlog one run leaves behind never weighs on the next (it is measured instead)."""

    def __init__(self, workdir: Path, slack: Service, vendors: Service) -> None:
        self.workdir, self.slack, self.vendors = workdir, slack, vendors
        self.count = 0
        self.startups: list[float] = []
        self.all: list[Service] = []

    def stop_all(self) -> None:
        for hub in self.all:
            hub.stop(kill=True)

    def start(self) -> Service:
        self.count += 1
        name = f"hub-{self.count}"
        hub = Service(
            f"chatops-{name}",
            ["bot", "serve"],
            self.workdir,
            env=app_env(self.workdir, name, self.slack, self.vendors, "slow"),
            db=self.workdir / f"{name}.db",
        )
        self.all.append(hub)
        hub.start()
        assert hub.startup_s is not None
        self.startups.append(hub.startup_s)
        return hub


def run_load(
    plan: Plan, hubs: Hubs, first_hub: Service, others: dict[str, Service], response_url: str
) -> tuple[list[dict], dict[str, Any]]:
    slack, vendors = hubs.slack, hubs.vendors
    runs: list[dict[str, Any]] = []
    memory: dict[str, Any] = {"rss_end_c100_mb": []}
    hub: Service | None = first_hub
    top = max(plan.concurrencies)
    for concurrency in plan.concurrencies:
        for rep in range(plan.repeats):
            order = ["a", "b", "c"]
            order = order[rep % 3 :] + order[: rep % 3]
            for key in order:
                if key == "a" and hub is None:
                    hub = hubs.start()
                service = hub if key == "a" else others[key]
                assert service is not None
                httpx.post(slack.url + "/_bench/reset")
                watch = {"server": service.pid, "slack": slack.pid, "vendors": vendors.pid}
                log(f"load: {SERVERS[key]} c={concurrency} run {rep + 1}/{plan.repeats}")
                result = load_run(service, concurrency, plan, response_url, watch)
                result.update(server=key, concurrency=concurrency, repeat=rep + 1)
                # Work done, not just acked: replies/cards posted in Slack during the run.
                posts = notices.slack_calls(slack.url, method="chat.postMessage")
                result["posts_per_s"] = len(posts) / (plan.warmup + plan.duration)
                runs.append(result)
                if key != "a":
                    continue
                assert hub is not None and hub.db is not None
                rss = hub.rss_mb()
                counts = job_counts(hub.db)
                result["hub"] = {
                    "rss_end_mb": rss,
                    # Commands accepted: 200s that did not say "busy, nothing started".
                    "acked": result["ok"]
                    + result["warmup_ok"]
                    - result["busy"]
                    - result["warmup_busy"],
                    "refused_busy": result["busy"] + result["warmup_busy"],
                    **counts,
                    **hub.log_errors(),
                }
                if concurrency == top:
                    memory["rss_end_c100_mb"].append(rss)
                    memory["peak_rss_mb"] = max(
                        memory.get("peak_rss_mb") or 0, hub.peak_rss_mb() or 0
                    )
                hub.stop(kill=True)  # its backlog is recorded above, and dropped
                hub = None
    memory["startups_s"] = hubs.startups
    return runs, memory


def sustained_run(plan: Plan, hubs: Hubs, response_url: str) -> dict[str, Any]:
    """chatops-hub alone at the top concurrency for ``plan.sustained`` seconds, then how long
    it takes to deliver the notices of everything it acked."""
    concurrency = max(plan.concurrencies)
    hub = hubs.start()
    assert hub.db is not None
    log(f"sustained load: chatops-hub c={concurrency} for {plan.sustained:g} s")
    try:
        watch = {"server": hub.pid, "slack": hubs.slack.pid, "vendors": hubs.vendors.pid}
        longer = replace(plan, duration=plan.sustained)
        result = load_run(hub, concurrency, longer, response_url, watch)
        result.update(concurrency=concurrency, duration=plan.sustained, rss_end_mb=hub.rss_mb())
        result["at_end"] = {**job_counts(hub.db), **hub.log_errors()}
        log("  chatops-hub catching up with the work behind its acks …")
        catch_up = drain(hub.db, hub.pid, plan.drain_cap)
        catch_up.update(hub.log_errors())
        result["catch_up"] = catch_up
        result["refused_busy"] = result["busy"] + result["warmup_busy"]
        result["acked"] = result["ok"] + result["warmup_ok"] - result["refused_busy"]
        result["peak_rss_mb"] = hub.peak_rss_mb()
    finally:
        hub.stop(timeout=15)
    return result


def run(plan: Plan) -> dict[str, Any]:
    _clean_environ()
    results: dict[str, Any] = {
        "plan": asdict(plan),
        "environment": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "uvicorn": {**UVICORN_SETTINGS, **implementations()},
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
    }
    with tempfile.TemporaryDirectory(prefix="chatops-bench-") as tmp:
        workdir = Path(tmp)
        started: list[Service] = []
        hubs: Hubs | None = None
        try:
            slack = Service("slack-fake", ["bench.slack_server"], workdir).start()
            started.append(slack)
            vendors = Service(
                "vendors",
                ["bench.vendor_server", "--slow-delay", str(plan.vendor_delay)],
                workdir,
            ).start()
            started.append(vendors)
            response_url = httpx.get(slack.url + "/_bench/response_url").json()["url"]
            server_env = {"SLACK_API_URL": slack.url + "/api/"}
            hubs = Hubs(workdir, slack, vendors)
            log("starting chatops-hub, bare Bolt, raw ASGI")
            services = {
                "a": hubs.start(),
                "b": Service("bare-bolt", ["bench.bare_bolt"], workdir, env=server_env).start(),
                "c": Service("raw-asgi", ["bench.raw_asgi"], workdir, env=server_env).start(),
            }
            started.extend(services.values())
            time.sleep(2.0)  # let start-up work (scheduler, first ticks) settle
            results["startup"] = {
                key: {"startup_s": s.startup_s, "idle_rss_mb": s.rss_mb()}
                for key, s in services.items()
            }
            others = {"b": services["b"], "c": services["c"]}
            runs, memory = run_load(plan, hubs, services["a"], others, response_url)
            results["load"] = runs
            results["memory"] = memory
            if plan.sustained:
                results["sustained"] = sustained_run(plan, hubs, response_url)
            for key in ("b", "c"):
                services[key].stop()

            results["notices"] = measure_notices(plan, workdir, slack, vendors, response_url)

            log("tracker cost")
            results["tracker"] = asyncio.run(
                tracker_cost.measure(workdir, slack.url + "/api/", plan.tracker_cycles)
            )
            log("card pacing: running jobs, three tracker replicas, one database")
            httpx.post(slack.url + "/_bench/reset")
            results["card_pacing"] = asyncio.run(
                card_pacing.measure(workdir, slack.url, **(card_pacing.QUICK if plan.quick else {}))
            )
            log(f"digest fan-out to {plan.digest_channels} channels")
            httpx.post(slack.url + "/_bench/reset")
            results["digest"] = asyncio.run(
                digest_fanout.measure(
                    workdir,
                    slack_url=slack.url,
                    vendor_url=vendors.url,
                    channels=plan.digest_channels,
                )
            )
        finally:
            if hubs is not None:
                hubs.stop_all()  # any left running by an error; the others are gone already
            for service in reversed(started):
                service.stop(timeout=15)
    return results


def measure_notices(
    plan: Plan, workdir: Path, slack: Service, vendors: Service, response_url: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"vendor_to_notice": []}
    for i, poll in enumerate(plan.notice_polls):
        name = f"hub-notices-{i}"
        app = Service(name, ["bot", "serve"], workdir)
        app.env = app_env(
            workdir,
            name,
            slack,
            vendors,
            "fast",
            CHATOPS_POLL_INTERVAL=str(poll),
            PUBLIC_URL=app.url,
            STINTMINT_URL=vendors.url + "/stintmint-stub",
            STINTMINT_USERNAME="bench@example.com",
            STINTMINT_KEY="bench-developer-key",
        )
        log(f"completion notices: chatops-hub with CHATOPS_POLL_INTERVAL={poll:g}")
        app.start()
        try:
            httpx.post(slack.url + "/_bench/reset")
            if i == 0:
                out["callback_to_notice"] = notices.callback_to_notice(
                    app,
                    slack_url=slack.url,
                    vendor_url=vendors.url,
                    response_url=response_url,
                    samples=plan.callback_samples,
                )
                httpx.post(slack.url + "/_bench/reset")
            out["vendor_to_notice"].append(
                notices.vendor_to_notice(
                    app,
                    slack_url=slack.url,
                    vendor_url=vendors.url,
                    response_url=response_url,
                    jobs=plan.notice_jobs,
                    poll_interval=poll,
                )
            )
        finally:
            app.stop()
    return out
