"""The WhatsApp and SMS channels: Twilio webhooks on the shared web app, senders on the outbox.

Inbound: ``POST /twilio/messages`` (Twilio's "a message comes in") and ``POST /twilio/status``
(delivery status callbacks). Every request must carry a valid ``X-Twilio-Signature`` for the
URL Twilio called -- rebuilt from PUBLIC_BASE_URL, because behind a proxy the URL this server
sees is not the one Twilio signed; a missing or wrong one gets 403 and changes nothing.
Answers go out through the outbox (never as TwiML), so a reply and a notification to a
neighbour travel the same way and survive a restart.
"""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.twilio.inbound import to_inbound
from bot.channels.twilio.phones import CHANNELS, SMS, WHATSAPP
from bot.channels.twilio.sender import TwilioSender, delivery_report
from bot.channels.twilio.templates import Templates
from bot.settings import Settings
from handlers import same_phone
from handlers.core import Inbound
from handlers.dispatch import Dispatcher
from models import Outbox
from models import outbox as queue
from models.db import transaction

log = logging.getLogger("buurtbot.twilio")
MESSAGES_PATH, STATUS_PATH = "/twilio/messages", "/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_BODY = 64_000
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def make_client(settings: Settings) -> Client:
    """The real twilio client on aiohttp; TWILIO_API_BASE_URL (tests) points it elsewhere."""
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=AsyncTwilioHttpClient())
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url.rstrip("/")
    return client


class TwilioChannel:
    def __init__(self, settings: Settings, dispatcher: Dispatcher, client: Client | None = None) -> None:
        self.settings, self.dispatcher = settings, dispatcher
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.client = client  # made in connect(): aiohttp wants a running event loop
        self.templates = Templates.load(settings.twilio_templates_file)
        base = (settings.public_base_url or "").rstrip("/")
        status_url = base + STATUS_PATH if base.startswith(("https://", "http://")) else None
        self.senders: dict[str, TwilioSender] = {}
        if settings.twilio_whatsapp_from:
            wa_from = settings.twilio_whatsapp_from
            self.senders[WHATSAPP] = TwilioSender(
                WHATSAPP, self.client, wa_from if wa_from.startswith("whatsapp:") else f"whatsapp:{wa_from}",
                dispatcher.sessions, settings.twilio_rate_whatsapp, self.templates, status_url)
        if settings.twilio_sms_from:
            self.senders[SMS] = TwilioSender(SMS, self.client, settings.twilio_sms_from, dispatcher.sessions,
                                             settings.twilio_rate_sms, self.templates, status_url,
                                             settings.twilio_sms_max_segments)
        self._tasks: list[asyncio.Task] = []

    # ---- life cycle -----------------------------------------------------------------------
    def connect(self) -> None:
        """Make the twilio client (inside the event loop) and give it to the senders."""
        if self.client is None:
            self.client = make_client(self.settings)
        for sender in self.senders.values():
            sender.client = self.client

    async def start(self) -> None:
        self.connect()
        self._tasks = [asyncio.create_task(s.run()) for s in self.senders.values()]
        log.info("twilio channels started: %s", ", ".join(self.senders))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        close = getattr(self.client.http_client, "close", None) if self.client is not None else None
        if close is not None:
            await close()

    def health(self) -> dict:
        return {name: {"sent": s.sent, "throttled": s.throttled} for name, s in self.senders.items()}

    def routes(self) -> list[Route]:
        return [Route(MESSAGES_PATH, self.on_message, methods=["POST"]),
                Route(STATUS_PATH, self.on_status, methods=["POST"])]

    # ---- webhooks ---------------------------------------------------------------------------
    async def signed_form(self, request: Request) -> dict[str, str] | Response:
        """The form Twilio posted, or the response that refuses it."""
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return Response("too large", status_code=413)
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature or not self.validator.validate(self.public_url(request), form, signature):
            log.warning("twilio request with a missing or wrong signature refused")
            return Response("forbidden", status_code=403)
        return form

    def public_url(self, request: Request) -> str:
        """The URL Twilio called: PUBLIC_BASE_URL + path + query (this server's own URL only
        when no public one is configured)."""
        if not self.settings.public_base_url:
            return str(request.url)
        query = request.url.query
        return self.settings.public_base_url.rstrip("/") + request.url.path + (f"?{query}" if query else "")

    async def on_message(self, request: Request) -> Response:
        form = await self.signed_form(request)
        if isinstance(form, Response):
            return form
        inbound = to_inbound(form)
        if inbound is None or inbound.channel not in self.senders:
            log.info("twilio message ignored (%s)", "no sender address" if inbound is None else
                     f"{inbound.channel} is not configured")
            return Response(EMPTY_TWIML, media_type="text/xml")
        result = await run_in_threadpool(self.dispatcher.handle, inbound, self.prepare)
        log.info("twilio %s message: %s", inbound.channel, result)
        for sender in self.senders.values():
            sender.wake()
        return Response(EMPTY_TWIML, media_type="text/xml")

    @staticmethod
    def prepare(session: Session, inbound: Inbound) -> None:
        """Before the message itself, in its transaction: what was held for this address goes
        out now that its WhatsApp window is open, and a phone already known on the other
        Twilio channel is the same person (a WhatsApp user who sends an SMS is not asked to
        join again)."""
        queue.release_held(session, inbound.channel, inbound.address)
        try:
            with session.begin_nested():
                link_same_phone(session, inbound.channel, inbound.address)
        except IntegrityError:
            pass  # the same number's first two messages at once: the other one linked it

    async def on_status(self, request: Request) -> Response:
        form = await self.signed_form(request)
        if isinstance(form, Response):
            return form
        try:
            outbox_id = outbox_id_of(request.query_params.get("outbox"))
        except ValueError:  # signed, yet never an id we wrote: change nothing
            log.warning("twilio status callback with a malformed outbox id refused")
            return Response("bad outbox id", status_code=400)
        await run_in_threadpool(self.record_status, form, outbox_id)
        for sender in self.senders.values():
            sender.wake()  # a fallback may have queued something
        return Response(status_code=204)

    def record_status(self, form: dict[str, str], outbox_id: int | None) -> None:
        sid, status = form.get("MessageSid", ""), (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        with transaction(self.dispatcher.sessions) as session:
            row = None
            if outbox_id is not None:
                row = session.get(Outbox, outbox_id)
            if row is None and sid:
                row = session.scalars(select(Outbox).where(Outbox.platform_message_id == sid).limit(1)).first()
            if row is None or row.status == "purged" or row.channel not in CHANNELS:
                return
            delivery_report(session, row, status, form.get("ErrorCode") or None, self.templates)


#: Outbox ids are 64-bit signed integers on SQLite and PostgreSQL (a bigger one overflows the driver).
MAX_ID = 2 ** 63 - 1


def outbox_id_of(value: str | None) -> int | None:
    """The ``outbox`` query parameter as a row id, None when absent. ValueError when it is not
    an id we could have written (not ASCII digits, zero, or beyond a 64-bit integer)."""
    if value is None or value == "":
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 0 < int(value) <= MAX_ID:
        raise ValueError("not an outbox id")
    return int(value)


def link_same_phone(session, channel: str, address: str) -> None:
    """A first message on one Twilio channel from a phone known on the other (or from a
    check-in call, or a person's own phone): one person (handlers/same_phone.py)."""
    same_phone.link(session, channel, address)
