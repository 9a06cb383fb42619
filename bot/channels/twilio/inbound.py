"""Twilio's "a message comes in" form -> a channel-neutral Inbound.

SMS and WhatsApp keywords that carriers and people expect to work whatever the conversation
is doing (STOP, START, HELP in the languages of the field) become payloads the dispatcher
handles before anything else.
"""
from __future__ import annotations

import math

from handlers.core import Inbound
from handlers.optout import keyword
from bot.channels.twilio.phones import split_address

MAX_MEDIA = 5


def media_of(form: dict[str, str]) -> tuple[str, ...]:
    """``twilio:<kind>:<url>`` for each attachment (photo, voice note...), forwarded by URL."""
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except (TypeError, ValueError):
        count = 0
    refs = []
    for i in range(count):
        url, kind = form.get(f"MediaUrl{i}", ""), form.get(f"MediaContentType{i}", "")
        if url.startswith("https://") or url.startswith("http://"):
            major = kind.split("/", 1)[0]
            refs.append(f"twilio:{'voice' if major == 'audio' else 'photo' if major == 'image' else 'file'}:{url}")
    if form.get("Latitude") and form.get("Longitude"):  # a WhatsApp shared location
        try:
            latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
        except (TypeError, ValueError):
            latitude = longitude = math.nan
        if abs(latitude) <= 90 and abs(longitude) <= 180:  # also False for nan and inf
            refs.append(f"location:{latitude:.6f},{longitude:.6f}")
    return tuple(refs)


def to_inbound(form: dict[str, str]) -> Inbound | None:
    """None when the sender is not a phone number we can answer."""
    sender = split_address(form.get("From", ""))
    if sender is None or not form.get("MessageSid"):
        return None
    channel, number = sender
    text = form.get("Body") or ""
    text = text if isinstance(text, str) else ""  # typed at the edge: the flows expect str
    payload = form.get("ButtonPayload") or None  # a WhatsApp quick-reply tap
    if payload is None:
        payload = keyword(text)  # STOP / START / HELP in any language: locales/lexicon/*/optout.txt ...
    return Inbound(channel, number, "" if payload else text, payload, locale_hint=None,
                   platform_message_id=form["MessageSid"], media=media_of(form))
