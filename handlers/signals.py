"""Where the bot hands over to people: emergencies (112 at once), worries about a neighbour
(coordinator only), professional needs (the person chooses: volunteers or a referral) and
"talk to a person"."""
from __future__ import annotations

from typing import Callable

from handlers import payloads
from handlers.alerts import PHONE_CHANNELS, decorate, open_alert, parse_phone, phone_of
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _, current_language, speaking
from handlers.keywords import URGENT, written_in
from handlers.labels import category
from handlers.menu import show_menu
from handlers.steps import step
from models import HelpRequest, Person
from models.audit import audit
from models.network import coordinators_of, newcomers_neighbourhood
from models.tasks import create_request, requests_of, volunteers_speaking


def contact_name(ctx: Context) -> str:
    nb = ctx.person.neighbourhood if ctx.person else None
    return nb.contact_name if nb and nb.contact_name else _("the coordinator")


def alert_coordinators(ctx: Context, render: Callable[[], str], about: int | None,
                       options: Callable[[], list[Option]] = list, media: list[str] = (), *,
                       kind: str = "alert", subject: Person | None = None, phone: str | None = None) -> int:
    """Tell every coordinator of the sender's neighbourhood, even if they paused messages.
    An alert about a person (``subject``, by default the sender) carries a way to reach them:
    their phone when known, "Reply" and "I'll take this" (handlers/alerts.py). Someone who has
    not joined is heard by the neighbourhood they chose, or the only one (models/network.py)."""
    nb_id = (ctx.person.neighbourhood_id if ctx.person else
             newcomers_neighbourhood(ctx.session, ctx.data("neighbourhood_id"), ctx.data("code")))
    others = [c for c in coordinators_of(ctx.session, nb_id) if ctx.person is None or c.id != ctx.person.id]
    if not others:
        return 0
    subject = subject if subject is not None else ctx.person
    alert = open_alert(ctx.session, subject, kind, phone) if subject is not None and subject.id == about else None
    if subject is None and ctx.identity.channel in PHONE_CHANNELS and ctx.identity.address.startswith("+"):
        # Someone who has not joined has no alert to take or reply to: the number they wrote from
        # is how a coordinator reaches them (on Telegram there is none; the answer says so).
        number = ctx.identity.address
        return ctx.tell_all(others, lambda: (render() + "\n" + _("Phone: {phone}", phone=number), options()),
                            about=about, purpose="alert", even_if_paused=True, media=media)
    return ctx.tell_all(others, lambda: decorate(alert, render(), options()), about=about, purpose="alert",
                        even_if_paused=True, media=media)


def who(ctx: Context) -> str:
    return ctx.person.first_name if ctx.person and ctx.person.first_name else _("someone not yet registered")


def emergency(ctx: Context, kinds: set[str]) -> None:
    """112 at once, in the language the message is written in (see answer_languages). The
    coordinators are told first, so that the answer only says so when someone was told."""
    told = alert_coordinators(ctx, lambda: _("URGENT: {name} wrote a message that may be an emergency. They were "
                                             "told to call 112. Please contact them now.", name=who(ctx)),
                              about=ctx.person.id if ctx.person else None)
    text, language = emergency_text(ctx, kinds, told)
    with speaking(language):
        ctx.say(text, [Option(_("Talk to a person"), "human"), Option(_("Menu"), "menu")])
    audit(ctx.session, ctx.person.id if ctx.person else None, "signal.emergency", "identity", ctx.identity.id)


def emergency_text(ctx: Context, kinds: set[str], told: int) -> tuple[str, str]:
    """The 112 answer and the language to send it in. Also what an apology carries when the
    message failed after all: the 112 answer must never be lost (then nobody was told)."""
    languages = answer_languages(ctx, kinds)
    texts = []
    for language in languages:
        with speaking(language):
            text = _("If someone is in danger or needs urgent care: call 112 now (ambulance, fire). Police: 101.")
            if "suicide" in kinds:
                text += "\n" + _("If you are thinking about suicide: call 1813 (Zelfmoordlijn, day and night) or "
                                 "0800 32 123 (Centre de Prévention du Suicide). You are not alone.")
            if told:
                text += "\n" + _("buurtbot is not an emergency service. I have also let {contact} know.",
                                 contact=contact_name(ctx))
            else:
                text += "\n" + _("buurtbot is not an emergency service and cannot send help itself.")
            texts.append(text)
    return "\n\n".join(texts), languages[0]


def answer_languages(ctx: Context, kinds: set[str]) -> list[str]:
    """The language(s) of the emergency words: the person's own (when it is known, not the
    default) if the words are theirs too ("ambulance" is Dutch, French and English), else the
    language the words are written in, judged by the words only it has (a newcomer, or a Dutch
    person writing French, gets French), else all of the matched ones."""
    own = (ctx.person.language if ctx.person else None) or ctx.identity.language
    written = written_in(ctx.inbound.text or "", kinds & URGENT)
    if not written:
        return [own or current_language()]
    if own in written:
        return [own]
    return written


def concern(ctx: Context, text: str) -> None:
    """A worry about a third person goes to coordinators only, never to the volunteer board:
    a case they follow up (handlers/cases.py)."""
    from handlers.cases import report_concern  # cases builds on this module

    report_concern(ctx, text)


def company(ctx: Context, text: str) -> None:
    """Offer, never impose: a call from the coordinator, or a neighbour who comes by. The
    coordinator alone is told, in words that label nobody."""
    ctx.clear()
    ctx.say(
        _(
            "Thank you for telling me. Would you like {contact} to call you for a chat, or a neighbour to come by "
            "now and then? It is up to you.",
            contact=contact_name(ctx),
        ),
        [Option(_("Yes, a call"), "callme"), Option(_("Yes, a visit"), "visit"), Option(_("No, thank you"), "menu")],
    )
    alert_coordinators(
        ctx,
        lambda: _("{name} may appreciate more contact. They wrote: “{text}”", name=who(ctx), text=text[:1000]),
        about=ctx.person.id if ctx.person else None,
    )
    audit(ctx.session, ctx.person.id if ctx.person else None, "signal.company", "identity", ctx.identity.id)


def call_me(ctx: Context) -> None:
    """A call from the coordinator: they need a number. On WhatsApp/SMS the address is one;
    elsewhere (Telegram, the demo) the person is asked for it, and may skip."""
    if phone_of(ctx.person) is None:
        ctx.goto("callme.phone")
        ctx.say(_("Which number can {contact} call?", contact=contact_name(ctx)),
                [Option(_("Skip"), payloads.call_me_skip())])
        return
    ask_for_call(ctx, None)


@step("callme.phone")
def on_call_phone(ctx: Context, answer: Answer) -> None:
    if answer.is_(payloads.call_me_skip()):
        ask_for_call(ctx, None)
        return
    phone = parse_phone(answer.text) if not answer.payload else None
    if phone is None:
        ctx.say(_("That does not look like a phone number. Type it like 0470 12 34 56, or choose “Skip”."),
                [Option(_("Skip"), payloads.call_me_skip())])
        return
    ask_for_call(ctx, phone)


def ask_for_call(ctx: Context, phone: str | None) -> None:
    alert_coordinators(ctx, lambda: _("{name} would like a phone call.", name=who(ctx)),
                       about=ctx.person.id if ctx.person else None, kind="call", phone=phone)
    audit(ctx.session, ctx.person.id if ctx.person else None, "human.call", "identity", ctx.identity.id)
    show_menu(ctx, _("I have asked {contact} to call you.", contact=contact_name(ctx)))


def professional(ctx: Context, text: str, category: str = "other", media: list[str] = ()) -> None:
    """Words that suggest a professional service (debts, home nursing, a bath one cannot get
    into): never diverted without the person's say. They choose: the volunteers, as asked,
    or a talk with the coordinator (a referral)."""
    ctx.goto("signals.professional", description=text[:500], category=category, media=list(media))
    ask_professional(ctx)


def ask_professional(ctx: Context) -> None:
    """The person chooses; what the social map holds for their words is shown with the question."""
    from handlers import socialmap  # socialmap tells coordinators through this module

    contact = contact_name(ctx)
    services = socialmap.for_words(ctx, ctx.data("description", ""), ctx.data("category"))
    where = "\n\n" + _("Where you can go:") + "\n\n" + socialmap.listing(ctx, services) if services else ""
    ctx.say(_("Shall I send this to the volunteers of your neighbourhood, or would you rather talk to {contact} about "
              "it first? For some things professionals can help too: the OCMW/CPAS, the CAW, your mutualiteit or the "
              "local service centre.", contact=contact) + where,
            [Option(_("Send to volunteers"), payloads.professional("volunteers")),
             Option(_("Talk to {contact}", contact=contact), payloads.professional("contact"))])


@step("signals.professional")
def on_professional(ctx: Context, answer: Answer) -> None:
    from handlers.ask import ask_when  # the ask flow imports this module

    choice = answer.arg("pro")
    description, category = ctx.data("description", ""), ctx.data("category") or "other"
    if choice == "volunteers":
        # The usual way on: when, where, confirm -- then the matching volunteers are told.
        ctx.goto("ask.when", category=category, description=description, media=ctx.data("media", []))
        ask_when(ctx)
    elif choice == "contact":
        refer(ctx, create_request(ctx.session, ctx.person, category, description, "week", None, None,
                                  status="referred", media=ctx.data("media", [])))
    else:
        ask_professional(ctx)


def refer(ctx: Context, req: HelpRequest) -> None:
    """The warm hand-off: a referral case (with the service the social map suggests, if any) that
    stays open until a coordinator closes it, and the coordinators told with the context."""
    from handlers import socialmap  # socialmap tells coordinators through this module

    services = socialmap.for_words(ctx, req.description, req.category)
    case = socialmap.open_referral(ctx, services[0] if services else None, req.description,
                                   (socialmap.kinds_for(req.description, req.category) or [None])[0],
                                   request_id=req.id)
    ctx.clear()
    ctx.say(_("This sounds like something professionals can help with better than a volunteer: the OCMW/CPAS, the CAW, "
              "your mutualiteit or the local service centre (lokaal dienstencentrum). You will hear from {contact}, "
              "who can help you find the right place.", contact=contact_name(ctx)),
            [Option(_("Talk to a person"), "human"), Option(_("Menu"), "menu")])
    alert_coordinators(
        ctx,
        lambda: _(
            "Request #{id} ({category}) from {name} may need a professional: “{text}”. Please follow it up.",
            id=req.id,
            category=category(req.category),
            name=who(ctx),
            text=req.description[:500],
        ) + "\n" + socialmap.referral_note(case, services),
        about=ctx.person.id if ctx.person else None,
        media=req.media or [],
    )


def foreign_alert(ctx: Context, text: str, code: str | None) -> int:
    """The coordinators get a message in a language buurtbot does not speak (how many were told)."""
    from handlers.free_text import language_name

    p = ctx.person
    return alert_coordinators(
        ctx, lambda: _("{name} wrote in a language buurtbot does not speak ({language}):\n“{text}”", name=who(ctx),
                       language=language_name(code), text=text[:1000]),
        about=p.id if p else None, kind="language")


def foreign(ctx: Context, text: str, code: str | None) -> None:
    """A message in a language buurtbot does not speak is never dropped: a short thank-you in
    that language where one is written (locales/lexicon/other/<code>.txt), else in the person's
    and the neighbourhood's languages; the coordinators get it as an alert (phone, Reply, I'll
    take this), and approved volunteers who speak it see the first name and the text only."""
    from handlers.free_text import language_name, other_ack  # free_text reads what the flows propose

    p = ctx.person
    told = foreign_alert(ctx, text, code)
    speakers = [v for v in volunteers_speaking(ctx.session, p.neighbourhood_id, code) if v.id != p.id] \
        if p is not None and code else []
    told += ctx.tell_all(speakers, lambda: (
        _("{name}, a neighbour, wrote in {language}, a language you speak:\n“{text}”\nIf you can help, tell the "
          "coordinator with “Talk to a person”.", name=who(ctx), language=language_name(code), text=text[:1000]),
        [Option(_("Talk to a person"), payloads.HUMAN)]), about=p.id if p else None)
    audit(ctx.session, p.id if p else None, "signal.language", "identity", ctx.identity.id)
    lines = [ack] if (ack := other_ack(code)) else []
    languages = [current_language()]
    nb = p.neighbourhood if p is not None else None
    if not lines and nb is not None and nb.default_language not in languages:
        languages.append(nb.default_language)
    for language in languages:
        with speaking(language):
            lines.append(_("Thank you for your message. I passed it on to {contact}; someone who speaks your language "
                           "will get in touch.", contact=contact_name(ctx)) if told else
                         _("Sorry, your neighbourhood has no coordinator on buurtbot yet. Please contact your "
                           "neighbourhood house directly."))
    show_menu(ctx, "\n\n".join(lines))


def media_only(ctx: Context) -> None:
    """A photo, voice note or location outside a request: thanked, never dropped in silence."""
    show_menu(ctx, _("Thank you! I cannot look at photos or listen to voice messages here, but when you ask for help "
                     "you can add one for the volunteer. Or choose “Talk to a person”."))


def talk_to_person(ctx: Context) -> None:
    ctx.goto("human.message")
    ctx.say(
        _(
            "Of course. Write your message and {contact} will read it and get back to you. Or type /menu to go back.",
            contact=contact_name(ctx),
        )
    )


@step("human.message")
def on_human_message(ctx: Context, answer: Answer) -> None:
    text = clean_text(answer.text, 1500)
    if not text:
        talk_to_person(ctx)
        return
    open_items = requests_of(ctx.session, ctx.person.id) if ctx.person else []
    told = alert_coordinators(
        ctx,
        lambda: _(
            "{name} would like to talk to a person (on {channel}; open requests: {requests}):\n“{text}”",
            name=who(ctx),
            channel=ctx.identity.channel,
            text=text[:1500],
            requests=", ".join(f"#{r.id} {category(r.category)}" for r in open_items) or "-",
        ),
        about=ctx.person.id if ctx.person else None,
        kind="human",
    )
    audit(ctx.session, ctx.person.id if ctx.person else None, "human.request", "identity", ctx.identity.id)
    if told:
        show_menu(
            ctx, _("Thank you. Your message is with {contact}, who will get back to you.", contact=contact_name(ctx))
        )
    else:
        show_menu(ctx, _("Sorry, your neighbourhood has no coordinator on buurtbot yet. Please contact your "
                         "neighbourhood house directly."))
