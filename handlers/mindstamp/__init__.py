"""The Mindstamp vertical: ``/mindstamp``, its buttons and its digest."""

from __future__ import annotations

from handlers.common.digest import USAGE_LINE
from handlers.common.vertical import BlankForm, Button, Options, Subcommand, Vertical
from handlers.mindstamp import actions, blocks, commands, forms
from handlers.mindstamp.digest import KEY, digest_kind
from handlers.mindstamp.parsing import parse, policy_view
from handlers.mindstamp.steps import SUMMARY as STEP

NAME = "Mindstamp"  # in its messages and on its digests

VERTICAL = Vertical(
    key=KEY,
    slash="/mindstamp",
    name=NAME,
    summary="how your interactive videos are doing",
    parse=parse,
    policy_view=policy_view,
    subcommands=(
        Subcommand(
            "summary",
            "`/mindstamp summary [week|month]` — the account's figures: overall, or for the "
            "past 7 days or this month",
            commands.summary,
            examples=("/mindstamp summary", "/mindstamp summary week"),
        ),
        Subcommand(
            "videos",
            "`/mindstamp videos` — your videos (title, duration, link, created), a page at a time",
            commands.videos,
            examples=("/mindstamp videos",),
        ),
        Subcommand(
            "video",
            "`/mindstamp video VIDEO_ID` — one video with its views and interactions (ids are "
            "on `/mindstamp videos`; `/mindstamp video` alone opens a picker)",
            commands.video,
            examples=("/mindstamp video KMxPjRVlrPnH",),
        ),
        Subcommand(
            "digest",
            "`/mindstamp digest …` — views, change since the last digest and top videos, "
            f"posted here on a schedule: {USAGE_LINE}",
            commands.digest,
            examples=("/mindstamp digest weekly 08:30",),
        ),
    ),
    client=lambda deps: deps.mindstamp,
    status=lambda settings: settings.mindstamp_status(),
    buttons=(Button(blocks.SHOW, actions.on_show), Button(blocks.MORE, actions.on_more)),
    blank_forms=(BlankForm("video", forms.open_blank, forms.CALLBACK, forms.read),),
    options=(Options(forms.VIDEOS, forms.video_options, "video"),),
    digest=lambda client, _settings: digest_kind(client, NAME),
    steps=(STEP,),
)
