"""Function selectors the checker knows by their hard-coded signatures."""

from __future__ import annotations

from eth_utils import keccak


def selector(signature: str) -> str:
    """The 4-byte selector of a function signature, as 0x-hex.

    Args:
        signature: the canonical signature, e.g. ``"balanceOf(address)"``.

    Returns:
        The first four bytes of its keccak, e.g. ``"0x70a08231"``.
    """
    return "0x" + keccak(text=signature).hex()[:8]


#: ``Agreement.acceptMilestone``: a payment; its first policy is what paying requires.
ACCEPT = selector("acceptMilestone(uint256)")
#: ``Agreement.resolveDispute``: the other payment.
RESOLVE = selector("resolveDispute(uint256,uint256,bytes32)")
#: ``Consortium.liftConflict``: its second argument is a subject too (those in conflict with
#: it do not count).
LIFT_CONFLICT = selector("liftConflict(address,address)")
#: ``Consortium.execute``: the transactions whose calldata holds the executed actions.
EXECUTE = selector("execute((address,uint256,bytes,uint256,uint256),bytes)")
#: ``ERC20.balanceOf``: the balances read at the end of a history.
BALANCE_OF = selector("balanceOf(address)")
#: ``ERC20.symbol`` and ``ERC20.decimals``: how violation sentences call amounts.
SYMBOL = selector("symbol()")
DECIMALS = selector("decimals()")
