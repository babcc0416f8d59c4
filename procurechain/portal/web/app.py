"""The portal's web application: read-only, no cookies, strict security headers.

:func:`create_app` wires the pages (:mod:`.pages`), the downloads and API (:mod:`.api`) and
the static files to one index database. Only GET and HEAD are answered; anything else is
405. Every response carries a Content-Security-Policy that allows nothing but the portal's
own script, styles and images, so even a string that escaped escaping could not run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from procurechain.portal.web import present
from procurechain.portal.web.api import Api
from procurechain.portal.web.cache import BlockCache
from procurechain.portal.web.flagdefs import FlagDefinition, load_definitions
from procurechain.portal.web.pages import Pages
from procurechain.portal.web.queries import Queries

__all__ = ["CSP", "SECURITY_HEADERS", "create_app", "templates_env"]

HERE = Path(__file__).resolve().parent
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
_METHODS = ("GET", "HEAD")


class ReadOnly:
    """ASGI middleware: 405 for any method but GET and HEAD, and the security headers on
    every response (errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"set-cookie"
                ]
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                message["headers"] = headers
            await send(message)

        if scope["method"] not in _METHODS:
            answer = PlainTextResponse(
                "This portal is read-only: only GET and HEAD.\n",
                status_code=405,
                headers={"Allow": "GET, HEAD"},
            )
            await answer(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


class Portal(Starlette):
    """Starlette with :class:`ReadOnly` outermost, so even a 500 answer has the headers."""

    block: Callable[[], int | None] = staticmethod(lambda: None)

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, its answers kept per block (:class:`.cache.BlockCache`), wrapped
        in :class:`ReadOnly`."""
        self.cache = BlockCache(super().build_middleware_stack(), self.block)
        return ReadOnly(self.cache)


def templates_env() -> Environment:
    """The Jinja environment: autoescape on for every template, undefined names an error."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cap"] = present.cap
    env.filters["chain"] = present.chain_text
    env.filters["short"] = present.short
    env.globals["link_of"] = present.link_of
    return env


def create_app(
    engine: Engine,
    *,
    definitions: Mapping[str, FlagDefinition] | None = None,
    poll_ms: int = 5_000,
    base_url: str | None = None,
    publisher_name: str = "procurechain",
) -> Starlette:
    """The portal over the index in ``engine`` (read only).

    Args:
        engine: the index database (tables of :mod:`procurechain.portal.index.tables`).
        definitions: red-flag definitions by code (default: the flags engine's, if any).
        poll_ms: how often a page asks whether a new block was indexed (live updates).
        base_url: where the portal is served, for OCDS package URIs (default: each
            request's own base URL).
        publisher_name: the OCDS packages' publisher name.
    """
    queries = Queries(engine)
    templates = Jinja2Templates(env=templates_env())
    defs = dict(definitions) if definitions is not None else load_definitions()
    pages = Pages(queries, templates, defs, poll_ms)
    api = Api(queries, base_url=base_url, publisher_name=publisher_name)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "Something went wrong."
        if request.url.path.startswith(("/api/", "/ocds/")) or request.url.path.endswith(".csv"):
            return JSONResponse({"error": detail, "status": status}, status_code=status)
        return pages.error(request, status, str(detail))

    routes: list[Any] = [
        Route("/", pages.home, name="home"),
        Route("/procurements", pages.procurements, name="procurements"),
        Route("/procurements.csv", api.procurements_csv, name="procurements_csv"),
        Route("/procurements/{tender_id:int}", pages.procurement, name="procurement"),
        Route("/procurements/{tender_id:int}/timeline.csv", api.timeline_csv, name="timeline_csv"),
        Route("/agencies/{address}", pages.agency, name="agency"),
        Route("/suppliers/{address}", pages.supplier, name="supplier"),
        Route("/consortium", pages.consortium, name="consortium"),
        Route("/flags", pages.flags, name="flags"),
        Route("/about", pages.about, name="about"),
        Route("/ocds/releases.json", api.all_releases, name="all_releases"),
        Route("/ocds/{ocid}/releases.json", api.release_package, name="release_package"),
        Route("/ocds/{ocid}/record.json", api.record_package, name="record_package"),
        Route("/api/status", api.status, name="api_status"),
        Route("/api/procurements", api.procurements, name="api_procurements"),
        Route("/api/releases", api.releases, name="api_releases"),
        Route("/api/records/{ocid}", api.record_package, name="api_record"),
        Route("/api/flags", api.flags, name="api_flags"),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Portal(
        routes=routes,
        exception_handlers={HTTPException: not_found, Exception: not_found},
    )
    # Starlette's trailing-slash redirect is an absolute URL built from the request's Host
    # header: a forged Host would make the portal redirect elsewhere (or poison a cache)
    app.router.redirect_slashes = False

    def block() -> int | None:
        found = queries.status()
        return None if found is None else found.block

    app.block = block  # what the kept answers are valid for
    return app
