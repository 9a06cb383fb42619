"""Privacy: /delete leaves no trace of a person's first name, phone number or address in any
text column of any table, after a full story (asked, listed, claimed, messages relayed,
a person talked to, data looked at), on SQLite and PostgreSQL. And /mydata shows everything.

The requester writes on the "sms" channel (the dispatcher is channel-neutral); her
messages are read straight from the outbox, and the farewell is delivered with
models.outbox.mark_delivered, as every channel sender does.
"""
from __future__ import annotations

from handlers.lexicon import LANGUAGES

from sqlalchemy import select, text

from models.outbox import mark_delivered

from handlers.i18n import catalog
from models import ChannelIdentity, HelpRequest, Outbox, Person, RequestAddress
from tests.conftest import text_columns
from tests.flowkit import Row, T, dispatcher, has, play, resident, volunteer  # noqa: F401

PHONE = "+32470123456"
NAME = "Marieke"
STREET = "Zonnebloemstraat"
ADDRESS = f"{STREET} 17, 1040 Etterbeek"
TRACES = [NAME, PHONE, PHONE[3:], STREET, f"{STREET} 17"]


def sms(chat, text: str = "", payload: str | None = None) -> list[Outbox]:
    """Marieke sends an SMS; returns the outbox rows written to her number."""
    with chat.sessions() as s:
        before = s.scalar(select(Outbox.id).order_by(Outbox.id.desc()).limit(1)) or 0
    chat.send(PHONE, text, payload, channel="sms")
    assert chat.result == "ok", (text, payload, chat.result)
    with chat.sessions() as s:
        return list(s.scalars(select(Outbox).where(Outbox.id > before, Outbox.channel == "sms", Outbox.address == PHONE)
                              .order_by(Outbox.id)))


def traces(engine, needles=TRACES) -> list[str]:
    """Every (table.column, needle) where a needle occurs in any text column of any table."""
    found = []
    columns = list(text_columns(engine))  # the inspector reads first: SQLite has one writer at a time
    with engine.connect() as conn:
        for table, col in columns:
            for needle in needles:
                n = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE CAST("{col}" AS TEXT) LIKE :p'),
                                 {"p": f"%{needle}%"}).scalar()
                if n:
                    found.append(f"{table}.{col} has {needle!r} ({n}x)")
    return found


def full_story(chat) -> dict:
    for t in ("/start", "1", "1040", "ja", NAME, "1"):
        sms(chat, t)
    with chat.sessions() as s, s.begin():
        s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == PHONE)).person.phone = PHONE
    v = play(chat, volunteer("jan", "Jan", "fr") + volunteer("kim", "Kim", "en"))
    for t in ("/vraag", "1", "Melk en brood, en de krant"):
        sms(chat, t)
    sms(chat, "", "when:tomorrow")
    sms(chat, ADDRESS)
    sms(chat, "ja")
    with chat.sessions() as s:
        req = s.scalar(select(HelpRequest).order_by(HelpRequest.id.desc()).limit(1))
        v["req"] = req.id
        assert req.requester.first_name == NAME and req.address.address_full == ADDRESS
    play(chat, [
        Row("coordinator", payload="coord:open", reply=has(NAME, STREET)),
        Row("jan", payload="open", reply=has(NAME, STREET)),
        Row("jan", payload=f"claim:{v['req']}", reply=has(ADDRESS, PHONE)),
        Row("jan", payload="tasks", reply=has(NAME, STREET)),
        Row("coordinator", payload="coord:volunteers"),
    ], v)
    assert any(f"#{v['req']}" in r.text for r in sms(chat, "", "mine"))
    sms(chat, "", f"msg:{v['req']}")
    sms(chat, f"Ik woon op {STREET} 17, bel twee keer aan. Mijn gsm: {PHONE}")
    play(chat, [
        Row("jan", payload=f"msg:{v['req']}"),
        Row("jan", f"D'accord {NAME}, je passe à {STREET} vers 10h", told={}),
    ], v)
    sms(chat, "", "human")
    sms(chat, f"Kan iemand mij bellen op {PHONE}? Ik ben {NAME}.")
    sms(chat, "Help, ambulance, ik ben gevallen en kan niet recht")
    mydata = sms(chat, "/mydata")
    assert mydata and NAME in mydata[-1].text
    return v


def test_delete_leaves_no_trace(chat, engine):
    v = full_story(chat)
    assert set(traces(engine)) >= {f"people.first_name has {NAME!r} (1x)"}  # the search itself finds things

    confirm = sms(chat, "/delete")
    assert [o["payload"] for o in confirm[-1].options] == ["delete:yes", "delete:no"]
    with chat.sessions() as s:
        marieke = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == PHONE)).person_id
    farewell = sms(chat, "ja")

    # the farewell was written once, to her number, to be purged once sent
    assert len(farewell) == 1
    row = farewell[0]
    assert row.purpose == "farewell" and row.purge_after_send and row.status == "pending"
    assert row.text and NAME not in row.text and PHONE not in row.text and row.identity_id is None
    # deliver it as every channel sender does
    with chat.sessions() as s, s.begin():
        delivered = s.scalars(select(Outbox).where(Outbox.channel == "sms", Outbox.address == PHONE,
                                                   Outbox.status == "pending")).all()
        assert [r.id for r in delivered] == [row.id], "only the farewell is still to be sent to her"
        mark_delivered(s, delivered)

    # the claimer was told, in his language
    told = chat.new("jan")
    assert any(m["text"] == str(T("Request #{id} was cancelled. No need to go any more, thank you!", "fr", id=v["req"]))
               for m in told), [m["text"] for m in told]

    # the request is kept for the neighbourhood's counts, anonymised
    with chat.sessions() as s:
        req = s.get(HelpRequest, v["req"])
        assert req is not None and req.requester_id is None and req.description == "" and req.street is None
        assert req.status == "cancelled" and req.on_behalf_of is None
        assert s.get(RequestAddress, v["req"]) is None
        assert s.get(Person, marieke) is None
        assert s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == PHONE)) is None

    assert traces(engine) == []

    # she can come back as someone new, and nothing of before is shown
    back = sms(chat, "/start")
    assert back and not any(NAME in r.text for r in back)


def test_delete_of_a_volunteer_leaves_no_trace_of_them(chat, engine):
    """The other side: a volunteer who claimed and messaged deletes their data."""
    full_story(chat)
    play(chat, [
        Row("kim", "/delete"),
        Row("kim", "yes"),
        Row("jan", "/delete"),
        Row("jan", "oui", told={}),
    ])
    with chat.sessions() as s:
        # Jan's claim went back to open, so another volunteer can take it
        req = s.scalar(select(HelpRequest).order_by(HelpRequest.id.desc()).limit(1))
        assert req.claimed_by_id is None and req.status == "open"
    chat.new("jan"), chat.new("kim")  # the farewells are delivered and purged
    left = traces(engine, ["Jan", "Kim"])
    # "Jan" may not appear anywhere any more ("Janssens"-like substrings in other data do not exist here)
    assert left == [], left


def test_mydata_shows_everything_kept(chat):
    full_story(chat)
    rows = sms(chat, "/mijngegevens")
    text_ = rows[-1].text
    for part in (NAME, ADDRESS, PHONE, "sms", "Melk en brood, en de krant", "Demo"):
        assert part in text_, part
    assert [o["payload"] for o in rows[-1].options][:1] == ["ask"]
    with chat.sessions() as s:
        me = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == PHONE)).person
        ids = [r.id for r in s.scalars(select(HelpRequest).where(HelpRequest.requester_id == me.id))]
    assert ids and all(f"#{i}" in text_ for i in ids)


def test_mydata_and_delete_for_someone_unknown(chat):
    got = chat.send("nobody", "/mydata")
    assert got[-1]["text"] == catalog("nl").gettext("We do not keep anything about you. Type /start to join.")
    got = chat.send("nobody", "/delete")
    assert got[-1]["text"] == catalog("nl").gettext("We do not keep anything about you. Type /start to join.")
    with chat.sessions() as s:
        assert s.scalar(select(Person).where(Person.first_name == "")) is None


def test_erase_through_the_dispatcher_is_one_transaction(chat, engine, monkeypatch):
    """If erasing fails half-way, nothing is erased (and the person is told to try again)."""
    full_story(chat)
    sms(chat, "/delete")
    import handlers.account as account

    real = account.erase

    def erase_then_fail(session, person):
        real(session, person)
        raise RuntimeError("disk full")

    monkeypatch.setattr(account, "erase", erase_then_fail)
    chat.send(PHONE, "ja", channel="sms")
    assert chat.result == "error"
    with chat.sessions() as s:
        me = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == PHONE)).person
        assert me.first_name == NAME and me.address_full == ADDRESS
        assert s.scalar(select(HelpRequest).where(HelpRequest.requester_id == me.id)).description


def test_coming_back_after_delete_is_heard(chat):
    """The farewell is purged once read; the persona's next message must still show up (on
    SQLite a deleted newest outbox row used to hand its id to the next message, which the
    reader's "after" cursor then skipped)."""
    play(chat, resident("ria", "Ria", "nl") + [Row("ria", "/delete"), Row("ria", "ja")])
    with chat.sessions() as s:
        assert not s.scalars(
            select(Outbox).where(Outbox.address == "ria", Outbox.status.in_(("pending", "sent")))
        ).all()
    got = chat.send("ria", "/start")
    assert got and [o["payload"] for o in got[-1]["options"]] == [f"lang:{code}" for code in LANGUAGES]
    play(chat, [Row("ria", "1"), Row("ria", "1040", reply=has(options=("yes", "no")))])


def test_lists_that_name_neighbours_are_not_kept_after_delivery(chat):
    play(chat, volunteer("jan", "Jan", "nl") + [
        Row("maria", "/start"), Row("maria", "1"), Row("maria", "1040"), Row("maria", "ja"), Row("maria", NAME),
        Row("maria", "1"), Row("maria", payload="ask"), Row("maria", "1"), Row("maria", "Melk"), Row("maria", "3"),
        Row("maria", ADDRESS), Row("maria", "ja"),
        Row("jan", payload="open", reply=has(NAME, STREET)),
        Row("coordinator", payload="coord:open", reply=has(NAME, STREET)),
    ])
    with chat.sessions() as s:
        views = s.scalars(
            select(Outbox).where(Outbox.address.in_(("jan", "coordinator")), Outbox.text.like(f"%{NAME}%"))
        ).all()
        # only the notice about her request is kept, and it is redacted when she deletes her data
        assert [v.about_person_id is not None for v in views] == [True] * len(views) and views
