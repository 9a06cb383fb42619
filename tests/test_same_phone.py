"""Someone enrolled by a coordinator for check-ins by phone (a voice or SMS plan) who later
writes on WhatsApp or SMS from that number is that same person: greeted by name, never asked
to join again. Through the real Twilio inbound path (signed webhooks, Prism)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.i18n import catalog, fill
from models import ChannelIdentity, Outbox, Person
from models.base import utcnow
from models.network import neighbourhood_by_slug
from models.plans import ensure_identity, save_plan
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import db_url, new_number, world  # noqa: F401


def T(lang: str, msgid: str, **params) -> str:
    """As a phone shows it: SMS carries straight apostrophes (bot/channels/twilio/render.py)."""
    return fill(catalog(lang).gettext(msgid), params, lang).replace("’", "'")


def enrol(world, name: str, lang: str, channel: str, *, own_phone: bool = True) -> str:
    """As `buurtbot checkin add` does: a person with a phone, an identity on the plan's channel, a plan."""
    number = new_number()
    with world.rt.sessions() as s, s.begin():
        nb = neighbourhood_by_slug(s, "demo")
        person = Person(neighbourhood_id=nb.id, first_name=name, language=lang, is_resident=True,
                        phone=number if own_phone else None, consent_version="checkin")
        s.add(person)
        s.flush()
        ensure_identity(s, person, channel, number)
        save_plan(s, person, neighbourhood_id=nb.id, channel=channel, days=[0, 3], time_local="10:00", now=utcnow(),
                  consent_how="by phone with Fatima", consent_by="Fatima")
    return number


def people_with(world, number: str) -> set[int]:
    with world.rt.sessions() as s:
        return set(s.scalars(select(ChannelIdentity.person_id).where(ChannelIdentity.address == number)))


@pytest.mark.parametrize("plan_channel,writes_on,lang,own_phone", [
    ("voice", "whatsapp", "nl", True),
    ("voice", "sms", "fr", False),  # known only by the check-in call's identity
    ("sms", "sms", "nl", True),  # the plan's own SMS identity
])
async def test_enrolled_by_phone_then_writes_is_greeted_by_name_not_onboarded(world, plan_channel, writes_on,
                                                                              lang, own_phone):
    number = enrol(world, "Maria", lang, plan_channel, own_phone=own_phone)
    world.phones["Maria"] = (writes_on, number)
    got = await world.say("Maria", "Hallo" if lang == "nl" else "Bonjour")
    text = "\n".join(got).replace("’", "'")
    assert T(lang, "Hello {name}, good to hear from you!", name="Maria") in text
    assert T(lang, "Ask for help") in text  # the menu, in their language
    assert "Nederlands" not in text and "Français" not in text  # no language question: no second onboarding
    assert len(people_with(world, number)) == 1
    with world.rt.sessions() as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == writes_on,
                                                          ChannelIdentity.address == number))
        assert identity.person.first_name == "Maria" and identity.last_inbound_at is not None
    # Greeted once: the next hello is an ordinary message.
    again = "\n".join(await world.say("Maria", "Hallo" if lang == "nl" else "Bonjour")).replace("’", "'")
    assert T(lang, "Hello {name}, good to hear from you!", name="Maria") not in again


async def test_an_enrolled_persons_first_words_asking_for_help_are_greeted_and_proposed(world):
    number = enrol(world, "Maria", "nl", "voice")
    world.phones["Maria"] = ("whatsapp", number)
    text = "\n".join(await world.say("Maria", "Kan iemand morgen boodschappen voor mij doen?"))
    assert T("nl", "Hello {name}, good to hear from you!", name="Maria") in text
    assert T("nl", "Yes") in text and "Nederlands" not in text  # "I understood: shopping ... Is that right?"
    with world.rt.sessions() as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "whatsapp",
                                                          ChannelIdentity.address == number))
        assert identity.person.first_name == "Maria"


async def test_an_unknown_number_still_joins_as_usual(world):
    got = await world.say("Newcomer", "Hallo", channel="sms")
    assert "Nederlands" in "\n".join(got)


async def test_stop_by_sms_stops_the_check_in_calls_to_that_number_and_start_brings_them_back(world):
    """"Not on this number" means the calls too: STOP by SMS opts the voice identity of that number out."""
    number = enrol(world, "Maria", "nl", "voice")
    world.phones["Maria"] = ("sms", number)
    await world.say("Maria", "Hallo")
    with world.rt.sessions() as s, s.begin():
        voice = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "voice",
                                                       ChannelIdentity.address == number))
        s.add(Outbox(idempotency_key="checkin:queued", channel="voice", address=number, identity_id=voice.id,
                     text="Goedemorgen Maria", purpose="checkin"))

    def voice_state():
        with world.rt.sessions() as s:
            return (s.scalar(select(ChannelIdentity.opted_out_at).where(
                ChannelIdentity.channel == "voice", ChannelIdentity.address == number)) is not None,
                s.scalar(select(Outbox.status).where(Outbox.idempotency_key == "checkin:queued")))

    await world.say("Maria", "STOP")
    assert voice_state() == (True, "failed")
    await world.say("Maria", "START")
    assert voice_state()[0] is False
