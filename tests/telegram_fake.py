"""A fake Telegram Bot API server on 127.0.0.1 that the real python-telegram-bot talks to.

Why a server and not mocks: mocking ``Bot.send_message`` tests our code against our own
assumptions. This fake sits behind PTB's real HTTP layer (RequestData encoding, HTTPXRequest,
the status-code-to-exception mapping), checks every request against the official Bot API spec
(``tests/specs/telegram-bot-api.json``, vendored with its licence, or ``$BUURTBOT_TELEGRAM_SPEC``) and answers like
Telegram does, so PTB raises its real ``BadRequest``, ``Forbidden``, ``RetryAfter`` and
``NetworkError``.

A request Telegram would refuse (unknown method or parameter, missing required parameter, wrong
type, 65-byte ``callback_data``, malformed HTML, text too long, editing a message that does not
exist ...) is answered with Telegram's 400 *and* recorded in ``fake.violations``. The
``telegram_fake`` fixture fails the test at teardown while violations are left, so a test cannot
pass while the bot sends something Telegram would reject. A test that provokes one on purpose
wraps it in ``with fake.expect_violation("..."):``. Scripted errors (``script_error``) are
answers the test asked for and are never violations.

Usage::

    from tests.telegram_fake import telegram_fake  # noqa: F401  (the pytest fixture)

    async def test_echo(telegram_fake):
        app = telegram_fake.application_builder().build()
        app.add_handler(MessageHandler(filters.TEXT, echo))
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0)
            telegram_fake.inject_text("hallo", user=TgUser(1001, "Anna", language_code="nl"))
            (call,) = await telegram_fake.await_calls("sendMessage", chat_id=1001)
            assert call.params["text"] == "hallo"
            await app.updater.stop()
            await app.stop()

Webhook mode: once the bot called setWebhook, ``inject_*`` POSTs the update to the webhook URL
from a delivery thread (with ``X-Telegram-Bot-Api-Secret-Token``), like Telegram would;
``post_webhook`` / ``apost_webhook`` post one update right away and return the HTTP status, with
``secret=None`` (no header) or ``secret="wrong"`` to test that the app refuses it.
"""
from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import itertools
import json
import os
import re
import socket
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder

# The official method list, vendored in tests/specs (with its licence) so a clone anywhere passes.
SPEC_PATH = os.environ.get(
    "BUURTBOT_TELEGRAM_SPEC", str(Path(__file__).resolve().parent / "specs" / "telegram-bot-api.json")
)
DEFAULT_TOKEN = "123456789:AAFakeTokenForBuurtbotTests-0123456789"
DEFAULT_USERNAME = "buurtbot_test_bot"
PARSE_MODES = ("HTML", "MarkdownV2", "Markdown")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Update types Telegram leaves out unless a bot asks for them in allowed_updates.
_OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


# --------------------------------------------------------------------------------------------
# The spec
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def load_spec(path: str = SPEC_PATH) -> dict:
    """The parsed spec, read once per run: it is 650 kB and every fake validates against it."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Telegram Bot API spec not found at {path}; set BUURTBOT_TELEGRAM_SPEC") from exc


# --------------------------------------------------------------------------------------------
# Telegram's text formatting (parse_mode)
# --------------------------------------------------------------------------------------------

class FormattingError(ValueError):
    """Text Telegram refuses with "Bad Request: can't parse entities: ..."."""


@dataclass
class FormattedText:
    """Text after entity parsing: what the user sees, and the entities Telegram would report."""
    text: str
    entities: list[dict] = field(default_factory=list)


def format_text(source: str, parse_mode: str | None) -> FormattedText:
    """Parse ``source`` the way Telegram does for ``parse_mode`` (raises FormattingError)."""
    if parse_mode is None:
        return FormattedText(source)
    parsers = {"HTML": parse_html, "MarkdownV2": parse_markdown_v2, "Markdown": parse_markdown}
    if parse_mode not in parsers:
        raise FormattingError(f"unsupported parse_mode {parse_mode!r}")
    return parsers[parse_mode](source)


def _utf16_len(text: str) -> int:
    """Entity offsets and lengths are counted in UTF-16 code units, like Telegram does."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    """Telegram's parse errors name UTF-8 byte offsets, not character indexes."""
    return len(source[:index].encode("utf-8"))


_HTML_TAG = re.compile(
    r"""<(/?)([A-Za-z][\w-]*)((?:\s+[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>=`]+))?)*)\s*>""")
_HTML_ATTR = re.compile(r"""([\w-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'<>=`]+))?""")
_HTML_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Tag -> entity type: the tags Telegram's HTML style supports (core.telegram.org/bots/api#html-style).
_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic",
    "u": "underline", "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link",
    "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}
_HTML_ATTRS = {"a": {"href"}, "span": {"class"}, "tg-emoji": {"emoji-id"}, "code": {"class"},
               "blockquote": {"expandable"}}


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the plain text where the entity starts


def parse_html(source: str) -> FormattedText:
    """Telegram's HTML: only its tags, properly nested, and every '<', '>' and '&' that is not
    markup escaped -- so an unescaped user fragment like "<script>" or "a & b" is an error."""
    chars: list[str] = []
    entities: list[dict] = []
    stack: list[_OpenTag] = []
    utf16 = index = 0
    while index < len(source):
        char = source[index]
        if char == "<":
            tag = _HTML_TAG.match(source, index)
            if tag is None:
                raise FormattingError(
                    f"unescaped '<' at byte offset {_byte_offset(source, index)}; write &lt;")
            if tag.group(1):
                entity = _close_html_tag(stack, tag.group(2).lower(), source, index, utf16)
                if entity:
                    entities.append(entity)
            else:
                stack.append(_open_html_tag(stack, tag, source, index, utf16))
            index = tag.end()
            continue
        if char == ">":
            raise FormattingError(
                f"unescaped '>' at byte offset {_byte_offset(source, index)}; write &gt;")
        if char == "&":
            text, index = _html_entity(source, index)
        else:
            text, index = char, index + 1
        chars.append(text)
        utf16 += _utf16_len(text)
    if stack:
        raise FormattingError(
            f'can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(chars), entities)


def _open_html_tag(stack: list[_OpenTag], tag: re.Match, source: str, index: int,
                   utf16: int) -> _OpenTag:
    name = tag.group(2).lower()
    where = f"at byte offset {_byte_offset(source, index)}"
    if name not in _HTML_TAGS:
        raise FormattingError(f'unsupported start tag "{name}" {where}')
    attrs = {m.group(1).lower(): _attr_value(m.group(2)) for m in _HTML_ATTR.finditer(tag.group(3))}
    unknown = sorted(set(attrs) - _HTML_ATTRS.get(name, set()))
    if unknown:
        raise FormattingError(f'unsupported attribute "{unknown[0]}" in tag "{name}" {where}')
    if name == "a" and not attrs.get("href"):
        raise FormattingError(f'tag "a" without href {where}')
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise FormattingError(f'tag "span" must have class="tg-spoiler" {where}')
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise FormattingError(f'tag "tg-emoji" without emoji-id {where}')
    parent = stack[-1].name if stack else None
    if parent == "code" or (parent == "pre" and name != "code"):
        raise FormattingError(f'tag "{name}" can\'t be nested in "{parent}" {where}')
    if name in ("a", "pre", "code", "blockquote") and any(t.name == name for t in stack):
        raise FormattingError(f'tag "{name}" can\'t be nested in itself {where}')
    return _OpenTag(name, attrs, utf16)


def _attr_value(raw: str | None) -> str:
    if raw is None:
        return ""
    if raw[:1] in ("'", '"'):
        raw = raw[1:-1]
    return html.unescape(raw)


def _close_html_tag(stack: list[_OpenTag], name: str, source: str, index: int,
                    utf16: int) -> dict | None:
    where = f"at byte offset {_byte_offset(source, index)}"
    if not stack:
        raise FormattingError(f'unexpected end tag "{name}" {where}')
    if stack[-1].name != name:
        raise FormattingError(
            f'unmatched end tag {where}, expected "</{stack[-1].name}>", found "</{name}>"')
    tag = stack.pop()
    if name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, not two entities.
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].attrs["language"] = language[len("language-"):]
        return None
    length = utf16 - tag.offset
    return _html_entity_dict(tag, length) if length else None


def _html_entity_dict(tag: _OpenTag, length: int) -> dict:
    entity = {"type": _HTML_TAGS[tag.name], "offset": tag.offset, "length": length}
    if tag.name == "a":
        entity["url"] = tag.attrs["href"]
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    elif tag.name == "pre" and tag.attrs.get("language"):
        entity["language"] = tag.attrs["language"]
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def _html_entity(source: str, index: int) -> tuple[str, int]:
    """Telegram supports numeric entities and only &lt; &gt; &amp; &quot; by name."""
    match = _HTML_ENTITY.match(source, index)
    if match is None:
        raise FormattingError(
            f"unescaped '&' at byte offset {_byte_offset(source, index)}; write &amp;")
    ref = match.group(1)
    if ref.startswith("#"):
        code = int(ref[2:], 16) if ref[1:2] in ("x", "X") else int(ref[1:])
        if not 0 < code <= 0x10FFFF:
            raise FormattingError(f"invalid character reference &{ref};")
        return chr(code), match.end()
    if ref not in _NAMED_ENTITIES:
        raise FormattingError(f"unsupported HTML entity &{ref}; (only &lt; &gt; &amp; &quot; "
                              "and numeric entities)")
    return _NAMED_ENTITIES[ref], match.end()


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_MARK_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough",
                    "||": "Spoiler"}


def parse_markdown_v2(source: str) -> FormattedText:
    """An approximation of MarkdownV2 that catches what bots get wrong: reserved characters
    ('.', '!', '-', '(' ...) that are not escaped and markers that are never closed. It does not
    check every nesting rule and reports no entities."""
    chars: list[str] = []
    marks: list[tuple[str, int]] = []
    links: list[int] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            if index + 1 >= len(source) or not 1 <= ord(source[index + 1]) <= 126:
                raise _reserved(source, index)
            chars.append(source[index + 1])
            index += 2
            continue
        if char == "`":
            text, index = _mdv2_code(source, index)
            chars.append(text)
            continue
        mark = next((m for m in ("__", "||") if source.startswith(m, index)), None)
        mark = mark or (char if char in "*_~" else None)
        if mark:
            _toggle_mark(marks, mark, _byte_offset(source, index))
            index += len(mark)
            continue
        if char == "[":
            links.append(_byte_offset(source, index))
            index += 1
            continue
        if char == "]" and links and source.startswith("(", index + 1):
            end = _find_unescaped(source, ")", index + 2)
            if end < 0:
                raise FormattingError(f"can't find end of a URL at byte offset {links[-1]}")
            links.pop()
            index = end + 1
            continue
        if char == ">" and (index == 0 or source[index - 1] == "\n"):
            index += 1  # blockquote marker
            continue
        if char in _MDV2_RESERVED:
            raise _reserved(source, index)
        chars.append(char)
        index += 1
    if marks:
        mark, offset = marks[-1]
        raise FormattingError(f"can't find end of {_MDV2_MARK_NAMES[mark]} entity at byte "
                              f"offset {offset}")
    if links:
        raise FormattingError(f"can't find end of a TextUrl entity at byte offset {links[-1]}")
    return FormattedText("".join(chars))


def _reserved(source: str, index: int) -> FormattingError:
    return FormattingError(f"character '{source[index]}' is reserved and must be escaped with "
                           f"the preceding '\\' (byte offset {_byte_offset(source, index)})")


def _toggle_mark(marks: list[tuple[str, int]], mark: str, offset: int) -> None:
    if marks and marks[-1][0] == mark:
        marks.pop()
    elif any(open_mark == mark for open_mark, _ in marks):
        raise FormattingError(f"entities must be properly nested (byte offset {offset})")
    else:
        marks.append((mark, offset))


def _mdv2_code(source: str, index: int) -> tuple[str, int]:
    fence = "```" if source.startswith("```", index) else "`"
    end = _find_unescaped(source, fence, index + len(fence))
    if end < 0:
        kind = "PreCode" if fence == "```" else "Code"
        raise FormattingError(f"can't find end of {kind} entity at byte offset "
                              f"{_byte_offset(source, index)}")
    body = source[index + len(fence):end]
    if fence == "```" and "\n" in body:
        body = body.split("\n", 1)[1]  # the first line names the language
    return re.sub(r"\\(.)", r"\1", body), end + len(fence)


def _find_unescaped(source: str, token: str, start: int) -> int:
    index = start
    while index < len(source):
        if source[index] == "\\":
            index += 2
        elif source.startswith(token, index):
            return index
        else:
            index += 1
    return -1


def parse_markdown(source: str) -> FormattedText:
    """Legacy Markdown: every '*', '_', '`' and '[' opens an entity that must be closed."""
    chars: list[str] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and source[index + 1:index + 2] in ("_", "*", "`", "["):
            chars.append(source[index + 1])
            index += 2
            continue
        if char in "*_`[":
            closer = "```" if source.startswith("```", index) else ("]" if char == "[" else char)
            opener_len = len(closer) if closer == "```" else 1
            end = source.find(closer, index + opener_len)
            if end < 0:
                raise FormattingError("can't find end of the entity starting at byte offset "
                                      f"{_byte_offset(source, index)}")
            chars.append(source[index + opener_len:end])
            index = end + len(closer)
            if char == "[" and source.startswith("(", index):
                close = source.find(")", index)
                if close < 0:
                    raise FormattingError("can't find end of a URL at byte offset "
                                          f"{_byte_offset(source, index)}")
                index = close + 1
            continue
        chars.append(char)
        index += 1
    return FormattedText("".join(chars))


# --------------------------------------------------------------------------------------------
# Request bodies: PTB sends application/x-www-form-urlencoded, or multipart/form-data when it
# uploads files; in both every value is a string and objects/arrays/numbers/booleans are
# JSON-encoded (telegram/request/_requestparameter.py: json_value). application/json bodies
# (other clients) carry native JSON values.
# --------------------------------------------------------------------------------------------

@dataclass
class UploadedFile:
    """One multipart file part (PTB uploads InputFile contents this way)."""
    name: str
    filename: str
    content_type: str
    data: bytes


class BodyError(ValueError):
    """A request body the fake (and Telegram) cannot read."""


def parse_request_body(content_type: str, body: bytes,
                       query: str = "") -> tuple[dict[str, object], dict[str, UploadedFile]]:
    """Parameters and uploaded files of one request (query-string parameters included)."""
    params: dict[str, object] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    mime = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params, files
    try:
        if mime == "application/json":
            decoded = json.loads(body)
            if not isinstance(decoded, dict):
                raise BodyError("a JSON body must be an object")
            params.update(decoded)
        elif mime == "application/x-www-form-urlencoded":
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif mime == "multipart/form-data":
            fields, files = _parse_multipart(content_type, body)
            params.update(fields)
        else:
            raise BodyError(f"unsupported Content-Type {content_type!r}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError(f"unreadable {mime} body: {exc}") from exc
    return params, files


def _header_param(header: str, name: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{name}=(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', header, re.I)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def _parse_multipart(content_type: str,
                     body: bytes) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """A plain multipart/form-data splitter; Starlette would need python-multipart for this."""
    boundary = _header_param(content_type, "boundary")
    if not boundary:
        raise BodyError("multipart body without boundary")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, separator, data = chunk.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise BodyError("malformed multipart part")
        headers = dict(line.split(":", 1) for line in head.decode("utf-8").split("\r\n") if ":" in line)
        headers = {key.strip().lower(): value.strip() for key, value in headers.items()}
        data = data[:-2] if data.endswith(b"\r\n") else data
        disposition = headers.get("content-disposition", "")
        name, filename = _header_param(disposition, "name"), _header_param(disposition, "filename")
        if not name:
            raise BodyError("multipart part without a name")
        if filename is None:
            fields[name] = data.decode("utf-8")
        else:
            files[name] = UploadedFile(name, filename,
                                       headers.get("content-type", "application/octet-stream"), data)
    return fields, files


# --------------------------------------------------------------------------------------------
# Validation against the spec
# --------------------------------------------------------------------------------------------

_ARRAY = "Array of "
_LENGTH_RULE = re.compile(r"(\d+)-(\d+)\s+(characters|bytes)(\s+after entit(?:y|ies) parsing)?",
                          re.I)
_VALUES_BETWEEN = re.compile(r"[Vv]alues between (\d+)-(\d+)")
_ONE_OF = re.compile(r"[Mm]ust be one of (.*?)(?:\.\s|\.?$)")  # the quoted words of that sentence
_DISCRIMINATOR = re.compile(r'(?:must be|always)\s+"?([A-Za-z_]+)"?\s*$')
_BUTTON_EXTRAS = {"text", "icon_custom_emoji_id", "style"}


def _as_integer(value: object) -> tuple[bool, object]:
    if isinstance(value, bool):
        return False, value
    if isinstance(value, int):
        return True, value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return True, int(value)
    return False, value


def _as_float(value: object) -> tuple[bool, object]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True, float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return True, float(value)
    return False, value


def _as_boolean(value: object) -> tuple[bool, object]:
    if isinstance(value, bool):
        return True, value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return True, value.lower() == "true"
    return False, value


_PRIMITIVES: dict[str, Callable[[object], tuple[bool, object]]] = {
    "Integer": _as_integer,
    "Float": _as_float,
    "Boolean": _as_boolean,
    "String": lambda v: (isinstance(v, str), v),
    "InputFile": lambda v: (isinstance(v, UploadedFile), v),
}


@dataclass(frozen=True)
class _LengthRule:
    low: int
    high: int
    unit: str  # "characters" or "bytes"
    after_parsing: bool


class _Problems:
    """Problems of one value, in two kinds. Shape problems (missing/unknown fields, wrong types)
    decide which alternative of a union type ("InlineKeyboardMarkup or ReplyKeyboardMarkup or
    ...") a value is; content problems (lengths, HTML, callback_data bytes) are only reported for
    the alternative that fits."""

    def __init__(self) -> None:
        self.shape: list[str] = []
        self.content: list[str] = []

    def all(self) -> list[str]:
        return self.shape + self.content


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class SpecValidator:
    """Checks one request against the spec: the method exists, required fields are present,
    there are no unknown fields, values have the spec's types (recursively, through "Array of"
    and object types), and the rules the spec only states in prose -- "1-64 bytes", "0-1024
    characters after entities parsing", "must be one of", parse modes -- hold."""

    def __init__(self, spec: dict):
        self.methods: dict[str, dict] = spec["methods"]
        self.types: dict[str, dict] = spec["types"]
        self._discriminators = {name: self._discriminator_of(t) for name, t in self.types.items()
                                if t.get("subtype_of")}

    @staticmethod
    def _discriminator_of(type_spec: dict) -> dict[str, str]:
        """A subtype's "type" field says e.g. "must be chat": that literal tells subtypes apart."""
        found = {}
        for spec_field in type_spec.get("fields", []):
            match = _DISCRIMINATOR.search(spec_field["description"])
            if spec_field["types"] == ["String"] and match:
                found[spec_field["name"]] = match.group(1)
        return found

    def validate(self, method: str, params: dict[str, object],
                 files: dict[str, UploadedFile]) -> tuple[dict, list[str]]:
        """The parsed parameters (ints, bools, dicts, UploadedFile) and every problem found."""
        fields = self.methods[method].get("fields", [])
        problems = _Problems()
        merged = self._attach_files(params, files, {f["name"] for f in fields}, problems)
        parsed = self._object(merged, fields, "", problems)
        return parsed, problems.all()

    @staticmethod
    def _attach_files(params: dict, files: dict[str, UploadedFile], field_names: set[str],
                      problems: _Problems) -> dict:
        """A file part either is a parameter itself (PTB: part "photo" for sendPhoto) or is
        referenced from a value as attach://<name> (InputMedia)."""
        merged = dict(params)
        referenced = set()
        for key, value in params.items():
            if isinstance(value, str):
                referenced.update(re.findall(r"attach://([\w.-]+)", value))
                if value.startswith("attach://") and value[9:] in files:
                    merged[key] = files[value[9:]]
        for name, upload in files.items():
            if name in field_names and name not in merged:
                merged[name] = upload
            elif name not in referenced:
                problems.shape.append(f"unknown parameter {name!r} (an uploaded file)")
        for name in sorted(referenced - files.keys()):
            problems.shape.append(f"attach://{name} names no uploaded file")
        return merged

    def _object(self, obj: dict, fields: list[dict], path: str, problems: _Problems) -> dict:
        by_name = {f["name"]: f for f in fields}
        for key in obj:
            if key not in by_name:
                problems.shape.append(f"unknown parameter {key!r}" if not path
                                      else f"{path}: unknown field {key!r}")
        parsed = {}
        for spec_field in fields:
            name = spec_field["name"]
            if obj.get(name) is None:
                if spec_field["required"]:
                    problems.shape.append(f"{_join(path, name)} is required")
                continue
            parsed[name] = self._value(obj[name], spec_field["types"], _join(path, name), problems)
        for spec_field in fields:
            if spec_field["name"] in parsed:
                self._check_content(parsed, spec_field, set(by_name),
                                    _join(path, spec_field["name"]), problems)
        return parsed

    def _value(self, value: object, types: list[str], path: str, problems: _Problems,
               label: str | None = None) -> object:
        """A value of one of ``types``: the first alternative whose shape fits wins."""
        attempts = []
        for type_name in types:
            attempt = _Problems()
            parsed = self._one(value, type_name, path, attempt)
            if not attempt.shape:
                problems.content.extend(attempt.content)
                return parsed
            attempts.append(attempt)
        if len(types) == 1:
            problems.shape.extend(attempts[0].shape)
        else:
            closest = min(attempts, key=lambda a: len(a.shape))
            problems.shape.append(f"{path}: not a valid {label or ' or '.join(types)} "
                                  f"({closest.shape[0]})")
        return value

    def _one(self, value: object, type_name: str, path: str, problems: _Problems) -> object:
        if type_name.startswith(_ARRAY):
            return self._array(value, type_name[len(_ARRAY):], path, problems)
        if type_name in _PRIMITIVES:
            ok, converted = _PRIMITIVES[type_name](value)
            if not ok:
                problems.shape.append(f"{path}: expected {type_name}, got {_short(value)}")
            return converted
        if type_name not in self.types:
            problems.shape.append(f"{path}: the spec has no type {type_name}")
            return value
        return self._typed_object(value, type_name, path, problems)

    def _decode_json(self, value: object, path: str, problems: _Problems) -> object:
        """Objects and arrays arrive JSON-encoded inside form fields."""
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            problems.shape.append(f"{path}: can't parse JSON {_short(value)}")
            return None

    def _array(self, value: object, item_type: str, path: str, problems: _Problems) -> object:
        value = self._decode_json(value, path, problems)
        if not isinstance(value, list):
            if value is not None:
                problems.shape.append(f"{path}: expected {_ARRAY}{item_type}, got {_short(value)}")
            return value
        return [self._one(item, item_type, f"{path}[{i}]", problems) for i, item in enumerate(value)]

    def _typed_object(self, value: object, type_name: str, path: str,
                      problems: _Problems) -> object:
        type_spec = self.types[type_name]
        if type_spec.get("subtypes"):
            return self._value(value, type_spec["subtypes"], path, problems, label=type_name)
        value = self._decode_json(value, path, problems)
        if not isinstance(value, dict):
            if value is not None:
                problems.shape.append(f"{path}: expected {type_name} object, got {_short(value)}")
            return value
        if "fields" not in type_spec:
            return value  # an object without fields, e.g. CallbackGame
        parsed = self._object(value, type_spec["fields"], path, problems)
        for name, literal in self._discriminators.get(type_name, {}).items():
            if parsed.get(name) != literal:
                problems.shape.append(f"{_join(path, name)} must be {literal!r} for {type_name}")
        self._check_type_rules(type_name, parsed, path, problems)
        return parsed

    # -- rules the spec states in prose --------------------------------------------------

    def _check_content(self, parsed: dict, spec_field: dict, field_names: set[str], path: str,
                       problems: _Problems) -> None:
        name, value, description = spec_field["name"], parsed[spec_field["name"]], spec_field["description"]
        if isinstance(value, int) and not isinstance(value, bool):
            bounds = _VALUES_BETWEEN.search(description)
            if bounds and not int(bounds.group(1)) <= value <= int(bounds.group(2)):
                problems.content.append(f"{path} must be between {bounds.group(1)} and "
                                        f"{bounds.group(2)}, got {value}")
            return
        if not isinstance(value, str):
            return
        if (name == "parse_mode" or name.endswith("_parse_mode")) and value not in PARSE_MODES:
            problems.content.append(f"unsupported parse_mode {value!r} in {path} "
                                    f"(one of {', '.join(PARSE_MODES)})")
        if "ISO 639-1" in description and value and not re.fullmatch(r"[a-z]{2}", value):
            problems.content.append(f"{path} must be a two-letter ISO 639-1 code, got {value!r}")
        one_of = _ONE_OF.search(description)
        choices = re.findall(r'"([^"]+)"', one_of.group(1)) if one_of else []
        if choices and value not in choices:
            problems.content.append(f"{path} must be one of {choices}, got {value!r}")
        rule = _length_rule(description)
        if rule:
            self._check_length(parsed, name, field_names, rule, path, problems)

    @staticmethod
    def _check_length(parsed: dict, name: str, field_names: set[str], rule: _LengthRule,
                      path: str, problems: _Problems) -> None:
        value = parsed[name]
        if rule.unit == "bytes":
            size = len(value.encode("utf-8"))
        elif rule.after_parsing:
            mode_field = f"{name}_parse_mode" if f"{name}_parse_mode" in field_names else "parse_mode"
            mode = parsed.get(mode_field)
            try:
                value = format_text(value, mode if mode in PARSE_MODES else None).text
            except FormattingError as exc:
                problems.content.append(f"can't parse entities in {path}: {exc}")
                return
            size = len(value)
            if len(value.strip()) < rule.low:
                size = len(value.strip())  # Telegram trims whitespace: "   " is empty
        else:
            size = len(value)
        if not rule.low <= size <= rule.high:
            problems.content.append(_length_problem(name, path, size, rule))

    def _check_type_rules(self, type_name: str, obj: dict, path: str, problems: _Problems) -> None:
        """Rules of single types that the field list alone cannot express."""
        if type_name == "InlineKeyboardButton":
            actions = sorted(set(obj) - _BUTTON_EXTRAS)
            if len(actions) != 1:
                problems.content.append(f"{path}: an inline keyboard button needs exactly one of "
                                        f"url, callback_data, ... (has {actions or 'none'})")
            if "url" in obj and not re.match(r"(https?|tg)://", obj["url"]):
                problems.content.append(f"BUTTON_URL_INVALID ({path}.url = {obj['url']!r})")
            if not obj.get("text"):
                problems.content.append(f"{path}: a button needs a text")
        elif type_name == "BotCommand" and not re.fullmatch(r"[a-z0-9_]{1,32}", obj.get("command", "")):
            problems.content.append(f"BOT_COMMAND_INVALID ({path}.command = {obj.get('command')!r}: "
                                    "1-32 lowercase letters, digits and underscores)")


@lru_cache(maxsize=None)
def _length_rule(description: str) -> _LengthRule | None:
    match = _LENGTH_RULE.search(description)
    if match is None:
        return None
    return _LengthRule(int(match.group(1)), int(match.group(2)), match.group(3).lower(),
                       bool(match.group(4)))


def _length_problem(name: str, path: str, size: int, rule: _LengthRule) -> str:
    """Telegram's own wording where it is known, with the numbers behind it."""
    detail = (f"{path} is {size} {rule.unit}, allowed {rule.low}-{rule.high}"
              f"{' after entities parsing' if rule.after_parsing else ''}")
    if name == "callback_data":
        return f"BUTTON_DATA_INVALID ({detail})"
    if name == "text" and size < rule.low:
        return f"message text is empty ({detail})"
    if name == "text":
        return f"message is too long ({detail})"
    if name == "caption":
        return f"message caption is too long ({detail})"
    return f"{name} has a wrong length ({detail})"


# --------------------------------------------------------------------------------------------
# Records the tests look at
# --------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One accepted API call: the parameters as parsed (ints, bools, dicts, UploadedFile)."""
    method: str
    params: dict
    time: float
    result: object

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


@dataclass
class Violation:
    """A request Telegram would have refused."""
    method: str
    description: str
    problems: list[str]
    params: dict
    time: float

    def __str__(self) -> str:
        extra = "".join(f"\n      - {p}" for p in self.problems[1:])
        return f"{self.method}: {self.description}{extra}\n      params: {_short(self.params)}"


@dataclass
class RequestRecord:
    """Every request, accepted or not, with the HTTP status it got (None: connection dropped)."""
    method: str
    params: dict
    status: int | None
    description: str
    time: float


@dataclass
class PollRecord:
    """One getUpdates long poll: when it began and ended on the fake's clock, and why it ended
    ("updates", "timeout", "superseded" or "stopping")."""
    timeout: float
    started: float
    ended: float | None = None
    ended_by: str | None = None


@dataclass(frozen=True)
class RateLimits:
    """Telegram's documented limits (FAQ "My bot is hitting limits"): about one message per
    second in a chat, 20 per minute in a group, 30 per second overall. Hits are counted in
    ``fake.rate_limit_hits``; with ``enforce`` the fake also answers 429 like Telegram."""
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    overall_per_second: int = 30
    enforce: bool = False


@dataclass
class RateLimitHit:
    time: float
    method: str
    chat_id: int | str | None
    rule: str  # "per_chat_per_second", "per_group_per_minute" or "overall_per_second"
    count: int


@dataclass
class ScriptedError:
    """An answer a test asked for: for the next ``remaining`` matching calls (None: until
    cleared), answer ``status``/``description``, or drop the connection when status is None."""
    status: int | None
    description: str
    parameters: dict | None
    method: str | None
    chat_id: int | str | None
    remaining: int | None
    hits: int = 0

    def matches(self, method: str, params: dict) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)


@dataclass
class WebhookConfig:
    url: str = ""
    secret_token: str | None = None
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    ip_address: str | None = None


@dataclass
class WebhookDelivery:
    update_id: int
    url: str
    secret_sent: str | None
    status: int | None  # None: the POST failed (see error)
    error: str | None = None


@dataclass
class FakeFile:
    """A file "on Telegram's servers": what getFile and the file download URL serve."""
    file_id: str
    file_unique_id: str
    kind: str  # photo, voice, document, ...
    content: bytes
    file_path: str
    extra: dict = field(default_factory=dict)

    def as_object(self) -> dict:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id,
                "file_size": len(self.content), **self.extra}


@dataclass(frozen=True)
class TgUser:
    """A Telegram user for injected updates."""
    id: int = 1001
    first_name: str = "Anna"
    language_code: str | None = "nl"
    username: str | None = "anna_buurt"
    last_name: str | None = None

    def to_dict(self) -> dict:
        user = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key) is not None:
                user[key] = getattr(self, key)
        return user

    def private_chat(self) -> dict:
        chat = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


def group_chat(chat_id: int = -1001234567890, title: str = "Buurtgroep Oost",
               chat_type: str = "supergroup") -> dict:
    """A group chat for injected updates."""
    return {"id": chat_id, "type": chat_type, "title": title}


class ApiError(Exception):
    """A Telegram error answer; ``violation`` says whether the bot is to blame for it."""

    def __init__(self, status: int, description: str, *, parameters: dict | None = None,
                 violation: bool = True, problems: list[str] | None = None):
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters
        self.violation = violation
        self.problems = problems or [description]


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


class _Drop:
    """The answer "close the socket without answering" (simulates a network error)."""


DROP = _Drop()
USE_REGISTERED_SECRET = "<the secret_token given to setWebhook>"

_ERROR_PRESETS: dict[str, tuple[int | None, str]] = {
    "429": (429, "Too Many Requests: retry after {retry_after}"),
    "too_many_requests": (429, "Too Many Requests: retry after {retry_after}"),
    "403": (403, "Forbidden: bot was blocked by the user"),
    "blocked": (403, "Forbidden: bot was blocked by the user"),
    "400": (400, "Bad Request: chat not found"),
    "chat_not_found": (400, "Bad Request: chat not found"),
    "drop": (None, "connection dropped"),
}

# Method name -> handler(fake, method, params) -> result. Filled by @_api below.
_API_METHODS: dict[str, Callable[[TelegramFake, str, dict], object]] = {}


def _api(*names: str):
    def register(handler):
        for name in names:
            _API_METHODS[name] = handler
        return handler
    return register


def _is_message_send(method: str) -> bool:
    """The calls Telegram's per-chat and overall message limits are about."""
    return (method.startswith("send") and method != "sendChatAction") or method in (
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages")


_CONTENT_KEYS = ("text", "entities", "photo", "voice", "document", "audio", "video", "caption",
                 "caption_entities", "location", "contact", "sticker")
_MEDIA_METHODS = {"sendPhoto": "photo", "sendVoice": "voice", "sendDocument": "document",
                  "sendAudio": "audio", "sendVideo": "video"}
FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"buurtbot-test-photo" * 20 + b"\xff\xd9"
FAKE_OGG = b"OggS\x00\x02" + b"buurtbot-test-voice" * 20


# --------------------------------------------------------------------------------------------
# The HTTP server
# --------------------------------------------------------------------------------------------

@dataclass
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json"


def _json_reply(status: int, payload: dict) -> _Reply:
    return _Reply(status, json.dumps(payload).encode("utf-8"))


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the TelegramFake; HTTP/1.1 so PTB keeps connections alive."""
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.untrack(self.connection)

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self._read_body()
        reply = self.server.fake.handle_http(self.command, self.path,
                                             self.headers.get("Content-Type", ""), body)
        if isinstance(reply, _Drop):
            self.close_connection = True  # socketserver closes the socket: no answer at all
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(reply.body)

    do_GET = do_POST

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the fake records requests itself; stderr noise helps nobody


class _Server(ThreadingHTTPServer):
    """Tracks open connections so stop() can close idle keep-alive connections and join every
    handler thread (block_on_close) instead of leaving threads behind."""
    daemon_threads = True
    block_on_close = True

    def __init__(self, fake: TelegramFake, host: str):
        self.fake = fake
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, 0), _Handler)

    def track(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(conn)

    def untrack(self, conn: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away mid-answer (cancelled long poll) is not an error


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------

class TelegramFake:
    """A fake Telegram Bot API: start() it, point PTB at ``base_url``/``base_file_url``.

    Records: ``calls`` (accepted calls), ``request_log`` (every request and its status),
    ``violations``, ``rate_limit_hits``, ``webhook_deliveries``. State: ``webhook``,
    ``commands``, ``descriptions``, ``short_descriptions``. Settings that can be changed at any
    time: ``username``, ``first_name``, ``rate_limits`` (None: off), ``known_chats_only``
    (sending to a chat no update came from is "chat not found"), ``require_https_webhook``.
    """

    def __init__(self, *, token: str = DEFAULT_TOKEN, username: str = DEFAULT_USERNAME,
                 first_name: str = "Buurtbot (test)", rate_limits: RateLimits | None = RateLimits(),
                 known_chats_only: bool = False, require_https_webhook: bool = False,
                 spec_path: str = SPEC_PATH, host: str = "127.0.0.1", clock=time.monotonic):
        self.token, self.username, self.first_name, self.host = token, username, first_name, host
        #: Stamps every record (calls, requests, violations, rate-limit hits, polls) and times the
        #: rate windows and long polls: a test can share it with the code it checks.
        self.clock = clock
        self.bot_id = int(token.split(":", 1)[0])
        self.rate_limits = rate_limits
        self.known_chats_only = known_chats_only
        self.require_https_webhook = require_https_webhook
        self.validator = SpecValidator(load_spec(spec_path))
        self._methods_by_lower = {name.lower(): name for name in self.validator.methods}

        self.calls: list[Call] = []
        self.request_log: list[RequestRecord] = []
        self.violations: list[Violation] = []
        self.rate_limit_hits: list[RateLimitHit] = []
        self.polls: list[PollRecord] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.scripted: list[ScriptedError] = []
        self.webhook = WebhookConfig()
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}

        # One lock for all state; handler threads hold it while answering (getUpdates releases
        # it while it waits), so the fake behaves as if requests were handled one at a time.
        self._cond = threading.Condition(threading.RLock())
        self._pending: list[dict] = []  # updates not yet confirmed through getUpdates' offset
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._messages: dict[tuple[int, int], dict] = {}
        self._chats: dict[int, dict] = {}
        self._files: dict[str, FakeFile] = {}
        self._callback_queries: dict[str, dict] = {}
        self._sends_overall: deque[float] = deque()
        self._sends_by_chat: dict[str, deque[float]] = defaultdict(deque)
        self._update_ids = itertools.count(500_001)
        self._message_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._query_ids = itertools.count(7_000_000_001)
        self._webhook_queue: list[dict | None] = []
        self._stopping = False
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> TelegramFake:
        """Serve on a free port in a background thread; usable from sync and async tests."""
        self._server = _Server(self, self.host)
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                             name="telegram-fake-http", daemon=True),
            threading.Thread(target=self._webhook_worker, name="telegram-fake-webhook",
                             daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Wake long polls, close connections, join every thread."""
        if self._server is None:
            return
        with self._cond:
            self._stopping = True
            self._webhook_queue.insert(0, None)
            self._cond.notify_all()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> TelegramFake:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the fake first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder.base_url / Bot(base_url=...): PTB appends the token."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def make_bot(self, **kwargs: object) -> Bot:
        """A real PTB Bot talking to this fake (use ``async with`` to initialize it)."""
        return Bot(self.token, base_url=self.base_url, base_file_url=self.base_file_url, **kwargs)

    def application_builder(self) -> ApplicationBuilder:
        """Application.builder() with token and URLs of this fake filled in."""
        return (Application.builder().token(self.token).base_url(self.base_url)
                .base_file_url(self.base_file_url))

    # -- HTTP entry ------------------------------------------------------------------------

    def handle_http(self, verb: str, target: str, content_type: str, body: bytes) -> _Reply | _Drop:
        """Route one HTTP request: /bot<token>/<method> or /file/bot<token>/<path>."""
        url = urlsplit(target)
        path = unquote(url.path)  # PTB quotes file download paths (the token's ':' -> %3A)
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot"):])
        match = re.fullmatch(r"/bot([^/]+)/([^/]+)", path)
        if match is None:
            return self._refuse("?", {}, ApiError(404, "Not Found",
                                                  problems=[f"no Bot API path: {path}"]))
        try:
            params, files = parse_request_body(content_type, body, url.query)
        except BodyError as exc:
            return self._refuse(match.group(2), {}, _bad_request(str(exc)))
        return self.handle_api(match.group(1), match.group(2), params, files)

    def handle_api(self, token: str, method: str, params: dict,
                   files: dict[str, UploadedFile]) -> _Reply | _Drop:
        """Check, then answer one API call: scripted error, or the method's behaviour."""
        with self._cond:
            try:
                self._check_token_and_method(token, method)
                parsed = self._validate(method, params, files)
                self._check_rates(method, parsed)
                scripted = self._take_script(method, parsed)
                if scripted is not None:
                    return self._scripted_reply(scripted, method, parsed)
                result = self._dispatch(method, parsed)
            except ApiError as err:
                return self._refuse(method, params, err)
            except Exception as exc:  # a bug in the fake: make it fail the test, loudly
                return self._refuse(method, params, ApiError(
                    500, f"Internal Server Error: the fake crashed: {exc!r}"))
            self.calls.append(Call(method, parsed, self.clock(), result))
            self._log(method, parsed, 200, "ok")
            return _json_reply(200, {"ok": True, "result": result})

    def _check_token_and_method(self, token: str, method: str) -> None:
        if token != self.token:
            raise ApiError(401, "Unauthorized", problems=[f"wrong bot token {token!r}"])
        if method not in self.validator.methods:
            spelled = self._methods_by_lower.get(method.lower())
            hint = f" (the spec spells it {spelled})" if spelled else ""
            raise ApiError(404, "Not Found", problems=[f"unknown method {method!r}{hint}"])

    def _validate(self, method: str, params: dict, files: dict[str, UploadedFile]) -> dict:
        parsed, problems = self.validator.validate(method, params, files)
        if problems:
            raise ApiError(400, f"Bad Request: {problems[0]}", problems=problems)
        return parsed

    def _dispatch(self, method: str, params: dict) -> object:
        handler = _API_METHODS.get(method)
        if handler is not None:
            return handler(self, method, params)
        if self.validator.methods[method].get("returns") == ["Boolean"]:
            return True  # e.g. sendChatAction, setChatMenuButton: nothing to remember
        raise _bad_request(f"the fake does not implement {method}; add it to tests/telegram_fake.py")

    def _refuse(self, method: str, params: dict, err: ApiError) -> _Reply:
        with self._cond:
            if err.violation:
                self.violations.append(Violation(method, err.description, err.problems,
                                                 dict(params), self.clock()))
            self._log(method, params, err.status, err.description)
        payload = {"ok": False, "error_code": err.status, "description": err.description}
        if err.parameters:
            payload["parameters"] = err.parameters
        return _json_reply(err.status, payload)

    def _log(self, method: str, params: dict, status: int | None, description: str) -> None:
        with self._cond:
            self.request_log.append(RequestRecord(method, params, status, description, self.clock()))
            self._cond.notify_all()

    def _serve_file(self, rest: str) -> _Reply:
        """The download URL PTB builds from base_file_url and getFile's file_path."""
        token, _, file_path = rest.partition("/")
        with self._cond:
            record = next((f for f in self._files.values() if f.file_path == file_path), None)
        if token != self.token or record is None:
            return _json_reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return _Reply(200, record.content, "application/octet-stream")

    # -- violations --------------------------------------------------------------------------

    def pop_violations(self) -> list[Violation]:
        """Take the recorded violations (a test that expected them clears them this way)."""
        with self._cond:
            taken, self.violations = self.violations, []
            return taken

    @contextlib.contextmanager
    def expect_violation(self, match: str = "") -> Iterator[list[Violation]]:
        """Assert that the block causes at least one violation whose description or problems
        contain ``match``, and clear those; other violations stay and fail the test."""
        before = len(self.violations)
        found: list[Violation] = []
        yield found
        with self._cond:
            new = self.violations[before:]
            found.extend(v for v in new if match in v.description or any(match in p for p in v.problems))
            if not found:
                raise AssertionError(f"expected a violation matching {match!r}, got "
                                     f"{[str(v) for v in new] or 'none'}")
            self.violations = [v for v in self.violations if v not in found]

    def violation_report(self) -> str:
        lines = [f"Telegram fake: {len(self.violations)} request(s) Telegram would refuse:"]
        lines += [f"  - {v}" for v in self.violations]
        return "\n".join(lines)

    # -- scripted errors --------------------------------------------------------------------

    def script_error(self, kind: str | int = "429", method: str | None = None, *,
                     chat_id: int | str | None = None, times: int | None = 1,
                     retry_after: int = 3, description: str | None = None) -> ScriptedError:
        """Answer the next ``times`` calls of ``method`` (any method when None) and/or to
        ``chat_id`` with an error instead of the real behaviour (times=None: until cleared).

        kind: "429"/"too_many_requests" (with retry_after), "403"/"blocked" (bot was blocked by
        the user), "400"/"chat_not_found", "drop" (close the socket without answering), or any
        other status code with ``description``.
        """
        if str(kind) in _ERROR_PRESETS:
            status, text = _ERROR_PRESETS[str(kind)]
        else:
            status, text = int(kind), description or "Scripted error"
        entry = ScriptedError(
            status=status,
            description=description or text.format(retry_after=retry_after),
            parameters={"retry_after": retry_after} if status == 429 else None,
            method=method, chat_id=chat_id, remaining=times)
        with self._cond:
            self.scripted.append(entry)
        return entry

    def clear_scripts(self) -> None:
        with self._cond:
            self.scripted.clear()

    def _take_script(self, method: str, params: dict) -> ScriptedError | None:
        for entry in self.scripted:
            if entry.matches(method, params):
                entry.hits += 1
                if entry.remaining is not None:
                    entry.remaining -= 1
                    if entry.remaining <= 0:
                        self.scripted.remove(entry)
                return entry
        return None

    def _scripted_reply(self, entry: ScriptedError, method: str, params: dict) -> _Reply | _Drop:
        self._log(method, params, entry.status, f"scripted: {entry.description}")
        if entry.status is None:
            return DROP
        payload = {"ok": False, "error_code": entry.status, "description": entry.description}
        if entry.parameters:
            payload["parameters"] = entry.parameters
        return _json_reply(entry.status, payload)

    # -- rate limits ------------------------------------------------------------------------

    def _check_rates(self, method: str, params: dict) -> None:
        """Count sends against Telegram's limits; only with ``enforce`` answer 429."""
        limits = self.rate_limits
        if limits is None or not _is_message_send(method):
            return
        now, chat_id = self.clock(), params.get("chat_id")
        overall = self._sends_overall
        overall.append(now)
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        per_chat = self._sends_by_chat[str(chat_id)]
        per_chat.append(now)
        while per_chat and per_chat[0] <= now - 60.0:
            per_chat.popleft()
        last_second = sum(1 for t in per_chat if t > now - 1.0)
        hits = []
        if len(overall) > limits.overall_per_second:
            hits.append(("overall_per_second", len(overall)))
        if last_second > limits.per_chat_per_second:
            hits.append(("per_chat_per_second", last_second))
        if isinstance(chat_id, int) and chat_id < 0 and len(per_chat) > limits.per_group_per_minute:
            hits.append(("per_group_per_minute", len(per_chat)))
        for rule, count in hits:
            self.rate_limit_hits.append(RateLimitHit(now, method, chat_id, rule, count))
        if hits and limits.enforce:
            raise ApiError(429, "Too Many Requests: retry after 1", parameters={"retry_after": 1},
                           violation=False)

    # -- queries and waiting ---------------------------------------------------------------

    def calls_of(self, method: str, **match: object) -> list[Call]:
        """Accepted calls of ``method`` whose params equal every ``match`` value."""
        with self._cond:
            return [c for c in self.calls if c.method == method
                    and all(c.params.get(k) == v for k, v in match.items())]

    def last_call(self, method: str, **match: object) -> Call:
        calls = self.calls_of(method, **match)
        assert calls, f"no accepted {method} call matching {match}"
        return calls[-1]

    def sent_texts(self, chat_id: int | str | None = None) -> list[str]:
        """Texts of accepted sendMessage calls, as the bot sent them (markup included)."""
        match = {} if chat_id is None else {"chat_id": chat_id}
        return [c.params["text"] for c in self.calls_of("sendMessage", **match)]

    def bot_messages(self, chat_id: int) -> list[dict]:
        """The current state (after edits and deletes) of messages the bot sent to a chat."""
        with self._cond:
            return [copy.deepcopy(m) for (cid, _), m in sorted(self._messages.items())
                    if cid == chat_id and m["from"]["id"] == self.bot_id]

    def waiting_polls(self) -> int:
        """getUpdates requests waiting for updates right now (long polls not yet answered)."""
        with self._cond:
            return sum(1 for poll in self.polls if poll.ended is None)

    def pending_update_count(self) -> int:
        """Updates injected but not yet confirmed (getUpdates offset) or delivered (webhook)."""
        with self._cond:
            return len(self._pending) + len([u for u in self._webhook_queue if u is not None])

    def unanswered_callback_queries(self) -> list[str]:
        """Ids of injected callback queries the bot never answered (the user sees a spinner)."""
        with self._cond:
            return [qid for qid, q in self._callback_queries.items() if not q["answered"]]

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0,
                   what: str = "a condition") -> None:
        """Block until ``predicate()`` holds (checked whenever the fake's state changes)."""
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    async def await_until(self, predicate: Callable[[], bool], timeout: float = 5.0,
                          what: str = "a condition") -> None:
        """wait_until without blocking the event loop (the bot may run on the same loop)."""
        await asyncio.to_thread(self.wait_until, predicate, timeout, what)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0,
                       **match: object) -> list[Call]:
        """Block until ``count`` matching calls were accepted; returns all matching calls."""
        self.wait_until(lambda: len(self.calls_of(method, **match)) >= count, timeout,
                        f"{count} {method} call(s) matching {match}")
        return self.calls_of(method, **match)

    async def await_calls(self, method: str, count: int = 1, timeout: float = 5.0,
                          **match: object) -> list[Call]:
        await self.await_until(lambda: len(self.calls_of(method, **match)) >= count, timeout,
                               f"{count} {method} call(s) matching {match}")
        return self.calls_of(method, **match)

    # -- the bot, chats, messages, files ---------------------------------------------------

    def bot_user(self, full: bool = False) -> dict:
        user = {"id": self.bot_id, "is_bot": True, "first_name": self.first_name,
                "username": self.username}
        if full:
            user.update(can_join_groups=True, can_read_all_group_messages=False,
                        supports_inline_queries=False, can_connect_to_business=False,
                        has_main_web_app=False)
        return user

    def add_file(self, kind: str, content: bytes, **extra: object) -> FakeFile:
        """Put a file "on Telegram's servers" so the bot can send it by file_id or getFile it."""
        with self._cond:
            number = next(self._file_numbers)
            extension = {"photo": "jpg", "voice": "oga"}.get(kind, "bin")
            record = FakeFile(file_id=f"fake-{kind}-{number:04d}-AgACAgQAAxkBAAIB",
                              file_unique_id=f"AQAD{number:04d}", kind=kind, content=content,
                              file_path=f"{kind}s/file_{number}.{extension}", extra=dict(extra))
            self._files[record.file_id] = record
            return record

    def _chat_for(self, chat_id: int | str) -> dict:
        """The chat a call addresses: one an update came from, else a plausible new one."""
        if isinstance(chat_id, str):
            username = chat_id.lstrip("@")
            chat = next((c for c in self._chats.values() if c.get("username") == username), None)
        else:
            chat = self._chats.get(chat_id)
        if chat is not None:
            return chat
        if self.known_chats_only:
            raise _bad_request("chat not found")
        return self._remember_chat(_synthetic_chat(chat_id))

    def _remember_chat(self, chat: dict) -> dict:
        self._chats[chat["id"]] = chat
        return chat

    def _store(self, message: dict) -> dict:
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    def _new_message(self, sender: dict, chat: dict, content: dict) -> dict:
        return {"message_id": next(self._message_ids), "from": sender, "chat": chat,
                "date": int(time.time()), **content}

    def _send(self, chat: dict, content: dict, params: dict, extra: dict | None = None) -> dict:
        """A message from the bot, stored so it can be edited, copied or replied to."""
        message = self._new_message(self.bot_user(), chat, content)
        reply_to = self._reply_target(chat, params.get("reply_parameters"))
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram only echoes inline keyboards
        message.update(extra or {})
        return copy.deepcopy(self._store(message))

    def _reply_target(self, chat: dict, reply: dict | None) -> dict | None:
        if not reply:
            return None
        target_chat = self._chat_for(reply["chat_id"]) if "chat_id" in reply else chat
        target = self._messages.get((target_chat["id"], reply["message_id"]))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise _bad_request("message to be replied not found")
        if target is None:
            return None
        return {k: v for k, v in copy.deepcopy(target).items() if k != "reply_to_message"}

    def _formatted(self, params: dict, text_key: str) -> dict:
        """Text or caption plus entities, as Telegram stores them after parsing."""
        entity_key = "entities" if text_key == "text" else f"{text_key}_entities"
        formatted = format_text(params[text_key], params.get("parse_mode"))
        content = {text_key: formatted.text}
        entities = params.get(entity_key) or formatted.entities
        if entities:
            content[entity_key] = entities
        return content

    def _target_message(self, params: dict) -> dict | None:
        """The message an edit/delete addresses (None for inline messages)."""
        if params.get("inline_message_id"):
            return None
        if "chat_id" not in params or "message_id" not in params:
            raise _bad_request("message identifier is not specified")
        chat = self._chat_for(params["chat_id"])
        message = self._messages.get((chat["id"], params["message_id"]))
        if message is None:
            raise _bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: dict, content: dict, markup: dict | None,
                    replaces: tuple[str, ...] = ()) -> dict:
        """Edit like Telegram: ``content`` replaces the ``replaces`` keys, an edit without
        reply_markup removes the inline keyboard, and an edit that changes nothing is refused."""
        edited = {k: v for k, v in message.items() if k not in replaces and k != "reply_markup"}
        edited.update(content)
        if markup and "inline_keyboard" in markup:
            edited["reply_markup"] = markup
        if edited == message:
            raise _bad_request("message is not modified: specified new message content and reply "
                               "markup are exactly the same as a current content and reply "
                               "markup of the message")
        message.clear()
        message.update(edited, edit_date=int(time.time()))
        return copy.deepcopy(message)

    def _media(self, kind: str, value: object) -> object:
        """The media object of a sent file: an upload, an HTTP URL, or a known file_id."""
        if isinstance(value, UploadedFile):
            record = self.add_file(kind, value.data, **_media_extra(kind))
        elif re.match(r"https?://", str(value)):
            record = self.add_file(kind, b"", **_media_extra(kind))
        else:
            record = self._files.get(str(value))
            if record is None:
                raise _bad_request("wrong file identifier/HTTP URL specified")
            if record.kind != kind:
                raise _bad_request(f"can't use file of type {record.kind.title()} as "
                                   f"{kind.title()}")
        return [record.as_object()] if kind == "photo" else record.as_object()

    # -- updates: building -----------------------------------------------------------------

    def _update(self, kind: str, payload: dict) -> dict:
        with self._cond:
            return {"update_id": next(self._update_ids), kind: payload}

    def _user_message(self, content: dict, user: TgUser | None, chat: dict | None) -> dict:
        """A message from a user, stored (so the bot can reply to, copy or forward it)."""
        user = user or TgUser()
        with self._cond:
            chat = self._remember_chat(chat or user.private_chat())
            return copy.deepcopy(self._store(self._new_message(user.to_dict(), chat, content)))

    def build_text(self, text: str, *, user: TgUser | None = None, chat: dict | None = None,
                   entities: list[dict] | None = None) -> dict:
        """An update with a text message (private chat of ``user`` unless ``chat`` is given)."""
        content = {"text": text, **({"entities": entities} if entities else {})}
        return self._update("message", self._user_message(content, user, chat))

    def build_command(self, command: str, args: str = "", *, user: TgUser | None = None,
                      chat: dict | None = None, mention: bool = False) -> dict:
        """"/command args" with the bot_command entity Telegram adds (``mention``: "/cmd@bot")."""
        word = "/" + command.lstrip("/") + (f"@{self.username}" if mention else "")
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(word)}
        return self.build_text(f"{word} {args}" if args else word, user=user, chat=chat,
                               entities=[entity])

    def build_start(self, code: str | None = None, *, user: TgUser | None = None) -> dict:
        """"/start CODE", what a t.me/<bot>?start=CODE deep link sends."""
        return self.build_command("start", code or "", user=user)

    def build_group_message(self, text: str, *, user: TgUser | None = None,
                            chat: dict | None = None) -> dict:
        return self.build_text(text, user=user, chat=chat or group_chat())

    def build_photo(self, *, caption: str | None = None, user: TgUser | None = None,
                    chat: dict | None = None, content: bytes = FAKE_JPEG) -> dict:
        """A photo message with three sizes, each a file the bot can getFile and download."""
        sizes = [self.add_file("photo", content, width=w, height=h).as_object()
                 for w, h in ((90, 90), (320, 320), (1280, 960))]
        message = {"photo": sizes, **({"caption": caption} if caption else {})}
        return self._update("message", self._user_message(message, user, chat))

    def build_voice(self, *, duration: int = 3, user: TgUser | None = None,
                    chat: dict | None = None, content: bytes = FAKE_OGG) -> dict:
        voice = self.add_file("voice", content, duration=duration, mime_type="audio/ogg")
        return self._update("message", self._user_message({"voice": voice.as_object()}, user, chat))

    def build_location(self, latitude: float = 52.0907, longitude: float = 5.1214, *,
                       user: TgUser | None = None, chat: dict | None = None) -> dict:
        location = {"latitude": latitude, "longitude": longitude}
        return self._update("message", self._user_message({"location": location}, user, chat))

    def build_callback_query(self, data: str, *, message_id: int | None = None,
                             user: TgUser | None = None, chat: dict | None = None) -> dict:
        """A button press. The message it belongs to: ``message_id`` in the chat, else the
        bot's last message there, else a new bot message (so edits of it work)."""
        user = user or TgUser()
        with self._cond:
            chat = self._remember_chat(chat or user.private_chat())
            message = self._callback_message(chat, message_id)
            query_id = str(next(self._query_ids))
            self._callback_queries[query_id] = {"answered": False, "answer": None}
        query = {"id": query_id, "from": user.to_dict(), "message": message,
                 "chat_instance": str(abs(chat["id"]) * 7919), "data": data}
        return self._update("callback_query", query)

    def _callback_message(self, chat: dict, message_id: int | None) -> dict:
        if message_id is not None:
            message = self._messages.get((chat["id"], message_id))
            if message is None:
                raise ValueError(f"no message {message_id} in chat {chat['id']}")
        else:
            ours = [m for (cid, _), m in sorted(self._messages.items())
                    if cid == chat["id"] and m["from"]["id"] == self.bot_id]
            message = ours[-1] if ours else self._store(
                self._new_message(self.bot_user(), chat, {"text": "Kies een optie"}))
        return copy.deepcopy(message)

    # -- updates: delivering ---------------------------------------------------------------

    def push_update(self, update: dict) -> dict:
        """Deliver an update: to the getUpdates queue, or (webhook set) to the webhook URL."""
        with self._cond:
            if self.webhook.url:
                self._webhook_queue.append(update)
            else:
                self._pending.append(update)
            self._cond.notify_all()
        return update

    def inject_update(self, update: dict) -> dict:
        return self.push_update(update)

    def inject_text(self, text: str, **kwargs: object) -> dict:
        return self.push_update(self.build_text(text, **kwargs))

    def inject_command(self, command: str, args: str = "", **kwargs: object) -> dict:
        return self.push_update(self.build_command(command, args, **kwargs))

    def inject_start(self, code: str | None = None, **kwargs: object) -> dict:
        return self.push_update(self.build_start(code, **kwargs))

    def inject_group_message(self, text: str, **kwargs: object) -> dict:
        return self.push_update(self.build_group_message(text, **kwargs))

    def inject_photo(self, **kwargs: object) -> dict:
        return self.push_update(self.build_photo(**kwargs))

    def inject_voice(self, **kwargs: object) -> dict:
        return self.push_update(self.build_voice(**kwargs))

    def inject_location(self, latitude: float = 52.0907, longitude: float = 5.1214,
                        **kwargs: object) -> dict:
        return self.push_update(self.build_location(latitude, longitude, **kwargs))

    def inject_callback_query(self, data: str, **kwargs: object) -> dict:
        return self.push_update(self.build_callback_query(data, **kwargs))

    def _deliverable_updates(self, limit: int) -> list[dict]:
        """Pending updates the bot asked for; others are dropped, as Telegram never makes them."""
        allowed = set(self._allowed_updates or ()) or None
        keep = []
        for update in self._pending:
            kind = next(k for k in update if k != "update_id")
            if (kind in allowed) if allowed else (kind not in _OPT_IN_UPDATES):
                keep.append(update)
        self._pending = keep
        return copy.deepcopy(keep[:limit])

    def _confirm_updates(self, offset: int | None) -> None:
        """getUpdates' offset confirms every update before it (negative: keep the last -n)."""
        if offset is None:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    # -- webhook delivery ------------------------------------------------------------------

    def _webhook_request(self, url: str | None, secret: str | None) -> tuple[str, dict]:
        url = url or self.webhook.url
        if not url:
            raise ValueError("no webhook registered (the bot has not called setWebhook)")
        if secret == USE_REGISTERED_SECRET:
            secret = self.webhook.secret_token
        return url, ({SECRET_HEADER: secret} if secret is not None else {})

    def post_webhook(self, update: dict, *, secret: str | None = USE_REGISTERED_SECRET,
                     url: str | None = None, timeout: float = 10.0) -> int:
        """POST one update to the webhook now, like Telegram; returns the HTTP status.
        secret: the registered one by default, None for no header, or any wrong value."""
        url, headers = self._webhook_request(url, secret)
        with httpx.Client(timeout=timeout) as client:
            response = client.post(url, json=update, headers=headers)
        self._record_delivery(update, url, headers, response.status_code)
        return response.status_code

    async def apost_webhook(self, update: dict, *, secret: str | None = USE_REGISTERED_SECRET,
                            url: str | None = None, timeout: float = 10.0) -> int:
        """post_webhook for async tests whose app runs on the test's own event loop."""
        url, headers = self._webhook_request(url, secret)
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=update, headers=headers)
        self._record_delivery(update, url, headers, response.status_code)
        return response.status_code

    def _record_delivery(self, update: dict, url: str, headers: dict, status: int | None,
                         error: str | None = None) -> None:
        with self._cond:
            self.webhook_deliveries.append(WebhookDelivery(
                update["update_id"], url, headers.get(SECRET_HEADER), status, error))
            self._cond.notify_all()

    def _webhook_worker(self) -> None:
        """Telegram delivers webhook updates one by one, in order: so does this thread."""
        with httpx.Client(timeout=10.0) as client:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._webhook_queue)
                    update = self._webhook_queue.pop(0)
                    if update is None:
                        return
                    if not self.webhook.url:  # webhook deleted meanwhile: back to getUpdates
                        self._pending.append(update)
                        continue
                    url, headers = self._webhook_request(None, USE_REGISTERED_SECRET)
                    allowed = self.webhook.allowed_updates
                if allowed and not set(update) & set(allowed):
                    continue
                try:
                    status = client.post(url, json=update, headers=headers).status_code
                    self._record_delivery(update, url, headers, status)
                except httpx.HTTPError as exc:
                    self._record_delivery(update, url, headers, None, f"{type(exc).__name__}: {exc}")

    def wait_for_deliveries(self, count: int = 1, timeout: float = 5.0) -> list[WebhookDelivery]:
        self.wait_until(lambda: len(self.webhook_deliveries) >= count, timeout,
                        f"{count} webhook deliveries")
        return list(self.webhook_deliveries)

    async def await_deliveries(self, count: int = 1, timeout: float = 5.0) -> list[WebhookDelivery]:
        return await asyncio.to_thread(self.wait_for_deliveries, count, timeout)

    def commands_for(self, language_code: str = "", scope: dict | None = None) -> list[dict]:
        return self.commands.get(_commands_key({"language_code": language_code, "scope": scope}), [])


def _synthetic_chat(chat_id: int | str) -> dict:
    if isinstance(chat_id, str):
        name = chat_id.lstrip("@")
        return {"id": -1000000000000 - zlib.crc32(name.encode()) % 10**9, "type": "channel", "title": name,
                "username": name}
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}


def _media_extra(kind: str) -> dict:
    return {"photo": {"width": 1280, "height": 960},
            "voice": {"duration": 3, "mime_type": "audio/ogg"}}.get(kind, {})


def _commands_key(params: dict) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    return json.dumps(scope, sort_keys=True), params.get("language_code") or ""


# --------------------------------------------------------------------------------------------
# Method behaviour
# --------------------------------------------------------------------------------------------

@_api("getMe")
def _get_me(fake: TelegramFake, method: str, p: dict) -> dict:
    return fake.bot_user(full=True)


@_api("getUpdates")
def _get_updates(fake: TelegramFake, method: str, p: dict) -> list[dict]:
    """Long polling: wait on the condition (no busy loop) until updates come or timeout ends.
    A newer getUpdates supersedes a waiting one, which gets Telegram's 409 (PTB cancels its
    long poll on stop and polls once more, so the old one's client is usually gone)."""
    if fake.webhook.url:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    if "allowed_updates" in p:
        fake._allowed_updates = p["allowed_updates"] or None
    fake._confirm_updates(p.get("offset"))
    fake._poll_generation += 1
    generation = fake._poll_generation
    poll = PollRecord(max(0, p.get("timeout", 0)), fake.clock())
    fake.polls.append(poll)
    fake._cond.notify_all()  # a superseded poll ends; a test waiting for this one sees it
    deadline = poll.started + poll.timeout
    while True:
        if fake._poll_generation != generation:
            poll.ended, poll.ended_by = fake.clock(), "superseded"
            raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                "that only one bot instance is running", violation=False)
        batch = fake._deliverable_updates(p.get("limit", 100))
        remaining = deadline - fake.clock()
        if batch or remaining <= 0 or fake._stopping:
            poll.ended = fake.clock()
            poll.ended_by = "updates" if batch else "stopping" if fake._stopping and remaining > 0 else "timeout"
            return batch
        fake._cond.wait(remaining)


@_api("setWebhook")
def _set_webhook(fake: TelegramFake, method: str, p: dict) -> bool:
    if p["url"] == "":
        return _delete_webhook(fake, "deleteWebhook", p)
    url = urlsplit(p["url"])
    schemes = ("https",) if fake.require_https_webhook else ("http", "https")
    if url.scheme not in schemes or not url.hostname:
        raise _bad_request("bad webhook: HTTPS url must be provided for webhook")
    secret = p.get("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise _bad_request("secret token contains unallowed characters")
    fake.webhook = WebhookConfig(p["url"], secret, p.get("allowed_updates"),
                                 p.get("max_connections", 40), p.get("ip_address"))
    if p.get("drop_pending_updates"):
        fake._pending.clear()
    fake._webhook_queue.extend(fake._pending)  # Telegram now delivers what was waiting
    fake._pending.clear()
    fake._cond.notify_all()
    return True


@_api("deleteWebhook")
def _delete_webhook(fake: TelegramFake, method: str, p: dict) -> bool:
    fake.webhook = WebhookConfig()
    if p.get("drop_pending_updates"):
        fake._pending.clear()
    return True


@_api("getWebhookInfo")
def _get_webhook_info(fake: TelegramFake, method: str, p: dict) -> dict:
    info = {"url": fake.webhook.url, "has_custom_certificate": False,
            "pending_update_count": fake.pending_update_count()}
    if fake.webhook.url:
        info["max_connections"] = fake.webhook.max_connections
        if fake.webhook.allowed_updates:
            info["allowed_updates"] = fake.webhook.allowed_updates
        if fake.webhook.ip_address:
            info["ip_address"] = fake.webhook.ip_address
    failed = [d for d in fake.webhook_deliveries if d.status is None or d.status >= 300]
    if failed:
        info["last_error_date"] = int(time.time())
        info["last_error_message"] = failed[-1].error or f"Wrong response from the webhook: {failed[-1].status}"
    return info


@_api("sendMessage")
def _send_message(fake: TelegramFake, method: str, p: dict) -> dict:
    return fake._send(fake._chat_for(p["chat_id"]), fake._formatted(p, "text"), p)


@_api(*_MEDIA_METHODS)
def _send_media(fake: TelegramFake, method: str, p: dict) -> dict:
    kind = _MEDIA_METHODS[method]
    chat = fake._chat_for(p["chat_id"])
    content = {kind: fake._media(kind, p[kind])}
    if p.get("caption"):
        content.update(fake._formatted(p, "caption"))
    return fake._send(chat, content, p)


@_api("editMessageText")
def _edit_message_text(fake: TelegramFake, method: str, p: dict) -> dict | bool:
    if "text" not in p and "rich_message" not in p:
        raise _bad_request("text is empty (pass text or rich_message)")
    message = fake._target_message(p)
    if message is None:
        return True  # inline message: Telegram answers True
    if "text" not in p:
        return fake._apply_edit(message, {}, p.get("reply_markup"))
    return fake._apply_edit(message, fake._formatted(p, "text"), p.get("reply_markup"),
                            replaces=("text", "entities"))


@_api("editMessageCaption")
def _edit_message_caption(fake: TelegramFake, method: str, p: dict) -> dict | bool:
    message = fake._target_message(p)
    if message is None:
        return True
    content = fake._formatted(p, "caption") if p.get("caption") else {}
    return fake._apply_edit(message, content, p.get("reply_markup"),
                            replaces=("caption", "caption_entities"))


@_api("editMessageReplyMarkup")
def _edit_message_reply_markup(fake: TelegramFake, method: str, p: dict) -> dict | bool:
    message = fake._target_message(p)
    if message is None:
        return True
    return fake._apply_edit(message, {}, p.get("reply_markup"))


@_api("deleteMessage")
def _delete_message(fake: TelegramFake, method: str, p: dict) -> bool:
    chat = fake._chat_for(p["chat_id"])
    if fake._messages.pop((chat["id"], p["message_id"]), None) is None:
        raise _bad_request("message to delete not found")
    return True


@_api("answerCallbackQuery")
def _answer_callback_query(fake: TelegramFake, method: str, p: dict) -> bool:
    query = fake._callback_queries.get(p["callback_query_id"])
    if query is None or query["answered"]:
        raise _bad_request("query is too old and response timeout expired or query ID is invalid")
    query.update(answered=True, answer=p)
    return True


@_api("setMyCommands")
def _set_my_commands(fake: TelegramFake, method: str, p: dict) -> bool:
    if len(p["commands"]) > 100:
        raise _bad_request("too many commands (at most 100)")
    fake.commands[_commands_key(p)] = p["commands"]
    return True


@_api("getMyCommands")
def _get_my_commands(fake: TelegramFake, method: str, p: dict) -> list[dict]:
    return copy.deepcopy(fake.commands.get(_commands_key(p), []))


@_api("deleteMyCommands")
def _delete_my_commands(fake: TelegramFake, method: str, p: dict) -> bool:
    fake.commands.pop(_commands_key(p), None)
    return True


@_api("setMyDescription", "setMyShortDescription")
def _set_description(fake: TelegramFake, method: str, p: dict) -> bool:
    key = "description" if method == "setMyDescription" else "short_description"
    store = fake.descriptions if key == "description" else fake.short_descriptions
    store[p.get("language_code") or ""] = p.get(key, "")
    return True


@_api("getMyDescription", "getMyShortDescription")
def _get_description(fake: TelegramFake, method: str, p: dict) -> dict:
    key = "description" if method == "getMyDescription" else "short_description"
    store = fake.descriptions if key == "description" else fake.short_descriptions
    language = p.get("language_code") or ""
    return {key: store.get(language, store.get("", ""))}


@_api("copyMessage", "forwardMessage")
def _copy_or_forward(fake: TelegramFake, method: str, p: dict) -> dict:
    source_chat = fake._chat_for(p["from_chat_id"])
    source = fake._messages.get((source_chat["id"], p["message_id"]))
    verb = "copy" if method == "copyMessage" else "forward"
    if source is None:
        raise _bad_request(f"message to {verb} not found")
    content = copy.deepcopy({k: v for k, v in source.items() if k in _CONTENT_KEYS})
    chat = fake._chat_for(p["chat_id"])
    if verb == "forward":
        origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        return fake._send(chat, content, p, extra={"forward_origin": origin})
    if "caption" in p:
        content.pop("caption_entities", None)
        content.update(fake._formatted(p, "caption") if p["caption"] else {})
    return {"message_id": fake._send(chat, content, p)["message_id"]}


@_api("getFile")
def _get_file(fake: TelegramFake, method: str, p: dict) -> dict:
    record = fake._files.get(p["file_id"])
    if record is None:
        raise _bad_request("invalid file_id")
    return {"file_id": record.file_id, "file_unique_id": record.file_unique_id,
            "file_size": len(record.content), "file_path": record.file_path}


# --------------------------------------------------------------------------------------------
# Serving a small ASGI app for webhook tests, and the pytest fixture
# --------------------------------------------------------------------------------------------

@contextlib.contextmanager
def serve_asgi_app(app: object, host: str = "127.0.0.1") -> Iterator[str]:
    """Run an ASGI app (our Starlette web app) with uvicorn in a thread on a free port, so the
    fake's webhook POSTs reach it over real HTTP; yields its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="asgi-test-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:  # uvicorn offers no event to wait on
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the ASGI app did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def fail_on_violations(fake: TelegramFake) -> None:
    """What the fixture does at teardown: a violation left over fails the test."""
    if fake.violations:
        pytest.fail(fake.violation_report(), pytrace=False)


@pytest.fixture
def telegram_fake() -> Iterator[TelegramFake]:
    """A started TelegramFake; fails the test at teardown if a violation is left over."""
    fake = TelegramFake().start()
    try:
        yield fake
    finally:
        fake.stop()
    fail_on_violations(fake)
