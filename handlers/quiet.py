"""When a message nobody asked for just now may reach a person.

Replies to what someone wrote always go at once. What buurtbot says first -- a check-in, a
reminder, a round call's reminder -- waits for the end of the person's quiet hours (their
check-in plan's, else 21:00-08:00 Brussels time), and at most ``WEEKLY_CAP`` of them reach
one person in a week (Monday to Sunday): a schedule gone wrong must never flood anyone.
/stop, STOP and do-not-contact are the Notifier's (handlers.core). An emergency is never
scheduled, so none of this ever holds one back."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import ChannelIdentity, Outbox, Person
from models.base import TZ
from models.plan_times import parse_hm
from models.outbox import SAID_FIRST
from models.schedules import CheckinPlan
from models.tasks import week_start

#: Everyone's quiet hours unless their check-in plan says otherwise (QUIET_HOURS; the runner sets it).
DEFAULT_QUIET = ("21:00", "08:00")
#: Outbox purposes that count against the weekly cap (what buurtbot says first).
PROACTIVE = SAID_FIRST
WEEKLY_CAP = 14


def quiet_until(at: datetime, start: str | None = None, end: str | None = None) -> datetime | None:
    """None when ``at`` is outside the quiet hours ``start``-``end`` (local "HH:MM", which may
    span midnight; default DEFAULT_QUIET), else the UTC instant they end."""
    start, end = start or DEFAULT_QUIET[0], end or DEFAULT_QUIET[1]
    local = at.astimezone(TZ)
    begin, finish, now = parse_hm(start), parse_hm(end), local.time()
    if begin == finish:
        return None
    spans_midnight = begin > finish
    inside = (now >= begin or now < finish) if spans_midnight else (begin <= now < finish)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if spans_midnight and now >= begin else local.date()
    return datetime.combine(day, finish, tzinfo=TZ).astimezone(at.tzinfo)


def quiet_hours(session: Session, person: Person) -> tuple[str, str]:
    """The person's quiet hours: their check-in plan's, else the default."""
    row = session.execute(select(CheckinPlan.quiet_start, CheckinPlan.quiet_end)
                          .where(CheckinPlan.person_id == person.id).limit(1)).first()
    return (row[0], row[1]) if row else DEFAULT_QUIET


def after_quiet(session: Session, person: Person, at: datetime) -> datetime:
    """``at``, or the end of the person's quiet hours when ``at`` falls inside them."""
    return quiet_until(at, *quiet_hours(session, person)) or at


def over_weekly_cap(session: Session, person: Person, now: datetime, cap: int = WEEKLY_CAP) -> bool:
    """Whether the person already had ``cap`` messages buurtbot said first this week."""
    return said_first_this_week(session, [person.id], now).get(person.id, 0) >= cap


def said_first_this_week(session: Session, person_ids: list[int], now: datetime) -> dict[int, int]:
    """{person id: messages buurtbot said first this week} in one query (a sweep asks for many)."""
    if not person_ids:
        return {}
    rows = session.execute(select(ChannelIdentity.person_id, func.count(Outbox.id))
                           .join(ChannelIdentity, ChannelIdentity.id == Outbox.identity_id)
                           .where(ChannelIdentity.person_id.in_(person_ids), Outbox.purpose.in_(PROACTIVE),
                                  Outbox.created_at >= week_start(now))
                           .group_by(ChannelIdentity.person_id))
    return {person_id: count for person_id, count in rows}
