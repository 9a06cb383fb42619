"""Twilio's voice webhooks -> what the call routes need: the signed parameters, the outbox row
they are about, and the call's event.

Every voice route is a signed Twilio webhook. The URL checked is PUBLIC_BASE_URL + path +
query, as Twilio called it (behind a proxy this server sees another URL). Twilio fetches with
POST unless told otherwise; a GET carries its parameters in the query, which the signature
covers. Each URL buurtbot hands Twilio also carries ``row`` (the outbox row of the call) and
``t``, a token only the account's auth token can make for that row: a valid signature on a
URL with someone else's row is still refused.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY = 64_000
MAX_ID = 2 ** 63 - 1  # outbox ids are 64-bit signed integers
CALL_SID = re.compile(r"CA[0-9A-Za-z]{1,62}")
#: Final states of a call (Twilio's CallStatus); the others are on the way there.
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")
KEYS = "0123456789*#"  # a phone's keypad


def row_token(secret: str, row_id: int) -> str:
    """The ``t`` of a call's URLs: HMAC of the row id with the auth token."""
    return hmac.new(secret.encode(), f"voice-row:{row_id}".encode(), hashlib.sha256).hexdigest()[:24]


@dataclass(frozen=True)
class CallEvent:
    """What one signed request says about a call."""

    row_id: int
    call_sid: str
    status: str = ""  # CallStatus, lower case
    answered_by: str = ""  # AnsweredBy: human, machine_start, machine_end_beep, fax, unknown
    digits: str = ""  # Digits (Gather action)
    attempt: int = 1  # which Gather of the call answered: 1, or 2 after the one re-prompt

    @property
    def machine(self) -> bool:
        return self.answered_by.startswith("machine") or self.answered_by == "fax"


def public_url(base: str | None, request: Request) -> str:
    """The URL Twilio called: PUBLIC_BASE_URL + path + query (this server's own URL only
    when no public one is configured)."""
    if not base:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


async def signed_params(request: Request, validator: RequestValidator, base: str | None) -> dict[str, str] | Response:
    """The parameters Twilio sent (form for POST, query for GET), or the response refusing them."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return Response("too large", status_code=413)
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if request.method == "POST" else {}
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not validator.validate(public_url(base, request), form, signature):
        return Response("forbidden", status_code=403)
    return form if request.method == "POST" else dict(request.query_params)


def call_event(request: Request, params: dict[str, str], secret: str) -> CallEvent | None:
    """The event, or None when the row, its token or the call sid is not one we could have made."""
    query = request.query_params
    raw, token = query.get("row", ""), query.get("t", "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_ID:
        return None
    row_id = int(raw)
    if not hmac.compare_digest(token.encode(), row_token(secret, row_id).encode()):  # bytes: any text compares
        return None
    sid = params.get("CallSid", "")
    if not CALL_SID.fullmatch(sid):
        return None
    digits = params.get("Digits", "")
    return CallEvent(row_id, sid, status=params.get("CallStatus", "").strip().lower()[:16],
                     answered_by=params.get("AnsweredBy", "").strip().lower()[:32],
                     digits=digits[:1] if digits[:1] and digits[:1] in KEYS else "",
                     attempt=2 if query.get("try") == "2" else 1)
