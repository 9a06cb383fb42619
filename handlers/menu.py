"""The main menu: what this person can do now, depending on their roles."""
from __future__ import annotations

from handlers.core import Context, Option
from handlers.i18n import _


def menu_options(ctx: Context) -> list[Option]:
    p = ctx.person
    opts = [Option(_("Ask for help"), "ask")]
    if p and p.is_approved_volunteer:
        opts.append(Option(_("Open requests"), "open"))
        opts.append(Option(_("My tasks"), "tasks"))
    elif p and not p.is_volunteer:
        opts.append(Option(_("Offer help"), "offer"))
    opts.append(Option(_("My requests"), "mine"))
    if p and p.is_coordinator:
        opts.append(Option(_("Coordinator"), "coord"))
    opts.append(Option(_("Talk to a person"), "human"))
    return opts


def show_menu(ctx: Context, intro: str | None = None, **say) -> None:
    """``say`` goes to Context.say: ``about=`` whose data the intro carries, ``purge_after_send=``."""
    ctx.clear()
    ctx.say(intro or _("What would you like to do?"), menu_options(ctx), **say)


def not_understood(ctx: Context) -> None:
    show_menu(ctx, _("Sorry, I did not understand that. You can choose one of these, or type its number:"))
