"""/checkin: a short hello every week, always opted into.

A resident without a plan is asked whether they would like one (yes/no), then the days, the
time and how (this chat, or a phone call -- then their number), and confirms; with a plan,
/checkin shows it (days, time, how, the next hello in Brussels time) with change, pause (until
a day, or until they say), resume and stop. Their consent is recorded as "self, in chat", by
them, now.

A coordinator enrols someone who has only a landline or a basic phone (coordinator menu):
first name, phone, language, how (a call, SMS, WhatsApp), days, time, and how that person
agreed -- the same plan as `buurtbot checkin add` makes (models/plans.py).

Buttons: ``plan`` (show), ``plan:change|pause|resume|stop|enrol`` work from anywhere (a menu
pressed hours later) and check the plan themselves; the answers to the questions are
``pl:<what>:<value>``.
"""
from __future__ import annotations

from datetime import date, timedelta

from handlers import payloads
from handlers.actions import action, command
from handlers.alerts import parse_phone
from handlers.answers import fold
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import LANGUAGES, _, format_day, normalise_language
from handlers.lexicon import command_name
from handlers.menu import show_menu
from handlers.payloads import Payload
from handlers.plan_days import day_names, read_days, read_time
from handlers.steps import step
from handlers.tasks import refuse
from handlers.when import numeric_date
from handlers.when import read as read_when
from models import Person
from models.plans import (EARLIEST, LATEST, PlanError, current_plan, ensure_identity, find_person, in_the_day,
                          is_paused, local_day, pause, resume, save_plan, stop)

SHOW = "plan"
#: Parts of the day as buttons, and as words ("'s ochtends", "le matin").
PART_TIMES = {"morning": "10:00", "afternoon": "14:00", "evening": "18:00"}
#: How a coordinator may have someone reached: no chat address is known for them yet.
ENROL_CHANNELS = ("voice", "sms", "whatsapp")
#: What a coordinator's enrolment has asked before each of its questions.
ENROL_KEYS = ("name", "phone", "language", "channel")
_ENROL_ORDER = {"plan.c.name": 0, "plan.c.phone": 1, "plan.c.language": 2, "plan.c.channel": 3}


def _lost(ctx: Context, *keys: str) -> bool:
    """A question whose earlier answers are gone (an old or walked-away conversation): its
    flow starts again instead of failing. A coordinator's questions also check the role."""
    other = ctx.data("who") == "other" or ctx.state.step.startswith("plan.c.")
    if other:
        if not _coordinates(ctx):
            return True
        keys = (*ENROL_KEYS[:_ENROL_ORDER.get(ctx.state.step, len(ENROL_KEYS))], *keys)
    if all(ctx.data(k) not in (None, "", []) for k in keys):
        return False
    if other:
        enrol_start(ctx)
    else:
        show(ctx)
    return True


def _pl(what: str, value: object) -> str:
    return payloads.pick("pl", f"{what}:{value}")


def _checkin_word(ctx: Context) -> str:
    return "/" + command_name("checkin", ctx.person.language if ctx.person else None)


# ---- what a plan looks like to its person ------------------------------------------------------
def how_label(channel: str, phone: str | None) -> str:
    return {
        "voice": lambda: _("a phone call to {phone}", phone=phone or "-"),
        "round": lambda: _("a phone call from a neighbour"),
        "sms": lambda: _("by SMS"),
        "whatsapp": lambda: _("on WhatsApp"),
        "telegram": lambda: _("on Telegram"),
        "demo": lambda: _("in this chat"),
    }.get(channel, lambda: channel)()


def days_label(days: list[int] | tuple[int, ...]) -> str:
    days = sorted(days)
    if days == list(range(7)):
        return _("every day")
    if days == list(range(5)):
        return _("Monday to Friday")
    return day_names(days)


def summary(days, time_local: str, how: str) -> str:
    return _("Days: {days}\nTime: {time}\nHow: {how}", days=days_label(days), time=time_local, how=how)


# ---- /checkin and the plan's buttons -------------------------------------------------------------
@command("checkin")
def on_command(ctx: Context) -> None:
    show(ctx)


@action("plan")
def on_button(ctx: Context, p: Payload) -> None:
    what = p.args[0] if p.args else ""
    if what == "enrol":
        enrol_start(ctx)
        return
    if not what:
        show(ctx)
        return
    plan = current_plan(ctx.session, ctx.person.id, "checkin")
    if plan is None or what not in ("change", "pause", "resume", "stop"):
        show(ctx)  # the plan is gone (stopped elsewhere): what there is now
        return
    if what == "change":
        ask_days(ctx, who="self")
    elif what == "pause":
        ask_pause(ctx)
    elif what == "resume":
        resume(ctx.session, plan, ctx.now, actor_id=ctx.person.id)
        show_menu(ctx, _("Welcome back! The next hello comes on {when}.", when=format_day(plan.next_due_at)))
    else:
        stop(ctx.session, plan, actor_id=ctx.person.id)
        show_menu(ctx, _("Stopped: no more weekly hellos. Type {command} if you would like them again.",
                         command=_checkin_word(ctx)))


def show(ctx: Context) -> None:
    """The plan with what can be done with it, or the question whether they would like one."""
    if ctx.person.neighbourhood_id is None:
        refuse(ctx)
        return
    plan = current_plan(ctx.session, ctx.person.id, "checkin")
    if plan is None:
        ctx.goto("plan.optin")
        ctx.say(_("Would you like a short hello every week? On the days and at the time you choose, someone from "
                  "the neighbourhood asks how you are, and you answer with one number. You can pause or stop it "
                  "at any time."),
                [Option(_("Yes, please"), payloads.YES), Option(_("No, thank you"), payloads.NO)])
        return
    lines = [_("Your weekly hello:"), summary(plan.days, plan.time_local, how_label(plan.channel, ctx.person.phone))]
    options = [Option(_("Change"), payloads.pick(SHOW, "change"))]
    if plan.status == "paused" and plan.paused_until is None:
        lines.append(_("Paused until you resume it."))
    elif is_paused(plan, ctx.now):
        lines.append(_("Paused until {day}.", day=format_day(plan.paused_until)))
    elif plan.next_due_at is not None:
        lines.append(_("Next hello: {when}", when=format_day(plan.next_due_at)))
    if is_paused(plan, ctx.now):
        options.append(Option(_("Resume"), payloads.pick(SHOW, "resume")))
    else:
        options.append(Option(_("Pause"), payloads.pick(SHOW, "pause")))
    options += [Option(_("Stop"), payloads.pick(SHOW, "stop")), Option(_("Menu"), payloads.MENU)]
    ctx.clear()
    ctx.say("\n".join(lines), options)


@step("plan.optin")
def on_optin(ctx: Context, answer: Answer) -> None:
    if answer.is_(payloads.YES):
        ask_days(ctx, who="self")
    elif answer.is_(payloads.NO):
        show_menu(ctx, _("All right. Type {command} if you change your mind.", command=_checkin_word(ctx)))
    else:
        show(ctx)


# ---- days and time (the resident's and the coordinator's questions) ------------------------------
def ask_days(ctx: Context, who: str | None = None, intro: str | None = None) -> None:
    """``who``: "self" starts the resident's own questions afresh; None goes on with the ones asked so far."""
    if who:
        ctx.clear()
    ctx.goto("plan.days", **({"who": who} if who else {}))
    ctx.say((intro + "\n" if intro else "") + _("On which days? Choose, or type them (for example: monday and "
                                                "thursday)."),
            [Option(_("Monday and Thursday"), _pl("days", "0-3")), Option(_("Monday"), _pl("days", "0")),
             Option(_("Mon, Wed and Fri"), _pl("days", "0-2-4")),
             Option(_("Monday to Friday"), _pl("days", "0-1-2-3-4")),
             Option(_("Every day"), _pl("days", "0-1-2-3-4-5-6"))])


@step("plan.days")
def on_days(ctx: Context, answer: Answer) -> None:
    if _lost(ctx):
        return
    chosen = answer.arg("pl")
    days: list[int] = []
    if chosen and chosen.startswith("days:"):
        days = sorted({int(d) for d in chosen[5:].split("-") if d.isdecimal() and int(d) < 7})
    elif answer.text and not answer.payload:
        days, _unknown = read_days(answer.text, (ctx.person.language,))
    if not days:
        ask_days(ctx, intro=_("I did not find a day in that.") if answer.text or answer.payload else None)
        return
    ctx.goto("plan.time", days=days)
    ask_time(ctx)


def ask_time(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("plan.time")
    ctx.say((intro + "\n" if intro else "") + _("At what time? Choose, or type a time (for example 10:00)."),
            [Option(_("Morning (10:00)"), _pl("time", "1000")), Option(_("Afternoon (14:00)"), _pl("time", "1400")),
             Option(_("Evening (18:00)"), _pl("time", "1800"))])


@step("plan.time")
def on_time(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days"):
        return
    chosen = answer.arg("pl")
    time_local = None
    if chosen and chosen.startswith("time:") and len(chosen) == 9 and chosen[5:].isdecimal():
        time_local = f"{chosen[5:7]}:{chosen[7:]}"
    elif answer.text and not answer.payload:
        time_local = read_time(answer.text)
        if time_local is None:
            part = read_when(answer.text, fold(answer.text), [ctx.person.language], local_day(ctx.now)).part
            time_local = PART_TIMES.get(part)
    if time_local is None or not in_the_day(time_local):
        intro = _("Please choose a time between {start} and {end}.", start=EARLIEST, end=LATEST) \
            if answer.text or answer.payload else None
        ask_time(ctx, intro)
        return
    ctx.goto("plan.time", time=time_local)
    if ctx.data("who") == "other":
        ask_consent(ctx)
    else:
        ask_channel(ctx)


# ---- the resident's own plan -----------------------------------------------------------------------
def ask_channel(ctx: Context) -> None:
    ctx.goto("plan.channel")
    ctx.say(_("How shall we say hello?"),
            [Option(_("In this chat"), _pl("chan", "chat")), Option(_("A phone call"), _pl("chan", "voice"))])


@step("plan.channel")
def on_channel(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days", "time"):
        return
    chosen = answer.arg("pl")
    if chosen == "chan:chat":
        ctx.goto("plan.channel", channel=ctx.identity.channel, phone=None)
        confirm(ctx)
    elif chosen == "chan:voice":
        ask_phone(ctx)
    else:
        ask_channel(ctx)


def ask_phone(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("plan.phone")
    ctx.say((intro + "\n" if intro else "") + _("Which phone number shall we call? Type it, for example "
                                                "0470 12 34 56."))


@step("plan.phone")
def on_phone(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days", "time"):
        return
    phone = parse_phone(answer.text) if not answer.payload else None
    if phone is None:
        ask_phone(ctx, _("That does not look like a phone number.") if answer.text else None)
        return
    ctx.goto("plan.phone", channel="voice", phone=phone)
    confirm(ctx)


def confirm(ctx: Context) -> None:
    ctx.goto("plan.confirm")
    text = summary(ctx.data("days"), ctx.data("time"), how_label(ctx.data("channel"), ctx.data("phone")))
    ctx.say(text + "\n\n" + _("Shall I start?"), [Option(_("Yes"), payloads.YES), Option(_("No"), payloads.NO)])


@step("plan.confirm")
def on_confirm(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days", "time", "channel"):
        return
    if answer.is_(payloads.NO):
        show_menu(ctx, _("All right, nothing was changed. Type {command} to try again.", command=_checkin_word(ctx)))
        return
    if not answer.is_(payloads.YES):
        confirm(ctx)
        return
    person, channel, phone = ctx.person, ctx.data("channel"), ctx.data("phone")
    try:
        if channel == "voice":
            ensure_identity(ctx.session, person, "voice", phone)
            person.phone = phone
        plan = save_plan(ctx.session, person, neighbourhood_id=person.neighbourhood_id, channel=channel,
                         days=ctx.data("days"), time_local=ctx.data("time"), now=ctx.now,
                         consent_how="self, in chat", consent_by=person.first_name or "self", actor_id=person.id)
    except PlanError as exc:
        if exc.code != "taken":
            refuse(ctx)
        else:  # the number is someone else's: asked again, nothing saved
            ask_phone(ctx, _("This phone number belongs to someone else. Please type another one."))
        return
    show_menu(ctx, _("Done! Your first weekly hello comes on {when}. Type {command} to change, pause or stop it.",
                     when=format_day(plan.next_due_at), command=_checkin_word(ctx)))


# ---- pause -------------------------------------------------------------------------------------------
def ask_pause(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("plan.pause")
    ctx.say((intro + "\n" if intro else "") + _("Until when shall we pause? Choose, or type a date (for example "
                                                "24/12)."),
            [Option(_("One week"), _pl("until", 7)), Option(_("Two weeks"), _pl("until", 14)),
             Option(_("Until I say"), _pl("until", "none"))])


@step("plan.pause")
def on_pause(ctx: Context, answer: Answer) -> None:
    plan = current_plan(ctx.session, ctx.person.id, "checkin")
    if plan is None:
        show(ctx)
        return
    chosen, today = answer.arg("pl"), local_day(ctx.now)
    until: date | None = None
    if chosen == "until:none":
        pause(ctx.session, plan, None, ctx.now, actor_id=ctx.person.id)
        show_menu(ctx, _("Paused. Type {command} when you would like the hellos again.", command=_checkin_word(ctx)))
        return
    if chosen in ("until:7", "until:14"):
        until = today + timedelta(days=int(chosen[6:]))
    elif answer.text and not answer.payload:
        until = numeric_date(answer.text, today) or read_when(answer.text, fold(answer.text), [ctx.person.language],
                                                              today).day
    if until is None or until <= today:
        ask_pause(ctx, _("Please give a day after today.") if answer.text or answer.payload else None)
        return
    pause(ctx.session, plan, until, ctx.now, actor_id=ctx.person.id)
    show_menu(ctx, _("Paused until {day}. The hellos start again on that day.", day=format_day(until)))


# ---- a coordinator enrols someone -----------------------------------------------------------------
def _coordinates(ctx: Context) -> bool:
    if ctx.person.is_coordinator and ctx.person.neighbourhood_id is not None:
        return True
    refuse(ctx, _("Sorry, only coordinators can do that."))
    return False


def enrol_start(ctx: Context) -> None:
    if not _coordinates(ctx):
        return
    ctx.clear()
    ctx.goto("plan.c.name", who="other")
    ctx.say(_("A weekly hello for someone who agreed to it. What is their first name?"))


@step("plan.c.name")
def on_enrol_name(ctx: Context, answer: Answer) -> None:
    name = " ".join(clean_text(answer.text, 200).split()[:3])[:40]
    if not _coordinates(ctx):
        return
    if not name or answer.payload or not any(ch.isalpha() for ch in name):
        enrol_start(ctx)
        return
    ctx.goto("plan.c.phone", name=name)
    ask_enrol_phone(ctx)


def ask_enrol_phone(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("plan.c.phone")
    ctx.say((intro + "\n" if intro else "") + _("What is the phone number of {name}? For example 02 555 12 34.",
                                                name=ctx.data("name")))


@step("plan.c.phone")
def on_enrol_phone(ctx: Context, answer: Answer) -> None:
    if _lost(ctx):
        return
    phone = parse_phone(answer.text) if not answer.payload else None
    if phone is None:
        ask_enrol_phone(ctx, _("That does not look like a phone number.") if answer.text else None)
        return
    someone = find_person(ctx.session, phone=phone)
    if someone is not None and someone.neighbourhood_id not in (None, ctx.person.neighbourhood_id):
        ask_enrol_phone(ctx, _("This phone number belongs to someone of another neighbourhood."))
        return
    ctx.goto("plan.c.language", phone=phone)
    ask_enrol_language(ctx)


def ask_enrol_language(ctx: Context) -> None:
    ctx.goto("plan.c.language")
    ctx.say(_("In which language shall we talk to {name}?", name=ctx.data("name")),
            [Option(LANGUAGES[c], payloads.lang(c)) for c in LANGUAGES])


@step("plan.c.language")
def on_enrol_language(ctx: Context, answer: Answer) -> None:
    if _lost(ctx):
        return
    language = normalise_language(answer.arg("lang")) or next(
        (c for c, label in LANGUAGES.items() if answer.text and fold(label) == fold(answer.text)), None)
    if language is None:
        ask_enrol_language(ctx)
        return
    ctx.goto("plan.c.channel", language=language)
    ask_enrol_channel(ctx)


def ask_enrol_channel(ctx: Context) -> None:
    ctx.goto("plan.c.channel")
    ctx.say(_("How shall we reach {name}?", name=ctx.data("name")),
            [Option(_("A phone call"), _pl("chan", "voice")), Option(_("SMS"), _pl("chan", "sms")),
             Option(_("WhatsApp"), _pl("chan", "whatsapp"))])


@step("plan.c.channel")
def on_enrol_channel(ctx: Context, answer: Answer) -> None:
    if _lost(ctx):
        return
    chosen = answer.arg("pl") or ""
    channel = chosen[5:] if chosen.startswith("chan:") else None
    if channel not in ENROL_CHANNELS:
        ask_enrol_channel(ctx)
        return
    ctx.goto("plan.c.channel", channel=channel)
    ask_days(ctx)


def ask_consent(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("plan.c.consent")
    ctx.say((intro + "\n" if intro else "") + _("How did {name} agree to this? Type it in a few words, for example: "
                                                "by phone with me.", name=ctx.data("name")))


@step("plan.c.consent")
def on_consent(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days", "time"):
        return
    how = clean_text(answer.text, 200) if not answer.payload else ""
    if len(how) < 3 or not any(ch.isalpha() for ch in how):
        ask_consent(ctx)
        return
    ctx.goto("plan.c.confirm", consent=how)
    enrol_confirm(ctx)


def enrol_confirm(ctx: Context) -> None:
    ctx.goto("plan.c.confirm")
    text = _("A weekly hello for {name} ({phone}):", name=ctx.data("name"), phone=ctx.data("phone")) + "\n" + \
        summary(ctx.data("days"), ctx.data("time"), how_label(ctx.data("channel"), ctx.data("phone"))) + "\n" + \
        _("Agreed: {how}", how=ctx.data("consent"))
    ctx.say(text + "\n\n" + _("Save it?"), [Option(_("Yes"), payloads.YES), Option(_("No"), payloads.NO)])


@step("plan.c.confirm")
def on_enrol_confirm(ctx: Context, answer: Answer) -> None:
    if _lost(ctx, "days", "time", "consent"):
        return
    if answer.is_(payloads.NO):
        show_menu(ctx, _("All right, nothing was saved."))
        return
    if not answer.is_(payloads.YES):
        enrol_confirm(ctx)
        return
    coordinator, phone, channel = ctx.person, ctx.data("phone"), ctx.data("channel")
    nb_id = coordinator.neighbourhood_id
    person = find_person(ctx.session, phone=phone)
    try:
        if person is not None and person.neighbourhood_id not in (None, nb_id):
            raise PlanError("taken", "another neighbourhood")
        if person is None:
            person = Person(neighbourhood_id=nb_id, first_name=ctx.data("name"), language=ctx.data("language"),
                            is_resident=True, consent_version="checkin")
            ctx.session.add(person)
            ctx.session.flush()
        person.neighbourhood_id, person.phone = nb_id, phone
        ensure_identity(ctx.session, person, channel, phone)
        plan = save_plan(ctx.session, person, neighbourhood_id=nb_id, channel=channel, days=ctx.data("days"),
                         time_local=ctx.data("time"), now=ctx.now, consent_how=ctx.data("consent"),
                         consent_by=coordinator.first_name or "coordinator", coordinator=coordinator,
                         sender_name=coordinator.first_name or None, actor_id=coordinator.id)
    except PlanError:
        refuse(ctx, _("This phone number belongs to someone of another neighbourhood."))
        return
    show_menu(ctx, _("Saved. The first hello to {name} comes on {when}.", name=person.first_name,
                     when=format_day(plan.next_due_at)), about=person.id)
