"""Amounts and dates as the record states them: token units to OCDS values and to words.

The chain knows a token, not a currency. :class:`Currency` holds what was read from the chain
(the ERC-20's address, symbol and decimals, the chain id) and what the publisher declares:
the ISO 4217 currency the token is pegged to, or None. OCDS values then carry that code, or
``XXX`` (ISO 4217's code for "no currency involved") when no peg is declared, and every
release says which (:meth:`Currency.statement`): a token is never silently relabelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = ["NO_CURRENCY", "Currency", "iso", "short"]

#: ISO 4217: "the codes assigned for transactions where no currency is involved".
NO_CURRENCY = "XXX"
_ISO_4217 = re.compile(r"^[A-Z]{3}$")


def iso(timestamp: int) -> str:
    """A block timestamp (unix seconds) as ISO 8601 UTC, e.g. ``2026-03-01T12:00:00Z``."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short(address: str) -> str:
    """An address shortened for a default name: ``0x1234…abcd``."""
    return f"{address[:6]}…{address[-4:]}"


@dataclass(frozen=True)
class Currency:
    """The registry's token and how its amounts are stated.

    Attributes:
        token: the ERC-20 contract (checksummed address).
        symbol: its ``symbol()``.
        decimals: its ``decimals()``.
        chain_id: the chain the token lives on.
        pegged_to: the ISO 4217 currency the publisher declares the token pegged 1:1 to
            (e.g. ``USD`` for the devnet's dUSD), or None: amounts then carry ``XXX``.
        description: what the token is, in words (e.g. "a test stablecoin"); optional.
    """

    token: str
    symbol: str
    decimals: int
    chain_id: int
    pegged_to: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.pegged_to is not None and not _ISO_4217.match(self.pegged_to):
            raise ValueError(
                f"{self.pegged_to!r} is not an ISO 4217 code (three capital letters, e.g. USD)"
            )

    @property
    def code(self) -> str:
        """The ISO 4217 code OCDS values carry."""
        return self.pegged_to or NO_CURRENCY

    def number(self, amount: int) -> int | float:
        """Token base units as a number of whole tokens (an int when it is whole)."""
        scaled = Decimal(int(amount)).scaleb(-self.decimals)
        return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)

    def value(self, amount: int) -> dict[str, Any]:
        """An OCDS ``Value``."""
        return {"amount": self.number(amount), "currency": self.code}

    def text(self, amount: int) -> str:
        """An amount in words' style: ``42,500.00 dUSD``."""
        scaled = Decimal(int(amount)).scaleb(-self.decimals)
        return f"{scaled:,.2f} {self.symbol}"

    def statement(self) -> str:
        """What the amounts of the record are, in one paragraph (``planning.budget``)."""
        what = f" {self.description}" if self.description else ""
        token = (
            f"{self.symbol} (ERC-20 token {self.token} on chain {self.chain_id}, "
            f"{self.decimals} decimals)"
        )
        if self.pegged_to:
            return (
                f"Amounts are {token},{what and what + ','} pegged 1:1 to {self.pegged_to}; "
                f"values are stated in {self.pegged_to} at that peg."
            )
        return (
            f"Amounts are {token}.{what and ' It is' + what + '.'} No currency is declared "
            f"for it, so values carry the ISO 4217 code {NO_CURRENCY} (no currency involved) "
            f"and are amounts of {self.symbol}."
        )
