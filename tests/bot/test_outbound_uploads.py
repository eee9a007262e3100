"""Uploads through the app's redacting Slack client: text is redacted whichever argument
carries it, and binary bytes (a digest's PNG chart) arrive exactly as sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.wiring.outbound import RedactingWebClient
from tests.fakes.slack_api import RunningSlackFake, running_slack_fake

SECRET = "s3cr3t-vendor-key"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe" + bytes(range(256))


@pytest.fixture(scope="module")
def slack() -> Iterator[RunningSlackFake]:
    with running_slack_fake() as handle:
        yield handle


@pytest.fixture
def client(slack):
    slack.fake.files.clear()
    return RedactingWebClient(
        token="xoxb-test-token",
        base_url=slack.api_url,
        redact=lambda text: text.replace(SECRET, "[redacted]"),
    )


@pytest.mark.parametrize("part", ["content", "file"])
async def test_text_is_redacted_in_content_and_file(slack, client, part):
    data = f"output with {SECRET} in it\n".encode()
    await client.files_upload_v2(channel="C1", filename="out.txt", **{part: data})
    [stored] = slack.fake.files
    assert stored["content"] == b"output with [redacted] in it\n"


@pytest.mark.parametrize("part", ["content", "file"])
async def test_binary_bytes_arrive_untouched(slack, client, part):
    await client.files_upload_v2(channel="C1", filename="chart.png", **{part: PNG})
    [stored] = slack.fake.files
    assert stored["content"] == PNG
