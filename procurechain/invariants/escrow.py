"""Agreements as escrow (invariants c and f): the money an agreement holds, credits and pays
out adds up, and the agreement is the one its tender created."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from procurechain.invariants.agreements import Agreement, Milestone
from procurechain.invariants.bonds import Tender
from procurechain.invariants.events import Event
from procurechain.invariants.flows import TokenFlows
from procurechain.invariants.penalties import check_days_late, check_penalty
from procurechain.invariants.violations import Reporter
from procurechain.invariants.wording import checksum

#: Called with an agreement and the event of a payment to its supplier (``paid > 0``).
OnPayment = Callable[[Agreement, Event], None]


class Escrow:
    """The agreements of the followed tenders and the checks of their money.

    Args:
        report: where violations go.
        flows: the token flows (balances, and this transaction's transfers).
        data: the history's JSON form (its addresses and block times are read).
        on_payment: called after the checks of each payment to a supplier.
    """

    def __init__(
        self, report: Reporter, flows: TokenFlows, data: Mapping[str, Any], on_payment: OnPayment
    ) -> None:
        self.report, self.flows, self.on_payment = report, flows, on_payment
        self.consortium, self.token = data["consortium"], data["token"]
        self.blocks: Mapping[str, Any] = data["blocks"]
        self.agreements: dict[str, Agreement] = {}
        self.handlers: dict[str, Callable[[Agreement, Event], None]] = {
            "AgreementInitialized": self._initialized,
            "MilestoneScheduled": self._scheduled,
            "AgreementFunded": self._funded,
            "MilestoneSubmitted": self._submitted,
            "MilestoneAccepted": self._settled,
            "DisputeResolved": self._settled,
            "Credited": self._credited,
            "Withdrawn": self._withdrawn,
        }
        self.reset_tx()

    def reset_tx(self) -> None:
        """Forget the transaction that ended."""
        self.initialized: set[str] = set()

    def time(self, block: int) -> int:
        """The timestamp of a block of the history."""
        return int(self.blocks[str(block)]["timestamp"])

    def opened(self, t: Tender, e: Event) -> None:
        """Tender ``t``'s ``AwardAccepted``: follow the agreement it created."""
        a = e.args
        self.agreements[a["agreement"]] = Agreement(a["agreement"], t, a["supplier"], a["price"])

    def on_event(self, g: Agreement, e: Event) -> None:
        """An event of agreement ``g``."""
        handler = self.handlers.get(e.name)
        if handler is not None:
            handler(g, e)

    # ---------------------------------------------------------------- handlers

    def _initialized(self, g: Agreement, e: Event) -> None:
        """(c.terms) the agreement is initialised with its tender's terms."""
        g.created = self.time(e.block)
        self.initialized.add(g.address)
        expected = {
            "consortium": self.consortium,
            "buyer": g.tender.buyer,
            "supplier": g.supplier,
            "token": self.token,
            "price": g.price,
        }
        for key, value in expected.items():
            got = e.args[key]
            if got != value:
                shown = self.report.money(value) if isinstance(value, int) else checksum(value)
                told = self.report.money(got) if isinstance(got, int) else checksum(got)
                text = f"initialised with {key} {told}, but its tender says {shown}"
                self.report("c.terms", g.label, e, text)

    def _scheduled(self, g: Agreement, e: Event) -> None:
        g.milestones[e.args["index"]] = Milestone(e.args["amount"], e.args["dueDate"])

    def _funded(self, g: Agreement, e: Event) -> None:
        g.funded = self.time(e.block)

    def _submitted(self, g: Agreement, e: Event) -> None:
        index, now = e.args["index"], self.time(e.block)
        if index in g.milestones:
            g.milestones[index].submitted = now
        check_days_late(self.report, g, e, now)

    def _settled(self, g: Agreement, e: Event) -> None:
        """``MilestoneAccepted`` or ``DisputeResolved``: the split adds up to the milestone,
        the penalty is due, and a payment is checked by ``on_payment``."""
        a = e.args
        penalty = a.get("penalty", 0)
        self._settle(g, e, a["paid"] + penalty + a["retention"] + a.get("refunded", 0))
        check_penalty(self.report, g, e, penalty)
        if a["paid"] > 0:
            self.on_payment(g, e)

    def _settle(self, g: Agreement, e: Event, total: int) -> None:
        """(c.milestone) a scheduled milestone settles once, into exactly its amount."""
        index = e.args["index"]
        m = g.milestones.get(index)
        if m is None:
            self.report("c.milestone", g.label, e, f"{e.name} for unscheduled milestone {index}")
            return
        if m.settled:
            text = f"milestone {index} settled again by {e.name} after {m.settled}"
            self.report("c.milestone", g.label, e, text, amount=m.amount)
        m.settled = e.name
        if total != m.amount:
            money = self.report.money
            self.report(
                "c.milestone",
                g.label,
                e,
                f"{e.name} of milestone {index} splits {money(total)}, but the milestone is "
                f"{money(m.amount)}",
                split=total,
                amount=m.amount,
            )

    def _credited(self, g: Agreement, e: Event) -> None:
        """(c.credit-balance, c.credits) a credit's reported balance adds up, and the
        supplier is never credited more than the price."""
        account, amount, reported = e.args["account"], e.args["amount"], e.args["balance"]
        money = self.report.money
        g.credits[account] += amount
        if reported != g.credits[account]:
            self.report(
                "c.credit-balance",
                g.label,
                e,
                f"credits {money(amount)} to {checksum(account)} and reports a balance of "
                f"{money(reported)}, but its credits add up to {money(g.credits[account])}",
                amount=amount,
                reported=reported,
                derived=g.credits[account],
            )
        if account != g.supplier:
            return
        g.credited_supplier += amount
        if g.credited_supplier > g.price and not g.over_price_reported:
            g.over_price_reported = True
            self.report(
                "c.credits",
                g.label,
                e,
                f"has credited the supplier {checksum(account)} {money(g.credited_supplier)} in "
                f"all, more than the price {money(g.price)}",
                credited=g.credited_supplier,
                price=g.price,
            )

    def _withdrawn(self, g: Agreement, e: Event) -> None:
        """(c.credit-balance) a withdrawal takes the whole credit, as one transfer."""
        account, amount = e.args["account"], e.args["amount"]
        self.flows.expect_out(g.address, account, amount)
        credit = g.credits[account]
        if amount != credit:
            money = self.report.money
            text = f"{checksum(account)} withdrew {money(amount)} while credited {money(credit)}"
            self.report("c.credit-balance", g.label, e, text, amount=amount, credit=credit)
        g.credits[account] = max(0, credit - amount)

    # ---------------------------------------------------------------- boundaries

    def end_tx(self, g: Agreement, last: Event) -> None:
        """(c) after a transaction that touched ``g``, whose last event is ``last``."""
        self.flows.check_explained("c.unexplained", g.label, g.address, last, "Withdrawn credit")
        money = self.report.money
        if g.address in self.initialized and g.milestones:
            total = sum(m.amount for m in g.milestones.values())
            if total != g.price:
                text = f"milestones add up to {money(total)}, not the price {money(g.price)}"
                self.report("c.milestone", g.label, last, text, total=total, price=g.price)
        balance, owed = self.flows.balances[g.address], sum(g.credits.values())
        gap = min(0, balance - owed)
        if gap != g.short_gap:
            g.short_gap = gap
            if gap:
                text = f"holds {money(balance)} by its transfers but owes {money(owed)} in credits"
                self.report("c.short", g.label, last, text, balance=balance, credits=owed)

    def end_read(self, g: Agreement, balance: int) -> None:
        """(c.balance) the balance the token reports at the history's last block."""
        transfers = self.flows.balances[g.address]
        if balance != transfers:
            money = self.report.money
            text = (
                f"the token says it holds {money(balance)} but its transfers leave "
                f"{money(transfers)}"
            )
            self.report("c.balance", g.label, None, text, balance=balance, transfers=transfers)
