"""Drains the WhatsApp or the SMS outbox through the real twilio client, within Twilio's limits.

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
  4xx fail the message with Twilio's code; 5xx and network errors retry with backoff.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException

from bot.channels.outbox_sender import OutboxSender
from bot.channels.twilio.phones import SMS, WHATSAPP, twilio_address
from bot.channels.twilio.render import sms_parts, segments, whatsapp_parts
from bot.channels.twilio.templates import MAX_VARIABLE, QUICK_REPLIES, Template, Templates, one_line
from handlers.undelivered import tell_coordinators
from models import ChannelIdentity, Outbox
from models import outbox as queue
from models.base import utcnow
from models.db import transaction

WINDOW = timedelta(hours=24)
MAX_ATTEMPTS = 8
MAX_BACKOFF = 60.0
TEMPLATE_REQUIRED = "63016"  # "outside the allowed window": only a template may go
OPTED_OUT = {"21610"}
UNREACHABLE = {"21211", "21614", "63003", "21408"}
BUTTON_TITLE = 20  # characters WhatsApp shows on a quick-reply button


@dataclass
class Plan:
    """What one outbox row becomes on the wire."""

    row: Outbox
    parts: list[str]  # bodies, in order (empty for a template)
    template: Template | None = None
    variables: str | None = None
    media: list[str] | None = None

    @property
    def cost(self) -> float:
        """Slots it takes: messages for WhatsApp, segments for SMS."""
        if self.row.channel == SMS:
            return float(sum(segments(p)[1] for p in self.parts))
        return float(max(1, len(self.parts) + len(self.media or [])))


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
                 sms_max_segments: int = 4, clock=time.monotonic, first_backoff: float = 1.0) -> None:
        super().__init__()
        self.name = channel
        self.channel, self.client, self.from_, self.sessions = channel, client, from_, sessions
        self.gap = 1.0 / rate
        self.templates = templates or Templates()
        self.status_callback = status_callback
        self.sms_max_segments = sms_max_segments
        self.clock = clock
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.backoff = 0.0
        self.first_backoff = first_backoff
        self.busy: set[str] = set()  # addresses with a send on the wire
        self.sent = self.throttled = 0
        self._tasks: set[asyncio.Task] = set()

    async def drain_once(self, wait: bool = False) -> bool:
        """Start what is due now, each at its slot. Returns whether anything was taken.
        ``wait``: also wait for the answers (tests, benchmarks)."""
        plans = await asyncio.to_thread(self._take)
        for i, plan in enumerate(plans):
            await self._pace(plan.cost)
            if self.paused_until > self.clock():  # a 429 came meanwhile: give the rest back
                await asyncio.to_thread(self._record, lambda s, ids=[p.row.id for p in plans[i:]]:
                                        queue.retry_at(s, ids, utcnow(), count_attempt=False))
                for p in plans[i:]:
                    self.busy.discard(p.row.address)
                break
            task = asyncio.create_task(self._send(plan))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if wait:
            await self.idle()
        return bool(plans)

    async def idle(self) -> None:
        """Wait until every send started so far has its answer recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- choosing ----------------------------------------------------------------------
    def _take(self) -> list[Plan]:
        """Lease the due rows and decide what each becomes, in one transaction; rows that
        must be rerouted or held are settled here, without the network."""
        now = utcnow()
        with transaction(self.sessions) as session:
            plans, seen = [], set()
            for row in queue.due(session, self.channel, now):
                if row.address in seen or row.address in self.busy:
                    continue  # a later message to the same address waits for the earlier one
                seen.add(row.address)
                plan = self._plan(session, row, now)
                if plan is not None:
                    plans.append(plan)
            queue.lease(session, [p.row for p in plans], now)
        for plan in plans:
            self.busy.add(plan.row.address)
        return plans

    def _plan(self, session: Session, row: Outbox, now) -> Plan | None:
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
            values = {"text": row.text, "first_name": person.first_name if person else "",
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
    async def _pace(self, cost: float) -> None:
        now = self.clock()
        wait = max(self.next_slot, self.paused_until) - now
        if wait > 0:
            await asyncio.sleep(wait)
            now = self.clock()
        self.next_slot = max(now, self.next_slot) + cost * self.gap

    async def _send(self, plan: Plan) -> None:
        row = plan.row
        try:
            sid, status = await self._deliver(plan)
        except TwilioRestException as exc:
            await asyncio.to_thread(self._record, lambda s: self._refused(s, row, exc))
        except Exception as exc:  # noqa: BLE001 - network, time-out, aiohttp errors: retried, never lost
            await asyncio.to_thread(self._record, lambda s: self._retry_later(s, row, type(exc).__name__))
        else:
            self.sent += 1
            self.backoff = 0.0

            def delivered(s: Session) -> None:
                queue.mark_delivered(s, [row], {row.id: sid})
                s.query(Outbox).filter(Outbox.id == row.id, Outbox.delivery_status.is_(None)) \
                    .update({"delivery_status": status}, synchronize_session=False)

            await asyncio.to_thread(self._record, delivered)
        finally:
            self.busy.discard(row.address)

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
                await self._pace(segments(body)[1] if self.channel == SMS else 1)
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
        """One message a medium after the text (WhatsApp carries one medium a message)."""
        for i, url in enumerate(plan.media or []):
            if i or plan.parts:
                await self._pace(1)
            message = await self.client.messages.create_async(media_url=[url], **common)
        return message.sid, message.status

    # ---- outcomes ----------------------------------------------------------------------
    def _refused(self, session: Session, row: Outbox, exc: TwilioRestException) -> None:
        code = str(exc.code or exc.status)
        if exc.status == 429 or code == "20429":
            self.throttled += 1
            self.backoff = min(MAX_BACKOFF, max(self.first_backoff, self.backoff * 2))
            self.paused_until = max(self.paused_until, self.clock() + self.backoff)
            queue.retry_at(session, [row.id], utcnow() + timedelta(seconds=self.backoff), count_attempt=False,
                           error=f"twilio {code}")
            return
        if code == TEMPLATE_REQUIRED and self.channel == WHATSAPP:
            requeue_as_template(session, session.get(Outbox, row.id), self.templates)
        elif code in OPTED_OUT:
            session.query(ChannelIdentity).filter_by(channel=self.channel, address=row.address) \
                .update({"opted_out_at": utcnow()}, synchronize_session=False)
            queue.cancel_queued(session, self.channel, row.address, f"twilio {code}: opted out")
        elif code in UNREACHABLE:
            queue.unreachable(session, self.channel, row.address, f"twilio {code}")
        elif exc.status is not None and exc.status >= 500:
            self._retry_later(session, row, f"twilio {exc.status}")
        else:
            queue.fail(session, [row.id], f"twilio {code}")
        session.query(Outbox).filter(Outbox.id == row.id).update({"error_code": code[:8]}, synchronize_session=False)

    def _retry_later(self, session: Session, row: Outbox, reason: str) -> None:
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            queue.fail(session, [row.id], f"network: {reason}")
        else:
            queue.retry_at(session, [row.id], utcnow() + timedelta(seconds=min(300, 2 ** attempts)), True, reason)


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
