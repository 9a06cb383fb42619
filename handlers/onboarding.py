"""Joining: language, neighbourhood (invite code or postcode), consent in plain words, first
name, and whether one wants help, wants to help, or both.

Consent comes before anything personal is stored: until "yes" there is only the channel
address and the chosen language, which are needed to answer at all.
"""
from __future__ import annotations

import re

from handlers import payloads
from handlers.answers import fold
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import LANGUAGES, _, normalise_language, speaking
from handlers.lexicon import language_question, language_words
from handlers.menu import show_menu
from handlers.steps import step
from models import Neighbourhood, Person
from models.audit import audit
from models.network import coordinators_of, find_invite, neighbourhoods_for_postcode, use_invite

CONSENT_VERSION = "2026-11"
#: How sure the language of a newcomer's sentence must be to ask "shall we continue in it?"
#: (below: the usual question, in every language).
SURE_ENOUGH = 0.5


def start(ctx: Context, code: str | None) -> None:
    """/start or /start CODE, for a newcomer or someone coming back."""
    if ctx.person is not None:
        ctx.person.paused = False
        if code:
            invite = find_invite(ctx.session, code)
            if invite is None:
                ctx.say(_("This invite code is not valid (any more). Ask the person who gave it to you for a new one."))
            else:
                use_invite(ctx.session, invite, ctx.person)
                if invite.role == "volunteer":
                    invited_volunteer(ctx, invite)
                    return
        show_menu(ctx, _("Welcome back, {name}!", name=ctx.person.first_name))
        return
    ctx.clear()
    if code:
        ctx.goto("onboard.language", code=code.strip()[:32])  # a step name: goto("") would drop the data
    ask_language(ctx)


def ask_language(ctx: Context, step_name: str = "onboard.language") -> None:
    hint = normalise_language(ctx.inbound.locale_hint)
    langs = sorted(LANGUAGES, key=lambda c: 0 if c == hint else 1)
    ctx.goto(step_name)
    ctx.say(language_question(hint),  # every language's own words: locales/lexicon/<lang>/language.txt
            [Option(LANGUAGES[c], payloads.lang(c)) for c in langs])


def language_from(answer: Answer) -> str | None:
    code = answer.arg("lang")
    if code:
        return normalise_language(code)
    folded = fold(answer.text)
    # The words that choose a language are data (locales/lexicon/<lang>/language.txt): any
    # language added there is understood, and anything else is asked again.
    return next((c for c in LANGUAGES if folded and folded in language_words(c)), None)


def first_words(ctx: Context, text: str) -> bool:
    """A newcomer who writes a sentence (at the start or at the language question) is answered
    in the language they wrote, asked to confirm it; what they asked for is kept in their
    conversation -- only until they say yes or no to consent, or /delete, or walk away for 12 hours
    (scheduler/ticks.py forget_walked_away) -- and
    after joining it is proposed as their first request. False: no sentence (the usual start)."""
    from handlers.free_text import is_sentence, kept, other_ack, understood

    if not is_sentence(text):
        return False
    u = understood(ctx, text)
    said = kept(u, text)
    if u.language in LANGUAGES and u.confidence >= SURE_ENOUGH:
        ctx.goto("onboard.language", said=said, proposed=u.language)
        with speaking(u.language):
            ctx.say(_("You wrote in {language}. Shall we continue in {language}?", language=LANGUAGES[u.language]),
                    [Option(_("Yes"), payloads.YES), Option(_("Another language"), payloads.NO)])
        return True
    if said is None:  # nothing asked, in a language without a catalog here: the usual question
        return False
    if u.language == "other":
        from handlers.signals import foreign_alert

        # Someone who reads none of our languages may never join: their message goes to a person
        # now (the neighbourhood they chose, or the only one), and is then no longer kept.
        if foreign_alert(ctx, text, u.other_language):
            said = None
    ctx.goto("onboard.language", said=said, proposed=None)
    ack = other_ack(u.other_language) if u.language == "other" else None
    if ack:
        ctx.say(ack)
    ask_language(ctx)
    return True


@step("onboard.language")
def on_language(ctx: Context, answer: Answer) -> None:
    proposed = ctx.data("proposed")
    if answer.is_(payloads.NO) and proposed:
        ctx.goto("onboard.language", proposed=None)
        ask_language(ctx)
        return
    lang = normalise_language(proposed) if answer.is_(payloads.YES) else language_from(answer)
    if lang is None:
        if answer.payload or not first_words(ctx, answer.text):
            if proposed:
                ctx.goto("onboard.language", proposed=None)
            ask_language(ctx)
        return
    ctx.identity.language = lang
    with speaking(lang):
        code = ctx.data("code")
        invite = find_invite(ctx.session, code) if code else None
        if invite is not None:
            ctx.goto("onboard.consent", neighbourhood_id=invite.neighbourhood_id, code=invite.code)
            ask_consent(ctx, invite.neighbourhood)
        else:
            if code:
                ctx.say(_("This invite code is not valid (any more). Ask the person who gave it to you for a new one."))
            ask_area(ctx)


def ask_area(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("onboard.area", code=None, postcode=None)
    ctx.say((intro + "\n" if intro else "") + _("Which neighbourhood do you live in? Type your postcode (for example "
                                                "1040), or the invite code you received."))


@step("onboard.area")
def on_area(ctx: Context, answer: Answer) -> None:
    nb_id = answer.arg("nb")
    if nb_id and nb_id.isdecimal() and len(nb_id) < 12:
        nb = ctx.session.get(Neighbourhood, int(nb_id))
        if nb is not None and nb.id in ctx.data("choices", []):
            ctx.goto("onboard.consent", neighbourhood_id=nb.id)
            ask_consent(ctx, nb)
            return
    text = clean_text(answer.text, 40)
    invite = (
        find_invite(ctx.session, text)
        if text and re.fullmatch(r"[A-Za-z0-9]{6,12}", text) and not text.isdigit()
        else None
    )
    if invite is not None:
        ctx.goto("onboard.consent", neighbourhood_id=invite.neighbourhood_id, code=invite.code)
        ask_consent(ctx, invite.neighbourhood)
        return
    postcode = re.search(r"\b(\d{4})\b", text)
    if postcode is None:
        ask_area(ctx, _("That is not a postcode I know."))
        return
    found = neighbourhoods_for_postcode(ctx.session, postcode.group(1))
    if not found:
        ask_area(ctx, _("There is no caring neighbourhood on buurtbot for {postcode} yet. Try another postcode, or ask "
                        "your neighbourhood house for an invite code.", postcode=postcode.group(1)))
    elif len(found) == 1:  # the postcode is kept with the person: a broadcast to "1040" reaches them
        ctx.goto("onboard.consent", neighbourhood_id=found[0].id, postcode=postcode.group(1))
        ask_consent(ctx, found[0])
    else:
        ctx.goto("onboard.area", choices=[nb.id for nb in found], postcode=postcode.group(1))
        ctx.say(_("Which one is yours?"), [Option(nb.name, payloads.neighbourhood(nb.id)) for nb in found])


def ask_consent(ctx: Context, nb: Neighbourhood) -> None:
    from handlers.account import commands  # account imports this module

    who_sees = (_("{contact}, the coordinator of your neighbourhood", contact=nb.contact_name) if nb.contact_name
                else _("the coordinator of your neighbourhood"))
    ctx.say(
        _("Before we start, what we keep about you:\n"
          "• your first name, language and neighbourhood ({neighbourhood});\n"
          "• what you ask or offer, and later your address if you ask for a visit.\n"
          "Who sees it: {who_sees}. A volunteer sees only your first name and street, and your address only once they "
          "help you.\n"
          "You can see everything with {mydata} and delete it all with {delete}, at any time.\n"
          "Is that all right?", neighbourhood=nb.name, who_sees=who_sees, **commands("mydata", "delete")),
        [Option(_("Yes, that's fine"), "yes"), Option(_("No"), "no")],
    )


@step("onboard.consent")
def on_consent(ctx: Context, answer: Answer) -> None:
    nb = ctx.session.get(Neighbourhood, ctx.data("neighbourhood_id") or 0)
    if answer.is_("no"):
        ctx.clear()
        ctx.say(_("All right. We have not kept anything about you. Type /start if you change your mind."))
        return
    if not answer.is_("yes") or nb is None:
        if nb is None:
            ask_area(ctx)
        else:
            ask_consent(ctx, nb)
        return
    person = Person(neighbourhood_id=nb.id, language=ctx.identity.language or nb.default_language,
                    languages_spoken=[ctx.identity.language or nb.default_language],
                    consent_at=ctx.now, consent_version=CONSENT_VERSION, postcode=ctx.data("postcode"))
    ctx.session.add(person)
    ctx.session.flush()
    ctx.identity.person_id = person.id
    ctx.identity.person = person
    ctx.person = person
    audit(ctx.session, person.id, "person.consent", "person", person.id)
    ctx.goto("onboard.name")
    ctx.say(_("Thank you! What is your first name?"))


@step("onboard.name")
def on_name(ctx: Context, answer: Answer) -> None:
    name = clean_text(answer.text, 200)
    name = " ".join(name.split()[:3])[:40]
    if not name or name.startswith("/") or not any(ch.isalpha() for ch in name):
        ctx.say(_("Please type just your first name."))
        return
    ctx.person.first_name = name
    code = ctx.data("code")
    invite = find_invite(ctx.session, code) if code else None
    if invite is not None:
        use_invite(ctx.session, invite, ctx.person)
        if invite.role == "coordinator":
            show_menu(
                ctx,
                _(
                    "Welcome, {name}! You are now a coordinator of {neighbourhood}.",
                    name=name,
                    neighbourhood=invite.neighbourhood.name,
                ),
            )
            return
        if invite.role == "partner":
            show_menu(ctx, _("Welcome, {name}! You are now a partner of {neighbourhood}. When you are worried about "
                             "someone, or someone agrees to be contacted, choose “A worry or a problem”.",
                             name=name, neighbourhood=invite.neighbourhood.name))
            return
        if invite.role == "keyfigure":
            show_menu(ctx, _("Welcome, {name}! You are now a key figure of {neighbourhood}: thank you for being the "
                             "link with the people around you. When you are worried about someone, or someone "
                             "agrees to be contacted, choose “A worry or a problem”.",
                             name=name, neighbourhood=invite.neighbourhood.name))
            return
        invited_volunteer(ctx, invite)
        return
    said = ctx.data("said")
    if said:
        asked_before_joining(ctx, said)
        return
    ctx.goto("onboard.role")
    ctx.say(_("Nice to meet you, {name}! What brings you here?", name=name), role_options())


def asked_before_joining(ctx: Context, said: dict) -> None:
    """What a newcomer wrote before joining, now that they have: an offer goes to the offer
    flow, a message in a language buurtbot does not speak to people who speak it, and a
    request is proposed ("I understood: shopping, tomorrow. Is that right?")."""
    from handlers.ask import propose, start_ask
    from handlers.offer import start_offer
    from handlers.signals import foreign

    p = ctx.person
    welcome = _("Nice to meet you, {name}!", name=p.first_name)
    if said.get("kind") == "offer":
        start_offer(ctx, welcome, kind=said.get("category"))
        return
    p.is_resident = True
    joined(ctx)
    if said.get("kind") == "other":
        foreign(ctx, said.get("text", ""), said.get("other"))
        return
    if said.get("category") in (None, "other"):
        start_ask(ctx, intro=welcome)
        ctx.goto("ask.category", description=said.get("text", ""))
        return
    ctx.say(welcome)
    propose(ctx, said, said.get("text", ""), media=[])


def joined(ctx: Context) -> None:
    """The coordinators hear that someone joined (a volunteer's offer tells them itself)."""
    p = ctx.person
    for c in coordinators_of(ctx.session, p.neighbourhood_id):
        if c.id != p.id:
            ctx.tell(c, lambda: (_("{name} joined the neighbourhood on buurtbot.", name=p.first_name), []), about=p.id)


def invited_volunteer(ctx: Context, invite) -> None:
    """An invitation vouches for a person (no approval needed), it does not decide their
    limits: they state them like everyone who offers help."""
    from handlers.offer import start_offer  # the offer flow follows onboarding

    start_offer(ctx, _("Welcome, {name}! You are now a volunteer of {neighbourhood}. First, a few questions "
                       "about what you would like to do.", name=ctx.person.first_name,
                       neighbourhood=invite.neighbourhood.name))


def role_options() -> list[Option]:
    return [
        Option(_("I would like help"), payloads.role("help")),
        Option(_("I would like to help"), payloads.role("give")),
        Option(_("Both"), payloads.role("both")),
    ]


@step("onboard.role")
def on_role(ctx: Context, answer: Answer) -> None:
    from handlers.ask import start_ask  # the ask and offer flows follow onboarding
    from handlers.offer import start_offer

    role = answer.arg("role")
    if role not in ("help", "give", "both"):
        ctx.say(_("Please choose one of these:"), [
            Option(_("I would like help"), payloads.role("help")),
            Option(_("I would like to help"), payloads.role("give")),
            Option(_("Both"), payloads.role("both")),
        ])
        return
    p = ctx.person
    p.is_resident = role in ("help", "both")
    if role in ("give", "both") and not p.is_approved_volunteer:
        start_offer(ctx)
        return
    joined(ctx)
    if role == "give":
        show_menu(ctx, _("Welcome to the neighbourhood! Whenever you need a hand, choose “Ask for help”."))
        return
    # They came for help: straight into their request (or "Not now" for the menu).
    start_ask(ctx, intro=_("Welcome to the neighbourhood! Let us write down what you need."))
