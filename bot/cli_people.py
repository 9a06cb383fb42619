"""`buurtbot people import|export`: the lists a wijkhuis already keeps (the telefooncirkel, the
buurtmaaltijd guests), in and out as CSV; a row without consent is refused.

The rules are handlers/people_lists.py's; this module reads and writes files and prints. An
import is one transaction: one bad row and nothing is saved, every bad row is listed.
"""
from __future__ import annotations

import os
import sys


def add_parser(sub) -> None:
    people = sub.add_parser("people", help="people a neighbourhood already knows: import or export a CSV")
    people_sub = people.add_subparsers(dest="people_command", required=True)
    imp = people_sub.add_parser("import", help="add or update people from a CSV list (first_name,phone,language,"
                                               "channel,consent[,street]), all or nothing")
    imp.add_argument("file", metavar="FILE.csv")
    imp.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")
    imp.add_argument("--dry-run", action="store_true", help="check the list and say what it would do; save nothing")
    exp = people_sub.add_parser("export", help="write the neighbourhood's people with a phone as CSV (the same "
                                               "columns)")
    exp.add_argument("file", nargs="?", metavar="FILE", help="where to write (default: standard output)")
    exp.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")


def cmd_people(args, settings) -> int:
    return _import(args, settings) if args.people_command == "import" else _export(args, settings)


class _DryRun(Exception):
    """Raised to roll the transaction of a --dry-run back."""


def _neighbourhood(session, slug: str):
    from bot.cli import UserError
    from models.network import neighbourhood_by_slug

    nb = neighbourhood_by_slug(session, slug)
    if nb is None:
        raise UserError(f"no neighbourhood with slug {slug!r}; see `buurtbot neighbourhood list`")
    return nb


def _import(args, settings) -> int:
    from sqlalchemy.exc import IntegrityError

    from bot.cli import UserError, _transaction
    from handlers.people_lists import ListRefused, decode, import_rows, read_rows
    from models.base import utcnow

    try:
        with open(args.file, "rb") as f:
            text = decode(f.read())
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        rows = read_rows(text)
        with _transaction(settings) as session:
            nb = _neighbourhood(session, args.neighbourhood)
            done = import_rows(session, nb, rows, utcnow())
            if args.dry_run:
                raise _DryRun
    except ListRefused as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        raise UserError(f"nothing was imported: correct the {len(exc.problems)} problem(s) above and import the "
                        "whole list again") from None
    except IntegrityError:
        # One of them wrote to the bot from that number during the import (their new identity
        # came first): nothing was imported; a second run finds and uses it.
        raise UserError("someone on the list wrote to the bot during the import: nothing was imported; run the "
                        "same import again") from None
    except _DryRun:
        print(f"{len(rows)} people checked, nothing saved (--dry-run): {done.added} would be added, {done.updated} "
              f"updated, {done.unchanged} unchanged")
        return 0
    print(f"imported {len(rows)} people into {args.neighbourhood}: {done.added} added, {done.updated} updated, "
          f"{done.unchanged} unchanged")
    if done.stopped:
        print(f"{done.stopped} number(s) sent STOP before: listed on another channel, they stay silent until "
              "the person sends START")
    return 0


def _export(args, settings) -> int:
    from bot.cli import UserError, _transaction
    from handlers.people_lists import export_rows, write_csv

    with _transaction(settings) as session:
        nb = _neighbourhood(session, args.neighbourhood)
        out = export_rows(session, nb)
    if args.file:
        try:
            # Phone numbers and names: readable by the operator only.
            fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            raise UserError(f"cannot write {args.file}: {exc.strerror}") from None
        with open(fd, "w", encoding="utf-8", newline="") as f:
            write_csv(out.rows, f)
    else:
        write_csv(out.rows, sys.stdout)
    left_out = []
    if out.without_phone:
        left_out.append(f"{out.without_phone} without a phone number")
    if out.do_not_contact:
        left_out.append(f"{out.do_not_contact} who asked not to be contacted")
    print(f"exported {len(out.rows)} people of {args.neighbourhood}"
          + (f"; left out: {', '.join(left_out)}" if left_out else ""), file=sys.stderr)
    return 0
