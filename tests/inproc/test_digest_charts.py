"""Digest charts through the app in process (tests/inproc/harness.py): `/mindstamp digest
now` and `/mint digest now` as signed Slack requests, real HTTP to the sandboxes, the
Slack fake receiving the message and then the PNG with files_upload_v2."""

from __future__ import annotations

import re

from adapters.mindstamp.sandbox import EXAMPLE_VIDEO
from adapters.mint.sandbox import KYC_FLOW_ID, ONBOARD_FLOW_ID
from bot.store.digests import DigestStore
from handlers.common.charts import SPARKS
from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import blocks_text
from tests.unit.test_charts import png_size

SPARKLINE = re.compile(f"[{SPARKS}]+")


def _digests(slack, channel):
    return [
        c
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and c.args["channel"] == channel and c.args.get("blocks")
    ]


def _files(slack, channel):
    return [f for f in slack.fake.files if f["channel_id"] == channel]


def _fields(blocks) -> dict[str, str]:
    found = {}
    for block in blocks if isinstance(blocks, list) else []:
        for field in block.get("fields", []):
            name, _, value = field["text"].partition("\n")
            found[name.strip("*")] = value
    return found


def _digest_now(app, slack, command, channel, count):
    """`digest now` in ``channel``: its ``count``-th digest, once the command's work is
    over (the chart follows the text in that work: posted, or given up, by then)."""
    app.client.command("digest now", command=command, channel_id=channel)
    wait_for(lambda: len(_digests(slack, channel)) >= count, timeout=20)
    app.wait_quiet()
    return _digests(slack, channel)[count - 1]


def _metric(app, vendor, outcome) -> str:
    text = app.http.get(app.url + "/metrics").text
    found = re.search(
        rf'chatops_digests_total\{{outcome="{outcome}",vendor="{vendor}"\}} ([0-9.]+)', text
    )
    return found.group(1) if found else "0"


def test_mindstamp_digest_charts_views_over_the_last_digests(app, slack, sandbox):
    """Subscribed, `digest now` twice: each digest's text, then a PNG of the views at each
    digest in the same channel; the second message holds a sparkline of the two totals
    (also the chart's alt text), and the channel's cursor keeps them for next time."""
    state = mounted_app(sandbox, "/mindstamp").state.sandbox
    app.client.command("digest daily 08:00", command="/mindstamp", channel_id="CCH1")
    wait_for(lambda: slack.fake.responses, timeout=15)
    first = _digest_now(app, slack, "/mindstamp", "CCH1", 1)
    assert len(_files(slack, "CCH1")) == 1
    for _ in range(3):
        state.add_view(EXAMPLE_VIDEO, age=1)
    second = _digest_now(app, slack, "/mindstamp", "CCH1", 2)
    assert len(_files(slack, "CCH1")) == 2

    for upload in _files(slack, "CCH1"):
        assert upload["filename"] == "mindstamp-views.png"
        assert png_size(upload["content"]) == (640, 240)
    total = int(_fields(second.args["blocks"])["Total views"].split()[0])
    before = int(_fields(first.args["blocks"])["Total views"].split()[0])
    assert total == before + 3
    text = blocks_text(second.args["blocks"])
    assert f"last 2 digests: ▁█ {before:,} → {total:,}" in text
    assert SPARKLINE.findall(second.args["text"]) == ["▁█"]
    assert _files(slack, "CCH1")[1]["alt_txt"] == second.args["text"].split(": ", 1)[1]
    assert "at this digest" in blocks_text(first.args["blocks"])

    async def cursor():
        return (await DigestStore(app.runtime.store.engine).get("mindstamp", "CCH1")).cursor

    history = app.run(cursor())["history"]
    assert [views for _, views in history] == [before, total]


def test_mindstamp_figures_say_their_units(app, slack, sandbox):
    """The digest's figures carry their units: views, viewers, seconds, a fraction as %."""
    state = mounted_app(sandbox, "/mindstamp").state.sandbox
    state.add_view(EXAMPLE_VIDEO, age=1)
    posted = _digest_now(app, slack, "/mindstamp", "CCH2", 1)
    fields = _fields(posted.args["blocks"])
    assert re.fullmatch(r"[\d,]+ views?", fields["Total views"])
    assert re.fullmatch(r"[\d,]+ viewers?", fields["Unique viewers"])
    assert re.fullmatch(r"[\d,]+ interactions?", fields["Total interactions"])
    assert re.fullmatch(r"[\d.]+ s( \(.+\))?", fields["Avg watch time"])
    assert re.fullmatch(r"[\d.]+( \([\d.]+ %\))?", fields["Completion rate"])


def test_mint_digest_charts_faults_per_flow(app, slack, sandbox):
    """`/mint digest now`: the text counts faulted and cancelled instances per flow by its
    title, and a PNG of them as bars follows in the channel."""
    mint = mounted_app(sandbox, "/mint").state.sandbox
    mint.add_instance(KYC_FLOW_ID, age=5)  # KYC checks fault
    mint.add_instance(KYC_FLOW_ID, age=5)
    mint.add_instance(ONBOARD_FLOW_ID, age=5, status="Cancelled")
    posted = _digest_now(app, slack, "/mint", "CCH3", 1)
    text = blocks_text(posted.args["blocks"])
    per_flow = posted.args["blocks"][-1]["elements"][0]["text"]
    assert per_flow.startswith("*Per flow*\n")
    kyc = re.search(r"\n(█+) KYC check: (\d+) faulted, 0 cancelled", per_flow)
    onboard = re.search(r"\n(█+) Onboard customer: 0 faulted, (\d+) cancelled", per_flow)
    assert kyc and onboard, per_flow
    faulted, cancelled = int(kyc.group(2)), int(onboard.group(2))
    assert faulted >= 2 and cancelled >= 1  # with what the sandbox had before
    assert per_flow.index("KYC check") < per_flow.index("Onboard customer")  # most first
    [listed] = [b["text"]["text"] for b in posted.args["blocks"][1:] if "*KYC check*" in str(b)]
    assert listed.count("Faulted") == faulted
    assert KYC_FLOW_ID not in per_flow and "KYC check" in text
    [upload] = _files(slack, "CCH3")
    assert upload["filename"] == "mint-faults-per-flow.png"
    width, height = png_size(upload["content"])
    assert width == 640 and 100 < height < 400
    assert f"KYC check: {faulted} faulted, 0 cancelled" in upload["alt_txt"]


def test_an_upload_failure_still_posts_the_digest_and_the_next_works(app, slack, sandbox):
    """Slack refusing the chart: the digest's text is posted all the same, the failure is
    counted; the next `digest now` posts its text and its chart."""
    slack.fake.fail_next("files.completeUploadExternal", "internal_error")
    first = _digest_now(app, slack, "/mindstamp", "CCH4", 1)
    assert "Mindstamp digest" in blocks_text(first.args["blocks"])
    assert _metric(app, "mindstamp", "chart_failed") == "1.0"
    assert _files(slack, "CCH4") == []
    assert len(_digests(slack, "CCH4")) == 1  # posted once, not retried
    _digest_now(app, slack, "/mindstamp", "CCH4", 2)
    assert png_size(_files(slack, "CCH4")[0]["content"]) == (640, 240)
    assert len(_digests(slack, "CCH4")) == 2
