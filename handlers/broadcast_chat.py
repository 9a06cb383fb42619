"""/broadcast in the coordinator's chat: text, audience, other languages, answer buttons,
preview, send now or at a set time; the coordinator's list of announcements with live counts
and a way to stop one; and the recipients' answer buttons (``bca``). The engine -- who gets
it, the outbox rows, progress and summary -- is handlers/broadcasts.py.

A coordinator is busy: every question has at most six buttons, each also works as its typed
number, and nothing goes out before the preview was seen. A recipient sees the announcement and
at most two buttons; "Please pick me up" continues as a normal lift request (handlers/ask.py),
with the day read from the announcement when it names one."""
from __future__ import annotations

import re

from sqlalchemy import select

from handlers import payloads
from handlers.actions import action, command
from handlers.ask import ask_when, ask_where
from handlers.broadcasts import (BUTTON_LABELS, Audience, Preview, cancel, confirm, counts, create, describe,
                                 describe_counts, preview)
from handlers.core import Answer, Context, Option, clean_text
from handlers.free_text import language_name
from handlers.i18n import LANGUAGES, N_, _, ngettext
from handlers.lexicon import command_name
from handlers.menu import show_menu
from handlers.reminders import read_visit, visit_words
from handlers.rounds import coordinator_only
from handlers.steps import step
from handlers.tasks import refuse
from models.base import TZ
from models.broadcasts import ANSWER_KINDS, Broadcast, BroadcastRecipient
from models.plan_times import local_instant

#: The coordinator's own buttons (work from anywhere): bc:new, bc:list, bc:cancel:<id>, bc:stop:<id>.
KIND = "bc"
#: A recipient's answer button: bca:<answer kind>:<broadcast id>.
ANSWER = "bca"
#: The longest announcement (a WhatsApp/SMS-friendly length; the engine may be stricter).
MAX_TEXT = 1000
#: Other-language versions offered at most (the most spoken first): a busy coordinator types few.
MAX_VERSIONS = 4
#: Languages offered as "one language" audience buttons.
MAX_LANGUAGES = 6
#: Announcements shown in the list, and of those at most this many get a "Stop" button.
LISTED, STOPPABLE = 5, 3
#: Audience choices as (payload argument, label).
AUDIENCE_CHOICES = (("everyone", N_("Everyone")), ("residents", N_("Residents")),
                    ("volunteers", N_("Volunteers")), ("language", N_("One language")),
                    ("place", N_("Street or postcode")))
#: The coordinator's choice of answer buttons.
BUTTON_CHOICES = {"none": (), "coming": ("coming",), "both": ("coming", "pickup")}
POSTCODE = re.compile(r"\d{4}")


def _pay(prefix: str, *args: object) -> str:
    return ":".join((prefix, *(str(a) for a in args)))


def _excerpt(text: str, length: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


# ---- writing one -------------------------------------------------------------------------------

@command("broadcast")
def start(ctx: Context) -> None:
    if not coordinator_only(ctx):
        return
    ctx.clear()
    ctx.goto("bc.text")
    ctx.say(_("A message to your neighbourhood. Type it as the neighbours should read it, in your own language. "
              "Next you choose who gets it; nothing is sent before you have seen a preview."),
            [Option(_("Sent and planned"), _pay(KIND, "list")), Option(_("Menu"), payloads.MENU)])


@step("bc.text")
def on_text(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    text = clean_text(answer.text, MAX_TEXT)
    if answer.payload or sum(ch.isalpha() for ch in text) < 3:
        if answer.text or answer.payload:
            ctx.say(_("Please type the message itself, in a few words at least."))
        start(ctx)
        return
    ctx.goto("bc.audience", text=text, base=ctx.person.language or ctx.person.neighbourhood.default_language)
    ask_audience(ctx)


def ask_audience(ctx: Context, intro: str | None = None) -> None:
    ctx.goto("bc.audience", kind=None, language=None, street=None, postcode=None)
    ctx.say((intro + "\n" if intro else "") + _("Who should get it?"),
            [Option(_(label), _pay("bcaud", code)) for code, label in AUDIENCE_CHOICES]
            + [Option(_("Cancel"), payloads.MENU)])


def _audience(ctx: Context) -> Audience:
    return Audience(kind=ctx.data("kind") or "everyone", language=ctx.data("language"), street=ctx.data("street"),
                    postcode=ctx.data("postcode"))


def _trial(ctx: Context, audience: Audience) -> Preview | None:
    """Who an audience reaches, without keeping anything: a draft inside a savepoint, rolled back."""
    nested = ctx.session.begin_nested()
    try:
        bc = create(ctx.session, ctx.person.neighbourhood, ctx.person, {ctx.data("base"): ctx.data("text")},
                    ctx.data("base"), audience)
        return preview(ctx.session, bc, ctx.now)
    except ValueError:
        return None
    finally:
        nested.rollback()


@step("bc.audience")
def on_audience(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    kind = answer.arg("bcaud")
    if kind in ("everyone", "residents", "volunteers"):
        ctx.goto("bc.audience", kind=kind)
        after_audience(ctx)
    elif kind == "language":
        found = _trial(ctx, Audience())
        spoken = [c for c in (found.spoken if found else []) if c in LANGUAGES][:MAX_LANGUAGES]
        if not spoken:
            ask_audience(ctx, _("Nobody in your neighbourhood can be reached yet."))
            return
        ctx.goto("bc.language", offered=spoken)
        ctx.say(_("Which language?"), [Option(LANGUAGES[c], _pay("bclang", c)) for c in spoken]
                + [Option(_("Cancel"), payloads.MENU)])
    elif kind == "place":
        ctx.goto("bc.place")
        ctx.say(_("Type the street name (like “Kerkstraat”) or the postcode (like “1040”)."),
                [Option(_("Cancel"), payloads.MENU)])
    else:
        ask_audience(ctx)


@step("bc.language")
def on_language(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    code = answer.arg("bclang")
    if code not in (ctx.data("offered") or []):
        ctx.say(_("Which language?"), [Option(LANGUAGES[c], _pay("bclang", c)) for c in ctx.data("offered") or []]
                + [Option(_("Cancel"), payloads.MENU)])
        return
    ctx.goto("bc.language", kind="everyone", language=code)
    after_audience(ctx)


@step("bc.place")
def on_place(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    typed = clean_text(answer.text, 120).strip()
    if not answer.payload and POSTCODE.fullmatch(typed):
        ctx.goto("bc.place", kind="everyone", postcode=typed)
    elif not answer.payload and sum(ch.isalpha() for ch in typed) >= 3:
        ctx.goto("bc.place", kind="everyone", street=typed)
    else:
        ctx.say(_("Type the street name (like “Kerkstraat”) or the postcode (like “1040”)."),
                [Option(_("Cancel"), payloads.MENU)])
        return
    after_audience(ctx)


def after_audience(ctx: Context) -> None:
    """Nobody reached: choose again. Else each other language the recipients speak, one by one."""
    found = _trial(ctx, _audience(ctx))
    if found is None or found.recipients == 0:
        ask_audience(ctx, _("Nobody would get it with that choice."))
        return
    base = ctx.data("base")
    todo = [code for code in found.spoken if code != base and code in LANGUAGES][:MAX_VERSIONS]
    ctx.goto("bc.version", texts={base: ctx.data("text")}, todo=todo)
    next_version(ctx)


def next_version(ctx: Context) -> None:
    todo = ctx.data("todo") or []
    if not todo:
        ask_buttons(ctx)
        return
    options = [Option(_("Skip"), "bcv:skip")] + ([Option(_("No other languages"), "bcv:done")] if len(todo) > 1
                                                 else [])
    ctx.say(_("Some of them read {language}. Type your message in {language}, or skip: they then get your text.",
              language=language_name(todo[0])), options)


@step("bc.version")
def on_version(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    todo, texts = list(ctx.data("todo") or []), dict(ctx.data("texts") or {})
    chosen = answer.arg("bcv")
    typed = clean_text(answer.text, MAX_TEXT)
    if not todo:
        ask_buttons(ctx)
        return
    if chosen == "done":
        todo = []
    elif chosen == "skip":
        todo = todo[1:]
    elif not answer.payload and sum(ch.isalpha() for ch in typed) >= 3:
        texts[todo[0]] = typed
        todo = todo[1:]
    else:
        next_version(ctx)
        return
    ctx.goto("bc.version", texts=texts, todo=todo)
    next_version(ctx)


def ask_buttons(ctx: Context) -> None:
    ctx.goto("bc.buttons")
    coming, pickup = _(BUTTON_LABELS["coming"]), _(BUTTON_LABELS["pickup"])  # as recipients read them
    ctx.say(_("May the neighbours answer with a button: “{coming}”, or also “{pickup}” (then a volunteer is asked to "
              "give them a lift)?", coming=coming, pickup=pickup),
            [Option(_("No buttons"), "bcb:none"), Option(_("I'm coming"), "bcb:coming"),
             Option(_("Both buttons"), "bcb:both"), Option(_("Cancel"), payloads.MENU)])


@step("bc.buttons")
def on_buttons(ctx: Context, answer: Answer) -> None:
    if not coordinator_only(ctx):
        return
    choice = answer.arg("bcb")
    if choice not in BUTTON_CHOICES:
        ask_buttons(ctx)
        return
    try:
        bc = create(ctx.session, ctx.person.neighbourhood, ctx.person, dict(ctx.data("texts") or {}),
                    ctx.data("base"), _audience(ctx), buttons=BUTTON_CHOICES[choice], source="chat")
    except ValueError:
        ctx.say(_("Sorry, this message cannot be sent as it is. Please write it again."))
        start(ctx)
        return
    ctx.session.flush()
    ctx.goto("bc.preview", bc=bc.id)
    show_preview(ctx, bc)


def show_preview(ctx: Context, bc: Broadcast) -> None:
    found = preview(ctx.session, bc, ctx.now)
    ctx.goto(ctx.state.step, recipients=found.recipients)
    ctx.say(_("Your message:") + "\n“" + bc.texts.get(bc.base_language, "") + "”\n\n" + describe(found),
        [Option(_("Send now"), "bcs:now"), Option(_("At a set time"), "bcs:later"),
         Option(_("Cancel"), "bcs:cancel")])


def _draft(ctx: Context) -> Broadcast | None:
    """The draft this coordinator is writing (theirs, of their neighbourhood, not sent yet)."""
    raw = ctx.data("bc")
    bc = ctx.session.get(Broadcast, raw) if isinstance(raw, int) else None
    if bc is None or bc.status != "draft" or bc.author_id != ctx.person.id \
            or bc.neighbourhood_id != ctx.person.neighbourhood_id:
        return None
    return bc


def _draft_or_start_over(ctx: Context) -> Broadcast | None:
    """The draft a step of the flow works on; None when the sender no longer coordinates
    (refused) or the draft is gone (the flow starts over)."""
    if not coordinator_only(ctx):
        return None
    bc = _draft(ctx)
    if bc is None:
        start(ctx)
    return bc


@step("bc.preview")
def on_preview(ctx: Context, answer: Answer) -> None:
    bc = _draft_or_start_over(ctx)
    if bc is None:
        return
    chosen = answer.arg("bcs")
    if chosen == "now":
        confirm(ctx.session, bc, ctx.now)
        n = ctx.data("recipients", 0)  # as the preview said
        show_menu(ctx, ngettext("Sent: it goes out now to {n} neighbour. I will tell you how it goes.",
                                "Sent: it goes out now to {n} neighbours. I will tell you how it goes.", n))
    elif chosen == "later":
        ctx.goto("bc.when")
        ask_time(ctx)
    elif chosen == "cancel":
        ctx.session.delete(bc)
        show_menu(ctx, _("All right, nothing was sent."))
    else:
        show_preview(ctx, bc)


def ask_time(ctx: Context, intro: str | None = None) -> None:
    ctx.say((intro + "\n" if intro else "") + _("When should it go? Type a day and a time, like “Wednesday 14:00” "
                                                 "or “9/12 10:00”."),
            [Option(_("Send now"), "bcs:now"), Option(_("Cancel"), "bcs:cancel")])


@step("bc.when")
def on_when(ctx: Context, answer: Answer) -> None:
    bc = _draft_or_start_over(ctx)
    if bc is None:
        return
    if answer.arg("bcs") in ("now", "cancel"):
        on_preview(ctx, answer)
        return
    today = ctx.now.astimezone(TZ).date()
    day, at = read_visit(answer.text, ctx.person.language, today) if not answer.payload else (None, None)
    if at is None:
        ask_time(ctx, _("I could not read a time in that.") if answer.text or answer.payload else None)
        return
    send_at = local_instant(day or today, at)
    if send_at <= ctx.now:
        ask_time(ctx, _("That moment has passed already."))
        return
    bc.send_at = send_at
    confirm(ctx.session, bc, ctx.now)
    show_menu(ctx, _("Planned: it goes out {when}. To stop it: {command}, then “Sent and planned”.",
                     when=visit_words(send_at, ctx.now),
                     command="/" + command_name("broadcast", ctx.person.language)))


# ---- the coordinator's list ------------------------------------------------------------------

def _state(ctx: Context, bc: Broadcast) -> str:
    if bc.status == "scheduled" and bc.send_at is not None:
        return _("planned for {when}", when=visit_words(bc.send_at, ctx.now))
    if bc.status == "sending":
        return _("being sent")
    if bc.status == "sent":
        return _("sent")
    if bc.status == "cancelled":
        return _("stopped")
    return bc.status


def show_list(ctx: Context) -> None:
    """The newest announcements of the neighbourhood, each with its live counts (answers too)."""
    found = list(ctx.session.scalars(select(Broadcast).where(
        Broadcast.neighbourhood_id == ctx.person.neighbourhood_id, Broadcast.status != "draft")
        .order_by(Broadcast.id.desc()).limit(LISTED)))
    options = [Option(_("New message"), _pay(KIND, "new"))]
    if not found:
        ctx.clear()
        ctx.say(_("No messages to the neighbourhood yet."), options + [Option(_("Menu"), payloads.MENU)])
        return
    lines = []
    for bc in found:
        lines.append(_("#{id} ({state}): “{text}”", id=bc.id, state=_state(ctx, bc),
                       text=_excerpt(bc.texts.get(bc.base_language, ""))) + "\n" + describe_counts(
            counts(ctx.session, bc)))
    stoppable = [bc for bc in found if bc.status in ("scheduled", "sending")][:STOPPABLE]
    ctx.clear()
    ctx.say(_("Your neighbourhood's messages, the newest first:") + "\n\n" + "\n\n".join(lines),
            [Option(_("Stop #{id}", id=bc.id), _pay(KIND, "cancel", bc.id)) for bc in stoppable]
            + options + [Option(_("Menu"), payloads.MENU)])


def _ours(ctx: Context, p: payloads.Payload) -> Broadcast | None:
    bc = ctx.session.get(Broadcast, p.record_id) if p.record_id is not None else None
    return bc if bc is not None and bc.neighbourhood_id == ctx.person.neighbourhood_id else None


@action(KIND)
def on_coordinator(ctx: Context, p: payloads.Payload) -> None:
    if not coordinator_only(ctx):
        return
    what = p.args[0] if p.args else ""
    if what == "new":
        start(ctx)
    elif what == "list":
        show_list(ctx)
    elif what in ("cancel", "stop"):
        bc = _ours(ctx, p)
        if bc is None:
            refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))
        elif bc.status not in ("scheduled", "sending"):
            show_menu(ctx, _("Message #{id} is not being sent any more: there is nothing to stop.", id=bc.id))
        elif what == "cancel":
            ctx.clear()
            ctx.say(_("Stop message #{id}? Neighbours who have not received it yet will not get it.", id=bc.id),
                    [Option(_("Yes, stop it"), _pay(KIND, "stop", bc.id)), Option(_("No"), _pay(KIND, "list"))])
        else:
            withdrawn = cancel(ctx.session, bc, ctx.now)
            if bc.status != "cancelled":  # all of it went out while the cancel waited for the sweep's batch
                show_menu(ctx, _("Message #{id} is not being sent any more: there is nothing to stop.", id=bc.id))
                return
            show_menu(ctx, _("Message #{id} is stopped.", id=bc.id) + " " + ngettext(
                "{n} message that was not sent yet was withdrawn.",
                "{n} messages that were not sent yet were withdrawn.", withdrawn))
    else:
        refuse(ctx)


# ---- a recipient answers --------------------------------------------------------------------

@action(ANSWER)
def on_answer(ctx: Context, p: payloads.Payload) -> None:
    """"I'm coming" is noted and thanked; "Please pick me up" is noted and becomes a lift
    request in the ask flow. Only a recipient of that announcement, only a button it offered."""
    from handlers.dispatch import expired  # the dispatcher imports this module

    kind = p.args[0] if len(p.args) == 2 else None
    bc = ctx.session.get(Broadcast, p.record_id) if p.record_id is not None else None
    mine = ctx.session.scalar(select(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == bc.id, BroadcastRecipient.person_id == ctx.person.id)) \
        if bc is not None and ctx.person is not None else None
    if mine is None or kind not in ANSWER_KINDS or kind not in (bc.buttons or []) or bc.status == "cancelled":
        expired(ctx)
        return
    mine.answer, mine.answered_at = kind, ctx.now
    if kind == "coming":
        ctx.clear()
        ctx.say(_("Thank you, {name}! I have noted that you are coming.", name=ctx.person.first_name))
        return
    start_lift(ctx, bc)


def start_lift(ctx: Context, bc: Broadcast) -> None:
    """The normal ask flow, with a lift and the announcement filled in: only the day (when the
    announcement names none) and the street (when not known yet) are asked, then the usual yes."""
    text = bc.texts.get(ctx.person.language) or bc.texts.get(bc.base_language, "")
    description = _("A lift for: {announcement}", announcement=_excerpt(text, 200))
    today = ctx.now.astimezone(TZ).date()
    day, _at = read_visit(text, ctx.person.language, today)
    ctx.clear()
    ctx.say(_("I will ask the volunteers of your neighbourhood to give you a lift."))
    if day is not None:
        ctx.goto("ask.where", category="lift", description=description, when="date", due=day.isoformat())
        ask_where(ctx)
    else:
        ctx.goto("ask.when", category="lift", description=description)
        ask_when(ctx)
