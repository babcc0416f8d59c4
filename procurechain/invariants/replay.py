"""The coordinator: one chronological pass over a history's events, each handed to the
concern of its emitter, with the checks that close each transaction and the history."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from functools import partial
from typing import Any

from procurechain.invariants.bonds import Bonds
from procurechain.invariants.escrow import Escrow
from procurechain.invariants.events import Event, decode_events
from procurechain.invariants.flows import TokenFlows
from procurechain.invariants.payments import check_payment
from procurechain.invariants.quorum import Quorum
from procurechain.invariants.violations import Reporter, Violation


class Replay:
    """One pass over a history: token transfers, tenders, agreements and the consortium.

    Args:
        data: the history's JSON form.
        pay_roles: the roles paying requires (see :func:`procurechain.invariants.check`).
    """

    def __init__(self, data: Mapping[str, Any], pay_roles: int | None) -> None:
        self.data = data
        self.registry, self.consortium = data["registry"], data["consortium"]
        self.token = data["token"]
        self.events = decode_events(data)
        self.report = Reporter.of(data)
        self.flows = TokenFlows(self.report)
        self.bonds = Bonds(self.report, self.flows)
        self.quorum = Quorum(self.report, data, self.events, pay_roles)
        payments = partial(check_payment, self.report, self.quorum)
        self.escrow = Escrow(self.report, self.flows, data, payments)
        self.holders = ChainMap[str, Any](self.bonds.tenders, self.escrow.agreements)
        self.touched: set[str] = set()

    def run(self) -> list[Violation]:
        """Replay every event, closing each transaction after its last event.

        Returns:
            The violations in the order found.
        """
        current: tuple[int, str] | None = None
        last: Event | None = None
        for event in self.events:
            if current is not None and (event.block, event.tx) != current and last is not None:
                self.end_tx(last)
            current, last = (event.block, event.tx), event
            self.dispatch(event)
        if last is not None:
            self.end_tx(last)
        self.end_reads()
        return self.report.violations

    def dispatch(self, e: Event) -> None:
        """Hand ``e`` to the concern of its emitter."""
        if e.address == self.token and e.name == "Transfer":
            self.touched.update(self.flows.transfer(e, self.holders))
        elif e.address == self.registry and e.name == "TenderCreated":
            self.bonds.created(e)
        elif e.address == self.consortium:
            self.quorum.on_event(e)
        elif e.address in self.bonds.tenders:
            self.touched.add(e.address)
            tender = self.bonds.tenders[e.address]
            self.bonds.on_event(tender, e)
            if e.name == "AwardAccepted":
                self.escrow.opened(tender, e)
        elif e.address in self.escrow.agreements:
            self.touched.add(e.address)
            self.escrow.on_event(self.escrow.agreements[e.address], e)

    def end_tx(self, last: Event) -> None:
        """Close the transaction whose last event is ``last``: the checks of every tender and
        agreement it touched, in address order."""
        for address in sorted(self.touched):
            if address in self.bonds.tenders:
                self.bonds.end_tx(self.bonds.tenders[address], last)
            elif address in self.escrow.agreements:
                self.escrow.end_tx(self.escrow.agreements[address], last)
        self.touched = set()
        for concern in (self.flows, self.bonds, self.escrow, self.quorum):
            concern.reset_tx()

    def end_reads(self) -> None:
        """The balances read from the token at the history's last block."""
        for address, read in sorted(self.data["balances"].items()):
            if int(read["block"]) != int(self.data["toBlock"]):
                continue
            balance = int(read["balance"])
            if address in self.bonds.tenders:
                self.bonds.end_read(self.bonds.tenders[address], balance)
            elif address in self.escrow.agreements:
                self.escrow.end_read(self.escrow.agreements[address], balance)
