"""`buurtbot people import|export`: the lists a wijkhuis already keeps (the telefooncirkel, the
buurtmaaltijd guests), in and out as CSV; a row without consent is refused.
"""
from __future__ import annotations


def add_parser(sub) -> None:
    sub.add_parser("people", help="people a neighbourhood already knows: import or export a CSV")


def cmd_people(args, settings) -> int:
    from bot.cli import UserError

    raise UserError("not built yet")
