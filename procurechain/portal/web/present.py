"""How chain data reads on a page: amounts, dates, names, capped texts and safe links.

Every string on the chain is written by whoever paid the gas. Templates autoescape it; these
helpers add the rest: only ``http:``/``https:`` URLs with a host become links, an ``ipfs://``
URL is shown as text with its content id, long texts are capped on list pages, and text is
wrapped in ``<bdi>`` so a right-to-left override cannot reorder the page around it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from unicodedata import category
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from procurechain import display

__all__ = ["LIST_CHARS", "Link", "Present", "cap", "chain_text", "link_of", "short"]

#: The longest chain text a list shows before "…".
LIST_CHARS = 140
_WEB = ("http", "https")
#: The longest host a link may have: whole within the 120 characters an evidence link shows.
_HOST_CHARS = 100


@dataclass(frozen=True)
class Link:
    """What a URL becomes on the page: ``href`` (None: shown as text only) and the words."""

    href: str | None
    text: str
    note: str = ""


def link_of(url: str) -> Link:
    """A document URL as a link only when it is ``http(s)://host…`` with no user info and
    no invisible character; ``ipfs://`` shows its content id as text; anything else
    (``javascript:``, ``data:``, …) is text, never a link."""
    value = str(url or "")
    try:
        parts = urlsplit(value.strip())
        scheme, host = parts.scheme.lower(), parts.netloc
    except ValueError:
        scheme, host = "", ""
    # a link's text is its href, so the text must say where it goes: no user info (the
    # host is what follows "@", maybe past a text capped on the page), no host longer than a
    # capped text shows, no control, format (bidi override, zero-width) or separator
    # character to reorder or hide a part
    if (
        scheme in _WEB
        and host
        and "@" not in host
        and len(host) <= _HOST_CHARS
        and not any(category(c)[0] in "CZ" for c in value)
    ):
        return Link(value, value)
    if scheme == "ipfs":
        cid = value.split("://", 1)[-1].split("/", 1)[0]
        return Link(None, value, f"IPFS content id {cid}: fetch it from any IPFS gateway")
    if scheme in _WEB and host:
        return Link(None, value, "a web address that could hide where it leads, shown as text")
    return Link(None, value, "not a web address, shown as text")


def cap(text: object, limit: int = LIST_CHARS) -> str:
    """``text`` cut to ``limit`` characters with "…" (the full text is on its own page)."""
    value = str(text or "")
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def chain_text(text: object, limit: int | None = None) -> Markup:
    """Chain text, escaped and isolated in ``<bdi>`` (optionally capped first)."""
    value = str(text or "")
    if limit is not None:
        value = cap(value, limit)
    return Markup("<bdi>") + escape(value) + Markup("</bdi>")


def short(address: str) -> str:
    """``0x1234…abcd``."""
    value = str(address or "")
    return value if len(value) < 14 else f"{value[:6]}…{value[-4:]}"


class Present:
    """Formatting bound to one deployment's token and names."""

    def __init__(self, token: display.Token, names: Mapping[str, str]) -> None:
        self.token = token
        self.names = names

    def money(self, units: object) -> str:
        """Base units (int or decimal string) as ``42,500.00 dUSD``; "—" for none."""
        if units is None or units == "":
            return "—"
        return self.token.money(int(str(units)))

    def name(self, address: object) -> str:
        """A readable name: the publisher's, else the short address."""
        value = str(address or "")
        if value == "consortium":
            return "the consortium"
        return self.names.get(value) or short(value)

    @staticmethod
    def when(timestamp: object) -> str:
        """Unix seconds as ISO 8601 UTC; "—" for none."""
        return "—" if timestamp is None else display.when(int(str(timestamp)))

    @staticmethod
    def day(timestamp: object) -> str:
        """Unix seconds as an ISO date (YYYY-MM-DD)."""
        return "—" if timestamp is None else display.when(int(str(timestamp)))[:10]
