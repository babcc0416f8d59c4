"""What a broken invariant is (:class:`Violation`), the rule codes (:data:`RULES`), and the
:class:`Reporter` the checks write them with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from procurechain import display
from procurechain.invariants.events import Event

#: What each rule code means (the first letter is the invariant of the package docstring).
RULES: dict[str, str] = {
    "a.balance": "a tender holds its bond times the bidders whose bond it still holds",
    "b.double": "a bidder's bond is settled at most once",
    "b.overpaid": "a tender sends one bidder at most one bond",
    "b.unexplained": "every token leaving a tender is one settlement event",
    "b.stranger": "bonds are settled only for bidders that committed",
    "c.balance": "an agreement's balance is its transfers in minus out",
    "c.short": "an agreement holds at least the credits it owes",
    "c.unexplained": "tokens leave an agreement only as a Withdrawn credit",
    "c.credit-balance": "Credited/Withdrawn amounts add up per account",
    "c.credits": "the supplier's credits never exceed the price",
    "c.milestone": "milestone money adds up and each milestone settles once",
    "c.terms": "an agreement is the one its tender created",
    "d.no-action": "a payment follows a consortium action aimed at the agreement",
    "d.selector": "a payment follows acceptMilestone or resolveDispute",
    "d.member": "payment signers are legitimate members",
    "d.threshold": "payment signers reach the threshold",
    "d.roles": "payment signers hold the roles paying requires",
    "d.recused": "no payment signer is in conflict with a party of the contract",
    "d.self": "the supplier never signs its own payment",
    "e.roles": "governance signers hold every role required at deployment",
    "e.self": "no governance signer is the member the change names",
    "e.undecodable": "a governance action can be read from its transaction",
    "f.penalty": "no late penalty when the submission was not after the due date from funding",
    "f.days-late": "a submission not after its due date from funding is not reported late",
    "g.member": "signers are members",
    "g.threshold": "signers reach the threshold",
    "g.order": "signers are sorted and distinct",
    "g.roles": "signers hold the roles of the policy in force",
    "g.recused": "no signer is recused from the action's target or subject",
}


@dataclass(frozen=True)
class Violation:
    """One broken invariant.

    Attributes:
        rule: the rule code (a key of :data:`RULES`), e.g. ``"b.double"``.
        contract: the contract concerned, e.g. ``"Tender #1 0xAbC..."``.
        block: the block where it shows.
        tx: the transaction where it shows ("" for a balance read at the end).
        message: one plain-English sentence with the contract, block (and its time), tx and
            amounts (in token units with the token's symbol; times as ISO dates in UTC).
        amounts: the figures of the sentence, by name, exact (token base units, unix seconds,
            counts).
    """

    rule: str
    contract: str
    block: int
    tx: str
    message: str
    amounts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


class Reporter:
    """The violations found so far, in the order they were found, and how their sentences
    show amounts and times.

    Args:
        to_block: the history's last block (where a balance read at the end shows).
        token: the token's symbol and decimals; None: amounts show as base units.
        blocks: the history's blocks (``{"12": {"timestamp": ...}}``), to date each block.
    """

    def __init__(
        self,
        to_block: int,
        token: display.Token | None = None,
        blocks: Mapping[str, Any] | None = None,
    ) -> None:
        self.to_block = to_block
        self.token = token
        self.blocks: Mapping[str, Any] = blocks or {}
        self.violations: list[Violation] = []

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Reporter:
        """The reporter of a history's JSON form (its last block, token and block times)."""
        symbol, decimals = data.get("tokenSymbol"), data.get("tokenDecimals")
        token = None if decimals is None else display.Token(symbol or "", int(decimals))
        return cls(int(data["toBlock"]), token, data.get("blocks"))

    def money(self, amount: int) -> str:
        """A token amount as people read it (``16,150.00 dUSD``); base units when the token
        did not say its decimals."""
        if self.token is None:
            return f"{amount:,} base units"
        return self.token.money(amount)

    @staticmethod
    def when(timestamp: int) -> str:
        """A time as an ISO date in UTC."""
        return display.when(timestamp)

    def _block(self, block: int) -> str:
        """``block 26 at 2026-12-13T09:06:34Z`` (the time where the history knows it)."""
        known = self.blocks.get(str(block))
        return f"block {block} at {display.when(known['timestamp'])}" if known else f"block {block}"

    def __call__(
        self, rule: str, contract: str, event: Event | None, text: str, **amounts: int
    ) -> None:
        """Record a violation of ``rule`` at ``event`` (None: the balances read at the end).

        Args:
            rule: the rule code.
            contract: the contract's label, which starts the sentence.
            event: the event where it shows; None for a balance read at :attr:`to_block`.
            text: the rest of the sentence.
            **amounts: the sentence's figures, by name.
        """
        block = event.block if event else self.to_block
        tx = event.tx if event else ""
        where = f"{self._block(block)}, tx {tx}" if tx else f"balance read at {self._block(block)}"
        message = f"{contract} ({where}): {text}"
        self.violations.append(Violation(rule, contract, block, tx, message, dict(amounts)))
