"""Forms (modals) in the console. A view the app opens (``views.open``, ``views.push``,
``views.update``) is drawn with its input blocks as named fields; ``field NAME=VALUE``
fills one (or the person is prompted, interactively) and ``submit`` sends the
``view_submission`` Slack would send, with the view's state as Slack keeps it. Which
value each element type takes, and how it is stored in ``view.state.values``, follows
Block Kit's reference; nothing here knows any particular form of the app."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.render import Names, plain
from bot.devkit.console.screen import Screen, Shown, with_block_ids
from bot.devkit.console.workspace import (
    APP_ID,
    CHANNEL_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    USER_ID,
    VERIFICATION_TOKEN,
)
from bot.devkit.slack_requests import (
    block_suggestion_payload,
    view_block_actions_payload,
    view_submission_payload,
)

FORM = "form:"  # where a form is on screen: no conversation id starts so

TEXT_INPUTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
ONE_OPTION = {"static_select", "external_select", "radio_buttons"}
MANY_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}
EXTERNAL = {"external_select", "multi_external_select"}
# element type → (the state key of its choice, what is chosen: "conversation" or "user")
PICKERS = {
    "conversations_select": ("selected_conversation", "conversation"),
    "channels_select": ("selected_channel", "conversation"),
    "users_select": ("selected_user", "user"),
    "multi_conversations_select": ("selected_conversations", "conversation"),
    "multi_channels_select": ("selected_channels", "conversation"),
    "multi_users_select": ("selected_users", "user"),
}
# The initial_* property that sets each picker's first choice.
PICKER_INITIAL = {
    "selected_conversation": "initial_conversation",
    "selected_channel": "initial_channel",
    "selected_user": "initial_user",
    "selected_conversations": "initial_conversations",
    "selected_channels": "initial_channels",
    "selected_users": "initial_users",
}
REQUIRED = "Please complete this required field."  # Slack's own words, shown on the field

SYNTAX = (
    "Fill it in with `field NAME=VALUE` (an option by its value, label or number; "
    "#channel; @user; several options comma-separated; \\n for a line break; "
    "nothing after = clears), then `submit` or `cancel`."
)


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    """An element's options, those in option groups included, in order."""
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            found += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return found


def initial_state(element: dict[str, Any]) -> dict[str, Any]:
    """The element's entry in ``view.state.values`` before anyone touches it: Slack sends
    initial values back as if they were typed, and ``None`` for an empty choice."""
    kind = str(element.get("type", ""))
    state: dict[str, Any] = {"type": kind}
    if kind in ONE_OPTION:
        state["selected_option"] = element.get("initial_option")
    elif kind in MANY_OPTIONS:
        state["selected_options"] = list(element.get("initial_options") or [])
    elif kind in PICKERS:
        key, _ = PICKERS[kind]
        initial = element.get(PICKER_INITIAL[key])
        if initial is None and element.get("default_to_current_conversation"):
            initial = CHANNEL_ID if not key.endswith("s") else [CHANNEL_ID]
        state[key] = initial if initial is not None or not key.endswith("s") else []
    elif kind == "datepicker":
        state["selected_date"] = element.get("initial_date")
    elif kind == "timepicker":
        state["selected_time"] = element.get("initial_time")
    elif kind == "datetimepicker":
        state["selected_date_time"] = element.get("initial_date_time")
    else:
        state["value"] = element.get("initial_value")
    return state


@dataclass
class Field:
    """One input block of a form: named by its block id, as the app reads it back."""

    name: str
    label: str
    element: dict[str, Any]
    optional: bool
    hint: str
    state: dict[str, Any]
    error: str = ""

    @property
    def kind(self) -> str:
        return str(self.element.get("type", ""))

    @property
    def action_id(self) -> str:
        return str(self.element.get("action_id", ""))

    @property
    def external(self) -> bool:
        return self.kind in EXTERNAL

    def empty(self) -> bool:
        return not any(v for k, v in self.state.items() if k != "type")

    def shown_value(self, names: Names) -> str:
        """The field's value as the person would see it in Slack's form."""
        state = self.state
        if "selected_option" in state:
            return _option_label(state["selected_option"])
        if "selected_options" in state:
            return ", ".join(_option_label(o) for o in state["selected_options"] or [])
        for key, what in PICKERS.values():
            if key in state:
                chosen = state[key]
                ids = chosen if isinstance(chosen, list) else [chosen] if chosen else []
                return ", ".join(_picked(str(i), what, names) for i in ids)
        for key in ("selected_date", "selected_time"):
            if key in state:
                return str(state[key] or "")
        if "selected_date_time" in state:
            stamp = state["selected_date_time"]
            return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(stamp)) if stamp else ""
        return str(state.get("value") or "")

    def choose(self, text: str, names: Names, offered: list[dict[str, Any]] | None = None) -> None:
        """Set the field from what the person typed; ConsoleError says what would work.
        ``offered``: the options the app's options listener returned (external selects)."""
        text = text.strip()
        kind = self.kind
        state: dict[str, Any] = {"type": kind}
        if kind in ONE_OPTION:
            state["selected_option"] = self._option(text, offered) if text else None
        elif kind in MANY_OPTIONS:
            words = [w.strip() for w in text.split(",") if w.strip()]
            state["selected_options"] = [self._option(w, offered) for w in words]
        elif kind in PICKERS:
            key, what = PICKERS[kind]
            words = [w.strip() for w in text.split(",") if w.strip()]
            ids = [_pick(w, what, names) for w in words]
            if key.endswith("s"):
                state[key] = ids
            elif len(ids) > 1:
                raise ConsoleError(f"{self.label} takes one {what}.")
            else:
                state[key] = ids[0] if ids else None
        elif kind == "datepicker":
            state["selected_date"] = _checked(text, "%Y-%m-%d", "a date like 2026-11-05")
        elif kind == "timepicker":
            state["selected_time"] = _checked(text, "%H:%M", "a time like 09:30")
        elif kind == "datetimepicker":
            state["selected_date_time"] = _date_time(text)
        else:
            value = text.replace("\\n", "\n")
            self._check_text(value)
            state["value"] = value or None
        self.state = state
        self.error = ""

    def _check_text(self, value: str) -> None:
        """What Slack's form itself refuses before the app sees anything."""
        element = self.element
        if not value:
            return
        if self.kind == "number_input":
            try:
                number = float(value) if element.get("is_decimal_allowed") else int(value)
            except ValueError:
                whole = "" if element.get("is_decimal_allowed") else " whole"
                raise ConsoleError(f"{self.label} takes a{whole} number.") from None
            low, high = element.get("min_value"), element.get("max_value")
            if (low is not None and number < float(low)) or (
                high is not None and number > float(high)
            ):
                raise ConsoleError(f"{self.label} takes a number from {low} to {high}.")
        limit = element.get("max_length")
        if isinstance(limit, int) and len(value) > limit:
            raise ConsoleError(f"{self.label} takes at most {limit:,} characters.")
        if not element.get("multiline") and "\n" in value and self.kind == "plain_text_input":
            raise ConsoleError(f"{self.label} is a single line.")

    def _option(self, text: str, offered: list[dict[str, Any]] | None) -> dict[str, Any]:
        options = offered if offered is not None else options_of(self.element)
        lowered = text.lower()
        for matches in (
            lambda o: str(o.get("value")) == text,
            lambda o: plain(o.get("text")).lower() == lowered,
            lambda o: text.isdigit() and options.index(o) == int(text) - 1,
        ):
            found = [o for o in options if matches(o)]
            if len(found) == 1:
                return _clean_option(found[0])
        prefixed = [
            o
            for o in options
            if plain(o.get("text")).lower().startswith(lowered)
            or str(o.get("value")).lower().startswith(lowered)
        ]
        if len(prefixed) == 1:
            return _clean_option(prefixed[0])
        if self.external and len(options) == 1:
            return _clean_option(options[0])
        if not options:
            raise ConsoleError(f"{self.label}: no option matches “{text}”.")
        raise ConsoleError(f"{self.label}: choose one of {numbered(options)}.")


def numbered(options: list[dict[str, Any]]) -> str:
    return "  ".join(
        f"{i}) {plain(o.get('text'))} ({o.get('value')})" for i, o in enumerate(options, 1)
    )


@dataclass
class Form:
    """An open view of the app, as the person sees it now."""

    view: dict[str, Any]
    shown: Shown
    fields: list[Field] = field(default_factory=list)
    prompted: bool = False  # the person was asked for its fields (interactive mode)

    @property
    def id(self) -> str:
        return str(self.view.get("id", ""))

    @property
    def title(self) -> str:
        return plain(self.view.get("title")) or "untitled"

    @property
    def submit_label(self) -> str:
        return plain(self.view.get("submit")) or "Submit"

    @property
    def submittable(self) -> bool:
        """Slack draws a Submit button only when the view names one (a view that just
        shows something, such as a job's full output, has only Close)."""
        return self.view.get("submit") is not None

    def field(self, name: str) -> Field:
        """A field by its name or its number (1 is the first)."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        if name.isdigit() and 1 <= int(name) <= len(self.fields):
            return self.fields[int(name) - 1]
        names = ", ".join(f.name for f in self.fields) or "none"
        raise ConsoleError(f"The form “{self.title}” has no field “{name}” (fields: {names}).")

    def values(self) -> dict[str, dict[str, Any]]:
        """``view.state.values``: ``{block_id: {action_id: state}}``."""
        return {f.name: {f.action_id: f.state} for f in self.fields}

    def view_with_state(self) -> dict[str, Any]:
        return {**self.view, "state": {"values": self.values()}}

    def missing(self) -> list[Field]:
        """Required fields still empty: Slack's form will not submit with them."""
        return [f for f in self.fields if not f.optional and f.empty()]


def fields_of(view: dict[str, Any], before: list[Field] | None = None) -> list[Field]:
    """The view's input blocks as fields. A field the view had ``before`` (same block and
    action id, same element type) keeps its value, as Slack keeps it across
    ``views.update``."""
    kept = {(f.name, f.action_id, f.kind): f for f in before or []}
    found = []
    for block in with_block_ids(view.get("blocks") or []):
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        name = str(block["block_id"])
        old = kept.get((name, str(element.get("action_id", "")), str(element.get("type", ""))))
        found.append(
            Field(
                name=name,
                label=plain(block.get("label")),
                element=element,
                optional=bool(block.get("optional")),
                hint=plain(block.get("hint")),
                state=old.state if old else initial_state(element),
            )
        )
    return found


class Forms:
    """The stack of views open for you, the newest on top, each drawn as a panel."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.stack: list[Form] = []

    @property
    def current(self) -> Form | None:
        return self.stack[-1] if self.stack else None

    def owns(self, shown: Shown) -> bool:
        return shown.channel.startswith(FORM)

    def require(self) -> Form:
        if self.current is None:
            raise ConsoleError("No form is open.")
        return self.current

    def opened(self, view: dict[str, Any], *, push: bool = False) -> Form:
        """The app opened ``view`` (``push``: on top of the open one)."""
        if not push:
            self.stack = []
        shown = self.screen.add(
            channel=FORM + str(view.get("id", "")),
            ts=str(view.get("id", "")),
            text="",
            blocks=view.get("blocks") or [],
        )
        form = Form(view=view, shown=shown, fields=fields_of(view))
        self.stack.append(form)
        self.draw(form, "opened")
        return form

    def updated(self, view: dict[str, Any]) -> None:
        """The app replaced a view by id (``views.update``, ``response_action: update``)."""
        for form in self.stack:
            if form.id == str(view.get("id")):
                form.fields = fields_of(view, form.fields)
                form.view = view
                form.shown.blocks = with_block_ids(view.get("blocks") or [])
                form.prompted = False
                self.draw(form, "updated")
                return
        self.screen.note(f"(the app updated a view that is not open: {view.get('id')})")

    def closed(self, *, everything: bool = False) -> None:
        if everything:
            self.stack = []
        elif self.stack:
            self.stack.pop()

    def draw(self, form: Form, how: str) -> None:
        names = self.screen.names
        parts: list[RenderableType] = []
        fields = {f.name: f for f in form.fields}
        for block in form.shown.blocks:
            entry = fields.get(str(block.get("block_id")))
            if block.get("type") == "input" and entry is not None:
                parts.append(_field_line(form.fields.index(entry) + 1, entry, names))
                continue
            rendered = self.screen.render_block(form.shown, block)
            if rendered is not None:
                parts.append(rendered)
        foot = f"{form.submit_label} with `submit`"
        if form.view.get("submit") is None:
            foot = "no submit button"
        close = plain(form.view.get("close")) or "Cancel"
        stacked = f", over {len(self.stack) - 1} more" if len(self.stack) > 1 else ""
        self.screen.print(
            Panel(
                Group(*parts) if parts else Text("(an empty form)"),
                title=Text(f"form #{form.shown.number} “{form.title}” {how}{stacked}", "bold"),
                title_align="left",
                subtitle=f"{foot} · {close} with `cancel`",
                subtitle_align="right",
                border_style="magenta",
                box=box.ROUNDED,
                padding=(0, 1),
            )
        )


def _field_line(number: int, entry: Field, names: Names) -> Text:
    line = Text()
    line.append(f"{number}. {entry.name}", style="bold cyan")
    line.append(f"  {entry.label}")
    if entry.optional:
        line.append(" (optional)", style="dim")
    kind = entry.kind
    if kind in EXTERNAL:
        kind += ", searched as you type"
    line.append(f"  [{kind}]", style="dim")
    value = entry.shown_value(names)
    line.append("\n    = ")
    line.append(value.replace("\n", "\n      ") if value else "(empty)", "" if value else "dim")
    options = options_of(entry.element)
    if options and entry.kind not in EXTERNAL:
        line.append(f"\n    options: {numbered(options)}", style="dim")
    if entry.hint:
        line.append(f"\n    {entry.hint}", style="dim italic")
    if entry.error:
        line.append(f"\n    ✗ {entry.error}", style="bold red")
    return line


def _option_label(option: Any) -> str:
    if not isinstance(option, dict):
        return ""
    label, value = plain(option.get("text")), str(option.get("value", ""))
    return f"{label} ({value})" if label and label != value else value


def _clean_option(option: dict[str, Any]) -> dict[str, Any]:
    """An option as Slack echoes it in the state: its text and value (and description)."""
    return {k: option[k] for k in ("text", "value", "description") if k in option}


def _picked(ident: str, what: str, names: Names) -> str:
    if what == "user":
        return "@" + names.users.get(ident, ident)
    return "#" + names.channels.get(ident, ident)


def _pick(word: str, what: str, names: Names) -> str:
    """``#console``, ``@ada``, ``me`` or an id → the id Slack would put in the state."""
    known = names.users if what == "user" else names.channels
    bare = word.lstrip("#@")
    if what == "user" and word.lower() == "me":
        return USER_ID
    if bare in known:
        return bare
    for ident, name in known.items():
        if name == bare:
            return ident
    sigil = "@" if what == "user" else "#"
    choices = ", ".join(sigil + name for name in known.values())
    raise ConsoleError(f"“{word}” is not a {what} here (known: {choices}).")


def _checked(text: str, fmt: str, example: str) -> str | None:
    if not text:
        return None
    try:
        time.strptime(text, fmt)
    except ValueError:
        raise ConsoleError(f"“{text}” is not {example}.") from None
    return text


def _date_time(text: str) -> int | None:
    if not text:
        return None
    try:
        return int(time.mktime(time.strptime(text, "%Y-%m-%d %H:%M")) - time.timezone)
    except ValueError:
        raise ConsoleError(f"“{text}” is not a date and time like 2026-11-05 09:30.") from None


# -- requests ------------------------------------------------------------------------------


def submission_payload(form: Form, *, user_name: str) -> dict[str, Any]:
    """Your ``view_submission`` of ``form``, with its state, as Slack sends it."""
    payload = view_submission_payload(
        str(form.view.get("callback_id", "")),
        form.values(),
        user_id=USER_ID,
        view=form.view,
        team_id=TEAM_ID,
        api_app_id=APP_ID,
    )
    return as_console(payload, user_name)


def suggestion_payload(form: Form, entry: Field, query: str, *, user_name: str) -> dict[str, Any]:
    """What Slack sends the app's options listener while you type ``query`` into an
    ``external_select`` of an open view (``block_suggestion``)."""
    payload = block_suggestion_payload(
        entry.action_id,
        query,
        block_id=entry.name,
        view=form.view_with_state(),
        user_id=USER_ID,
        team_id=TEAM_ID,
        api_app_id=APP_ID,
    )
    return as_console(payload, user_name)


def view_click_payload(form: Form, element: dict[str, Any], block_id: str, *, user_name: str):
    """Your click on a button of an open view: with the view and what is filled in so far."""
    return view_block_actions_payload(
        form.view_with_state(),
        element,
        block_id=block_id,
        user_id=USER_ID,
        user_name=user_name,
        team_id=TEAM_ID,
        team_domain=TEAM_DOMAIN,
        api_app_id=APP_ID,
        token=VERIFICATION_TOKEN,
    )


def as_console(payload: dict[str, Any], user_name: str) -> dict[str, Any]:
    """Who sends it and from where: you, in the console's workspace."""
    payload["user"] = {"id": USER_ID, "username": user_name, "name": user_name, "team_id": TEAM_ID}
    payload["team"] = {"id": TEAM_ID, "domain": TEAM_DOMAIN}
    payload["token"] = VERIFICATION_TOKEN
    return payload


def options_from(body: Any) -> list[dict[str, Any]]:
    """The options in an options listener's answer (``options`` or ``option_groups``)."""
    return options_of(body) if isinstance(body, dict) else []
