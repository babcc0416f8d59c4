"""How evidence reads: names, amounts, dates and figures, safe to print whatever the input.

Names, ids and dates come from releases (and so from whoever wrote on the chain): each is cut to
one short line of printable characters before it is put in a sentence. Amounts are in token
units with the token's symbol (``42,500.00 dUSD``) when the audit log says which token; dates
are ISO 8601 in UTC.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from procurechain import display
from procurechain.flags.quantiles import round4
from procurechain.flags.release import as_list, as_object, as_text, party_id

__all__ = ["Wording", "clean", "figure", "percent"]

#: The longest name, id or date shown in evidence.
MAX_TEXT = 80


def clean(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as one line: control, format, separator and unassigned characters (which could
    break the line, or hide or reorder text) become spaces, white space runs become one space,
    and more than ``limit`` characters are cut with an ellipsis."""
    text = str(value)
    if len(text) <= limit and text.isprintable() and text == " ".join(text.split()):
        return text  # the common case, at the cost of one scan
    text = "".join(
        " " if unicodedata.category(c)[0] in ("C", "Z") else c for c in text[: limit * 4]
    )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def figure(value: float) -> str:
    """A ratio or statistic for people: up to 4 decimals, no trailing zeros (``0.1667``,
    ``16.6667``, ``0.5``, ``2``); ``none`` for NaN."""
    shown = round4(value)
    if shown is None:
        return "none"
    if math.isinf(shown):
        return "infinite"
    text = f"{shown:,.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def percent(share: float) -> str:
    """A share as a percentage: ``0.955`` is ``95.5%``."""
    return f"{figure(share * 100)}%"


class Wording:
    """Names of organisations (from the releases) and the token of amounts (from the log).

    Args:
        releases: the compiled releases; their ``parties``, buyers, tenderers and suppliers
            name the ids.
        unit: the token amounts are in (``AuditLog.unit``), or None (amounts then read as the
            release states them, with its currency code).
        names: the publisher's names of accounts (``--names``), which also name what the
            releases do not (consortium members); they come first.
    """

    def __init__(
        self,
        releases: Iterable[Mapping[str, Any]],
        unit: display.Token | None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        self.unit = unit
        self.names: dict[str, str] = {k: v for k, v in (names or {}).items() if isinstance(v, str)}
        self._shown: dict[str, str] = {}
        for release in releases:
            self._learn(as_list(as_object(release).get("parties")) or [])
            self._learn([as_object(release).get("buyer")])

    def _learn(self, references: list[Any]) -> None:
        for reference in references:
            identifier, name = party_id(reference), as_text(as_object(reference).get("name"))
            if identifier is not None and name and identifier not in self.names:
                self.names[identifier] = name

    def who(self, identifier: str | None) -> str:
        """An organisation as evidence names it: ``Benchworks Ltd (0x976E…0aa9)``, or its id."""
        if identifier is None:
            return "an unknown party"
        if identifier not in self._shown:
            self._shown[identifier] = self._who(identifier)
        return self._shown[identifier]

    def _who(self, identifier: str) -> str:
        shown = clean(identifier, 42)
        name = self.names.get(identifier)
        if not name:
            return shown
        name = clean(name, 60)
        short = f"{shown[:6]}…{shown[-4:]}" if len(shown) > 12 else shown
        return name if short in name else f"{name} ({short})"

    def listing(self, identifiers: Iterable[str], limit: int = 10) -> str:
        """Several organisations: ``A, B and C``; beyond ``limit``, ``… and 7 more``."""
        given = list(identifiers)
        named = [self.who(i) for i in given[:limit]]
        if len(given) > limit:
            named.append(f"{len(given) - limit:,} more")
        if len(named) <= 1:
            return "".join(named)
        return f"{', '.join(named[:-1])} and {named[-1]}"

    def amount(self, value: float, currency: str | None) -> str:
        """An amount as a release states it, in token units with the token's symbol when the
        token is known (``42,500.00 dUSD``), else with the release's currency code."""
        if self.unit is not None:
            base = Decimal(repr(float(value))).scaleb(self.unit.decimals)
            if base == base.to_integral_value():
                return self.unit.money(int(base))
        code = clean(currency or "", 12) or "(no currency)"
        whole = int(value)
        shown = f"{whole:,}" if value == whole else f"{value:,}"
        return f"{shown} {code}"

    def money(self, base_units: int) -> str:
        """Token base units (from an event) in token units: ``500.00 dUSD``."""
        unit = self.unit or display.Token(display.FALLBACK_SYMBOL, 0)
        return unit.money(base_units)

    @staticmethod
    def date(moment: datetime | int) -> str:
        """A time as ISO 8601 UTC (``2026-12-03T15:10:21Z``)."""
        if isinstance(moment, datetime):
            return display.when(math.floor(moment.timestamp()))
        return display.when(moment)
