"""The `buurtbot` command: database, neighbourhoods, invites, run and demo."""
from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

# Each command group in a module of its own (cheap to import: their imports are lazy).
from bot.cli_broadcast import add_parser as add_broadcast_parser, cmd_broadcast
from bot.cli_checkin import add_parser as add_checkin_parser, cmd_checkin
from bot.cli_directory import add_parser as add_directory_parser, cmd_directory
from bot.cli_people import add_parser as add_people_parser, cmd_people
from bot.cli_report import add_parser as add_report_parser, cmd_report

if TYPE_CHECKING:  # imported in main(): `buurtbot nlu` needs no settings and must start fast
    from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["nlu"]:
        return cmd_nlu(argv[1:])
    from bot.settings import Settings

    parser = argparse.ArgumentParser(prog="buurtbot", description="Neighbour help by chat, for caring neighbourhoods.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("nlu", help="what the bot understands of a message (JSON); `buurtbot nlu --help`", add_help=False)

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="upgrade the schema to the newest version")
    db_sub.add_parser("current", help="show the schema version")

    nb = sub.add_parser("neighbourhood", help="neighbourhoods")
    nb_sub = nb.add_subparsers(dest="nb_command", required=True)
    add = nb_sub.add_parser("add", help="add a neighbourhood")
    add.add_argument("--name", required=True)
    add.add_argument("--slug", required=True)
    add.add_argument("--postcodes", required=True, help="comma separated, e.g. 1040,1050")
    from handlers.lexicon import LANGUAGES  # the languages are data (locales/lexicon)

    add.add_argument("--language", default="nl", choices=list(LANGUAGES), help="default language")
    add.add_argument("--contact", help="first name of the human contact (the coordinator)")
    nb_sub.add_parser("list", help="list neighbourhoods")

    from models.network import INVITE_ROLES  # partner, keyfigure: may signal worries and refer with consent

    inv = sub.add_parser("invite", help="make a one-time invite code")
    inv.add_argument("--role", required=True, choices=list(INVITE_ROLES))
    inv.add_argument("--neighbourhood", required=True, help="the neighbourhood's slug")

    for name, text in (("run", "run every configured channel, the scheduler and the web server"),
                       ("demo", "run the local demo chat on http://HOST:PORT")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)

    tick = sub.add_parser("tick", help="run every scheduler sweep once, now or as if at --at, and exit")
    tick.add_argument("--at", help="an ISO time, e.g. 2026-12-07T10:00 (without an offset: Europe/Brussels)")

    add_checkin_parser(sub)
    add_broadcast_parser(sub)
    add_people_parser(sub)
    add_directory_parser(sub)
    add_report_parser(sub)
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx would log the bot token in URLs; twilio logs every request's phone numbers and text.
    for noisy in ("alembic", "apscheduler", "httpx", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from bot.channels.twilio.templates import TemplateError

    try:
        return COMMANDS[args.command](args, settings)
    except (UserError, TemplateError) as exc:
        print(f"buurtbot: {exc}", file=sys.stderr)
        return 2


class UserError(Exception):
    pass


def cmd_nlu(argv: list[str]) -> int:
    """`buurtbot nlu "text"` / `--batch FILE`: no database, no settings, no credentials -- only the
    understanding step (handlers/understand.py), imported once the arguments are read."""
    import io
    import json
    from datetime import date

    parser = argparse.ArgumentParser(prog="buurtbot nlu", description="What the bot understands of a message: "
                                     "one JSON object per message (language, kind, category, when, urgent, referral).")
    parser.add_argument("text", nargs="?", help="the message")
    parser.add_argument("--batch", metavar="FILE", help="one message a line (- for stdin); prints JSON lines")
    parser.add_argument("--today", type=date.fromisoformat, help="the day to read dates from (YYYY-MM-DD)")
    parser.add_argument("--language", help="the person's own language (a hint for short texts)")
    args = parser.parse_args(argv)
    if (args.text is None) == (args.batch is None):
        parser.error("give one message, or --batch FILE")
    from handlers.understand import understand

    def show(message: str) -> None:
        result = understand(message, language=args.language, today=args.today).as_json()
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")

    if args.text is not None:
        show(args.text)
        return 0
    try:
        # One message a line, split on "\n" only: a lone "\r" inside a message is no line end.
        stream = (io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="\n")
                  if args.batch == "-" else open(args.batch, encoding="utf-8", errors="replace", newline="\n"))
    except OSError as exc:
        parser.error(f"cannot read {args.batch}: {exc.strerror}")
    try:
        for line in stream:
            show(line.rstrip("\r\n"))
    finally:
        if stream is not sys.stdin:
            stream.close()
    sys.stdout.flush()
    return 0


def _engine(settings: Settings):
    from models.db import make_engine

    return make_engine(settings.database_url)


def _require_schema(engine) -> None:
    from models.schema import SchemaOutdated, require_current

    try:
        require_current(engine)
    except SchemaOutdated as exc:
        raise UserError(str(exc)) from exc


def cmd_db(args, settings: Settings) -> int:
    from models import schema

    engine = _engine(settings)
    if args.db_command == "upgrade":
        schema.upgrade(engine)
    print(f"schema at {schema.current_revision(engine)} (newest {schema.head_revision(engine)})")
    return 0


@contextmanager
def _transaction(settings: Settings):
    """One session in one transaction on an up-to-date schema."""
    from models.db import make_sessionmaker, transaction

    engine = _engine(settings)
    _require_schema(engine)
    with transaction(make_sessionmaker(engine)) as session:
        yield session


def cmd_neighbourhood(args, settings: Settings) -> int:
    from models.network import NetworkError, add_neighbourhood, list_neighbourhoods

    with _transaction(settings) as session:
        if args.nb_command == "list":
            for nb in list_neighbourhoods(session):
                print(f"{nb.slug}\t{nb.name}\t{','.join(nb.postcodes)}\t{nb.default_language}")
            return 0
        postcodes = [p.strip() for p in args.postcodes.split(",") if p.strip()]
        try:
            nb = add_neighbourhood(session, args.name, args.slug, postcodes, args.language, args.contact)
        except NetworkError as exc:
            raise UserError(str(exc)) from exc
        print(f"added neighbourhood {nb.name} ({nb.slug}) for {', '.join(postcodes)}")
    return 0


def cmd_invite(args, settings: Settings) -> int:
    from models.network import create_invite, neighbourhood_by_slug

    with _transaction(settings) as session:
        nb = neighbourhood_by_slug(session, args.neighbourhood)
        if nb is None:
            raise UserError(f"no neighbourhood with slug {args.neighbourhood!r}; see `buurtbot neighbourhood list`")
        code = create_invite(session, nb, args.role).code
    print(code)
    if settings.telegram_bot_token and not settings.telegram_bot_username:
        settings.telegram_bot_username = _telegram_username(settings)
    link = settings.invite_link(code)
    if link:
        print(link)
    return 0


def _telegram_username(settings: Settings) -> str | None:
    """Ask Telegram for the bot's username (getMe) when it is not configured."""
    import asyncio

    from telegram import Bot
    from telegram.error import TelegramError

    async def ask() -> str | None:
        async with Bot(settings.telegram_bot_token, base_url=settings.telegram_base_url) as bot:
            return bot.username

    try:
        return asyncio.run(asyncio.wait_for(ask(), timeout=15))
    except (TelegramError, asyncio.TimeoutError, OSError) as exc:
        print(f"buurtbot: could not ask Telegram for the bot's name ({type(exc).__name__}); "
              "set TELEGRAM_BOT_USERNAME to print the t.me link", file=sys.stderr)
        return None


def _operator_language() -> str:
    """The language of the operator's terminal (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English."""
    import os

    from handlers.i18n import normalise_language

    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        for code in os.environ.get(name, "").split(":"):
            if normalise_language(code):
                return normalise_language(code)
    return "en"


def _refusal(message: str) -> UserError:
    """A refusal in the operator's language (the msgid is extracted where it is written)."""
    from handlers.i18n import catalog

    return UserError(catalog(_operator_language()).gettext(message))


#: The neighbourhood bot.demo.seed creates; any other one is a real neighbourhood.
DEMO_SLUG = "demo"


def _holds_real_data(settings: Settings) -> bool:
    """Whether the database holds a neighbourhood other than the demo's, or anyone reachable on
    a channel other than the demo's: then it is somebody's real data, never a demo's."""
    from sqlalchemy import exists, inspect, select

    from bot.demo import CHANNEL
    from models import ChannelIdentity, Neighbourhood

    engine = _engine(settings)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            real = []
            if Neighbourhood.__tablename__ in tables:
                real.append(exists().where(Neighbourhood.slug != DEMO_SLUG))
            if ChannelIdentity.__tablename__ in tables:
                real.append(exists().where(ChannelIdentity.channel != CHANNEL))
            return any(conn.scalar(select(condition)) for condition in real)
    finally:
        engine.dispose()


def _check_demo_database(settings: Settings, asked: bool) -> None:
    """The demo lets anyone post as its seeded coordinator: it runs only where it can harm no
    one. `run` without a channel falls back to it only on the default database (a mistyped
    token must not open a real database to everyone); `demo` never takes real data."""
    from handlers.i18n import N_

    if not asked and not settings.default_database:
        raise _refusal(N_(
            "No chat channel is configured, so there is nothing to run on the database that DATABASE_URL names. "
            "Set TELEGRAM_BOT_TOKEN, or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN with TWILIO_WHATSAPP_FROM or "
            "TWILIO_SMS_FROM (check them for typos). For the local demo, run `buurtbot demo` without "
            "DATABASE_URL."))
    if _holds_real_data(settings):
        raise _refusal(N_(
            "This database holds real neighbourhoods or people, so the demo will not use it: in the demo anyone "
            "may write as the coordinator. Run `buurtbot demo` on a database of its own (without DATABASE_URL it "
            "uses buurtbot.db in the current directory), or configure a channel (TELEGRAM_BOT_TOKEN, or "
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN with TWILIO_WHATSAPP_FROM or TWILIO_SMS_FROM) and use "
            "`buurtbot run`."))


def cmd_run(args, settings: Settings, demo: bool = False) -> int:
    import uvicorn

    from bot.runtime import Runtime
    from bot.web import create_app
    from models.db import close

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if demo or not settings.channels:
        _check_demo_database(settings, asked=demo)
        demo = True
    rt = Runtime.build(settings, demo=demo)
    if demo:
        from bot.demo import seed, seed_directory
        from models.schema import upgrade

        upgrade(rt.engine)
        with rt.sessions() as session, session.begin():
            seed_directory(session, seed(session))
        print(f"buurtbot demo: open http://{settings.host}:{settings.port}/ (no channel credentials set)", flush=True)
    else:
        _require_schema(rt.engine)
    # No access log: request paths can carry a demo persona's name.
    try:
        uvicorn.run(create_app(rt), host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                    access_log=False)
    finally:
        close(rt.engine)  # a clean stop leaves no erased data in SQLite's WAL and closes every connection
    return 0


def _tick_time(text: str | None):
    """--at as a UTC instant: an ISO time, Europe/Brussels when it names no offset; now without it."""
    from datetime import datetime, timezone

    from models.base import utcnow
    from models.plan_times import local_instant

    if text is None:
        return utcnow()
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--at must be an ISO time such as 2026-12-07T10:00, not {text!r}") from None
    if at.tzinfo is None:  # a Brussels wall-clock time: DST as the plans have it (models/plan_times)
        return local_instant(at.date(), at.time())
    return at.astimezone(timezone.utc)


def cmd_tick(args, settings: Settings) -> int:
    """Every sweep once, as the running scheduler would at that time; one JSON line. What it
    queues is sent by `buurtbot run`; a second tick for the same time finds nothing to do."""
    import json

    from models.base import TZ
    from models.db import close, make_sessionmaker
    from scheduler.runner import configure, run_sweeps

    at = _tick_time(args.at)
    engine = _engine(settings)
    try:
        _require_schema(engine)
        configure(settings)
        counts, failed = run_sweeps(make_sessionmaker(engine), at, settings.request_expiry_days)
    finally:
        close(engine)
    print(json.dumps({"at": at.astimezone(TZ).isoformat(), "sweeps": counts, **({"failed": failed} if failed else {})}))
    return 1 if failed else 0


COMMANDS = {
    "tick": cmd_tick,
    "db": cmd_db, "neighbourhood": cmd_neighbourhood, "invite": cmd_invite,
    "run": cmd_run, "demo": lambda args, settings: cmd_run(args, settings, demo=True),
    "checkin": cmd_checkin,
    "broadcast": cmd_broadcast,
    "people": cmd_people,
    "directory": cmd_directory,
    "report": cmd_report,
}

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
