"""Outbox rows -> text for WhatsApp and SMS: numbered options, SMS segments counted.

Nobody has to find a button: options are numbered lines, answered with one digit. For SMS
every character counts twice over -- one letter outside GSM-7 (an Arabic word, a curly quote)
turns the whole message into UCS-2 with 70 characters a segment instead of 160 -- so typography
is folded to its GSM-7 look-alike and long texts are split at paragraph or sentence ends.
"""
from __future__ import annotations

import re

from handlers.i18n import isolate, is_rtl, rtl_lines

#: GSM 03.38 basic set; the extension set costs two septets a character.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")
#: Typography whose GSM-7 look-alike reads the same (what Twilio's "smart encoding" does).
SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "–": "-", "—": "-",
                       "…": "...", "\u00a0": " ", "•": "-", "✓": "v", "«": '"', "»": '"', "\u202f": " "})
WHATSAPP_MAX = 1600  # Twilio's body limit for one WhatsApp message
SMS_MAX_SEGMENTS = 4  # longer texts are sent as several SMS, each whole


def with_options(text: str, options: list[dict], language: str) -> str:
    """``text`` plus the options as numbered lines ("1. Yes"). Right-to-left: every line that
    starts with a number or a Latin word gets a mark so it reads right to left, the digit first
    (on the right) as everywhere, and each label is isolated ("2. Nederlands" stays whole)."""
    if is_rtl(language):
        lines = [f"{i}. {isolate(o['label'])}" for i, o in enumerate(options, 1)]
        return rtl_lines(text + ("\n\n" + "\n".join(lines) if lines else ""))
    if not options:
        return text
    lines = [f"{i}. {o['label']}" for i, o in enumerate(options, 1)]
    return text + "\n\n" + "\n".join(lines)


def sms_text(text: str) -> str:
    return text.translate(SMART)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segments(text: str) -> tuple[str, int]:
    """("GSM-7" | "UCS-2", number of SMS segments) as a phone network counts them."""
    if is_gsm7(text):
        units, single, multi, encoding = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text), 160, 153, "GSM-7"
    else:  # UTF-16 code units: an emoji takes two
        units, single, multi, encoding = len(text.encode("utf-16-le")) // 2, 70, 67, "UCS-2"
    if units <= single:
        return encoding, 1
    return encoding, -(-units // multi)


#: Where a long text may be cut, best first, and what joins two pieces cut there again.
CUTS = ((r"(?<=\n\n)", ""), (r"(?<=\n)", ""), (r"(?<=[.!?؟])\s+", " "), (r"\s+", " "))


def split(text: str, fits) -> list[str]:
    """Parts of ``text`` that each ``fits``, cut at a paragraph, then a line, then a sentence,
    then a word -- inside a word only when one word alone does not fit."""
    if fits(text):
        return [text]
    for pattern, joiner in CUTS:
        pieces = [p for p in re.split(pattern, text) if p.strip()]
        if len(pieces) < 2:
            continue
        packed, current = [], ""
        for piece in pieces:  # as many pieces in a part as fit
            candidate = current + joiner + piece if current else piece
            if current and not fits(candidate.strip()):
                packed.append(current.strip())
                candidate = piece
            current = candidate
        packed.append(current.strip())
        return [q for p in packed for q in split(p, fits)]
    cut = len(text)
    while cut > 1 and not fits(text[:cut]):
        cut = cut * 3 // 4
    return [text[:cut], *split(text[cut:], fits)]


def parts(text: str, options: list[dict], language: str, fits) -> list[str]:
    """The messages for one outbox row: the text split where it must be, the options with the
    last part when they fit there (a question and its answers belong together)."""
    if is_rtl(language):  # before splitting, so that every part's lines are marked
        text = rtl_lines(text)
    if fits(with_options(text, options, language)):
        return [with_options(text, options, language)]
    pieces = split(text, fits) if text.strip() else []
    if options:
        last = with_options(pieces[-1], options, language) if pieces else with_options("", options, language).strip()
        if pieces and fits(last):
            pieces[-1] = last
        else:
            pieces += split(with_options("", options, language).strip(), fits)
    return pieces


def sms_parts(text: str, options: list[dict], language: str, max_segments: int = SMS_MAX_SEGMENTS) -> list[str]:
    """The SMS messages for one outbox row, in GSM-7 where the typography allows."""
    return parts(sms_text(text), [{**o, "label": sms_text(o["label"])} for o in options], language,
                 lambda t: segments(t)[1] <= max_segments)


def whatsapp_parts(text: str, options: list[dict], language: str) -> list[str]:
    return parts(text, options, language, lambda t: len(t) <= WHATSAPP_MAX)
