"""Coordinators keep the network: approve, decline or pause volunteers, see what nobody has
taken yet, and invite others. Every action checks the neighbourhood."""
from __future__ import annotations

from handlers import payloads, volunteers
from handlers.ask import start_ask
from handlers.cases import count_open
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _
from handlers.labels import request_line
from handlers.menu import show_menu
from handlers.steps import step
from handlers.tasks import refuse
from models import Person
from models.network import NetworkError, create_invite, may_coordinate, pending_volunteers, set_volunteer_status
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
        Option(_("Message to all"), "bc:new"),  # handlers/broadcast_chat.py
        Option(_("Phone rounds"), "rd:new"),  # handlers/rounds.py
        Option(_("Week overview"), "wk"),  # handlers/week.py
        Option(_("Enrol a weekly hello"), "plan:enrol"),  # handlers/checkin_plan.py
        Option(_("Cases ({n})", n=count_open(ctx.session, p.neighbourhood_id)), "case:list"),  # handlers/cases.py
        Option(_("Invite someone"), payloads.coord("invite")),  # the four roles: invite_menu
        Option(_("Menu"), "menu"),
    ])


def invite_menu(ctx: Context) -> None:
    """Whom to invite: one button in the coordinator menu for the four roles keeps it short."""
    ctx.clear()
    ctx.say(_("Whom would you like to invite? They get a one-time code."), [
        Option(_("Invite a volunteer"), payloads.coord("invite:volunteer")),
        Option(_("Invite a coordinator"), payloads.coord("invite:coordinator")),
        Option(_("Invite a partner"), payloads.coord("invite:partner")),
        Option(_("Invite a key figure"), payloads.coord("invite:keyfigure")),
        Option(_("Menu"), "menu"),
    ])


def on_coordinator(ctx: Context, action: str) -> None:
    p = ctx.person
    if not p.is_coordinator or p.neighbourhood_id is None:
        refuse(ctx, _("Sorry, only coordinators can do that."))
        return
    if action == "pending":
        volunteers.show_pending(ctx)  # handlers/volunteers.py: approve / decline, a card with pause and a note
    elif action == "volunteers":
        volunteers.show_volunteers(ctx)  # with this week's load and who has not been active for a month
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
    elif action == "invite":
        invite_menu(ctx)
    elif action in ("invite:volunteer", "invite:coordinator", "invite:partner", "invite:keyfigure"):
        role = action.split(":")[1]
        invite = create_invite(ctx.session, p.neighbourhood, role, created_by=p)
        link = ctx.invite_link(invite.code)
        text = _(
            "Invite code for a new {role}: {code}\nThey type: /start {code}",
            role={"volunteer": _("volunteer"), "coordinator": _("coordinator"), "partner": _("partner"),
                  "keyfigure": _("key figure")}[role],
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
    was = volunteer.volunteer_status
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
        # handlers/volunteers.py: an offer put on hold before it was answered
        "on_hold": lambda: (
            _("Thank you for offering help, {name}. The coordinator has put your offer on hold for now; they will "
              "get in touch with you.", name=volunteer.first_name),
            [],
        ),
    }
    told = "on_hold" if (was, status) == ("pending", "paused") else status
    ctx.tell(volunteer, messages[told])


@step("proxy.name")
def on_proxy_name(ctx: Context, answer: Answer) -> None:
    name = " ".join(clean_text(answer.text, 200).split()[:3])[:40]
    if not name or not any(ch.isalpha() for ch in name) or answer.payload or not ctx.person.is_coordinator:
        on_coordinator(ctx, "proxy")
        return
    start_ask(ctx, on_behalf_of=name)
