"""Table definitions used by queries. Migrations (``migrations/versions``) create them."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per vendor job the app started from Slack, from "about to call the vendor" to
# "completion notice delivered". Times are epoch seconds (float) so both SQLite and
# PostgreSQL compare them the same way.
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("vendor", sa.String(32), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("message_ts", sa.String(32)),
    sa.Column("thread_ts", sa.String(32)),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("vendor_job_id", sa.String(200)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("vendor_status", sa.String(32)),
    sa.Column("outcome", sa.String(16)),
    sa.Column("result", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("deadline_at", sa.Float, nullable=False),
    sa.Column("next_poll_at", sa.Float),
    sa.Column("poll_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("notice_step", sa.Integer, nullable=False, server_default="0"),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.Column("notified_at", sa.Float),
    # Set when a Workflow Builder step started the job: the step completes when it ends.
    sa.Column("step_execution_id", sa.String(64)),
)

# Small named values the app keeps across restarts (e.g. server-side secrets).
kv = sa.Table(
    "kv",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# A channel's subscription to one vendor's digest. ``cursor`` is the vendor's own memory
# between occurrences (e.g. "new since", or the previous figures to compare against).
digest_subscriptions = sa.Table(
    "digest_subscriptions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("vendor", sa.String(32), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("frequency", sa.String(8), nullable=False),
    sa.Column("at_time", sa.String(5), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("cursor", sa.JSON),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_run_at", sa.Float, nullable=False),
    sa.Column("last_run_at", sa.Float),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", sa.Float),
    sa.UniqueConstraint("vendor", "channel_id", name="uq_digest_vendor_channel"),
)

# Every vendor call that changes something, and every request the access policy refused
# or held for confirmation. ``params`` are stored redacted (bot/audit.py).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("command", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("vendor_ids", sa.JSON, nullable=False),
)

# A request the access policy wants confirmed: the exact request to carry out once the
# same user clicks Confirm (within the time limit, once), and the command it shows as.
confirmations = sa.Table(
    "confirmations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("command", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False, server_default=""),
    sa.Column("target", sa.String(300), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float),
    # The parsed request, typed and serialised (handlers/common/held.py): what runs.
    sa.Column("request", sa.JSON, nullable=True),
    # Where the request came from when not a command or click: {"step": execution_id}.
    sa.Column("origin", sa.JSON, nullable=True),
)

# Slack requests already taken on (by trigger id or event id), so a retried or
# redelivered request never repeats a vendor side effect, whichever process receives it.
handled_requests = sa.Table(
    "handled_requests",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),
)

# A Workflow Builder step run (a function execution), from its function_executed event to
# the one functions.completeSuccess|completeError that ends it. ``token`` is the
# execution's function bot token, the only one that may complete it; it is never logged.
step_runs = sa.Table(
    "step_runs",
    metadata,
    sa.Column("execution_id", sa.String(64), primary_key=True),
    sa.Column("callback_id", sa.String(64), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("job_id", sa.String(36)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("outcome", sa.String(16)),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("completed_at", sa.Float),
)

# A request held by a rule with ``approvers`` until enough distinct approvers approve it,
# one rejects it, or it expires. ``decisions``: [{"user", "decision", "at"}]; ``version``
# fences concurrent decisions (compare-and-set), so each counts once across processes.
approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("requester", sa.String(64), nullable=False),
    sa.Column("channel_id", sa.String(64), nullable=False),
    sa.Column("command", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target", sa.String(300), nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
    sa.Column("origin", sa.JSON),
    sa.Column("approvers", sa.JSON, nullable=False),
    sa.Column("needed", sa.Integer, nullable=False),
    sa.Column("decisions", sa.JSON, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("message_ts", sa.String(32)),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("closed_at", sa.Float),
    sa.Column("version", sa.Integer, nullable=False, server_default="0"),
)
