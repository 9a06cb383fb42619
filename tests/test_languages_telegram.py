"""Telegram's menu in all ten languages: each language's command words where Telegram accepts
them, the command's own name where it does not ("لغة", "yardım"), descriptions in every language."""
from __future__ import annotations

import pytest

from bot.channels.telegram.app import menu_command
from handlers import lexicon
from tests.langkit import build
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import build_runtime, running
from tests.twiliokit import db_url  # noqa: F401  (fixture)


@pytest.fixture
def with_command_words(tmp_path):
    root = build(tmp_path)
    (root / "lexicon" / "ar" / "commands.txt").write_text("language: لغة, lugha\nhelp: مساعدة\n", encoding="utf-8")
    (root / "lexicon" / "tr" / "commands.txt").write_text("language: dil\nhelp: yardım, yardim\n", encoding="utf-8")
    with lexicon.using(root):
        yield root


def test_a_command_word_telegram_refuses_gives_way_to_the_commands_name(with_command_words):
    assert menu_command("language", "tr") == "dil" and menu_command("language", "nl") == "taal"
    assert menu_command("language", "ar") == "language" and menu_command("help", "ar") == "help"
    assert menu_command("help", "tr") == "help"  # "yardım": a dotless i is no a-z


@pytest.mark.asyncio
async def test_the_menu_is_published_in_all_ten_languages(telegram_fake, db_url, with_command_words):
    rt = build_runtime(telegram_fake, db_url)
    async with running(rt):
        for code in lexicon.LANGUAGES:
            assert telegram_fake.commands_for(code), code
        assert [c["command"] for c in telegram_fake.commands_for("ar")][:4] == ["start", "menu", "help", "language"]
        assert "dil" in [c["command"] for c in telegram_fake.commands_for("tr")]
    # the fake fails the test at teardown if Telegram would have refused any of it (BOT_COMMAND_INVALID)
