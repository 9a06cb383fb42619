"""`buurtbot report --neighbourhood SLUG --from DATE --to DATE [--csv]`: aggregates only, groups
smaller than five shown as "< 5".

The figures and their masking are handlers/digest.py's (the weekly digest shows the same); this
only reads the arguments and prints: the text in a language, or CSV rows ``metric,group,value``.
"""
from __future__ import annotations

import csv
import sys
from datetime import date


def add_parser(sub) -> None:
    from handlers.lexicon import LANGUAGES

    rp = sub.add_parser("report", help="a neighbourhood's figures for a period (aggregates only)")
    rp.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")
    rp.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (Brussels)")
    rp.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (Brussels), included")
    rp.add_argument("--csv", action="store_true", help="CSV rows metric,group,value instead of text")
    rp.add_argument("--language", choices=list(LANGUAGES),
                    help="the text's language (default: the terminal's, LANGUAGE/LANG, else en)")


#: The days a report may cover: buurtbot has no data before 2000, and 9999-12-31 plus a day (the
#: period's end) does not exist -- a typo there would end in an OverflowError, not an answer.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def _day(raw: str, what: str) -> date:
    from bot.cli import UserError

    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise UserError(f"{what}: not a date (YYYY-MM-DD): {raw!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UserError(f"{what}: {day} is outside {FIRST_DAY} .. {LAST_DAY}")
    return day


def cmd_report(args, settings) -> int:
    from bot.cli import UserError, _operator_language, _transaction
    from handlers.digest import describe, figures, rows
    from handlers.i18n import speaking
    from models.network import neighbourhood_by_slug

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    if end < start:
        raise UserError(f"--to ({end}) is before --from ({start})")
    with _transaction(settings) as session:
        nb = neighbourhood_by_slug(session, args.neighbourhood)
        if nb is None:
            raise UserError(f"no neighbourhood {args.neighbourhood!r} (see `buurtbot neighbourhood list`)")
        f = figures(session, nb.id, start, end)
    if args.csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(("metric", "group", "value"))
        out.writerows(rows(f))
    else:
        with speaking(args.language or _operator_language()):
            print(describe(f))
    return 0
