"""Tender bonds (invariants a and b): a tender holds one bond per bidder it still owes, and
settles each bidder's bond once, with one transfer per settlement event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from procurechain.invariants.events import Event
from procurechain.invariants.flows import TokenFlows
from procurechain.invariants.violations import Reporter
from procurechain.invariants.wording import checksum

SETTLEMENTS = ("BondWithdrawn", "BondReturned", "BondForfeited")


@dataclass
class Tender:
    """A tender as replayed from its events.

    Attributes:
        address: its address, lower-case.
        id: the registry's tender id.
        buyer: the agency that created it.
        bidders: who committed a bid, in order of their first commitment.
        settled: each settled bidder's settlements: (event, amount, block, tx).
        bond: the bond, from the first settlement or the first bid's transfer.
        overpaid_reported: bidders already reported as overpaid.
        gap: the balance minus what it owes, as last reported.
    """

    address: str
    id: int
    buyer: str
    bidders: list[str] = field(default_factory=list)
    settled: dict[str, list[tuple[str, int, int, str]]] = field(default_factory=dict)
    bond: int | None = None
    overpaid_reported: set[str] = field(default_factory=set)
    gap: int = 0

    @property
    def label(self) -> str:
        """How sentences name it: ``Tender #1 0xAbC...``."""
        return f"Tender #{self.id} {checksum(self.address)}"

    def owed(self) -> tuple[int, int]:
        """(bonds still held, tokens they amount to)."""
        held = sum(1 for b in self.bidders if b not in self.settled)
        return held, held * (self.bond or 0)

    def owing(self, balance: int, money: Callable[[int], str]) -> tuple[str, dict[str, int]]:
        """What it owes, as words (amounts shown by ``money``) and figures, next to a
        ``balance``."""
        held, expected = self.owed()
        bond = self.bond or 0
        text = f"owes {money(expected)} ({held} bonds of {money(bond)} still held)"
        return text, {"balance": balance, "expected": expected, "held": held, "bond": bond}


class Bonds:
    """The tenders of a registry and the checks of their bonds.

    Args:
        report: where violations go.
        flows: the token flows (balances, and this transaction's transfers).
    """

    def __init__(self, report: Reporter, flows: TokenFlows) -> None:
        self.report, self.flows = report, flows
        self.tenders: dict[str, Tender] = {}
        self.reset_tx()

    def reset_tx(self) -> None:
        """Forget the transaction that ended."""
        self.first_commits: defaultdict[str, list[str]] = defaultdict(list)

    def created(self, e: Event) -> None:
        """The registry's ``TenderCreated``: follow the tender."""
        a = e.args
        self.tenders[a["tender"]] = Tender(a["tender"], a["id"], a["agency"])

    def on_event(self, t: Tender, e: Event) -> None:
        """An event of tender ``t``."""
        if e.name == "BidCommitted":
            bidder = e.args["bidder"]
            if bidder not in t.bidders:
                t.bidders.append(bidder)
                self.first_commits[t.address].append(bidder)
        elif e.name in SETTLEMENTS:
            self._settle(t, e)

    def _settle(self, t: Tender, e: Event) -> None:
        """(b) a bond is settled once, and only for a bidder."""
        bidder, amount = e.args["bidder"], e.args["amount"]
        money = self.report.money
        self.flows.expect_out(t.address, e.args.get("buyer", bidder), amount)
        if t.bond is None:
            t.bond = amount
        if bidder not in t.bidders:
            self.report(
                "b.stranger",
                t.label,
                e,
                f"{e.name} of {money(amount)} for {checksum(bidder)}, which never committed a bid",
                amount=amount,
            )
        earlier = t.settled.setdefault(bidder, [])
        if earlier:
            kind, first_amount, block, tx = earlier[0]
            self.report(
                "b.double",
                t.label,
                e,
                f"the bond of {checksum(bidder)} is settled a second time ({e.name} of "
                f"{money(amount)}) after {kind} of {money(first_amount)} in block {block} "
                f"(tx {tx})",
                amount=amount,
                first_amount=first_amount,
                settlements=len(earlier) + 1,
            )
        earlier.append((e.name, amount, e.block, e.tx))

    def end_tx(self, t: Tender, last: Event) -> None:
        """(a, b) after a transaction that touched ``t``, whose last event is ``last``."""
        for bidder in self.first_commits.get(t.address, []):
            pulled = self.flows.received(t.address, bidder)
            if t.bond is None and pulled:
                t.bond = pulled[0]
        self.flows.check_explained("b.unexplained", t.label, t.address, last, "settlement event")
        bond, money = t.bond or 0, self.report.money
        paid_to = self.flows.paid[t.address]
        for bidder in t.bidders:
            paid = paid_to.get(bidder, 0)
            if paid > bond and bidder not in t.overpaid_reported and bidder != t.buyer:
                t.overpaid_reported.add(bidder)
                self.report(
                    "b.overpaid",
                    t.label,
                    last,
                    f"sent {checksum(bidder)} {money(paid)} in all, more than its one bond of "
                    f"{money(bond)}",
                    paid=paid,
                    bond=bond,
                )
        balance = self.flows.balances[t.address]
        gap = balance - t.owed()[1]
        if gap != t.gap:
            t.gap = gap
            if gap:
                owes, amounts = t.owing(balance, money)
                side = "short" if gap < 0 else "over"
                text = (
                    f"holds {money(balance)} by its transfers but {owes}: {side} by "
                    f"{money(abs(gap))}"
                )
                self.report("a.balance", t.label, last, text, **amounts)

    def end_read(self, t: Tender, balance: int) -> None:
        """(a) the balance the token reports at the history's last block."""
        if balance != t.owed()[1]:
            owes, amounts = t.owing(balance, self.report.money)
            text = f"the token says it holds {self.report.money(balance)} but it {owes}"
            self.report("a.balance", t.label, None, text, **amounts)
