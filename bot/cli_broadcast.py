"""`buurtbot broadcast send|status`: an announcement from the command line (an operator, a
monthly letter from cron); the same engine as /broadcast in the chat (handlers/broadcasts.py).
"""
from __future__ import annotations


def add_parser(sub) -> None:
    sub.add_parser("broadcast", help="broadcasts: send (with a preview) and status")


def cmd_broadcast(args, settings) -> int:
    from bot.cli import UserError

    raise UserError("not built yet")
