"""EIP-2612 permits signed with an Ape account, so a deposit needs one transaction."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from procurechain.errors import ProcurechainError

__all__ = ["sign_permit"]


def sign_permit(
    token: Any, owner: Any, spender: str, value: int, deadline: int
) -> tuple[int, bytes, bytes]:
    """Sign an EIP-2612 permit for ``spender`` to take ``value`` of ``owner``'s tokens.

    The EIP-712 domain is read from the token itself (EIP-5267 ``eip712Domain``), so any
    permit token works, whatever its name and version.

    Args:
        token: the ERC-20 with permit (Ape contract instance).
        owner: the Ape account that owns the tokens and signs.
        spender: who may spend them.
        value: the allowance granted, in base units.
        deadline: unix time (chain time) after which the permit is void.

    Returns:
        ``(v, r, s)`` with ``r`` and ``s`` as 32 bytes each.

    Raises:
        ProcurechainError: the account did not sign.
    """
    from eip712.messages import EIP712Message
    from eth_pydantic_types import abi

    class Permit(EIP712Message):
        owner: abi.address
        spender: abi.address
        value: abi.uint256
        nonce: abi.uint256
        deadline: abi.uint256

    name, version, chain_id, verifying = token.eip712Domain()[1:5]
    message = Permit(
        owner=to_checksum_address(str(owner.address)),
        spender=to_checksum_address(str(spender)),
        value=value,
        nonce=int(token.nonces(owner)),
        deadline=deadline,
        eip712_name=name,
        eip712_version=version,
        eip712_chainId=chain_id,
        eip712_verifyingContract=to_checksum_address(verifying),
    )
    signature = owner.sign_message(message)
    if signature is None:
        raise ProcurechainError(f"{owner.address} did not sign the permit: unlock the account")
    # r and s come back as minimal big-endian bytes: a leading zero byte is dropped.
    return signature.v, bytes(signature.r).rjust(32, b"\x00"), bytes(signature.s).rjust(32, b"\x00")
