"""What a coordinator sees of the check-ins and rounds: who has not been reached this week, at
a glance, and one person's whole timeline.

"This week" is Monday 00:00 in Brussels until now. Someone is reached when one of their
occurrences this week was answered (or closed by the buddy or caller who went); they are not
when their occurrences this week all lack an answer, were escalated or were missed by the
system, or when a plan of theirs fell due with no occurrence at all. First names and a few
words of what happened, never a label; a coordinator sees their own neighbourhood only.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers import payloads
from handlers.actions import action, command
from handlers.alerts import phone_of
from handlers.core import Context, Option
from handlers.i18n import N_, _, format_day, ngettext
from handlers.menu import show_menu
from handlers.rounds import coordinator_only, weekday_name
from handlers.tasks import refuse
from models import Person
from models.base import TZ
from models.plan_times import local_instant
from models.network import may_coordinate
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp
from models.tasks import week_start

WEEK = "wk"
#: People with a button of their own in the list (the list itself names everyone).
BUTTONS = 10
#: The newest events of a timeline shown (one message must stay readable).
TIMELINE = 30
#: How a buddy who looked in closes an occurrence when they saw the person (else closed means
#: not contacted at all: over the weekly cap, asked for quiet, the plan paused meanwhile).
SEEN = ("all_well", "needed_help")

#: What happened to someone not reached, as the coordinator reads it ({helper}: a first name).
WHAT = {
    "no_contact": N_("no contact this week"),
    "missed": N_("not contacted: buurtbot was down"),
    "waiting": N_("no answer yet"),
    "escalated": N_("no answer, passed to the coordinator"),
    "lookin_going": N_("no answer, {helper} is going"),
    "lookin_asked": N_("no answer, {helper} was asked to look in"),
    "callback": N_("{helper} was asked to call back"),
    "round_open": N_("{helper} has not said how the call went yet"),
    "round_later": N_("{helper} will call again later"),
    "round_worried": N_("{helper} is worried"),
    "round_no_outcome": N_("{helper} did not say how the call went"),
}
OCCURRENCE_STATUS = {
    "waiting": N_("waiting for an answer"),
    "answered": N_("answered"),
    "escalated": N_("passed on to a person"),
    "closed": N_("closed"),
    "missed_by_system": N_("missed by the system"),
}
STEPS = {
    "checkin": N_("check-in"), "retry": N_("second try"), "second_channel": N_("other channel"),
    "buddy": N_("buddy"), "coordinator": N_("coordinator"), "answer": N_("answer"), "call": N_("phone call"),
    "round": N_("phone round"), "callback": N_("call back"), "ladder": N_("follow-up"),
}
OUTCOMES = {
    "queued": N_("sent"), "ringing": N_("ringing"), "answered": N_("answered"), "completed": N_("call ended"),
    "busy": N_("busy"), "no-answer": N_("no answer"), "failed": N_("failed"), "machine": N_("answering machine"),
    "canceled": N_("cancelled"), "no-digit": N_("no key pressed"), "ok": N_("all well"),
    "call_me": N_("asked for a call"), "help": N_("asked for help"), "going": N_("is going"),
    "cant": N_("cannot go"), "all_well": N_("all well"), "needed_help": N_("needed help"),
    "nobody_opened": N_("nobody opened"), "no_ack": N_("no reply in time"), "skipped": N_("skipped"),
    "capped": N_("weekly limit reached"), "missed_by_system": N_("missed by the system"),
    "later": N_("call back later"), "worried": N_("worried"), "reminded": N_("reminded"),
    "no_outcome": N_("no outcome given"), "no_caller": N_("no caller available"),
    "unreachable": N_("could not be reached"), "nobody_to_tell": N_("no coordinator to tell"),
    "asked": N_("asked"), "nobody": N_("nobody available"), "wrote": N_("wrote a message"),
    "late": N_("too late to ask again"), "error": N_("could not be sent"), "paused": N_("paused"),
    "stopped": N_("stopped"),
}
TASKS = {"callback": N_("call back"), "lookin": N_("look in at the door"), "round": N_("phone call")}
TASK_STATUS = {"open": N_("open"), "acknowledged": N_("accepted"), "declined": N_("declined"), "done": N_("done"),
               "escalated": N_("passed on")}


def _word(table: dict[str, str], code: str | None) -> str:
    return _(table[code]) if code in table else (code or "-")


def due_this_week(plan: CheckinPlan, start: datetime, now: datetime) -> bool:
    """Whether one of the plan's days and times fell between ``start`` (Monday 00:00) and now,
    after the plan was made."""
    hours, minutes = (int(x) for x in (plan.time_local or "10:00").split(":"))
    monday = start.astimezone(TZ).date()
    for ahead in range(7):
        day = monday + timedelta(days=ahead)
        if day.weekday() in (plan.days or []):
            at = local_instant(day, time(hours, minutes))
            if start <= at <= now and (plan.created_at is None or plan.created_at <= at):
                return True
    return False


def not_reached(session: Session, neighbourhood_id: int, now: datetime) -> list[tuple[Person, str, str | None]]:
    """(person, what happened, the helper's first name) for everyone with an active plan in the
    neighbourhood who has not been reached this week, by first name."""
    start = week_start(now)
    plans = list(session.scalars(select(CheckinPlan).where(CheckinPlan.neighbourhood_id == neighbourhood_id,
                                                           CheckinPlan.status == "active")
                                 .options(selectinload(CheckinPlan.person))))
    if not plans:
        return []
    occurrences = list(session.scalars(select(CheckinOccurrence).where(
        CheckinOccurrence.plan_id.in_([p.id for p in plans]), CheckinOccurrence.due_at >= start,
        CheckinOccurrence.due_at <= now).order_by(CheckinOccurrence.due_at, CheckinOccurrence.id)))
    followups: dict[int, FollowUp] = {}
    if occurrences:
        for fu in session.scalars(select(FollowUp).where(FollowUp.occurrence_id.in_([o.id for o in occurrences]))
                                  .options(selectinload(FollowUp.assignee)).order_by(FollowUp.id)):
            followups[fu.occurrence_id] = fu  # the newest task of each occurrence
    latest: dict[int, CheckinOccurrence] = {}
    reached: set[int] = set()
    for occ in occurrences:
        latest[occ.person_id] = occ
        fu = followups.get(occ.id)
        if occ.status == "answered" or (occ.status == "closed" and fu is not None and fu.outcome in SEEN):
            reached.add(occ.person_id)
    out: dict[int, tuple[Person, str, str | None]] = {}
    for plan in plans:
        pid = plan.person_id
        if pid in reached or pid in out:
            continue
        occ = latest.get(pid)
        if occ is None:
            if due_this_week(plan, start, now):
                out[pid] = (plan.person, "no_contact", None)
            continue
        out[pid] = (plan.person, *_what(occ, followups.get(occ.id)))
    return sorted(out.values(), key=lambda row: ((row[0].first_name or "").casefold(), row[0].id))


def _what(occ: CheckinOccurrence, fu: FollowUp | None) -> tuple[str, str | None]:
    if occ.status == "missed_by_system":
        return "missed", None
    if occ.status == "closed" and (fu is None or fu.outcome not in SEEN):
        return "no_contact", None  # never said hello: over the cap, asked for quiet, paused meanwhile
    helper = fu.assignee.first_name if fu is not None and fu.assignee is not None else None
    if fu is not None and fu.kind == "round" and fu.status != "done":  # done and not answered: skipped
        if fu.outcome == "worried":
            return "round_worried", helper
        if fu.status == "escalated":
            return ("round_no_outcome", helper) if helper and fu.outcome == "no_outcome" else ("escalated", None)
        return ("round_later", helper) if fu.outcome == "later" else ("round_open", helper)
    if fu is not None and fu.kind == "lookin" and helper and fu.status in ("open", "acknowledged"):
        return ("lookin_going" if fu.status == "acknowledged" else "lookin_asked"), helper
    if fu is not None and fu.kind == "callback" and helper and fu.status in ("open", "acknowledged"):
        return "callback", helper
    return ("escalated" if occ.status == "escalated" else "waiting"), None


@command("week")
def show_week(ctx: Context) -> None:
    """/week: who has not been reached this week, numbered, with a button per person."""
    if not coordinator_only(ctx):
        return
    rows = not_reached(ctx.session, ctx.person.neighbourhood_id, ctx.now)
    if not rows:
        show_menu(ctx, _("Everyone with a check-in or a phone round was reached this week. 🌻"))
        return
    lines = [_("{number}. {name}: {what}", number=n, name=person.first_name or "?",
               what=_(WHAT[what], helper=helper or "?")) for n, (person, what, helper) in enumerate(rows, 1)]
    text = ngettext("Not reached this week (since Monday): {n} person.",
                    "Not reached this week (since Monday): {n} people.", len(rows))
    ctx.clear()
    ctx.say(text + "\n" + "\n".join(lines) + "\n\n" + _("Choose someone to see their whole timeline."),
            [Option(person.first_name or "?", payloads.pick(WEEK, str(person.id))) for person, _w, _h in rows[:BUTTONS]]
            + [Option(_("Menu"), payloads.MENU)], purge_after_send=True)  # names people: not kept after delivery


@action(WEEK)
def on_week(ctx: Context, p: payloads.Payload) -> None:
    """``wk``: the week's list; ``wk:<person id>``: that person's timeline."""
    if not p.args:
        show_week(ctx)
        return
    if not coordinator_only(ctx):
        return
    person = ctx.session.get(Person, p.record_id) if len(p.args) == 1 and p.record_id is not None else None
    if not may_coordinate(ctx.person, person):
        refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))
        return
    show_timeline(ctx, person)


def _plan_line(plan: CheckinPlan) -> str:
    days = ", ".join(weekday_name(d) for d in sorted(plan.days or [])) or "-"
    if plan.kind == "round":
        line = _("Phone round on {days}, caller: {caller}", days=days,
                 caller=plan.caller.first_name if plan.caller else "-")
    else:
        line = _("Check-in on {days} at {time} ({channel})", days=days, time=plan.time_local, channel=plan.channel)
    status = {"paused": _("paused"), "stopped": _("stopped")}.get(plan.status)
    return "• " + line + (" · " + status if status else "")


def timeline(session: Session, person: Person) -> list[tuple[datetime, str]]:
    """The person's newest events (occurrences, attempts, follow-ups), oldest first, as lines."""
    occurrences = session.scalars(select(CheckinOccurrence).where(CheckinOccurrence.person_id == person.id)
                                  .order_by(CheckinOccurrence.due_at.desc()).limit(TIMELINE))
    attempts = session.scalars(select(CheckinAttempt).where(CheckinAttempt.person_id == person.id)
                               .order_by(CheckinAttempt.at.desc(), CheckinAttempt.id.desc()).limit(TIMELINE))
    followups = session.scalars(select(FollowUp).where(FollowUp.person_id == person.id)
                                .order_by(FollowUp.created_at.desc()).limit(TIMELINE))
    events: list[tuple[datetime, int, str]] = []
    for occ in occurrences:
        what = _("phone round due") if occ.plan.kind == "round" else _("check-in due")
        events.append((occ.due_at, 0, what + " · " + _word(OCCURRENCE_STATUS, occ.status)))
    for fu in followups:
        events.append((fu.created_at, 1, _("task “{task}” for {helper}: {status}", task=_word(TASKS, fu.kind),
                                           helper=fu.assignee.first_name if fu.assignee else "-",
                                           status=_word(TASK_STATUS, fu.status))))
    for att in attempts:
        events.append((att.at, 2, _word(STEPS, att.step) + ": " + _word(OUTCOMES, att.outcome)))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(at, text) for at, _order, text in events[-TIMELINE:]]


def show_timeline(ctx: Context, person: Person) -> None:
    plans = list(ctx.session.scalars(select(CheckinPlan).where(CheckinPlan.person_id == person.id)
                                     .order_by(CheckinPlan.id)))
    head = _("Timeline of {name}", name=person.first_name or "?")
    phone = phone_of(person)
    if phone:
        head += "\n" + _("Phone: {phone}", phone=phone)
    parts = [head, "\n".join(_plan_line(p) for p in plans)]
    events = timeline(ctx.session, person)
    parts.append("\n".join(_("{when}: {what}", when=format_day(at), what=text) for at, text in events)
                 if events else _("Nothing has happened yet."))
    ctx.clear()
    ctx.say("\n\n".join(p for p in parts if p),
            [Option(_("Week overview"), WEEK), Option(_("Menu"), payloads.MENU)],
            about=person.id, purge_after_send=True)
