"""Coordinator alerts that lead somewhere: each alert about a person carries their phone
(when known: a WhatsApp/SMS address is a phone, or the number they gave for a call), a
"Reply" relayed through the bot, and "I'll take this" -- the first coordinator to press it
takes it and the others are told, so nobody calls twice and nobody thinks another will.

Phones go to coordinators only: they are written into the alert, never onto the person
(a volunteer who claims a task sees ``Person.phone``)."""
from __future__ import annotations

import phonenumbers
from sqlalchemy.orm import Session

from handlers import payloads
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _
from handlers.menu import menu_options, show_menu
from handlers.steps import step
from models import Person
from models.alerts import Alert, create_alert, take
from models.network import coordinators_of, may_coordinate

#: Channels whose address is the person's phone number (E.164).
PHONE_CHANNELS = ("whatsapp", "sms")
DEFAULT_REGION = "BE"


def phone_of(person: Person | None) -> str | None:
    """A number a coordinator, buddy or caller can call: one the person gave, else their
    WhatsApp/SMS address, else the number their check-in calls ring."""
    if person is None:
        return None
    if person.phone:
        return person.phone
    for channels in (PHONE_CHANNELS, ("voice",)):
        for identity in person.identities:
            if identity.channel in channels and identity.active and identity.address.startswith("+"):
                return identity.address
    return None


def parse_phone(text: str) -> str | None:
    """A typed number ("0470 12 34 56", "+32 470 ...") in E.164, or None."""
    text = (text or "").strip()
    if not text or len(text) > 32 or any(ch.isalpha() for ch in text):
        return None
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def open_alert(session: Session, subject: Person | None, kind: str, phone: str | None = None) -> Alert | None:
    """The alert row coordinators act on, for an alert about ``subject`` (none: nobody to reach)."""
    if subject is None or subject.neighbourhood_id is None:
        return None
    return create_alert(session, subject, kind, phone or phone_of(subject))


def decorate(alert: Alert | None, text: str, options: list[Option]) -> tuple[str, list[Option]]:
    """The alert's way to reach the person, in the coordinator's language (called while rendering)."""
    if alert is None:
        return text, options
    if alert.phone:
        text += "\n" + _("Phone: {phone}", phone=alert.phone)
    return text, [Option(_("I'll take this"), payloads.alert("take", alert.id)),
                  Option(_("Reply"), payloads.alert("reply", alert.id)), *options]


def refuse(ctx: Context, text: str | None = None) -> None:
    from handlers.tasks import refuse as kindly  # tasks -> ask -> signals imports this module

    kindly(ctx, text)


def _alert(ctx: Context, raw: str) -> Alert | None:
    if not raw.isdecimal() or len(raw) > 12:
        return None
    alert = ctx.session.get(Alert, int(raw))
    if alert is None or not may_coordinate(ctx.person, alert.person):
        return None
    return alert


def on_alert(ctx: Context, arg: str) -> None:
    """alert:take:ID and alert:reply:ID, pressed by a coordinator of that person's neighbourhood."""
    action, _sep, raw = arg.partition(":")
    alert = _alert(ctx, raw) if action in ("take", "reply") else None
    if alert is None:
        refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))
        return
    if action == "reply":
        ctx.goto("alert.reply", alert_id=alert.id)
        ctx.say(_("Type your message to {name}. I will pass it on.", name=alert.person.first_name or "?"),
                about=alert.person_id)
        return
    me, person = ctx.person, alert.person
    if alert.taken_by_id == me.id:
        show_menu(ctx, _("You already take care of this."))
        return
    if not take(ctx.session, alert.id, me.id):
        ctx.session.refresh(alert)
        taker = alert.taken_by.first_name if alert.taken_by else _("another coordinator")
        show_menu(ctx, _("{coordinator} already takes care of this.", coordinator=taker))
        return
    phone = alert.phone
    intro = _("Thank you, you take care of {name}.", name=person.first_name or "?")
    if phone:
        intro += "\n" + _("Phone: {phone}", phone=phone)
    ctx.clear()
    ctx.say(intro, [Option(_("Reply"), payloads.alert("reply", alert.id)), *menu_options(ctx)], about=person.id)
    others = [c for c in coordinators_of(ctx.session, alert.neighbourhood_id) if c.id not in (me.id, person.id)]
    ctx.tell_all(others, lambda: (_("{coordinator} takes care of this ({name}).", coordinator=me.first_name,
                                    name=person.first_name or "?"), []), about=person.id)


@step("alert.reply")
def on_reply(ctx: Context, answer: Answer) -> None:
    alert = _alert(ctx, str(ctx.data("alert_id") or ""))
    if alert is None:
        refuse(ctx)
        return
    text = clean_text(answer.text, 1000)
    if not text or answer.payload:
        ctx.say(_("Type your message to {name}. I will pass it on.", name=alert.person.first_name or "?"),
                about=alert.person_id)
        return
    me = ctx.person
    ctx.clear()
    if not ctx.tell(alert.person, lambda: (
            _("Message from {coordinator}, your coordinator:\n“{text}”", coordinator=me.first_name, text=text),
            [Option(_("Reply"), "human"), Option(_("Menu"), "menu")]), about=me.id):
        show_menu(ctx, _("Sorry, I could not pass on your message: {name} cannot be reached on buurtbot now.",
                         name=alert.person.first_name or "?"), about=alert.person_id)
        return
    ctx.say(_("Sent."), menu_options(ctx))
