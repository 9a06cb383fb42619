"""Drains the Telegram outbox within Telegram's limits: the platform call and the mapping of
Telegram's errors; taking, leasing, pacing and retrying are the shared core's
(bot/channels/outbox_sender.py).

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
- A chat id that is not a number fails at once ("malformed address") and holds nothing up. A
  refused token (401) pauses every send for a minute, nothing counted, nothing lost.
- Forbidden (403, blocked or deactivated): the identity is marked inactive and nothing more is
  sent to it. BadRequest (400): that message fails with the reason. Network errors and time-outs
  retry with exponential backoff.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.channels.media import send_to_telegram
from bot.channels.outbox_sender import Fail, Job, Outcome, OutboxSender, Pause, Retry, Sent, Settle
from bot.channels.telegram.inbound import CHANNEL
from bot.channels.telegram.render import MAX_CAPTION, message_args
from models import Outbox
from models import outbox as queue

CHAT_ID = re.compile(r"-?[1-9][0-9]{0,19}")
TOKEN_PAUSE = 60.0  # seconds every send waits after Telegram refused the token


class TelegramSender(OutboxSender):
    media = None  # bot.channels.media.Media: fetches media that came through another channel

    def __init__(self, bot: Bot, sessions: sessionmaker[Session], overall: float = 30.0, per_chat: float = 1.0,
                 clock=time.monotonic, **core) -> None:
        super().__init__(CHANNEL, sessions, rate=overall, address_gap=1.0 / per_chat, arrival_window=True,
                         clock=clock, **core)
        self.bot = bot

    @property
    def retry_afters(self) -> int:
        return self.pauses

    def check_address(self, address: str) -> str | None:
        return None if CHAT_ID.fullmatch(address or "") else "malformed address: not a Telegram chat id"

    async def attempt(self, job: Job) -> Outcome:
        row = job.row
        try:
            message_id = await self._deliver(row)
        except RetryAfter as exc:
            wait = exc.retry_after
            return Pause(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
        except Forbidden as exc:
            reason = f"forbidden: {exc.message}"
            return Settle(lambda s, r: queue.unreachable(s, CHANNEL, r.address, reason))
        except BadRequest as exc:
            return Fail(f"bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            return Retry(type(exc).__name__)
        except InvalidToken:  # nothing can go until the token is fixed; nothing is lost meanwhile
            return Pause(TOKEN_PAUSE, "telegram: invalid token")
        except TelegramError as exc:  # anything else Telegram says: a few more tries, then failed
            return Retry(type(exc).__name__)
        return Sent(str(message_id))

    async def _deliver(self, row: Outbox) -> int:
        chat_id = int(row.address)
        args = message_args(row.text, row.options or [], row.language)
        if await self._send_media(chat_id, row):
            if not row.options:
                return 0  # the text went as the caption
            await self.pace(1, row.address)  # the options follow in a message of their own
        sent = await self.bot.send_message(chat_id, **args)
        return sent.message_id

    async def _send_media(self, chat_id: int, row: Outbox) -> int:
        """Every photo and voice note of the row, from whichever channel it came (media.py);
        the first goes in the row's slot, every later one in a slot of its own."""
        if not row.media:
            return 0
        caption = message_args(row.text, [], row.language, MAX_CAPTION)["text"]
        return await send_to_telegram(self.bot, chat_id, row.media, caption, self.media,
                                      pace=lambda: self.pace(1, row.address))
