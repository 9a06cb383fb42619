"""A notifier that needs no inbound message (issue 9, point 24): a tick, a broadcast or a sender
tells people with nothing but a session -- in each person's language, on the channel they last
used, never to whom asked not to be contacted -- on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.demo import seed
from handlers import payloads
from handlers.core import Notifier, Option, load_conversation
from handlers.i18n import _, catalog, speaking
from handlers.undelivered import tell_coordinators
from handlers.waiting import later
from models import ChannelIdentity, Outbox, Person
from models.base import utcnow

QUESTION = "A neighbour asks for help:\n{line}\nCan you do it?"


def add(session, nb, name: str, language: str, *identities: tuple[str, str], **flags) -> Person:
    """A person with channel identities (channel, address), the last one used most recently."""
    person = Person(neighbourhood_id=nb.id, first_name=name, language=language, languages_spoken=[language],
                    consent_at=utcnow(), consent_version="test", **flags)
    session.add(person)
    session.flush()
    for n, (channel, address) in enumerate(identities):
        session.add(ChannelIdentity(channel=channel, address=address, person_id=person.id, language=language,
                                    last_inbound_at=utcnow() - timedelta(minutes=10 - n)))
    session.flush()
    return person


def render():
    return _(QUESTION, line="#7 shopping"), [Option(_("I'll do it"), payloads.claim(7)), Option(_("Menu"), "menu")]


def test_a_notifier_from_a_bare_session(sessions):
    with sessions() as s, s.begin():
        nb = seed(s)
        amelie = add(s, nb, "Amélie", "fr", ("demo", "amelie"))
        jan = add(s, nb, "Jan", "nl", ("demo", "jan-old"), ("telegram", "4242"))
        s.execute(select(ChannelIdentity).where(ChannelIdentity.address == "4242")).scalar_one().opted_out_at = utcnow()
        omar = add(s, nb, "Omar", "en", ("sms", "+32470000001"))
        s.execute(select(ChannelIdentity).where(ChannelIdentity.address == "+32470000001")).scalar_one() \
            .opted_out_at = utcnow()
        piet = add(s, nb, "Piet", "nl", ("demo", "piet"), paused=True)
        dirk = add(s, nb, "Dirk", "nl", ("demo", "dirk"), do_not_contact=True)
        sara = add(s, nb, "Sara", "en", ("whatsapp", "+32470000002"))
        s.flush()
        sara_identity = s.scalar(select(ChannelIdentity.id).where(ChannelIdentity.address == "+32470000002"))
        busy = load_conversation(s, sara_identity)
        busy.step = "ask.where"  # in the middle of a question on WhatsApp
        notifier = Notifier(s, "tick:42")
        notifier.conversations[sara_identity] = busy
        told = notifier.tell_all([amelie, jan, omar, piet, dirk, sara], render)
        notifier.write()
        assert told == 3
    with sessions() as s:
        rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [(r.idempotency_key, r.channel, r.address, r.language) for r in rows] == [
            ("tick:42:1", "demo", "amelie", "fr"),
            ("tick:42:2", "demo", "jan-old", "nl"),  # the newer Telegram chat sent STOP: the older channel
            ("tick:42:3", "whatsapp", "+32470000002", "en"),
        ]
        for row, lang in zip(rows, ("fr", "nl")):
            assert row.text == catalog(lang).gettext(QUESTION).format(line="#7 shopping")
            assert [o["payload"] for o in row.options] == ["claim:7", "menu"]
            assert row.options[0]["label"] == catalog(lang).gettext("I'll do it")
        with speaking("en"):  # mid-question on WhatsApp: no numbers its "1" would not mean
            assert rows[2].options == [] and rows[2].text.endswith(later())
        # the notification waits on Amélie's screen, tagged with what it is about
        waiting = load_conversation(s, s.scalar(select(ChannelIdentity.id).where(ChannelIdentity.address == "amelie")))
        assert waiting.options[0]["payload"] == "claim:7" and waiting.options[0]["topic"]


def test_even_if_paused_and_the_keys_it_is_given(sessions):
    with sessions() as s, s.begin():
        nb = seed(s)
        piet = add(s, nb, "Piet", "nl", ("demo", "piet"), paused=True)
        dirk = add(s, nb, "Dirk", "nl", ("demo", "dirk"), do_not_contact=True)
        notifier = Notifier(s, "alert:9")
        assert notifier.tell_all([piet, dirk], lambda: ("x", []), purpose="alert", even_if_paused=True) == 1
        notifier.write()
    # the same key again (a tick run twice) writes nothing twice
    with pytest.raises(IntegrityError):
        with sessions() as s, s.begin():
            again = Notifier(s, "alert:9")
            again.tell(s.get(Person, piet.id), lambda: ("x", []), even_if_paused=True)
            again.write()
    with sessions() as s:
        assert [r.address for r in s.scalars(select(Outbox))] == ["piet"]


def test_undelivered_tells_coordinators_without_an_inbound(sessions):
    with sessions() as s, s.begin():
        nb = seed(s)
        maria = add(s, nb, "Maria", "nl", ("whatsapp", "+32470000003"))
        held = Outbox(idempotency_key="held:1", channel="whatsapp", address="+32470000003", language="nl",
                      purpose="notify", text="hallo", identity_id=maria.identities[0].id)
        s.add(held)
        s.flush()
        assert tell_coordinators(s, held, "window") == 1
        assert tell_coordinators(s, held, "window") == 0  # once per held row
        row_id = held.id
    with sessions() as s:
        told = s.scalars(select(Outbox).where(Outbox.purpose == "undelivered")).all()
        assert [(r.idempotency_key, r.address, r.language) for r in told] == [(f"undelivered:{row_id}:1",
                                                                              "coordinator", "en")]
        assert "Maria" in told[0].text


def test_tell_an_address_without_a_person(sessions):
    with sessions() as s, s.begin():
        seed(s)
        newcomer = ChannelIdentity(channel="telegram", address="777", language="fr", last_inbound_at=utcnow())
        gone = ChannelIdentity(channel="sms", address="+32470000009", language="nl", opted_out_at=utcnow())
        s.add_all([newcomer, gone])
        s.flush()
        notifier = Notifier(s, "broadcast:1")
        assert notifier.tell_identity(newcomer, render) is True
        assert notifier.tell_identity(gone, render) is False
        notifier.write()
    with sessions() as s:
        rows = s.scalars(select(Outbox)).all()
        assert [(r.idempotency_key, r.address, r.language) for r in rows] == [("broadcast:1:1", "777", "fr")]
        assert rows[0].text == catalog("fr").gettext(QUESTION).format(line="#7 shopping")
        waiting = load_conversation(s, s.scalar(select(ChannelIdentity.id).where(ChannelIdentity.address == "777")))
        assert [o["payload"] for o in waiting.options] == ["claim:7", "menu"]  # its "1" means this now
