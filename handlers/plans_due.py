"""The check-in sweep: every plan that is due gets its occurrence, once, and is contacted --
or, when buurtbot was down for longer than the grace window, reported to a coordinator as
"missed by the system", never silently skipped.

Per batch of due plans: the plans are claimed (SKIP LOCKED / lease), their people and channel
identities loaded in one query each, the occurrences written in one INSERT that skips keys
already there (``checkin:<plan>:<local minute>``: a second instance, a restarted one or a
second ``buurtbot tick --at`` for the same time writes nothing twice and contacts nobody
twice), and each plan's ``next_due_at`` moved to its next local day and time
(models.plan_times). A plan that was down for several due times gets each of them. Paused
plans are not claimed; a pause with an end date ends by itself on that day.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm import Session

from handlers.core import Notifier
from handlers.i18n import ngettext
from handlers.sweeps import BATCH, claim, sweep
from models import Person
from models.base import TZ
from models.network import coordinators_of
from models.plan_times import day_start, local_minute, next_due
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan

log = logging.getLogger("buurtbot.checkins")
#: Minutes a check-in may be late and still be sent; later, it is "missed by the system".
#: The runner sets it from CHECKIN_GRACE_MINUTES (bot.settings: checkin_grace_minutes).
GRACE = 60
#: Due times one plan may catch up on in one sweep (about ten years of a daily plan): a bound,
#: not a policy -- each of them is reported.
CATCH_UP = 4000


def occurrence_key(plan_id: int, due: datetime) -> str:
    return f"checkin:{plan_id}:{local_minute(due)}"


def _due(now: datetime):
    """Active plans due by ``now``, oldest first: a range of the (status, next_due_at) index."""
    return (select(CheckinPlan).where(CheckinPlan.status == "active", CheckinPlan.next_due_at <= now)
            .order_by(CheckinPlan.next_due_at, CheckinPlan.id))


def _pause_ends(now: datetime):
    """Paused plans whose pause ends by today: they resume by themselves."""
    return (select(CheckinPlan).where(CheckinPlan.status == "paused", CheckinPlan.paused_until.is_not(None),
                                      CheckinPlan.paused_until <= now.astimezone(TZ).date())
            .order_by(CheckinPlan.paused_until, CheckinPlan.id))


@sweep("checkins")
def checkins_due(session: Session, now: datetime) -> int:
    """Handles at most BATCH due plans; returns how many."""
    plans = claim(session, _due(now), CheckinPlan, now)
    if len(plans) < BATCH:
        plans += claim(session, _pause_ends(now), CheckinPlan, now, limit=BATCH - len(plans))
    if not plans:
        return 0
    grace = timedelta(minutes=GRACE)
    due: list[tuple[CheckinPlan, datetime]] = []
    changes = []
    for plan in plans:
        instants, change = _advance(plan, now)
        due.extend((plan, at) for at in instants)
        changes.append(change)
    _save(session, plans, changes, now)
    if not due:
        return len(plans)
    rows = [dict(key=occurrence_key(plan.id, at), plan_id=plan.id, person_id=plan.person_id, due_at=at,
                 status="missed_by_system" if now - at > grace else "waiting", ladder_index=0,
                 next_at=None if now - at > grace else _first_step_at(plan, now))
            for plan, at in due]
    written = {key: occ_id for occ_id, key in session.execute(
        _insert_new(session).returning(CheckinOccurrence.id, CheckinOccurrence.key), rows)}
    missed: list[tuple[CheckinPlan, int]] = []
    to_contact: list[int] = []
    for (plan, _at), row in zip(due, rows):
        occ_id = written.get(row["key"])
        if occ_id is None:
            continue  # another instance (or an earlier run) wrote it: not ours to contact
        (missed.append((plan, occ_id)) if row["status"] == "missed_by_system" else to_contact.append(occ_id))
    if missed:
        session.execute(insert(CheckinAttempt), [
            dict(occurrence_id=occ_id, person_id=plan.person_id, at=now, step="checkin", channel=plan.channel,
                 outcome="missed_by_system") for plan, occ_id in missed])
        _tell_coordinators(session, missed, now)
    if to_contact:
        _contact(session, list(session.scalars(select(CheckinOccurrence).where(
            CheckinOccurrence.id.in_(to_contact)).order_by(CheckinOccurrence.id))), now)
    return len(plans)


def _contact(session: Session, occurrences: list[CheckinOccurrence], now: datetime) -> None:
    """Each occurrence contacted by handlers.checkins (which owns what a check-in says and how):
    the batch at once; should that fail, one by one. One that fails
    is logged (ids and exception type only) and left to the ladder with an "error" attempt; it
    never takes the others down with it, nor blocks the plans behind it tick after tick."""
    from handlers import checkins

    try:
        with session.begin_nested():
            checkins.contact_many(session, occurrences, now, step="checkin")
        return
    except Exception as exc:  # noqa: BLE001 -- find the one that fails, below
        log.warning("check-in batch failed (%s); contacting one by one", type(exc).__name__)
    for occ in occurrences:
        try:
            with session.begin_nested():
                checkins.contact(session, occ, now, step="checkin")
        except Exception as exc:  # noqa: BLE001
            log.error("check-in of occurrence %d failed: %s", occ.id, type(exc).__name__)
            session.execute(insert(CheckinAttempt), [dict(occurrence_id=occ.id, person_id=occ.person_id, at=now,
                                                          step="checkin", outcome="error")])


def _advance(plan: CheckinPlan, now: datetime) -> tuple[list[datetime], dict]:
    """The due instants of ``plan`` up to ``now`` (outside a pause), and what the plan becomes:
    ``next_due_at`` past them, a pause that ended gone."""
    status, paused_until, next_at = plan.status, plan.paused_until, plan.next_due_at
    if status == "paused":  # its pause has run out: it resumes by itself, from that day on
        status, paused_until = "active", None
        next_at = next_due(plan.days, plan.time_local, day_start(plan.paused_until) - timedelta(microseconds=1))
    instants = []
    for _ in range(CATCH_UP):
        at = next_at
        if at is None or at > now:
            break
        if paused_until is None or at.astimezone(TZ).date() >= paused_until:
            instants.append(at)
        next_at = next_due(plan.days, plan.time_local, at, paused_until=paused_until)
    else:
        next_at = next_due(plan.days, plan.time_local, now, paused_until=paused_until)
    if paused_until is not None and paused_until <= now.astimezone(TZ).date():
        paused_until = None
    return instants, {"status": status, "paused_until": paused_until, "next_due_at": next_at}


def _save(session: Session, plans: list[CheckinPlan], changes: list[dict], now: datetime) -> None:
    """The plans moved on, in one UPDATE for the batch (the unit of work would take a round of
    bookkeeping per plan); the lease claim() wrote goes with it. The loaded objects are told the
    new values as committed, so nothing flushes them again."""
    table = CheckinPlan.__table__
    session.execute(table.update().where(table.c.id == bindparam("plan_id")).values(
        status=bindparam("new_status"), paused_until=bindparam("new_paused_until"),
        next_due_at=bindparam("new_next_due_at"), lease_until=None, leased_by=None, updated_at=now),
        [{"plan_id": plan.id, **{f"new_{k}": v for k, v in change.items()}} for plan, change in zip(plans, changes)])
    for plan, change in zip(plans, changes):  # (their lease is not synced: nothing reads it from them)
        for key, value in change.items():
            if getattr(plan, key) != value:
                set_committed_value(plan, key, value)


def _first_step_at(plan: CheckinPlan, now: datetime) -> datetime | None:
    """When the ladder first looks again (``contact`` may change it). A call's ladder waits for
    the call's outcome instead (the voice channel sets it)."""
    if plan.channel == "voice" or not plan.ladder:
        return None
    return now + timedelta(minutes=int(plan.ladder[0].get("after", 0)))


def _insert_new(session: Session):
    """INSERT ... ON CONFLICT (key) DO NOTHING, in the database's own words."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(CheckinOccurrence).on_conflict_do_nothing(index_elements=["key"])


def _tell_coordinators(session: Session, missed: list[tuple[CheckinPlan, int]], now: datetime) -> int:
    """One message per coordinator: how many check-ins the system missed, and whose (first
    names). The plan's coordinator, else the coordinators of the person's neighbourhood."""
    by_coordinator: dict[int, list[tuple[CheckinPlan, int]]] = defaultdict(list)
    people: dict[int, Person] = {}
    neighbourhood_coordinators: dict[int, list[Person]] = {}
    for plan, occ_id in missed:
        if plan.coordinator is not None:
            recipients = [plan.coordinator]
        else:
            if plan.neighbourhood_id not in neighbourhood_coordinators:
                neighbourhood_coordinators[plan.neighbourhood_id] = coordinators_of(session, plan.neighbourhood_id)
            recipients = neighbourhood_coordinators[plan.neighbourhood_id]
        for coordinator in recipients:
            people[coordinator.id] = coordinator
            by_coordinator[coordinator.id].append((plan, occ_id))
    told = 0
    for coordinator_id, items in by_coordinator.items():
        names = ", ".join(dict.fromkeys(plan.person.first_name or "?" for plan, _occ in items))
        count = len(items)
        # Outbox keys "missed:<coordinator>:<first occurrence>:<n>": told once per batch of occurrences.
        notifier = Notifier(session, f"missed:{coordinator_id}:{min(occ for _plan, occ in items)}", now=now)
        told += notifier.tell(people[coordinator_id], lambda: (ngettext(
            "The system was down: {n} check-in was not sent in time. Who missed it: {names}. "
            "Could you get in touch with them?",
            "The system was down: {n} check-ins were not sent in time. Who missed them: {names}. "
            "Could you get in touch with them?", count, names=names), []), purpose="alert", even_if_paused=True)
        notifier.write()
    return told
