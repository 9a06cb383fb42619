"""Drains the Telegram outbox within Telegram's limits.

- Pacing: at most ``overall`` messages a second in all and ``per_chat`` a second to one chat
  (Telegram: ~30/s, ~1/s per chat). A chat that is not ready yet waits without holding up the
  others, and its messages keep their order.
- Sends are paced, not serialised: the next one starts at its slot while earlier ones are still
  on the wire, so a round trip longer than 1/overall s does not lower the rate. Telegram counts
  a send when it arrives -- after we start it, before its answer comes back -- so a send starts
  only while fewer than ``overall`` are in flight or were answered within the last second, and
  a chat's next message only 1/per_chat s after the answer to its last one: a send delayed on
  its way (a slow network, a garbage-collection pause) cannot land in the same second as the
  ``overall`` after it.
- RetryAfter (429): Telegram's flood wait covers the whole bot, so every send pauses as long as
  it says (several refused at once: one wait after the other, never too short); the message
  goes back to the queue, no attempt counted, nothing lost.
- Forbidden (403, blocked or deactivated): the identity is marked inactive and nothing more is
  sent to it. BadRequest (400): that message fails with the reason. Network errors and time-outs
  retry with exponential backoff.
"""
from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.media import send_to_telegram
from bot.channels.outbox_sender import OutboxSender
from bot.channels.telegram.inbound import CHANNEL
from bot.channels.telegram.render import MAX_CAPTION, message_args
from models import Outbox
from models import outbox as queue
from models.base import utcnow
from models.db import transaction

MAX_ATTEMPTS = 8


class TelegramSender(OutboxSender):
    name = CHANNEL
    media = None  # bot.channels.media.Media: fetches media that came through another channel

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], overall: float = 30.0, per_chat: float = 1.0,
                 clock=time.monotonic) -> None:
        super().__init__()
        self.bot, self.sessions, self.clock = bot, sessions, clock
        self.overall_gap, self.chat_gap = 1.0 / overall, 1.0 / per_chat
        self.next_slot = 0.0
        self.paused_until = 0.0
        self.chat_ready: dict[str, float] = {}
        self.per_second = max(1, math.floor(overall))  # sends allowed to arrive in any one second
        self.in_flight = 0
        self.answered: deque[float] = deque()  # when the answers of the last second came
        self.sent = self.retry_afters = 0

    async def drain_once(self) -> bool:
        """Send what is due now, within the limits. Returns whether anything was sent."""
        batch = await asyncio.to_thread(self._take)
        in_flight = []  # one row per chat in a batch: concurrent sends keep each chat's order
        for i, row in enumerate(batch):
            await self._window()
            await self._pace(row.address)
            if self.paused_until > self.clock():  # a flood wait began meanwhile: stop this round
                await asyncio.to_thread(self._release, [r.id for r in batch[i:]])
                break
            self.in_flight += 1
            in_flight.append(asyncio.create_task(self._send(row)))
        await asyncio.gather(*in_flight)
        return bool(batch)

    def _take(self) -> list[Outbox]:
        now, mono = utcnow(), self.clock()
        with transaction(self.sessions) as session:
            chosen, seen = [], set()
            for row in queue.due(session, CHANNEL, now):
                if row.address in seen:
                    continue  # a later message to the same chat waits for the earlier one
                seen.add(row.address)
                if self.chat_ready.get(row.address, 0.0) <= mono:
                    chosen.append(row)
            queue.lease(session, chosen, now)
        return chosen

    def _release(self, ids: list[int], delay: float = 0.0) -> None:
        with transaction(self.sessions) as session:
            queue.retry_at(session, ids, utcnow() + timedelta(seconds=delay), count_attempt=False)

    async def _window(self) -> None:
        """Wait until fewer than ``per_second`` sends are in flight or answered within 1 s."""
        while True:
            now = self.clock()
            while self.answered and self.answered[0] <= now - 1.0:
                self.answered.popleft()
            if self.in_flight + len(self.answered) < self.per_second:
                return
            await asyncio.sleep(self.answered[0] + 1.0 - now if self.answered else 0.01)

    def _answered(self, address: str) -> None:
        now = self.clock()
        self.in_flight -= 1
        self.answered.append(now)
        self.chat_ready[address] = max(self.chat_ready.get(address, 0.0), now + self.chat_gap)

    async def _pace(self, address: str) -> None:
        now = self.clock()
        wait = max(self.next_slot, self.paused_until, self.chat_ready.get(address, 0.0)) - now
        if wait > 0:
            await asyncio.sleep(wait)
            now = self.clock()
        self.next_slot = now + self.overall_gap
        self.chat_ready[address] = now + self.chat_gap

    async def _send(self, row: Outbox) -> bool:
        """Deliver one row (already paced) and record the outcome. False means: a flood wait."""
        try:
            try:
                message_id = await self._deliver(row)
            finally:  # by now the send reached Telegram, if it ever does
                self._answered(row.address)
        except RetryAfter as exc:
            delay = exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta) else float(exc.retry_after)
            self.retry_afters += 1
            self.paused_until = max(self.paused_until, self.clock()) + delay
            await asyncio.to_thread(self._release, [row.id], delay)
            return False
        except Forbidden as exc:
            reason = f"forbidden: {exc.message}"
            await asyncio.to_thread(self._record, lambda s: queue.unreachable(s, CHANNEL, row.address, reason))
        except BadRequest as exc:
            reason = f"bad request: {exc.message}"
            await asyncio.to_thread(self._record, lambda s: queue.fail(s, [row.id], reason))
        except (TimedOut, NetworkError) as exc:
            reason, attempts = type(exc).__name__, row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                await asyncio.to_thread(self._record, lambda s: queue.fail(s, [row.id], f"network: {reason}"))
            else:
                when = utcnow() + timedelta(seconds=min(300, 2 ** attempts))
                await asyncio.to_thread(self._record, lambda s: queue.retry_at(s, [row.id], when, True, reason))
        else:
            self.sent += 1
            await asyncio.to_thread(self._record, lambda s: queue.mark_delivered(s, [row], {row.id: str(message_id)}))
        return True

    async def _deliver(self, row: Outbox) -> int:
        chat_id = int(row.address)
        args = message_args(row.text, row.options or [], row.language)
        if await self._send_media(chat_id, row) and not row.options:
            return 0  # the text went as the caption
        sent = await self.bot.send_message(chat_id, **args)
        return sent.message_id

    async def _send_media(self, chat_id: int, row: Outbox) -> int:
        """Every photo and voice note of the row, from whichever channel it came (media.py)."""
        if not row.media:
            return 0
        caption = message_args(row.text, [], row.language, MAX_CAPTION)["text"]
        return await send_to_telegram(self.bot, chat_id, row.media, caption, self.media)
