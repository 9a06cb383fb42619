"""The social map through the real python-telegram-bot channel and the fake Bot API server, in
Dutch (the physiotherapist's question about social transport, then the warm hand-off) and French
(/services, a category, and the carer's French answer)."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from handlers.directory_file import checked, import_services, read_entries
from handlers.i18n import catalog
from models.cases import Case
from models.directory import Service
from models.network import neighbourhood_by_slug
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.test_socialmap_flow import A15, DIRECTORY, HANDED_OFF
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def with_directory(rt) -> dict[str, int]:
    with rt.sessions() as s, s.begin():
        import_services(s, neighbourhood_by_slug(s, "demo").id, checked(read_entries(DIRECTORY)))
        return {sv.key: sv.id for sv in s.scalars(select(Service))}


def referrals(rt) -> list[tuple[int | None, str]]:
    with rt.sessions() as s:
        return [(c.service_id, c.status) for c in s.scalars(select(Case).where(Case.kind == "referral"))]


def said(lang: str, msgid: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


async def test_telegram_nl_social_transport_question_and_the_warm_hand_off(telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    ids = with_directory(rt)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await join(people, "Lotte")
        await people.say("Lotte", "/menu")
        got = await people.say("Lotte", A15)
        answer = got[-1]
        assert "Sociaal vervoer Demo" in answer["text"] and said("nl", "Where you can go:") in answer["text"]
        assert said("nl", "Phone: {phone}", phone="02 555 03 03") in answer["text"]
        assert buttons_of(answer)[:2] == [f"svc:go:{ids['vervoer']}", "svc:ask"]
        assert referrals(rt) == []
        got = await people.press("Lotte", f"svc:go:{ids['vervoer']}")
        assert got[-1]["text"].startswith(said("nl", HANDED_OFF, contact="Fatima"))
        assert referrals(rt) == [(ids["vervoer"], "open")]
        assert telegram_fake.unanswered_callback_queries() == []


async def test_telegram_fr_services_command_by_category_and_hand_off(telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    ids = with_directory(rt)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await join(people, "Marie", "fr")
        got = await people.say("Marie", "/services", "fr")
        assert got[-1]["text"] == said("fr", "What are you looking for? Choose, or say it in a few words.")
        assert "svc:cat:carers" in buttons_of(got[-1])
        got = await people.press("Marie", "svc:cat:carers")
        text = got[-1]["text"]
        assert "Point aidants proches Demo" in text and "Mantelzorgpunt Demo" not in text
        assert said("fr", "Open now, until {time}.", time="00:00") in text
        got = await people.press("Marie", f"svc:go:{ids['mantelzorgpunt']}")
        assert got[-1]["text"].startswith(said("fr", HANDED_OFF, contact="Fatima"))
        assert referrals(rt) == [(ids["mantelzorgpunt"], "open")]
