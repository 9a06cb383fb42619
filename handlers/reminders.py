"""Reminders around a task, so that a claimed request does not depend on anyone's memory.

After a claim the volunteer says when they will come (a day, then a part of the day or a typed
time: "14:30", "morgen om 10 uur"); that is ``HelpRequest.visit_at``. A one-time doorstep word
in the requester's language (``locales/lexicon/<lang>/doorstep.txt``) is shown to both, so that
nobody posing as a volunteer gets in. Everything that falls due later is a ``Timer`` row
(key ``<kind>:<request id>``), written where the request is created, claimed or given a visit
time, cancelled where it is handed back, cancelled or done, and sent by ``@sweep("timers")``:
the evening before and one hour before (the volunteer), "did it happen?" (both), an unclaimed
request (the coordinators, once) and "is help still needed?" (the requester).
"""
from __future__ import annotations

import logging
import random
import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.actions import action
from handlers.alerts import decorate, open_alert
from handlers.core import Answer, Context, Notifier, Option, clean_text
from handlers.i18n import DEFAULT_LANGUAGE, _, format_day, format_time, ngettext, normalise_language
from handlers.labels import category, request_line
from handlers.lexicon import DIGITS, directory, fold_words, read_lines
from handlers.menu import show_menu
from handlers.payloads import Payload
from handlers.quiet import after_quiet, over_weekly_cap
from handlers.steps import step
from handlers.sweeps import claim, sweep
from handlers.when import read as read_when
from models import HelpRequest, Person
from models.base import TZ
from models.plan_times import local_instant
from models.network import coordinators_of
from models.schedules import Timer

log = logging.getLogger("buurtbot.reminders")

#: Set by the scheduler's runner from the settings (UNCLAIMED_ALERT_HOURS, STILL_NEEDED_DAYS).
UNCLAIMED_HOURS = 24
STILL_NEEDED_DAYS = 3
#: The times the part-of-day buttons stand for (local, Brussels).
PART_TIMES = {"morning": time(10, 0), "afternoon": time(14, 0), "evening": time(18, 0)}
EVENING_BEFORE = time(19, 0)
HOUR_BEFORE = timedelta(hours=1)
HAPPENED_AFTER = timedelta(hours=2)
#: Day buttons: today, tomorrow and the days after, this many in all.
DAY_BUTTONS = 7
#: How far ahead a typed day may be.
MAX_DAYS_AHEAD = 60
VISIT_KINDS = ("evening", "hour", "happened")
OPEN_KINDS = ("unclaimed", "still_needed")
KIND = "rm"

_random = random.SystemRandom()


# ---- the doorstep word ----------------------------------------------------------------------

@lru_cache(maxsize=32)
def _words(folder: Path, language: str) -> tuple[str, ...]:
    return tuple(read_lines(folder / "lexicon" / language / "doorstep.txt"))


def doorstep_word(language: str | None) -> str:
    """A random word from the language's list (else the default language's)."""
    lang = normalise_language(language) or DEFAULT_LANGUAGE
    words = _words(directory(), lang) or _words(directory(), DEFAULT_LANGUAGE)
    return _random.choice(words)


def word_line(name: str, word: str | None) -> str:
    """What the requester hears about the word (said by name: no he or she to get wrong)."""
    return _("{name} will say the word “{word}” at your door.", name=name, word=word) if word else ""


# ---- times ------------------------------------------------------------------------------------

def day_words(day: date, today: date) -> str:
    if day == today:
        return _("today")
    if day == today + timedelta(days=1):
        return _("tomorrow")
    return format_day(day)


def _first_upper(label: str) -> str:
    """A button label: "Morgen", "Woensdag 9 december" (the same words start a sentence's middle)."""
    return label[:1].upper() + label[1:]


def visit_words(at: datetime, now: datetime) -> str:
    """"tomorrow at 10:00", "woensdag 9 december om 14:00" -- in the current language."""
    day, today = at.astimezone(TZ).date(), now.astimezone(TZ).date()
    if day == today:
        return _("today at {time}", time=format_time(at))
    if day == today + timedelta(days=1):
        return _("tomorrow at {time}", time=format_time(at))
    return _("{day} at {time}", day=format_day(day), time=format_time(at))


#: "14:30", "14.30", "14h30", "10u30", "10u", "14h", "10 uur", "10 heures", "2 pm".
_TIME = re.compile(r"(?<![\d/.,:-])(\d{1,2})\s?(?:[:.hu]\s?(\d{2})(?![\d/.])|(?:h|u|uur|heures?|hrs?|uhr|o'?clock)\b"
                   r"|(am|pm)\b)", re.IGNORECASE)


def read_visit(text: str, language: str | None, today: date) -> tuple[date | None, time | None]:
    """A typed day and time: ("morgen om 10 uur") -> (tomorrow, 10:00); a part of the day
    ("dinsdagnamiddag") stands for its time (PART_TIMES)."""
    raw = (text or "").translate(DIGITS)
    found, at = _TIME.search(raw), None
    if found:
        hour, minute = int(found.group(1)), int(found.group(2) or 0)
        if found.group(3):
            hour = hour % 12 + (12 if found.group(3).lower() == "pm" else 0)
        if hour <= 23 and minute <= 59:
            at = time(hour, minute)
        raw = raw[:found.start()] + " " + raw[found.end():]  # "14.30" is no date
    when = read_when(raw, fold_words(raw), [normalise_language(language) or DEFAULT_LANGUAGE], today)
    day = when.day if when.day is not None and 0 <= (when.day - today).days <= MAX_DAYS_AHEAD else None
    if at is None and when.part:
        at = PART_TIMES[when.part]
    return day, at


# ---- timers -----------------------------------------------------------------------------------

def _arm(session: Session, kind: str, req: HelpRequest, due: datetime, *, once: bool = False) -> None:
    """Write (or re-arm) the timer ``<kind>:<request id>``; ``once``: never again after it was sent."""
    key = f"{kind}:{req.id}"
    timer = session.scalar(select(Timer).where(Timer.key == key))
    if timer is None:
        session.add(Timer(key=key, kind=kind, due_at=due, request_id=req.id))
    elif not (once and timer.status == "done"):
        timer.due_at, timer.status, timer.done_at, timer.lease_until = due, "pending", None, None


def cancel_timers(session: Session, request_id: int, kinds=VISIT_KINDS + OPEN_KINDS) -> None:
    session.execute(update(Timer).where(Timer.request_id == request_id, Timer.status == "pending",
                                        Timer.kind.in_(list(kinds))).values(status="cancelled", lease_until=None))


def request_opened(session: Session, req: HelpRequest, now: datetime) -> None:
    """A request is waiting for a volunteer (created, or handed back): the coordinators hear
    of it if nobody takes it, the requester is asked whether it is still needed."""
    if req.status != "open":
        return
    _arm(session, "unclaimed", req, now + timedelta(hours=UNCLAIMED_HOURS), once=True)
    _arm(session, "still_needed", req, now + timedelta(days=STILL_NEEDED_DAYS), once=True)


def arm_visit(session: Session, req: HelpRequest, now: datetime) -> None:
    """The reminders of a visit: the evening before (not for a visit the same day, nor once
    that evening has passed), one hour before (if still ahead), "did it happen?" after."""
    visit = req.visit_at
    cancel_timers(session, req.id, VISIT_KINDS)
    evening = local_instant(visit.astimezone(TZ).date() - timedelta(days=1), EVENING_BEFORE)
    if visit.astimezone(TZ).date() != now.astimezone(TZ).date() and evening > now:
        _arm(session, "evening", req, evening)
    if visit - HOUR_BEFORE > now:
        _arm(session, "hour", req, visit - HOUR_BEFORE)
    _arm(session, "happened", req, visit + HAPPENED_AFTER)


def claimed(session: Session, req: HelpRequest) -> None:
    """Just claimed: a new doorstep word (the last volunteer's is no longer valid), and the
    timers of an open request are over."""
    req.doorstep_word = doorstep_word(req.requester.language if req.requester else None)
    cancel_timers(session, req.id, OPEN_KINDS)


def handed_back(session: Session, req: HelpRequest, now: datetime) -> None:
    req.visit_at, req.doorstep_word = None, None
    cancel_timers(session, req.id, VISIT_KINDS)
    request_opened(session, req, now)


def closed(session: Session, req: HelpRequest) -> None:
    """Done or cancelled: nothing more to remind."""
    cancel_timers(session, req.id)


# ---- asking the volunteer when ------------------------------------------------------------

def _payload(what: str, *args) -> str:
    return payloads.pick(KIND, ":".join((what, *(str(a) for a in args))))


def ask_when(ctx: Context, req: HelpRequest) -> None:
    """Right after the claim: the day (or, when the request names one, straight to the time)."""
    word = _("Say the word “{word}” at the door.", word=req.doorstep_word) if req.doorstep_word else ""
    today = ctx.now.astimezone(TZ).date()
    if req.due_date is not None and req.due_date >= today:
        ask_time(ctx, req, req.due_date, intro=word)
    else:
        ask_day(ctx, req, intro=word)


def ask_day(ctx: Context, req: HelpRequest, intro: str = "") -> None:
    today = ctx.now.astimezone(TZ).date()
    days = [today + timedelta(days=n) for n in range(DAY_BUTTONS)]
    ctx.goto("remind.day", request_id=req.id)
    text = _("When will you go? Choose a day, or type it, for example “tomorrow at 14:30”.")
    ctx.say((intro + "\n\n" if intro else "") + text,
            [Option(_first_upper(day_words(d, today)), _payload("day", d.strftime("%Y%m%d"), req.id)) for d in days]
            + [Option(_("Menu"), "menu")])


def ask_time(ctx: Context, req: HelpRequest, day: date, intro: str = "") -> None:
    today = ctx.now.astimezone(TZ).date()
    parts = [Option(_("Morning (10:00)"), "morning"), Option(_("Afternoon (14:00)"), "afternoon"),
             Option(_("Evening (18:00)"), "evening")]
    options = [Option(o.label, _payload("at", f"{day:%Y%m%d}{PART_TIMES[o.payload]:%H%M}", req.id)) for o in parts
               if local_instant(day, PART_TIMES[o.payload]) > ctx.now]
    ctx.goto("remind.time", request_id=req.id, day=day.isoformat())
    text = _("At what time {day}? Choose, or type a time, for example 14:30.", day=day_words(day, today))
    ctx.say((intro + "\n\n" if intro else "") + text,
            options + [Option(_("Another day"), _payload("days", req.id)), Option(_("Menu"), "menu")])


def _my_task(ctx: Context, request_id) -> HelpRequest | None:
    req = ctx.session.get(HelpRequest, request_id) if request_id is not None else None
    if req is None or req.status != "claimed" or ctx.person is None or req.claimed_by_id != ctx.person.id:
        return None
    return req


def set_visit(ctx: Context, req: HelpRequest, at: datetime) -> None:
    """The volunteer's answer: stored, the reminders written, both told (the word again)."""
    if at <= ctx.now:
        ctx.say(_("That time has already passed."))
        ask_day(ctx, req)
        return
    req.visit_at = at
    arm_visit(ctx.session, req, ctx.now)
    volunteer, requester, now = ctx.person, req.requester, ctx.now
    name = requester.first_name if requester and requester.first_name else "-"
    show_menu(ctx, _("Thank you! {name} will know you are coming {when}. I will remind you the evening before and an "
                     "hour before.", name=name, when=visit_words(at, now))
              + ("\n" + _("Say the word “{word}” at the door.", word=req.doorstep_word) if req.doorstep_word else ""))
    if requester is not None:
        ctx.tell(requester, lambda: (
            _("{name} is coming {when} for request #{id}.", name=volunteer.first_name, when=visit_words(at, now),
              id=req.id) + " " + word_line(volunteer.first_name, req.doorstep_word),
            [Option(_("Message {name}", name=volunteer.first_name), payloads.message(req.id)),
             Option(_("Menu"), "menu")]), about=volunteer.id)


def _typed_visit(ctx: Context, answer: Answer, req: HelpRequest, day: date | None) -> None:
    today = ctx.now.astimezone(TZ).date()
    said_day, at = read_visit(clean_text(answer.text, 200), ctx.person.language, today)
    day = said_day or day
    if day is not None and at is not None:
        set_visit(ctx, req, local_instant(day, at))
    elif at is not None:  # a time alone: the next one (today, or tomorrow once it has passed)
        instant = local_instant(today, at)
        set_visit(ctx, req, instant if instant > ctx.now else local_instant(today + timedelta(days=1), at))
    elif said_day is not None:
        ask_time(ctx, req, said_day)
    else:
        if answer.text.strip():
            ctx.say(_("Sorry, I could not read that. Type for example “tomorrow at 14:30”, or choose a button."))
        if day is not None:
            ask_time(ctx, req, day)
        else:
            ask_day(ctx, req)


@step("remind.day")
def on_day(ctx: Context, answer: Answer) -> None:
    req = _my_task(ctx, ctx.data("request_id"))
    if req is None:
        show_menu(ctx)
        return
    _typed_visit(ctx, answer, req, None)


@step("remind.time")
def on_time(ctx: Context, answer: Answer) -> None:
    req = _my_task(ctx, ctx.data("request_id"))
    if req is None:
        show_menu(ctx)
        return
    _typed_visit(ctx, answer, req, date.fromisoformat(ctx.data("day")))


@action(KIND)
def on_button(ctx: Context, p: Payload) -> None:
    """``rm:day:<yyyymmdd>:<req>``, ``rm:at:<yyyymmddHHMM>:<req>``, ``rm:days:<req>`` (the
    volunteer's visit); ``rm:did|didnt:<req>`` (did it happen?); ``rm:need|noneed:<req>``."""
    what = p.args[0] if p.args else ""
    if what in ("did", "didnt") and len(p.args) == 2:
        happened(ctx, p.record_id, what == "did")
        return
    if what in ("need", "noneed") and len(p.args) == 2:
        still_needed(ctx, p.record_id, what == "need")
        return
    req = _my_task(ctx, p.record_id)
    if req is None:
        from handlers.tasks import refuse

        refuse(ctx)
        return
    try:
        if what == "day" and len(p.args) == 3:
            ask_time(ctx, req, datetime.strptime(p.args[1], "%Y%m%d").date())
        elif what == "at" and len(p.args) == 3:
            set_visit(ctx, req, datetime.strptime(p.args[1], "%Y%m%d%H%M").replace(tzinfo=TZ)
                      .astimezone(timezone.utc))
        else:
            ask_day(ctx, req)
    except ValueError:  # a malformed date in a forged payload
        ask_day(ctx, req)


# ---- answers to the timers' questions -------------------------------------------------------

def happened(ctx: Context, request_id: int | None, yes: bool) -> None:
    from handlers import tasks

    req = ctx.session.get(HelpRequest, request_id) if request_id is not None else None
    p = ctx.person
    if req is None or p.id not in (req.claimed_by_id, req.requester_id) or req.status not in ("claimed", "done"):
        tasks.refuse(ctx)
        return
    if not yes:
        _alert_not_happened(ctx, req)
        show_menu(ctx, _("Thank you for letting us know. The coordinator will get in touch."))
        return
    if req.status == "done":
        show_menu(ctx, _("Thank you! Request #{id} is already closed.", id=req.id))
        return
    tasks.do_done(ctx, str(req.id))  # the existing path: the other one is told (and the requester invited to thank)
    if p.id == req.requester_id and req.claimed_by is not None:
        ctx.say(_("Would you like to send {name} a thank-you?", name=req.claimed_by.first_name),
                [Option(_("Send a thank-you"), payloads.thanks(req.id)), Option(_("Menu"), "menu")])


def _alert_not_happened(ctx: Context, req: HelpRequest) -> None:
    from handlers.signals import alert_coordinators

    who = ctx.person.first_name
    alert_coordinators(ctx, lambda: _("{name} says the visit for request #{id} did not happen:\n{line}", name=who,
                                      id=req.id, line=request_line(req)),
                       about=req.requester_id, kind="visit", subject=req.requester)


def still_needed(ctx: Context, request_id: int | None, yes: bool) -> None:
    from handlers import tasks

    req = ctx.session.get(HelpRequest, request_id) if request_id is not None else None
    if req is None or req.requester_id != ctx.person.id or req.status != "open":
        tasks.refuse(ctx)
        return
    if yes:
        show_menu(ctx, _("All right, request #{id} stays open. We keep looking for someone.", id=req.id))
    else:
        tasks.do_cancel(ctx, str(req.id))


# ---- the sweep --------------------------------------------------------------------------------

def _due(now: datetime):
    return select(Timer).where(Timer.status == "pending", Timer.due_at <= now).order_by(Timer.due_at, Timer.id)


@sweep("timers")
def sweep_timers(session: Session, now: datetime) -> int:
    """Send the due timers (each once: its status and outbox keys say so)."""
    timers = claim(session, _due(now), Timer, now)
    for timer in timers:
        _fire(session, timer, now)
    if timers:  # the lease was written past the ORM: released the same way (a postponed timer is free again)
        session.execute(update(Timer).where(Timer.id.in_([t.id for t in timers])).values(lease_until=None)
                        .execution_options(synchronize_session=False))
    return len(timers)


def _fire(session: Session, timer: Timer, now: datetime) -> None:
    req = session.get(HelpRequest, timer.request_id) if timer.request_id is not None else None
    audience = _audience(session, timer, req, now)
    if audience is None:
        timer.status = "cancelled"  # its moment is over (claimed, done, cancelled, expired)
        return
    if not audience:
        timer.status = "missed"
        return
    later = max(after_quiet(session, person, now) for person in audience)
    if later > now:
        timer.due_at = later  # after the quiet hours
        return
    capped = timer.kind != "unclaimed"  # a coordinator's work is no reminder to them
    reached = [p for p in audience if not (capped and over_weekly_cap(session, p, now))]
    timer.done_at = now
    if not reached:
        timer.status = "skipped"
        log.info("timer %s (%s) skipped: weekly cap", timer.id, timer.kind)
        return
    notifier = Notifier(session, f"timer:{timer.id}", now=now)
    SENDERS[timer.kind](session, notifier, req, reached, now)
    timer.status = "done"
    notifier.write()


def _audience(session: Session, timer: Timer, req: HelpRequest | None, now: datetime) -> list[Person] | None:
    """Who hears this timer; None when it no longer applies; [] when its moment has passed."""
    if req is None:
        return None
    if timer.kind in OPEN_KINDS:
        if req.status != "open":
            return None
        if timer.kind == "unclaimed":
            return coordinators_of(session, req.neighbourhood_id)
        return [req.requester] if req.requester else []
    if req.status != "claimed" or req.visit_at is None or req.claimed_by is None:
        return None
    if timer.kind == "happened":
        return [p for p in (req.claimed_by, req.requester) if p is not None]
    if now >= req.visit_at or (timer.kind == "evening" and now.astimezone(TZ).date() >= req.visit_at.astimezone(TZ)
                               .date()):
        return []
    return [req.claimed_by]


def _remind(notifier: Notifier, req: HelpRequest, people: list[Person], now: datetime, soon: bool) -> None:
    name = req.requester.first_name if req.requester and req.requester.first_name else "-"

    def render():
        text = (_("Reminder: in an hour, at {time}, {name} expects you for request #{id} ({category}).",
                  time=format_time(req.visit_at), name=name, id=req.id, category=category(req.category)) if soon else
                _("Reminder: {name} expects you {when} for request #{id} ({category}).",
                  name=name, when=visit_words(req.visit_at, now), id=req.id, category=category(req.category)))
        if req.doorstep_word:
            text += "\n" + _("Say the word “{word}” at the door.", word=req.doorstep_word)
        return text, [Option(_("Send a message"), payloads.message(req.id)),
                      Option(_("Change the time"), _payload("days", req.id)),
                      Option(_("Hand back"), payloads.hand_back(req.id))]

    notifier.tell_all(people, render, about=req.requester_id, purpose="reminder")


def _ask_happened(session: Session, notifier: Notifier, req: HelpRequest, people: list[Person],
                  now: datetime) -> None:
    volunteer, requester = req.claimed_by, req.requester
    options = [Option(_("Yes"), _payload("did", req.id)), Option(_("No"), _payload("didnt", req.id))]
    for person in people:
        if person.id == volunteer.id:
            name = requester.first_name if requester and requester.first_name else "-"
            notifier.tell(person, lambda: (_("Did your visit to {name} for request #{id} happen?", name=name,
                                             id=req.id), options), about=req.requester_id, purpose="reminder")
        else:
            notifier.tell(person, lambda: (_("Did {name} come for request #{id}?", name=volunteer.first_name,
                                             id=req.id), options), about=volunteer.id, purpose="reminder")


def _tell_unclaimed(session: Session, notifier: Notifier, req: HelpRequest, people: list[Person],
                    now: datetime) -> None:
    alert = open_alert(session, req.requester, "unclaimed")
    hours = UNCLAIMED_HOURS
    notifier.tell_all(people, lambda: decorate(alert, ngettext(
        "Request #{id} has not been taken by anyone for {n} hour:\n{line}",
        "Request #{id} has not been taken by anyone for {n} hours:\n{line}", hours, id=req.id, line=request_line(req)),
        []), about=req.requester_id, purpose="reminder", even_if_paused=True)


def _ask_still_needed(session: Session, notifier: Notifier, req: HelpRequest, people: list[Person],
                      now: datetime) -> None:
    notifier.tell_all(people, lambda: (
        _("Nobody has taken your request #{id} ({category}) yet. Is help still needed?", id=req.id,
          category=category(req.category)),
        [Option(_("Yes, still needed"), _payload("need", req.id)),
         Option(_("No, not any more"), _payload("noneed", req.id))]), about=req.requester_id, purpose="reminder")


def _remind_evening(session: Session, notifier: Notifier, req: HelpRequest, people: list[Person],
                    now: datetime) -> None:
    _remind(notifier, req, people, now, soon=False)


def _remind_hour(session: Session, notifier: Notifier, req: HelpRequest, people: list[Person], now: datetime) -> None:
    _remind(notifier, req, people, now, soon=True)


SENDERS = {"evening": _remind_evening, "hour": _remind_hour, "happened": _ask_happened, "unclaimed": _tell_unclaimed,
           "still_needed": _ask_still_needed}
