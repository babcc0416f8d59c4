"""How violation sentences name addresses, roles and functions (display only); amounts and
times are the :class:`~procurechain.invariants.violations.Reporter`'s (it knows the token)."""

from __future__ import annotations

from collections.abc import Iterable

from eth_utils import to_checksum_address

from procurechain.invariants.selectors import selector

#: The consortium's role bits, lowest first.
ROLE_NAMES = ("agency", "auditor", "citizen", "technical", "legal")
#: Functions named in sentences instead of their bare selectors.
FUNCTIONS = {
    selector(signature): signature.split("(")[0]
    for signature in (
        "acceptMilestone(uint256)",
        "rejectMilestone(uint256,bytes32)",
        "resolveDispute(uint256,uint256,bytes32)",
        "claimWarranty(uint256,bytes32)",
        "terminate(bytes32)",
        "award(address,bytes32)",
        "disqualify(address,bytes32)",
        "cancel(bytes32)",
        "addAgency(address)",
        "removeAgency(address)",
        "raisePhaseCap(uint128)",
        "addMember(address,uint8)",
        "removeMember(address)",
        "setMemberRoles(address,uint8)",
        "setThreshold(uint256)",
        "setPolicy(bytes4,uint8,uint8)",
        "liftConflict(address,address)",
    )
}


def role_names(bits: int) -> str:
    """``"auditor+legal"`` for the role bits ``0b10010``; ``"no role"`` for none."""
    names = [name for i, name in enumerate(ROLE_NAMES) if bits >> i & 1]
    return "+".join(names) if names else "no role"


def function_name(selector_hex: str) -> str:
    """A known function's name, else the selector itself."""
    return FUNCTIONS.get(selector_hex, selector_hex)


def checksum(address: str) -> str:
    """The EIP-55 form of an address."""
    return to_checksum_address(address)


def names(addresses: Iterable[str]) -> str:
    """Addresses in EIP-55 form, comma-separated."""
    return ", ".join(checksum(a) for a in addresses)
