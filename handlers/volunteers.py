"""A coordinator's volunteers: pending list with approve / decline / pause, a private note,
each volunteer's load this week against their cap, who has not been active for a month.

Only coordinators of the volunteer's own neighbourhood see or change any of it. The note is
the coordinator's, but it is data about the volunteer: they can read it with /mydata (GDPR
right of access), so it is written to be read by them. "Not active for a month" is said to
thank or to ask, never as a ranking: no counts of past tasks, no scores."""
from __future__ import annotations

from datetime import timedelta

from handlers import payloads
from handlers.account import commands
from handlers.actions import action
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _, format_day, ngettext
from handlers.labels import SPOKEN, VOLUNTEER_STATUS_LABELS, category, label
from handlers.menu import show_menu
from handlers.rounds import coordinator_only
from handlers.steps import step
from handlers.tasks import refuse
from models import Person
from models.base import TZ
from models.network import (NOTE_MAX, NetworkError, active_volunteers, last_active, may_coordinate,
                            not_active_since, pending_volunteers, set_coordinator_note)
from models.tasks import claims_this_week_of

#: ``vlv:<id>`` one volunteer's card, ``vlv:note:<id>`` write the note, ``vlv:clear:<id>`` remove it.
CARD = "vlv"
NOTE_STEP = "vlv.note"
#: No task taken on for this many days: someone to thank or to ask how they are.
INACTIVE_DAYS = 30
#: Pending volunteers with buttons at once (three buttons each: the list stays short on SMS).
PENDING_SHOWN = 3
#: Volunteers with a button of their own in the list (the list itself names everyone).
BUTTONS = 7


def volunteer_line(v: Person) -> str:
    line = ngettext("• {name}: {tasks}; speaks {languages}; at most {n} task a week",
                    "• {name}: {tasks}; speaks {languages}; at most {n} tasks a week", v.max_tasks_per_week,
                    name=v.first_name, tasks=", ".join(category(c) for c in v.categories) or "-",
                    languages=", ".join(SPOKEN.get(c, c) for c in v.languages_spoken or []) or "-")
    return line + (" · " + _("duo visits only") if v.duo_only else "")


def load_line(name: str, claimed: int, cap: int) -> str:
    return ngettext("{name}: {claimed} of {n} task this week", "{name}: {claimed} of {n} tasks this week", cap,
                    name=name, claimed=claimed)


def _refuse_other(ctx: Context) -> None:
    refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))


def show_pending(ctx: Context) -> None:
    """Who offered help and waits: approve or decline at once, or open their card (pause, note)."""
    if not coordinator_only(ctx):
        return
    people = pending_volunteers(ctx.session, ctx.person.neighbourhood_id)
    if not people:
        show_menu(ctx, _("No volunteers are waiting for approval."))
        return
    shown = people[:PENDING_SHOWN]
    text = _("Volunteers waiting for approval:") + "\n" + "\n".join(volunteer_line(v) for v in shown)
    if len(people) > len(shown):
        more = len(people) - len(shown)
        text += "\n" + ngettext("And {n} more: you will see them once these are answered.",
                                "And {n} more: you will see them once these are answered.", more)
    ctx.clear()
    ctx.say(text, [o for v in shown
                   for o in (Option(_("Approve {name}", name=v.first_name), payloads.volunteer("ok", v.id)),
                             Option(_("Decline {name}", name=v.first_name), payloads.volunteer("no", v.id)),
                             Option(_("More about {name}", name=v.first_name), _card(v)))]
            + [Option(_("Menu"), payloads.MENU)], about=None, purge_after_send=True)  # names people: not kept


def show_volunteers(ctx: Context) -> None:
    """Everyone approved or paused, with this week's tasks against their cap, and who has not
    taken anything on for a month -- a reason to thank them or ask, said as such."""
    if not coordinator_only(ctx):
        return
    nb = ctx.person.neighbourhood_id
    people = active_volunteers(ctx.session, nb)
    if not people:
        show_menu(ctx, _("There are no approved or paused volunteers yet."))
        return
    claimed = claims_this_week_of(ctx.session, [v.id for v in people], ctx.now)
    lines = [_("Volunteers of your neighbourhood:")]
    for v in people:
        if v.volunteer_status == "paused":
            lines.append("• " + _("{name} (paused)", name=v.first_name))
        else:
            lines.append("• " + load_line(v.first_name, claimed.get(v.id, 0), v.max_tasks_per_week))
    quiet = not_active_since(ctx.session, nb, ctx.now - timedelta(days=INACTIVE_DAYS))
    if quiet:
        lines.append("")
        lines.append(_("No task for a month: {names}. A good moment to thank them for being there, or to ask "
                       "whether the requests still suit them.", names=", ".join(v.first_name for v in quiet)))
    lines.append("")
    lines.append(_("Choose someone to pause or resume them, or to write a note."))
    ctx.clear()
    ctx.say("\n".join(lines), [Option(v.first_name, _card(v)) for v in people[:BUTTONS]]
            + [Option(_("Menu"), payloads.MENU)], purge_after_send=True)  # names people: not kept after delivery


def _card(v: Person) -> str:
    return payloads.pick(CARD, str(v.id))


def _volunteer(ctx: Context, p: payloads.Payload) -> Person | None:
    """The volunteer a ``vlv`` button names, if this coordinator may see them."""
    person = ctx.session.get(Person, p.record_id) if p.record_id is not None else None
    return person if may_coordinate(ctx.person, person) and person.is_volunteer else None


@action(CARD)
def on_card(ctx: Context, p: payloads.Payload) -> None:
    if not coordinator_only(ctx):
        return
    what = p.args[0] if len(p.args) == 2 else "show" if len(p.args) == 1 else ""
    volunteer = _volunteer(ctx, p)
    if volunteer is None or what not in ("show", "note", "clear"):
        _refuse_other(ctx)
        return
    if what == "note":
        ask_note(ctx, volunteer)
        return
    if what == "clear":  # pressed twice (two screens): removed once, said both times
        if volunteer.coordinator_note is not None:
            set_coordinator_note(ctx.session, ctx.person, volunteer, None)
        show_card(ctx, volunteer, _("The note is removed."))
        return
    show_card(ctx, volunteer)


def show_card(ctx: Context, v: Person, before: str | None = None) -> None:
    """One volunteer: what they offer, this week's load, when they last took something on, the
    note -- and what the coordinator can do."""
    status = v.volunteer_status or "pending"
    claimed = claims_this_week_of(ctx.session, [v.id], ctx.now).get(v.id, 0)
    last = last_active(ctx.session, [v.id]).get(v.id)
    lines = [before] if before else []
    lines += [f"{v.first_name} ({label(VOLUNTEER_STATUS_LABELS, status, fallback='pending')})", volunteer_line(v)]
    if status == "approved":
        lines.append(load_line(_("This week"), claimed, v.max_tasks_per_week))
    lines.append(_("Last took on a task: {day}", day=format_day(last.astimezone(TZ).date())) if last
                 else _("Has not taken on a task yet."))
    if v.coordinator_note:
        lines.append(_("Your note (coordinators of {neighbourhood} see it; {name} can read it with {mydata}): "
                       "“{note}”", neighbourhood=v.neighbourhood.name, name=v.first_name, note=v.coordinator_note,
                       **commands("mydata")))
    options = {
        "pending": [Option(_("Approve {name}", name=v.first_name), payloads.volunteer("ok", v.id)),
                    Option(_("Decline {name}", name=v.first_name), payloads.volunteer("no", v.id)),
                    Option(_("Pause {name}", name=v.first_name), payloads.volunteer("pause", v.id))],
        "approved": [Option(_("Pause {name}", name=v.first_name), payloads.volunteer("pause", v.id))],
        "paused": [Option(_("Resume {name}", name=v.first_name), payloads.volunteer("ok", v.id))],
        "declined": [Option(_("Approve {name}", name=v.first_name), payloads.volunteer("ok", v.id))],
    }.get(status, [])
    note = payloads.pick(CARD, f"note:{v.id}")
    options.append(Option(_("Change the note"), note) if v.coordinator_note else Option(_("Write a note"), note))
    if v.coordinator_note:
        options.append(Option(_("Remove the note"), payloads.pick(CARD, f"clear:{v.id}")))
    back = payloads.coord("pending") if status == "pending" else payloads.coord("volunteers")
    options += [Option(_("Back"), back), Option(_("Menu"), payloads.MENU)]
    ctx.clear()
    ctx.say("\n".join(lines), options, about=v.id, purge_after_send=True)  # the note is private: not kept


def ask_note(ctx: Context, v: Person) -> None:
    ctx.clear()
    ctx.goto(NOTE_STEP, volunteer=v.id)
    ctx.say(_("Type your note about {name} (at most {n} characters). Only coordinators of {neighbourhood} see it; "
              "{name} can read it with {mydata}, so write it as you would say it to them.",
              name=v.first_name, n=NOTE_MAX, neighbourhood=v.neighbourhood.name, **commands("mydata")),
            [Option(_("Cancel"), _card(v))])


@step(NOTE_STEP)
def on_note(ctx: Context, answer: Answer) -> None:
    raw = ctx.data("volunteer")
    volunteer = ctx.session.get(Person, raw) if isinstance(raw, int) else None
    if not may_coordinate(ctx.person, volunteer) or not volunteer.is_volunteer:
        ctx.clear()
        _refuse_other(ctx)  # no longer a coordinator here, or the volunteer is gone
        return
    if answer.payload is not None:  # a button of this screen (Cancel), or of an older one
        show_card(ctx, volunteer)
        return
    if answer.stray_number:  # "7" with one button on screen: a slip, not a note
        ask_note(ctx, volunteer)
        return
    note = clean_text(answer.text, NOTE_MAX + 1)
    if not note:
        ask_note(ctx, volunteer)
        return
    if len(note) > NOTE_MAX:
        ctx.say(_("That is longer than {n} characters. Please make it shorter.", n=NOTE_MAX),
                [Option(_("Cancel"), _card(volunteer))])
        return
    try:
        set_coordinator_note(ctx.session, ctx.person, volunteer, note)
    except NetworkError:
        refuse(ctx)
        return
    show_card(ctx, volunteer, _("Note saved."))
