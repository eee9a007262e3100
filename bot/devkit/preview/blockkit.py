"""Block Kit → static HTML laid out the way Slack lays it out.

Everything the app sends, and the vendor text inside it, is escaped here: a text is
HTML only after ``html.escape``, links keep only http(s) and mailto targets, and images
are shown only from files the tour saved next to the gallery (anything else is a
placeholder with its alt text, so the gallery never loads anything from elsewhere).

Each rendered block is one element with ``data-block="<type>"``; a block type with no
renderer here becomes a notice with ``data-unsupported`` instead, so a count of
``[data-block]`` against the captured JSON shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import urlsplit

_ENTITIES = re.compile(r"&(lt|gt|amp);")
_ENTITY_VALUES = {"lt": "<", "gt": ">", "amp": "&"}
# Markers for pieces already rendered while the rest of a line is still mrkdwn: private
# use characters, removed from the input first so that no text can forge one.
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARKED = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_TOKENS = re.compile(r"`(?P<code>[^`\n]+)`|<(?P<angle>[^<>\n]+)>")
_EMPHASIS = (
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])"), "s"),
)
_EMOJI = re.compile(r":([a-z0-9_+'-]+):")
_LIST_ITEM = re.compile(r"^\s*(?:[•◦▪\-]|\d+[.)])\s")
SAFE_SCHEMES = ("http", "https", "mailto")


def unescape(text: str) -> str:
    """Slack's three escapes undone (``&amp;lt;`` stays ``&lt;``), before HTML's own."""
    return _ENTITIES.sub(lambda m: _ENTITY_VALUES[m.group(1)], text)


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def safe_url(url: str) -> str | None:
    """``url`` if a link to it is harmless (http, https, mailto), else None."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in SAFE_SCHEMES else None


@dataclass
class Context:
    """What a rendering needs beyond the blocks: names for mentions, local images."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    # An uploaded file's id → its copy next to the gallery (a relative path).
    files: dict[str, str] = field(default_factory=dict)

    def local_image(self, image: dict[str, Any]) -> str | None:
        """The gallery's copy of an image element's picture, if the tour saved it."""
        slack_file = image.get("slack_file")
        if isinstance(slack_file, dict):
            if slack_file.get("id") in self.files:
                return self.files[str(slack_file["id"])]
            url = str(slack_file.get("url") or "")
        else:
            url = str(image.get("image_url") or "")
        for file_id, path in self.files.items():
            if url and f"/{file_id}/" in url + "/":
                return path
        return None


# -- text -----------------------------------------------------------------------------------


def _clean(text: Any) -> str:
    return str(text).replace(_OPEN, "").replace(_CLOSE, "")


def _leaf(text: str) -> str:
    """Plain mrkdwn text (no markup left): entities undone, escaped, emoji as text."""
    out = []
    pos = 0
    text = unescape(text)
    for match in _EMOJI.finditer(text):
        out.append(esc(text[pos : match.start()]))
        out.append(f'<span class="emoji">:{esc(match.group(1))}:</span>')
        pos = match.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _emphasis(text: str) -> str:
    best: tuple[re.Match[str], str] | None = None
    for pattern, tag in _EMPHASIS:
        match = pattern.search(text)
        if match and (best is None or match.start() < best[0].start()):
            best = (match, tag)
    if best is None:
        return _leaf(text)
    match, tag = best
    inner = _emphasis(match.group(1))
    return f"{_leaf(text[: match.start()])}<{tag}>{inner}</{tag}>{_emphasis(text[match.end() :])}"


def angle(inner: str, ctx: Context) -> str:
    """One ``<…>`` of mrkdwn: a mention, a special mention or a link."""
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        name = unescape(label) if label else ctx.users.get(target[1:], target[1:])
        return f'<span class="mention">@{esc(name)}</span>'
    if target.startswith("#"):
        name = unescape(label) if label else ctx.channels.get(target[1:], target[1:])
        return f'<span class="mention">#{esc(name)}</span>'
    if target.startswith("!"):
        special = target[1:]
        if special.startswith("date^"):  # Slack shows the date in the reader's time zone
            return f'<span class="date">{esc(unescape(label or special))}</span>'
        if special.startswith("subteam^"):
            return f'<span class="mention">{esc(unescape(label or special))}</span>'
        return f'<span class="mention">@{esc(special)}</span>'
    url = unescape(target)
    return link(url, _leaf(label) if label else esc(url))


def link(url: str, shown: str) -> str:
    """A link to ``url`` showing ``shown`` (HTML already), or only the words if ``url``
    is not one a gallery should follow."""
    href = safe_url(url)
    if href is None:
        return f'<span class="link-refused">{shown}</span>'
    return f'<a href="{esc(href)}" rel="noopener noreferrer">{shown}</a>'


def inline(text: str, ctx: Context) -> str:
    """A line of mrkdwn (no code blocks) → HTML."""
    rendered: list[str] = []

    def keep(match: re.Match[str]) -> str:
        if match.group("code") is not None:
            rendered.append(f"<code>{esc(unescape(match.group('code')))}</code>")
        else:
            rendered.append(angle(match.group("angle"), ctx))
        return f"{_OPEN}{len(rendered) - 1}{_CLOSE}"

    marked = _TOKENS.sub(keep, text)
    return _MARKED.sub(lambda m: rendered[int(m.group(1))], _emphasis(marked))


def _lines(text: str, ctx: Context) -> str:
    """Text between code blocks: lines, quotes (a raw ``>``) and list items."""
    out: list[str] = []
    quote: list[str] = []

    def flush() -> None:
        if quote:
            out.append(f"<blockquote>{'<br>'.join(quote)}</blockquote>")
            quote.clear()

    for line in text.split("\n"):
        if line.startswith(">"):
            quote.append(inline(line[1:].lstrip(" "), ctx))
            continue
        flush()
        if _LIST_ITEM.match(unescape(line)):
            out.append(f'<span class="li">{inline(line, ctx)}</span>')
        else:
            out.append(f"{inline(line, ctx)}<br>")
    flush()
    html = "".join(out)
    return html[:-4] if html.endswith("<br>") else html


def _pre(text: str, ctx: Context) -> str:
    """A code block: verbatim, but for links and mentions (as Slack shows them)."""
    rendered: list[str] = []

    def keep(match: re.Match[str]) -> str:
        rendered.append(angle(match.group(1), ctx))
        return f"{_OPEN}{len(rendered) - 1}{_CLOSE}"

    marked = re.sub(r"<([^<>\n]+)>", keep, text)
    return _MARKED.sub(lambda m: rendered[int(m.group(1))], esc(unescape(marked)))


def mrkdwn(text: Any, ctx: Context) -> str:
    """Slack mrkdwn → HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, quotes,
    links, mentions, and :emoji: as text."""
    text = _clean(text)
    parts = text.split("```")
    if len(parts) % 2 == 0:  # an unclosed fence is shown as typed
        parts = [text]
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            code = _pre(part.strip("\n"), ctx)
            out.append(f'<pre class="pre">{code}</pre>')
        elif part.strip("\n"):
            out.append(_lines(part.strip("\n"), ctx))
    return "".join(out)


def plain_text(value: Any) -> str:
    return esc(_clean(value)).replace("\n", "<br>")


def text(obj: Any, ctx: Context) -> str:
    """A text object (mrkdwn or plain_text) → HTML."""
    if isinstance(obj, dict):
        if obj.get("type") == "mrkdwn":
            return mrkdwn(obj.get("text", ""), ctx)
        return plain_text(obj.get("text", ""))
    return plain_text("" if obj is None else obj)


def label(obj: Any) -> str:
    """A text object's words, without markup (button labels, placeholders, options)."""
    if isinstance(obj, dict):
        return esc(_clean(obj.get("text", "")))
    return esc(_clean("" if obj is None else obj))


# -- elements -------------------------------------------------------------------------------


def _image(element: dict[str, Any], ctx: Context, css: str) -> str:
    alt = esc(_clean(element.get("alt_text", "")))
    src = ctx.local_image(element)
    if src is not None:
        return f'<img class="{css}" src="{esc(src)}" alt="{alt}">'
    # The gallery loads nothing from elsewhere: a picture by URL is named, not fetched.
    return f'<span class="{css} image-missing" title="{alt}">{alt or "image"}</span>'


def _option_text(option: Any) -> str:
    return label(option.get("text")) if isinstance(option, dict) else ""


def _select(element: dict[str, Any]) -> str:
    chosen = element.get("initial_option")
    options = element.get("initial_options")
    if isinstance(chosen, dict):
        shown, css = _option_text(chosen), "select-value"
    elif isinstance(options, list) and options:
        shown, css = ", ".join(_option_text(o) for o in options), "select-value"
    elif element.get("initial_user") or element.get("initial_conversation"):
        initial = element.get("initial_user") or element.get("initial_conversation")
        shown, css = esc(_clean(initial)), "select-value"
    elif element.get("initial_channel"):
        shown, css = esc(_clean(element["initial_channel"])), "select-value"
    else:
        shown = label(element.get("placeholder")) or "Select an item"
        css = "placeholder"
    search = " select-search" if str(element.get("type", "")).startswith("external") else ""
    return f'<span class="select{search}"><span class="{css}">{shown}</span></span>'


def _text_input(element: dict[str, Any]) -> str:
    multiline = " multiline" if element.get("multiline") else ""
    initial = element.get("initial_value") or element.get("initial_date")
    if initial is None and element.get("initial_time"):
        initial = element["initial_time"]
    if initial not in (None, ""):
        shown = plain_text(initial)
    else:
        shown = f'<span class="placeholder">{label(element.get("placeholder"))}</span>'
    return f'<div class="textinput{multiline}">{shown}</div>'


def _choices(element: dict[str, Any], ctx: Context) -> str:
    radio = element.get("type") == "radio_buttons"
    chosen = element.get("initial_options") or [element.get("initial_option")]
    chosen_values = {o.get("value") for o in chosen if isinstance(o, dict)}
    rows = []
    for option in element.get("options") or []:
        if not isinstance(option, dict):
            continue
        on = option.get("value") in chosen_values
        mark = ("●" if on else "○") if radio else ("☑" if on else "☐")
        description = option.get("description")
        extra = f'<span class="choice-description">{text(description, ctx)}</span>'
        rows.append(
            f'<span class="choice"><span class="mark">{mark}</span>'
            f'<span class="choice-text">{text(option.get("text"), ctx)}'
            f"{extra if description else ''}</span></span>"
        )
    return f'<div class="choices">{"".join(rows)}</div>'


def _button(element: dict[str, Any]) -> str:
    style = element.get("style")
    css = "button" + (f" {style}" if style in ("primary", "danger") else "")
    confirm = element.get("confirm")
    asks = ""
    if isinstance(confirm, dict):
        question = _clean(
            " — ".join(str(confirm.get(k, {}).get("text", "")) for k in ("title", "text"))
        )
        asks = f' title="asks first: {esc(question)}"'
    words = label(element.get("text"))
    url = safe_url(str(element.get("url") or ""))
    if url is not None:
        return f'<a class="{css}" href="{esc(url)}" rel="noopener noreferrer"{asks}>{words}</a>'
    return f'<span class="{css}"{asks}>{words}</span>'


def element(element: Any, ctx: Context) -> str:
    """An interactive (or image) element → HTML."""
    if not isinstance(element, dict):
        return ""
    kind = str(element.get("type", ""))
    if kind == "button":
        return _button(element)
    if kind == "image":
        return _image(element, ctx, "accessory-image")
    if kind == "overflow":
        return '<span class="button overflow" title="more actions">⋯</span>'
    if kind.endswith("_select") or kind in ("datepicker", "timepicker", "datetimepicker"):
        if kind in ("datepicker", "timepicker", "datetimepicker"):
            return _text_input(element)
        return _select(element)
    if kind in ("checkboxes", "radio_buttons"):
        return _choices(element, ctx)
    if kind.endswith("_input"):
        return _text_input(element)
    return f'<span class="element-unknown">{esc(_clean(kind))}</span>'


# -- blocks ---------------------------------------------------------------------------------


def _section(block: dict[str, Any], ctx: Context) -> str:
    main = []
    if block.get("text"):
        main.append(f'<div class="text">{text(block["text"], ctx)}</div>')
    fields = [f for f in block.get("fields") or [] if isinstance(f, dict)]
    if fields:
        cells = "".join(f'<div class="field">{text(f, ctx)}</div>' for f in fields)
        main.append(f'<div class="fields">{cells}</div>')
    accessory = block.get("accessory")
    side = f'<div class="accessory">{element(accessory, ctx)}</div>' if accessory else ""
    return f'<div class="section-main">{"".join(main)}</div>{side}'


def _context(block: dict[str, Any], ctx: Context) -> str:
    parts = []
    for item in block.get("elements") or []:
        if isinstance(item, dict) and item.get("type") == "image":
            parts.append(_image(item, ctx, "context-image"))
        elif isinstance(item, dict):
            parts.append(f'<span class="context-text">{text(item, ctx)}</span>')
    return "".join(parts)


def _actions(block: dict[str, Any], ctx: Context) -> str:
    return "".join(element(e, ctx) for e in block.get("elements") or [])


def _input(block: dict[str, Any], ctx: Context, filled: dict[str, str] | None = None) -> str:
    """An input block; ``filled``: what the person typed in it and the app's error on it."""
    optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
    hint = block.get("hint")
    hint_html = f'<div class="hint">{text(hint, ctx)}</div>' if hint else ""
    value = (filled or {}).get("value") or ""
    error = (filled or {}).get("error") or ""
    shown = _filled(block.get("element"), value) if value else element(block.get("element"), ctx)
    css = "input-element has-error" if error else "input-element"
    error_html = f'<div class="field-error">{plain_text(error)}</div>' if error else ""
    return (
        f'<div class="input-label">{label(block.get("label"))}{optional}</div>'
        f'<div class="{css}">{shown}</div>{error_html}{hint_html}'
    )


def _filled(element: Any, value: str) -> str:
    """An input element showing ``value``, as the person left it."""
    kind = str(element.get("type", "")) if isinstance(element, dict) else ""
    if kind.endswith("_select") or kind in ("checkboxes", "radio_buttons"):
        search = " select-search" if kind.startswith("external") else ""
        return f'<span class="select{search}"><span class="select-value">{esc(value)}</span></span>'
    multiline = " multiline" if isinstance(element, dict) and element.get("multiline") else ""
    return f'<div class="textinput{multiline}">{plain_text(value)}</div>'


def _image_block(block: dict[str, Any], ctx: Context) -> str:
    title = block.get("title")
    title_html = f'<div class="image-title">{label(title)}</div>' if title else ""
    return f"{title_html}{_image(block, ctx, 'image')}"


def _rich_inline(node: dict[str, Any], ctx: Context) -> str:
    kind = node.get("type")
    if kind == "text":
        html = plain_text(node.get("text", ""))
    elif kind == "link":
        url = _clean(node.get("url", ""))
        html = link(url, plain_text(node.get("text") or url))
    elif kind == "user":
        html = angle(f"@{_clean(node.get('user_id', ''))}", ctx)
    elif kind == "channel":
        html = angle(f"#{_clean(node.get('channel_id', ''))}", ctx)
    elif kind == "usergroup":
        html = f'<span class="mention">@{esc(_clean(node.get("usergroup_id", "")))}</span>'
    elif kind == "broadcast":
        html = f'<span class="mention">@{esc(_clean(node.get("range", "")))}</span>'
    elif kind == "emoji":
        html = f'<span class="emoji">:{esc(_clean(node.get("name", "")))}:</span>'
    elif kind == "date":
        html = esc(_clean(node.get("fallback") or node.get("timestamp", "")))
    else:
        return ""
    style = node.get("style") or {}
    for key, tag in (("code", "code"), ("strike", "s"), ("italic", "i"), ("bold", "b")):
        if isinstance(style, dict) and style.get(key):
            html = f"<{tag}>{html}</{tag}>"
    return html


def _rich_part(node: Any, ctx: Context) -> str:
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    children = [n for n in node.get("elements") or [] if isinstance(n, dict)]
    if kind == "rich_text_section":
        return f'<div class="rich-section">{"".join(_rich_inline(n, ctx) for n in children)}</div>'
    if kind == "rich_text_preformatted":
        return f'<pre class="pre">{"".join(_rich_inline(n, ctx) for n in children)}</pre>'
    if kind == "rich_text_quote":
        return f"<blockquote>{''.join(_rich_inline(n, ctx) for n in children)}</blockquote>"
    if kind == "rich_text_list":
        tag = "ol" if node.get("style") == "ordered" else "ul"
        indent = node.get("indent")
        depth = min(max(indent, 0), 4) if isinstance(indent, int) else 0
        items = "".join(f"<li>{_rich_part(n, ctx)}</li>" for n in children)
        return f'<{tag} class="rich-list indent-{depth}">{items}</{tag}>'
    return ""


def _rich_text(block: dict[str, Any], ctx: Context) -> str:
    return "".join(_rich_part(n, ctx) for n in block.get("elements") or [])


def _video(block: dict[str, Any], ctx: Context) -> str:
    shown = link(_clean(block.get("video_url", "")), label(block.get("title")) or "video")
    return f'<div class="video">▶ {shown}</div>'


def _file(block: dict[str, Any], ctx: Context) -> str:
    return f'<div class="file-ref">file {esc(_clean(block.get("external_id", "")))}</div>'


RENDERERS: dict[str, Callable[[dict[str, Any], Context], str]] = {
    "header": lambda block, ctx: label(block.get("text")),
    "section": _section,
    "context": _context,
    "divider": lambda block, ctx: "",
    "actions": _actions,
    "input": _input,
    "image": _image_block,
    "rich_text": _rich_text,
    "video": _video,
    "file": _file,
}


def block(block: Any, ctx: Context, filled: dict[str, str] | None = None) -> str:
    """One block → one element carrying ``data-block`` (or a notice if unsupported);
    ``filled``: an input block's value and error, as the person last saw them."""
    kind = str(block.get("type", "")) if isinstance(block, dict) else type(block).__name__
    render = RENDERERS.get(kind)
    if render is None or not isinstance(block, dict):
        return (
            f'<div class="unsupported" data-unsupported="{esc(_clean(kind))}">'
            f"a {esc(_clean(kind))} block: the gallery cannot draw it</div>"
        )
    inner = _input(block, ctx, filled) if kind == "input" else render(block, ctx)
    return f'<div class="block block-{kind}" data-block="{kind}">{inner}</div>'


def blocks(items: Any, ctx: Context, form: dict[str, dict[str, str]] | None = None) -> str:
    """Blocks → HTML; ``form``: a form's fields as the person left them, by block id
    (``b<position>`` for a block with none, as the console names them)."""
    form = form or {}
    out = []
    for index, item in enumerate(items or []):
        block_id = item.get("block_id") if isinstance(item, dict) else None
        out.append(block(item, ctx, form.get(str(block_id or f"b{index}"))))
    return "".join(out)
