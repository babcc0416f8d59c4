"""Errors the user can act on, and revert data from the chain turned into one sentence.

Every contract error is decoded against all of the project's contract ABIs, so an error
raised deep inside a call (a Tender error bubbling up through the Consortium's
``execute``) still reads as the Tender's error, not as an anonymous revert.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak

__all__ = [
    "ProcurechainError",
    "decode_revert",
    "describe",
    "register_sentences",
]

_SENTENCES: dict[str, str] = {}


class ProcurechainError(Exception):
    """A failure the user can act on. ``str()`` is one sentence saying what to do."""


def register_sentences(sentences: dict[str, str]) -> None:
    """Add human sentences for contract errors, formatted with the error's named arguments.

    Args:
        sentences: error name -> template, e.g.
            ``{"ConsortiumBelowThreshold": "{count} signatures count, {threshold} are needed"}``.
    """
    _SENTENCES.update(sentences)


def _abi_type(param: Any) -> str:
    kind = param.type if hasattr(param, "type") else param["type"]
    if kind.startswith("tuple"):
        components = param.components if hasattr(param, "components") else param["components"]
        return "(" + ",".join(_abi_type(c) for c in components) + ")" + kind[len("tuple") :]
    return kind


@cache
def _error_table() -> dict[bytes, tuple[str, list[str], list[str]]]:
    from ape import project

    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for contract_type in project.contracts.values():
        for error in contract_type.errors:
            types = [_abi_type(i) for i in error.inputs]
            selector = keccak(text=f"{error.name}({','.join(types)})")[:4]
            names = [i.name or f"arg{n}" for n, i in enumerate(error.inputs)]
            table[selector] = (error.name, names, types)
    return table


def decode_revert(data: bytes) -> tuple[str, dict[str, Any]] | None:
    """Decode revert data into ``(error name, {argument: value})``, or ``None`` if unknown."""
    if len(data) < 4:
        return None
    if data[:4] == keccak(text="Error(string)")[:4]:
        return "Error", {"message": decode(["string"], data[4:])[0]}
    if data[:4] == keccak(text="Panic(uint256)")[:4]:
        return "Panic", {"code": decode(["uint256"], data[4:])[0]}
    entry = _error_table().get(bytes(data[:4]))
    if entry is None:
        return None
    name, names, types = entry
    try:
        values = decode(types, data[4:])
    except Exception:  # malformed data is reported as unknown, not raised
        return None
    return name, dict(zip(names, values, strict=True))


def _format_value(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _revert_data(err: BaseException) -> bytes | None:
    for candidate in (err, getattr(err, "base_err", None), err.__cause__):
        if candidate is None:
            continue
        for attribute in ("revert_data", "data"):
            data = getattr(candidate, attribute, None)
            if isinstance(data, str) and data.startswith("0x"):
                return bytes.fromhex(data[2:])
            if isinstance(data, bytes | bytearray):
                return bytes(data)
        args = getattr(candidate, "args", ())
        if len(args) > 1 and isinstance(args[1], str) and args[1].startswith("0x"):
            return bytes.fromhex(args[1][2:])
    return None


def describe_error(name: str, inputs: dict[str, Any]) -> str:
    """One sentence for a decoded contract error."""
    if name in _SENTENCES:
        return _SENTENCES[name].format(**{k: _format_value(v) for k, v in inputs.items()})
    arguments = ", ".join(f"{k}={_format_value(v)}" for k, v in inputs.items())
    return f"the contract rejected the call: {name}({arguments})"


def describe(err: BaseException) -> str:
    """Turn any error from a chain call into one readable sentence."""
    from ape.exceptions import CustomError

    if isinstance(err, ProcurechainError):
        return str(err)
    if isinstance(err, CustomError):
        return describe_error(err.name, err.inputs)
    data = _revert_data(err)
    if data and (decoded := decode_revert(data)):
        return describe_error(*decoded)
    message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    if data is not None or _from_chain(err):
        return f"the chain rejected the call: {message}"
    return f"unexpected {type(err).__name__}: {message} (please report this as a procurechain bug)"


def _from_chain(err: BaseException) -> bool:
    """Whether ``err`` came from the node or Ape's handling of a call, not from local code."""
    from ape.exceptions import ApeException
    from web3.exceptions import Web3Exception

    return isinstance(err, ApeException | Web3Exception)
