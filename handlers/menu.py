"""The main menu: what this person can do now, depending on their roles."""
from __future__ import annotations

from handlers import payloads
from handlers.core import Context, Option
from handlers.i18n import _


def menu_options(ctx: Context) -> list[Option]:
    p = ctx.person
    opts = [Option(_("Ask for help"), payloads.ASK)]
    if p and p.is_approved_volunteer:
        opts.append(Option(_("Open requests"), payloads.OPEN))
        opts.append(Option(_("My tasks"), payloads.TASKS))
    elif p and not p.is_volunteer:
        opts.append(Option(_("Offer help"), payloads.OFFER))
    opts.append(Option(_("My requests"), payloads.MINE))
    if p and p.is_coordinator:
        opts.append(Option(_("Coordinator"), payloads.COORD))
    opts.append(Option(_("Talk to a person"), payloads.HUMAN))
    opts.append(Option(_("A weekly hello"), "plan"))  # /checkin (handlers/checkin_plan.py)
    if p:
        opts.append(Option(_("A worry or a problem"), "case:new"))  # /worried, /problem (handlers/cases.py)
    opts.append(Option(_("Where can I go?"), "svc"))  # /services: the social map (handlers/socialmap.py)
    return opts


def show_menu(ctx: Context, intro: str | None = None, **say) -> None:
    """``say`` goes to Context.say: ``about=`` whose data the intro carries, ``purge_after_send=``."""
    ctx.clear()
    ctx.say(intro or _("What would you like to do?"), menu_options(ctx), **say)


def not_understood(ctx: Context) -> None:
    show_menu(ctx, _("Sorry, I did not understand that. You can choose one of these, or type its number:"))
