"""Telegram updates -> channel-neutral Inbound messages."""
from __future__ import annotations

from telegram import Update

from handlers.core import Inbound

CHANNEL = "telegram"
#: The update types the bot asks Telegram for: nothing else is ever delivered.
ALLOWED_UPDATES = ["message", "callback_query"]


def media_of(message) -> tuple[str, ...]:
    """Photos, voice notes and locations as references: forwarded by file id, never downloaded."""
    refs = []
    if message.photo:
        refs.append(f"{CHANNEL}:photo:{message.photo[-1].file_id}")
    if message.voice:
        refs.append(f"{CHANNEL}:voice:{message.voice.file_id}")
    if message.audio:
        refs.append(f"{CHANNEL}:audio:{message.audio.file_id}")
    if message.location:
        refs.append(f"location:{message.location.latitude:.6f},{message.location.longitude:.6f}")
    return tuple(refs)


def to_inbound(update: Update) -> Inbound | None:
    """None for updates that carry nothing for a conversation (edits, service messages)."""
    pmid = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat_id = query.message.chat.id if query.message else query.from_user.id
        return Inbound(CHANNEL, str(chat_id), "", (query.data or "")[:64] or "?",
                       locale_hint=query.from_user.language_code, platform_message_id=pmid)
    message = update.message
    if message is None:
        return None
    media = media_of(message)
    text = message.text or message.caption or ""
    if not text and not media:
        return None
    user = message.from_user
    return Inbound(CHANNEL, str(message.chat.id), text, None, locale_hint=user.language_code if user else None,
                   platform_message_id=pmid, media=media)
