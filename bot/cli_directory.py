"""`buurtbot directory import FILE --neighbourhood SLUG`: the social map of a neighbourhood from
YAML or CSV (handlers/directory_file.py); importing again updates the services by their key.
A file with a bad entry imports nothing and names every bad entry with its position.
`buurtbot directory list --neighbourhood SLUG` shows what the chat answers from.
"""
from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    d = sub.add_parser("directory", help="the social map of local services: import, list")
    d_sub = d.add_subparsers(dest="directory_command", required=True)
    imp = d_sub.add_parser("import", help="add or update services from a .yaml/.yml or .csv file")
    imp.add_argument("file", help="the file (docs/directory/brussels-sample.yaml shows the fields)")
    imp.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")
    lst = d_sub.add_parser("list", help="the services of a neighbourhood")
    lst.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")


def cmd_directory(args, settings) -> int:
    from bot.cli import UserError, _transaction
    from handlers.directory_file import DirectoryError, checked, import_services, read_entries
    from models.network import neighbourhood_by_slug

    entries = None
    if args.directory_command == "import":
        try:  # read and checked before the database is opened: a bad file changes nothing
            entries = checked(read_entries(Path(args.file)))
        except DirectoryError as exc:
            raise UserError(f"nothing was imported from {args.file}:\n" + "\n".join(exc.problems)) from None
    with _transaction(settings) as session:
        nb = neighbourhood_by_slug(session, args.neighbourhood)
        if nb is None:
            raise UserError(f"no neighbourhood with slug {args.neighbourhood!r}; see `buurtbot neighbourhood list`")
        if entries is not None:
            added, updated = import_services(session, nb.id, entries)
            print(f"{nb.slug}: {added} services added, {updated} updated")
            return 0
        return _list(session, nb)


def _list(session, nb) -> int:
    from sqlalchemy import select

    from handlers.directory_file import shown_phone
    from models.directory import Service

    services = session.scalars(select(Service).where(Service.neighbourhood_id == nb.id)
                               .order_by(Service.category, Service.key)).all()
    if not services:
        print(f"no services in {nb.slug}")
    for s in services:
        print("\t".join([s.key, s.category, s.name_nl, ",".join(s.languages or []) or "-",
                         shown_phone(s.phone) or "-", s.access]))
    return 0
