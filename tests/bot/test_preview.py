"""``chatops preview``: the tour's gallery, opened in headless Chromium (Debian's, driven by
Playwright), draws every captured block, lets no text run out of its box and runs nothing
a vendor's text smuggles in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.devkit.preview import gallery as gallery_writer
from bot.devkit.preview import shots
from bot.devkit.preview.browser import CHROMIUM, launch
from bot.devkit.preview.tour import Item, Step, Tour

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "<script>window.pwned = 1</script>"
WIDE, NARROW = 1280, 420
VENDORS = ("Flint", "STOMT", "Signicat Mint", "Stintmint", "Mindstamp")
SHOTS = {"job-running", "job-finished", "form", "digest", "home"}

# Per captured item: the types of the blocks drawn, in order, and those left undrawn.
DRAWN = """() => Object.fromEntries([...document.querySelectorAll('[data-item]')].map(item => [
  item.dataset.item,
  {
    drawn: [...item.querySelectorAll('[data-block]')]
      .filter(b => b.getBoundingClientRect().height > 0).map(b => b.dataset.block),
    undrawn: [...item.querySelectorAll('[data-unsupported]')].map(b => b.dataset.unsupported),
  },
]))"""

# Every element whose content is wider than its box (the text runs out or would scroll).
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`
    + ` «${el.textContent.slice(0, 60)}»`)"""

INJECTED = """() => ({
  scripts: document.querySelectorAll('script, iframe, object, embed, form, style').length,
  handlers: [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => a.name.startsWith('on')).map(a => `${el.tagName}@${a.name}`)),
  hrefs: [...document.querySelectorAll('[href]')].map(el => el.getAttribute('href'))
    .filter(h => !/^(https?:|mailto:|files\\/|gallery\\.css$)/.test(h)),
  images: [...document.querySelectorAll('img')].map(el => el.getAttribute('src'))
    .filter(src => !src.startsWith('files/')),
  pwned: window.pwned === undefined ? null : String(window.pwned),
})"""


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); under CI this fails")


@pytest.fixture(scope="module")
def tour_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    need_chromium()  # before the tour's 15 s, not after
    out = tmp_path_factory.mktemp("gallery")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "preview", "--out", str(out)],
        cwd=out,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


@pytest.fixture(scope="module")
def gallery(tour_run) -> Path:
    return tour_run[0]


@pytest.fixture(scope="module")
def captured(gallery) -> dict[str, dict[str, Any]]:
    tour = json.loads((gallery / "gallery.json").read_text(encoding="utf-8"))
    return {item["id"]: item for step in tour["steps"] for item in step["items"]}


@pytest.fixture(scope="module")
def browser():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def open_page(browser, index: Path, width: int):
    """The page at ``width``, and the errors it reported (console, script, loads)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(5000)  # a missing element fails at once, not after 30 s
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: errors.append(f"{r.url}: {r.failure}"))
    page.goto(index.resolve().as_uri(), wait_until="load")
    return page, errors


@pytest.fixture(scope="module")
def pages(gallery, browser):
    """The tour's gallery, opened once per width: (page, its errors)."""
    opened = {width: open_page(browser, gallery / "index.html", width) for width in (WIDE, NARROW)}
    yield opened
    for page, _errors in opened.values():
        page.close()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, browser):
    """A gallery of hostile and feature-rich blocks, opened: (page, its errors)."""
    index = gallery_writer.write(hostile_tour(), tmp_path_factory.mktemp("hostile"))
    page, errors = open_page(browser, index, WIDE)
    yield page, errors
    page.close()


def test_the_tour_covers_every_vertical_and_the_app_logs_no_error(tour_run, captured):
    """The default tour shows each vendor's cards, forms, uploaded charts and the Home page,
    and the app logged no error while it ran."""
    _out, result = tour_run
    assert "logged an error" not in result.stderr, result.stderr
    kinds = {item["kind"] for item in captured.values()}
    assert kinds == {"message", "modal", "file", "home"}
    words = json.dumps([item["blocks"] for item in captured.values()])
    for vendor in VENDORS:
        assert vendor in words, vendor
    assert any(item["image"] for item in captured.values()), "no chart was uploaded"


def test_every_captured_block_is_drawn(captured, pages):
    """Each message, form and the Home page shows as many blocks, of the same types in the
    same order, as the app sent, each with a size on the page."""
    page, _errors = pages[WIDE]
    drawn = page.evaluate(DRAWN)
    assert set(drawn) == set(captured)
    for item_id, item in captured.items():
        sent = [block.get("type") for block in item["blocks"]]
        assert drawn[item_id] == {"drawn": sent, "undrawn": []}, item_id


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_no_text_runs_out_of_its_box_and_the_page_reports_no_error(pages, width):
    """At a desktop and a phone width, no element's content is wider than its box and the
    page loads without a console error or a failed load."""
    page, errors = pages[width]
    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert errors == []


def test_vendor_text_from_the_tour_is_shown_not_run(pages):
    """The echo flintbit's output carries a script and a tag: the card shows them as text."""
    page, errors = pages[WIDE]
    assert page.evaluate(INJECTED) == {
        "scripts": 0,
        "handlers": [],
        "hrefs": [],
        "images": [],
        "pwned": None,
    }
    text = page.inner_text("main")
    assert HOSTILE in text and "<b>not bold</b>" in text
    assert errors == []


HOSTILE_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": f"{HOSTILE}<b>head</b>"}},
    {
        "type": "section",
        "text": {
            "type": "mrkdwn",
            "text": "*&lt;img src=x onerror=window.pwned=2&gt;* "
            '<javascript:window.pwned=3|click> <https://ok.example/?a="b"&amp;c=d|"quoted">'
            f" `{HOSTILE}` \ue0000\ue001 <@U0CONSOLE|<img src=x onerror=alert(1)>>",
        },
        "fields": [{"type": "plain_text", "text": '"><iframe src=x></iframe>'}],
        "accessory": {
            "type": "button",
            "text": {"type": "plain_text", "text": "<svg onload=alert(1)>"},
            "url": "javascript:window.pwned=4",
            "action_id": "x",
        },
    },
    {
        "type": "context",
        "elements": [{"type": "image", "image_url": "javascript:alert(1)", "alt_text": '"><x'}],
    },
    {"type": "image", "image_url": "https://evil.example/x.png", "alt_text": "<style>*{}"},
    {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": HOSTILE, "style": {"bold": True}},
                    {"type": "link", "url": "data:text/html,<script>1</script>", "text": "d"},
                    {"type": "emoji", "name": "<b>x</b>"},
                ],
            }
        ],
    },
    {
        "type": "input",
        "label": {"type": "plain_text", "text": "<form action=x>"},
        "element": {
            "type": "static_select",
            "action_id": "s",
            "initial_option": {"text": {"type": "plain_text", "text": HOSTILE}, "value": "v"},
            "options": [],
        },
        "hint": {"type": "plain_text", "text": "<object data=x>"},
    },
]

FEATURES = (
    "*bold* _italic_ ~gone~ `code` <https://example.com|a link> <@U0CONSOLE> <#C0CONSOLE>"
    " :tada: <!here>\n• first\n• second\n> quoted\n```pre *not bold*\n  kept```"
)


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_tour() -> Tour:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": FEATURES}},
        {"type": "divider"},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Go"},
                    "style": "primary",
                },
                {"type": "button", "text": {"type": "plain_text", "text": "No"}, "style": "danger"},
                {
                    "type": "external_select",
                    "placeholder": {"type": "plain_text", "text": "Search flows"},
                },
            ],
        },
    ]
    items = [
        Item("m1", "message", "hostile", blocks=HOSTILE_BLOCKS),
        Item("m2", "message", "features", blocks=blocks),
        Item("v-1", "modal", f"{HOSTILE} form", blocks=HOSTILE_BLOCKS[5:], title=HOSTILE),
        Item("m3", "message", "no blocks", text=f"&lt;b&gt;plain {slack_escape(HOSTILE)}"),
    ]
    return Tour(
        [Step(f"/flint run {HOSTILE}", items=items)],
        users={"U0CONSOLE": "ada"},
        channels={"C0CONSOLE": "console"},
        files={},
    )


def test_hostile_blocks_cannot_inject_anything(hostile):
    """Tags, attribute breakouts, script URLs and forged markers in every kind of text come
    out as visible text: no script, handler, frame, foreign link or foreign image."""
    page, errors = hostile
    assert page.evaluate(INJECTED) == {
        "scripts": 0,
        "handlers": [],
        "hrefs": [],
        "images": [],
        "pwned": None,
    }
    assert errors == []
    assert page.locator("#m1 a").get_attribute("href") == 'https://ok.example/?a="b"&c=d'
    hostile = page.inner_text("#m1")
    for shown in (
        f"{HOSTILE}<b>head</b>",
        "<img src=x onerror=window.pwned=2>",
        '"><iframe src=x></iframe>',
        "<svg onload=alert(1)>",
        ":<b>x</b>:",
        "<form action=x>",
        "<object data=x>",
        '"quoted"',
    ):
        assert shown in hostile, shown
    assert page.locator("#m1 b").first.inner_text() == "<img src=x onerror=window.pwned=2>"
    assert page.inner_text("#v-1 .modal-title") == HOSTILE
    assert page.inner_text("#m3").endswith(f"<b>plain {HOSTILE}")


def test_the_mrkdwn_subset_and_elements_are_drawn_as_slack_draws_them(hostile):
    """Bold, italic, strike, code, pre, links, mentions, emoji as text, list lines, quotes,
    button styles and a typeahead select each get their own markup."""
    page, _errors = hostile
    features = page.locator("#m2")
    assert features.locator("b").first.inner_text() == "bold"
    assert features.locator("i").first.inner_text() == "italic"
    assert features.locator("s").first.inner_text() == "gone"
    assert features.locator("code").first.inner_text() == "code"
    assert features.locator("a").first.get_attribute("href") == "https://example.com"
    assert [m.inner_text() for m in features.locator(".mention").all()] == [
        "@ada",
        "#console",
        "@here",
    ]
    assert features.locator(".emoji").inner_text() == ":tada:"
    assert [li.inner_text() for li in features.locator(".li").all()] == ["• first", "• second"]
    assert features.locator("blockquote").inner_text() == "quoted"
    assert features.locator("pre").inner_text() == "pre *not bold*\n  kept"
    assert features.locator(".button.primary").inner_text() == "Go"
    assert features.locator(".button.danger").inner_text() == "No"
    assert features.locator(".select-search").inner_text() == "Search flows"
    fields = page.locator("#m1 .fields")
    assert fields.evaluate("el => getComputedStyle(el).gridTemplateColumns.split(' ').length") == 2


def test_screenshots_are_the_marked_items_cropped(gallery, browser, tmp_path):
    """`--screenshots` saves each item the tour marks, cropped to it, at most 800 px wide."""
    from PIL import Image

    written = shots.take(gallery / "index.html", tmp_path, browser)
    assert {path.stem for path in written} == SHOTS
    for path in written:
        with Image.open(path) as image:
            width, height = image.size
        assert 400 <= width <= 800 and 100 <= height <= 1400, (path.name, image.size)


def test_preview_without_the_console_extra_says_how_to_install_it(monkeypatch, capsys, tmp_path):
    """The tour runs on the console's code: without rich, `chatops preview` names the fix."""
    for name in list(sys.modules):
        if name.split(".")[0] == "rich" or name.startswith("bot.devkit."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "rich", None)
    assert main(["preview", "--out", str(tmp_path)]) == 2
    assert "pip install 'chatops-hub[console]'" in capsys.readouterr().err


def test_a_missing_chromium_fails_under_ci_and_is_skipped_elsewhere(monkeypatch, tmp_path):
    """CI must not pass by skipping the browser checks; a laptop without chromium may."""
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="installs Debian's chromium"):
        need_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        need_chromium()
