"""Many people pressing at once, on SQLite and PostgreSQL, through the whole dispatcher path
(dedupe, state, domain, outbox, one transaction per message).

Threads are released together by a Barrier so that their transactions really overlap. No
timing is asserted: only who won, who was told what, and that nothing was lost or doubled.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.demo import CHANNEL, seed
from handlers.core import Inbound
from handlers.dispatch import Dispatcher
from models import ChannelIdentity, HelpRequest, InboundLog, Outbox, Person
from models.base import utcnow
from models.db import make_engine, make_sessionmaker
from models.tasks import create_request

ADDRESS = "Kerkstraat 12 bus 3, 1040 Etterbeek"


class OnePerThread:
    """A Dispatcher with an engine of its own for each thread, as separate processes would
    have. On SQLite the threads of one engine take turns (models.db.writer_turn); these tests
    are about what the database alone guarantees between writers nobody coordinates."""

    def __init__(self, sessions) -> None:
        self.sessions, self.local, self.engines = sessions, threading.local(), []

    def handle(self, inbound: Inbound) -> str:
        if not hasattr(self.local, "dispatcher"):
            engine = make_engine(self.sessions.kw["bind"].url.render_as_string(hide_password=False))
            self.engines.append(engine)
            self.local.dispatcher = Dispatcher(make_sessionmaker(engine))
        return self.local.dispatcher.handle(inbound)


@pytest.fixture
def dispatcher(sessions):
    per_thread = OnePerThread(sessions)
    yield per_thread
    for engine in per_thread.engines:
        engine.dispose()


def run_together(n: int, work) -> list:
    """Run ``work(i)`` in ``n`` threads that all start at the same moment; return the results
    in order. An exception in a thread fails the test with that exception."""
    barrier = threading.Barrier(n)

    def go(i: int):
        barrier.wait(timeout=60)
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(go, i) for i in range(n)]
        return [f.result(timeout=300) for f in futures]


def add_person(session, nb, address: str, name: str, *, volunteer: bool = False, language: str = "en") -> Person:
    person = Person(neighbourhood_id=nb.id, first_name=name, language=language, languages_spoken=[language],
                    is_resident=not volunteer, is_volunteer=volunteer,
                    volunteer_status="approved" if volunteer else None,
                    max_tasks_per_week=5, consent_at=utcnow(), consent_version="test")
    session.add(person)
    session.flush()
    session.add(ChannelIdentity(channel=CHANNEL, address=address, person_id=person.id, language=language,
                                last_inbound_at=utcnow()))
    session.flush()
    return person


def messages_to(sessions, address: str) -> list[Outbox]:
    with sessions() as session:
        return list(session.scalars(select(Outbox).where(Outbox.channel == CHANNEL, Outbox.address == address)
                                    .order_by(Outbox.id)))


def test_twenty_volunteers_claim_one_request_at_once(sessions, dispatcher):
    volunteers = [f"vol{i:02d}" for i in range(20)]
    with sessions() as session, session.begin():
        nb = seed(session)
        maria = add_person(session, nb, "maria", "Maria")
        ids = {add_person(session, nb, v, f"Vol{i:02d}", volunteer=True).id: v for i, v in enumerate(volunteers)}
        request_id = create_request(session, maria, "shopping", "A pack of water", "week", None, ADDRESS).id

    results = run_together(20, lambda i: dispatcher.handle(Inbound(
        CHANNEL, volunteers[i], payload=f"claim:{request_id}", platform_message_id=f"claim-{i}")))

    assert results == ["ok"] * 20
    with sessions() as session:
        req = session.get(HelpRequest, request_id)
        assert req.status == "claimed"
        assert req.claimed_by_id in ids
        winner = ids[req.claimed_by_id]

    replies = {v: [m.text for m in messages_to(sessions, v)] for v in volunteers}
    # one reply each; the winner's task is followed by "when will you go?" (handlers/reminders.py)
    assert all(len(texts) == (2 if v == winner else 1) for v, texts in replies.items()), replies
    yours = [v for v, texts in replies.items() if f"Request #{request_id} is yours" in texts[0]]
    assert yours == [winner]
    assert ADDRESS in replies[winner][0]
    for v in volunteers:
        if v != winner:
            text = replies[v][0]
            assert "Someone else" in text, text
            assert "Kerkstraat 12" not in text and "is yours" not in text
    told = [m.text for m in messages_to(sessions, "maria")]
    assert len(told) == 1 and f"Vol{volunteers.index(winner):02d}" in told[0]


def test_same_message_delivered_ten_times_at_once_is_handled_once(sessions, dispatcher):
    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")

    # A replayed webhook: the same platform message id arrives on ten workers at once.
    results = run_together(10, lambda i: dispatcher.handle(Inbound(
        CHANNEL, "maria", payload="ask", platform_message_id="update-4711")))
    # And a newcomer's /start, whose first delivery also creates the channel identity.
    newcomer = run_together(10, lambda i: dispatcher.handle(Inbound(
        CHANNEL, "newcomer", "/start", platform_message_id="update-4712")))

    assert sorted(results) == ["duplicate"] * 9 + ["ok"]
    assert sorted(newcomer) == ["duplicate"] * 9 + ["ok"]
    assert len(messages_to(sessions, "maria")) == 1
    assert len(messages_to(sessions, "newcomer")) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundLog)) == 2
        assert session.scalar(select(func.count()).select_from(ChannelIdentity)
                              .where(ChannelIdentity.address == "newcomer")) == 1


def test_requesters_writing_at_the_same_time_all_get_their_replies(sessions, dispatcher):
    people = [f"resident{i}" for i in range(6)]
    with sessions() as session, session.begin():
        nb = seed(session)
        for i, who in enumerate(people):
            add_person(session, nb, who, f"Res{i}")
        add_person(session, nb, "jan", "Jan", volunteer=True)

    steps = [{"payload": "ask"}, {"payload": "cat:shopping"}, {"text": "Bread from the bakery, {who}"},
             {"payload": "when:week"}, {"text": "Kerkstraat {n}, 1040 Etterbeek"}, {"payload": "yes"}]

    def ask_for_help(i: int) -> list[str]:
        who, out = people[i], []
        for k, step in enumerate(steps):
            text = step.get("text", "").format(who=who, n=i + 1)
            out.append(dispatcher.handle(Inbound(CHANNEL, who, text, step.get("payload"),
                                                 platform_message_id=f"{who}-{k}")))
        return out

    results = run_together(len(people), ask_for_help)

    assert results == [["ok"] * len(steps)] * len(people)
    with sessions() as session:
        reqs = session.scalars(select(HelpRequest).order_by(HelpRequest.id)).all()
        by_requester = {r.requester.first_name: r for r in reqs}
        assert sorted(by_requester) == sorted(f"Res{i}" for i in range(len(people)))
        for i, who in enumerate(people):
            req = by_requester[f"Res{i}"]
            assert req.status == "open" and req.description == f"Bread from the bakery, {who}"
            assert req.address.address_full == f"Kerkstraat {i + 1}, 1040 Etterbeek"
    for who in people:
        texts = [m.text for m in messages_to(sessions, who)]
        assert len(texts) == len(steps), texts
        assert "went to the volunteers" in texts[-1]
    # Jan heard about every one of them, each exactly once.
    notices = [m.text for m in messages_to(sessions, "jan")]
    assert len(notices) == len(people)
    assert sorted(n.count("A neighbour asks for help") for n in notices) == [1] * len(people)


def test_first_messages_of_a_newcomer_arriving_together_are_both_answered(sessions, dispatcher):
    """A new person taps /start and types something at once: two different messages, one new
    channel identity. Neither may fail with "something went wrong"."""
    with sessions() as session, session.begin():
        seed(session)

    texts = ["/start", "hallo"]
    results = run_together(2, lambda i: dispatcher.handle(Inbound(
        CHANNEL, "newcomer", texts[i], platform_message_id=f"first-{i}")))

    assert results == ["ok", "ok"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ChannelIdentity)
                              .where(ChannelIdentity.address == "newcomer")) == 1
    replies = [m.text for m in messages_to(sessions, "newcomer")]
    assert len(replies) == 2 and not any("went wrong" in r for r in replies)


def test_first_notifications_to_a_coordinator_from_new_volunteers_at_once(sessions, dispatcher):
    """The seeded coordinator has never written, so has no conversation state yet: new
    volunteers finishing their offer at the same moment all notify them."""
    people = ["ana", "bram", "chloe", "dirk", "eva", "farid"]
    with sessions() as session, session.begin():
        nb = seed(session)
        for who in people:
            add_person(session, nb, who, who.title())

    steps = [{"payload": "offer"}, {"text": "1 3"}, {"text": "nl fr"}, {"payload": "cap:2"}]
    for who in people:
        for k, s in enumerate(steps):
            assert dispatcher.handle(Inbound(CHANNEL, who, s.get("text", ""), s.get("payload"),
                                             platform_message_id=f"{who}-{k}")) == "ok"

    # The last answer (no duo visits) finishes the offer and tells the coordinator.
    results = run_together(len(people), lambda i: dispatcher.handle(Inbound(
        CHANNEL, people[i], payload="no", platform_message_id=f"{people[i]}-last")))

    assert results == ["ok"] * len(people)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Person)
                              .where(Person.volunteer_status == "pending")) == len(people)
    alerts = [m.text for m in messages_to(sessions, "coordinator")]
    assert sorted(a.split(":")[1].split("(")[0].strip() for a in alerts) == sorted(p.title() for p in people)


def test_a_deadlock_victim_is_run_again_and_answered_once(sessions, dispatcher, monkeypatch):
    """PostgreSQL resolves a deadlock by rolling one transaction back (SQLSTATE 40P01): the
    dispatcher runs that message again, so the person gets one normal answer, no apology, and
    nothing of the failed attempt remains."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    import handlers.dispatch as dispatch_module

    with sessions() as session, session.begin():
        nb = seed(session)
        add_person(session, nb, "maria", "Maria")

    real_route, calls = dispatch_module.route, []

    def route_deadlocking_once(ctx):
        calls.append(1)
        real_route(ctx)  # writes the reply and the state ...
        if len(calls) == 1:  # ... and then this transaction is the deadlock victim
            ctx.session.flush()
            raise OperationalError(
                "UPDATE conversation_states ...", {}, psycopg.errors.DeadlockDetected("deadlock detected")
            )

    monkeypatch.setattr(dispatch_module, "route", route_deadlocking_once)
    result = dispatcher.handle(Inbound(CHANNEL, "maria", payload="ask", platform_message_id="dl-1"))

    assert result == "ok" and len(calls) == 2
    texts = [m.text for m in messages_to(sessions, "maria")]
    assert len(texts) == 1 and "went wrong" not in texts[0]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundLog)) == 1


def test_requests_in_several_languages_confirmed_at_once_while_volunteers_press(sessions, dispatcher):
    """Each confirmed request notifies every volunteer (those sharing the requester's language
    first), so concurrent confirmations write the same volunteers' rows in different orders --
    the classic deadlock. Every message must still be answered, each notice sent once."""
    residents = [f"res{i}" for i in range(8)]
    volunteers = [f"vol{i}" for i in range(10)]
    langs = ("nl", "fr", "en")
    with sessions() as session, session.begin():
        nb = seed(session)
        for i, who in enumerate(residents):
            add_person(session, nb, who, f"Res{i}", language=langs[i % 3])
        for i, who in enumerate(volunteers):
            add_person(session, nb, who, f"Vol{i}", volunteer=True, language=langs[(i + 1) % 3])
    steps = [{"payload": "ask"}, {"payload": "cat:shopping"}, {"text": "Bread, please"},
             {"payload": "when:week"}, {"text": "Kerkstraat 7, 1040 Etterbeek"}]
    for who in residents:
        for k, s in enumerate(steps):
            assert dispatcher.handle(Inbound(CHANNEL, who, s.get("text", ""), s.get("payload"),
                                             platform_message_id=f"{who}-{k}")) == "ok"
    for who in volunteers:  # volunteers have chatted before (so they have a conversation state)
        assert dispatcher.handle(Inbound(CHANNEL, who, "/menu", platform_message_id=f"{who}-menu")) == "ok"

    everyone = residents + volunteers
    results = run_together(len(everyone), lambda i: dispatcher.handle(Inbound(
        CHANNEL, everyone[i], payload="yes" if i < len(residents) else "open",
        platform_message_id=f"{everyone[i]}-go")))

    assert results == ["ok"] * len(everyone)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(HelpRequest)
                              .where(HelpRequest.status == "open")) == len(residents)
    for who in volunteers:
        got = messages_to(sessions, who)
        notices = [m.options[0]["payload"] for m in got if m.purpose == "notify"]
        # one notice per request (in the volunteer's own language), and the answer to "open"
        assert len(notices) == len(set(notices)) == len(residents), (who, notices)
        assert all(p.startswith("claim:") for p in notices)
        assert len([m for m in got if m.purpose == "reply"]) == 2  # the menu, and the open requests


def test_on_sqlite_the_threads_of_one_process_write_one_after_the_other(sessions):
    """Threads of one process wait for each other in Python, where they are woken at once,
    rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms."""
    with sessions() as session, session.begin():
        nb = seed(session)
        for i in range(8):
            add_person(session, nb, f"p{i}", f"P{i}")
    shared = Dispatcher(sessions)
    inside, most = [0], [0]
    lock = threading.Lock()
    real_once = shared._once

    def counting_once(*args):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            return real_once(*args)
        finally:
            with lock:
                inside[0] -= 1

    shared._once = counting_once
    results = run_together(8, lambda i: shared.handle(Inbound(CHANNEL, f"p{i}", "/menu", platform_message_id=f"m{i}")))
    assert results == ["ok"] * 8
    serial = sessions.kw["bind"].dialect.name == "sqlite"
    assert (most[0] == 1) == serial  # PostgreSQL's own row locks let them overlap


def test_the_outbox_sender_and_the_scheduler_wait_for_the_same_turn(sessions):
    """On SQLite the dispatcher, the senders and the scheduler of one process take turns on one
    lock (models.db.writer_turn), so none of them sleeps in SQLite's busy handler."""
    from bot.channels.outbox_sender import OutboxSender
    from models.db import writer_turn
    from scheduler.runner import Ticks

    engine = sessions.kw["bind"]
    if engine.dialect.name != "sqlite":
        assert not hasattr(engine, "writer_turn")  # PostgreSQL: row locks, nothing to hold
        return
    sender = OutboxSender()
    sender.sessions = sessions
    ticks = Ticks(sessions)
    done = []
    with writer_turn(sessions):  # a dispatch holds the turn
        workers = [threading.Thread(target=sender._record, args=(lambda s: done.append("sender"),)),
                   threading.Thread(target=lambda: (ticks.tick(), done.append("tick")))]
        for w in workers:
            w.start()
        for w in workers:
            w.join(0.3)
        assert done == []  # both wait for the turn, not for SQLite
    for w in workers:
        w.join(10)
    assert sorted(done) == ["sender", "tick"]
