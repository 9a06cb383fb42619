"""The Telegram fake works with the real python-telegram-bot: it accepts what Telegram accepts,
refuses (and records) what Telegram refuses, plays scripted errors so PTB raises its real
exceptions, and feeds updates to an Application by long polling and by webhook."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import html
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (BadRequest, Conflict, EndPointNotFound, Forbidden, NetworkError,
                            RetryAfter)
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from tests.telegram_fake import (FAKE_JPEG, SECRET_HEADER, FormattingError, RateLimits, TgUser,
                                 group_chat, parse_html, parse_markdown_v2, serve_asgi_app,
                                 telegram_fake)  # noqa: F401  (telegram_fake is the fixture)

ROOT = Path(__file__).resolve().parents[1]
# PTB warns about its own int retry_after when it builds RetryAfter; not our concern here.
IGNORE_RETRY_AFTER_DEPRECATION = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
ANNA = TgUser(1001, "Anna", language_code="nl")
KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Ik help", callback_data="help:42"),
                                  InlineKeyboardButton("Website", url="https://buurtbot.nl")]])


@contextlib.asynccontextmanager
async def polling(app):
    """Run a PTB Application with the updater polling the fake, and stop it cleanly."""
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=2))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


# -- accepted calls --------------------------------------------------------------------------

async def test_get_me_answers_the_configured_username(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        assert (await bot.get_me()).username == "buurtbot_test_bot"
    telegram_fake.username = "andere_buurtbot"
    async with telegram_fake.make_bot() as bot:
        me = await bot.get_me()
    assert me.username == "andere_buurtbot" and me.is_bot and me.id == telegram_fake.bot_id
    assert [c.method for c in telegram_fake.calls] == ["getMe"] * 4  # initialize() calls it too


async def test_send_message_with_inline_keyboard_is_accepted(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        first = await bot.send_message(1001, "Wie helpt?", reply_markup=KEYBOARD)
        second = await bot.send_message(1001, "Nog een vraag")
    assert second.message_id > first.message_id
    assert (first.chat.id, first.text, first.reply_markup) == (1001, "Wie helpt?", KEYBOARD)
    assert first.from_user.username == telegram_fake.username
    call = telegram_fake.last_call("sendMessage", text="Wie helpt?")
    assert call.chat_id == 1001  # form-encoded "1001", parsed as the spec's Integer
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "help:42"
    assert telegram_fake.sent_texts(1001) == ["Wie helpt?", "Nog een vraag"]


async def test_json_form_and_query_bodies_are_all_understood(telegram_fake):
    url = f"{telegram_fake.base_url}{telegram_fake.token}/sendMessage"
    markup = {"inline_keyboard": [[{"text": "Ja", "callback_data": "ja"}]]}
    async with httpx.AsyncClient() as client:
        as_json = await client.post(url, json={"chat_id": 1001, "text": "json", "reply_markup": markup,
                                               "disable_notification": True})
        as_form = await client.post(url, data={"chat_id": "1001", "text": "form"})
        as_query = await client.get(url, params={"chat_id": "1001", "text": "query"})
        with telegram_fake.expect_violation("expected Boolean"):
            wrong_type = await client.post(url, json={"chat_id": 1001, "text": "x",
                                                      "disable_notification": "ja"})
        with telegram_fake.expect_violation("wrong bot token"):
            wrong_token = await client.post(f"{telegram_fake.base_url}1:nope/getMe")
    assert [r.status_code for r in (as_json, as_form, as_query)] == [200, 200, 200]
    assert as_json.json()["result"]["reply_markup"] == markup
    assert wrong_type.json() == {"ok": False, "error_code": 400, "description":
                                 "Bad Request: disable_notification: expected Boolean, got 'ja'"}
    assert wrong_token.status_code == 401


# -- refused calls are Telegram's errors and violations ----------------------------------------

async def test_callback_data_of_65_bytes_is_refused(telegram_fake):
    too_long = "a" * 63 + "é"  # 64 characters but 65 bytes: Telegram counts bytes
    just_fits = "a" * 62 + "é"
    async with telegram_fake.make_bot() as bot:
        with telegram_fake.expect_violation("BUTTON_DATA_INVALID") as found:
            with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
                await bot.send_message(1001, "Kies", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Ja", callback_data=too_long)]]))
        await bot.send_message(1001, "Kies", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("Ja", callback_data=just_fits)]]))
    assert "65 bytes" in found[0].description
    assert telegram_fake.calls_of("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"] == just_fits


@pytest.mark.parametrize("text", [
    "Hallo <script>alert(1)</script>",  # an unescaped user fragment
    "Soep & brood",
    "1 < 2",
    "3 > 2",
    "<b>vet zonder eind",
    "regel<br>regel",
    '<span class="rood">x</span>',
    "<b><i>kruislings</b></i>",
    "&nbsp;",
])
async def test_malformed_html_is_refused(telegram_fake, text):
    async with telegram_fake.make_bot() as bot:
        with telegram_fake.expect_violation("can't parse entities"):
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(1001, text, parse_mode=ParseMode.HTML)
    assert telegram_fake.calls_of("sendMessage") == []


async def test_well_formed_html_is_accepted_and_parsed_into_entities(telegram_fake):
    user_fragment = html.escape("<script> & co")
    async with telegram_fake.make_bot() as bot:
        sent = await bot.send_message(
            1001, f'<b>Hoi</b> {user_fragment} <a href="https://buurtbot.nl/?a=1&amp;b=2">link</a>'
                  ' <tg-spoiler>geheim</tg-spoiler> <pre><code class="language-python">x = 1</code></pre>',
            parse_mode=ParseMode.HTML)
    assert sent.text == "Hoi <script> & co link geheim x = 1"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("bold", 0, 3), ("text_link", 18, 4), ("spoiler", 23, 6), ("pre", 30, 5)]
    assert sent.entities[1].url == "https://buurtbot.nl/?a=1&b=2"
    assert sent.entities[3].language == "python"


async def test_text_length_is_checked_after_entity_parsing(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        await bot.send_message(1001, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
        with telegram_fake.expect_violation("message is too long"):
            with pytest.raises(BadRequest):
                await bot.send_message(1001, "x" * 4097)
        with telegram_fake.expect_violation("message text is empty"):
            with pytest.raises(BadRequest):
                await bot.send_message(1001, "<b> </b>", parse_mode=ParseMode.HTML)


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage':telegram.warnings.PTBUserWarning")
async def test_unknown_missing_and_mistyped_parameters_are_refused(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        with telegram_fake.expect_violation("unknown parameter 'colour'"):
            with pytest.raises(BadRequest, match="(?i)unknown parameter"):
                await bot.send_message(1001, "Hoi", api_kwargs={"colour": "rood"})
        with telegram_fake.expect_violation("text is required"):
            with pytest.raises(BadRequest):
                await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1001})
        with telegram_fake.expect_violation("parse_mode"):
            with pytest.raises(BadRequest):
                await bot.send_message(1001, "Hoi", parse_mode="html")
        with telegram_fake.expect_violation("unknown method 'sendMesage'"):
            with pytest.raises(EndPointNotFound):
                await bot.do_api_request("send_mesage", api_kwargs={"chat_id": 1001, "text": "x"})
        with telegram_fake.expect_violation("exactly one of"):
            with pytest.raises(BadRequest):  # a button that does nothing
                await bot.send_message(1001, "Hoi", reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("Niets")]]))


def test_markdown_v2_reserved_characters_must_be_escaped():
    assert parse_markdown_v2(r"*Prijs:* 5\.00 euro\!").text == "Prijs: 5.00 euro!"
    assert parse_markdown_v2(r"[de site](https://buurtbot.nl/a_b) en `code_x`").text == "de site en code_x"
    for bad in ("Prijs: 5.00", "*vet", "a_b", "(haakjes)"):
        with pytest.raises(FormattingError):
            parse_markdown_v2(bad)


def test_html_entities_count_utf16_like_telegram():
    parsed = parse_html("👋 <i>hoi</i>")
    assert parsed.entities == [{"type": "italic", "offset": 3, "length": 3}]
    with pytest.raises(FormattingError, match='unsupported start tag "script" at byte offset 5'):
        parse_html("👋 <script>")


# -- scripted errors ---------------------------------------------------------------------------

@IGNORE_RETRY_AFTER_DEPRECATION
async def test_scripted_429_raises_retry_after(telegram_fake):
    telegram_fake.script_error("429", "sendMessage", retry_after=7)
    async with telegram_fake.make_bot() as bot:
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(1001, "Te snel")
        await bot.send_message(1001, "Weer goed")  # the script was for one call
    assert raised.value.retry_after in (7, dtm.timedelta(seconds=7))
    assert [(r.method, r.status) for r in telegram_fake.request_log if r.method == "sendMessage"] == [
        ("sendMessage", 429), ("sendMessage", 200)]
    assert telegram_fake.violations == []


async def test_scripted_403_for_one_chat_raises_forbidden(telegram_fake):
    telegram_fake.script_error("blocked", chat_id=4242, times=None)  # until cleared
    async with telegram_fake.make_bot() as bot:
        for _ in range(2):
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(4242, "Hallo?")
        await bot.send_message(1001, "Andere chat werkt")
        telegram_fake.clear_scripts()
        await bot.send_message(4242, "Weer deblokkeerd")


async def test_scripted_400_chat_not_found(telegram_fake):
    telegram_fake.script_error("chat_not_found", "sendMessage")
    async with telegram_fake.make_bot() as bot:
        with pytest.raises(BadRequest, match="(?i)chat not found"):
            await bot.send_message(777, "Wie?")


async def test_dropped_connection_raises_network_error(telegram_fake):
    telegram_fake.script_error("drop", "sendMessage")
    async with telegram_fake.make_bot() as bot:
        with pytest.raises(NetworkError):  # TimedOut is a NetworkError too
            await bot.send_message(1001, "Weg")
        assert (await bot.send_message(1001, "Er weer")).text == "Er weer"
    assert telegram_fake.request_log[-2].status is None


@IGNORE_RETRY_AFTER_DEPRECATION
async def test_rate_limits_are_counted_not_failed(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        for number in range(3):
            await bot.send_message(1001, f"Bericht {number}")
        assert {h.rule for h in telegram_fake.rate_limit_hits} == {"per_chat_per_second"}
        telegram_fake.rate_limits = RateLimits(overall_per_second=2, per_chat_per_second=100)
        for chat_id in (1, 2, 3):
            await bot.send_message(chat_id, "Rondzending")
        assert any(h.rule == "overall_per_second" for h in telegram_fake.rate_limit_hits)
        telegram_fake.rate_limits = RateLimits(enforce=True)
        await bot.send_message(5, "Eerste")
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "Tweede binnen een seconde")


# -- stateful methods ----------------------------------------------------------------------

async def test_edits_follow_telegram_rules(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        sent = await bot.send_message(1001, "Status: open", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("Status: <b>dicht</b>", chat_id=1001,
                                             message_id=sent.message_id, parse_mode=ParseMode.HTML)
        assert (edited.text, edited.reply_markup) == ("Status: dicht", None)  # keyboard removed
        with telegram_fake.expect_violation("message is not modified"):
            with pytest.raises(BadRequest):
                await bot.edit_message_text("Status: <b>dicht</b>", chat_id=1001,
                                            message_id=sent.message_id, parse_mode=ParseMode.HTML)
        with telegram_fake.expect_violation("message to edit not found"):
            with pytest.raises(BadRequest):
                await bot.edit_message_text("x", chat_id=1001, message_id=999_999)
        with_keyboard = await bot.edit_message_reply_markup(1001, sent.message_id, reply_markup=KEYBOARD)
        assert with_keyboard.reply_markup == KEYBOARD
    assert [m["text"] for m in telegram_fake.bot_messages(1001)] == ["Status: dicht"]


async def test_commands_and_descriptions_per_language(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("hulp", "Hulp vragen")],
                                  language_code="nl")
        await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Ask for help")])
        assert [c.command for c in await bot.get_my_commands(language_code="nl")] == ["start", "hulp"]
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert await bot.get_my_commands(language_code="de") == ()
        await bot.set_my_description("Buurthulp via Telegram", language_code="nl")
        await bot.set_my_short_description("Buurthulp", language_code="nl")
        with telegram_fake.expect_violation("BOT_COMMAND_INVALID"):
            with pytest.raises(BadRequest):
                await bot.set_my_commands([BotCommand("Hulp!", "Hoofdletters mogen niet")])
        with telegram_fake.expect_violation("ISO 639-1"):
            with pytest.raises(BadRequest):
                await bot.set_my_description("x", language_code="nederlands")
        with telegram_fake.expect_violation("short_description"):
            with pytest.raises(BadRequest):
                await bot.set_my_short_description("x" * 121)
    assert telegram_fake.commands_for("nl")[1] == {"command": "hulp", "description": "Hulp vragen"}
    assert telegram_fake.descriptions == {"nl": "Buurthulp via Telegram"}
    assert telegram_fake.short_descriptions == {"nl": "Buurthulp"}


async def test_media_by_file_id_upload_get_file_copy_and_forward(telegram_fake):
    photo_update = telegram_fake.inject_photo(caption="Kapotte lantaarn")
    voice_update = telegram_fake.inject_voice(duration=4)
    photo_id = photo_update["message"]["photo"][-1]["file_id"]
    voice_id = voice_update["message"]["voice"]["file_id"]
    async with telegram_fake.make_bot() as bot:
        sent = await bot.send_photo(1001, photo_id, caption="<b>Gemeld</b>", parse_mode=ParseMode.HTML)
        assert (sent.photo[0].file_id, sent.caption) == (photo_id, "Gemeld")
        assert (await bot.send_voice(1001, voice_id)).voice.file_id == voice_id
        downloaded = await (await bot.get_file(photo_id)).download_as_bytearray()
        assert bytes(downloaded) == FAKE_JPEG
        uploaded = await bot.send_photo(1001, b"\xff\xd8 eigen foto")  # multipart/form-data
        assert uploaded.photo[0].file_id != photo_id
        assert telegram_fake.last_call("sendPhoto").params["photo"].data == b"\xff\xd8 eigen foto"
        copied = await bot.copy_message(2002, from_chat_id=1001,
                                        message_id=photo_update["message"]["message_id"])
        forwarded = await bot.forward_message(2002, from_chat_id=1001,
                                              message_id=photo_update["message"]["message_id"])
        assert copied.message_id < forwarded.message_id
        assert forwarded.forward_origin.sender_user.id == 1001
        with telegram_fake.expect_violation("can't use file of type Photo as Voice"):
            with pytest.raises(BadRequest):
                await bot.send_voice(1001, photo_id)
        with telegram_fake.expect_violation("caption is too long"):
            with pytest.raises(BadRequest):
                await bot.send_photo(1001, photo_id, caption="x" * 1025)
        with telegram_fake.expect_violation("wrong file identifier"):
            with pytest.raises(BadRequest):
                await bot.send_photo(1001, "bestaat-niet")


async def test_get_updates_long_polls_without_busy_looping(telegram_fake):
    async with telegram_fake.make_bot() as bot:
        requests_before = len(telegram_fake.request_log)
        assert await bot.get_updates(timeout=1) == ()
        poll = telegram_fake.polls[-1]  # stamped on the fake's own clock, which also timed the wait
        assert (poll.timeout, poll.ended_by) == (1, "timeout") and poll.ended - poll.started >= poll.timeout
        assert len(telegram_fake.request_log) == requests_before + 1  # one request waited, no busy loop
        requests_before = len(telegram_fake.request_log)
        waiting = asyncio.create_task(bot.get_updates(timeout=5))
        await telegram_fake.await_until(lambda: telegram_fake.waiting_polls() == 1, what="a waiting long poll")
        update = telegram_fake.inject_text("Wakker?")
        updates = await asyncio.wait_for(waiting, 30)  # a guard against hanging, not a measurement
        assert telegram_fake.polls[-1].ended_by == "updates"  # woken by the update, not at the timeout
        assert [u.message.text for u in updates] == ["Wakker?"]
        assert len(telegram_fake.request_log) == requests_before + 1  # one waiting request
        assert (await bot.get_updates(timeout=0))[0].update_id == update["update_id"]  # not confirmed
        assert await bot.get_updates(offset=update["update_id"] + 1, timeout=0) == ()
        telegram_fake.inject_text("Deze wil de bot niet")
        telegram_fake.inject_callback_query("ja")
        only = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
        assert [u.callback_query.data for u in only] == ["ja"]  # the message was dropped


# -- an Application fed by polling and webhook -------------------------------------------------

async def test_polling_application_receives_every_kind_of_injected_update(telegram_fake):
    messages, start_args = [], []

    async def collect(update: Update, context) -> None:
        messages.append(update.message)
        if update.message.text and not update.message.text.startswith("/"):
            await update.message.reply_text(f"Je zei: {update.message.text}")

    async def on_start(update: Update, context) -> None:
        start_args.append(context.args)

    app = telegram_fake.application_builder().build()
    app.add_handler(CommandHandler("start", on_start), group=0)
    app.add_handler(MessageHandler(filters.ALL, collect), group=1)
    async with polling(app):
        sent = [
            telegram_fake.inject_text("Hallo buurt", user=ANNA),
            telegram_fake.inject_command("hulp", "boodschappen"),
            telegram_fake.inject_start("UITNODIGING42"),
            telegram_fake.inject_photo(caption="Foto"),
            telegram_fake.inject_voice(),
            telegram_fake.inject_location(52.37, 4.89),
            telegram_fake.inject_group_message("Wie heeft er een ladder?", chat=group_chat(-100555)),
        ]
        await telegram_fake.await_calls("sendMessage", chat_id=1001)
        await telegram_fake.await_calls("sendMessage", chat_id=-100555)
        await telegram_fake.await_until(lambda: len(messages) == len(sent))
        # PTB's next getUpdates confirms them all with offset = last update_id + 1
        await telegram_fake.await_until(lambda: telegram_fake.pending_update_count() == 0)
    text, command, start, photo, voice, location, group = messages
    assert text.from_user.language_code == "nl" and text.chat.type == "private"
    assert command.entities[0].type == "bot_command" and command.text == "/hulp boodschappen"
    assert start_args == [["UITNODIGING42"]]
    assert photo.photo[-1].file_id == sent[3]["message"]["photo"][-1]["file_id"]
    assert voice.voice.mime_type == "audio/ogg" and location.location.latitude == 52.37
    assert (group.chat.id, group.chat.type) == (-100555, "supergroup")
    assert telegram_fake.sent_texts(1001) == ["Je zei: Hallo buurt"]
    assert telegram_fake.sent_texts(-100555) == ["Je zei: Wie heeft er een ladder?"]
    assert [u["update_id"] for u in sent] == list(range(sent[0]["update_id"], sent[-1]["update_id"] + 1))


async def test_callback_query_is_answered_and_edits_its_message(telegram_fake):
    async def on_button(update: Update, context) -> None:
        await update.callback_query.answer("Bedankt!")
        await update.callback_query.edit_message_text(f"Gekozen: {update.callback_query.data}")

    app = telegram_fake.application_builder().build()
    app.add_handler(CallbackQueryHandler(on_button))
    async with polling(app):
        sent = await app.bot.send_message(1001, "Kun je helpen?", reply_markup=KEYBOARD)
        update = telegram_fake.inject_callback_query("help:42", message_id=sent.message_id)
        await telegram_fake.await_calls("editMessageText")
    assert update["callback_query"]["message"]["reply_markup"] == KEYBOARD.to_dict()
    assert telegram_fake.last_call("answerCallbackQuery").params["text"] == "Bedankt!"
    assert telegram_fake.unanswered_callback_queries() == []
    assert [m["text"] for m in telegram_fake.bot_messages(1001)] == ["Gekozen: help:42"]


async def test_webhook_injection_posts_with_the_secret_header(telegram_fake):
    received: list[tuple[str | None, dict]] = []

    async def webhook(request: Request) -> JSONResponse:
        secret = request.headers.get(SECRET_HEADER)
        received.append((secret, await request.json()))
        return JSONResponse({}, status_code=200 if secret == "geheim-123" else 403)

    app = Starlette(routes=[Route("/telegram/webhook", webhook, methods=["POST"])])
    with serve_asgi_app(app) as base:
        url = f"{base}/telegram/webhook"
        async with telegram_fake.make_bot() as bot:
            assert await bot.set_webhook(url, secret_token="geheim-123",
                                         allowed_updates=["message", "callback_query"])
            info = await bot.get_webhook_info()
            assert (info.url, info.allowed_updates) == (url, ("message", "callback_query"))
            with telegram_fake.expect_violation("webhook is active"):
                with pytest.raises(Conflict):
                    await bot.get_updates()
            assert await telegram_fake.apost_webhook(telegram_fake.build_text("Via webhook")) == 200
            assert received[-1][0] == "geheim-123"
            assert Update.de_json(received[-1][1], bot).message.text == "Via webhook"
            assert await telegram_fake.apost_webhook(telegram_fake.build_text("x"), secret="fout") == 403
            assert telegram_fake.post_webhook(telegram_fake.build_text("x"), secret=None) == 403
            assert received[-1][0] is None
            injected = telegram_fake.inject_callback_query("ja")  # delivered by the fake itself
            deliveries = await telegram_fake.await_deliveries(count=4)
            assert (deliveries[-1].update_id, deliveries[-1].status) == (injected["update_id"], 200)
            assert received[-1][1]["callback_query"]["data"] == "ja"
            assert await bot.delete_webhook()
    assert telegram_fake.webhook.url == ""


# -- the fixture itself ------------------------------------------------------------------------

def test_fixture_fails_the_test_when_a_violation_is_left(tmp_path):
    test_file = tmp_path / "test_left_violation.py"
    test_file.write_text(textwrap.dedent("""
        import httpx
        from tests.telegram_fake import telegram_fake  # noqa: F401

        def test_sends_bad_html(telegram_fake):
            answer = httpx.post(f"{telegram_fake.base_url}{telegram_fake.token}/sendMessage",
                                data={"chat_id": "1", "text": "<script>", "parse_mode": "HTML"})
            assert answer.status_code == 400
    """))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed, 1 error" in result.stdout
    assert 'unsupported start tag "script"' in result.stdout
