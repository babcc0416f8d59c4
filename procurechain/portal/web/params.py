"""Reading a search from a URL's query: the same parameters for the page, the CSV and the API.

``q``, ``agency``, ``stage``, ``category``, ``min`` and ``max`` (token units, e.g. ``1000`` or
``1,000.50``), ``from`` and ``to`` (``YYYY-MM-DD``, UTC, both inclusive), ``sort`` (a key of
:data:`~procurechain.portal.web.queries.SORTS`), ``order`` (``asc``/``desc``), ``page``,
``per_page`` (at most :data:`MAX_PER_PAGE`). An unreadable value is a :class:`BadQueryError` that
names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from procurechain.portal.web.queries import SORTS, STAGES, Filters

__all__ = ["KEYS", "MAX_PER_PAGE", "BadQueryError", "filters_from", "known", "query_string"]

MAX_PER_PAGE = 100
_MAX_QUERY = 200
_DAY = 86_400
#: The parameters a search reads; nothing else is kept in the links a page builds.
KEYS = ("q", "agency", "supplier", "stage", "category", "min", "max", "from", "to", "sort")
KEYS += ("order", "page", "per_page")


class BadQueryError(ValueError):
    """A query parameter that cannot be read; ``str()`` says which and why."""


def _units(value: str, name: str, decimals: int) -> int | None:
    text = value.strip().replace(",", "").replace("_", "")
    if not text:
        return None
    try:
        amount = Decimal(text[:40])
    except InvalidOperation:
        raise BadQueryError(
            f"{name}: {value[:40]!r} is not an amount (e.g. 1000 or 1,000.50)"
        ) from None
    if not amount.is_finite() or amount < 0 or amount.adjusted() > 30:
        raise BadQueryError(f"{name}: {value[:40]!r} is not an amount of 0 or more")
    return int(amount * (10**decimals))


def _day(value: str, name: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    try:
        day = datetime.strptime(text[:10], "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadQueryError(f"{name}: {value[:20]!r} is not a date (YYYY-MM-DD)") from None
    return int(day.timestamp())


def _int(value: str, name: str, default: int, high: int) -> int:
    text = value.strip()
    if not text:
        return default
    # ASCII digits only: str.isdigit() is also true of superscripts (int() refuses them)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= high:
        raise BadQueryError(f"{name}: {value[:20]!r} is not a whole number from 1 to {high:,}")
    return int(value)


def filters_from(query: Mapping[str, str], decimals: int) -> Filters:
    """The search a URL's query describes (amounts converted with the token's decimals)."""

    def get(key: str) -> str:
        return str(query.get(key, ""))[:_MAX_QUERY]

    stage, sort, order = get("stage"), get("sort") or "published", get("order") or "desc"
    if stage and stage not in STAGES:
        raise BadQueryError(f"stage: {stage!r} is not one of {', '.join(STAGES)}")
    if sort not in SORTS:
        raise BadQueryError(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    if order not in ("asc", "desc"):
        raise BadQueryError(f"order: {order!r} is not asc or desc")
    to = _day(get("to"), "to")
    return Filters(
        q=get("q").strip(),
        agency=get("agency").strip(),
        supplier=get("supplier").strip(),
        stage=stage,
        category=get("category").strip(),
        min_value=_units(get("min"), "min", decimals),
        max_value=_units(get("max"), "max", decimals),
        published_from=_day(get("from"), "from"),
        published_to=None if to is None else to + _DAY,
        sort=sort,
        descending=order == "desc",
        page=_int(get("page"), "page", 1, 10**6),
        per_page=_int(get("per_page"), "per_page", 20, MAX_PER_PAGE),
    )


def known(query: Mapping[str, str]) -> dict[str, str]:
    """The search's own parameters of a URL's query, each capped: what a page may echo (an
    unknown or huge parameter is not copied into every link of the page)."""
    return {k: str(query[k])[:_MAX_QUERY] for k in KEYS if k in query}


def query_string(query: Mapping[str, str], **changes: object) -> str:
    """The query with ``changes`` (None removes a key), for links that keep the search (only
    the search's own parameters are kept)."""
    kept = {k: v for k, v in known(query).items() if v != ""}
    for key, value in changes.items():
        if value is None:
            kept.pop(key, None)
        else:
            kept[key] = str(value)
    return urlencode(kept)
