"""Tasks for one named person after a check-in found no answer (or asked for a call): a buddy
who looks in at the door, a call-back. Acknowledged by button (``fu:<verb>:<id>``) and closed
with an outcome; no acknowledgement by the deadline, "I can't" or "nobody opened" goes to the
coordinator -- the plan's own, else the neighbourhood's -- with "call 112 if you see danger
signs". The helper sees first name, street and number, phone and the deadline, nothing more;
the coordinator gets the whole picture. Every step is a CheckinAttempt: the person's timeline.
"""
from __future__ import annotations

import logging

from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from handlers.actions import action
from handlers.alerts import decorate, open_alert, phone_of
from handlers.core import Context, Notifier, Option
from handlers.i18n import N_, _, format_day, format_time, pgettext
from handlers.menu import menu_options, show_menu
from handlers.payloads import Payload
from handlers.sweeps import claim, sweep
from models import ChannelIdentity, Person
from models.network import coordinators_of, may_coordinate
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp

#: How long a call-back may wait for its "I'll call" before the coordinator hears of it.
CALLBACK_MINUTES = 240
#: After "I'm going": how long the buddy has to say how it went before the coordinator hears of it.
OUTCOME_MINUTES = 120
PURPOSE = "followup"
#: Outcomes a buddy closes a look-in with: the button word -> the stored outcome.
OUTCOMES = {"well": "all_well", "help": "needed_help", "none": "nobody_opened"}

log = logging.getLogger("buurtbot.checkins")


def attempt(occ: CheckinOccurrence | None, person_id: int, step: str, outcome: str, now: datetime, *,
            channel: str | None = None, key: str | None = None, followup: FollowUp | None = None,
            actor_id: int | None = None, call_sid: str | None = None) -> dict:
    """One line of the person's timeline (ids and codes, never content), as values to insert."""
    return {"occurrence_id": occ.id if occ is not None else None, "person_id": person_id,
            "followup_id": followup.id if followup is not None else None, "at": now, "step": step[:20],
            "channel": channel, "outcome": outcome[:24], "outbox_key": key, "actor_id": actor_id, "call_sid": call_sid}


def log_attempt(session: Session, occ: CheckinOccurrence | None, person_id: int, step: str, outcome: str,
                now: datetime, **details) -> None:
    log_attempts(session, [attempt(occ, person_id, step, outcome, now, **details)])


def log_attempts(session: Session, rows: list[dict]) -> None:
    """Core INSERTs, as audit() does: a sweep writes thousands, and through the unit of work
    each would be flushed before the next query."""
    if rows:
        session.connection().execute(_ATTEMPT, rows)


_ATTEMPT = insert(CheckinAttempt.__table__)


def street_and_number(person: Person) -> str | None:
    """What a buddy needs at the door: the street and number, without postcode or town."""
    if person.address_full:
        return person.address_full.split(",")[0].strip() or None
    return person.street


def coordinators_for(session: Session, plan: CheckinPlan | None, person: Person,
                     but: int | None = None) -> list[Person]:
    """One named person where the plan names one (while they still coordinate this person),
    else the neighbourhood's coordinators."""
    own = plan.coordinator if plan is not None else None
    if own is not None and own.id != but and may_coordinate(own, person):
        return [own]
    return [c for c in coordinators_of(session, person.neighbourhood_id) if c.id not in (but, person.id)]


def _plan_of(session: Session, fu: FollowUp) -> tuple[CheckinOccurrence | None, CheckinPlan | None]:
    occ = session.get(CheckinOccurrence, fu.occurrence_id) if fu.occurrence_id else None
    return occ, occ.plan if occ is not None else None


# ---- giving the task -------------------------------------------------------------------------

def give_lookin(session: Session, occ: CheckinOccurrence, buddy: Person, deadline_minutes: int,
                now: datetime) -> FollowUp | None:
    """"Please look in on Maria": first name, street and number, phone, the arrival deadline.
    None when the buddy cannot be reached now (the ladder goes on to the coordinator)."""
    person = occ.person
    deadline = now + timedelta(minutes=deadline_minutes)
    fu = FollowUp(kind="lookin", person_id=person.id, neighbourhood_id=occ.plan.neighbourhood_id,
                  assignee_id=buddy.id, occurrence_id=occ.id, status="open", deadline_at=deadline, next_at=deadline)
    session.add(fu)
    session.flush()
    notifier = Notifier(session, f"{PURPOSE}:{fu.id}:ask", now=now)
    street, phone = street_and_number(person), phone_of(person)

    def render() -> tuple[str, list[Option]]:
        lines = [_("Could you please look in on {name}? We could not reach {name} today.", name=person.first_name)]
        if street:
            lines.append(_("Address: {address}", address=street))
        if phone:
            lines.append(_("Phone: {phone}", phone=phone))
        lines.append(_("Please go by {deadline}.", deadline=format_day(fu.deadline_at)))
        return "\n".join(lines), [Option(_("I'm going"), f"fu:go:{fu.id}"), Option(_("I can't"), f"fu:cant:{fu.id}")]

    if not notifier.tell(buddy, render, purpose=PURPOSE):  # a buddy who said /stop is not asked: the next rung
        session.delete(fu)
        session.flush()
        return None
    notifier.write()
    log_attempt(session, occ, person.id, "buddy", "asked", now, followup=fu, actor_id=buddy.id)
    return fu


def give_callback(session: Session, occ: CheckinOccurrence, now: datetime, why: str = "call_me") -> Person | None:
    """"Maria would like a call": to the buddy, else the plan's coordinator, else the
    neighbourhood's first coordinator -- first name, phone, a deadline, an "I'll call" button.
    Returns who was asked (None: nobody could be)."""
    plan, person = occ.plan, occ.person
    # the buddy first, then whom the ladder escalates to (the plan's coordinator is among them): each asked once
    candidates = list(dict.fromkeys([*([plan.buddy] if plan.buddy is not None else []),
                                     *coordinators_for(session, plan, person)]))
    phone = phone_of(person)
    deadline = now + timedelta(minutes=CALLBACK_MINUTES)
    for helper in candidates:
        fu = FollowUp(kind="callback", person_id=person.id, neighbourhood_id=plan.neighbourhood_id,
                      assignee_id=helper.id, occurrence_id=occ.id, status="open", deadline_at=deadline,
                      next_at=deadline)
        session.add(fu)
        session.flush()
        notifier = Notifier(session, f"{PURPOSE}:{fu.id}:ask", now=now)

        def render(fu=fu) -> tuple[str, list[Option]]:
            text = (_("{name} would like a phone call.", name=person.first_name) if why == "call_me" else
                    _("{name} would like help with something and asked for a call.", name=person.first_name))
            text += "\n" + (_("Phone: {phone}", phone=phone) if phone else _("(no phone number known)"))
            text += "\n" + _("Please call by {deadline}.", deadline=format_day(deadline))
            return text, [Option(_("I'll call"), f"fu:call:{fu.id}"), Option(_("I can't"), f"fu:cant:{fu.id}")]

        if notifier.tell(helper, render, purpose=PURPOSE):  # /stop holds: the next helper is asked
            notifier.write()
            log_attempt(session, occ, person.id, "callback", "asked", now, followup=fu, actor_id=helper.id)
            return helper
        session.delete(fu)
        session.flush()
    log_attempt(session, occ, person.id, "callback", "nobody", now)
    return None


# ---- the coordinator -------------------------------------------------------------------------

#: Why the coordinator hears of it, as they read it.
REASONS = {
    "no_answer": N_("{name} did not answer the check-in of {when}, and there is no buddy who could look in."),
    "no_ack": N_("{name} did not answer the check-in of {when}. {helper} was asked to look in but did not confirm "
                 "in time."),
    "cant": N_("{name} did not answer the check-in of {when}. {helper} cannot look in."),
    "nobody_opened": N_("{name} did not answer the check-in of {when}. {helper} went to the door: nobody opened."),
    "no_outcome": N_("{name} did not answer the check-in of {when}. {helper} went to look in but has not said how it "
                     "went."),
    "callback_no_ack": N_("{name} asked for a call after the check-in of {when}. {helper} did not confirm in time."),
    "callback_cant": N_("{name} asked for a call after the check-in of {when}. {helper} cannot call."),
}
#: Timeline words for the coordinator: Attempt.step -> how it reads (short words: with a context).
STEP_WORDS = {"checkin": lambda: pgettext("timeline", "check-in"), "retry": lambda: pgettext("timeline", "again"),
              "second_channel": lambda: pgettext("timeline", "other channel"),
              "buddy": lambda: pgettext("timeline", "buddy"), "callback": lambda: pgettext("timeline", "call-back"),
              "call": lambda: pgettext("timeline", "call"), "answer": lambda: pgettext("timeline", "answer")}


def alert_coordinator(session: Session, occ: CheckinOccurrence, reason: str, now: datetime, *,
                      helper: Person | None = None, followup: FollowUp | None = None,
                      notifier: Notifier | None = None) -> int:
    """The whole picture to the coordinator (an Alert they can take): why, the timeline so
    far, address, phone, and "call 112 if you see danger signs". Returns how many were told."""
    plan, person = occ.plan, occ.person
    coordinators = coordinators_for(session, plan, person, but=helper.id if helper is not None else None)
    if not coordinators:
        log_attempt(session, occ, person.id, "coordinator", "nobody", now, followup=followup)
        _nobody_to_tell(occ, person)
        return 0
    alert = open_alert(session, person, "checkin", phone_of(person))
    own = notifier or Notifier(session, f"{PURPOSE}:{occ.id}:coordinator:{followup.id if followup else 0}", now=now)
    timeline = list(session.scalars(select(CheckinAttempt).where(CheckinAttempt.occurrence_id == occ.id)
                                    .order_by(CheckinAttempt.at, CheckinAttempt.id)))
    address = person.address_full or person.street

    def render() -> tuple[str, list[Option]]:
        lines = [_(REASONS[reason], name=person.first_name, when=format_day(occ.due_at),
                   helper=helper.first_name if helper is not None else "?")]
        tried = [f"{format_time(a.at)} {STEP_WORDS[a.step]()}" + (f" ({a.channel})" if a.channel else "")
                 for a in timeline if a.step in STEP_WORDS]
        if tried:
            lines.append(_("So far: {steps}", steps=", ".join(tried)))
        if address:
            lines.append(_("Address: {address}", address=address))
        lines.append(_("Call 112 if you see danger signs."))
        return decorate(alert, "\n".join(lines), [])

    told = own.tell_all(coordinators, render, about=person.id, purpose="alert", even_if_paused=True)
    if notifier is None:
        own.write()
    log_attempt(session, occ, person.id, "coordinator", reason if told else "nobody", now, followup=followup)
    if not told:
        _nobody_to_tell(occ, person)
    return told


def _nobody_to_tell(occ: CheckinOccurrence, person: Person) -> None:
    """The last rung found nobody: the operator must hear of it (ids only)."""
    log.warning("no coordinator could be told about check-in occurrence %d (neighbourhood %s)", occ.id,
                person.neighbourhood_id)


def escalate(session: Session, fu: FollowUp, reason: str, now: datetime, notifier: Notifier | None = None) -> None:
    """A follow-up that did not work out goes to the coordinator."""
    fu.status, fu.next_at, fu.closed_at = "escalated", None, now
    occ, _plan = _plan_of(session, fu)
    if occ is not None:
        if fu.kind == "lookin":
            occ.status, occ.next_at = "escalated", None
        alert_coordinator(session, occ, reason, now, helper=fu.assignee, followup=fu, notifier=notifier)


# ---- the buttons -----------------------------------------------------------------------------

@action("fu")
def on_followup(ctx: Context, p: Payload) -> None:
    """fu:go / fu:cant / fu:well / fu:help / fu:none / fu:call :<id>, by the one it was given to."""
    verb = p.args[0] if len(p.args) == 2 else ""
    fu = ctx.session.get(FollowUp, p.record_id) if p.record_id is not None else None
    if fu is None or verb not in ("go", "cant", "call", *OUTCOMES) or fu.assignee_id != ctx.person.id:
        show_menu(ctx, _("Sorry, this task is not yours, or it no longer exists."))
        return
    name = fu.person.first_name
    if fu.status in ("done", "escalated", "declined") or (verb in OUTCOMES and fu.kind != "lookin"):
        show_menu(ctx, _("This task is already closed. Thank you!"))
        return
    occ, _plan = _plan_of(ctx.session, fu)
    now = ctx.now
    if verb == "cant":
        log_attempt(ctx.session, occ, fu.person_id, fu.kind, "cant", now, followup=fu, actor_id=ctx.person.id)
        escalate(ctx.session, fu, "cant" if fu.kind == "lookin" else "callback_cant", now, ctx.notifier)
        fu.status = "declined"
        show_menu(ctx, _("Thank you for letting me know. I have passed it on to the coordinator."))
    elif verb == "call" and fu.kind == "callback":
        fu.status, fu.acknowledged_at, fu.next_at = "acknowledged", now, None
        log_attempt(ctx.session, occ, fu.person_id, "callback", "going", now, followup=fu, actor_id=ctx.person.id)
        phone = phone_of(fu.person)
        show_menu(ctx, _("Thank you! Please call {name}: {phone}", name=name, phone=phone or "?"), about=fu.person_id)
    elif verb == "go" and fu.kind == "lookin":
        fu.status, fu.acknowledged_at = "acknowledged", now
        fu.next_at = max(now, fu.deadline_at or now) + timedelta(minutes=OUTCOME_MINUTES)
        log_attempt(ctx.session, occ, fu.person_id, "buddy", "going", now, followup=fu, actor_id=ctx.person.id)
        ctx.clear()
        ctx.say(_("Thank you! When you have seen {name}, tell me how it went.", name=name),
                [Option(_("All well"), f"fu:well:{fu.id}"), Option(_("Needed help"), f"fu:help:{fu.id}"),
                 Option(_("Nobody opened"), f"fu:none:{fu.id}")])
    elif verb in OUTCOMES and fu.kind == "lookin":
        _close_lookin(ctx, fu, occ, OUTCOMES[verb])
    else:
        show_menu(ctx, _("This task is already closed. Thank you!"))


def _close_lookin(ctx: Context, fu: FollowUp, occ: CheckinOccurrence | None, outcome: str) -> None:
    now, name = ctx.now, fu.person.first_name
    fu.outcome, fu.closed_at = outcome, now
    log_attempt(ctx.session, occ, fu.person_id, "buddy", outcome, now, followup=fu, actor_id=ctx.person.id)
    if outcome == "nobody_opened":
        escalate(ctx.session, fu, "nobody_opened", now, ctx.notifier)
        show_menu(ctx, _("Thank you. I have told the coordinator at once. If you see danger signs, call 112 now."))
        return
    fu.status, fu.next_at = "done", None
    if occ is not None:
        occ.status, occ.next_at, occ.closed_at = "closed", None, now
    if outcome == "needed_help":
        person, helper = fu.person, ctx.person
        plan = occ.plan if occ is not None else None
        ctx.tell_all(coordinators_for(ctx.session, plan, person, but=helper.id),
                     lambda: (_("{helper} looked in on {name}: {name} needed help.", helper=helper.first_name,
                                name=name), []), about=person.id, purpose="alert", even_if_paused=True)
        show_menu(ctx, _("Thank you for helping {name}. I have let the coordinator know. If it is urgent, call 112.",
                         name=name))
        return
    ctx.clear()
    ctx.say(_("Thank you for looking in on {name}!", name=name), menu_options(ctx))


# ---- the sweep -------------------------------------------------------------------------------

@sweep("followups")
def sweep_followups(session: Session, now: datetime) -> int:
    """Call-backs and look-ins whose time ran out: not confirmed by the deadline, or (a
    look-in) no word on how it went -- the coordinator hears of it, once."""
    due = claim(session, select(FollowUp).where(FollowUp.kind.in_(("callback", "lookin")),
                                                FollowUp.status.in_(("open", "acknowledged")), FollowUp.next_at <= now)
                .order_by(FollowUp.next_at, FollowUp.id), FollowUp, now)
    for fu in due:
        if fu.status == "open":
            reason = "no_ack" if fu.kind == "lookin" else "callback_no_ack"
        elif fu.kind == "lookin":
            reason = "no_outcome"
        else:
            fu.next_at = None
            continue
        occ, _plan = _plan_of(session, fu)
        log_attempt(session, occ, fu.person_id, fu.kind, "no_ack" if fu.status == "open" else "no_outcome", now,
                    followup=fu)
        escalate(session, fu, reason, now)
    return len(due)


def identities_besides(session: Session, person: Person, channel: str) -> list[ChannelIdentity]:
    """The person's other reachable channels (a second channel for the ladder)."""
    return list(session.scalars(select(ChannelIdentity).where(
        ChannelIdentity.person_id == person.id, ChannelIdentity.channel != channel,
        ChannelIdentity.active.is_(True), ChannelIdentity.opted_out_at.is_(None)).order_by(ChannelIdentity.id)))
