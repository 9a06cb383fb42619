"""Inputs are typed at the edge (issue 9, point 9): what a platform -- or someone forging its
requests -- puts where a number or a text belongs never reaches a flow as something else.

Twilio: a signed status callback whose ``outbox`` id is too big for a 64-bit integer, negative
or not a number is refused with 400 and changes nothing (it was a 500: SQLite's integer
overflow). Telegram: an update whose text is a number, a list or an object goes through the
real python-telegram-bot webhook against the fake Bot API: a polite answer or nothing, never a
500 or a traceback."""
from __future__ import annotations

import logging
import shutil
from urllib.parse import quote

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.channels.telegram.inbound import chat_id_of, text_of
from bot.channels.twilio.app import outbox_id_of
from bot.channels.twilio.inbound import to_inbound as twilio_inbound
from bot.runtime import Runtime
from models import ChannelIdentity, Outbox
from tests.telegram_fake import TgUser, telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import build_runtime, free_port, serving
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, settings_for


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "edges.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


# ---- Twilio status callbacks -------------------------------------------------------------

@pytest_asyncio.fixture
async def world(twilio_edge, db_url):  # noqa: F811
    w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, db_url)), twilio_edge)
    yield w
    await w.close()


def outbox_snapshot(world) -> list[tuple]:
    with world.rt.sessions() as s:
        return [(r.id, r.status, r.delivery_status, r.error_code, r.text, r.attempts)
                for r in s.scalars(select(Outbox).order_by(Outbox.id))]


@pytest.mark.parametrize("outbox_id", [
    "99999999999999999999",  # beyond a 64-bit integer: SQLite's OverflowError, a 500 before
    str(2 ** 63),  # just beyond
    "-1", "0", "12abc", "1.5", "١٢", "²", "+5", " 5", "0x10",
])
async def test_a_malformed_outbox_id_in_a_signed_status_callback_is_refused(world, outbox_id, caplog):
    await world.say("Maria", "Hallo")
    row_id = outbox_snapshot(world)[-1][0]
    with world.rt.sessions() as s:
        sid = s.get(Outbox, row_id).platform_message_id
    before = outbox_snapshot(world)
    # A real row's MessageSid too: the bad id must not fall back to it and change that row.
    response = await world.status(quote(outbox_id, safe=""), sid, "failed", "30008")  # as a URL carries it
    assert response.status_code in (400, 404), response.text
    assert outbox_snapshot(world) == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_well_formed_outbox_id_still_works(world):
    await world.say("Maria", "Hallo")
    row_id = outbox_snapshot(world)[-1][0]
    with world.rt.sessions() as s:
        sid = s.get(Outbox, row_id).platform_message_id
    assert (await world.status(str(row_id), sid, "delivered")).status_code == 204
    with world.rt.sessions() as s:
        assert s.get(Outbox, row_id).delivery_status == "delivered"
    # the largest id a row can have is an id, not an error (there is no such row: nothing changes)
    before = outbox_snapshot(world)
    assert (await world.status(str(2 ** 63 - 1), "SMnope", "failed", "30008")).status_code == 204
    assert outbox_snapshot(world) == before


def test_outbox_ids_are_read_strictly():
    assert outbox_id_of(None) is None and outbox_id_of("") is None
    assert outbox_id_of("42") == 42 and outbox_id_of(str(2 ** 63 - 1)) == 2 ** 63 - 1
    for bad in ("99999999999999999999", "-1", "0", "²", "١", "4 2", "0042" + "0" * 16):
        with pytest.raises(ValueError):
            outbox_id_of(bad)


@pytest.mark.parametrize("latitude, longitude", [("nan", "nan"), ("inf", "4.3"), ("91", "4.3"), ("x", "1")])
def test_a_twilio_location_that_is_no_place_is_dropped(latitude, longitude):
    form = {"From": "whatsapp:+32470123456", "MessageSid": "SM1", "Body": "hier", "NumMedia": "²",
            "Latitude": latitude, "Longitude": longitude}
    inbound = twilio_inbound(form)
    assert inbound.text == "hier" and inbound.media == ()


# ---- Telegram updates through the real webhook ---------------------------------------------

def test_telegram_values_are_typed_at_the_edge():
    assert text_of("hallo") == "hallo" and text_of(12) == "12" and text_of(1.5) == "1.5"
    assert text_of([1, 2]) == text_of({"a": 1}) == text_of(None) == text_of(True) == ""
    assert chat_id_of(5001) == "5001" and chat_id_of(-100123) == "-100123"
    assert chat_id_of("5001") is chat_id_of(True) is chat_id_of(2 ** 80) is chat_id_of([1]) is None


async def test_non_text_text_in_a_telegram_update_never_breaks_the_webhook(telegram_fake, db_url,  # noqa: F811
                                                                           caplog):
    port = free_port()
    rt = build_runtime(telegram_fake, db_url, telegram_mode="webhook", public_base_url=f"http://127.0.0.1:{port}")
    ana = TgUser(id=6101, first_name="Ana", language_code="nl", username=None)
    async with serving(rt, port):
        # a number where text belongs: read as the digits it shows -> the welcome, in Dutch
        update = telegram_fake.build_text("x", user=ana)
        update["message"]["text"] = 1040
        assert await telegram_fake.apost_webhook(update) == 200
        welcome = await telegram_fake.await_calls("sendMessage", 1, chat_id=ana.id)
        assert "Nederlands" in str(welcome[0].params.get("reply_markup"))
        # a list, an object, a caption that is a number with no text, a button whose data is a number
        odd = []
        for field, value in (("text", ["a", "b"]), ("text", {"bold": "x"}), ("text", None)):
            u = telegram_fake.build_text("x", user=ana)
            u["message"][field] = value
            odd.append(u)
        u = telegram_fake.build_text("x", user=ana)
        u["message"]["chat"]["id"] = "not-a-chat"  # PTB keeps what JSON gave; we never answer it
        odd.append(u)
        for u in odd:
            assert await telegram_fake.apost_webhook(u) == 200
        press = telegram_fake.build_callback_query("lang:nl", user=ana)
        press["callback_query"]["data"] = 7
        assert await telegram_fake.apost_webhook(press) == 200
        # the conversation is still there and answers the next real message
        before = len(telegram_fake.calls_of("sendMessage", chat_id=ana.id))
        assert await telegram_fake.apost_webhook(telegram_fake.build_command("menu", user=ana)) == 200
        await telegram_fake.await_calls("sendMessage", before + 1, chat_id=ana.id)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], \
        [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    with rt.sessions() as s:  # one person on Telegram: nothing was stored for a bogus chat
        assert s.scalar(select(func.count()).select_from(ChannelIdentity)
                        .where(ChannelIdentity.channel == "telegram")) == 1
