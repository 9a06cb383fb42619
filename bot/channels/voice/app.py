"""Phone calls: the voice routes on the shared web app, and the voice sender on the outbox.

``/twilio/voice/twiml`` (the call was answered: what to say), ``/twilio/voice/gather`` (a key
was pressed) and ``/twilio/voice/status`` (the call's progress) are signed Twilio webhooks: a
missing or wrong ``X-Twilio-Signature`` (checked on PUBLIC_BASE_URL + path + query) or a row
token that does not match gets 403 and changes nothing. On when TWILIO_ACCOUNT_SID,
TWILIO_AUTH_TOKEN, TWILIO_VOICE_FROM and PUBLIC_BASE_URL are set (Twilio must reach us).
"""
from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.channels.twilio.app import make_client
from bot.channels.voice import calls
from bot.channels.voice.inbound import call_event, signed_params
from bot.channels.voice.render import Calls, hang_up, parse_voices, voice_for
from bot.channels.voice.sender import GATHER_PATH, STATUS_PATH, TWIML_PATH, VoiceSender
from bot.settings import Settings
from models import Outbox
from models.base import utcnow
from models.db import transaction

log = logging.getLogger("buurtbot.voice")
TWIML = "text/xml"


def enabled(settings: Settings) -> bool:
    """Account, token, TWILIO_VOICE_FROM and PUBLIC_BASE_URL are set (Settings.channels)."""
    return "voice" in settings.channels


class VoiceChannel:
    def __init__(self, settings: Settings, sessions, client=None, now=utcnow) -> None:
        self.settings, self.sessions, self.now = settings, sessions, now
        self.secret = settings.twilio_auth_token
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.base = settings.public_base_url.rstrip("/")
        self.voices = parse_voices(settings.twilio_voices)
        self.client = client  # made in connect(): aiohttp wants a running event loop
        self.sender = VoiceSender(client, settings.twilio_voice_from, sessions, settings.twilio_rate_voice,
                                  self.base, self.secret)
        self._task: asyncio.Task | None = None

    # ---- life cycle -----------------------------------------------------------------------
    def connect(self) -> None:
        if self.client is None:
            self.client = make_client(self.settings)
        self.sender.client = self.client

    async def start(self) -> None:
        self.connect()
        self._task = asyncio.create_task(self.sender.run())
        log.info("voice channel started")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        close = getattr(self.client.http_client, "close", None) if self.client is not None else None
        if close is not None:
            await close()

    def health(self) -> dict:
        return {"sent": self.sender.sent, "throttled": self.sender.throttled}

    def routes(self) -> list[Route]:
        methods = ["GET", "POST"]  # Twilio uses POST unless told otherwise; both are signed
        return [Route(TWIML_PATH, self.on_twiml, methods=methods),
                Route(GATHER_PATH, self.on_gather, methods=methods),
                Route(STATUS_PATH, self.on_status, methods=methods)]

    # ---- webhooks ---------------------------------------------------------------------------
    def render(self, row: Outbox) -> Calls:
        return Calls(voice_for(row.language, self.voices), row.language,
                     lambda attempt: self.sender.url(GATHER_PATH, row.id, **{"try": attempt}))

    async def _event(self, request: Request):
        params = await signed_params(request, self.validator, self.base)
        if isinstance(params, Response):
            log.warning("voice request with a missing or wrong signature refused")
            return params
        event = call_event(request, params, self.secret)
        if event is None:
            log.warning("voice request for a call we did not place refused")
            return Response("forbidden", status_code=403)
        return event

    def _run(self, work):
        with transaction(self.sessions) as session:
            return work(session)

    def _twiml(self, work) -> str:
        """The TwiML ``work`` makes in one transaction. If it fails, nothing of it is kept and the
        call ends quietly: Twilio would otherwise read out "an application error has occurred",
        and the status callback then finds no answer -- the ladder tries again."""
        try:
            return self._run(work)
        except Exception as exc:  # noqa: BLE001 - a person on the phone never hears a traceback
            log.error("voice request failed: %s", type(exc).__name__)
            return hang_up()

    async def on_twiml(self, request: Request) -> Response:
        event = await self._event(request)
        if isinstance(event, Response):
            return event
        body = await run_in_threadpool(self._twiml, lambda s: calls.twiml(s, event, self.render))
        return Response(body, media_type=TWIML)

    async def on_gather(self, request: Request) -> Response:
        event = await self._event(request)
        if isinstance(event, Response):
            return event
        body = await run_in_threadpool(self._twiml, lambda s: calls.gather(s, event, self.render, self.now()))
        return Response(body, media_type=TWIML)

    async def on_status(self, request: Request) -> Response:
        event = await self._event(request)
        if isinstance(event, Response):
            return event
        try:
            changed = await run_in_threadpool(self._run, lambda s: calls.status(s, event, self.now()))
        except Exception as exc:  # noqa: BLE001 -- logged by type only: a database error's text can carry numbers
            log.error("voice status failed: %s", type(exc).__name__)
            return Response(status_code=500)
        log.info("voice status %s%s", event.status or "-", "" if changed else " (seen before)")
        return Response(status_code=204)
