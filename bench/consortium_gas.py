"""Gas of a 3-of-5 consortium decision that transfers an ERC-20, against Safe v1.4.1.

Both multisigs hold dUSD and pay a fresh recipient with three ECDSA signatures from five
owners. The first execution also pays for the nonce slot (zero -> non-zero) in both; the
second is the steady state. Also: our execute at 3-of-5, 5-of-9 and 11-of-21.
"""

from __future__ import annotations

from typing import Any

from ape import accounts, project

from bench.safe import deploy_safe, exec_transaction
from procurechain import consortium as cs
from procurechain.calls import call_of

AMOUNT = 1_000 * 10**6


def _fresh_recipient(index: int) -> str:
    return "0x" + f"{0xBEEF0000 + index:040x}"


def _consortium(deployer: Any, members: list[Any], threshold: int) -> Any:
    roles = [1 << (i % 5) for i in range(len(members))]
    return deployer.deploy(project.Consortium, members, roles, threshold, [], [])


def _execute(consortium: Any, token: Any, signers: list[Any], to: str, sender: Any) -> int:
    proposal = cs.propose(consortium, call_of(token, "transfer", to, AMOUNT))
    for signer in signers:
        cs.sign(proposal, consortium, signer)
    return int(cs.execute(proposal, consortium, sender).gas_used)


def run() -> dict[str, Any]:
    """Measure and return the figures (gas units)."""
    pool = accounts.test_accounts
    deployer, sender = pool[0], pool[29]
    owners = [pool[i] for i in range(1, 6)]
    token = deployer.deploy(project.DemoStablecoin, deployer)

    consortium = _consortium(deployer, owners, 3)
    safe = deploy_safe(deployer, owners, 3)
    for holder in (consortium, safe):
        token.mint(holder, 10 * AMOUNT, sender=deployer)

    ours, safes = [], []
    for round_ in range(2):
        ours.append(_execute(consortium, token, owners[:3], _fresh_recipient(2 * round_), sender))
        data = token.transfer.encode_input(_fresh_recipient(2 * round_ + 1), AMOUNT)
        safes.append(int(exec_transaction(safe, owners[:3], token.address, data, sender).gas_used))

    scaling = {}
    for members_count, threshold in ((5, 3), (9, 5), (21, 11)):
        group = [pool[i] for i in range(1, 1 + members_count)]
        council = _consortium(deployer, group, threshold)
        token.mint(council, 10 * AMOUNT, sender=deployer)
        _execute(council, token, group[:threshold], _fresh_recipient(100 + members_count), sender)
        scaling[f"{threshold}-of-{members_count}"] = _execute(
            council, token, group[:threshold], _fresh_recipient(200 + members_count), sender
        )

    return {
        "execute_first": ours[0],
        "execute_steady": ours[1],
        "safe_first": safes[0],
        "safe_steady": safes[1],
        "ratio_first": ours[0] / safes[0],
        "ratio_steady": ours[1] / safes[1],
        "scaling": scaling,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "## Consortium `execute` vs Safe v1.4.1 `execTransaction`",
        "",
        "Same ERC-20 transfer to a fresh recipient, 3 of 5 owners' ECDSA signatures, measured",
        "side by side on the same Anvil (gas used by the whole transaction).",
        "",
        "| execution | procurechain | Safe 1.4.1 | ours / Safe |",
        "| --- | ---: | ---: | ---: |",
        f"| first (nonce slot zero -> set) | {result['execute_first']:,} | "
        f"{result['safe_first']:,} | {result['ratio_first']:.3f} |",
        f"| steady state | {result['execute_steady']:,} | {result['safe_steady']:,} | "
        f"{result['ratio_steady']:.3f} |",
        "",
        "Consortium size (steady state, threshold signers):",
        "",
        "| members | gas | ratio to 3-of-5 |",
        "| --- | ---: | ---: |",
    ]
    base = result["scaling"]["3-of-5"]
    for label, gas in result["scaling"].items():
        lines.append(f"| {label} | {gas:,} | {gas / base:.3f} |")
    return [*lines, ""]
