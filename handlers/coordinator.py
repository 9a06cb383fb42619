"""Coordinators keep the network: approve, decline or pause volunteers, see what nobody has
taken yet, and invite others. Every action checks the neighbourhood."""
from __future__ import annotations

from handlers import payloads
from handlers.ask import start_ask
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _, ngettext
from handlers.labels import SPOKEN, VOLUNTEER_STATUS_LABELS, category, label, request_line
from handlers.menu import show_menu
from handlers.steps import step
from handlers.tasks import refuse
from models import Person
from models.network import (NetworkError, active_volunteers, create_invite, may_coordinate, pending_volunteers,
                            set_volunteer_status)
from models.tasks import open_requests


def coordinator_menu(ctx: Context) -> None:
    p = ctx.person
    if not p.is_coordinator:
        refuse(ctx, _("Sorry, only coordinators can do that."))
        return
    n = len(pending_volunteers(ctx.session, p.neighbourhood_id))
    ctx.clear()
    ctx.say(_("Coordinator of {neighbourhood}. What would you like to do?", neighbourhood=p.neighbourhood.name), [
        Option(_("To approve ({n})", n=n), payloads.coord("pending")),
        Option(_("Unclaimed requests"), payloads.coord("open")),
        Option(_("Volunteers"), payloads.coord("volunteers")),
        Option(_("Ask for a neighbour"), payloads.coord("proxy")),
        Option(_("Invite a volunteer"), payloads.coord("invite:volunteer")),
        Option(_("Invite a coordinator"), payloads.coord("invite:coordinator")),
        Option(_("Message to all"), "bc:new"),  # handlers/broadcast_chat.py
        Option(_("Phone rounds"), "rd:new"),  # handlers/rounds.py
        Option(_("Week overview"), "wk"),  # handlers/week.py
        Option(_("Enrol a weekly hello"), "plan:enrol"),  # handlers/checkin_plan.py
        Option(_("Menu"), "menu"),
    ])


def volunteer_line(v: Person) -> str:
    line = ngettext("• {name}: {tasks}; speaks {languages}; at most {n} task a week",
                    "• {name}: {tasks}; speaks {languages}; at most {n} tasks a week", v.max_tasks_per_week,
                    name=v.first_name, tasks=", ".join(category(c) for c in v.categories) or "-",
                    languages=", ".join(SPOKEN.get(c, c) for c in v.languages_spoken or []) or "-")
    return line + (" · " + _("duo visits only") if v.duo_only else "")


def on_coordinator(ctx: Context, action: str) -> None:
    p = ctx.person
    if not p.is_coordinator or p.neighbourhood_id is None:
        refuse(ctx, _("Sorry, only coordinators can do that."))
        return
    if action == "pending":
        people = pending_volunteers(ctx.session, p.neighbourhood_id)
        if not people:
            show_menu(ctx, _("No volunteers are waiting for approval."))
            return
        lines = "\n".join(volunteer_line(v) for v in people[:5])
        ctx.clear()
        ctx.say(_("Volunteers waiting for approval:") + "\n" + lines,
                [o for v in people[:5]
                 for o in (Option(_("Approve {name}", name=v.first_name), payloads.volunteer("ok", v.id)),
                           Option(_("Decline {name}", name=v.first_name), payloads.volunteer("no", v.id)))]
                + [Option(_("Menu"), "menu")], about=None, purge_after_send=True)  # names people: not kept
    elif action == "volunteers":
        people = active_volunteers(ctx.session, p.neighbourhood_id)
        if not people:
            show_menu(ctx, _("There are no approved or paused volunteers yet."))
            return
        lines = "\n".join(
            f"• {v.first_name} ({label(VOLUNTEER_STATUS_LABELS, v.volunteer_status, fallback='approved')})"
            for v in people
        )
        ctx.clear()
        ctx.say(_("Volunteers of your neighbourhood:") + "\n" + lines,
                [Option(_("Resume {name}", name=v.first_name), payloads.volunteer("ok", v.id))
                 if v.volunteer_status == "paused"
                 else Option(_("Pause {name}", name=v.first_name), payloads.volunteer("pause", v.id))
                 for v in people[:8]]
                + [Option(_("Menu"), "menu")], purge_after_send=True)  # names people: not kept after delivery
    elif action == "proxy":
        ctx.goto("proxy.name")
        ctx.say(_("For whom do you ask? Type their first name. Volunteers will see this name and the street; you stay "
                  "the contact."))
    elif action == "open":
        reqs = open_requests(ctx.session, p.neighbourhood_id)
        if not reqs:
            show_menu(ctx, _("Every request has a volunteer. 🌻"))
            return
        show_menu(ctx, _("Requests nobody has taken yet:") + "\n\n" + "\n\n".join(request_line(r) for r in reqs),
                  purge_after_send=True)  # names neighbours: not kept after delivery
    elif action in ("invite:volunteer", "invite:coordinator"):
        role = action.split(":")[1]
        invite = create_invite(ctx.session, p.neighbourhood, role, created_by=p)
        link = ctx.invite_link(invite.code)
        text = _(
            "Invite code for a new {role}: {code}\nThey type: /start {code}",
            role=_("volunteer") if role == "volunteer" else _("coordinator"),
            code=invite.code,
        )
        if link:
            text += "\n" + link
        show_menu(ctx, text)
    else:
        refuse(ctx)


def on_volunteer_decision(ctx: Context, decision: str, raw_id: str) -> None:
    p = ctx.person
    volunteer = ctx.session.get(Person, int(raw_id)) if raw_id.isdecimal() and len(raw_id) < 12 else None
    status = {"ok": "approved", "no": "declined", "pause": "paused"}.get(decision)
    if status is None or not may_coordinate(p, volunteer):
        refuse(ctx, _("Sorry, only coordinators of this neighbourhood can do that."))
        return
    try:
        set_volunteer_status(ctx.session, p, volunteer, status)
    except NetworkError:
        refuse(ctx)
        return
    name = volunteer.first_name  # filled by _() itself: right-to-left languages isolate it there
    show_menu(ctx, {"approved": _("{name} is now an approved volunteer.", name=name),
                    "declined": _("{name} was declined.", name=name),
                    "paused": _("{name} is paused.", name=name)}[status], about=volunteer.id)
    messages = {
        "approved": lambda: (
            _(
                "Good news, {name}: you are now a volunteer of {neighbourhood}! You will get requests "
                "that fit you. You can always say no.",
                name=volunteer.first_name,
                neighbourhood=volunteer.neighbourhood.name,
            ),
            [Option(_("Open requests"), "open"), Option(_("Menu"), "menu")],
        ),
        "declined": lambda: (
            _(
                "Thank you for offering help, {name}. For now the coordinator has not added you as a "
                "volunteer; they will tell you why. You can still ask "
                "for help at any time.",
                name=volunteer.first_name,
            ),
            [],
        ),
        "paused": lambda: (
            _("Your volunteering is paused for now, {name}. Thank you for all you did!", name=volunteer.first_name),
            [],
        ),
    }
    ctx.tell(volunteer, messages[status])


@step("proxy.name")
def on_proxy_name(ctx: Context, answer: Answer) -> None:
    name = " ".join(clean_text(answer.text, 200).split()[:3])[:40]
    if not name or not any(ch.isalpha() for ch in name) or answer.payload or not ctx.person.is_coordinator:
        on_coordinator(ctx, "proxy")
        return
    start_ask(ctx, on_behalf_of=name)
