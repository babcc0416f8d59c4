"""Token flows in and out of the followed tenders and agreements, as their ``Transfer`` logs
show them: balances and totals over the whole history, and one transaction's flows, which
must match the settlement events of that transaction (rules b.unexplained, c.unexplained)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Container

from procurechain.invariants.events import Event
from procurechain.invariants.violations import Reporter
from procurechain.invariants.wording import checksum

#: Tokens sent, counted by (recipient, amount).
Sends = Counter[tuple[str, int]]


class TokenFlows:
    """The followed contracts' token movements, replayed from ``Transfer`` events.

    Args:
        report: where violations go.
    """

    def __init__(self, report: Reporter) -> None:
        self.report = report
        #: Each holder's balance by its transfers.
        self.balances: Counter[str] = Counter()
        #: What each holder has sent each recipient in all.
        self.paid: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.reset_tx()

    def reset_tx(self) -> None:
        """Forget the flows of the transaction that ended."""
        self.expected_out: defaultdict[str, Sends] = defaultdict(Counter)
        self.actual_out: defaultdict[str, Sends] = defaultdict(Counter)
        self.inflows: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)

    def transfer(self, e: Event, followed: Container[str]) -> list[str]:
        """Apply a token ``Transfer``.

        Args:
            e: the event.
            followed: the addresses of the tenders and agreements known so far.

        Returns:
            The followed addresses it moved tokens out of or into.
        """
        source, target, value = e.args["from"], e.args["to"], e.args["value"]
        touched = []
        if source in followed:
            self.balances[source] -= value
            self.actual_out[source][(target, value)] += 1
            self.paid[source][target] += value
            touched.append(source)
        if target in followed:
            self.balances[target] += value
            self.inflows[target].append((source, value))
            touched.append(target)
        return touched

    def expect_out(self, address: str, to: str, amount: int) -> None:
        """A settlement event of this transaction says ``address`` pays ``to`` ``amount``."""
        self.expected_out[address][(to, amount)] += 1

    def received(self, address: str, source: str) -> list[int]:
        """The amounts ``address`` received from ``source`` in this transaction."""
        return [v for s, v in self.inflows.get(address, []) if s == source]

    def check_explained(self, rule: str, label: str, address: str, last: Event, what: str) -> None:
        """Every token ``address`` sent in this transaction is one ``what`` event, and every
        such event one transfer; else a violation of ``rule`` listing both differences."""
        actual = self.actual_out.get(address, Counter())
        expected = self.expected_out.get(address, Counter())
        if actual == expected:
            return
        extra = actual - expected
        missing = expected - actual
        money = self.report.money
        parts = [
            f"sent {money(v)} to {checksum(to)} with no {what}" for (to, v) in extra.elements()
        ]
        parts += [
            f"{what} of {money(v)} to {checksum(to)} without that transfer"
            for (to, v) in missing.elements()
        ]
        self.report(
            rule,
            label,
            last,
            "; ".join(parts),
            unexplained=sum(v for _, v in extra.elements()),
            missing=sum(v for _, v in missing.elements()),
        )
