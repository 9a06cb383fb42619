"""Check-in plans: enrol someone (or change their plan), find them again by phone or address,
pause, resume, stop. The chat flow (handlers/checkin_plan.py) and the command line
(bot/cli_checkin.py) both go through here, so the rules hold wherever a plan is changed:
consent is recorded (how, by whom, when), the buddy is an approved volunteer of the same
neighbourhood, and ``next_due_at`` always comes from ``models.plan_times.next_due``.

A pause is status "paused": with ``paused_until`` (a holiday, the hospital) the check-in sweep
resumes it by itself on that day (handlers/plans_due.py), and ``next_due_at`` already says when
the first hello after it comes; without, it waits to be resumed and nothing is due. A paused
plan also stops the ladder of a hello sent before (nobody goes to the door of someone away).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.audit import audit
from models.base import TZ
from models.outbox import cancel_said_first
from models.people import ChannelIdentity, Person
from models.plan_times import next_due
from models.schedules import DEFAULT_LADDER, CheckinPlan

#: The channels whose address is the phone number in E.164.
PHONE_CHANNELS = ("sms", "whatsapp", "voice")
#: Channels on which a person writes to the bot (a plan's identity there is their chat).
CHAT_CHANNELS = ("telegram", "whatsapp", "sms", "demo")
ADDRESS_CHANNELS = (*CHAT_CHANNELS, "voice")


class PlanError(ValueError):
    """Something a caller asked that cannot be done; ``code`` says which (for translated answers)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def split_address(address: str) -> tuple[str, str]:
    """``telegram:123`` -> ("telegram", "123"); PlanError when it names no channel of ours."""
    channel, sep, rest = (address or "").strip().partition(":")
    if not sep or channel not in ADDRESS_CHANNELS or not rest.strip():
        raise PlanError("address", f"not an address: {address!r} (use telegram:<chat id>, whatsapp:+32..., "
                                   "sms:+32..., voice:+32... or demo:<persona>)")
    return channel, rest.strip()


def identity_at(session: Session, channel: str, address: str) -> ChannelIdentity | None:
    return session.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                                        ChannelIdentity.address == address))


def find_person(session: Session, *, phone: str | None = None, address: tuple[str, str] | None = None) -> Person | None:
    """The person with this phone (E.164: their own ``phone``, or an SMS, WhatsApp or voice
    identity with it), or at this (channel, address)."""
    if address is not None:
        identity = identity_at(session, *address)
        return identity.person if identity is not None else None
    if not phone:
        return None
    found = session.scalar(select(Person).where(Person.phone == phone).order_by(Person.id).limit(1))
    if found is not None:
        return found
    identity = session.scalars(select(ChannelIdentity).where(
        ChannelIdentity.channel.in_(PHONE_CHANNELS), ChannelIdentity.address == phone,
        ChannelIdentity.person_id.is_not(None)).order_by(ChannelIdentity.id).limit(1)).first()
    return identity.person if identity is not None else None


def ensure_identity(session: Session, person: Person, channel: str, address: str) -> ChannelIdentity:
    """The person's identity at (channel, address), made if new; PlanError if it is someone else's."""
    identity = identity_at(session, channel, address)
    if identity is None:
        identity = ChannelIdentity(channel=channel, address=address, person_id=person.id, language=person.language)
        session.add(identity)
        session.flush()
    elif identity.person_id is None:
        identity.person_id = person.id
    elif identity.person_id != person.id:
        raise PlanError("taken", f"{channel}:{address} belongs to someone else")
    return identity


def current_plan(session: Session, person_id: int, kind: str | None = None) -> CheckinPlan | None:
    """The person's plan that is not stopped (the newest, if ever there were two)."""
    query = select(CheckinPlan).where(CheckinPlan.person_id == person_id, CheckinPlan.status != "stopped")
    if kind is not None:
        query = query.where(CheckinPlan.kind == kind)
    return session.scalars(query.order_by(CheckinPlan.id.desc()).limit(1)).first()


def plans_of(session: Session, neighbourhood_id: int, *, include_stopped: bool = False) -> list[CheckinPlan]:
    query = select(CheckinPlan).where(CheckinPlan.neighbourhood_id == neighbourhood_id)
    if not include_stopped:
        query = query.where(CheckinPlan.status != "stopped")
    return list(session.scalars(query.order_by(CheckinPlan.id)))


def check_buddy(buddy: Person | None, neighbourhood_id: int) -> None:
    if buddy is not None and not (buddy.is_approved_volunteer and buddy.neighbourhood_id == neighbourhood_id):
        raise PlanError("buddy", "the buddy must be an approved volunteer of this neighbourhood")


def save_plan(session: Session, person: Person, *, neighbourhood_id: int, channel: str, days: list[int],
              time_local: str, now: datetime, consent_how: str, consent_by: str, kind: str = "checkin",
              sender_name: str | None = None, buddy: Person | None = None, coordinator: Person | None = None,
              caller: Person | None = None, ladder: list[dict] | None = None,
              actor_id: int | None = None) -> CheckinPlan:
    """Create the person's plan, or change the one they have (of this kind): always with the
    consent given for it now. Returns the plan with its next due time."""
    ladder = checked_ladder(ladder)
    if kind == "checkin" and not in_the_day(time_local):
        raise PlanError("time", f"a check-in is between {EARLIEST} and {LATEST} (the night is quiet)")
    days = sorted({int(d) for d in days})
    if not days or any(not 0 <= d <= 6 for d in days):
        raise PlanError("days", "give at least one day, mon..sun")
    if not (consent_how or "").strip():
        raise PlanError("consent", "a plan needs consent: say how it was given")
    check_buddy(buddy, neighbourhood_id)
    if caller is not None and not (caller.is_approved_volunteer and caller.neighbourhood_id == neighbourhood_id):
        raise PlanError("caller", "the caller must be an approved volunteer of this neighbourhood")
    if kind == "round" and caller is None:
        raise PlanError("caller", "a phone round needs a caller (--caller ADDRESS)")
    plan = current_plan(session, person.id, kind)
    if plan is None:
        plan = CheckinPlan(person_id=person.id, kind=kind,
                           ladder=[dict(s) for s in (DEFAULT_LADDER if ladder is None else ladder)])
        session.add(plan)
    elif ladder is not None:
        plan.ladder = [dict(s) for s in ladder]
    plan.neighbourhood_id = neighbourhood_id
    plan.channel, plan.days, plan.time_local = channel, days, time_local
    plan.sender_name = sender_name or plan.sender_name
    plan.buddy_id = buddy.id if buddy is not None else plan.buddy_id
    plan.coordinator_id = coordinator.id if coordinator is not None else plan.coordinator_id
    plan.caller_id = caller.id if caller is not None else plan.caller_id
    plan.consent_how, plan.consent_by, plan.consent_at = consent_how.strip()[:200], consent_by[:80], now
    plan.status, plan.paused_until = "active", None
    plan.next_due_at = next_due(days, time_local, now)
    person.consent_at = person.consent_at or now
    session.flush()
    audit(session, actor_id, "plan.save", "checkin_plan", plan.id)
    return plan


#: A check-in is never planned in the night: the default quiet hours (handlers/quiet.py) run
#: from 21:00 to 08:00, and a hello then would wait for the morning.
EARLIEST, LATEST = "08:00", "21:00"


def in_the_day(time_local: str) -> bool:
    return EARLIEST <= time_local < LATEST


#: The rungs a ladder may have (handlers/checkins.climb) and the numbers each may carry.
RUNGS = {"retry": ("after",), "second_channel": ("after",), "buddy": ("after", "deadline"), "coordinator": ("after",)}


def checked_ladder(ladder: list[dict] | None) -> list[dict] | None:
    """A ladder as the sweep can run it, or PlanError: one bad rung would otherwise stop every
    check-in of its sweep's batch, at every tick."""
    if ladder is None:
        return None
    if not isinstance(ladder, list):
        raise PlanError("ladder", "the ladder is a list of steps")
    for rung in ladder:
        if not isinstance(rung, dict) or rung.get("step") not in RUNGS:
            raise PlanError("ladder", f"each step is one of {', '.join(RUNGS)}")
        for key, value in rung.items():
            if key == "step":
                continue
            if key not in RUNGS[rung["step"]] or not isinstance(value, int) or isinstance(value, bool) \
                    or not 0 <= value <= 7 * 24 * 60:
                raise PlanError("ladder", f"{rung['step']}: {key} must be whole minutes (0 to a week)")
    return [dict(r) for r in ladder]


def local_day(now: datetime) -> date:
    return now.astimezone(TZ).date()


def pause(session: Session, plan: CheckinPlan, until: date | None, now: datetime, actor_id: int | None = None) -> None:
    """Pause until a day (the check-ins start again on that day), or until resumed (``until`` None)."""
    if plan.status == "stopped":
        raise PlanError("stopped", "this plan is stopped")
    if until is not None and until <= local_day(now):
        raise PlanError("until", "the pause must end on a day after today")
    plan.status, plan.paused_until = "paused", until
    cancel_said_first(session, plan.person_id, "plan paused")
    plan.next_due_at = None if until is None else next_due(plan.days, plan.time_local, now, paused_until=until)
    audit(session, actor_id, "plan.pause", "checkin_plan", plan.id)


def resume(session: Session, plan: CheckinPlan, now: datetime, actor_id: int | None = None) -> None:
    if plan.status == "stopped":
        raise PlanError("stopped", "this plan is stopped")
    plan.status, plan.paused_until = "active", None
    plan.next_due_at = next_due(plan.days, plan.time_local, now)
    audit(session, actor_id, "plan.resume", "checkin_plan", plan.id)


def stop(session: Session, plan: CheckinPlan, actor_id: int | None = None) -> None:
    plan.status, plan.paused_until, plan.next_due_at = "stopped", None, None
    cancel_said_first(session, plan.person_id, "plan stopped")
    audit(session, actor_id, "plan.stop", "checkin_plan", plan.id)


def is_paused(plan: CheckinPlan, now: datetime) -> bool:
    """Paused until resumed, or until a day still to come (on that day the sweep resumes it)."""
    return plan.status == "paused" and (plan.paused_until is None or plan.paused_until > local_day(now))

