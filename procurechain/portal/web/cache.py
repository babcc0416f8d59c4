"""Answers kept per block: every page and download is a function of its URL and of the block
the index reflects (``cursor.derived_block``), so a GET answered once is answered again from
memory until the index moves. Nothing else varies a response (no cookie, no session, no
``Accept`` negotiation), so the cache cannot show one reader what another asked for.

The cache is bounded (entries and bytes), least recently used out first; answers other than
200 and bodies over :data:`MAX_BODY` are never kept; ``/api/status`` (what the live updates
poll) and ``/static`` are never kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY", "BlockCache"]

MAX_BODY = 8 * 2**20  # a larger answer (the whole city's release package) is made each time
_SKIP = ("/api/status", "/static/")


class BlockCache:
    """ASGI middleware: GET and HEAD answers by (path, query) for the current block.

    Args:
        app: the application.
        block: reads the block the index reflects (None before the first sync).
        entries: the most answers kept.
        size: the most bytes kept.
    """

    def __init__(
        self,
        app: ASGIApp,
        block: Callable[[], int | None],
        *,
        entries: int = 2_000,
        size: int = 256 * 2**20,
    ) -> None:
        self.app, self.block = app, block
        self.entries, self.size = entries, size
        self._kept: OrderedDict[tuple[str, bytes], tuple[int | None, Message, bytes]] = (
            OrderedDict()
        )
        self._bytes = 0
        self.hits = self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or path.startswith(_SKIP)
        ):
            await self.app(scope, receive, send)
            return
        block = self.block()
        key = (path, scope.get("query_string", b""))
        kept = self._kept.get(key)
        if kept is not None and kept[0] == block:
            self.hits += 1
            self._kept.move_to_end(key)
            start, body = kept[1], kept[2]
            await send({**start, "headers": list(start["headers"])})
            await send(
                {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
            )
            return
        self.misses += 1
        start: Message = {}
        parts: list[bytes] = []
        complete = scope["method"] == "GET"

        async def keep(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":  # a copy: outer layers add headers
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if sum(map(len, parts)) > MAX_BODY:
                    complete = False
            await send(message)

        await self.app(scope, receive, keep)
        if complete and start.get("status") == 200:
            self._put(key, block, start, b"".join(parts))

    def _put(self, key: tuple[str, bytes], block: int | None, start: Message, body: bytes) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self._bytes -= len(old[2])
        self._kept[key] = (block, start, body)
        self._bytes += len(body)
        while self._kept and (len(self._kept) > self.entries or self._bytes > self.size):
            _, dropped = self._kept.popitem(last=False)
            self._bytes -= len(dropped[2])
