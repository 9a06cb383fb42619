"""The registry of approved WhatsApp Content templates: (purpose, language) -> ContentSid.

Outside WhatsApp's 24-hour customer-service window only an approved template may be sent.
The registry is a JSON file (TWILIO_TEMPLATES_FILE, see templates.example.json)::

    {"notify": {"nl": {"content_sid": "HX...", "variables": {"1": "first_name", "2": "text"}}},
     "*":      {"fr": {"content_sid": "HX...", "variables": {"1": "text"}}}}

"*" is used for any purpose without an entry of its own. Each variable names a value the
sender knows: ``text`` (the message, flattened to one line as Meta requires; for a broadcast
the announcement alone, as the template says whose it is), ``first_name`` (the recipient's) or
``neighbourhood``.

Quick replies (optional): inside the window a message with one to three short options can go
as tappable buttons instead of numbered lines. That takes a ``twilio/quick-reply`` Content
with variables everywhere (body ``{{1}}``, buttons ``{{2}}``/``{{3}}``, ...), one per number
of buttons, under the purposes ``quick_reply_1`` to ``quick_reply_3``; the language may be
"*" since all words come from the variables. Besides the values above they may use
``label1``..``label3`` (a button's title) and ``payload1``..``payload3`` (its id, which
comes back as ``ButtonPayload`` when tapped). Typing the number still works.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

QUICK_REPLIES = 3  # buttons WhatsApp allows in a session message without approval
VALUES = ("text", "first_name", "neighbourhood",
          *(f"{kind}{i}" for i in range(1, QUICK_REPLIES + 1) for kind in ("label", "payload")))
MAX_VARIABLE = 255  # Twilio refuses a longer content variable value (errors 50541, 50529)
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")


class TemplateError(ValueError):
    """The registry file is not what the docstring above describes."""


@dataclass(frozen=True)
class Template:
    content_sid: str
    variables: dict[str, str]

    def fill(self, values: dict[str, str]) -> str:
        """``content_variables`` as Twilio wants it: a JSON object of strings."""
        return json.dumps({key: flatten(values.get(name) or "-") for key, name in self.variables.items()},
                          ensure_ascii=False)


def one_line(value: str) -> str:
    """Meta refuses template variables with new lines, tabs or more than four spaces in a row."""
    value = re.sub(r"\s*\n\s*", " · ", value.strip())
    return re.sub(r"[\t ]{2,}", " ", value)


def flatten(value: str) -> str:
    """A content variable's value: one line, cut to what Twilio accepts."""
    value = one_line(value)
    return value if len(value) <= MAX_VARIABLE else value[:MAX_VARIABLE - 1].rstrip() + "…"


class Templates:
    def __init__(self, entries: dict[tuple[str, str], Template] | None = None) -> None:
        self.entries = entries or {}

    @classmethod
    def load(cls, path: str | Path | None) -> "Templates":
        if not path:
            return cls()
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TemplateError(f"cannot read the template registry {path}: {exc}") from exc
        return cls.parse(raw)

    @classmethod
    def parse(cls, raw) -> "Templates":
        if not isinstance(raw, dict):
            raise TemplateError("the template registry must be a JSON object of purposes")
        entries = {}
        for purpose, by_language in raw.items():
            if purpose.startswith("_"):
                continue  # "_comment" keys
            if not isinstance(by_language, dict):
                raise TemplateError(f"{purpose}: expected an object of languages")
            for language, entry in by_language.items():
                sid = entry.get("content_sid", "") if isinstance(entry, dict) else ""
                if not CONTENT_SID.fullmatch(sid):
                    raise TemplateError(f"{purpose}/{language}: content_sid must look like HX + 32 hex digits")
                variables = entry.get("variables", {})
                if not isinstance(variables, dict) or any(v not in VALUES for v in variables.values()):
                    raise TemplateError(f"{purpose}/{language}: variables must map numbers to one of {VALUES}")
                entries[(purpose, language)] = Template(sid, {str(k): v for k, v in variables.items()})
        return cls(entries)

    def find(self, purpose: str, language: str) -> Template | None:
        """The approved template for a message outside the window."""
        return self.entries.get((purpose, language)) or self.entries.get(("*", language))

    def quick_reply(self, buttons: int, language: str) -> Template | None:
        """The quick-reply Content with ``buttons`` buttons, if one is configured."""
        purpose = f"quick_reply_{buttons}"
        return self.entries.get((purpose, language)) or self.entries.get((purpose, "*"))

    def __len__(self) -> int:
        return len(self.entries)
