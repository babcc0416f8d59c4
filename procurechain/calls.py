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


def parse_arg(abi_type: str, text: str) -> object:
    """Turn one command-line argument into a value of ``abi_type``, or raise a clear error.

    Supports address, bool, (u)int<N>, bytes<N>, bytes and string.
    """
    from procurechain import inputs
    from procurechain.errors import ProcurechainError

    value = text.strip()
    if abi_type == "address":
        return inputs.address(value, "argument", allow_zero=True)
    if abi_type == "bool":
        if value.lower() not in {"true", "false"}:
            raise ProcurechainError(f"{text!r} is not a bool (use true or false)")
        return value.lower() == "true"
    if abi_type.startswith(("uint", "int")):
        signed = abi_type.startswith("int")
        bits = int(abi_type[3 + (not signed) :] or 256)
        try:
            number = int(value, 0)
        except ValueError as err:
            raise ProcurechainError(f"{text!r} is not a whole number for {abi_type}") from err
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not low <= number <= high:
            raise ProcurechainError(f"{text!r} is out of range for {abi_type} ({low}..{high})")
        return number
    if abi_type.startswith("bytes"):
        if not value.startswith("0x"):
            raise ProcurechainError(f"{text!r} must be 0x-prefixed hex for {abi_type}")
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError as err:
            raise ProcurechainError(f"{text!r} is not valid hex for {abi_type}") from err
        size = abi_type[5:]
        if size and len(raw) != int(size):
            raise ProcurechainError(f"{text!r} is {len(raw)} bytes; {abi_type} needs {size}")
        return raw
    if abi_type == "string":
        return text
    raise ProcurechainError(f"argument type {abi_type} is not supported on the command line")


def call_from_signature(
    target: str, signature: str, args: list[str], *, value: int = 0, description: str = ""
) -> Call:
    """Build a :class:`Call` from a function signature such as ``setThreshold(uint256)`` and
    command-line arguments."""
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    from procurechain.errors import ProcurechainError

    compact = signature.replace(" ", "")
    if "(" not in compact or not compact.endswith(")"):
        raise ProcurechainError(f"{signature!r} is not a function signature like name(type,...)")
    types_text = compact[compact.index("(") + 1 : -1]
    types = [t for t in types_text.split(",") if t]
    if len(types) != len(args):
        raise ProcurechainError(f"{compact} takes {len(types)} arguments, {len(args)} given")
    values = [parse_arg(t, a) for t, a in zip(types, args, strict=True)]
    data = function_signature_to_4byte_selector(compact) + encode(types, values)
    return Call(target=target, data=data, value=value, description=description or compact)
