"""A tour → a static HTML gallery: index.html, gallery.css, gallery.json (what was
captured, for tests and tools) and the uploaded files next to them."""

from __future__ import annotations

import json
from pathlib import Path

from bot.devkit.preview import blockkit
from bot.devkit.preview.blockkit import Context, esc
from bot.devkit.preview.style import CSS
from bot.devkit.preview.tour import BOT_NAME, Item, Step, Tour

# Defence in depth under the escaping: the page runs no script and loads nothing but its
# own stylesheet and images, whatever a vendor's text might smuggle in.
CSP = "default-src 'none'; img-src 'self'; style-src 'self'"


def write(tour: Tour, out: Path) -> Path:
    """Write the gallery of ``tour`` into ``out``; return the path of index.html."""
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(users=tour.users, channels=tour.channels, files=tour.files)
    (out / "gallery.css").write_text(CSS, encoding="utf-8")
    (out / "gallery.json").write_text(
        json.dumps(tour.to_json(), indent=1, ensure_ascii=False), encoding="utf-8"
    )
    index = out / "index.html"
    index.write_text(page(tour, ctx), encoding="utf-8")
    return index


def page(tour: Tour, ctx: Context) -> str:
    items = tour.items()
    counts = {kind: sum(1 for i in items if i.kind == kind) for kind in ("message", "modal")}
    summary = (
        f"{len(tour.steps)} steps of a scripted tour against the built-in sandboxes and a "
        f"Slack fake: {counts['message']} messages (each as it stood when the tour ended), "
        f"{counts['modal']} forms, the files the app uploaded and the App Home page."
    )
    steps = "".join(_step(number, step, ctx) for number, step in enumerate(tour.steps, 1))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>chatops-hub — preview gallery</title>"
        '<link rel="stylesheet" href="gallery.css"></head><body>'
        '<header class="page-head"><h1>chatops-hub — preview gallery</h1>'
        f"<p>{esc(summary)}</p></header>"
        f"<main>{steps}</main></body></html>\n"
    )


def _step(number: int, step: Step, ctx: Context) -> str:
    shot = f' data-shot="{esc(step.shot[0])}"' if step.shot and step.shot[1] == "step" else ""
    items = "".join(_item(item, ctx, step) for item in step.items)
    if not items:
        items = '<p class="caption">(nothing new in Slack)</p>'
    return (
        f'<section class="step" id="step-{number}" data-step="{number}"{shot}>'
        f'<h2 class="command"><span class="prompt">&gt; </span>{esc(step.line)}</h2>'
        f'<div class="items">{items}</div></section>'
    )


def _item(item: Item, ctx: Context, step: Step) -> str:
    shot = ""
    if step.shot and step.shot[1] == item.kind and not _shot_taken(step, item):
        shot = f' data-shot="{esc(step.shot[0])}"'
    attrs = f'id="{esc(item.id)}" data-item="{esc(item.id)}" data-kind="{item.kind}"{shot}'
    if item.kind == "modal":
        return _modal(item, ctx, attrs)
    if item.kind == "home":
        return _home(item, ctx, attrs)
    if item.kind == "file":
        return _file(item, ctx, attrs)
    return _message(item, ctx, attrs)


def _shot_taken(step: Step, item: Item) -> bool:
    """Whether an earlier item of the same kind in the step has the picture already."""
    for other in step.items:
        if other is item:
            return False
        if other.kind == item.kind:
            return True
    return False


def _sender(item: Item) -> str:
    """The avatar and the line above a message: who sent it, and the caption."""
    app = item.sender == BOT_NAME
    avatar = "ch" if app else item.sender[:1].upper()
    badge = '<span class="badge">APP</span>' if app else ""
    return (
        f'<div class="avatar{"" if app else " person"}" aria-hidden="true">{esc(avatar)}</div>'
        f'<div class="message-body"><div class="meta"><span class="sender">{esc(item.sender)}'
        f'</span>{badge}<span class="caption">{esc(item.caption)}</span></div>'
    )


def _message(item: Item, ctx: Context, attrs: str) -> str:
    css = "item message" + (" ephemeral" if item.ephemeral else "")
    css += " deleted" if item.deleted else ""
    if item.blocks:
        body = blockkit.blocks(item.blocks, ctx)
    else:
        body = f'<div class="text">{blockkit.mrkdwn(item.text or "(empty message)", ctx)}</div>'
    visibility = '<div class="visibility">Only visible to you</div>' if item.ephemeral else ""
    return (
        f'<article class="{css}" {attrs}>{_sender(item)}{visibility}'
        f'<div class="blocks">{body}</div></div></article>'
    )


def _modal(item: Item, ctx: Context, attrs: str) -> str:
    submit = f'<span class="button primary">{esc(item.submit)}</span>' if item.submit else ""
    return (
        f'<article class="item modal" {attrs}><div class="caption">{esc(item.caption)}</div>'
        '<div class="modal-frame"><div class="modal-head">'
        f'<span class="modal-title">{esc(item.title)}</span>'
        '<span class="modal-x" aria-hidden="true">×</span></div>'
        f'<div class="blocks modal-blocks">{blockkit.blocks(item.blocks, ctx, item.fields)}</div>'
        f'<div class="modal-foot"><span class="button">{esc(item.close)}</span>{submit}</div>'
        "</div></article>"
    )


def _home(item: Item, ctx: Context, attrs: str) -> str:
    return (
        f'<article class="item home" {attrs}><div class="caption">{esc(item.caption)}</div>'
        '<div class="home-tabs"><span class="tab on">Home</span><span class="tab">Messages'
        '</span><span class="tab">About</span></div>'
        f'<div class="blocks home-blocks">{blockkit.blocks(item.blocks, ctx)}</div></article>'
    )


def _file(item: Item, ctx: Context, attrs: str) -> str:
    comment = f'<div class="text">{blockkit.mrkdwn(item.text, ctx)}</div>' if item.text else ""
    href = esc(item.file or "")
    if item.image:
        shown = f'<img src="{href}" alt="{esc(item.title)}">'
    else:
        shown = f'<pre class="pre">{esc(item.snippet or "")}</pre>'
    return (
        f'<article class="item file" {attrs}>{_sender(item)}{comment}'
        f'<div class="file-card"><div class="file-title">{esc(item.title)}</div>{shown}'
        f'<a class="file-link" href="{href}">{esc(item.file or "")}</a></div>'
        '<div class="blocks"></div></div></article>'
    )
