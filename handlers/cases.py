"""Concerns, referrals and neighbourhood problems as cases a coordinator follows up and closes
with an outcome (models/cases.py); partner referrals with consent; open referrals reminded.

Need-to-know: whoever raises a case (a resident, a volunteer, a pharmacist who is a partner) is
thanked and hears nothing more of it; only the coordinators of that neighbourhood see it, take
it, turn it into a follow-up (a visit, a call, a referral, none) and close it with an outcome.
Payloads are ``case:<what>[:<arg>...]``; every coordinator action checks the case's
neighbourhood and refuses everyone else with no change."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.actions import action, command
from handlers.alerts import PHONE_CHANNELS, parse_phone, phone_of
from handlers.core import Answer, Context, Notifier, Option, clean_text
from handlers.i18n import _, current_language, format_day
from handlers.menu import menu_options, show_menu
from handlers.quiet import after_quiet
from handlers.signals import contact_name
from handlers.steps import step
from handlers.sweeps import claim, sweep
from handlers.tasks import refuse
from models import Person
from models.audit import audit
from models.base import UTCDateTime
from models.cases import CASE_ACTIONS, Case, open_case
from models.directory import Service, service_name
from models.network import coordinators_of, newcomers_neighbourhood

#: A referral not closed with an outcome after this many days is brought back to the
#: coordinators (the runner sets it from REFERRAL_REMIND_DAYS), and again as long as it stays open.
REFERRAL_REMIND_DAYS = 7
CASE = "case"
#: Cases shown in one list (each gets a button).
PAGE = 8
#: The longest outcome a coordinator types (Case.outcome).
OUTCOME_MAX = 300


def referral_remind_at(now: datetime) -> datetime:
    """When an open referral made at ``now`` is first brought back to the coordinators."""
    return now + timedelta(days=REFERRAL_REMIND_DAYS)


def _pl(*args: object) -> str:
    return payloads.pick(CASE, ":".join(str(a) for a in args))


# ---- raising a case: a worry, a problem in the street, a partner's referral ------------------

def signal_menu(ctx: Context) -> None:
    """"A worry or a problem": what anyone may raise, and a referral for partners and key figures."""
    p = ctx.person
    options = [Option(_("Worry about someone"), _pl("new", "worried")),
               Option(_("Street problem"), _pl("new", "problem"))]
    if may_refer(p):
        options.append(Option(_("Refer someone"), _pl("new", "refer")))
    ctx.clear()
    ctx.say(_("What would you like to tell {contact}?", contact=contact_name(ctx)),
            options + [Option(_("Menu"), payloads.MENU)])


def may_refer(p: Person | None) -> bool:
    return bool(p and p.neighbourhood_id is not None and (p.is_partner or p.is_key_figure or p.is_coordinator))


def _typed_after_command(ctx: Context) -> str:
    """What followed the command word ("/worried I haven't seen ..."): the signal itself."""
    text = ctx.inbound.text or ""
    return clean_text(text.partition(" ")[2], 1000) if text.startswith("/") else ""


@command("worried")
def worried(ctx: Context) -> None:
    text = _typed_after_command(ctx)
    if text:
        report_concern(ctx, text)
        return
    ctx.goto("case.concern")
    ctx.say(_("What worries you? Tell me in a few words who it is about and what you noticed. Only {contact} will "
              "read it. If someone is in danger, call 112.", contact=contact_name(ctx)),
            [Option(_("Menu"), payloads.MENU)])


def _typed(ctx: Context, answer: Answer, ask_again, report) -> None:
    """A worry or a problem typed at its question; a button pressed instead asks again."""
    text = clean_text(answer.text, 1000) if not answer.payload else ""
    if text:
        report(ctx, text)
    else:
        ask_again(ctx)


@step("case.concern")
def on_concern(ctx: Context, answer: Answer) -> None:
    _typed(ctx, answer, worried, report_concern)


def report_concern(ctx: Context, text: str) -> None:
    """A worry about a third person (the menu, /worried, or free text read as a worry): a case
    for the coordinators of the sender's neighbourhood only, never the volunteer board."""
    ctx.clear()
    told = _raise(ctx, "concern", text)
    if told or ctx.person is None:
        ctx.say(_("Thank you for telling us. I passed this on to {contact} only; they will follow it up. If you think "
                  "someone is in danger, call 112.", contact=contact_name(ctx)), _after_options(ctx))
    else:
        _no_coordinator(ctx)
    audit(ctx.session, ctx.person.id if ctx.person else None, "signal.concern", "identity", ctx.identity.id)


@command("problem")
def problem(ctx: Context) -> None:
    text = _typed_after_command(ctx)
    if text:
        report_problem(ctx, text)
        return
    ctx.goto("case.problem")
    ctx.say(_("What is the problem, and where? For example: “The street light at the little square is broken.”"),
            [Option(_("Menu"), payloads.MENU)])


@step("case.problem")
def on_problem(ctx: Context, answer: Answer) -> None:
    _typed(ctx, answer, problem, report_problem)


def report_problem(ctx: Context, text: str) -> None:
    ctx.clear()
    if _raise(ctx, "problem", text):
        ctx.say(_("Thank you! I passed this on to {contact}, who can report it to the commune.",
                  contact=contact_name(ctx)), _after_options(ctx))
    else:
        _no_coordinator(ctx)


def pass_on_problem(ctx: Context, text: str) -> bool:
    """A street problem named in a message that also asks or offers help (handlers/dispatch.py):
    the case for the commune, said in one line -- the help asked then goes on as usual."""
    if not _raise(ctx, "problem", text):
        return False  # nobody to pass it on to: the help asked is answered, as it would be alone
    ctx.say(_("Thank you! I passed the street problem on to {contact}, who can report it to the commune.",
              contact=contact_name(ctx)))
    return True


def _after_options(ctx: Context) -> list[Option]:
    return menu_options(ctx) if ctx.person is not None else []


def _no_coordinator(ctx: Context) -> None:
    show_menu(ctx, _("Sorry, your neighbourhood has no coordinator on buurtbot yet. Please contact your "
                     "neighbourhood house directly."))


def _raise(ctx: Context, kind: str, text: str, **about) -> int:
    """Open the case in the sender's neighbourhood (a newcomer's: the one they chose, or the
    only one) and tell its coordinators -- not the sender, if they coordinate too. How many were told."""
    p = ctx.person
    nb_id = p.neighbourhood_id if p is not None else newcomers_neighbourhood(
        ctx.session, ctx.data("neighbourhood_id"), ctx.data("code"))
    if nb_id is None:
        return 0
    case = open_case(ctx.session, kind, nb_id, text=text, reporter_id=p.id if p else None, **about)
    number = ctx.identity.address if p is None and ctx.identity.channel in PHONE_CHANNELS else None
    told = tell_coordinators(ctx.notifier, case, reporter=p, number=number, exclude=p)
    # A coordinator who raises one has it on their own list of cases, also as the only coordinator.
    return told + (1 if p is not None and p.is_coordinator else 0)


def tell_coordinators(notifier: Notifier, case: Case, *, reporter: Person | None = None, number: str | None = None,
                      exclude: Person | None = None) -> int:
    """The new case to the coordinators of its neighbourhood, even if they paused messages:
    what was said, who said it and how to reach them, with "Take it" and the list."""
    session = notifier.session
    others = [c for c in coordinators_of(session, case.neighbourhood_id) if exclude is None or c.id != exclude.id]
    name = reporter.first_name if reporter is not None and reporter.first_name else None
    phone = number or phone_of(reporter)

    def render() -> tuple[str, list[Option]]:
        by = name or _("someone not yet registered")
        if case.kind == "concern":
            text = _("A worry about a neighbour, from {name}:\n“{text}”", name=by, text=case.text)
        elif case.kind == "problem":
            text = _("A problem in the neighbourhood, reported by {name}:\n“{text}”", name=by, text=case.text)
        else:
            text = _("{name} refers someone to you:", name=by) + "\n" + case_details(session, case)
        if phone:
            text += "\n" + _("Phone of {name}: {phone}", name=by, phone=phone)
        text += "\n" + _("Case #{id}", id=case.id)
        return text, [Option(_("Take it"), _pl("take", case.id)), Option(_("All cases"), _pl("list"))]

    return notifier.tell_all(others, render, about=case.person_id or (reporter.id if reporter else None),
                             purpose="alert", even_if_paused=True)


def start_referral(ctx: Context) -> None:
    if not may_refer(ctx.person):
        refuse(ctx, _("Sorry, only partners, key figures and coordinators can refer someone."))
        return
    ctx.goto("case.refer.name")
    ctx.say(_("Whom would you like to refer? Type their first name only. Please refer someone only when they have "
              "agreed to be contacted."), [Option(_("Menu"), payloads.MENU)])


@step("case.refer.name")
def on_refer_name(ctx: Context, answer: Answer) -> None:
    name = " ".join(clean_text(answer.text, 200).split()[:3])[:40] if not answer.payload else ""
    if not may_refer(ctx.person):
        start_referral(ctx)
        return
    if not name or not any(ch.isalpha() for ch in name):
        start_referral(ctx)
        return
    ctx.goto("case.refer.phone", name=name)
    ctx.say(_("On which number can {contact} call {name}?", contact=contact_name(ctx), name=name))


@step("case.refer.phone")
def on_refer_phone(ctx: Context, answer: Answer) -> None:
    phone = parse_phone(answer.text) if not answer.payload else None
    if phone is None:
        ctx.say(_("That does not look like a phone number. Type it like 0470 12 34 56."))
        return
    ctx.goto("case.refer.what", phone=phone)
    ctx.say(_("What is it about? A few words are enough."))


@step("case.refer.what")
def on_refer_what(ctx: Context, answer: Answer) -> None:
    text = clean_text(answer.text, 1000) if not answer.payload else ""
    if not text:
        ctx.say(_("What is it about? A few words are enough."))
        return
    ctx.goto("case.refer.consent", text=text)
    ask_consent(ctx)


def ask_consent(ctx: Context) -> None:
    ctx.say(_("How did {name} agree to be contacted? For example: “she agrees that you call her, said at the "
              "counter on Monday”.", name=ctx.data("name", "?")))


@step("case.refer.consent")
def on_refer_consent(ctx: Context, answer: Answer) -> None:
    consent = clean_text(answer.text, 200) if not answer.payload else ""
    name, phone, text = ctx.data("name"), ctx.data("phone"), ctx.data("text")
    if not may_refer(ctx.person) or not (name and phone and text):
        start_referral(ctx)
        return
    if not consent or not any(ch.isalpha() for ch in consent):
        ask_consent(ctx)
        return
    ctx.clear()
    told = _raise(ctx, "referral", text, about_name=name, about_phone=phone, consent=consent,
                  remind_at=referral_remind_at(ctx.now))
    if not told:
        _no_coordinator(ctx)
        return
    show_menu(ctx, _("Thank you. {contact} will contact {name}. To protect {name}'s privacy you will not hear here "
                     "how it goes.", contact=contact_name(ctx), name=name))


# ---- the coordinator's list ----------------------------------------------------------------

KIND_LABELS = {"concern": lambda: _("Worry"), "referral": lambda: _("Referral"), "problem": lambda: _("Problem")}
#: The same in a sentence (/mydata): "a worry", "a referral", "a problem".
CASE_NOUNS = {"concern": lambda: _("a worry"), "referral": lambda: _("a referral"), "problem": lambda: _("a problem")}
ACTION_LABELS = {"visit": lambda: _("a visit"), "call": lambda: _("a call"), "referral": lambda: _("a referral"),
                 "none": lambda: _("no follow-up")}


def open_cases(session: Session, neighbourhood_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.neighbourhood_id == neighbourhood_id,
                                                   Case.status != "closed").order_by(Case.id)))


def count_open(session: Session, neighbourhood_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Case).where(
        Case.neighbourhood_id == neighbourhood_id, Case.status != "closed")) or 0


def case_details(session: Session, case: Case) -> str:
    """Who and what a case is about, for the coordinators' eyes only."""
    lines = []
    if case.kind == "referral":
        person = case.person
        name = person.first_name if person is not None else case.about_name
        phone = phone_of(person) if person is not None else case.about_phone
        lines.append(_("For: {name}, phone {phone}", name=name or "?", phone=phone or "-"))
        service = session.get(Service, case.service_id) if case.service_id else None
        if service is not None:
            default = case.neighbourhood.default_language if case.neighbourhood is not None else "nl"
            lines.append(_("Service: {service}", service=service_name(service, current_language(), default)) +
                         (f" ({service.phone})" if service.phone else ""))
        if case.request_id:
            lines.append(_("From request #{id}", id=case.request_id))
        if case.consent:
            lines.append(_("How they agreed: {consent}", consent=case.consent))
    if case.text:
        lines.append(f"“{case.text}”")
    return "\n".join(lines)


def case_status(case: Case) -> str:
    if case.status == "closed":
        return _("closed: {outcome}", outcome=case.outcome or "-")
    parts = [_("new") if case.status == "open" else
             _("taken by {name}", name=case.assignee.first_name if case.assignee else "?")]
    if case.action:
        parts.append(_("follow-up: {action}", action=ACTION_LABELS[case.action]()))
    return ", ".join(parts)


def case_line(session: Session, case: Case) -> str:
    head = f"#{case.id} {KIND_LABELS[case.kind]()} · {format_day(case.created_at)} · {case_status(case)}"
    if case.reporter is not None:
        head += " · " + _("from {name}", name=case.reporter.first_name or "?")
    details = case_details(session, case)
    return head + ("\n" + details if details else "")


def _coordinator(ctx: Context) -> bool:
    p = ctx.person
    if p is None or not p.is_coordinator or p.neighbourhood_id is None:
        refuse(ctx, _("Sorry, only coordinators can do that."))
        return False
    return True


def _case(ctx: Context, case_id: int | None) -> Case | None:
    """The case, if the sender coordinates its neighbourhood; else refused (None)."""
    case = ctx.session.get(Case, case_id) if case_id is not None else None
    p = ctx.person
    if case is None or p is None or not p.is_coordinator or p.neighbourhood_id != case.neighbourhood_id:
        refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))
        return None
    return case


def show_list(ctx: Context) -> None:
    if not _coordinator(ctx):
        return
    cases = open_cases(ctx.session, ctx.person.neighbourhood_id)
    if not cases:
        show_menu(ctx, _("No open cases: no worries, referrals or problems wait for you."))
        return
    shown = cases[:PAGE]
    text = _("Open cases (worries, referrals, problems):") + "\n\n" + "\n\n".join(
        case_line(ctx.session, c) for c in shown)
    if len(cases) > PAGE:
        text += "\n\n" + _("And {n} more: close some to see them.", n=len(cases) - PAGE)
    ctx.clear()
    ctx.say(text, [Option(_("Case #{id}", id=c.id), _pl("show", c.id)) for c in shown]
            + [Option(_("Menu"), payloads.MENU)], purge_after_send=True)  # names people: not kept


def case_options(case: Case) -> list[Option]:
    options = []
    if case.status == "open":
        options.append(Option(_("Take it"), _pl("take", case.id)))
    if case.kind == "problem":
        options.append(Option(_("Told the commune"), _pl("commune", case.id)))
    else:
        options += [Option(_("Plan a visit"), _pl("do", "visit", case.id)),
                    Option(_("Plan a call"), _pl("do", "call", case.id)),
                    Option(_("Refer them"), _pl("do", "referral", case.id)),
                    Option(_("No follow-up"), _pl("do", "none", case.id))]
    options += [Option(_("Close the case"), _pl("close", case.id)), Option(_("All cases"), _pl("list"))]
    return options


def show_case(ctx: Context, case: Case, intro: str | None = None) -> None:
    ctx.clear()
    text = case_line(ctx.session, case)
    phone = phone_of(case.reporter)
    if phone:
        text += "\n" + _("Phone of {name}: {phone}", name=case.reporter.first_name or "?", phone=phone)
    if case.status == "closed":
        ctx.say((intro + "\n\n" if intro else "") + text, [Option(_("All cases"), _pl("list")),
                                                          Option(_("Menu"), payloads.MENU)], purge_after_send=True)
        return
    ctx.say((intro + "\n\n" if intro else "") + text, case_options(case) + [Option(_("Menu"), payloads.MENU)],
            purge_after_send=True)


_TAKE = update(Case).where(Case.status == "open")


def take(ctx: Context, case: Case) -> None:
    """The first coordinator to take a case has it; the others are told who did."""
    me = ctx.person
    if case.assignee_id == me.id:
        show_case(ctx, case, _("You already take care of this."))
        return
    won = ctx.session.execute(_TAKE.where(Case.id == case.id).values(status="taken", assignee_id=me.id,
                                                                      taken_at=ctx.now)
                              .execution_options(synchronize_session=False)).rowcount == 1
    ctx.session.expire(case)
    if not won:
        _someone_else_has_it(ctx, case)
        return
    audit(ctx.session, me.id, "case.take", "case", case.id)
    others = [c for c in coordinators_of(ctx.session, case.neighbourhood_id) if c.id != me.id]
    ctx.tell_all(others, lambda: (_("{coordinator} takes care of case #{id}.", coordinator=me.first_name,
                                    id=case.id), []), purpose="alert")
    show_case(ctx, case, _("Thank you, you take care of case #{id}. How will you follow it up?", id=case.id))


def _someone_else_has_it(ctx: Context, case: Case) -> None:
    """The conditional UPDATE of ``take`` or ``follow_up`` lost: the case is closed, or another
    coordinator has it."""
    if case.status == "closed":
        show_case(ctx, case, _("This case is already closed."))
    else:
        show_case(ctx, case, _("{coordinator} already takes care of this.",
                               coordinator=case.assignee.first_name if case.assignee else "?"))


def follow_up(ctx: Context, case: Case, what: str) -> None:
    """Only the coordinator who took the case sets its follow-up; if nobody took it yet, the first
    to choose one takes it -- in one conditional UPDATE like ``take``, so a second coordinator
    never overwrites the assignee's plan: they are told who has it."""
    if case.status == "closed" or case.kind == "problem":
        show_case(ctx, case, _("This case is already closed.") if case.status == "closed" else None)
        return
    me = ctx.person
    mine_or_free = or_(Case.assignee_id == me.id, and_(Case.status == "open", Case.assignee_id.is_(None)))
    taken_at = func.coalesce(Case.taken_at, literal(ctx.now, UTCDateTime))
    won = ctx.session.execute(
        update(Case).where(Case.id == case.id, Case.status != "closed", mine_or_free)
        .values(action=what, status="taken", assignee_id=me.id, taken_at=taken_at)
        .execution_options(synchronize_session=False)).rowcount == 1
    ctx.session.expire(case)
    if not won:
        _someone_else_has_it(ctx, case)
        return
    audit(ctx.session, me.id, f"case.action.{what}", "case", case.id)
    show_case(ctx, case, _("Noted: {action}. Close the case with its outcome when it is done.",
                           action=ACTION_LABELS[what]()))


def ask_outcome(ctx: Context, case: Case) -> None:
    if case.status == "closed":
        show_case(ctx, case, _("This case is already closed."))
        return
    ctx.goto("case.outcome", case_id=case.id)
    ctx.say(_("How did case #{id} end? Type a short outcome, for example “visited, all is well” or “referred to the "
              "CAW, appointment on Tuesday”.", id=case.id),
            [Option(_("Back to the case"), _pl("show", case.id))])


@step("case.outcome")
def on_outcome(ctx: Context, answer: Answer) -> None:
    case = _case(ctx, ctx.data("case_id"))
    if case is None:
        return
    outcome = clean_text(answer.text, OUTCOME_MAX) if not answer.payload else ""
    if not outcome or not any(ch.isalnum() for ch in outcome):
        ask_outcome(ctx, case)
        return
    close(ctx, case, outcome)


def close(ctx: Context, case: Case, outcome: str) -> None:
    if case.status == "closed":
        show_case(ctx, case, _("This case is already closed."))
        return
    me = ctx.person
    case.status, case.outcome, case.closed_at, case.closed_by_id = "closed", outcome[:OUTCOME_MAX], ctx.now, me.id
    case.remind_at = None
    if case.assignee_id is None:
        case.assignee_id, case.taken_at = me.id, case.taken_at or ctx.now
    audit(ctx.session, me.id, "case.close", "case", case.id)
    ctx.clear()
    ctx.say(_("Case #{id} is closed: {outcome}. Thank you!", id=case.id, outcome=case.outcome),
            [Option(_("All cases"), _pl("list")), Option(_("Menu"), payloads.MENU)])


@action(CASE)
def on_case(ctx: Context, p: payloads.Payload) -> None:
    """``case:new[:worried|problem|refer]`` for anyone who joined; ``case:list``, ``case:show:ID``,
    ``case:take:ID``, ``case:do:<action>:ID``, ``case:close:ID``, ``case:commune:ID`` for the
    coordinators of the case's neighbourhood."""
    what, args = (p.args[0] if p.args else ""), p.args[1:]
    if ctx.person is None:
        refuse(ctx)
    elif what == "new" and not args:
        signal_menu(ctx)
    elif what == "new" and args == ("worried",):
        worried(ctx)
    elif what == "new" and args == ("problem",):
        problem(ctx)
    elif what == "new" and args == ("refer",):
        start_referral(ctx)
    elif what == "list" and not args:
        show_list(ctx)
    elif what in ("show", "take", "close", "commune") and len(args) == 1 and p.record_id is not None:
        case = _case(ctx, p.record_id)
        if case is None:
            return
        if what == "show":
            show_case(ctx, case)
        elif what == "take":
            take(ctx, case)
        elif what == "close":
            ask_outcome(ctx, case)
        elif case.kind == "problem":
            close(ctx, case, _("Passed on to the commune"))
        else:
            show_case(ctx, case)
    elif what == "do" and len(args) == 2 and args[0] in CASE_ACTIONS and p.record_id is not None:
        case = _case(ctx, p.record_id)
        if case is not None:
            follow_up(ctx, case, args[0])
    else:
        refuse(ctx)


# ---- open referrals brought back -----------------------------------------------------------

@sweep("cases")
def sweep_cases(session: Session, now: datetime) -> int:
    """Referrals not closed with an outcome REFERRAL_REMIND_DAYS after they were made (and every
    as many days again) go back to the coordinators of their neighbourhood, after their quiet hours."""
    rows = claim(session, select(Case).where(Case.kind == "referral", Case.status != "closed",
                                             Case.remind_at <= now).order_by(Case.remind_at, Case.id), Case, now)
    for case in rows:
        coordinators = coordinators_of(session, case.neighbourhood_id)
        if coordinators:
            later = min(after_quiet(session, c, now) for c in coordinators)
            if later > now:
                case.remind_at = later
                continue
        notifier = Notifier(session, f"case:{case.id}:remind:{case.reminded}", now=now)

        def render(case: Case = case) -> tuple[str, list[Option]]:
            text = _("A referral made on {date} has no outcome yet (case #{id}). Has it been followed up?",
                     date=format_day(case.created_at), id=case.id) + "\n" + case_details(session, case)
            return text, [Option(_("Close the case"), _pl("close", case.id)),
                          Option(_("All cases"), _pl("list"))]

        notifier.tell_all(coordinators, render, about=case.person_id, purpose="reminder", even_if_paused=True)
        notifier.write()
        audit(session, None, "case.remind", "case", case.id)
        case.reminded += 1
        case.remind_at = referral_remind_at(now)
    return len(rows)
