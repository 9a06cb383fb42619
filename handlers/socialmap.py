"""The social map in the chat: "Where can I go for ...?" (/services, the menu, or a question in
words) and the professional-need path of the ask flow answer from the neighbourhood's directory
(models/directory.py): the service's name in the person's language, open now or when it opens
(Brussels time, the message's clock), the languages spoken, phone, address, walk-in or appointment.

Then a warm hand-off, never a diversion: the person chooses to have the coordinator help them make
the contact (a referral case, models.cases.open_case, brought back to the coordinators if nobody
closes it) or to ask the volunteers after all.

Which words name which kind of service, and which make a message a question about one, are data:
``locales/lexicon/<lang>/services.txt`` (``category: phrase, phrase`` and ``ask: ...`` lines).
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from sqlalchemy import select

from handlers import keywords, lexicon
from handlers.actions import action, command
from handlers.cases import referral_remind_at
from handlers.core import Answer, Context, Option, clean_text
from handlers.directory_file import shown_phone
from handlers.i18n import N_, _, current_language, format_day, format_time
from handlers.menu import show_menu
from handlers.opening_hours import next_opening, open_until
from handlers.steps import step
from models.audit import audit
from models.cases import Case, open_case
from models.directory import SERVICE_CATEGORIES, Service, service_name

#: How many services one answer lists (and offers a hand-off button for).
SHOWN = 3
#: The payload kind of this module's buttons: ``svc`` (start), ``svc:cat:<category>``, ``svc:go:<service id>``
#: (0: no particular service), ``svc:ask`` (ask the volunteers after all).
KIND = "svc"

CATEGORY_LABELS = {
    "welfare": N_("OCMW/CPAS"),
    "social_work": N_("Social work (CAW)"),
    "health_insurance": N_("Health insurance"),
    "service_centre": N_("Service centre"),
    "health_centre": N_("Health centre"),
    "transport": N_("Transport"),
    "legal_aid": N_("Legal aid"),
    "carers": N_("Carer support"),
    "mediation": N_("Mediation"),
    "admin_help": N_("Papers & taxes"),
    "food": N_("Food aid"),
    "housing": N_("Housing"),
    "other": N_("Other services"),
}
#: A help request's kind -> the kind of service that also serves it, when the words name none.
FROM_REQUEST = {"lift": "transport", "paperwork": "admin_help", "company": "service_centre"}


# ---- the words -------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _patterns(lex: lexicon.Lexicon) -> tuple[dict[str, re.Pattern], re.Pattern | None, re.Pattern | None]:
    """(category -> its phrases in every language, the phrases that ask where to go, those that do not:
    "-is er iemand die" asks a neighbour, not a service)."""
    phrases: dict[str, list[str]] = {}
    for lines in lex.words.get("services", {}).values():
        for line in lines:
            key, sep, rest = line.partition(":")
            key = key.strip().lower()
            if sep and (key == "ask" or key in SERVICE_CATEGORIES):
                phrases.setdefault(key, []).extend(p.strip() for p in rest.split(",") if p.strip())
    compiled = {key: re.compile(p) for key, words in phrases.items() if (p := keywords.alternation(words))}
    not_asking = keywords.exclusion(phrases.get("ask", []))
    return ({k: v for k, v in compiled.items() if k != "ask"}, compiled.get("ask"),
            re.compile(not_asking) if not_asking else None)


lexicon.on_change(lambda: _patterns(lexicon.current()))


def needs(text: str) -> list[str]:
    """The kinds of service the words name, the first named first ("mantelzorg" -> ["carers"])."""
    folded = lexicon.fold_words(text or "")
    found = []
    for category, pattern in _patterns(lexicon.current())[0].items():
        match = pattern.search(folded)
        if match:
            found.append((match.start(), SERVICE_CATEGORIES.index(category), category))
    return [category for _start, _rank, category in sorted(found)]


def asks_where(text: str) -> bool:
    """A question about where to go for a kind of service ("Welk sociaal vervoer bestaat er?")."""
    ask = _patterns(lexicon.current())[1]
    return bool(ask is not None and not asks_a_neighbour(text) and ask.search(lexicon.fold_words(text or ""))
                and needs(text))


def asks_a_neighbour(text: str) -> bool:
    """ "Is er iemand die ...", "Y a-t-il quelqu'un pour ...": a request for a neighbour's help, not a service."""
    not_asking = _patterns(lexicon.current())[2]
    return bool(not_asking is not None and not_asking.search(lexicon.fold_words(text or "")))


# ---- the directory ---------------------------------------------------------------------------

def services_of(session, neighbourhood_id: int | None, categories: list[str] | None = None) -> list[Service]:
    if neighbourhood_id is None:
        return []
    query = select(Service).where(Service.neighbourhood_id == neighbourhood_id)
    if categories is not None:
        query = query.where(Service.category.in_(categories))
    return list(session.scalars(query.order_by(Service.id)))


def find(session, neighbourhood_id: int | None, categories: list[str], language: str, now: datetime) -> list[Service]:
    """At most SHOWN services, kind by kind in the order named; within a kind those that speak the
    person's language first, then those open now."""
    found = services_of(session, neighbourhood_id, categories)
    rank = {c: n for n, c in enumerate(categories)}
    found.sort(key=lambda s: (rank[s.category], language not in (s.languages or []),
                              open_until(s.hours or {}, now) is None, service_name(s, language).lower()))
    return found[:SHOWN]


def short(name: str, limit: int = 30) -> str:
    """A service's name on a button: cut at a word, with an ellipsis, when long."""
    if len(name) <= limit:
        return name
    cut = name[:limit - 1].rsplit(" ", 1)[0] if " " in name[:limit - 1] else name[:limit - 1]
    return cut.rstrip(" -,(") + "…"


def describe(service: Service, now: datetime, default: str = "nl") -> str:
    """One service as the person reads it, in the current language."""
    lines = [service_name(service, current_language(), default)]
    hours = service.hours or {}
    until = open_until(hours, now)
    if until is not None:
        lines.append(_("Open now, until {time}.", time=format_time(until)))
    elif hours:
        opens = next_opening(hours, now)
        lines.append(_("Closed now; opens {when}.", when=format_day(opens)) if opens else _("Closed now."))
    if service.languages:
        from handlers.free_text import language_name  # free_text reads what the flows propose

        lines.append(_("Languages: {languages}", languages=", ".join(language_name(c) for c in service.languages)))
    if service.phone:
        lines.append(_("Phone: {phone}", phone=shown_phone(service.phone)))
    if service.address:
        lines.append(_("Address: {address}", address=service.address))
    lines.append({"walk_in": _("Walk in, no appointment needed."),
                  "appointment": _("By appointment: call first."),
                  "both": _("Walk in, or make an appointment.")}.get(service.access, _("By appointment: call first.")))
    if service.website:
        lines.append(service.website)
    return "\n".join(lines)


def listing(ctx: Context, services: list[Service]) -> str:
    default = ctx.person.neighbourhood.default_language if ctx.person and ctx.person.neighbourhood else "nl"
    return "\n\n".join(describe(s, ctx.now, default) for s in services)


def kinds_for(text: str, request_category: str | None = None) -> list[str]:
    """The kinds of service words name, else the one that serves the kind of help asked (a lift: transport)."""
    return needs(text) or ([FROM_REQUEST[request_category]] if request_category in FROM_REQUEST else [])


def for_words(ctx: Context, text: str, request_category: str | None = None) -> list[Service]:
    """The services for what someone wrote (or, when the words name none, for the kind of help asked)."""
    categories = kinds_for(text, request_category)
    if not categories or ctx.person is None:
        return []
    return find(ctx.session, ctx.person.neighbourhood_id, categories, ctx.person.language, ctx.now)


# ---- /services, the menu button and a question in words ---------------------------------------

@command("services")
def start(ctx: Context) -> None:
    """What are you looking for? The kinds of service this neighbourhood's map holds."""
    from handlers.signals import contact_name

    ctx.clear()
    present = {s.category for s in services_of(ctx.session, ctx.person.neighbourhood_id)}
    if not present:
        ctx.say(_("Your neighbourhood has no list of services yet. {contact} can help you find the right place.",
                  contact=contact_name(ctx)),
                [Option(_("Talk to a person"), "human"), Option(_("Menu"), "menu")])
        return
    ctx.goto("services.need")
    ctx.say(_("What are you looking for? Choose, or say it in a few words."), category_options(present))


def category_options(present: set[str]) -> list[Option]:
    kinds = [c for c in SERVICE_CATEGORIES if c in present]
    return [Option(service_label(c), f"{KIND}:cat:{c}") for c in kinds[:7]] + [Option(_("Menu"), "menu")]


def service_label(code: str | None) -> str:
    """A kind of service as the person reads it (a button: CATEGORY_LABELS is measured as one)."""
    return _(CATEGORY_LABELS.get(code or "other", CATEGORY_LABELS["other"]))


@step("services.need")
def on_need(ctx: Context, answer: Answer) -> None:
    text = clean_text(answer.text, 500)
    categories = needs(text)
    if categories:
        show(ctx, categories, text)
        return
    present = {s.category for s in services_of(ctx.session, ctx.person.neighbourhood_id)}
    ctx.say(_("I did not find a service for that. Choose one of these, or choose “Talk to a person”."),
            category_options(present)[:-1] + [Option(_("Talk to a person"), "human"), Option(_("Menu"), "menu")])


def answer_question(ctx: Context, text: str) -> None:
    """A question about where to go, typed anywhere: the social map answers."""
    show(ctx, needs(text), clean_text(text, 500))


def show(ctx: Context, categories: list[str], question: str = "") -> None:
    """The services for these kinds, each with a button to have the coordinator help make the
    contact; and the volunteers, when there was a question to pass on to them."""
    from handlers.signals import contact_name

    services = find(ctx.session, ctx.person.neighbourhood_id, categories, ctx.person.language, ctx.now)
    contact = contact_name(ctx)
    ctx.clear()
    ctx.goto("services.results", question=question, category=categories[0] if categories else None)
    if services:
        text = _("Where you can go:") + "\n\n" + listing(ctx, services) + "\n\n" + \
            _("Would you like {contact} to help you make the contact?", contact=contact)
        default = ctx.person.neighbourhood.default_language if ctx.person.neighbourhood else "nl"
        options = [Option(_("Yes, for {service}", service=short(service_name(s, ctx.person.language, default))),
                          f"{KIND}:go:{s.id}") for s in services]
    else:
        text = _("I know no service for that in your neighbourhood yet. {contact} can help you find the right place.",
                 contact=contact)
        options = [Option(_("Ask {contact}", contact=contact), f"{KIND}:go:0")]
    if question:
        options.append(Option(_("Ask the volunteers"), f"{KIND}:ask"))
    ctx.say(text, options + [Option(_("Menu"), "menu")])


@step("services.results")
def on_results(ctx: Context, answer: Answer) -> None:
    """Typed words after the answer: another service asked about, or else read as at the menu."""
    text = clean_text(answer.text, 500)
    if text and needs(text) and not asks_a_neighbour(text):
        show(ctx, needs(text), text)
        return
    from handlers.dispatch import route  # the dispatcher imports this module

    ctx.clear()
    route(ctx)


@action(KIND)
def on_button(ctx: Context, payload) -> None:
    from handlers.dispatch import expired

    what, arg = (payload.args + ("", ""))[:2]
    if not payload.args:
        start(ctx)
    elif what == "cat" and arg in SERVICE_CATEGORIES:
        show(ctx, [arg])
    elif what == "go" and payload.record_id is not None:
        service = ctx.session.get(Service, payload.record_id) if payload.record_id else None
        if payload.record_id and (service is None or service.neighbourhood_id != ctx.person.neighbourhood_id):
            expired(ctx)
        else:
            hand_off(ctx, service)
    elif what == "ask":
        ask_volunteers(ctx)
    else:
        expired(ctx)


def ask_volunteers(ctx: Context) -> None:
    """The question goes the usual way to the volunteers after all: the kind of help, then when."""
    from handlers.ask import start_ask

    question = ctx.data("question", "") if ctx.state.step == "services.results" else ""
    start_ask(ctx)
    if question:
        ctx.goto("ask.category", description=question)


# ---- the warm hand-off -----------------------------------------------------------------------

def open_referral(ctx: Context, service: Service | None, text: str, category: str | None,
                  request_id: int | None = None) -> Case:
    """A referral case for the coordinators: who, what about, which service; reminded if left open."""
    return open_case(ctx.session, "referral", ctx.person.neighbourhood_id, text=text, reporter_id=ctx.person.id,
                     person_id=ctx.person.id, category=service.category if service else category,
                     service_id=service.id if service else None, request_id=request_id,
                     remind_at=referral_remind_at(ctx.now))


def hand_off(ctx: Context, service: Service | None) -> None:
    """The coordinator is asked to help this person make the contact, with the context."""
    from handlers.signals import alert_coordinators, contact_name, who

    on_results_screen = ctx.state.step == "services.results"
    question = ctx.data("question", "") if on_results_screen else ""
    category = ctx.data("category") if on_results_screen else None
    already = ctx.session.scalar(select(Case.id).where(
        Case.kind == "referral", Case.person_id == ctx.person.id, Case.status != "closed",
        Case.service_id == service.id if service else Case.service_id.is_(None)).limit(1))
    if already is not None:
        show_menu(ctx, _("{contact} already knows; they will get in touch with you.", contact=contact_name(ctx)))
        return
    case = open_referral(ctx, service, question, category)
    told = alert_coordinators(ctx, lambda: _coordinator_text(ctx, case, service, question, who(ctx)),
                              about=ctx.person.id, kind="call")
    audit(ctx.session, ctx.person.id, "socialmap.handoff", "case", case.id)
    if told:
        show_menu(ctx, _("Thank you. I have asked {contact} to help you make the contact. They will get in touch "
                         "with you.", contact=contact_name(ctx)))
    else:
        show_menu(ctx, _("Sorry, your neighbourhood has no coordinator on buurtbot yet. Please contact your "
                         "neighbourhood house directly."))


def _coordinator_text(ctx: Context, case: Case, service: Service | None, question: str, name: str) -> str:
    """In the coordinator's language (called while rendering for each of them)."""
    lines = [_("Referral #{id}: {name} would like help to contact a service.", id=case.id, name=name)]
    if service is not None:
        lines.append(_("Service: {service}", service=service_name(service, current_language())))
    elif case.category:
        lines.append(_("Kind of service: {kind}", kind=service_label(case.category)))
    if question:
        lines.append(_("They asked: “{text}”", text=question))
    lines.append(_("Please call them back and close the referral with its outcome."))
    return "\n".join(lines)


def referral_note(case: Case, services: list[Service]) -> str:
    """The line a professional-need alert gets: the referral's number and what the map suggests."""
    note = _("Referral #{id}: close it with its outcome once they are helped.", id=case.id)
    if services:
        note += "\n" + _("The social map suggests: {services}",
                         services="; ".join(service_name(s, current_language()) for s in services))
    return note
