"""Outbox rows -> Telegram API arguments: HTML parse mode with everything escaped (names and
descriptions are typed by people), options as an inline keyboard with compact callback data."""
from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import is_rtl, rtl_lines

MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096
MAX_CAPTION = 1024


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def keyboard(options: list[dict], language: str) -> InlineKeyboardMarkup | None:
    """One button a row: big targets for unsteady hands. Payloads are compact ids by design
    ("claim:12"); one that would not fit Telegram's 64 bytes is left out, never cut."""
    rows = [[InlineKeyboardButton(o["label"][:64], callback_data=o["payload"])]
            for o in options if 0 < len(o["payload"].encode()) <= MAX_CALLBACK_BYTES]
    if is_rtl(language):
        rows = [list(reversed(r)) for r in rows]
    return InlineKeyboardMarkup(rows) if rows else None


def message_args(text: str, options: list[dict], language: str, limit: int = MAX_TEXT) -> dict:
    """Telegram counts characters after entity parsing, so the limit applies before escaping.
    Right-to-left: a line that starts with a number or an isolated name is marked (rtl_lines)."""
    if is_rtl(language):
        text = rtl_lines(text)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return {"text": escape(text) or "…", "parse_mode": "HTML", "reply_markup": keyboard(options, language)}


def pressed_label(query_message, data: str) -> str | None:
    """The label of the button that was pressed, to show the choice in the message."""
    markup = getattr(query_message, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
