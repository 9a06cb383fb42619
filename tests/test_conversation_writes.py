"""How a message writes conversation states, on SQLite and PostgreSQL: they are plain objects
saved with Core at the end of the message (handlers.core.Conversation), so these tests pin what
the unit of work used to guarantee -- one object per row, only changed fields written, a row
created by someone else in the meantime kept -- and the identity touch done without it."""
from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select, update

from bot.demo import CHANNEL, seed
from handlers.core import Context, Conversation, Inbound, Option, load_conversation
from models import ChannelIdentity, ConversationState, HelpRequest, Person
from models.base import utcnow
from models.tasks import claim, create_request


def add_person(session, nb, address: str, name: str, **roles) -> Person:
    person = Person(neighbourhood_id=nb.id, first_name=name, language="en", languages_spoken=["en"],
                    consent_at=utcnow(), consent_version="test", **roles)
    session.add(person)
    session.flush()
    session.add(ChannelIdentity(channel=CHANNEL, address=address, person_id=person.id, language="en",
                                last_inbound_at=utcnow()))
    session.flush()
    return person


def identity_of(session, address: str) -> ChannelIdentity:
    return session.scalar(select(ChannelIdentity).where(ChannelIdentity.address == address))


MESSAGE_IDS = itertools.count(1)


def context_of(session, address: str) -> Context:
    """A context for a message from ``address``, as the dispatcher builds it."""
    identity = identity_of(session, address)
    return Context(session=session, inbound=Inbound(CHANNEL, address, platform_message_id=f"m-{next(MESSAGE_IDS)}"),
                   identity=identity, state=load_conversation(session, identity.id), person=identity.person)


def stored(sessions, address: str) -> ConversationState | None:
    with sessions() as session:
        return session.get(ConversationState, identity_of(session, address).id)


def pick(payload: str):
    return lambda: ("Pick one", [Option("One", payload)])


def test_telling_the_sender_changes_the_same_conversation(sessions):
    """Whatever is said last to the sender is what their typed "1" means, whether it was
    said as a reply or as a notice to them."""
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "fatima", "Fatima", is_coordinator=True)
    with sessions() as session, session.begin():
        ctx = context_of(session, "fatima")
        ctx.say("Reply", [Option("Reply option", "reply")])
        assert ctx.tell(ctx.person, pick("notice"))
        assert ctx.state.options == [{"label": "One", "payload": "notice"}]
        ctx.write()
    assert stored(sessions, "fatima").options == [{"label": "One", "payload": "notice"}]

    with sessions() as session, session.begin():
        ctx = context_of(session, "fatima")
        ctx.tell(ctx.person, pick("notice"))
        ctx.say("Reply", [Option("Reply option", "reply")])
        ctx.write()
    assert stored(sessions, "fatima").options == [{"label": "Reply option", "payload": "reply"}]


def test_only_the_fields_a_message_changed_are_written(sessions):
    """A notice sets the volunteer's options and nothing else: their own conversation moved on
    (here: in the same transaction, as another message would on PostgreSQL) and stays there.
    (A notice to someone already in a flow leaves their options alone: tests/test_open_items.py.)"""
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")
        jan = add_person(session, nb, "jan", "Jan", is_volunteer=True, volunteer_status="approved")
        session.add(ConversationState(identity_id=identity_of(session, "jan").id, step="",
                                      data={}, options=[]))
    with sessions() as session, session.begin():
        ctx = context_of(session, "maria")
        jan = session.get(Person, jan.id)
        assert ctx.tell(jan, pick("claim:1"))
        session.execute(update(ConversationState).where(ConversationState.identity_id == identity_of(session, "jan").id)
                        .values(step="ask.when", data={"category": "lift", "description": "x"}))
        ctx.write()
    state = stored(sessions, "jan")
    assert (state.step, state.data) == ("ask.when", {"category": "lift", "description": "x"})
    assert [(o["label"], o["payload"]) for o in state.options] == [("One", "claim:1")]


def test_a_first_notice_keeps_a_conversation_created_meanwhile(sessions):
    """The first notice to someone who never wrote creates their conversation row; if another
    message created it in the meantime, only the options are set on it."""
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")
        jan = add_person(session, nb, "jan", "Jan", is_volunteer=True, volunteer_status="approved")
    with sessions() as session, session.begin():
        ctx = context_of(session, "maria")
        assert ctx.tell(session.get(Person, jan.id), pick("claim:1"))
        session.add(ConversationState(identity_id=identity_of(session, "jan").id, step="offer.categories",
                                      data={"x": 1}, options=[]))
        session.flush()
        ctx.write()
    state = stored(sessions, "jan")
    assert (state.step, state.data) == ("offer.categories", {"x": 1})
    assert [(o["label"], o["payload"]) for o in state.options] == [("One", "claim:1")]


def test_an_unchanged_conversation_is_not_written(sessions):
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")
        session.add(ConversationState(identity_id=identity_of(session, "maria").id, step="", data={}, options=[]))
    before = stored(sessions, "maria").updated_at
    with sessions() as session, session.begin():
        ctx = context_of(session, "maria")
        ctx.clear()
        ctx.write()
    assert stored(sessions, "maria").updated_at == before
    assert Conversation(1, "x", {}, [], stored=True).changes() == {}
    assert Conversation(1).changes() == {}
    assert Conversation(1, "x").changes() == {"step": "x"}


def test_a_message_after_a_while_touches_and_reactivates_the_identity(sessions, dispatcher):
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")
        identity = identity_of(session, "maria")
        identity.last_inbound_at, identity.active = utcnow() - timedelta(days=2), False
    assert dispatcher.handle(Inbound(CHANNEL, "maria", "/menu", platform_message_id="touch-1")) == "ok"
    with sessions() as session:
        identity = identity_of(session, "maria")
        assert identity.active and utcnow() - identity.last_inbound_at < timedelta(minutes=1)


def test_a_claimed_request_reads_as_claimed(sessions):
    """claim() runs a Core UPDATE; the loaded request is reloaded when next read."""
    with sessions() as session, session.begin():
        nb = seed(session)
        maria = add_person(session, nb, "maria", "Maria")
        jan = add_person(session, nb, "jan", "Jan", is_volunteer=True, volunteer_status="approved")
        req = create_request(session, maria, "shopping", "Milk", "week", None, None)
        assert claim(session, req.id, jan.id)
        assert (req.status, req.claimed_by_id, req.claimed_by.first_name) == ("claimed", jan.id, "Jan")
        assert not claim(session, req.id, maria.id)
    with sessions() as session:
        assert session.get(HelpRequest, req.id).claimed_by_id == jan.id
