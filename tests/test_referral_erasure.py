"""A partner refers someone who has not joined (a first name, a phone, what about: models.cases
``about_name``/``about_phone``); later that person joins by SMS from that number. The referral is
data about them: /mydata says it exists (never who made it), and /delete erases it with the
coordinators' messages that named them -- on SQLite and PostgreSQL (the ``chat`` fixture)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from handlers.i18n import format_day, speaking
from models import Outbox
from models.cases import Case, open_case
from models.network import neighbourhood_by_slug
from models.outbox import mark_delivered
from tests.flowkit import Row, T, dispatcher, has, play  # noqa: F401
from tests.test_cases import invited
from tests.test_erasure_on_disk import database_files
from tests.test_privacy import traces

PHONE = "+32479271828"
NAME = "Zwanhilde"
ABOUT = "Zoekt hulp met de papieren van de mutualiteit"
PARTNER = "Lotte"


def sms(chat, text: str = "", payload: str | None = None) -> list[Outbox]:
    """Zwanhilde sends an SMS; the outbox rows written to her number."""
    with chat.sessions() as s:
        before = s.scalar(select(func.max(Outbox.id))) or 0
    chat.send(PHONE, text, payload, channel="sms")
    assert chat.result == "ok", (text, payload, chat.result)
    with chat.sessions() as s:
        return list(s.scalars(select(Outbox).where(Outbox.id > before, Outbox.channel == "sms", Outbox.address == PHONE)
                              .order_by(Outbox.id)))


def refer(chat) -> None:
    """Lotte, a partner of the demo neighbourhood, refers Zwanhilde with her consent."""
    play(chat, invited("apotheek", PARTNER, "nl", "partner") + [
        Row("apotheek", payload="case:new:refer"),
        Row("apotheek", NAME),
        Row("apotheek", "0479 27 18 28"),
        Row("apotheek", ABOUT),
        Row("apotheek", "Ze is akkoord dat jullie bellen, gezegd aan de toog.", db=referred),
    ])


def referred(s, v) -> None:
    assert s.scalar(select(Case.about_phone).where(Case.kind == "referral")) == PHONE


def on_disk(engine) -> list[str]:
    """Her number or the referral's text in any of SQLite's files (nothing to read on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return []
    return [f"{f.name}: {secret!r}" for f in database_files(Path(engine.url.database)) if f.exists()
            for secret in (PHONE, ABOUT) for enc in ("utf-8", "utf-16-le") if secret.encode(enc) in f.read_bytes()]


def test_a_referral_made_before_someone_joined_is_in_their_mydata_and_erased_with_them(chat, engine):
    refer(chat)
    with chat.sessions() as s, s.begin():  # a referral of someone else stays
        other = open_case(s, "referral", neighbourhood_by_slug(s, "demo").id, text="Iemand anders",
                          about_name="Jos", about_phone="+32470999888").id
        created = s.scalar(select(Case.created_at).where(Case.about_phone == PHONE))
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.text.contains(PHONE))) >= 1
    for text in ("/start", "1", "1040", "ja", NAME):  # she joins by SMS from the number Lotte gave
        sms(chat, text)

    mydata = sms(chat, "/mydata")[-1].text
    with speaking("nl"):
        day = format_day(created)
    assert str(T("Your coordinators follow up {kind} about you, since {date}.", "nl",
                 kind=str(T("a referral", "nl")), date=day)) in mydata
    assert PARTNER not in mydata and "mutualiteit" not in mydata  # not who referred her, nor what they wrote

    assert on_disk(engine) or engine.dialect.name != "sqlite", "the test must see her number on disk before"
    sms(chat, "/delete")
    farewell = sms(chat, "ja")
    with chat.sessions() as s, s.begin():  # the farewell is delivered (and purged) as every sender does
        assert [r.purpose for r in farewell] == ["farewell"]
        mark_delivered(s, [s.get(Outbox, farewell[0].id)])
    with chat.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.about_phone == PHONE)) == 0
        assert s.get(Case, other) is not None
    assert traces(engine, [PHONE, PHONE[3:], ABOUT]) == []
    assert on_disk(engine) == []  # nor in SQLite's files (tests/test_erasure_on_disk.py)
