"""A Telegram check-in through the real python-telegram-bot channel and the fake Bot API
server: answered by its button, and (the next week) by a typed "1"."""
from __future__ import annotations

import shutil
from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.checkins import contact
from handlers.i18n import catalog
from models import ChannelIdentity
from models.base import TZ
from models.schedules import CheckinOccurrence, CheckinPlan
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running

#: Today 10:00 in Brussels: never inside quiet hours, never later than the real time the sender uses.
TEN = datetime.combine(datetime.now(TZ).date(), datetime.min.time(), tzinfo=TZ).replace(hour=10)


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def say_hello(rt, chat_id: int, week: int) -> int:
    """Maria's plan (made once) and the occurrence of ``week``, contacted: its id."""
    with rt.sessions() as s, s.begin():
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram",
                                                          ChannelIdentity.address == str(chat_id)))
        person = identity.person
        plan = s.scalar(select(CheckinPlan).where(CheckinPlan.person_id == person.id))
        if plan is None:
            plan = CheckinPlan(person_id=person.id, neighbourhood_id=person.neighbourhood_id, channel="telegram",
                               days=[0], time_local="10:00", sender_name="Fatima van het wijkhuis")
            s.add(plan)
            s.flush()
        occ = CheckinOccurrence(key=f"checkin:{plan.id}:week{week}", plan_id=plan.id, person_id=person.id,
                                due_at=TEN, status="waiting")
        s.add(occ)
        s.flush()
        assert contact(s, occ, TEN, step="checkin")
        return occ.id


def answer(rt, occ_id: int) -> tuple[str, str | None]:
    with rt.sessions() as s:
        occ = s.get(CheckinOccurrence, occ_id)
        return occ.status, occ.answer


async def test_a_telegram_checkin_answered_by_button_and_by_typed_1(telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    thanks = catalog("nl").gettext("Thank you, {name}! Good to hear. Have a nice day.").format(name="Maria")
    async with running(rt):
        await join(people, "Maria")
        await people.say("Maria", "/menu")  # out of the first request's question
        chat_id = people.user("Maria").id
        occ: dict[str, int] = {}

        got = await people._after("Maria", lambda: occ.update(first=say_hello(rt, chat_id, 1)))
        hello = got[-1]
        assert hello["text"].startswith(catalog("nl").gettext("Good morning {name}, this is {sender}.").format(
            name="Maria", sender="Fatima van het wijkhuis"))
        assert buttons_of(hello) == [f"ci:{a}:{occ['first']}" for a in ("ok", "call", "help")]
        got = await people.press("Maria", f"ci:ok:{occ['first']}")
        assert got[-1]["text"] == thanks
        assert answer(rt, occ["first"]) == ("answered", "ok")

        await people._after("Maria", lambda: occ.update(second=say_hello(rt, chat_id, 2)))
        got = await people.say("Maria", "1")
        assert got[-1]["text"] == thanks
        assert answer(rt, occ["second"]) == ("answered", "ok")
        assert telegram_fake.unanswered_callback_queries() == []
