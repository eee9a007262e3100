"""The results as one printed table, the targets as met/missed, and the JSON file."""

from __future__ import annotations

from typing import Any

from bench import card_pacing
from bench.stats import median, ratio, spread

NAMES = {"a": "(a) chatops-hub", "b": "(b) bare Bolt", "c": "(c) raw ASGI"}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _with_spread(values: list[float | None], digits: int = 1) -> str:
    mid, rng = median(values), spread(values)
    if mid is None or rng is None:
        return "—"
    if len([v for v in values if v is not None]) == 1:
        return _fmt(mid, digits)
    return f"{_fmt(mid, digits)} [{_fmt(rng[0], digits)}–{_fmt(rng[1], digits)}]"


def summarize_load(runs: list[dict[str, Any]]) -> dict[str, dict[int, dict[str, Any]]]:
    """Per server and concurrency: medians (and spreads) over the repeats."""
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        out.setdefault(run["server"], {}).setdefault(run["concurrency"], {"runs": []})
        out[run["server"]][run["concurrency"]]["runs"].append(run)
    for per_c in out.values():
        for point in per_c.values():
            rs = point["runs"]
            for key in ("p50_ms", "p99_ms", "max_ms", "rps"):
                point[key] = median([r[key] for r in rs])
                point[key + "_spread"] = spread([r[key] for r in rs])
            point["over_3s"] = sum(r["over_3s"] for r in rs)
            point["errors"] = sum(r["errors"] for r in rs)
            point["requests"] = sum(r["n"] for r in rs)
            cpu = [r["cpu_s"].get("server") for r in rs]
            point["server_cpu_ms_per_req"] = median(
                [
                    c / r["n"] * 1000 if c is not None and r["n"] else None
                    for c, r in zip(cpu, rs, strict=True)
                ]
            )
            point["server_cpu_util"] = median(
                [
                    c / r_dur if c is not None else None
                    for c, r_dur in zip(cpu, [_duration(r) for r in rs], strict=True)
                ]
            )
            point["client_cpu_util"] = median([r["client_cpu_s"] / _duration(r) for r in rs])
            point["posts_per_s"] = median([r.get("posts_per_s") for r in rs])
    return out


def _duration(run: dict[str, Any]) -> float:
    return run.get("duration") or run["_duration"]


def targets(results: dict[str, Any], load: dict) -> list[tuple[str, str, str]]:
    """(target, measured, met/missed/n/a)."""
    rows: list[tuple[str, str, str]] = []
    a = load.get("a", {})
    b = load.get("b", {})
    cs = sorted(a)
    low, high = (cs[0], cs[-1]) if cs else (None, None)

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    if low is not None:
        p99 = a[low]["p99_ms"]
        rows.append((f"ack p99 ≤ 20 ms at c={low}", f"{_fmt(p99)} ms", verdict(p99 <= 20)))
        p99h, over = a[high]["p99_ms"], a[high]["over_3s"]
        rows.append(
            (
                f"ack p99 ≤ 1 s at c={high}, vendor calls 5 s",
                f"{_fmt(p99h)} ms",
                verdict(p99h <= 1000),
            )
        )
        rows.append(
            (f"no ack over 3 s at c={high}", f"{over} of {a[high]['requests']}", verdict(over == 0))
        )
        for c in cs:
            r = ratio(a[c]["rps"], b.get(c, {}).get("rps"))
            rows.append(
                (
                    f"throughput ≥ 0.9 × (b) at c={c}",
                    f"{_fmt(r, 2)} ×",
                    verdict(None if r is None else r >= 0.9),
                )
            )
    for c in cs:
        r = ratio(a[c].get("posts_per_s"), b.get(c, {}).get("posts_per_s"))
        rows.append(
            (
                f"  (extra) work done ≥ 0.9 × (b) at c={c}",
                f"{_fmt(r, 2)} × posts/s",
                verdict(None if r is None else r >= 0.9),
            )
        )
    su = results.get("sustained")
    if su:
        rows.append(
            (
                f"  (extra) sustained {su['duration']:g} s at c={su['concurrency']}: p99 ≤ 1 s",
                f"{_fmt(su['p99_ms'])} ms",
                verdict(su["p99_ms"] <= 1000),
            )
        )
        rows.append(
            (
                f"  (extra) sustained {su['duration']:g} s: none over 3 s",
                f"{su['over_3s']} of {su['n']:,}",
                verdict(su["over_3s"] == 0),
            )
        )
        cu = su["catch_up"]
        rows.append(
            (
                "  (extra) sustained: every accepted command ran",
                f"{cu['notified']:,} notices for {su['acked']:,} acks; {cu['error_lines']:,} "
                "errors",
                verdict(cu["error_lines"] == 0 and cu["notified"] >= su["acked"]),
            )
        )
    cb = results.get("notices", {}).get("callback_to_notice", {})
    if cb.get("status") == "ok":
        rows.append(
            (
                "callback → notice p99 ≤ 200 ms",
                f"{_fmt(cb['p99_s'] * 1000)} ms",
                verdict(cb["p99_s"] <= 0.2),
            )
        )
    else:
        rows.append(("callback → notice p99 ≤ 200 ms", cb.get("status", "—"), "n/a"))
    tr = results.get("tracker")
    if tr:
        small, large = tr["scenarios"][0], tr["scenarios"][1]
        rows.append(
            (
                "tracker: O(1) queries per cycle",
                f"{small['cycle_statements']:g} vs {large['cycle_statements']:g} "
                f"({small['pending']} vs {large['pending']} pending)",
                verdict(tr["o1"]),
            )
        )
    dg = results.get("digest")
    if dg:
        rows.append(
            (
                "digest: one set of vendor calls",
                f"{dg['vendor_calls']} vendor call(s), {dg['slack_calls']} posts",
                verdict(dg["vendor_calls"] == 1 and dg["slack_ok"] == dg["channels"]),
            )
        )
        rows.append(
            (
                "  (extra) digest: ≤ 1 post/s per channel",
                f"max {dg['max_posts_per_channel_per_s']}/s per channel; "
                f"{dg['peak_posts_per_s']}/s workspace-wide",
                verdict(dg["max_posts_per_channel_per_s"] <= 1),
            )
        )
    st = results.get("startup", {}).get("a")
    if st:
        rows.append(
            (
                "idle RSS ≤ 80 MB",
                f"{_fmt(st['idle_rss_mb'])} MB",
                verdict(st["idle_rss_mb"] is not None and st["idle_rss_mb"] <= 80),
            )
        )
        starts = results.get("memory", {}).get("startups_s") or [st["startup_s"]]
        start = median(starts)
        rows.append(
            (
                "start-up ≤ 1.0 s median (to first 200 /healthz)",
                f"{_fmt(start, 2)} s (n={len(starts)}, max {_fmt(max(starts), 2)} s)",
                verdict(start is not None and start <= 1.0),
            )
        )
    return rows


def render(results: dict[str, Any]) -> str:
    plan, env = results["plan"], results["environment"]
    for run in results.get("load", []):
        run["_duration"] = plan["duration"]
    load = summarize_load(results.get("load", []))
    lines: list[str] = []
    add = lines.append
    uv = env["uvicorn"]
    add(
        f"chatops-hub benchmark — {'quick' if plan['quick'] else 'full'} run, "
        f"{env['cpus']} CPUs, Python {env['python']}, uvicorn loop={uv['loop']} "
        f"http={uv['http']} (same settings for a, b, c)"
    )
    add(
        f"Load: signed `/flint run demo:hello.rb` slash commands; {plan['repeats']} × "
        f"{plan['duration']:g} s per point after {plan['warmup']:g} s warm-up; "
        f"median [min–max] over repeats; Flint run calls take {plan['vendor_delay']:g} s"
    )
    add("")
    add("1. Ack latency and throughput")
    head = (
        f"{'c':>4}  {'server':<16}{'p50 ms':>22}{'p99 ms':>24}{'req/s':>24}"
        f"{'>3 s':>6}{'err':>5}{'CPU ms/req':>11}{'srv CPU':>8}{'gen CPU':>8}"
    )
    add(head)
    add("-" * len(head))
    for c in plan["concurrencies"]:
        for key in ("a", "b", "c"):
            p = load.get(key, {}).get(c)
            if p is None:
                continue
            rs = p["runs"]
            add(
                f"{c:>4}  {NAMES[key]:<16}"
                f"{_with_spread([r['p50_ms'] for r in rs]):>22}"
                f"{_with_spread([r['p99_ms'] for r in rs]):>24}"
                f"{_with_spread([r['rps'] for r in rs], 0):>24}"
                f"{p['over_3s']:>6}{p['errors']:>5}"
                f"{_fmt(p['server_cpu_ms_per_req'], 2):>11}"
                f"{_pct(p['server_cpu_util']):>8}{_pct(p['client_cpu_util']):>8}"
                f"{_fmt(p['posts_per_s'], 0):>8}"
            )
        for other in ("b", "c"):
            pa, po = load.get("a", {}).get(c), load.get(other, {}).get(c)
            if pa and po:
                add(
                    f"{'':>4}  {'a/' + other:<16}"
                    f"{_fmt(ratio(pa['p50_ms'], po['p50_ms']), 2) + ' ×':>22}"
                    f"{_fmt(ratio(pa['p99_ms'], po['p99_ms']), 2) + ' ×':>24}"
                    f"{_fmt(ratio(pa['rps'], po['rps']), 2) + ' ×':>24}"
                    + (
                        f"{'':>38}{_fmt(ratio(pa['posts_per_s'], po['posts_per_s']), 2) + ' ×':>8}"
                        if other == "b"
                        else ""
                    )
                )
        add("")
    add(
        "  CPU ms/req: server process CPU per request; srv/gen CPU: server and load-generator "
        "CPU use (100% = one core);"
    )
    add(
        "  posts/s: chat.postMessage calls the server made per second of load, i.e. work done "
        "behind the acks ((b)'s reply, (a)'s job card)."
    )
    hub_runs = [r for r in results.get("load", []) if r["server"] == "a" and "hub" in r]
    if hub_runs:
        add(
            "  chatops-hub, the work behind its acks (each run on a fresh process and database;"
            " medians at the end of the run):"
        )
        for c in plan["concurrencies"]:
            rs = [r["hub"] for r in hub_runs if r["concurrency"] == c]
            if rs:
                add(
                    f"  {c:>4}  accepted {median([h['acked'] for h in rs]):>7,.0f}   refused busy "
                    f"{median([h.get('refused_busy', 0) for h in rs]):>7,.0f}   jobs recorded "
                    f"{median([h['recorded'] for h in rs]):>7,.0f}   notices delivered "
                    f"{median([h['notified'] for h in rs]):>7,.0f}   RSS "
                    f"{_fmt(median([h['rss_end_mb'] for h in rs]))} MB   errors logged "
                    f"{sum(h.get('error_lines', 0) for h in rs)}"
                )
    su = results.get("sustained")
    if su:
        cu, end = su["catch_up"], su["at_end"]
        add(
            f"  sustained: (a) alone at c={su['concurrency']} for {su['duration']:g} s: "
            f"p50 {_fmt(su['p50_ms'])} ms, p99 {_fmt(su['p99_ms'])} ms, max "
            f"{_fmt(su['max_ms'])} ms, {su['over_3s']} of {su['n']:,} over 3 s, "
            f"{su['rps']:,.0f} req/s, RSS {_fmt(su['rss_end_mb'])} MB"
        )
        add(
            f"     accepted {su['acked']:,} (refused as busy: {su.get('refused_busy', 0):,}); "
            f"at the end of the load {end['recorded']:,} jobs "
            "recorded, "
            f"{end['notified']:,} notified, {end['error_lines']} errors logged "
            f"({end['pool_timeouts']} DB pool timeouts)"
        )
        state = "all delivered" if cu["complete"] else "gave up waiting"
        add(
            f"     {cu['seconds']:.0f} s later ({state}): {cu['notified']:,} of {cu['recorded']:,} "
            f"recorded jobs notified; {cu['error_lines']} errors logged "
            f"({cu['pool_timeouts']} DB pool timeouts)"
        )
    add("")
    add("2. Completion-notice latency")
    nt = results.get("notices", {})
    cb = nt.get("callback_to_notice", {})
    if cb.get("status") == "ok":
        add(
            f"  (i)  Stintmint callback received → Slack call: p50 {_fmt(cb['p50_s'] * 1000)} ms, "
            f"p99 {_fmt(cb['p99_s'] * 1000)} ms (n={cb['n']})"
        )
    else:
        add(f"  (i)  Stintmint callback received → Slack call: {cb.get('status', '—')}")
    for v in nt.get("vendor_to_notice", []):
        if v.get("n"):
            add(
                f"  (ii) Flint job finished → card updated, poll interval "
                f"{v['poll_interval_s']:g} s (tick {v['tick_s']:g} s): "
                f"p50 {_fmt(v['p50_s'], 2)} s, p99 "
                f"{_fmt(v['p99_s'], 2)} s, min {_fmt(v['min_s'], 2)} s, max "
                f"{_fmt(v['max_s'], 2)} s (n={v['n']}; {v['status']})"
            )
        else:
            add(f"  (ii) poll interval {v.get('poll_interval_s', '?')} s: {v['status']}")
    add("")
    tr = results.get("tracker")
    if tr:
        add("3. Tracker cost per poll cycle (Tracker.tick + the work it spawns), SQLite")
        add(
            f"  {'pending':>8}{'due':>6}{'claimed':>9}{'stmts in tick':>15}{'stmts/cycle':>13}"
            f"{'1st cycle':>11}{'CPU ms':>9}{'wall ms':>9}"
        )
        for s in tr["scenarios"]:
            add(
                f"  {s['pending']:>8}{s['due']:>6}{s['claimed']:>9}{s['claim_statements']:>15g}"
                f"{s['cycle_statements']:>13g}{s['first_cycle_statements']:>11}"
                f"{s['cpu_ms']:>9.2f}{s['wall_ms']:>9.2f}"
            )
        add(
            "  (1st cycle also refreshes the job-state gauges: +1 GROUP BY over all jobs, "
            "every 15 s)"
        )
        add("")
    dg = results.get("digest")
    if dg:
        add(f"4. Digest fan-out to {dg['channels']} channels (one DigestKind, all due at once)")
        add(
            f"  vendor calls {dg['vendor_calls']}, Slack calls {dg['slack_calls']} "
            f"({dg['slack_ok']} ok, {dg['channels_posted']} channels), wall "
            f"{dg['wall_s']:.2f} s; chat.postMessage max {dg['max_posts_per_channel_per_s']}/s "
            f"per channel (Slack: ~1/s, bursts allowed), peak {dg['peak_posts_per_s']}/s "
            f"and {dg['peak_posts_per_min']}/min across the workspace"
        )
        add("")
    cp = results.get("card_pacing")
    if cp:
        add("4b. Live job cards: chat.update pacing (bench/card_pacing.py)")
        lines.extend(f"  {line}" for line in card_pacing.render(cp).splitlines())
        add("")
    st, mem = results.get("startup", {}), results.get("memory", {})
    if st:
        add("5. Memory and start-up")
        for key in ("a", "b", "c"):
            if key in st:
                add(
                    f"  {NAMES[key]:<16} start-up {st[key]['startup_s']:.2f} s to first 200 "
                    f"/healthz; idle RSS {_fmt(st[key]['idle_rss_mb'])} MB"
                )
        ups = mem.get("startups_s") or []
        if len(ups) > 1:
            add(
                f"  (a) start-up over all {len(ups)} starts: median {median(ups):.2f} s, "
                f"max {max(ups):.2f} s"
            )
        ends = [m for m in mem.get("rss_end_c100_mb", []) if m is not None]
        if ends:
            add(
                f"  (a) RSS at the end of the c={plan['concurrencies'][-1]} runs: "
                f"{', '.join(_fmt(m) for m in ends)} MB; peak (VmHWM) "
                f"{_fmt(mem.get('peak_rss_mb'))} MB"
            )
        add("")
    add("Targets")
    for target, measured, outcome in targets(results, load):
        add(f"  {outcome:<7} {target:<44} {measured}")
    return "\n".join(lines)
