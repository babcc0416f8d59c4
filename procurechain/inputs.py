"""What users type, checked before anything is sent: addresses, amounts, whole numbers.

Each check raises :class:`~procurechain.errors.ProcurechainError` with one sentence naming
the value, what is wrong with it and what to do instead.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from eth_utils import is_checksum_address, to_checksum_address

from procurechain.errors import ProcurechainError

__all__ = ["UINT256_MAX", "ZERO_ADDRESS", "address", "amount", "whole_number"]

UINT256_MAX = 2**256 - 1
ZERO_ADDRESS = "0x" + "00" * 20
_HEX = set("0123456789abcdefABCDEF")


def address(value: Any, what: str = "address", *, allow_zero: bool = False) -> str:
    """``value`` as a checksummed address.

    Args:
        value: what the user gave.
        what: how the error names it (``"--target"``, ``"BIDDER"``).
        allow_zero: accept the zero address (most places it means a mistake).

    Raises:
        ProcurechainError: not 0x and 40 hex digits, a mixed-case address whose checksum is
            wrong (a mistyped letter), or the zero address where it means nothing.
    """
    if not isinstance(value, str):
        raise ProcurechainError(f"{what} {value!r} is not an address (expected 0x and 40 hex)")
    text = value.strip()
    digits = text[2:] if text[:2].lower() == "0x" else None
    if digits is None or len(digits) != 40:
        size = "no 0x prefix" if digits is None else f"{len(digits)} hex digits"
        raise ProcurechainError(
            f"{what} {value!r} is not an address: expected 0x and 40 hex digits ({size})"
        )
    if not set(digits) <= _HEX:
        raise ProcurechainError(f"{what} {value!r} is not an address: it has non-hex characters")
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and not is_checksum_address("0x" + digits):
        raise ProcurechainError(
            f"{what} {value!r} has a wrong checksum (a mistyped letter?); copy it again"
        )
    checksummed = to_checksum_address("0x" + digits)
    if not allow_zero and int(digits, 16) == 0:
        raise ProcurechainError(f"{what} is the zero address; give a real account or contract")
    return checksummed


def amount(text: Any, decimals: int, what: str = "amount", *, maximum: int = UINT256_MAX) -> int:
    """A human amount (``"12.5"``) in base units of a token with ``decimals``.

    Raises:
        ProcurechainError: not a number, negative, finer than the token's decimals, or above
            ``maximum`` base units.
    """
    raw = str(text).strip().replace("_", "")
    try:
        value = Decimal(raw)
    except InvalidOperation as err:
        raise ProcurechainError(f"{what} {text!r} is not a number (e.g. 500 or 12.5)") from err
    if not value.is_finite() or value < 0:
        raise ProcurechainError(f"{what} {text!r} must be a positive amount")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ProcurechainError(
            f"{what} {text!r} has more than {decimals} decimals, the token's smallest unit"
        )
    units = int(scaled)
    if units > maximum:
        largest = Decimal(maximum).scaleb(-decimals).normalize()
        raise ProcurechainError(f"{what} {text!r} is too large: at most {largest:f} is possible")
    return units


def whole_number(value: Any, what: str, *, minimum: int = 0, maximum: int = UINT256_MAX) -> int:
    """An integer between ``minimum`` and ``maximum`` (ids, indexes, nonces, blocks).

    Raises:
        ProcurechainError: not a whole number, or out of range.
    """
    try:
        number = int(str(value).strip(), 0) if not isinstance(value, int) else value
    except ValueError as err:
        raise ProcurechainError(f"{what} {value!r} is not a whole number") from err
    if not minimum <= number <= maximum:
        raise ProcurechainError(f"{what} {value!r} is out of range ({minimum} to {maximum})")
    return number
