"""Human phone rounds: a volunteer caller phones a neighbour every week, and buurtbot only
does the remembering.

On each due day of a plan of kind "round" the caller gets the person's first name and number
(``remind_caller``, called by ``handlers.checkins.contact`` for the occurrence the check-in
sweep wrote) and logs how it went by button: all well, call back later, or worried -- which
goes to the plan's coordinator (else the neighbourhood's) as an alert they can take. A
missing outcome is reminded once, then shown to the coordinator (``@sweep("rounds")``). The
caller sees a first name and a phone number, nothing else; the round's task is a FollowUp
(kind "round") and every step of it an Attempt on the person's timeline.

Coordinators assign rounds from the chat (coordinator menu, "Phone rounds"): a person with a
phone, an approved volunteer of the same neighbourhood as caller, the days, and whether the
person agreed to the calls (a round is opt-in, like every check-in).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers import payloads
from handlers.actions import action
from handlers.alerts import decorate, open_alert, phone_of
from handlers.core import Answer, Context, Notifier, Option
from handlers.followups import coordinators_for
from handlers.i18n import _
from handlers.plan_days import day_names, weekday_name
from handlers.menu import show_menu
from handlers.quiet import after_quiet, over_weekly_cap
from handlers.steps import step
from handlers.sweeps import claim, sweep
from handlers.tasks import refuse
from models import Person
from models.audit import audit
from models.plans import current_plan, save_plan
from models.network import may_coordinate
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp

#: How long a caller has to log how the call went before one reminder, and again before the coordinator.
REMIND_AFTER = timedelta(days=2)
#: The outcomes a caller logs by button: ``rd:<outcome>:<follow-up id>``.
OUTCOMES = {"well": "all_well", "later": "later", "worried": "worried"}
#: A round's reminder goes to the caller at this local time on each of the plan's days.
ROUND_TIME = "10:00"
#: People and callers offered as buttons in one screen of the assignment.
PAGE = 8
ROUND, PERSON, CALLER, DAYS = "rd", "rdp", "rdc", "rdd"


# ---- the caller's reminder and outcome ------------------------------------------------------

def outcome_options(fu_id: int) -> list[Option]:
    return [Option(_("All well"), payloads.pick(ROUND, f"well:{fu_id}")),
            Option(_("Call back later"), payloads.pick(ROUND, f"later:{fu_id}")),
            Option(_("Worried"), payloads.pick(ROUND, f"worried:{fu_id}"))]


def _attempt(session: Session, fu: FollowUp, step_: str, outcome: str, now: datetime, *,
             actor: int | None = None, key: str | None = None) -> None:
    session.add(CheckinAttempt(occurrence_id=fu.occurrence_id, person_id=fu.person_id, followup_id=fu.id, at=now,
                               step=step_, channel="round", outcome=outcome, actor_id=actor, outbox_key=key))


def remind_caller(session: Session, occ: CheckinOccurrence, now: datetime) -> bool:
    """This week's call for an occurrence of a round plan: a FollowUp for the caller and, unless
    it is the caller's quiet time (then the rounds sweep sends it when that ends), the message
    with the number and the outcome buttons. Once per occurrence, however often it is called.
    False: no caller could be told, and the coordinator has the call instead."""
    plan = occ.plan
    occ.next_at = None  # the FollowUp follows this occurrence up, not the check-in ladder
    fu = session.scalar(select(FollowUp).where(FollowUp.occurrence_id == occ.id, FollowUp.kind == "round"))
    if fu is not None:
        return fu.status != "escalated"
    fu = FollowUp(kind="round", person_id=plan.person_id, neighbourhood_id=plan.neighbourhood_id,
                  assignee_id=plan.caller_id, occurrence_id=occ.id, status="open", deadline_at=now + REMIND_AFTER,
                  next_at=now + REMIND_AFTER, reminded=0, created_at=now)
    session.add(fu)
    session.flush()
    return _tell_caller(session, fu, now, "told")


def _tell_caller(session: Session, fu: FollowUp, now: datetime, stage: str) -> bool:
    """The caller's message (``stage`` "told": the first, "reminded": the one reminder), or the
    coordinator when the caller cannot be told. Postponed to the end of the caller's quiet hours."""
    caller, person = fu.assignee, fu.person
    if caller is None or not caller.is_approved_volunteer or caller.neighbourhood_id != fu.neighbourhood_id:
        _attempt(session, fu, "round", "no_caller", now)
        _escalate(session, fu, now, "no_caller")
        return False
    later = after_quiet(session, caller, now)
    if later > now:
        fu.next_at = later  # the sweep tells them when their quiet hours end
        return True
    if over_weekly_cap(session, caller, now):
        _attempt(session, fu, "round", "capped", now)
        _escalate(session, fu, now, "no_caller")
        return False
    key = f"round:{fu.id}:{stage}:{fu.reminded}"
    notifier = Notifier(session, key, now=now)
    phone = phone_of(person) or "?"

    def render() -> tuple[str, list[Option]]:
        if stage == "told":
            text = _("This week, please call {name}: {phone}. How did it go?", name=person.first_name or "?",
                     phone=phone)
        else:
            text = _("A reminder: how did your call to {name} go? Their number: {phone}",
                     name=person.first_name or "?", phone=phone)
        return text, outcome_options(fu.id)

    if not notifier.tell(caller, render, about=person.id, purpose="round"):
        _attempt(session, fu, "round", "unreachable", now)
        _escalate(session, fu, now, "no_caller")
        return False
    notifier.write()
    _attempt(session, fu, "round", "queued" if stage == "told" else "reminded", now, actor=caller.id, key=key)
    if stage == "reminded":
        fu.reminded += 1
    fu.next_at = now + REMIND_AFTER
    return True


def _coordinators(session: Session, fu: FollowUp) -> list[Person]:
    occ = session.get(CheckinOccurrence, fu.occurrence_id) if fu.occurrence_id else None
    return coordinators_for(session, occ.plan if occ is not None else None, fu.person)


ESCALATIONS = {
    "worried": lambda caller, name: _("{caller} phoned {name} and is worried. Could you contact {name}?",
                                      caller=caller, name=name),
    "no_outcome": lambda caller, name: _("{caller} has not said how this week's call to {name} went. Could you check "
                                         "on {name}?", caller=caller, name=name),
    "no_caller": lambda caller, name: _("Nobody could be asked to make this week's call to {name}. Could you phone "
                                        "{name}?", name=name),
}


def _escalate(session: Session, fu: FollowUp, now: datetime, why: str, notifier: Notifier | None = None) -> int:
    """To the coordinator, as an alert they can take: the follow-up and its occurrence are
    escalated (the coordinator has it now). ``notifier``: the message's own, when a button
    press escalates. Returns how many coordinators were told."""
    fu.status, fu.next_at, fu.outcome = "escalated", None, why
    occ = session.get(CheckinOccurrence, fu.occurrence_id) if fu.occurrence_id else None
    if occ is not None and occ.status in ("waiting", "escalated"):
        occ.status, occ.next_at = "escalated", None
    person, caller = fu.person, fu.assignee
    coordinators = _coordinators(session, fu)
    alert = open_alert(session, person, "round") if coordinators else None
    own = notifier is None
    notifier = notifier or Notifier(session, f"round:{fu.id}:coordinator:{why}", now=now)
    told = notifier.tell_all(coordinators, lambda: decorate(alert, ESCALATIONS[why](
        caller.first_name if caller else "?", person.first_name or "?"), []),
        about=person.id, purpose="alert", even_if_paused=True)
    if own:
        notifier.write()
    _attempt(session, fu, "coordinator", why if told else "nobody_to_tell", now)
    return told


@action(ROUND)
def on_round(ctx: Context, p: payloads.Payload) -> None:
    """``rd:new`` (a coordinator assigns a round) and ``rd:<outcome>:<id>`` (the caller logs a call)."""
    what = p.args[0] if p.args else ""
    if what == "new" and len(p.args) == 1:
        start_assign(ctx)
    elif what in OUTCOMES and len(p.args) == 2 and p.record_id is not None:
        log_outcome(ctx, what, p.record_id)
    else:
        refuse(ctx)


def log_outcome(ctx: Context, what: str, fu_id: int) -> None:
    """Only the caller it was given to logs a call; a call already closed changes nothing. An
    outcome given after the call went to the coordinator still counts: "all well" tells them."""
    session, me, now = ctx.session, ctx.person, ctx.now
    fu = session.get(FollowUp, fu_id, with_for_update=True)
    if fu is None or fu.kind != "round":
        refuse(ctx)
        return
    if fu.assignee_id != me.id:
        refuse(ctx, _("Sorry, this call was given to someone else."))
        return
    name = fu.person.first_name or "?"
    late = fu.status == "escalated"  # the coordinator has it already (no outcome in time, or no caller)
    if fu.status in ("done", "declined") or late and fu.outcome == "worried":
        show_menu(ctx, _("Thank you, this call is already noted."))
        return
    outcome = OUTCOMES[what]
    _attempt(session, fu, "round", outcome, now, actor=me.id)
    audit(session, me.id, f"round.{what}", "followup", fu.id)
    occ = session.get(CheckinOccurrence, fu.occurrence_id) if fu.occurrence_id else None
    fu.acknowledged_at = fu.acknowledged_at or now
    if what == "well":
        fu.status, fu.outcome, fu.next_at, fu.closed_at = "done", outcome, None, now
        if occ is not None:
            occ.status, occ.answer, occ.answered_at, occ.next_at = "answered", "ok", now, None
        if late:  # so that the coordinator does not go on worrying
            ctx.tell_all(_coordinators(session, fu), lambda: (
                _("{caller} says all is well with {name} after all.", caller=me.first_name, name=name), []),
                about=fu.person_id, purpose="alert", even_if_paused=True)
        show_menu(ctx, _("Thank you! Noted: all is well with {name}.", name=name))
    elif what == "later":
        if not late:
            fu.status, fu.outcome, fu.next_at = "acknowledged", outcome, now + REMIND_AFTER
        ctx.clear()
        ctx.say(_("All right. Please try {name} again later, and tell me here how it went.", name=name),
                [*outcome_options(fu.id), Option(_("Menu"), payloads.MENU)])
    else:
        fu.outcome, fu.closed_at = outcome, now
        _escalate(session, fu, now, "worried", ctx.notifier)
        show_menu(ctx, _("Thank you for telling me. I have passed it on to the coordinator. If you think {name} is "
                         "in danger, call 112.", name=name))


@sweep("rounds")
def sweep_rounds(session: Session, now: datetime) -> int:
    """Round calls whose time came: the first message after the caller's quiet hours, the one
    reminder of a missing outcome, then the coordinator -- unless the round was paused or
    stopped meanwhile."""
    rows = claim(session, select(FollowUp).where(FollowUp.kind == "round",
                                                 FollowUp.status.in_(("open", "acknowledged")),
                                                 FollowUp.next_at <= now).order_by(FollowUp.next_at, FollowUp.id),
                 FollowUp, now)
    for fu in rows:
        occ = session.get(CheckinOccurrence, fu.occurrence_id) if fu.occurrence_id else None
        if fu.person.do_not_contact or occ is not None and occ.plan.status != "active":
            # the round was paused or stopped, or the person asked for quiet: nobody is chased for it
            fu.status, fu.outcome, fu.next_at, fu.closed_at = "done", "skipped", None, now
            _attempt(session, fu, "round", "skipped", now)
            continue
        told = session.scalar(select(CheckinAttempt.id).where(CheckinAttempt.followup_id == fu.id,
                                                              CheckinAttempt.outcome == "queued").limit(1))
        if told is None:
            _tell_caller(session, fu, now, "told")
        elif fu.reminded < 1:
            _tell_caller(session, fu, now, "reminded")
        else:
            _escalate(session, fu, now, "no_outcome")
    return len(rows)


# ---- a coordinator assigns a round ----------------------------------------------------------

def coordinator_only(ctx: Context) -> bool:
    """Whether the sender coordinates a neighbourhood; everyone else is refused politely."""
    p = ctx.person
    if p is None or not p.is_coordinator or p.neighbourhood_id is None:
        refuse(ctx, _("Sorry, only coordinators can do that."))
        return False
    return True


def _picked(ctx: Context, answer: Answer, prefix: str) -> Person | None:
    raw = answer.arg(prefix) or ""
    person = ctx.session.get(Person, int(raw)) if raw.isdecimal() and len(raw) < 12 else None
    return person if may_coordinate(ctx.person, person) else None


def phone_people(session: Session, coordinator: Person) -> list[Person]:
    """People of the coordinator's neighbourhood a caller could phone: everyone with a number."""
    people = session.scalars(select(Person).where(Person.neighbourhood_id == coordinator.neighbourhood_id,
                                                  Person.id != coordinator.id).order_by(Person.first_name, Person.id)
                             .options(selectinload(Person.identities)))
    return [p for p in people if phone_of(p) and not p.do_not_contact]


def callers(session: Session, coordinator: Person, person: Person) -> list[Person]:
    return list(session.scalars(select(Person).where(
        Person.neighbourhood_id == coordinator.neighbourhood_id, Person.is_volunteer.is_(True),
        Person.volunteer_status == "approved", Person.id != person.id).order_by(Person.first_name, Person.id)))


def start_assign(ctx: Context, typed: str = "") -> None:
    """The people to choose from: the first PAGE by first name, or those whose first name
    starts with what the coordinator typed."""
    if not coordinator_only(ctx):
        return
    people = phone_people(ctx.session, ctx.person)
    if not people:
        show_menu(ctx, _("Nobody in your neighbourhood has a phone number yet. Enrol someone with their number first."))
        return
    typed = typed.strip().casefold()
    matching = [p for p in people if (p.first_name or "").casefold().startswith(typed)] if typed else people
    text = _("Phone rounds: whom should a volunteer phone every week?")
    if len(matching) > PAGE or typed and not matching:
        text += "\n" + _("Not in the list? Type the first letters of their first name.")
    ctx.goto("rounds.person")
    ctx.say(text, [Option(p.first_name or "?", payloads.pick(PERSON, str(p.id))) for p in (matching or people)[:PAGE]]
            + [Option(_("Menu"), payloads.MENU)], purge_after_send=True)  # names people: not kept


@step("rounds.person")
def on_person(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    person = _picked(ctx, answer, PERSON)
    if person is None or not phone_of(person):
        start_assign(ctx, "" if answer.payload else answer.text[:40])
        return
    people = callers(ctx.session, ctx.person, person)
    if not people:
        show_menu(ctx, _("There are no approved volunteers yet who could call."))
        return
    ctx.goto("rounds.caller", person_id=person.id)
    ctx.say(_("Who will phone {name}?", name=person.first_name or "?"),
            [Option(v.first_name or "?", payloads.pick(CALLER, str(v.id))) for v in people[:PAGE]]
            + [Option(_("Menu"), payloads.MENU)], purge_after_send=True)


def _ask_days(ctx: Context, person: Person, caller: Person, days: list[int]) -> None:
    chosen = day_names(days) or "-"
    ctx.say(_("On which days should {caller} phone {name}? Choose one or more, then “Done”.\nChosen: {days}",
              caller=caller.first_name or "?", name=person.first_name or "?", days=chosen),
            [Option(("✓ " if d in days else "") + weekday_name(d), payloads.pick(DAYS, str(d))) for d in range(7)]
            + [Option(_("Done"), payloads.pick(DAYS, "done")), Option(_("Menu"), payloads.MENU)])


@step("rounds.caller")
def on_caller(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    person = ctx.session.get(Person, int(ctx.data("person_id") or 0))
    caller = _picked(ctx, answer, CALLER)
    if person is None or not may_coordinate(ctx.person, person):
        start_assign(ctx)
        return
    if caller is None or not caller.is_approved_volunteer or caller.id == person.id:
        ctx.goto("rounds.person")
        on_person(ctx, Answer("", payloads.pick(PERSON, str(person.id))))
        return
    plan = current_plan(ctx.session, person.id, "round")
    days = list(plan.days) if plan is not None else []
    ctx.goto("rounds.days", caller_id=caller.id, days=days)
    _ask_days(ctx, person, caller, days)


@step("rounds.days")
def on_days(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    person = ctx.session.get(Person, int(ctx.data("person_id") or 0))
    caller = ctx.session.get(Person, int(ctx.data("caller_id") or 0))
    if not may_coordinate(ctx.person, person) or not may_coordinate(ctx.person, caller):
        start_assign(ctx)
        return
    days = list(ctx.data("days") or [])
    picked = answer.arg(DAYS)
    if picked == "done" and days:
        ctx.goto("rounds.consent")
        ctx.say(_("Has {name} agreed to a call from {caller} every week?", name=person.first_name or "?",
                  caller=caller.first_name or "?"),
                [Option(_("Yes, agreed"), payloads.YES),
                 Option(_("No, not yet"), payloads.NO)])
        return
    if picked is not None and picked.isdecimal() and len(picked) == 1 and int(picked) < 7:
        day = int(picked)
        days = sorted(set(days) ^ {day})
        ctx.goto("rounds.days", days=days)
    _ask_days(ctx, person, caller, days)


@step("rounds.consent")
def on_consent(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    session, me = ctx.session, ctx.person
    person = session.get(Person, int(ctx.data("person_id") or 0))
    caller = session.get(Person, int(ctx.data("caller_id") or 0))
    days = list(ctx.data("days") or [])
    if not may_coordinate(me, person) or not may_coordinate(me, caller) or not caller.is_approved_volunteer \
            or not days:
        start_assign(ctx)
        return
    if answer.is_(payloads.NO):
        show_menu(ctx, _("All right, no round for now. A round starts only when {name} agrees.",
                         name=person.first_name or "?"))
        return
    if not answer.is_(payloads.YES):
        ctx.say(_("Has {name} agreed to a call from {caller} every week?", name=person.first_name or "?",
                  caller=caller.first_name or "?"),
                [Option(_("Yes, agreed"), payloads.YES),
                 Option(_("No, not yet"), payloads.NO)])
        return
    save_round(session, me, person, caller, days, ctx.now)
    names = day_names(days)
    show_menu(ctx, _("Done: {caller} will phone {name} every {days}. {caller} gets a reminder with the number on "
                     "those days.", caller=caller.first_name or "?", name=person.first_name or "?", days=names))
    ctx.tell(caller, lambda: (_("{coordinator} asked you to phone {name} every {days}. On those days I will send you "
                                "the number, and you tell me how it went.", coordinator=me.first_name,
                                name=person.first_name or "?",
                                days=day_names(days)), []), about=person.id)


def save_round(session: Session, coordinator: Person, person: Person, caller: Person, days: list[int],
               now: datetime) -> CheckinPlan:
    """The person's round plan, created or changed (one per person). The round has an empty
    ladder: its follow-up is the caller's FollowUp, not retries."""
    return save_plan(session, person, neighbourhood_id=person.neighbourhood_id, channel="round", kind="round",
                     days=days, time_local=ROUND_TIME, now=now, caller=caller, coordinator=coordinator, ladder=[],
                     consent_how="agreed to weekly calls; confirmed in the chat by the coordinator",
                     consent_by=coordinator.first_name or "", actor_id=coordinator.id)

