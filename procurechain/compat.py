"""What Brownie users miss in Ape: ``Wei``, ``chain_sleep``, tx dicts, ``accounts_at``, ``reverts``.

from procurechain.compat import Wei, accounts_at, brownie, chain_sleep, reverts

token = brownie(token)                       # methods accept a trailing tx dict
token.transfer(bob, Wei("1 ether"), {"from": alice})
chain_sleep(3600)                            # devnet clock forward, one block mined
with reverts("TenderBidTooLate"):            # error name, or words of its message
    tender.commitBid(c, {"from": bob})
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from procurechain.errors import ProcurechainError, decode_revert, describe

__all__ = ["Wei", "accounts_at", "brownie", "chain_mine", "chain_sleep", "reverts", "tx_kwargs"]

_UNITS = {
    "wei": 0,
    "kwei": 3,
    "babbage": 3,
    "mwei": 6,
    "lovelace": 6,
    "gwei": 9,
    "shannon": 9,
    "microether": 12,
    "szabo": 12,
    "milliether": 15,
    "finney": 15,
    "ether": 18,
    "eth": 18,
}


def Wei(value: int | str | float | Decimal) -> int:  # noqa: N802 - Brownie's name
    """An amount in wei: ``Wei("1.5 ether")``, ``Wei("10 gwei")``, ``Wei(5)``, ``Wei("0x10")``.

    Raises:
        ProcurechainError: an unknown unit, a fraction of a wei, or not a number.
    """
    if isinstance(value, bool):
        raise ProcurechainError("a bool is not an amount")
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number, exponent = Decimal(str(value)), 0
    else:
        text = value.strip().lower()
        if text.startswith("0x"):
            return int(text, 16)
        match = re.fullmatch(r"(-?[\d_.e+-]+)\s*([a-z]*)", text)
        if not match:
            raise ProcurechainError(f"{value!r} is not an amount like '1.5 ether'")
        unit = match.group(2) or "wei"
        if unit not in _UNITS:
            raise ProcurechainError(f"unknown unit {unit!r}; use one of {', '.join(_UNITS)}")
        try:
            number = Decimal(match.group(1).replace("_", ""))
        except InvalidOperation as err:
            raise ProcurechainError(f"{value!r} is not a number") from err
        exponent = _UNITS[unit]
    scaled = number.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ProcurechainError(f"{value!r} is not a whole number of wei")
    return int(scaled)


def tx_kwargs(tx: dict[str, Any]) -> dict[str, Any]:
    """Brownie's transaction dict (``{"from": acct, "value": "1 ether", "gas": ...}``) as Ape
    keyword arguments (``sender=acct, value=..., gas=...``)."""
    known = {
        "from": "sender",
        "value": "value",
        "gas": "gas",
        "gas_limit": "gas",
        "gas_price": "gas_price",
        "max_fee": "max_fee",
        "priority_fee": "max_priority_fee",
        "nonce": "nonce",
        "required_confs": "required_confirmations",
    }
    unknown = set(tx) - set(known)
    if unknown:
        raise ProcurechainError(f"unsupported tx dict keys: {', '.join(sorted(unknown))}")
    kwargs = {known[k]: v for k, v in tx.items()}
    if "value" in kwargs:
        kwargs["value"] = Wei(kwargs["value"])
    return kwargs


class _BrownieMethod:
    def __init__(self, handler: Any) -> None:
        self._handler = handler

    def __call__(self, *args: Any) -> Any:
        if args and isinstance(args[-1], dict):
            return self._handler(*args[:-1], **tx_kwargs(args[-1]))
        return self._handler(*args)

    def call(self, *args: Any) -> Any:
        """Brownie's ``method.call(...)``: run without sending a transaction."""
        if args and isinstance(args[-1], dict):
            return self._handler.call(*args[:-1], **tx_kwargs(args[-1]))
        return self._handler.call(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handler, name)


class _BrownieContract:
    def __init__(self, contract: Any) -> None:
        self._contract = contract

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._contract, name)
        if hasattr(attribute, "encode_input"):
            return _BrownieMethod(attribute)
        return attribute

    def __eq__(self, other: object) -> bool:
        return self._contract == other

    def __hash__(self) -> int:
        return hash(self._contract.address)

    def __repr__(self) -> str:
        return f"<brownie-style {self._contract!r}>"


def brownie(contract: Any) -> Any:
    """Wrap an Ape contract so its methods accept a trailing Brownie tx dict."""
    return _BrownieContract(contract)


def chain_sleep(seconds: int) -> int:
    """Brownie's ``chain.sleep`` + ``chain.mine``: move a test chain's clock forward and mine a
    block; returns the new timestamp. Only on a local chain (Anvil's chain id)."""
    from procurechain.devnet import time_travel

    if seconds < 0:
        raise ProcurechainError("chain_sleep takes a positive number of seconds")
    return time_travel(seconds)


def chain_mine(blocks: int = 1) -> int:
    """Brownie's ``chain.mine(n)``; returns the new head block number."""
    from ape import chain

    from procurechain.devnet import mine

    mine(blocks)
    return int(chain.provider.web3.eth.block_number)


def accounts_at(address: str, force: bool = False) -> Any:
    """Brownie's ``accounts.at(address, force=True)``: an account object for any address.

    Known (test or keyfile) accounts are returned as they are; any other address needs
    ``force=True`` and a local devnet, where it is impersonated.
    """
    from ape import accounts

    from procurechain.devnet import require_devnet

    for account in accounts.test_accounts:
        if account.address == address:
            return account
    if not force:
        raise ProcurechainError(f"{address} is not a local account; pass force=True on a devnet")
    require_devnet("accounts_at(force=True)")
    return accounts[address]


@contextmanager
def reverts(expected: str | None = None) -> Iterator[None]:
    """Brownie's ``with reverts("message")``: the block must revert; when ``expected`` is
    given it must equal the error's name or appear in its message or its human sentence.

    Raises:
        AssertionError: no revert, or a revert with another reason.
    """
    from ape.exceptions import ContractLogicError, CustomError

    try:
        yield
    except ContractLogicError as err:
        if expected is None:
            return
        texts = [describe(err), str(err.revert_message or "")]
        if isinstance(err, CustomError):
            texts.append(err.name)
        elif (data := getattr(err, "revert_data", None)) and (decoded := decode_revert(data)):
            texts.append(decoded[0])
        if any(expected == text or expected in text for text in texts):
            return
        raise AssertionError(f"expected a revert with {expected!r}, got: {texts[0]}") from err
    raise AssertionError("the call did not revert")
