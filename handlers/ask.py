"""Asking for help: category, a few words, when, where, confirm -- then the matching
volunteers are told (first name and street only) and can claim it."""
from __future__ import annotations

import functools
import re
from datetime import date, timedelta

from handlers import payloads
from handlers.answers import NO, YES, fold, is_word
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _, format_day, today
from handlers.labels import THIS_WEEK, WHEN_LABELS, category, label, request_line
from handlers.menu import show_menu
from handlers.reminders import request_opened
from handlers.signals import professional
from handlers.steps import step
from handlers.when import numeric_date
from handlers.keywords import signals
from models.people import CATEGORIES
from models.tasks import create_request, matching_volunteers, street_of
from models import HelpRequest


def keeps_media(handler):
    """A photo or voice note after the description joins the draft: the next photo of a Telegram
    album, or of a WhatsApp message (Twilio posts each medium as a message of its own), comes
    when the first has already moved the draft on. Without words it is kept without a reply."""
    @functools.wraps(handler)
    def with_media(ctx: Context, answer: Answer) -> None:
        more = [m for m in ctx.inbound.media if not m.startswith("location:")]
        if more:
            ctx.goto(ctx.state.step, media=[*ctx.data("media", []), *more][:5])
            if not answer.text.strip() and not answer.payload:
                return
        handler(ctx, answer)
    return with_media


def start_ask(ctx: Context, on_behalf_of: str | None = None, intro: str | None = None) -> None:
    """Ask for oneself, or (a coordinator) for a neighbour who has no phone. ``intro``: the
    first request right after joining, which may also wait ("Not now")."""
    ctx.clear()
    ctx.goto("ask.category", on_behalf_of=on_behalf_of, first=bool(intro))
    prompt_category(ctx, intro)


def prompt_category(ctx: Context, intro: str | None = None) -> None:
    options = [Option(category(c), payloads.category(c)) for c in CATEGORIES]
    if ctx.data("first"):  # right after joining it may also wait
        options.append(Option(_("Not now"), payloads.MENU))
    ctx.say((intro + "\n" if intro else "") + _("What kind of help do you need?"), options)


def start_visit(ctx: Context) -> None:
    """Straight to a "company & a visit" request."""
    ctx.clear()
    ctx.goto("ask.describe", category="company")
    prompt_description(ctx)


def prompt_description(ctx: Context) -> None:
    ctx.say(_("In a few words: what would you like help with?"))


@step("ask.category")
def on_category(ctx: Context, answer: Answer) -> None:
    code = answer.arg("cat")
    if code not in CATEGORIES and not answer.payload and typed_help(ctx, answer.text):
        return
    if (code not in CATEGORIES and ctx.data("first") and not answer.payload and (answer.text or ctx.inbound.media)
            and not fold(answer.text).isdecimal()):  # no text: the question asked again (an old button, a stray "7")
        # The first request, offered right after joining: what they type instead (a worry, a
        # question, a photo) is read as it would be at the menu, not refused as a category.
        from handlers.dispatch import route  # the dispatcher imports this module

        ctx.clear()
        route(ctx)
        return
    if code not in CATEGORIES:
        prompt_category(ctx)
        return
    if ctx.data("description"):  # their own words, typed before (a proposal they changed): only when is missing
        ctx.goto("ask.when", category=code)
        ask_when(ctx)
        return
    ctx.goto("ask.describe", category=code)
    prompt_description(ctx)


def typed_help(ctx: Context, text: str) -> bool:
    """A sentence typed at the category question instead of a button ("boodschappen voor morgen"):
    proposed back when it names a kind of help; their words are kept as the description when it
    asks for help without naming one. A worry, a wish for company or words that suggest a
    professional go the usual way (False: read as at the menu right after joining)."""
    from handlers.free_text import is_sentence, named_category, understood

    if not is_sentence(text) or signals(text):
        return False
    u = understood(ctx, text)
    if named_category(u) and u.kind != "offer":
        propose(ctx, u, text)
        return True
    if u.kind == "request":
        ctx.goto("ask.category", description=clean_text(text, 500))
        prompt_category(ctx)
        return True
    return False


def propose(ctx: Context, u, text: str, media: list[str] | None = None) -> None:
    """What a typed message asked, said back for a yes before anything else happens: "I understood:
    shopping, tomorrow. Is that right?". Yes goes on with only what is missing (and the usual
    confirmation before anything is posted); "change" goes to the category question, their words
    kept. ``u``: an Understanding, or the dict kept for a newcomer (free_text.kept)."""
    from handlers.free_text import when_of

    if isinstance(u, dict):
        category, when, due = u.get("category"), u.get("when"), u.get("due")
        if when != "week" and not due:
            when = None
    else:
        category, (when, due) = u.category, when_of(u)
    media = [m for m in (ctx.inbound.media if media is None else media) if not m.startswith("location:")][:5]
    on_behalf_of = ctx.data("on_behalf_of") if ctx.state.step.startswith("ask.") else None
    ctx.clear()
    ctx.goto("ask.proposal", category=category if category in CATEGORIES else "other",
             description=clean_text(text, 500), when=when, due=due, on_behalf_of=on_behalf_of, media=media)
    say_proposal(ctx)


def say_proposal(ctx: Context) -> None:
    what = category(ctx.data("category"))
    due = ctx.data("due")
    if due:
        text = _("I understood: {what}, {when}. Is that right?", what=what, when=format_day(date.fromisoformat(due)))
    elif ctx.data("when") == "week":
        text = _("I understood: {what}, {when}. Is that right?", what=what, when=_(WHEN_LABELS["week"]))
    else:
        text = _("I understood: {what}. Is that right?", what=what)
    ctx.say(text, [Option(_("Yes"), payloads.YES), Option(_("Change"), payloads.NO)])


@step("ask.proposal")
@keeps_media
def on_proposal(ctx: Context, answer: Answer) -> None:
    description, code = ctx.data("description", ""), ctx.data("category")
    if answer.is_(payloads.NO) or code not in CATEGORIES:
        ctx.goto("ask.category", category=None, when=None, due=None)  # their words stay the description
        prompt_category(ctx)
        return
    if not answer.is_(payloads.YES):
        say_proposal(ctx)
        return
    if "professional" in signals(description):
        professional(ctx, description, code, ctx.data("media", []))  # the person chooses: volunteers or a referral
        return
    if ctx.data("when"):
        ctx.goto("ask.where")
        ask_where(ctx)
        return
    ctx.goto("ask.when")
    ask_when(ctx)


@step("ask.describe")
def on_describe(ctx: Context, answer: Answer) -> None:
    """A few words, or a photo / voice note (kept by reference and forwarded to the helper)."""
    text = clean_text(answer.text, 500)
    media = [*ctx.data("media", []), *ctx.inbound.media][:5]
    if media and len(text) < 2 and not answer.payload:
        text = _("(see the photo or voice message)")
    if len(text) < 2 or answer.payload:
        ctx.say(_("Please describe in a few words what you need, for example: “a pack of water from the supermarket”."))
        return
    if "professional" in signals(text):
        professional(ctx, text, ctx.data("category"), media)  # the person chooses: volunteers or a referral
        return
    ctx.goto("ask.when", description=text, media=media)
    ask_when(ctx)


def ask_when(ctx: Context) -> None:
    ctx.say(_("When?"), [Option(_(label), payloads.when(k)) for k, label in WHEN_LABELS.items()])


def parse_date(text: str, base: date) -> date | None:
    """"26/11", "26-11-2026", "26.11" -> a date within the coming year (read as free text reads it)."""
    found = numeric_date(text, base)
    return found if found is not None and base <= found <= base + timedelta(days=366) else None


def when_in_words(ctx: Context, answer: Answer) -> bool:
    """"morgen", "jeudi prochain", "volgende week dinsdag" typed instead of a button or a date."""
    from handlers.free_text import understood, when_of

    if answer.payload or not answer.text.strip():
        return False
    when, due = when_of(understood(ctx, clean_text(answer.text, 200)))
    if when is None:
        return False
    ctx.goto("ask.where", when=when, due=due)
    ask_where(ctx)
    return True


@step("ask.when")
@keeps_media
def on_when(ctx: Context, answer: Answer) -> None:
    kind = answer.arg("when")
    base = today()
    typed = parse_date(answer.text, base) if not answer.payload else None
    if typed:
        kind = "date"
    if kind not in WHEN_LABELS and when_in_words(ctx, answer):
        return
    if kind not in WHEN_LABELS:
        ask_when(ctx)
        return
    if kind == "date" and typed is None:
        ctx.goto("ask.date")
        ctx.say(_("Which date? Type it like {example}.", example=(base + timedelta(days=3)).strftime("%d/%m")))
        return
    due = {"today": base, "tomorrow": base + timedelta(days=1), "week": None}.get(kind, typed)
    ctx.goto("ask.where", when=kind, due=due.isoformat() if due else None)
    ask_where(ctx)


@step("ask.date")
@keeps_media
def on_date(ctx: Context, answer: Answer) -> None:
    d = parse_date(answer.text, today())
    if d is None and when_in_words(ctx, answer):
        return
    if d is None:
        ctx.say(
            _(
                "I could not read that date. Type it like {example}.",
                example=(today() + timedelta(days=3)).strftime("%d/%m"),
            )
        )
        return
    ctx.goto("ask.where", when="date", due=d.isoformat())
    ask_where(ctx)


def ask_where(ctx: Context, again: bool = False) -> None:
    if ctx.person.address_full and not ctx.data("on_behalf_of"):
        ctx.goto("ask.confirm")
        confirm(ctx)
        return
    if ctx.data("no_number"):
        ctx.say(((_("That does not look like a street name.") + " ") if again else "")
                + _("Type the name of your street, and anything that helps to find your door."))
        return
    text = _("Where should the volunteer come? Type your street and house number. "
             "Volunteers only see the street until one of them takes your request.")
    if again:
        text = _("That does not look like a street and house number. "
                 "Please type them like “Kerkstraat 12” or “12 rue de la Loi”.")
    ctx.say(text, [Option(_("No house number"), payloads.where_no_number())])


#: "No house number" as people type it (folded: lowercase, no accents).
NO_NUMBER = ("geen nummer", "geen huisnummer", "zonder nummer", "zonder huisnummer", "sans numero", "pas de numero",
             "no number", "no house number", "without number", "without a number")


def only_no_number(text: str) -> bool:
    """ "geen nummer" alone: the street name is still to come."""
    folded = fold(text)
    for phrase in NO_NUMBER:
        folded = folded.replace(phrase, " ")
    return folded != fold(text) and sum(ch.isalpha() for ch in folded) < 3


def looks_like_street(text: str, no_number: bool) -> bool:
    """Letters and a house number ("Kerkstraat 12", "12 Main Street", "rue de la Loi 16"), or
    letters only when the person said there is no house number. "yes" is no street."""
    folded = fold(text)
    letters = sum(ch.isalpha() for ch in folded)
    if letters < 3 or is_word(folded, YES) or is_word(folded, NO):
        return False
    if no_number or any(phrase in folded for phrase in NO_NUMBER):
        return True
    return re.search(r"(?<![\d/])\d{1,4}(?:\s?[a-z])?\b", folded) is not None and \
        any(len(w) >= 3 and w.isalpha() for w in re.split(r"[\s,.]+", folded))


@step("ask.where", reads_yes=True)  # "yes" is no street: it says so, and stores nothing
@keeps_media
def on_where(ctx: Context, answer: Answer) -> None:
    """Street and number typed, or a shared location (a map link; the street is then asked
    of nobody: volunteers see "location on the map" until they claim)."""
    if answer.is_(payloads.where_no_number()) or only_no_number(answer.text):
        ctx.goto("ask.where", no_number=True)
        ask_where(ctx)
        return
    location = location_address(ctx.inbound.media)
    text = clean_text(answer.text, 200) or location
    if answer.payload or not (location and text == location or looks_like_street(text, ctx.data("no_number"))):
        ask_where(ctx, again=bool(text or answer.payload))  # nothing said (coming back to it): just the question
        return
    if ctx.data("on_behalf_of"):
        ctx.goto("ask.confirm", address=text)
        confirm(ctx)
        return
    ctx.person.address_full = text
    ctx.person.street = street_of(text)
    ctx.goto("ask.confirm")
    confirm(ctx)


def location_address(media) -> str:
    for ref in media:
        if ref.startswith("location:"):
            lat, _sep, lon = ref.split(":", 1)[1].partition(",")
            return f"📍 https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"
    return ""


def confirm(ctx: Context) -> None:
    due = ctx.data("due")
    when = format_day(date.fromisoformat(due)) if due else label(WHEN_LABELS, THIS_WEEK, fallback=THIS_WEEK)
    ctx.say(_("Shall I pass this on to the volunteers of your neighbourhood?\n{category}: “{description}”\nWhen: "
              "{when}\nThey will see the first name {name} and the street: {street}.",
              category=category(ctx.data("category")), description=ctx.data("description"), when=when,
              name=ctx.data("on_behalf_of") or ctx.person.first_name,
              street=street_of(ctx.data("address")) if ctx.data("address") else ctx.person.street or "-"),
            [Option(_("Yes, send it"), "yes"), Option(_("No, cancel"), "no")])


@step("ask.confirm")
@keeps_media
def on_confirm(ctx: Context, answer: Answer) -> None:
    if answer.is_("no"):
        show_menu(ctx, _("All right, nothing was sent."))
        return
    if not answer.is_("yes") or ctx.data("category") not in CATEGORIES:
        confirm(ctx) if ctx.data("category") in CATEGORIES else start_ask(ctx)
        return
    due = ctx.data("due")
    req = create_request(ctx.session, ctx.person, ctx.data("category"), ctx.data("description", ""),
                         ctx.data("when", "week"), date.fromisoformat(due) if due else None,
                         ctx.data("address") or ctx.person.address_full, on_behalf_of=ctx.data("on_behalf_of"),
                         media=ctx.data("media", []))
    request_opened(ctx.session, req, ctx.now)  # reminders: unclaimed -> coordinators, "still needed?"
    told = notify_volunteers(ctx, req)
    if not ctx.person.is_resident and not req.on_behalf_of:  # set only when it changes: no flush for nothing
        ctx.person.is_resident = True
    if told:
        show_menu(ctx, _("Thank you! Your request #{id} went to the volunteers of your neighbourhood. I will tell you "
                         "as soon as someone takes it.", id=req.id))
    else:
        show_menu(ctx, _("Thank you! Your request #{id} is saved. There is no volunteer free right now, so the "
                         "coordinator will look for someone.", id=req.id))


def notify_volunteers(ctx: Context, req: HelpRequest, exclude: set[int] = frozenset()) -> int:
    """Tell every matching volunteer, shared language first. Returns how many were told."""
    count = ctx.tell_all(matching_volunteers(ctx.session, req, exclude=set(exclude)),
                         lambda: (_("A neighbour asks for help:\n{line}\nCan you do it?", line=request_line(req)),
                                  [Option(_("I'll do it"), payloads.claim(req.id)), Option(_("Not now"), "menu")]),
                         about=req.requester_id)
    if count == 0:
        from handlers.signals import alert_coordinators

        alert_coordinators(
            ctx,
            lambda: _("Request #{id} found no free volunteer:\n{line}", id=req.id, line=request_line(req)),
            about=req.requester_id,
            kind="unclaimed",
            subject=req.requester,
        )
    return count
