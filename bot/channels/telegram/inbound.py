"""Telegram updates -> channel-neutral Inbound messages."""
from __future__ import annotations

from telegram import Update

from handlers.core import Inbound

CHANNEL = "telegram"
#: The update types the bot asks Telegram for: nothing else is ever delivered.
ALLOWED_UPDATES = ["message", "callback_query"]


#: Telegram's chat ids fit in 52 bits; anything else is not a chat we can answer.
MAX_CHAT_ID = 2 ** 52


def text_of(value: object) -> str:
    """Text as the flows expect it. PTB builds updates from JSON without checking types, so a
    forged or broken update can carry a number, a list or an object where text belongs: a
    number is read as the digits it shows, anything else as no text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def chat_id_of(value: object) -> str | None:
    """A chat id as the outbox addresses it, or None when it is not a Telegram chat id."""
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_CHAT_ID < value < MAX_CHAT_ID:
        return str(value)
    return None


def _file_id(media: object) -> str | None:
    file_id = getattr(media, "file_id", None)
    return file_id if isinstance(file_id, str) and file_id else None


def media_of(message) -> tuple[str, ...]:
    """Photos, voice notes and locations as references: forwarded by file id, never downloaded."""
    refs = []
    photos = message.photo if isinstance(message.photo, (list, tuple)) else ()
    for kind, media in (("photo", photos[-1] if photos else None), ("voice", message.voice),
                        ("audio", message.audio)):
        file_id = _file_id(media)
        if file_id:
            refs.append(f"{CHANNEL}:{kind}:{file_id}")
    location = message.location
    latitude, longitude = getattr(location, "latitude", None), getattr(location, "longitude", None)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (latitude, longitude)):
        refs.append(f"location:{latitude:.6f},{longitude:.6f}")
    return tuple(refs)


def _language(user) -> str | None:
    code = getattr(user, "language_code", None)
    return code if isinstance(code, str) else None


def to_inbound(update: Update) -> Inbound | None:
    """None for updates that carry nothing for a conversation (edits, service messages).

    Every value is typed here, at the edge: the flows behind it can rely on str text and a
    numeric chat id (an update with none is ignored).
    """
    pmid = str(update.update_id)
    query = update.callback_query
    if query is not None:
        chat = getattr(query.message, "chat", None) if query.message else query.from_user
        chat_id = chat_id_of(getattr(chat, "id", None))
        if chat_id is None:
            return None
        return Inbound(CHANNEL, chat_id, "", text_of(query.data)[:64] or "?",
                       locale_hint=_language(query.from_user), platform_message_id=pmid)
    message = update.message
    if message is None:
        return None
    chat_id = chat_id_of(getattr(message.chat, "id", None))
    if chat_id is None:
        return None
    media = media_of(message)
    text = text_of(message.text) or text_of(message.caption)
    if not text and not media:
        return None
    return Inbound(CHANNEL, chat_id, text, None, locale_hint=_language(message.from_user),
                   platform_message_id=pmid, media=media)
