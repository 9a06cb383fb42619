"""Places the check-in calls queued in the outbox (channel "voice"), one call per row, through
the real twilio client at TWILIO_RATE_VOICE calls a second (Twilio's default for an account:
one). Taking, leasing, pacing and retrying are the shared core's (bot/channels/outbox_sender.py).

``calls.create`` gets the TwiML URL of the row (``/twilio/voice/twiml?row=<id>&t=<token>``),
the status callback for initiated/ringing/answered/completed, answering machine detection and
a 20-second ring; the CallSid becomes the row's platform_message_id. Twilio's answers map as
for SMS: 429 / 20429 pauses every call with a growing backoff (no attempt counted); a number
that cannot be called (not E.164, or 21211/21214/21215/21217/13224...) fails once and for all,
and as for SMS its identity is no longer used; other 4xx fail the row; 5xx and network errors
retry with backoff. A row that fails is a call that never rang: the check-in's ladder hears
"failed" (handlers.checkins.call_ended).
"""
from __future__ import annotations

import asyncio
import time

import aiohttp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.channels.outbox_sender import Fail, Job, Outcome, OutboxSender, Pause, Retry, Sent, Settle
from bot.channels.twilio.phones import e164
from bot.channels.voice.calls import CHANNEL, first_time, occurrence_of
from bot.channels.voice.inbound import FINAL, row_token
from handlers import checkins
from handlers.i18n import speaking
from models import Outbox
from models import outbox as queue

#: Answering machine detection that waits for the greeting's end (the beep) before our TwiML is
#: fetched for a machine, so the short voicemail is recorded, not spoken over the greeting
#: ("Enable" answers at once); a person who picks up is told "human" as fast.
MACHINE_DETECTION = "DetectMessageEnd"
TWIML_PATH, GATHER_PATH, STATUS_PATH = "/twilio/voice/twiml", "/twilio/voice/gather", "/twilio/voice/status"
EVENTS = ["initiated", "ringing", "answered", "completed"]
RING_SECONDS = 20
#: Numbers Twilio cannot call: invalid, unreachable, not allowed by the account's geo permissions.
UNREACHABLE = {"21211", "21214", "21215", "21217", "13224", "13223"}


class VoiceSender(OutboxSender):
    def __init__(self, client, from_: str, sessions: sessionmaker[Session], rate: float, base_url: str,
                 secret: str, clock=time.monotonic, first_backoff: float = 1.0, **core) -> None:
        super().__init__(CHANNEL, sessions, rate=rate, first_backoff=first_backoff, clock=clock, **core)
        self.client, self.from_ = client, from_
        self.base, self.secret = base_url.rstrip("/"), secret

    @property
    def throttled(self) -> int:
        return self.pauses

    def url(self, path: str, row_id: int, **extra) -> str:
        """An absolute URL of a voice route for one row, with the row's token."""
        query = "".join(f"&{k}={v}" for k, v in extra.items())
        return f"{self.base}{path}?row={row_id}&t={row_token(self.secret, row_id)}{query}"

    def prepare(self, session: Session, row: Outbox, now) -> Job | None:
        """A number that is not E.164 is never called: the row fails, the ladder goes on."""
        if e164(row.address or "") != row.address:
            queue.fail(session, [row.id], "malformed address: not a phone number in E.164")
            call_failed(session, row.id, now)
            return None
        return Job(row)

    async def attempt(self, job: Job) -> Outcome:
        row = job.row
        try:
            call = await self.client.calls.create_async(
                to=row.address, from_=self.from_, url=self.url(TWIML_PATH, row.id),
                status_callback=self.url(STATUS_PATH, row.id), status_callback_event=EVENTS,
                machine_detection=MACHINE_DETECTION, timeout=RING_SECONDS)
        except TwilioRestException as exc:
            return self._refused(exc)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, TwilioException) as exc:
            return Retry(type(exc).__name__)  # network, time-out: retried, never lost
        # Twilio answers "queued"; a final state comes only by status callback (Prism's example: "completed")
        return Sent(call.sid, None if call.status in FINAL else call.status)

    def _refused(self, exc: TwilioRestException) -> Outcome:
        code = str(exc.code or exc.status)
        if exc.status == 429 or code == "20429":
            return Pause(None, f"twilio {code}", code)
        if code in UNREACHABLE:
            return Settle(lambda s, row: self._unreachable(s, row, code), code)
        if exc.status is not None and exc.status >= 500:
            return Retry(f"twilio {exc.status}", code)
        return Fail(f"twilio {code}", code)

    def _unreachable(self, session: Session, row: Outbox, code: str) -> None:
        """As for SMS: the voice identity is no longer used, and nothing else queued for the
        number is called; each check-in concerned hears "failed" (this row's in _settle)."""
        others = session.scalars(select(Outbox.id).where(
            Outbox.channel == CHANNEL, Outbox.address == row.address, Outbox.id != row.id,
            Outbox.status.in_(("pending", "sending", "held")))).all()
        queue.unreachable(session, CHANNEL, row.address, f"twilio {code}: cannot call this number")
        for other in others:
            call_failed(session, other, self.now())

    def _settle(self, session: Session, row: Outbox, outcome: Outcome, delay: float) -> None:
        super()._settle(session, row, outcome, delay)
        if session.scalar(select(Outbox.status).where(Outbox.id == row.id)) == "failed":
            call_failed(session, row.id, self.now())


def call_failed(session: Session, row_id: int, now) -> None:
    """A call that could not be placed ends as "failed" for its check-in, once."""
    row = session.get(Outbox, row_id)
    occ_id = occurrence_of(row) if row is not None else None
    if occ_id is not None and first_time(session, f"row:{row_id}:failed"):
        with speaking(row.language):
            checkins.call_ended(session, occ_id, "failed", now)
