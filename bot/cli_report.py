"""`buurtbot report --neighbourhood SLUG --from DATE --to DATE [--csv]`: aggregates only, groups
smaller than five shown as "< 5".
"""
from __future__ import annotations


def add_parser(sub) -> None:
    sub.add_parser("report", help="a neighbourhood's figures for a period (aggregates only)")


def cmd_report(args, settings) -> int:
    from bot.cli import UserError

    raise UserError("not built yet")
