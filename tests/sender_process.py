"""One `buurtbot run`'s Telegram sender in a process of its own, for the several-instances test
(tests/test_senders.py): ``python -m tests.sender_process DATABASE_URL FAKE_BASE_URL TOKEN RATE STAMPS``.
Prints its owner name, then sends until it is killed. Each slot the sender takes is appended to the
file STAMPS as "owner time", the time on the sender's own clock (its monotonic clock, the one it
paces by): two processes share no clock, so the test checks each sender's spacing on its own
clock -- the decisions the sender made, which a slow machine cannot compress -- and never the
time the test or the fake saw pass."""
from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from models.db import make_engine, make_sessionmaker


class StampingSender(TelegramSender):
    """The real sender; each slot it takes (TelegramSender.pace) is written down, on its own clock."""

    def __init__(self, *args, stamps: TextIO, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stamps = stamps

    async def pace(self, cost: float = 1.0, address: str | None = None) -> None:
        await super().pace(cost, address)
        # The slot it decided on (not the clock read again after waking, which a loaded machine delays).
        slot = self.next_slot - cost * self.gap
        self.stamps.write(f"{self.owner} {slot!r}\n")
        self.stamps.flush()


async def main(database_url: str, base_url: str, token: str, rate: float, stamps_path: str) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    with open(stamps_path, "a", encoding="utf-8") as stamps:
        async with Bot(token, base_url=base_url) as bot:
            sender = StampingSender(bot, sessions, overall=rate, per_chat=1.0, heartbeat=0.2, stamps=stamps)
            print(sender.owner, flush=True)
            await sender.run(idle=0.05)


if __name__ == "__main__":
    url, base, token, rate, stamps_file = sys.argv[1:6]
    asyncio.run(main(url, base, token, float(rate), stamps_file))
