"""The Telegram channel: a python-telegram-bot Application as transport only.

Conversation state stays in our database (not PTB's ConversationHandler or persistence, which
keep everything in one process's memory): every update becomes an Inbound for the shared
dispatcher. Polling suits a laptop or a small server; webhook mode is a route on the same
Starlette app, guarded by Telegram's secret-token header.
"""
from __future__ import annotations

import asyncio
import logging
import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram import BotCommand, Update
from telegram.ext import Application, TypeHandler

from bot.channels.telegram.inbound import ALLOWED_UPDATES, CHANNEL, chat_id_of, text_of, to_inbound
from bot.channels.telegram.render import escape, pressed_label
from bot.channels.telegram.sender import TelegramSender
from bot.settings import Settings
from handlers.account import command_for
from handlers.dispatch import Dispatcher
from handlers.i18n import LANGUAGES, N_, _, speaking

log = logging.getLogger("buurtbot.telegram")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

COMMANDS = [
    ("start", N_("Start or come back")),
    ("menu", N_("What you can do")),
    ("help", N_("How buurtbot works")),
    ("language", N_("Change language")),
    ("checkin", N_("A weekly hello")),
    ("worried", N_("A worry about a neighbour")),  # handlers/cases.py
    ("problem", N_("A problem in the street")),
    ("services", N_("Where to go for a service")),
    ("mydata", N_("What we keep about you")),
    ("stop", N_("No more messages from us")),
    ("delete", N_("Delete everything about you")),
    ("broadcast", N_("For coordinators: a message to the neighbourhood")),  # last: most people never need it
]
DESCRIPTION = N_("buurtbot connects neighbours: ask for a small hand (shopping, a lift, a small repair, a visit) or "
                 "lend one. Not an emergency service: in an emergency call 112.")
SHORT_DESCRIPTION = N_("Neighbours helping neighbours, in your language.")


def file_base_url(base_url: str) -> str:
    """https://api.telegram.org/bot -> https://api.telegram.org/file/bot (also for a local server)."""
    head, sep, tail = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url.rstrip("/") + "/file/bot"


#: What Telegram accepts as a command in the menu (setMyCommands): lowercase a-z, digits, "_".
BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def menu_command(name: str, language: str) -> str:
    """A command as ``language`` spells it in Telegram's menu: "taal", "langue", "dil". A word
    Telegram refuses there ("لغة", "yardım") gives way to the command's own name, which the bot
    understands in every language -- one refused command would leave the whole menu unset."""
    word = command_for(name, language)
    return word if BOT_COMMAND.fullmatch(word) else name

class TelegramChannel:
    def __init__(self, settings: Settings, dispatcher: Dispatcher) -> None:
        self.settings, self.dispatcher = settings, dispatcher
        self.webhook = settings.telegram_webhook_mode
        builder = (Application.builder().token(settings.telegram_bot_token)
                   .base_url(settings.telegram_base_url).base_file_url(file_base_url(settings.telegram_base_url)))
        if self.webhook:
            builder = builder.updater(None)
        self.app = builder.build()
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.sender = TelegramSender(self.app.bot, dispatcher.sessions, settings.telegram_rate_overall,
                                     settings.telegram_rate_per_chat)
        self._sender_task: asyncio.Task | None = None

    # ---- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        await self.app.initialize()
        await self.publish_profile()
        if self.webhook:
            await self.app.bot.set_webhook(url=self.settings.public_base_url.rstrip("/") + WEBHOOK_PATH,
                                           secret_token=self.settings.telegram_secret,
                                           allowed_updates=ALLOWED_UPDATES)
        else:
            await self.app.bot.delete_webhook()
            await self.app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
        await self.app.start()
        self._sender_task = asyncio.create_task(self.sender.run())
        log.info("telegram channel started (%s)", "webhook" if self.webhook else "polling")

    async def stop(self) -> None:
        if self._sender_task:  # it hands its leased rows back and ends its heartbeat before we go on
            self._sender_task.cancel()
            await asyncio.gather(self._sender_task, return_exceptions=True)
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    def health(self) -> dict:
        return {"mode": "webhook" if self.webhook else "polling", "sent": self.sender.sent,
                "retry_afters": self.sender.retry_afters}

    async def publish_profile(self) -> None:
        """Commands and descriptions in every language, so the menu speaks the user's."""
        for lang in LANGUAGES:
            with speaking(lang):
                commands = [BotCommand(menu_command(name, lang), _(text)) for name, text in COMMANDS]
                description, short = _(DESCRIPTION), _(SHORT_DESCRIPTION)
            await self.app.bot.set_my_commands(commands, language_code=lang)
            await self.app.bot.set_my_description(description, language_code=lang)
            await self.app.bot.set_my_short_description(short, language_code=lang)
        with speaking("en"):
            await self.app.bot.set_my_commands([BotCommand(n, _(t)) for n, t in COMMANDS])

    # ---- intake ------------------------------------------------------------------------------
    async def _on_update(self, update: Update, context) -> None:
        await self.handle(update)

    async def handle(self, update: Update) -> None:
        chat = update.effective_chat
        if chat is not None and chat.type != "private":
            chat_id = chat_id_of(chat.id)
            if chat_id is not None:
                language = getattr(update.effective_user, "language_code", None)
                await asyncio.to_thread(self.dispatcher.group_notice, CHANNEL, chat_id,
                                        language if isinstance(language, str) else None)
                self.sender.wake()
            return
        if update.callback_query is not None:
            await self._acknowledge(update.callback_query)
        inbound = to_inbound(update)
        if inbound is not None:
            await asyncio.to_thread(self.dispatcher.handle, inbound)
            self.sender.wake()

    async def _acknowledge(self, query) -> None:
        """Answer the press and show the choice in place of the buttons, so a button cannot
        be pressed twice. Failing here (an old message) must not stop the press itself."""
        try:
            await query.answer()
            message = query.message
            label = pressed_label(message, text_of(query.data))
            if message is not None and getattr(message, "text", None) and label:
                await query.edit_message_text(escape(message.text) + "\n\n✓ " + escape(label), parse_mode="HTML")
            elif message is not None:
                await query.edit_message_reply_markup(reply_markup=None)
        except Exception as exc:  # noqa: BLE001
            log.info("could not acknowledge a button press: %s", type(exc).__name__)

    async def webhook_route(self, request: Request) -> Response:
        if request.headers.get(SECRET_HEADER) != self.settings.telegram_secret:
            return JSONResponse({"error": "forbidden"}, status_code=403)
        try:
            data = await request.json()
            update = Update.de_json(data, self.app.bot)
        except Exception:  # noqa: BLE001 - a malformed body is Telegram's problem, not a crash
            return JSONResponse({"error": "bad update"}, status_code=400)
        await self.handle(update)
        return Response(status_code=200)
