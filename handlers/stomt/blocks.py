"""Pure functions: stomts → Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from adapters.stomt import Comment, Stomt, Target, sentence
from bot.messages import Message
from handlers.common import blocks as kit
from handlers.common.text import clip, code, escape, fit, link, truncate

SHOW = "stomt_show"
DELETE = "stomt_delete"
MORE = "stomt_more"
PAGE = 10
# The block id of a stomt card's buttons: a click there may replace the whole card (a
# Show in a list sits beside other stomts, which stay).
CARD_ACTIONS = "stomt_card"


def target_name(target: Target | None, fallback: str | None = None) -> str:
    if target is None:
        return fallback or "—"
    return target.displayname or target.id or fallback or "—"


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    # Slack shows the date in each reader's own time zone; the fallback is UTC.
    utc = value.astimezone(UTC)
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{utc:%Y-%m-%d %H:%M} UTC>"


def _icon(stomt: Stomt) -> str:
    return ":heart:" if stomt.positive else ":bulb:"


def stomt_card(
    stomt: Stomt,
    *,
    posted_by: str | None = None,
    details: bool = False,
    comments: list[Comment] | None = None,
    deleted_by: str | None = None,
) -> Message:
    said = escape(sentence(stomt))
    if deleted_by:
        text = f":wastebasket: ~{said}~ — deleted by <@{deleted_by}>"
        return Message(text=f"Stomt deleted by <@{deleted_by}>", blocks=[kit.section(text)])
    blocks: list[dict[str, Any]] = [kit.section(f"{_icon(stomt)} *{said}*")]
    fields = [
        f"*Target*\n{escape(target_name(stomt.target))}",
        f"*Agreements*\n{stomt.amount_agreements}",
        f"*Comments*\n{stomt.amount_comments}",
        f"*Created*\n{_when(stomt.created_at)}",
    ]
    if stomt.labels:
        fields.append("*Labels*\n" + ", ".join(escape(label) for label in stomt.labels[:10]))
    if posted_by:
        fields.append(f"*Posted by*\n<@{posted_by}>")
    if details:
        for name, value in (
            ("State", stomt.state),
            ("Type", stomt.type),
            ("Severity", stomt.severity),
        ):
            fields.append(f"*{name}*\n{escape(value or 'unset')}")
    blocks.append({"type": "section", "fields": [_mrkdwn(clip(f, 2000)) for f in fields[:10]]})
    if details and stomt.details:
        blocks.append(kit.section(fit(stomt.details, 1500)[0]))
    if comments:
        lines = [
            f"• *{escape(target_name(c.creator, 'anonymous'))}*: "
            + escape(truncate(c.text or "", 300)[0])
            for c in comments[:10]
        ]
        more = f"\n…and {len(comments) - 10} more" if len(comments) > 10 else ""
        blocks.append(kit.section("*Comments*\n" + "\n".join(lines) + more))
    footer = [
        link(stomt.shortlink, stomt.shortlink or "") if stomt.shortlink else None,
        f"id {code(stomt.id)}" if stomt.id else None,
    ]
    blocks.append(kit.context(" · ".join(part for part in footer if part)))
    if stomt.id:
        buttons = [] if details else [kit.button("Show", SHOW, stomt.id)]
        buttons.append(delete_button(stomt.id))
        blocks.append({"type": "actions", "block_id": CARD_ACTIONS, "elements": buttons})
    # The fallback ``text`` is mrkdwn too (notifications): escaped like the blocks.
    return Message(text=clip(said, 3000), blocks=blocks)


def gone_card(stomt_id: str) -> Message:
    """In place of a card whose stomt STOMT no longer has (deleted elsewhere, or from
    another card): no buttons, which could only fail."""
    text = f":wastebasket: This stomt ({code(stomt_id)}) no longer exists in STOMT."
    return Message(text="This stomt no longer exists in STOMT.", blocks=[kit.section(text)])


def delete_button(stomt_id: str) -> dict[str, Any]:
    """Slack itself asks "are you sure?"; only a confirmed click reaches the app."""
    button = kit.button("Delete", DELETE, stomt_id)
    button["style"] = "danger"
    button["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete this stomt?"},
        "text": {"type": "mrkdwn", "text": "It is removed from STOMT for everyone."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    return button


def delete_prompt(stomt: Stomt) -> Message:
    """`/stomt delete ID`: show the stomt with a Delete button (which asks again)."""
    card = stomt_card(stomt, details=True)
    intro = kit.section("Delete this stomt? Press *Delete* and confirm.")
    return Message(text=clip(f"Delete {card.text}?", 3000), blocks=[intro, *card.blocks])


def stomt_list(
    stomts: list[Stomt], *, target: str, kind: str, polarity: str | None, offset: int
) -> Message:
    what = {"positive": "likes", "negative": "wishes"}.get(polarity or "", "stomts")
    title = f"*STOMT* — {escape(kind)} {what} for *{escape(target)}*"
    if offset:
        title += f" (from #{offset + 1})"
    blocks: list[dict[str, Any]] = [kit.section(title)]
    if not stomts:
        blocks.append(kit.context("Nothing here." if not offset else "No more stomts."))
    for stomt in stomts[:PAGE]:
        line = f"{_icon(stomt)} {escape(truncate(sentence(stomt), 280)[0])}"
        comments = stomt.amount_comments
        meta = f"{stomt.amount_agreements} agree · {comments} comment{'s' if comments != 1 else ''}"
        if stomt.shortlink:
            meta += f" · {link(stomt.shortlink, 'open')}"
        section = kit.section(f"{line}\n_{meta}_")
        if stomt.id:
            section["accessory"] = kit.button("Show", SHOW, stomt.id)
        blocks.append(section)
    if len(stomts) >= PAGE:
        value = json.dumps(
            {"t": target, "k": kind, "p": polarity, "o": offset + PAGE}, separators=(",", ":")
        )
        blocks.append({"type": "actions", "elements": [kit.button("More", MORE, value)]})
    return Message(text=f"STOMT {escape(kind)} {what} for {escape(target)}", blocks=blocks)


def digest(target: str, stomts: list[Stomt], *, since: float) -> Message:
    wishes = [s for s in stomts if not s.positive]
    likes = [s for s in stomts if s.positive]
    when = datetime.fromtimestamp(since, UTC)
    title = (
        f":newspaper: *STOMT digest for {escape(target)}* — "
        f"{len(wishes)} new wish{'es' if len(wishes) != 1 else ''}, "
        f"{len(likes)} new like{'s' if len(likes) != 1 else ''} since {_when(when)}"
    )
    blocks: list[dict[str, Any]] = [kit.section(title)]
    if not stomts:
        blocks.append(kit.context("Nothing new."))
    for stomt in stomts[:20]:
        text = f"{_icon(stomt)} {escape(truncate(sentence(stomt), 280)[0])}"
        if stomt.shortlink:
            text += f" {link(stomt.shortlink, 'open')}"
        blocks.append(kit.section(text))
    if len(stomts) > 20:
        blocks.append(kit.context(f"…and {len(stomts) - 20} more: {code('/stomt list ' + target)}"))
    return Message(text=f"STOMT digest for {escape(target)}: {len(stomts)} new", blocks=blocks)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}
