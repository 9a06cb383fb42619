"""Driving buurtbot's real Telegram channel (python-telegram-bot over HTTP) against the fake
Bot API server: people type, press buttons and read what the bot sent them."""
from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn

from bot.demo import seed
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import create_app
from tests.telegram_fake import TgUser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_for(fake, database_url: str, **overrides) -> Settings:
    values = dict(database_url=database_url, telegram_bot_token=fake.token, telegram_base_url=fake.base_url,
                  telegram_mode="polling", telegram_rate_overall=1000.0, telegram_rate_per_chat=1000.0,
                  rate_limit_per_minute=1000)
    values.update(overrides)
    return Settings(_env_file=None, **values)


class TelegramPeople:
    """People in private chats with the bot; every step waits for the bot's answer."""

    def __init__(self, fake, rt: Runtime):
        self.fake, self.rt = fake, rt
        self.users: dict[str, TgUser] = {}

    def user(self, name: str, language: str = "nl") -> TgUser:
        if name not in self.users:
            self.users[name] = TgUser(id=5000 + len(self.users), first_name=name, language_code=language,
                                      username=None)
        return self.users[name]

    def sent_to(self, name: str) -> list[dict]:
        return self.fake.bot_messages(self.user(name).id)

    def last(self, name: str) -> dict:
        return self.sent_to(name)[-1]

    async def _after(self, name: str, inject) -> list[dict]:
        before = len(self.fake.calls_of("sendMessage", chat_id=self.user(name).id))
        inject()
        await self.fake.await_calls("sendMessage", before + 1, timeout=10, chat_id=self.user(name).id)
        await settled(self.fake, self.rt, self.user(name).id)  # a second reply of the same message too
        return self.sent_to(name)

    async def say(self, name: str, text: str, language: str = "nl") -> list[dict]:
        user = self.user(name, language)
        if text.startswith("/"):
            command, _sep, args = text[1:].partition(" ")
            return await self._after(name, lambda: self.fake.inject_command(command, args, user=user))
        return await self._after(name, lambda: self.fake.inject_text(text, user=user))

    def button(self, name: str, prefix: str) -> tuple[int, str]:
        """(message_id, callback_data) of the newest button whose data starts with prefix."""
        for message in reversed(self.sent_to(name)):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for b in row:
                    if b.get("callback_data", "").startswith(prefix):
                        return message["message_id"], b["callback_data"]
        raise AssertionError(f"{name} has no button {prefix!r}")

    async def await_button(self, name: str, prefix: str) -> tuple[int, str]:
        """The button, once the message carrying it has arrived (another person's action)."""
        def present() -> bool:
            try:
                self.button(name, prefix)
                return True
            except AssertionError:
                return False

        await self.fake.await_until(present, timeout=10, what=f"a {prefix!r} button for {name}")
        return self.button(name, prefix)

    async def press(self, name: str, prefix: str) -> list[dict]:
        message_id, data = await self.await_button(name, prefix)
        user = self.user(name)
        return await self._after(name, lambda: self.fake.inject_callback_query(data, message_id=message_id, user=user))


async def settled(fake, rt: Runtime, chat_id: int | None = None, timeout: float = 10.0) -> None:
    """Wait until every Telegram message already queued (for ``chat_id``, or for anyone) that is
    due has been answered by the fake: an event to wait for instead of a pause. A message's
    replies are queued in the transaction that handled it, so once its first reply arrived,
    this waits for all of them."""
    from sqlalchemy import and_, func, or_, select

    from models import Outbox
    from models.base import utcnow

    def done() -> bool:
        query = (select(func.count()).select_from(Outbox)
                 .where(Outbox.channel == "telegram",
                        or_(Outbox.status == "sending",  # leased: on its way to the fake
                            and_(Outbox.status == "pending", Outbox.next_attempt_at <= utcnow()))))
        if chat_id is not None:
            query = query.where(Outbox.address == str(chat_id))
        with rt.sessions() as session:
            return session.scalar(query) == 0

    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(done):  # the database does not notify: look again on each call the fake gets
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the queued Telegram messages were not all sent")
        count = len(fake.request_log)
        try:
            await fake.await_until(lambda: len(fake.request_log) > count, timeout=0.2, what="a request")
        except AssertionError:
            pass  # a lease taken just now: look again


async def join(people: "TelegramPeople", name: str, lang: str = "nl", role: str | None = "role:help") -> list[dict]:
    """/start, language, postcode 1040, consent, first name (and a role); returns the last replies."""
    await people.say(name, "/start", lang)
    await people.press(name, f"lang:{lang}")
    await people.say(name, "1040", lang)
    await people.press(name, "yes")
    got = await people.say(name, name, lang)
    if role:
        got = await people.press(name, role)
    return got


def buttons_of(message: dict) -> list[str]:
    """The callback data of a Telegram message's inline keyboard."""
    return [b["callback_data"] for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


@contextlib.asynccontextmanager
async def running(rt: Runtime):
    """The Telegram channel started (polling) for the length of a test."""
    await rt.telegram.start()
    try:
        yield
    finally:
        await rt.telegram.stop()


def build_runtime(fake, engine_url: str, **overrides) -> Runtime:
    rt = Runtime.build(settings_for(fake, engine_url, **overrides))
    with rt.sessions() as session, session.begin():
        seed(session)
    return rt


@contextlib.asynccontextmanager
async def serving(rt: Runtime, port: int):
    """The whole web app (lifespan included: the Telegram channel starts) on a real port."""
    server = uvicorn.Server(uvicorn.Config(create_app(rt, start_scheduler=False), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
        if task.done():
            task.result()
    try:
        yield server
    finally:
        server.should_exit = True
        await task
