"""A contract call described as data, ready to be proposed to the consortium or sent."""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address


@dataclass(frozen=True)
class Call:
    """One call a consortium action performs: ``target.call{value}(data)``.

    Attributes:
        target: the contract called (checksummed address).
        data: ABI-encoded calldata, selector first.
        value: wei sent with the call.
        description: what the call does, in one human sentence (shown to signers).
    """

    target: str
    data: bytes
    value: int = 0
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", to_checksum_address(self.target))
        object.__setattr__(self, "data", bytes(self.data))

    @property
    def selector(self) -> bytes:
        """The first four bytes of the calldata (empty for a plain transfer)."""
        return self.data[:4]


def call_of(contract: object, method: str, *args: object, description: str = "") -> Call:
    """Build a :class:`Call` from an Ape contract instance, a method name and its arguments."""
    handler = getattr(contract, method)
    data = handler.encode_input(*args)
    return Call(target=str(contract.address), data=bytes(data), description=description)
