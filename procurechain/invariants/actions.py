"""The consortium's executed actions, read from their transactions' calldata and matched to
the executed action hash by recomputing the EIP-712 digest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from procurechain.invariants.selectors import EXECUTE

ACTION_TYPEHASH = keccak(
    text="Action(address target,uint256 value,bytes data,uint256 nonce,uint256 deadline)"
)
DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def action_calldata(
    tx: Mapping[str, Any] | None, action_hash: str, chain_id: int, consortium: str
) -> bytes | None:
    """The calldata of the action a transaction executed, if its digest is ``action_hash``.

    Args:
        tx: the transaction as a history stores it (``to``, ``input``), or None.
        action_hash: the ``actionHash`` of the ``ActionExecuted`` event, as 0x-hex.
        chain_id: the chain's id (part of the EIP-712 domain).
        consortium: the consortium's address, lower-case.

    Returns:
        The action's ``data``; None when the transaction is not a call of the consortium's
        ``execute`` or executed another action.
    """
    if tx is None or tx["to"] != consortium or not tx["input"].startswith(EXECUTE):
        return None
    try:
        (target, value, data, nonce, deadline), _ = decode(
            ["(address,uint256,bytes,uint256,uint256)", "bytes"],
            bytes.fromhex(tx["input"][10:]),
        )
    except Exception:  # not an execute call after all
        return None
    struct = keccak(
        encode(
            ["bytes32", "address", "uint256", "bytes32", "uint256", "uint256"],
            [ACTION_TYPEHASH, target, value, keccak(data), nonce, deadline],
        )
    )
    domain = keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                DOMAIN_TYPEHASH,
                keccak(text="procurechain Consortium"),
                keccak(text="1"),
                int(chain_id),
                to_checksum_address(consortium),
            ],
        )
    )
    digest = "0x" + keccak(b"\x19\x01" + domain + struct).hex()
    return data if digest == action_hash else None
