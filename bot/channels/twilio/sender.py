"""Drains the WhatsApp or the SMS outbox through the real twilio client, within Twilio's limits:
what a row becomes on the wire (window, templates, fallback) and Twilio's answers; taking,
leasing, pacing and retrying are the shared core's (bot/channels/outbox_sender.py).

- One sender per channel and sender number, paced at its own rate (WhatsApp 10 messages/s,
  SMS 1 segment/s by default): an SMS of three segments takes three slots. Sends start at
  their slot without waiting for the previous answer; one address's messages keep their order.
- WhatsApp's 24-hour window (since the identity last wrote): inside it, text with numbered
  options, or up to three short options as quick-reply buttons where a quick-reply Content
  is configured (templates.py); outside it (or after error 63016) only an approved Content template --
  ``content_sid`` + ``content_variables``, never ``body``. No template for that purpose and
  language: the same person's SMS number, else the message is held and the coordinators are
  told (handlers/undelivered.py).
- 429 / 20429: every send of this sender pauses with a growing backoff; the message goes back
  to the queue with no attempt counted. 21610 (the number sent STOP to Twilio) opts the
  identity out; 21211/21614 (not a number that can receive this) mark it unreachable; other
  4xx fail the message with Twilio's code; 5xx and network errors retry with backoff. A
  number that is not in E.164 fails at once ("malformed address") and holds nothing up.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioException, TwilioRestException

from bot.channels.outbox_sender import Fail, Job, Outcome, OutboxSender, Pause, Retry, Sent, Settle
from bot.channels.twilio.phones import SMS, WHATSAPP, e164, twilio_address
from bot.channels.twilio.render import sms_parts, segments, whatsapp_parts
from bot.channels.twilio.templates import MAX_VARIABLE, QUICK_REPLIES, Template, Templates, one_line
from handlers.broadcasts import announcement
from handlers.undelivered import tell_coordinators
from models import ChannelIdentity, Outbox
from models import outbox as queue
from models.base import utcnow

WINDOW = timedelta(hours=24)
TEMPLATE_REQUIRED = "63016"  # "outside the allowed window": only a template may go
OPTED_OUT = {"21610"}
UNREACHABLE = {"21211", "21614", "63003", "21408"}
BUTTON_TITLE = 20  # characters WhatsApp shows on a quick-reply button


@dataclass
class Plan(Job):
    """What one outbox row becomes on the wire."""

    parts: list[str]  # bodies, in order (empty for a template)
    template: Template | None = None
    variables: str | None = None
    media: list[str] | None = None

    @property
    def cost(self) -> float:
        """Slots the first message takes in the row's slot (its segments for SMS). Every later
        part and medium goes as a message of its own and takes its own slots when it goes
        (TwilioSender._deliver): counted here as well, they would be counted twice."""
        if self.row.channel == SMS and self.parts:
            return float(segments(self.parts[0])[1])
        return 1.0


def window_open(identity: ChannelIdentity | None, row: Outbox, now) -> bool:
    """The person wrote within 24 hours. A reply whose identity is gone (a farewell after
    /delete) was written when they wrote, so its own time stands in."""
    if row.error_code == TEMPLATE_REQUIRED:
        return False
    last = identity.last_inbound_at if identity is not None else row.created_at
    return last is not None and now - last < WINDOW


class TwilioSender(OutboxSender):
    media = None  # bot.channels.media.Media: the public links media are fetched from

    def __init__(self, channel: str, client, from_: str, sessions: sessionmaker[Session], rate: float,
                 templates: Templates | None = None, status_callback: str | None = None,
                 sms_max_segments: int = 4, clock=time.monotonic, first_backoff: float = 1.0, **core) -> None:
        super().__init__(channel, sessions, rate=rate, first_backoff=first_backoff, clock=clock, **core)
        self.client, self.from_ = client, from_
        self.templates = templates or Templates()
        self.status_callback = status_callback
        self.sms_max_segments = sms_max_segments

    @property
    def throttled(self) -> int:
        return self.pauses

    def check_address(self, address: str) -> str | None:
        return None if e164(address or "") == address else "malformed address: not a phone number in E.164"

    # ---- choosing ----------------------------------------------------------------------
    def prepare(self, session: Session, row: Outbox, now) -> Plan | None:
        """What the row becomes; rows that must be rerouted or held are settled here,
        without the network."""
        # No opt-out check here: a STOP failed what was queued, notifications skip opted-out
        # addresses, and what is written after it (the confirmation, 112) must go.
        identity = session.get(ChannelIdentity, row.identity_id) if row.identity_id else None
        if self.channel == SMS:
            return Plan(row, sms_parts(self._text_with_media(row), row.options or [], row.language,
                                       self.sms_max_segments))
        media = self._media_links(row)
        if window_open(identity, row, now):
            return (self._quick_reply(row, media)
                    or Plan(row, whatsapp_parts(row.text, row.options or [], row.language), media=media))
        template = self.templates.find(row.purpose, row.language)
        if template is not None:
            person = identity.person if identity is not None else None
            # a broadcast's template has its own header ("A message for {{1}}:"): the announcement alone
            text = (announcement(session, row) if row.purpose == "broadcast" else None) or row.text
            values = {"text": text, "first_name": person.first_name if person else "",
                      "neighbourhood": person.neighbourhood.name if person and person.neighbourhood else ""}
            return Plan(row, [], template=template, variables=template.fill(values))
        outside_window(session, row, "no approved template for this message")
        return None

    def _quick_reply(self, row: Outbox, media: list[str]) -> Plan | None:
        """One to three short options as tappable buttons, where a quick-reply Content is
        configured and the text fits in one; otherwise None (numbered lines)."""
        options = row.options or []
        if media or not 1 <= len(options) <= QUICK_REPLIES or len(one_line(row.text)) > MAX_VARIABLE \
                or any(len(o["label"]) > BUTTON_TITLE for o in options):
            return None
        template = self.templates.quick_reply(len(options), row.language)
        if template is None:
            return None
        values = {"text": row.text}
        for i, option in enumerate(options, 1):
            values[f"label{i}"], values[f"payload{i}"] = option["label"], option["payload"]
        return Plan(row, [], template=template, variables=template.fill(values))

    # ---- sending -----------------------------------------------------------------------
    async def attempt(self, plan: Plan) -> Outcome:
        try:
            sid, status = await self._deliver(plan)
        except TwilioRestException as exc:
            return self._refused(exc)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, TwilioException) as exc:
            return Retry(type(exc).__name__)  # network, time-out: retried, never lost
        return Sent(sid, status)

    async def _deliver(self, plan: Plan) -> tuple[str, str]:
        """Create the message(s); returns the last one's sid and status."""
        row = plan.row
        common = {"to": twilio_address(self.channel, row.address), "from_": self.from_}
        if self.status_callback:
            common["status_callback"] = f"{self.status_callback}?outbox={row.id}"
        if plan.template is not None:
            message = await self.client.messages.create_async(
                content_sid=plan.template.content_sid, content_variables=plan.variables, **common)
            return message.sid, message.status
        message = None
        for i, body in enumerate(plan.parts):
            if i:  # every part after the first takes its own slot
                await self.pace(segments(body)[1] if self.channel == SMS else 1, row.address)
            message = await self.client.messages.create_async(body=body, **common)
        return await self._send_media(plan, common, message)

    def _media_links(self, row: Outbox) -> list[str]:
        """A public link for each medium (bot/channels/media.py): Twilio fetches media itself,
        and its own MediaUrls need the account's credentials, so even those are served by us."""
        return self.media.links(row) if self.media is not None and row.media else []

    def _text_with_media(self, row: Outbox) -> str:
        """SMS carries no media: a line with a link for each (bot/channels/media.py)."""
        return self.media.text_with_links(row) if self.media is not None and row.media else row.text

    async def _send_media(self, plan: Plan, common: dict, message) -> tuple[str, str]:
        """One message a medium after the text (WhatsApp carries one medium a message), each
        in a slot of its own; with no text the first medium goes in the row's slot."""
        for i, url in enumerate(plan.media or []):
            if i or plan.parts:
                await self.pace(1, plan.row.address)
            message = await self.client.messages.create_async(media_url=[url], **common)
        return message.sid, message.status

    # ---- Twilio's answers --------------------------------------------------------------
    def _refused(self, exc: TwilioRestException) -> Outcome:
        code = str(exc.code or exc.status)
        if exc.status == 429 or code == "20429":
            return Pause(None, f"twilio {code}", code)
        if code == TEMPLATE_REQUIRED and self.channel == WHATSAPP:
            return Settle(lambda s, row: requeue_as_template(s, s.get(Outbox, row.id), self.templates), code)
        if code in OPTED_OUT:
            return Settle(lambda s, row: self._opted_out(s, row, code), code)
        if code in UNREACHABLE:
            return Settle(lambda s, row: queue.unreachable(s, self.channel, row.address, f"twilio {code}"), code)
        if exc.status is not None and exc.status >= 500:
            return Retry(f"twilio {exc.status}", code)
        return Fail(f"twilio {code}", code)

    def _opted_out(self, session: Session, row: Outbox, code: str) -> None:
        session.query(ChannelIdentity).filter_by(channel=self.channel, address=row.address) \
            .update({"opted_out_at": utcnow()}, synchronize_session=False)
        queue.cancel_queued(session, self.channel, row.address, f"twilio {code}: opted out")


def outside_window(session: Session, row: Outbox, reason: str) -> None:
    """No template can carry it: the same person's SMS number, else hold and tell."""
    sms = queue.other_identity(session, row, SMS)
    if sms is not None:
        queue.reroute(session, row, sms, reason)
        return
    queue.hold(session, row, reason)
    tell_coordinators(session, row, "window")


def requeue_as_template(session: Session, row: Outbox, templates: Templates) -> None:
    """Error 63016 on a text we thought was inside the window: once more as a template
    (``error_code`` 63016 makes the sender choose one), or the outside-window path. A row
    that already carries 63016 was that template: it takes the outside-window path."""
    tried = row.error_code == TEMPLATE_REQUIRED
    row.error_code = TEMPLATE_REQUIRED
    if not tried and templates.find(row.purpose, row.language) is not None:
        row.status, row.next_attempt_at, row.error = "pending", utcnow(), "63016: sent again as a template"
    else:
        outside_window(session, row, "63016: outside the WhatsApp window")


def delivery_report(session: Session, row: Outbox, status: str, error_code: str | None,
                    templates: Templates) -> None:
    """A status callback: record it; a failed WhatsApp message goes by SMS when the person
    has a number for it (after 63016: first as a template)."""
    if not queue.record_delivery(session, row, status, None) or status not in queue.DELIVERY_FAILED:
        if error_code and status not in queue.DELIVERY_FAILED:
            row.error_code = error_code[:8]
        return
    if row.status not in ("sent", "sending"):
        return  # already rerouted, held or failed by an earlier report
    code = (error_code or "")[:8] or None
    if row.channel == WHATSAPP and code == TEMPLATE_REQUIRED:
        requeue_as_template(session, row, templates)
        return
    row.error_code = code
    row.status, row.error = "failed", f"twilio {status} {code or ''}".strip()
    if row.channel == WHATSAPP:
        sms = queue.other_identity(session, row, SMS)
        if sms is not None:
            queue.reroute(session, row, sms, f"whatsapp {status} {code or ''}".strip())
