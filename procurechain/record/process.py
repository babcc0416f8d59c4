"""The state of one contracting process while its events are applied in order.

The state is mostly OCDS already (documents, milestones and transactions as dictionaries,
written when their event is applied, so every sentence says what was known then); the
snapshot (:mod:`procurechain.record.snapshot`) deep-copies it into a release. Events are
applied by :mod:`procurechain.record.tendering` (registry, tender, consortium) and
:mod:`procurechain.record.execution` (the escrow agreement).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from procurechain.audit import Entry
from procurechain.record.content import OnChainNotice
from procurechain.record.facts import ChainFacts, TenderTerms
from procurechain.record.money import Currency, iso
from procurechain.record.parties import Names
from procurechain.record.texts import DocumentChecker, Reasons

__all__ = ["Award", "Bid", "Context", "Contract", "Milestone", "Process"]


@dataclass
class Context:
    """What every process shares: names, money, published texts, document checks."""

    facts: ChainFacts
    names: Names
    reasons: Reasons
    checker: DocumentChecker

    @property
    def currency(self) -> Currency:
        """The registry's token and how its amounts are stated."""
        return self.facts.currency

    def money(self, amount: int) -> str:
        """``42,500.00 dUSD``."""
        return self.currency.text(amount)

    def by(self, entry: Entry) -> str:
        """Who made the change: the consortium with its signers, or the sender."""
        if entry.signers:
            return f"the consortium (signed by {self.names.listing(entry.signers)})"
        return self.names.name(entry.actor)


@dataclass
class Bid:
    """One bidder's sealed bid."""

    id: str
    bidder: str
    date: str
    status: str = "pending"
    price: int | None = None
    documents: list[dict[str, Any]] = field(default_factory=list)

    def doc(self, kind: str) -> dict[str, Any] | None:
        """The bid's document of this type, if any."""
        return next((d for d in self.documents if d["documentType"] == kind), None)


@dataclass
class Award:
    """One award decision."""

    id: str
    bidder: str
    bid: str
    price: int
    date: str
    description: str
    status: str = "pending"
    documents: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Milestone:
    """One milestone of the contract."""

    id: str
    title: str
    amount: int
    share_bps: int
    due: int
    status: str = "scheduled"
    date_met: str = ""
    date_modified: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``Milestone <n>``, for document titles."""
        return f"Milestone {self.id.rsplit('-', 1)[1]}"


@dataclass
class Contract:
    """The contract: the escrow agreement the accepted award created."""

    id: str
    award: Award
    signed: str
    created: int
    status: str = "pending"
    retention_held: int = 0
    milestones: list[Milestone] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)  # implementation's
    transactions: list[dict[str, Any]] = field(default_factory=list)
    closing: str = ""


@dataclass
class Process:
    """One contracting process (one tender and what followed it)."""

    ocid: str
    tender_id: int
    tender: str
    buyer: str
    terms: TenderTerms
    notice: OnChainNotice | None
    published: int
    created_tx: str
    plan: list[dict[str, Any]]
    status: str = "active"
    documents: list[dict[str, Any]] = field(default_factory=list)
    bids: dict[str, Bid] = field(default_factory=dict)
    awards: list[Award] = field(default_factory=list)
    contract: Contract | None = None
    leader: str | None = None
    ranking_deadline: int = 0
    accept_deadline: int = 0
    conflicts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """Nothing more can happen: cancelled, failed, or the contract closed."""
        if self.contract is not None:
            return self.contract.status == "terminated"
        return self.status in ("cancelled", "unsuccessful")

    @property
    def award(self) -> Award | None:
        """The latest award."""
        return self.awards[-1] if self.awards else None

    def subjects(self) -> set[str]:
        """Addresses a conflict of interest may name to concern this process."""
        found = {self.tender, self.buyer, *self.bids}
        if self.contract is not None:
            found.add(self.contract.id)
        return found


def when(entry: Entry) -> str:
    """The entry's time, ISO 8601 UTC."""
    return iso(entry.timestamp)
