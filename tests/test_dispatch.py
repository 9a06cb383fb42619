"""The dispatcher's promises, on SQLite and PostgreSQL: one transaction per inbound message,
a replayed platform message id is processed once, the inbound log keeps no text, a failure
half-way rolls back everything of that message, and logs carry no personal data."""
from __future__ import annotations

import logging

from sqlalchemy import event, func, inspect, select, text

from handlers.core import Inbound
from handlers.i18n import catalog
from handlers.steps import STEPS
from models import ChannelIdentity, ConversationState, HelpRequest, InboundLog, Outbox, Person
from tests.conftest import text_columns
from tests.flowkit import Row, count, dispatcher, person, play, resident, volunteer  # noqa: F401

APOLOGY = "Sorry, something went wrong on our side. Please try again, or type /menu."
SECRET_NAME, SECRET_STREET = "Annemieke", "Geheimstraat"
SECRET = f"Ik ben {SECRET_NAME}, ik woon in de {SECRET_STREET} 99, bel 0470 99 88 77"


def outbox_count(chat) -> int:
    with chat.sessions() as s:
        return count(s, Outbox)


def to_describe(chat, who="maria"):
    play(chat, resident(who, "Maria", "nl") + [Row(who, payload="ask"), Row(who, "1")])


def test_one_transaction_per_message(chat, engine):
    play(chat, resident("maria", "Maria", "nl") + volunteer("jan", "Jan", "nl"))
    begins, commits = [], []
    on_begin, on_commit = begins.append, commits.append
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "commit", on_commit)
    try:
        for text_, payload in (
            ("", "ask"),
            ("1", None),
            ("Melk", None),
            ("", "when:week"),
            ("Kerkstraat 1", None),
            ("ja", None),
        ):
            begins.clear(), commits.clear()
            assert (
                chat.dispatcher.handle(
                    Inbound("demo", "maria", text_, payload, platform_message_id=f"t-{text_}{payload}")
                )
                == "ok"
            )
            assert (len(begins), len(commits)) == (1, 1), (text_, payload, len(begins), len(commits))
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "commit", on_commit)
    with chat.sessions() as s:
        assert count(s, HelpRequest) == 1  # the request and the volunteer's notice, in that one commit
        notices = s.scalars(select(Outbox).where(Outbox.address == "jan", Outbox.purpose == "notify")).all()
        assert sum(any(o["payload"].startswith("claim:") for o in n.options) for n in notices) == 1


def test_a_replayed_message_is_processed_once(chat):
    play(chat, resident("maria", "Maria", "nl") + [Row("maria", payload="ask"), Row("maria", "1"), Row("maria", "Melk"),
                                                   Row("maria", "3"), Row("maria", "Kerkstraat 1")])
    chat.send("maria", "ja", message_id="update-777")
    assert chat.result == "ok"
    before = outbox_count(chat)
    with chat.sessions() as s:
        state = s.scalar(select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == "maria"))
    for _ in range(3):
        assert chat.send("maria", "ja", message_id="update-777") == []
        assert chat.result == "duplicate"
    assert outbox_count(chat) == before
    with chat.sessions() as s:
        assert count(s, HelpRequest) == 1
        assert (
            s.scalar(select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == "maria"))
            == state
        )
        assert (
            s.scalar(select(func.count()).select_from(InboundLog).where(InboundLog.platform_message_id == "update-777"))
            == 1
        )
    # the same id on another channel is another message
    chat.send("someone", "/start", channel="sms", message_id="update-777")
    assert chat.result == "ok" and outbox_count(chat) == before + 1


def test_the_inbound_log_keeps_no_text(chat, engine):
    to_describe(chat)
    chat.send("maria", SECRET, message_id="secret-1")
    assert chat.result == "ok"
    cols = {c["name"] for c in inspect(engine).get_columns("inbound_log")}
    assert cols == {"id", "channel", "platform_message_id", "received_at"}
    with engine.connect() as conn:
        for table, col in [tc for tc in text_columns(engine) if tc[0] == "inbound_log"]:
            for needle in (SECRET_NAME, SECRET_STREET, "0470"):
                assert not conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE CAST("{col}" AS TEXT) LIKE :p'),
                                        {"p": f"%{needle}%"}).scalar(), (col, needle)


def half_way(ctx, answer):
    """A step that changes everything it can, then fails."""
    ctx.person.first_name = "CHANGED"
    ctx.person.address_full = f"{SECRET_STREET} 99"
    ctx.session.add(HelpRequest(neighbourhood_id=ctx.person.neighbourhood_id, requester_id=ctx.person.id,
                                category="shopping", description=answer.text))
    ctx.goto("ask.where", description=answer.text)
    ctx.say("half-way " + answer.text)
    ctx.session.flush()
    raise ValueError(f"cannot handle {answer.text!r} for {ctx.person.first_name} at {ctx.person.address_full}")


def test_a_failure_half_way_rolls_back_everything_of_that_message(chat, monkeypatch):
    to_describe(chat)
    with chat.sessions() as s:
        state_before = s.scalar(
            select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == "maria")
        )
        people_before = count(s, Person)
    monkeypatch.setitem(STEPS, "ask.describe", half_way)
    got = chat.send("maria", SECRET, message_id="boom-1")
    assert chat.result == "error"
    assert [m["text"] for m in got] == [catalog("nl").gettext(APOLOGY)]
    with chat.sessions() as s:
        p = person(s, "maria")
        assert (p.first_name, p.address_full) == ("Maria", None)
        assert count(s, HelpRequest) == 0 and count(s, Person) == people_before
        assert (
            s.scalar(select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == "maria"))
            == state_before
        )
        assert not s.scalar(select(func.count()).select_from(Outbox).where(Outbox.text.like("half-way%")))
        assert not s.scalar(
            select(func.count()).select_from(InboundLog).where(InboundLog.platform_message_id == "boom-1")
        )
    # the platform retries the same message after the fix: processed, not dropped as a duplicate
    monkeypatch.undo()
    got = chat.send("maria", "Melk en brood", message_id="boom-1")
    assert chat.result == "ok" and got[-1]["options"][0]["payload"].startswith("when:")


def test_logs_carry_no_personal_data(chat, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    to_describe(chat, "annemieke")
    monkeypatch.setitem(STEPS, "ask.describe", half_way)
    chat.send("annemieke", SECRET, message_id="log-1")
    assert chat.result == "error"
    monkeypatch.undo()
    chat.send("annemieke", SECRET, message_id="log-2")
    assert chat.result == "ok"
    assert any(r.levelno >= logging.ERROR and r.name.startswith("buurtbot") for r in caplog.records), \
        "the failure itself is logged"
    for r in caplog.records:
        rendered = r.getMessage() + (r.exc_text or "") + repr(r.args)
        if r.exc_info:
            rendered += repr(r.exc_info[1])
        for secret in (SECRET_NAME, SECRET_STREET, "0470 99", "Maria", "CHANGED", "annemieke"):
            assert secret not in rendered, (r.name, r.levelname, rendered[:200])
