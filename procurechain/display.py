"""How amounts and times read for people: ``50,000.00 dUSD``, ``2026-12-10T12:00:00Z (in 6 days
21 h)``.

Every command prints token amounts in token units with the token's symbol and times as ISO 8601
dates in UTC; machine-readable outputs (``--json``, exports, proposal bundles) keep the exact
integers and at most add these forms beside them (:meth:`Token.fields`).

Rules:

- **Amounts are exact.** Base units are split with integer arithmetic (no float, no decimal
  context that could round): ``money(16_150_000_000, 6, "dUSD")`` is ``16,150.00 dUSD``. At
  least two decimals are shown (fewer only for a token that has fewer); more when the amount
  has more significant digits, so nothing is ever rounded away: ``1_000_001`` base units of
  a 6-decimal token is ``1.000001 dUSD``, one wei of an 18-decimal token
  ``0.000000000000000001 ETH``. Thousands are grouped with commas.
- **Times are UTC**, to the second, ``Z``-suffixed: ``2026-12-03T14:05:00Z``. A time outside
  the years 1970-9999 (a hostile or absurd value) reads as ``unix time N``.
- **Time left** counts whole units down (never claims more time than there is), in the two
  largest units: ``in 6 days 21 h``, ``3 h 5 min ago``, ``in 45 s``, ``now``.

The functions are pure; :func:`token_of` and :func:`chain_now` read the connected chain
(through Ape, imported only when they are called).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FALLBACK_SYMBOL",
    "Token",
    "chain_now",
    "clean_symbol",
    "deadline",
    "duration",
    "money",
    "time_left",
    "token_from",
    "token_of",
    "units",
    "when",
]

#: Fraction digits always shown (when the token has that many).
MIN_FRACTION_DIGITS = 2
#: What an amount is called when the token's ``symbol()`` cannot be read.
FALLBACK_SYMBOL = "tokens"
#: The longest symbol shown (a longer one is cut: symbols are whatever the token says).
MAX_SYMBOL_LENGTH = 16
#: The last second :func:`when` writes as a date (9999-12-31T23:59:59Z).
_LAST_DATE = 253_402_300_799
_MINUTE, _HOUR, _DAY = 60, 3600, 86_400


def units(amount: int, decimals: int) -> str:
    """``amount`` base units of a token with ``decimals`` as token units, exactly.

    Args:
        amount: base units (any integer, negative too).
        decimals: the token's decimals (0 or more).

    Returns:
        E.g. ``"50,000.00"``, ``"0.000001"``, ``"-1.50"``.

    Raises:
        ValueError: ``decimals`` is negative.
    """
    amount, decimals = int(amount), int(decimals)
    if decimals < 0:
        raise ValueError(f"decimals must be 0 or more, not {decimals}")
    sign = "-" if amount < 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    digits = str(fraction).rjust(decimals, "0") if decimals else ""
    shown = digits.rstrip("0").ljust(min(MIN_FRACTION_DIGITS, decimals), "0")
    return f"{sign}{whole:,}" + (f".{shown}" if shown else "")


def money(amount: int, decimals: int, symbol: str) -> str:
    """``amount`` base units as token units with the symbol: ``"50,000.00 dUSD"``.

    See :func:`units` for the digits; ``symbol`` is shown as :func:`clean_symbol` makes it.
    """
    return f"{units(amount, decimals)} {clean_symbol(symbol)}"


def clean_symbol(symbol: Any) -> str:
    """A token symbol fit for one line: printable characters, any run of white space one
    space, at most :data:`MAX_SYMBOL_LENGTH` of them; :data:`FALLBACK_SYMBOL` when nothing is
    left (the symbol is whatever the token contract says)."""
    text = "".join(c if c.isprintable() and not c.isspace() else " " for c in str(symbol or ""))
    return " ".join(text.split())[:MAX_SYMBOL_LENGTH].strip() or FALLBACK_SYMBOL


def when(timestamp: int) -> str:
    """A unix time as an ISO 8601 date in UTC: ``"2026-12-03T14:05:00Z"``."""
    timestamp = int(timestamp)
    if not 0 <= timestamp <= _LAST_DATE:
        return f"unix time {timestamp}"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plural(count: int, unit: str) -> str:
    return f"{count:,} {unit}" + ("" if count == 1 else "s")


def duration(seconds: int) -> str:
    """A span of time in its two largest units, counted down: ``"6 days 21 h"``, ``"1 day"``,
    ``"3 h 5 min"``, ``"5 min 3 s"``, ``"45 s"`` (the sign is ignored)."""
    left = abs(int(seconds))
    if left >= _DAY:
        days, hours = divmod(left, _DAY)
        hours //= _HOUR
        return _plural(days, "day") + (f" {hours} h" if hours else "")
    if left >= _HOUR:
        hours, minutes = divmod(left, _HOUR)
        minutes //= _MINUTE
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if left >= _MINUTE:
        minutes, rest = divmod(left, _MINUTE)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    return f"{left} s"


def time_left(timestamp: int, now: int) -> str:
    """How far ``timestamp`` is from ``now``: ``"in 6 days 21 h"``, ``"2 days ago"``,
    ``"now"``."""
    span = int(timestamp) - int(now)
    if span == 0:
        return "now"
    return f"in {duration(span)}" if span > 0 else f"{duration(span)} ago"


def deadline(timestamp: int, now: int) -> str:
    """A time and how far it is: ``"2026-12-10T12:00:00Z (in 6 days 21 h)"``."""
    return f"{when(timestamp)} ({time_left(timestamp, now)})"


@dataclass(frozen=True)
class Token:
    """What amounts of one token are called: its symbol and decimals.

    Attributes:
        symbol: the ERC-20 ``symbol()`` (cleaned by :func:`clean_symbol`).
        decimals: the ERC-20 ``decimals()``.
        address: the token contract ("" when not known).
    """

    symbol: str
    decimals: int
    address: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", clean_symbol(self.symbol))
        object.__setattr__(self, "decimals", int(self.decimals))
        if self.decimals < 0:
            raise ValueError(f"decimals must be 0 or more, not {self.decimals}")

    def money(self, amount: int) -> str:
        """``amount`` base units with the symbol (:func:`money`)."""
        return money(amount, self.decimals, self.symbol)

    def units(self, amount: int) -> str:
        """``amount`` base units without the symbol (:func:`units`), for a column whose header
        names the token."""
        return units(amount, self.decimals)

    def fields(self, name: str, amount: int | None) -> dict[str, Any]:
        """A JSON pair: the exact integer and, beside it, how people read it:
        ``{"budget": 50000000000, "budget_display": "50,000.00 dUSD"}`` (both None for
        None)."""
        shown = None if amount is None else self.money(amount)
        return {name: None if amount is None else int(amount), f"{name}_display": shown}


def token_of(token: Any) -> Token:
    """The symbol and decimals of the ERC-20 at ``token`` (an address or an Ape contract),
    read from the connected chain (see :func:`token_from`)."""
    from procurechain.deployments import typed

    address = str(getattr(token, "address", token))
    return token_from(typed("DemoStablecoin", address), address)  # the standard ERC-20 views


def token_from(contract: Any, address: str = "") -> Token:
    """The symbol and decimals an ERC-20 ``contract`` (anything with ``symbol()`` and
    ``decimals()`` views) reports.

    A token whose ``symbol()`` cannot be read (none, or a ``bytes32`` one) is called
    :data:`FALLBACK_SYMBOL`; one whose ``decimals()`` cannot be read shows its amounts as
    ``base units`` (decimals 0), so no amount is ever shown scaled by a guess.
    """
    try:
        symbol = str(contract.symbol())
    except Exception:  # no symbol(), or not a string: the amount still reads
        symbol = FALLBACK_SYMBOL
    try:
        decimals = int(contract.decimals())
    except Exception:  # no decimals(): base units, said plainly
        return Token("base units", 0, address)
    return Token(symbol, decimals if 0 <= decimals <= 255 else 0, address)


def chain_now() -> int:
    """The connected chain's clock (the pending block's time: a devnet's may be far from the
    wall clock), or the wall clock when the node cannot say."""
    import time

    from ape import chain

    try:
        return int(chain.pending_timestamp)
    except Exception:  # providers without a pending block: the wall clock is close enough
        return int(time.time())
