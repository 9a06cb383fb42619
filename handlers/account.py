"""What everyone can do: help, language, pause all messages, see their data, delete it."""
from __future__ import annotations

from handlers import payloads
from handlers.cases import CASE_NOUNS
from handlers.core import Answer, Context, Option
from handlers.i18n import LANGUAGES, _, current_language, format_day, ngettext, speaking
from handlers.labels import ROLE_LABELS, SPOKEN, STATUS_LABELS, VOLUNTEER_STATUS_LABELS, category, label
from handlers.lexicon import command_name
from handlers.menu import menu_options, show_menu
from handlers.onboarding import ask_language, language_from
from handlers.steps import STEPS, step
from models.outbox import BULK_PURPOSES, SAID_FIRST, cancel_said_first
from models.privacy import erase, export
from models.tasks import requests_of


def command_for(name: str, language: str | None) -> str:
    """A command's name in ``language`` ("language", "nl" -> "taal"). ONE place names the commands:
    the first word of each line of locales/lexicon/<language>/commands.txt, the data the dispatcher
    reads, so help never shows a command the bot would not understand."""
    return command_name(name, language)


def commands(*names: str) -> dict[str, str]:
    """Commands as the person's language spells them, for a text: {"delete": "/verwijder"} in Dutch."""
    return {name: "/" + command_for(name, current_language()) for name in names}


def show_help(ctx: Context) -> None:
    ctx.clear()
    c = commands("menu", "language", "mydata", "stop", "delete", "ask", "offer", "help")
    ctx.say(_("buurtbot connects neighbours: ask for a hand, or lend one.\n"
              "Choose an option or type its number. Commands:\n"
              "{menu} – what you can do\n{ask} – ask for help\n{offer} – offer help\n"
              "{language} – change language\n{mydata} – what we keep about you\n"
              "{stop} – no more messages from us\n{delete} – delete everything\n{help} – this help\n"
              "In an emergency call 112. buurtbot is not an emergency service.", **c),
            menu_options(ctx))


@step("language")
def on_language(ctx: Context, answer: Answer) -> None:
    lang = language_from(answer)
    if lang is None:
        ask_language(ctx, "language")
        return
    ctx.identity.language = lang
    if ctx.person:
        ctx.person.language = lang
        if lang not in (ctx.person.languages_spoken or []):
            ctx.person.languages_spoken = [*(ctx.person.languages_spoken or []), lang]
    with speaking(lang):
        show_menu(ctx, _("From now on I will write to you in {language}.", language=LANGUAGES[lang]))


def stop(ctx: Context) -> None:
    ctx.person.paused = True
    # what buurtbot would say first, and a broadcast still queued (held back overnight), go no more
    cancel_said_first(ctx.session, ctx.person.id, "stopped", SAID_FIRST + BULK_PURPOSES)
    ctx.clear()
    ctx.say(_("You will not get any more messages from us. Your data is kept; delete it with {delete}. "
              "Type /start to start again.", **commands("delete")))


def show_my_data(ctx: Context) -> None:
    d = export(ctx.session, ctx.person)
    yes_no = lambda b: _("yes") if b else _("no")  # noqa: E731
    address = d["address"] or ""
    if d["postcode"] and d["postcode"] not in address:  # the postcode typed when joining
        address = f"{address}, {d['postcode']}" if address else d["postcode"]
    lines = [
        _("This is everything we keep about you:"),
        _("First name: {value}", value=d["first_name"]),
        _("Language: {value}", value=LANGUAGES.get(d["language"], d["language"])),
        _("Languages you speak: {value}", value=", ".join(SPOKEN.get(c, c) for c in d["languages_spoken"]) or "-"),
        _("Neighbourhood: {value}", value=d["neighbourhood"] or "-"),
        _("Roles: {value}", value=", ".join(_(ROLE_LABELS[r]) for r in d["roles"]) or "-"),
        _("Address: {value}", value=address or "-"),
        _("Phone: {value}", value=d["phone"] or "-"),
        _("Consent given on: {value}", value=format_day(d["consent_at"]) if d["consent_at"] else "-"),
        *([_("How you agreed: {value}", value=d["consent_how"])] if d["consent_how"] else []),  # e.g. on a list
        _("Messages paused: {value}", value=yes_no(d["paused"])),
        _("Channels: {value}", value=", ".join(f"{c} {a}" for c, a in d["channels"])),
    ]
    if d["volunteer_status"]:
        lines.append(
            ngettext(
                "Volunteer: {status}; tasks: {tasks}; at most {n} task a week; duo visits only: {duo}",
                "Volunteer: {status}; tasks: {tasks}; at most {n} tasks a week; duo visits only: {duo}",
                d["max_tasks_per_week"],
                status=label(VOLUNTEER_STATUS_LABELS, d["volunteer_status"], fallback="pending"),
                tasks=", ".join(category(c) for c in d["categories"]) or "-",
                duo=yes_no(d["duo_only"]),
            )
        )
    if d["coordinator_note"]:  # handlers/volunteers.py: the coordinator's note is data about them
        lines.append(_("Your coordinator's note about you: “{note}”", note=d["coordinator_note"]))
    for rid, cat, status, desc in d["requests"]:
        lines.append(_("Request #{id} {category}: {status} – “{description}”", id=rid, category=category(cat),
                       status=label(STATUS_LABELS, status, fallback="open"), description=desc))
    for _kind, when, phone in d["alerts"]:
        lines.append(_("Your coordinators were alerted about you on {date}; phone to call: {phone}",
                       date=format_day(when), phone=phone or "-"))
    for kind, when in d["cases_about"]:
        lines.append(_("Your coordinators follow up {kind} about you, since {date}.",
                       kind=CASE_NOUNS[kind](), date=format_day(when)))
    for kind, when, text in d["cases_raised"]:
        lines.append(_("You told your coordinators on {date} ({kind}): “{text}”", date=format_day(when),
                       kind=CASE_NOUNS[kind](), text=text))
    lines.append(_("Delete it all with {delete}.", **commands("delete")))
    ctx.clear()
    ctx.say("\n".join(lines), menu_options(ctx), about=ctx.person.id)


def ask_delete(ctx: Context) -> None:
    """The question they were in (a request half written) is kept aside: "No" goes back to it."""
    if ctx.state.step != "delete.confirm":
        back = {"step": ctx.state.step, "data": ctx.state.data or {}} if ctx.state.step else None
        ctx.clear()
        ctx.goto("delete.confirm", back=back)
    ctx.say(_("Do you want us to delete everything we keep about you? Your name, address and messages are erased, and "
              "open requests are cancelled. This cannot be undone."),
            [Option(_("Yes, delete it all"), payloads.delete_yes()),
             Option(_("No, keep it"), payloads.delete_no())])


@step("delete.confirm")
def on_delete(ctx: Context, answer: Answer) -> None:
    if answer.payload is None and not answer.text:  # asked again (after an expired button): the question again
        ask_delete(ctx)
        return
    if not answer.is_(payloads.delete_yes()):
        resume(ctx, ctx.data("back"), _("Nothing was deleted."))
        return
    person = ctx.person
    for req in requests_of(ctx.session, person.id, ("claimed",)):
        if req.claimed_by is not None:
            ctx.tell(
                req.claimed_by,
                lambda: (_("Request #{id} was cancelled. No need to go any more, thank you!", id=req.id), []),
            )
    erase(ctx.session, person)
    ctx.person = None
    ctx.say_final(_("Everything we kept about you is deleted. Thank you for taking part in the neighbourhood. Type "
                    "/start if you ever want to come back."))


def resume(ctx: Context, back: dict | None, intro: str) -> None:
    """Back to the question they were in, step and answers as they were: the step is asked
    again by giving it an empty answer (each step re-asks its question on one)."""
    if not back or back.get("step") not in STEPS:
        show_menu(ctx, intro)
        return
    ctx.clear()
    ctx.say(intro + " " + _("Let us go on where you were."))
    ctx.goto(back["step"], **(back.get("data") or {}))
    STEPS[back["step"]](ctx, Answer("", None))
