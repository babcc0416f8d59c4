"""An agreement and its milestones as replayed from their events."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from procurechain.invariants.bonds import Tender
from procurechain.invariants.wording import checksum


@dataclass
class Milestone:
    """A scheduled milestone.

    Attributes:
        amount: its share of the price.
        due: its scheduled due date.
        submitted: when its latest submission was mined.
        settled: the event that settled it ("" while open).
    """

    amount: int
    due: int
    submitted: int | None = None
    settled: str = ""


@dataclass
class Agreement:
    """An agreement, from the ``AwardAccepted`` of its tender on.

    Attributes:
        address: its address, lower-case.
        tender: the tender that created it.
        supplier: the supplier its tender named.
        price: the price its tender named.
        created: the time of its ``AgreementInitialized``.
        funded: the time of its ``AgreementFunded``.
        milestones: the scheduled milestones by index.
        credits: what it owes each account (``Credited`` minus ``Withdrawn``).
        credited_supplier: what it has credited the supplier in all.
        over_price_reported: whether ``c.credits`` was reported.
        short_gap: how far it was short of its credits, as last reported (<= 0).
    """

    address: str
    tender: Tender
    supplier: str
    price: int
    created: int | None = None
    funded: int | None = None
    milestones: dict[int, Milestone] = field(default_factory=dict)
    credits: Counter[str] = field(default_factory=Counter)
    credited_supplier: int = 0
    over_price_reported: bool = False
    short_gap: int = 0

    @property
    def label(self) -> str:
        """How sentences name it: ``Agreement 0xAbC... (tender #1)``."""
        return f"Agreement {checksum(self.address)} (tender #{self.tender.id})"

    def due(self, index: int) -> tuple[int, int] | None:
        """(scheduled due date, due date counted from funding) once funded."""
        m = self.milestones.get(index)
        if m is None or self.created is None or self.funded is None:
            return None
        return m.due, m.due + (self.funded - self.created)
