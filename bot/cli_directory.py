"""`buurtbot directory import FILE`: the social map of a neighbourhood from YAML or CSV;
re-importing updates.
"""
from __future__ import annotations


def add_parser(sub) -> None:
    sub.add_parser("directory", help="the social map of local services: import")


def cmd_directory(args, settings) -> int:
    from bot.cli import UserError

    raise UserError("not built yet")
