"""The ASGI app shared by every channel: health, and the demo chat with its JSON API."""
from __future__ import annotations

import json
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Route

from bot import demo
from bot.runtime import Runtime
from handlers.core import Inbound
from models.db import transaction

STATIC = Path(__file__).with_name("static")
MAX_BODY = 200_000


def create_app(rt: Runtime, start_scheduler: bool = True) -> Starlette:
    @asynccontextmanager
    async def lifespan(app):
        if start_scheduler:
            rt.ticks.start()
        channels = [c for c in (rt.telegram, rt.twilio, rt.voice) if c is not None]
        for channel in channels:
            await channel.start()
        try:
            yield
        finally:
            for channel in channels:
                await channel.stop()
            rt.ticks.shutdown()

    async def healthz(request: Request) -> JSONResponse:
        def probe() -> bool:
            try:
                with rt.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001
                return False

        db_ok = await run_in_threadpool(probe)
        sched = await run_in_threadpool(rt.ticks.health)  # last sweep and overdue rows: a few indexed counts
        ok = db_ok and (sched["running"] or not start_scheduler)
        return JSONResponse({"status": "ok" if ok else "degraded", "database": "ok" if db_ok else "down",
                             "scheduler": sched, "channels": rt.settings.channels + (["demo"] if rt.demo else []),
                             **({"telegram": rt.telegram.health()} if rt.telegram is not None else {}),
                             **({"twilio": rt.twilio.health()} if rt.twilio is not None else {}),
                             **({"voice": rt.voice.health()} if rt.voice is not None else {})},
                            status_code=200 if ok else 503)

    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC / "demo.html", media_type="text/html; charset=utf-8")

    async def favicon(request: Request) -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    async def page_text(request: Request) -> JSONResponse:
        """The demo page's own words, from the catalogs, in the language the page asks for."""
        wanted = request.query_params.get("lang", "")[:200]

        def read():
            with transaction(rt.sessions) as session:
                return demo.page_text(session, wanted)

        return JSONResponse(await run_in_threadpool(read))

    async def post_message(request: Request) -> JSONResponse:
        body = b""
        async for chunk in request.stream():  # stop reading at the limit, never hold more
            body += chunk
            if len(body) > MAX_BODY:
                return JSONResponse({"error": "message too large"}, status_code=413)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return JSONResponse({"error": "body must be JSON"}, status_code=400)
        persona = data.get("from") if isinstance(data, dict) else None
        text_, payload = (data.get("text"), data.get("payload")) if isinstance(data, dict) else (None, None)
        if not isinstance(persona, str) or not persona.strip() or len(persona) > 64 or "/" in persona:
            # No "/": the name is a path segment of the persona's inbox URL.
            return JSONResponse({"error": "'from' must be a persona name of 1-64 characters, without '/'"},
                                status_code=400)
        if (text_ is None) == (payload is None) or not isinstance(text_ or payload, str):
            return JSONResponse({"error": "send either 'text' or 'payload' as a string"}, status_code=400)
        inbound = Inbound(channel=demo.CHANNEL, address=persona.strip(), text=text_ or "", payload=payload,
                          locale_hint=data.get("locale") if isinstance(data.get("locale"), str) else None)
        result = await run_in_threadpool(rt.dispatcher.handle, inbound)
        return JSONResponse({"result": result}, status_code=202)

    async def get_inbox(request: Request) -> JSONResponse:
        persona = request.path_params["persona"]
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            return JSONResponse({"error": "'after' must be a number"}, status_code=400)

        def read():
            with transaction(rt.sessions) as session:
                return demo.inbox(session, persona, after)

        return JSONResponse(await run_in_threadpool(read))

    routes = [Route("/healthz", healthz), Route("/favicon.ico", favicon), Route("/favicon.svg", favicon)]
    if rt.demo:
        routes += [Route("/", page), Route("/api/demo/page", page_text),
                   Route("/api/demo/messages", post_message, methods=["POST"]),
                   Route("/api/demo/inbox/{persona}", get_inbox)]
    if rt.telegram is not None and rt.telegram.webhook:
        from bot.channels.telegram.app import WEBHOOK_PATH

        routes.append(Route(WEBHOOK_PATH, rt.telegram.webhook_route, methods=["POST"]))
    if rt.twilio is not None:
        routes += rt.twilio.routes()
        if rt.media is not None:  # Twilio fetches the media it delivers from these links
            routes += rt.media.routes(rt.sessions)
    if rt.voice is not None:
        routes += rt.voice.routes()
    return Starlette(routes=routes, lifespan=lifespan)
