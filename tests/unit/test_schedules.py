"""Digest schedules (bot/digests.py): which days, at which wall-clock moment, across
daylight saving changes, checked against a brute-force walk of the clock."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digests import (
    DAY_NAMES,
    DAYS,
    SCHEDULES,
    describe_schedule,
    next_occurrence,
    previous_occurrence,
    schedule_adjective,
    schedule_of,
    since_of,
)
from bot.store.digests import Subscription
from handlers.common.digest import DigestCommand, parse_digest
from handlers.common.text import UsageError

BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str, tz: ZoneInfo, fold: int = 0) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=tz, fold=fold)


def shown(moment: datetime) -> str:
    """The moment as the zone's wall clock and offset read it."""
    return moment.strftime("%Y-%m-%d %H:%M %z")


# APScheduler 3.11's CronTrigger(day_of_week="mon", hour=0, minute=0) answers 2026-04-06,
# 2026-03-16 and 2026-10-12 for these: a whole week late.
@pytest.mark.parametrize(
    ("zone", "week_before", "after_change", "expected"),
    [
        ("Europe/Berlin", "2026-03-23 00:00", "2026-03-29 03:00", "2026-03-30 00:00 +0200"),
        ("America/New_York", "2026-03-02 00:00", "2026-03-08 03:00", "2026-03-09 00:00 -0400"),
        (
            "Australia/Lord_Howe",
            "2026-09-28 00:00",
            "2026-10-04 02:30",
            "2026-10-05 00:00 +1100",
        ),
    ],
)
def test_weekly_midnight_in_a_spring_forward_week_is_the_next_monday(
    zone, week_before, after_change, expected
):
    """From the week's own occurrence, from just before and just after the clocks moved:
    the Monday right after the change, not a week later."""
    tz = ZoneInfo(zone)
    for after in (week_before, after_change):
        assert shown(next_occurrence("weekly", "00:00", tz, local(after, tz))) == expected
    before_change = local(after_change, tz) - timedelta(hours=4)
    assert shown(next_occurrence("mon", "00:00", tz, before_change)) == expected


@pytest.mark.parametrize(
    ("zone", "at", "after", "expected"),
    [
        # 02:00 jumps to 03:00
        ("Europe/Berlin", "02:30", "2026-03-29 00:00", "2026-03-29 03:00 +0200"),
        ("Europe/Berlin", "02:00", "2026-03-29 00:00", "2026-03-29 03:00 +0200"),
        ("America/New_York", "02:59", "2026-03-08 00:00", "2026-03-08 03:00 -0400"),
        # 02:00 jumps to 02:30 (a 30-minute change)
        ("Australia/Lord_Howe", "02:15", "2026-10-04 00:00", "2026-10-04 02:30 +1100"),
        # midnight is skipped: 00:00 jumps to 01:00
        ("America/Santiago", "00:00", "2026-09-05 12:00", "2026-09-06 01:00 -0300"),
        ("America/Havana", "00:30", "2026-03-07 12:00", "2026-03-08 01:00 -0400"),
        ("Asia/Beirut", "00:00", "2026-03-28 12:00", "2026-03-29 01:00 +0300"),
        # a whole day skipped: 2011-12-30 never happened in Samoa
        ("Pacific/Apia", "09:00", "2011-12-29 10:00", "2011-12-31 00:00 +1400"),
        ("Pacific/Apia", "09:00", "2011-12-31 00:00", "2011-12-31 09:00 +1400"),
    ],
)
def test_a_time_the_clocks_skip_runs_at_the_first_moment_after_the_gap(zone, at, after, expected):
    tz = ZoneInfo(zone)
    got = next_occurrence("daily", at, tz, local(after, tz))
    assert shown(got) == expected and got.tzinfo is tz
    # then at the time itself, the next time the clock reads it
    following = next_occurrence("daily", at, tz, got)
    assert following.strftime("%H:%M") == at
    assert timedelta(0) < following.astimezone(UTC) - got.astimezone(UTC) <= timedelta(days=1)


@pytest.mark.parametrize(
    ("zone", "at", "day", "first"),
    [
        ("Europe/Berlin", "02:30", "2026-10-25", "+0200"),  # 03:00 back to 02:00
        ("America/New_York", "01:30", "2026-11-01", "-0400"),  # 02:00 back to 01:00
        ("Australia/Lord_Howe", "01:45", "2026-04-05", "+1100"),  # 02:00 back to 01:30
        ("America/Havana", "00:30", "2026-11-01", "-0400"),  # 01:00 back to 00:00
    ],
)
def test_a_time_the_clocks_repeat_runs_once_the_first_time(zone, at, day, first):
    tz = ZoneInfo(zone)
    start = local(f"{day} 00:00", tz) - timedelta(hours=2)
    got = next_occurrence("daily", at, tz, start)
    assert shown(got) == f"{day} {at} {first}"
    again = got.astimezone(UTC) + timedelta(minutes=1)
    second_pass = datetime.fromtimestamp(again.timestamp() + 3600, tz)
    # From the occurrence itself and from anywhere in the repeated hour: the next day.
    for after in (got, again, second_pass, second_pass.replace(minute=0)):
        following = next_occurrence("daily", at, tz, after)
        assert following.date() == got.date() + timedelta(1), after


def test_a_repeated_hour_across_midnight_runs_midnight_once():
    """America/Goose_Bay, 2010-11-07 00:01 back to 2010-11-06 23:01: Sunday's 00:00 comes
    before Saturday's 23:30 happens a second time, and counts as the last occurrence then."""
    tz = ZoneInfo("America/Goose_Bay")
    saturday_again = local("2010-11-06 23:30", tz, fold=1)
    sunday = previous_occurrence("daily", "00:00", tz, saturday_again)
    assert shown(sunday) == "2010-11-07 00:00 -0300" and sunday < saturday_again.astimezone(UTC)
    assert shown(next_occurrence("daily", "00:00", tz, saturday_again)) == "2010-11-08 00:00 -0400"
    late_saturday = next_occurrence("daily", "23:30", tz, local("2010-11-06 12:00", tz))
    assert shown(late_saturday) == "2010-11-06 23:30 -0300"
    assert shown(next_occurrence("daily", "23:30", tz, saturday_again)) == "2010-11-07 23:30 -0400"


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2026-03-26 10:00", "2026-03-27 09:00"),  # Thursday → Friday
        ("2026-03-27 09:00", "2026-03-30 09:00"),  # Friday's → Monday, over the weekend
        ("2026-03-28 12:00", "2026-03-30 09:00"),  # Saturday (the night clocks change)
        ("2026-03-29 23:00", "2026-03-30 09:00"),  # Sunday
        ("2026-03-30 08:59", "2026-03-30 09:00"),  # Monday
    ],
)
def test_weekdays_are_monday_to_friday(after, expected):
    got = next_occurrence("weekdays", "09:00", BERLIN, local(after, BERLIN))
    assert got.strftime("%Y-%m-%d %H:%M") == expected


def test_two_weeks_of_weekdays_skip_both_weekends():
    moment = local("2026-03-20 12:00", BERLIN)
    days = []
    for _ in range(10):
        moment = next_occurrence("weekdays", "08:30", BERLIN, moment)
        days.append(moment.strftime("%a %d %H:%M"))
    assert days == [
        "Mon 23 08:30", "Tue 24 08:30", "Wed 25 08:30", "Thu 26 08:30", "Fri 27 08:30",
        "Mon 30 08:30", "Tue 31 08:30", "Wed 01 08:30", "Thu 02 08:30", "Fri 03 08:30",
    ]  # fmt: skip


@pytest.mark.parametrize("day", range(7), ids=lambda day: DAY_NAMES[day])
def test_each_day_by_name_and_abbreviation(day):
    """`friday`, `Friday`, `fri`, `FRI` are one schedule, stored as `fri`: Fridays."""
    name = DAY_NAMES[day]
    stored = DAYS[day]
    for typed in (name, name.lower(), name.upper(), name[:3], name[:3].upper()):
        assert schedule_of(typed) == stored
        assert parse_digest([typed, "17:30"]) == DigestCommand(stored, "17:30")
    assert parse_digest([name.lower()]) == DigestCommand(stored, "09:00")
    assert describe_schedule(stored, "17:30") == f"{name}s at 17:30"
    assert schedule_adjective(stored) == name
    # 2026-03-23 is a Monday: each day of that week and the next comes up in turn.
    moment = local("2026-03-22 18:00", BERLIN)
    for week in range(2):
        moment = next_occurrence(stored, "17:30", BERLIN, moment)
        expected = datetime(2026, 3, 23, 17, 30, tzinfo=BERLIN) + timedelta(day + 7 * week)
        assert moment.timestamp() == expected.timestamp()


@pytest.mark.parametrize(
    ("frequency", "text", "adjective"),
    [
        ("daily", "every day at 07:05", "daily"),
        ("weekdays", "weekdays at 07:05", "weekday"),
        ("weekly", "Mondays at 07:05", "weekly"),
    ],
)
def test_schedules_say_what_they_are(frequency, text, adjective):
    assert describe_schedule(frequency, "07:05") == text
    assert schedule_adjective(frequency) == adjective
    assert parse_digest([frequency.upper(), "7:05"]) == DigestCommand(frequency, "07:05")


@pytest.mark.parametrize("word", ["fridays", "tues", "weekday", "weekend", "monthly", "f"])
def test_other_words_are_no_schedule(word):
    assert schedule_of(word) is None
    with pytest.raises(UsageError, match="weekdays"):
        parse_digest([word])


@pytest.mark.parametrize(
    ("frequency", "at", "made", "since"),
    [
        ("daily", "09:00", "2026-03-24 15:00", "2026-03-24 09:00"),
        ("daily", "09:00", "2026-03-24 08:00", "2026-03-23 09:00"),
        ("weekdays", "09:00", "2026-03-29 15:00", "2026-03-27 09:00"),  # Sunday → Friday's
        ("weekly", "09:00", "2026-03-29 15:00", "2026-03-23 09:00"),
        ("fri", "17:30", "2026-03-24 15:00", "2026-03-20 17:30"),
        ("sun", "02:30", "2026-03-29 12:00", "2026-03-29 03:00"),  # in the gap
    ],
)
def test_a_first_digest_covers_what_the_occurrence_before_it_would_have(frequency, at, made, since):
    """No digest posted yet: "new since" is the schedule's last moment before the
    subscription was made, so the first digest covers one period like every later one."""
    created = local(made, BERLIN).timestamp()
    sub = Subscription(
        id="s",
        vendor="demo",
        channel_id="C1",
        frequency=frequency,
        at_time=at,
        timezone="Europe/Berlin",
        created_by="U1",
        created_at=created,
        next_run_at=created,
    )
    assert datetime.fromtimestamp(since_of(sub), BERLIN) == local(since, BERLIN)


# -- against a brute-force walk of the clock ---------------------------------------------

ZONES = [
    "UTC",
    "Asia/Kolkata",
    "Europe/Berlin",
    "Europe/Dublin",  # negative DST in tzdata: winter is the "summer" time
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute changes
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",  # midnight skipped in spring, repeated in autumn
    "America/Havana",  # the same
    "Asia/Beirut",  # the same
    "America/Asuncion",  # the same (until 2024)
    "Asia/Tehran",  # the same (until 2022)
    "America/Goose_Bay",  # changes at 00:01 until 2011: the repeated hour spans midnight
    "America/St_Johns",  # the same
    "Antarctica/Troll",  # a two-hour change
    "Africa/Casablanca",  # clocks go back for Ramadan
    "Pacific/Apia",  # 2011-12-30 skipped
]
RUNS_ON = {
    "daily": set(range(7)),
    "weekdays": {0, 1, 2, 3, 4},
    "weekly": {0},
    **{day: {i} for i, day in enumerate(DAYS)},
}
HOUR = 3600
DAY = 24 * HOUR
FIRST, LAST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2037, 12, 1, tzinfo=UTC)


def _offset(tz: ZoneInfo, t: int) -> int:
    return int(datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset().total_seconds())


def _scheduled_after(wall: int, days: set[int], hours: int, minutes: int) -> int:
    """The first scheduled wall reading later than ``wall`` (both as naive epoch seconds)."""
    day = datetime.fromtimestamp(wall, UTC).date()
    while True:
        reading = calendar.timegm((day.year, day.month, day.day, hours, minutes, 0))
        if day.weekday() in days and reading > wall:
            return reading
        day += timedelta(days=1)


def reference_next(frequency: str, at: str, tz: ZoneInfo, after: float) -> int:
    """Walk UTC a minute at a time, keeping the latest wall-clock reading seen so far; a
    scheduled reading's moment is the first minute that latest reading reaches it (an
    hour with one offset at both ends and reaching nothing is passed at once). Started
    six hours early, so a reading already reached before a repeated hour counts."""
    hours, minutes = (int(x) for x in at.split(":"))
    days = RUNS_ON[frequency]
    start = int(after) // 60 * 60 - 6 * HOUR
    latest = start + _offset(tz, start)
    pending = _scheduled_after(latest, days, hours, minutes)
    for hour_start in range(start, start + 10 * 24 * HOUR, HOUR):
        before, later = _offset(tz, hour_start), _offset(tz, hour_start + HOUR)
        if before == later and hour_start + HOUR + before < pending:
            latest = max(latest, hour_start + HOUR + before)  # an hour that reaches nothing
            continue
        for minute in range(60, HOUR + 1, 60):
            t = hour_start + minute
            wall = t + (before if before == later else _offset(tz, t))
            if wall <= latest:
                continue
            latest = wall
            if wall >= pending:
                if t > after:
                    return t
                pending = _scheduled_after(wall, days, hours, minutes)
    raise AssertionError("no occurrence within ten days")


def _next_change(tz: ZoneInfo, t: int) -> int | None:
    """The hour in which ``tz`` next changes its offset after ``t``, within a year (a day
    at a time, then an hour at a time: no zone changes twice in a day)."""
    offset = _offset(tz, t)
    for day in range(t + DAY, t + 366 * DAY, DAY):
        if _offset(tz, day) != offset:
            return next(
                hour for hour in range(day - DAY, day + 1, HOUR) if _offset(tz, hour) != offset
            )
    return None


times = st.builds(
    "{:02d}:{:02d}".format,
    st.one_of(st.sampled_from([0, 1, 2, 3, 23]), st.integers(0, 23)),
    st.one_of(st.sampled_from([0, 1, 15, 29, 30, 31, 45, 59]), st.integers(0, 59)),
)


@st.composite
def cases(draw):
    """A zone, a time of day and an instant. Most often the instant is within a week
    before (or a day after) one of the zone's offset changes, and the time one the clock
    reads near that change: skipped, repeated, or just either side."""
    tz = ZoneInfo(draw(st.sampled_from(ZONES)))
    after = draw(st.integers(int(FIRST.timestamp()), int(LAST.timestamp())))
    at = draw(times)
    change = _next_change(tz, after) if draw(st.integers(0, 3)) else None
    if change is not None:
        after = change + 60 * draw(st.integers(-8 * 24 * 60, 24 * 60))
        if draw(st.booleans()):
            near = datetime.fromtimestamp(change + 60 * draw(st.integers(-150, 150)), tz)
            at = f"{near:%H:%M}"
    return tz, at, after + draw(st.sampled_from([0, 0, 1, 30, 59, 59.5]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    frequency=st.sampled_from(SCHEDULES),
    case=cases(),
    later=st.sampled_from([0, 1, 1800, 3540, 3600, 3660, 5400, 7200]),
)
def test_next_occurrence_is_what_walking_the_clock_finds(frequency, case, later):
    """From the instant, then from the moment found or a little later (where the clock
    may read an hour before it again), next_occurrence is the reference's instant, read
    on the zone's own clock; previous_occurrence is the last one at or before."""
    tz, at, after = case
    start = datetime.fromtimestamp(after, tz)
    got = next_occurrence(frequency, at, tz, start)
    assert got.timestamp() == reference_next(frequency, at, tz, after)
    assert got.tzinfo is tz
    clock = datetime.fromtimestamp(got.timestamp(), tz)
    assert (got.replace(tzinfo=None), got.fold) == (clock.replace(tzinfo=None), clock.fold)
    again = datetime.fromtimestamp(got.timestamp() + later, tz)
    then = next_occurrence(frequency, at, tz, again)
    assert then.timestamp() == reference_next(frequency, at, tz, again.timestamp())
    before = previous_occurrence(frequency, at, tz, start)
    assert before.timestamp() <= after < next_occurrence(frequency, at, tz, before).timestamp()
    just_before = datetime.fromtimestamp(before.timestamp() - 1, UTC)
    assert next_occurrence(frequency, at, tz, just_before).timestamp() == before.timestamp()


def test_the_reference_walk_knows_a_gap_and_a_fold():
    """The reference itself, on a day clocks spring forward and one they fall back."""
    spring = local("2026-03-29 00:00", BERLIN).timestamp()
    assert (
        reference_next("daily", "02:30", BERLIN, spring)
        == local("2026-03-29 03:00", BERLIN).timestamp()
    )
    fall = local("2026-10-25 02:30", BERLIN)  # the first 02:30
    assert reference_next("daily", "02:30", BERLIN, fall.timestamp() - 60) == fall.timestamp()
    assert (
        reference_next("daily", "02:30", BERLIN, fall.timestamp())
        == local("2026-10-26 02:30", BERLIN).timestamp()
    )
