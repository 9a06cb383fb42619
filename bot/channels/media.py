"""Photos and voice notes across channels.

A medium is stored as a reference to where it lives, never as bytes: ``telegram:<kind>:<file_id>``
or ``twilio:<kind>:<content type>:<MediaUrl>`` (older rows: ``twilio:<kind>:<MediaUrl>``).
Delivering it elsewhere means fetching it from there at send time:

- to Telegram, a Telegram file id passes through; a Twilio MediaUrl is fetched with the
  account's credentials (Twilio enforces HTTP basic auth on media URLs and redirects to a
  signed storage URL, which must not get the credentials) and uploaded. Only a MediaUrl on
  Twilio's API host (``Media.twilio_media_base``) is fetched: a reference naming any other host
  or scheme would get the account's credentials, so it is left out as a lost medium is.
- to WhatsApp, Twilio needs a public URL it can fetch itself -- also for its own MediaUrls,
  which need those credentials. So every medium is served at ``PUBLIC_BASE_URL/media/<token>``:
  the token is signed (HMAC, unforgeable without the secret), names the outbox row and the
  medium's position in it and expires after ``LINK_TTL``. The bytes are fetched from the
  origin when the link is opened and never stored here. A link dies with its row's media:
  ``/delete`` empties them, and the link answers 404 from then on.
- to SMS, which carries no media here (no MMS in Belgium), the same links go as lines of text
  ("Photo: https://..."), living a few days.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import mimetypes
import struct
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InputFile
from telegram.error import BadRequest, NetworkError, TelegramError

from handlers.i18n import N_, _, speaking
from models import Outbox
from models.db import transaction

log = logging.getLogger("buurtbot.media")
ROUTE = "/media/{token}"
LINK_TTL = 3600  # seconds a link lives: Twilio fetches a medium when it sends the message
SMS_LINK_TTL = 3 * 24 * 3600  # an SMS carries no media (no MMS in Belgium): a link to open, for days
LINK_LINES = {"photo": N_("Photo: {link}"), "voice": N_("Voice message: {link}"),
              "audio": N_("Voice message: {link}")}
OTHER_LINK_LINE = N_("Attachment: {link}")
MAX_BYTES = 16 * 1024 * 1024  # WhatsApp's limit; Telegram downloads stop at 20 MB
TWILIO_MEDIA_BASE = "https://api.twilio.com"  # where Twilio's MediaUrls live; the only place given credentials
TELEGRAM_TYPES = {"photo": "image/jpeg", "voice": "audio/ogg", "audio": "audio/mpeg"}
_TOKEN = struct.Struct(">QBI")  # outbox id, position, expiry (unix seconds)
_MAC = 16


@dataclass(frozen=True)
class MediaRef:
    origin: str  # "telegram" or "twilio"
    kind: str  # photo, voice, audio or file
    locator: str  # a Telegram file id, or a Twilio MediaUrl
    content_type: str | None = None


@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str
    filename: str


class MediaUnavailable(Exception):
    """The origin did not give the medium. ``lasting``: it never will (gone, refused)."""

    def __init__(self, reason: str, lasting: bool) -> None:
        super().__init__(reason)
        self.lasting = lasting


def parse(ref: str) -> MediaRef | None:
    """The reference, or None for what is not a medium (a shared location) or unknown."""
    origin, _, rest = ref.partition(":")
    kind, _, locator = rest.partition(":")
    if origin == "telegram" and kind and locator:
        return MediaRef(origin, kind, locator, TELEGRAM_TYPES.get(kind))
    if origin == "twilio" and kind and locator:
        if locator.startswith(("https://", "http://")):
            return MediaRef(origin, kind, locator)
        content_type, _, url = locator.partition(":")
        if url.startswith(("https://", "http://")):
            return MediaRef(origin, kind, url, content_type or None)
    return None


def twilio_ref(url: str, content_type: str) -> str:
    """The reference for a medium that came in through Twilio (MediaUrlN, MediaContentTypeN)."""
    major = content_type.split("/", 1)[0]
    kind = {"audio": "voice", "image": "photo"}.get(major, "file")
    return f"twilio:{kind}:{content_type.split(';', 1)[0].strip()}:{url}"


def media_refs(row_media) -> list[tuple[int, MediaRef]]:
    """(position in the row's list, reference) of each medium of an outbox row."""
    return [(i, ref) for i, ref in enumerate((parse(m) if isinstance(m, str) else None) for m in row_media or [])
            if ref is not None]


def telegram_method(content_type: str) -> str:
    """Which Telegram send method shows this medium best (voice notes as voice notes)."""
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct in ("image/jpeg", "image/png"):
        return "photo"
    if ct in ("audio/ogg", "audio/opus"):
        return "voice"
    if ct in ("audio/mpeg", "audio/mp3", "audio/mp4", "audio/m4a", "audio/x-m4a"):
        return "audio"
    if ct == "video/mp4":
        return "video"
    return "document"


class Media:
    """Fetches media from their origin and signs and serves the links Twilio fetches."""

    def __init__(self, secret: bytes, public_base_url: str | None = None, telegram_bot=None,
                 twilio_auth: tuple[str, str] | None = None, clock=time.time, ttl: int = LINK_TTL,
                 transport: httpx.AsyncBaseTransport | None = None,
                 twilio_media_base: str = TWILIO_MEDIA_BASE) -> None:
        self.secret, self.base = secret, (public_base_url or "").rstrip("/")
        self.telegram_bot, self.twilio_auth = telegram_bot, twilio_auth
        self.clock, self.ttl, self.transport = clock, ttl, transport
        self.twilio_media_base = twilio_media_base  # tests point it at their own fake media host

    def twilio_may_fetch(self, url: str) -> bool:
        """Only Twilio's own media host (scheme, host and port alike) gets the account's credentials."""
        want, got = urlsplit(self.twilio_media_base), urlsplit(url)
        return (got.scheme.lower(), got.netloc.lower()) == (want.scheme.lower(), want.netloc.lower()) \
            and not got.username and got.path.startswith(want.path.rstrip("/") + "/")

    @classmethod
    def from_settings(cls, settings, telegram_bot=None) -> "Media":
        """The link secret is derived from the channel secrets, so every instance agrees."""
        seed = f"buurtbot-media:{settings.twilio_auth_token or ''}:{settings.telegram_bot_token or ''}"
        twilio_auth = (settings.twilio_account_sid, settings.twilio_auth_token) \
            if settings.twilio_account_sid and settings.twilio_auth_token else None
        return cls(hashlib.sha256(seed.encode()).digest(), settings.public_base_url, telegram_bot, twilio_auth)

    # ---- links ---------------------------------------------------------------------------------
    def token(self, outbox_id: int, position: int, ttl: int | None = None) -> str:
        payload = _TOKEN.pack(outbox_id, position, int(self.clock()) + (ttl or self.ttl))
        mac = hmac.new(self.secret, payload, hashlib.sha256).digest()[:_MAC]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def verify(self, token: str) -> tuple[int, int] | None:
        """(outbox id, position) for a genuine token that has not expired, else None."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            return None
        if len(raw) != _TOKEN.size + _MAC or base64.urlsafe_b64encode(raw).decode().rstrip("=") != token:
            return None  # one spelling a token: the last character's spare bits may not vary
        payload, mac = raw[:_TOKEN.size], raw[_TOKEN.size:]
        if not hmac.compare_digest(mac, hmac.new(self.secret, payload, hashlib.sha256).digest()[:_MAC]):
            return None
        outbox_id, position, expires = _TOKEN.unpack(payload)
        return (outbox_id, position) if expires >= self.clock() else None

    def links(self, row: Outbox, ttl: int | None = None) -> list[str]:
        """A public URL for each medium of the row, in order."""
        return [f"{self.base}/media/{self.token(row.id, i, ttl)}" for i, _ref in media_refs(row.media)]

    def text_with_links(self, row: Outbox) -> str:
        """The row's text with a line and a link for each medium: for SMS, which carries none."""
        refs = media_refs(row.media)
        if not refs:
            return row.text
        with speaking(row.language):
            lines = [_(LINK_LINES.get(ref.kind, OTHER_LINK_LINE),
                       link=f"{self.base}/media/{self.token(row.id, i, SMS_LINK_TTL)}") for i, ref in refs]
        return "\n".join([row.text, *lines])

    # ---- fetching ------------------------------------------------------------------------------
    async def fetch(self, ref: MediaRef) -> Fetched:
        if ref.origin == "telegram":
            return await self._from_telegram(ref)
        return await self._from_twilio(ref)

    async def _from_telegram(self, ref: MediaRef) -> Fetched:
        if self.telegram_bot is None:
            raise MediaUnavailable("telegram is not configured", lasting=True)
        try:
            file = await self.telegram_bot.get_file(ref.locator)
            content = bytes(await file.download_as_bytearray())
        except BadRequest as exc:
            raise MediaUnavailable(f"telegram: {exc.message}", lasting=True) from exc
        except TelegramError as exc:
            raise MediaUnavailable(f"telegram: {type(exc).__name__}", lasting=False) from exc
        name = (file.file_path or "").rsplit("/", 1)[-1] or f"{ref.kind}.bin"
        content_type = ref.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ref.kind == "audio":
            content_type = mimetypes.guess_type(name)[0] or content_type
        return Fetched(content, content_type, name)

    async def _from_twilio(self, ref: MediaRef) -> Fetched:
        if self.twilio_auth is None:
            raise MediaUnavailable("twilio is not configured", lasting=True)
        if not self.twilio_may_fetch(ref.locator):
            raise MediaUnavailable("twilio media: not on Twilio's media host", lasting=True)
        # httpx drops the Authorization header when a redirect leaves the origin (the signed
        # storage URL Twilio redirects to refuses a second credential).
        async with httpx.AsyncClient(auth=self.twilio_auth, follow_redirects=True, timeout=30,
                                     transport=self.transport) as http:
            try:
                async with http.stream("GET", ref.locator) as answer:
                    content = await _read_capped(answer)
            except httpx.HTTPError as exc:
                raise MediaUnavailable(f"twilio media: {type(exc).__name__}", lasting=False) from exc
        content_type = (answer.headers.get("content-type") or ref.content_type or "application/octet-stream")
        content_type = content_type.split(";", 1)[0].strip()
        extension = mimetypes.guess_extension(content_type) or ".bin"
        return Fetched(content, content_type, f"{ref.kind}{extension}")

    # ---- serving -------------------------------------------------------------------------------
    def routes(self, sessions) -> list[Route]:
        async def serve(request: Request) -> Response:
            found = self.verify(request.path_params["token"])
            if found is None:
                return Response("not found", status_code=404, media_type="text/plain")

            def read() -> MediaRef | None:
                with transaction(sessions) as session:
                    row = session.get(Outbox, found[0])
                    return dict(media_refs(row.media)).get(found[1]) if row is not None else None

            ref = await run_in_threadpool(read)
            if ref is None:  # erased (/delete) or never there
                return Response("not found", status_code=404, media_type="text/plain")
            try:
                fetched = await self.fetch(ref)
            except MediaUnavailable as exc:
                log.warning("medium of outbox %s not served: %s", found[0], exc)
                return Response("unavailable", status_code=404 if exc.lasting else 503, media_type="text/plain")
            return Response(fetched.content, media_type=fetched.content_type,
                            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
                                     "Content-Disposition": f'inline; filename="{fetched.filename}"'})

        return [Route(ROUTE, serve, methods=["GET", "HEAD"])]


def wire(settings, telegram=None, twilio=None) -> Media:
    """One Media for the process, given to the senders that deliver media."""
    media = Media.from_settings(settings, telegram.app.bot if telegram is not None else None)
    if telegram is not None:
        telegram.sender.media = media
    for sender in (twilio.senders.values() if twilio is not None else ()):
        sender.media = media
    return media


async def _read_capped(answer: httpx.Response) -> bytes:
    """The body of a 200 answer, read as it comes and given up past MAX_BYTES."""
    if answer.status_code >= 500 or answer.status_code == 429:
        raise MediaUnavailable(f"twilio media: HTTP {answer.status_code}", lasting=False)
    if answer.status_code != 200:
        raise MediaUnavailable(f"twilio media: HTTP {answer.status_code}", lasting=True)
    chunks, size = [], 0
    async for chunk in answer.aiter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise MediaUnavailable("twilio media: too large", lasting=True)
        chunks.append(chunk)
    return b"".join(chunks)


# ---- the senders' hooks ------------------------------------------------------------------------
async def send_to_telegram(bot, chat_id: int, row_media, caption: str | None, media: Media | None,
                           pace=None) -> int:
    """Send every medium of a row to a Telegram chat, the caption on the first; returns how
    many went. All are fetched before the first is sent, so a retry never sends one twice.
    A medium that cannot be had any more is left out; a passing failure raises NetworkError
    (the sender retries the row). ``pace``: awaited before each medium after the first (each
    is a message of its own to Telegram's limits)."""
    ready: list[tuple[str, object]] = []
    for _pos, ref in media_refs(row_media):
        if ref.origin == "telegram":
            ready.append(({"photo": "photo", "voice": "voice", "audio": "audio"}.get(ref.kind, "document"),
                          ref.locator))
            continue
        if media is None:
            continue
        try:
            fetched = await media.fetch(ref)
        except MediaUnavailable as exc:
            if not exc.lasting:
                raise NetworkError(f"media: {exc}") from exc
            log.warning("a medium was left out: %s", exc)
            continue
        ready.append((telegram_method(fetched.content_type),
                      InputFile(fetched.content, filename=fetched.filename)))
    for i, (method, file) in enumerate(ready):
        if i and pace is not None:
            await pace()
        send = getattr(bot, f"send_{method}")
        first = caption if i == 0 and caption else None
        await send(chat_id, file, caption=first, parse_mode="HTML" if first else None)
    return len(ready)
