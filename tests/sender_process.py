"""One `buurtbot run`'s Telegram sender in a process of its own, for the several-instances test
(tests/test_senders.py): ``python -m tests.sender_process DATABASE_URL FAKE_BASE_URL TOKEN RATE``.
Prints its owner name, then sends until it is killed."""
from __future__ import annotations

import asyncio
import sys

from telegram import Bot

from bot.channels.telegram.sender import TelegramSender
from models.db import make_engine, make_sessionmaker


async def main(database_url: str, base_url: str, token: str, rate: float) -> None:
    sessions = make_sessionmaker(make_engine(database_url))
    async with Bot(token, base_url=base_url) as bot:
        sender = TelegramSender(bot, sessions, overall=rate, per_chat=1.0, heartbeat=0.2)
        print(sender.owner, flush=True)
        await sender.run(idle=0.05)


if __name__ == "__main__":
    url, base, token, rate = sys.argv[1:5]
    asyncio.run(main(url, base, token, float(rate)))
