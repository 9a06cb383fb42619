"""Phone numbers as Twilio writes them -> (channel, E.164).

Twilio sends ``whatsapp:+32470...`` for WhatsApp and a bare number for SMS; people and
coordinators type ``0470 12 34 56``. One normal form (E.164, default region BE) means the
same phone is one identity whatever way it was written.
"""
from __future__ import annotations

import phonenumbers

WHATSAPP, SMS = "whatsapp", "sms"
CHANNELS = (WHATSAPP, SMS)
DEFAULT_REGION = "BE"


def e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """The number in E.164, or None when it is not a possible phone number."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def split_address(raw: str) -> tuple[str, str] | None:
    """``whatsapp:+32470123456`` -> ("whatsapp", "+32470123456"); ``+32470123456`` -> ("sms", ...)."""
    raw = (raw or "").strip()
    channel = SMS
    if raw.lower().startswith("whatsapp:"):
        channel, raw = WHATSAPP, raw.split(":", 1)[1]
    number = e164(raw)
    return (channel, number) if number else None


def twilio_address(channel: str, number: str) -> str:
    """What Twilio's ``To`` expects for an identity of ours."""
    return f"whatsapp:{number}" if channel == WHATSAPP else number
