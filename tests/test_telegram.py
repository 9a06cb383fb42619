"""buurtbot on Telegram: the real python-telegram-bot Application doing real HTTP against the
fake Bot API server (tests/telegram_fake.py), which checks every request against the official
method list. Full scenarios in Dutch and French, polling and webhook, and the sender's
behaviour under Telegram's errors."""
from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

from bot.channels.telegram.sender import TelegramSender
from handlers.i18n import catalog
from models import ChannelIdentity, HelpRequest, Outbox, Person
from models.network import create_invite, neighbourhood_by_slug
from tests.telegram_fake import TgUser, group_chat, telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, free_port, join, running, serving, settled

WORDS = {"nl": {"yes": "ja", "no": "nee", "lang": "lang:nl"}, "fr": {"yes": "oui", "no": "non", "lang": "lang:fr"}}


def T(lang: str, msgid: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    import shutil

    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def invite(rt, role: str) -> str:
    with rt.sessions() as s, s.begin():
        return create_invite(s, neighbourhood_by_slug(s, "demo"), role).code


async def full_story(people: TelegramPeople, rt, lang: str) -> None:
    w = WORDS[lang]
    # a coordinator joins with a deep link code
    await people.say("Fatima", f"/start {invite(rt, 'coordinator')}", lang)
    await people.press("Fatima", w["lang"])
    await people.say("Fatima", w["yes"], lang)
    await people.say("Fatima", "Fatima", lang)
    # two volunteers offer help, the coordinator approves both by button
    for name in ("Jan", "Piet"):
        await join(people, name, lang, "role:give")
        await people.say(name, "1 3", lang)
        await people.say(name, lang, lang)
        await people.press(name, "cap:2")
        await people.say(name, w["no"], lang)
        await people.press("Fatima", "vol:ok:")
    # a resident asks
    await people.say("Maria", "/start", lang)
    await people.press("Maria", w["lang"])
    await people.say("Maria", "1040", lang)
    await people.say("Maria", w["yes"], lang)
    await people.say("Maria", "Maria <b>&", lang)
    got = await people.press("Maria", "role:help")  # "I would like help" starts the request at once (point 18)
    assert "cat:shopping" in buttons_of(got[-1]) and "ask" not in buttons_of(got[-1])
    await people.press("Maria", "cat:shopping")
    await people.say("Maria", "Een pak water <script> & brood", lang)
    await people.press("Maria", "when:tomorrow")
    await people.say("Maria", "Kerkstraat 12, 1040 Etterbeek", lang)
    await people.press("Maria", "yes")
    # Jan claims by button; the street only until then, the full address after
    await people.await_button("Jan", "claim:")
    notice = people.last("Jan")["text"]
    assert "Kerkstraat" in notice and "Kerkstraat 12" not in notice and "<script>" in notice
    got = await people.press("Jan", "claim:")
    task = next(m for m in got if "Kerkstraat 12, 1040 Etterbeek" in m["text"])  # then "when will you go?"
    assert any(T(lang, "Done") == b["text"] for row in task["reply_markup"]["inline_keyboard"] for b in row)
    # Piet's press comes too late: a kind refusal, no address
    got = await people.press("Piet", "claim:")
    assert got[-1]["text"].startswith(T(lang, "Thank you! Someone else is already helping with this one. 💛")[:20])
    assert "Kerkstraat 12" not in got[-1]["text"]
    # Maria was told who helps; Jan marks it done; Maria can thank him
    await people.await_button("Maria", "msg:")
    assert "Jan" in people.last("Maria")["text"]
    await people.press("Jan", "done:")
    assert await people.await_button("Maria", "thanks:")
    # /mydata shows her data, /delete erases it
    got = await people.say("Maria", "/mydata", lang)
    assert "Kerkstraat 12" in got[-1]["text"] and "Maria <b>&" in got[-1]["text"]
    await people.say("Maria", "/delete", lang)
    got = await people.say("Maria", w["yes"], lang)
    assert got[-1]["text"] == T(lang, "Everything we kept about you is deleted. Thank you for taking part in the "
                                      "neighbourhood. Type /start if you ever want to come back.")
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person).where(Person.first_name.like("Maria%"))) == 0


@pytest.mark.parametrize("lang", ["nl", "fr"])
async def test_full_story_by_polling(telegram_fake, db_url, lang):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await full_story(people, rt, lang)
        # every press was answered and its message lost its buttons, showing the choice
        assert telegram_fake.unanswered_callback_queries() == []
        pressed = telegram_fake.calls_of("editMessageText")
        assert pressed and all("✓" in c.params["text"] for c in pressed)
        # commands and descriptions per language, each language's command names (issue 9 point 15)
        assert {code: [c["command"] for c in telegram_fake.commands_for(code)] for code in ("nl", "fr", "en")} == {
            "nl": ["start", "menu", "hulp", "taal", "checkin", "bezorgd", "melding", "socialekaart", "mijngegevens",
                   "stop", "verwijder", "omroep"],
            "fr": ["start", "menu", "aide", "langue", "checkin", "inquiet", "signalement", "services", "mesdonnees",
                   "stop", "supprimer", "diffusion"],
            "en": ["start", "menu", "help", "language", "checkin", "worried", "problem", "services", "mydata", "stop",
                   "delete", "broadcast"]}
        assert telegram_fake.commands_for("fr")[0]["description"] == T("fr", "Start or come back")
        assert telegram_fake.commands_for("nl")[-1]["description"] == T(
            "nl", "For coordinators: a message to the neighbourhood")


async def test_webhook_mode_secret_and_replay(telegram_fake, db_url):
    port = free_port()
    rt = build_runtime(telegram_fake, db_url, telegram_mode="webhook", public_base_url=f"http://127.0.0.1:{port}",
                       telegram_webhook_secret="s3cret-token")
    people = TelegramPeople(telegram_fake, rt)
    async with serving(rt, port):
        hook = telegram_fake.last_call("setWebhook")
        assert hook.params["url"] == f"http://127.0.0.1:{port}/telegram/webhook"
        assert hook.params["secret_token"] == "s3cret-token"
        # a forged request changes nothing
        forged = telegram_fake.build_command("start", user=people.user("Mallory"))
        assert await telegram_fake.apost_webhook(forged, secret="wrong") == 403
        assert await telegram_fake.apost_webhook(forged, secret=None) == 403
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(ChannelIdentity)) == 1  # the seeded coordinator
        # the real thing, and a replay of the same update_id
        await full_story(people, rt, "nl")
        update = telegram_fake.build_text("/menu", user=people.user("Jan"))
        before = len(telegram_fake.calls_of("sendMessage", chat_id=people.user("Jan").id))
        assert await telegram_fake.apost_webhook(update) == 200  # answered once the update is handled
        assert await telegram_fake.apost_webhook(update) == 200
        await telegram_fake.await_calls("sendMessage", before + 1, chat_id=people.user("Jan").id)
        await settled(telegram_fake, rt)  # everything both deliveries queued has reached the fake
        assert len(telegram_fake.calls_of("sendMessage", chat_id=people.user("Jan").id)) == before + 1


async def test_group_chat_gets_one_polite_notice(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    async with running(rt):
        chat = group_chat()
        for text in ("hallo", "/start", "wie kan helpen?"):
            telegram_fake.inject_text(text, user=TgUser(7001, "Kim"), chat=chat)
        # Updates are handled one at a time, in order: once a private message sent after the
        # three has its answer, the three were handled, and settled() sees what they queued.
        people = TelegramPeople(telegram_fake, rt)
        await people.say("Lou", "/start")
        await settled(telegram_fake, rt)
        sent = telegram_fake.calls_of("sendMessage", chat_id=chat["id"])
        assert len(sent) == 1
        assert sent[0].params["text"] == T("nl", "Hello! I only talk in private chats, so that what neighbours share "
                                                 "stays private. Please write to me directly.")
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(ChannelIdentity)
                            .where(ChannelIdentity.channel == "telegram",
                                   ChannelIdentity.address.in_([str(chat["id"]), "7001"]))) == 0


async def test_photo_while_describing_reaches_the_claimer(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await people.say("Jan", "/start")
        await people.press("Jan", "lang:nl")
        await people.say("Jan", f"{invite(rt, 'volunteer')}")
        await people.say("Jan", "ja")
        await people.say("Jan", "Jan")
        got = await join(people, "Maria")  # "I would like help" starts the request at once (point 18)
        assert "cat:repair" in buttons_of(got[-1])
        await people.press("Maria", "cat:repair")
        maria = people.user("Maria")
        await people._after("Maria", lambda: telegram_fake.inject_photo(caption="Deze lamp", user=maria))
        await people.press("Maria", "when:week")
        await people.say("Maria", "Kerkstraat 12")
        await people.press("Maria", "yes")
        with rt.sessions() as s:
            req = s.scalar(select(HelpRequest))
            assert req.description == "Deze lamp" and req.media and req.media[0].startswith("telegram:photo:")
        await people.press("Jan", "claim:")
        photo = await telegram_fake.await_calls("sendPhoto", 1, chat_id=people.user("Jan").id)
        assert photo[0].params["photo"] == req.media[0].split(":", 2)[2]


def queue_messages(rt, n: int, first_chat: int = 9000) -> None:
    with rt.sessions() as s, s.begin():
        for i in range(n):
            s.add(Outbox(idempotency_key=f"bulk:{i}", channel="telegram", address=str(first_chat + i),
                         language="nl", purpose="test", text=f"Bericht {i} <ok> & klaar", options=[]))


async def drain(sender: TelegramSender, rt, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await sender.drain_once()
        with rt.sessions() as s:
            if not s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))):
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")


async def test_a_429_storm_loses_nothing_and_honours_the_wait(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    bot = telegram_fake.make_bot()
    await bot.initialize()
    # One clock for the sender and the fake: the fake stamps requests on the clock the sender paces by.
    sender = TelegramSender(bot, rt.sessions, overall=1000, per_chat=1000, clock=telegram_fake.clock)
    queue_messages(rt, 200)
    telegram_fake.script_error("429", "sendMessage", times=3, retry_after=1)
    await drain(sender, rt)
    await bot.shutdown()
    sent = telegram_fake.calls_of("sendMessage")
    assert sorted(int(c.params["chat_id"]) for c in sent) == list(range(9000, 9200))  # each once
    assert sender.retry_afters == 3
    # three 429s, no more: the sender paused rather than running into the wait (how long it
    # waits: test_a_flood_wait_is_honoured_in_full)
    assert len([r for r in telegram_fake.request_log if r.method == "sendMessage" and r.status == 429]) == 3
    with rt.sessions() as s:
        rows = s.scalars(select(Outbox)).all()
        assert all(r.status == "sent" and r.platform_message_id for r in rows)
        assert all(r.attempts == 1 for r in rows)  # a flood wait is not the message's fault


async def test_a_flood_wait_is_honoured_in_full(telegram_fake, db_url):
    """One chat, so each send waits for the answer to the one before: the request after a 429
    reached Telegram at least retry_after later, on the clock the sender paces by (shared with
    the fake, which stamps every request with it)."""
    rt = build_runtime(telegram_fake, db_url)
    bot = telegram_fake.make_bot()
    await bot.initialize()
    sender = TelegramSender(bot, rt.sessions, overall=1000, per_chat=1000, clock=telegram_fake.clock)
    with rt.sessions() as s, s.begin():
        for i in range(4):
            s.add(Outbox(idempotency_key=f"one-chat:{i}", channel="telegram", address="9100", language="nl",
                         purpose="test", text=f"Bericht {i}", options=[]))
    telegram_fake.script_error("429", "sendMessage", times=2, retry_after=1)
    await drain(sender, rt)
    await bot.shutdown()
    log = [r for r in telegram_fake.request_log if r.method == "sendMessage"]
    assert [r.status for r in log] == [429, 429, 200, 200, 200, 200]
    for flooded, following in zip(log, log[1:]):
        if flooded.status == 429:
            assert following.time - flooded.time >= 1.0, (flooded, following)
    assert sender.retry_afters == 2
    assert sorted(c.params["text"] for c in telegram_fake.calls_of("sendMessage")) == [f"Bericht {i}" for i in range(4)]


async def test_blocked_user_bad_request_and_network_errors(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    with rt.sessions() as s, s.begin():
        s.add(ChannelIdentity(channel="telegram", address="9000"))
    queue_messages(rt, 3)
    with rt.sessions() as s, s.begin():  # a second message to the chat that blocked the bot
        s.add(Outbox(idempotency_key="bulk:again", channel="telegram", address="9000", language="nl",
                     purpose="test", text="nog eens", options=[]))
    telegram_fake.script_error("403", "sendMessage", chat_id=9000)
    telegram_fake.script_error("400", "sendMessage", chat_id=9001)
    telegram_fake.script_error("drop", "sendMessage", chat_id=9002)
    bot = telegram_fake.make_bot()
    await bot.initialize()
    sender = TelegramSender(bot, rt.sessions, overall=1000, per_chat=1000)
    await sender.drain_once()
    await bot.shutdown()
    with rt.sessions() as s:
        by_address = {}
        for r in s.scalars(select(Outbox).order_by(Outbox.id)):
            by_address.setdefault(r.address, []).append(r)
        assert [r.status for r in by_address["9000"]] == ["failed", "failed"]
        assert by_address["9000"][0].error.startswith("forbidden")
        assert s.scalar(select(ChannelIdentity.active).where(ChannelIdentity.address == "9000")) is False
        assert by_address["9001"][0].status == "failed" and by_address["9001"][0].error.startswith("bad request")
        retry = by_address["9002"][0]
        assert retry.status == "pending" and retry.attempts == 1 and retry.next_attempt_at is not None


def test_buurtbot_run_serves_telegram_like_an_operator_starts_it(telegram_fake, tmp_path):
    """`buurtbot db upgrade`, `neighbourhood add`, `invite`, then `buurtbot run` with a token and
    TELEGRAM_BASE_URL pointing at the fake: a real conversation in a subprocess."""
    import os
    import subprocess
    import sys

    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", TELEGRAM_BOT_TOKEN=telegram_fake.token,
               TELEGRAM_BASE_URL=telegram_fake.base_url, PORT=str(port), LOG_LEVEL="INFO")
    cli = [sys.executable, "-m", "bot.cli"]
    run = lambda *args: subprocess.run([*cli, *args], env=env, cwd=tmp_path,  # noqa: E731
                                       capture_output=True, text=True, timeout=60)
    assert run("db", "upgrade").returncode == 0
    assert run("neighbourhood", "add", "--name", "Oost", "--slug", "oost", "--postcodes", "1040").returncode == 0
    invited = run("invite", "--role", "volunteer", "--neighbourhood", "oost")
    code = invited.stdout.split()[0]
    assert invited.stdout.split()[1] == f"https://t.me/{telegram_fake.username}?start={code}"  # asked via getMe
    proc = subprocess.Popen([*cli, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            proc.terminate()
            pytest.fail(f"`buurtbot run` was not healthy within 30 s:\n{proc.communicate(timeout=20)[0][-3000:]}")
        assert health.json()["telegram"]["mode"] == "polling"
        anna = TgUser(4242, "Anna", language_code="fr")
        telegram_fake.inject_start(code, user=anna)
        (first,) = telegram_fake.wait_for_calls("sendMessage", 1, timeout=20, chat_id=4242)
        buttons = [b["callback_data"] for row in first.params["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons[0] == "lang:fr"
        telegram_fake.inject_callback_query("lang:fr", user=anna)
        calls = telegram_fake.wait_for_calls("sendMessage", 2, timeout=20, chat_id=4242)
        assert "Oost" in calls[1].params["text"]  # the invite put her straight in "Oost": consent comes next
        telegram_fake.wait_until(lambda: not telegram_fake.unanswered_callback_queries(), timeout=10)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "Traceback" not in out, out
    assert telegram_fake.token.split(":")[1] not in out and "4242" not in out and "Anna" not in out, out


async def test_forged_and_stale_buttons_get_a_polite_refusal(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await join(people, "Kim")
        kim = people.user("Kim")
        for data in ("claim:999999", "vol:ok:1", "done:abc", "cat:../../etc", "x" * 64):
            got = await people._after("Kim", lambda: telegram_fake.inject_callback_query(data, user=kim))
            reply = got[-1]
            assert reply["text"] and "Traceback" not in reply["text"]
            assert reply.get("reply_markup"), "a refusal always offers the way forward"
        with rt.sessions() as s:
            assert s.scalar(select(func.count()).select_from(HelpRequest)) == 0
        assert telegram_fake.unanswered_callback_queries() == []
