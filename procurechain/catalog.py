"""What a simulated city buys: the notices and the standard reasons of ``ape run simulate``.

Each tender of a simulation gets a real notice (a title, a description, one classified item,
one document bound to its SHA-256, a title per milestone), chosen from :data:`PURCHASES` by
the tender's number, so the drawn parameters of a seed do not change. The consortium's
decisions name the hashes of :data:`REASONS`, which the simulation publishes once, so every
reason in its record reads as a sentence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from eth_utils import keccak

from procurechain.record.notice import Classification, Document, Item, Notice

__all__ = ["PURCHASES", "REASONS", "Purchase", "notice_for", "reason"]


@dataclass(frozen=True)
class Purchase:
    """One kind of purchase: what, how many of which unit, its CPV code and category."""

    title: str
    item: str
    quantity: int
    unit: str
    cpv: str
    label: str
    category: str


PURCHASES: tuple[Purchase, ...] = (
    Purchase("Road resurfacing", "Asphalt resurfacing", 4_000, "m2", "45233142",
             "Road-repair works", "works"),
    Purchase("School laptops", "Laptop, 14 inch, 16 GB", 120, "laptop", "30213100",
             "Portable computers", "goods"),
    Purchase("LED street lights", "LED street-light head, 60 W", 300, "light", "34993000",
             "Road lights", "goods"),
    Purchase("Park maintenance", "Grounds maintenance, monthly", 12, "month", "77313000",
             "Parks maintenance services", "services"),
    Purchase("Playground equipment", "Playground set with safety surface", 3, "set",
             "37535200", "Playground equipment", "goods"),
    Purchase("Office cleaning", "Office cleaning, monthly", 12, "month", "90919200",
             "Office cleaning services", "services"),
    Purchase("Bicycle racks", "Steel bicycle rack, 5 places", 80, "rack", "34928400",
             "Urban furniture", "goods"),
    Purchase("Library roof repair", "Roof repair works", 1, "lot", "45261900",
             "Roof repair and maintenance work", "works"),
)  # fmt: skip

#: The standard reasons of a simulation's decisions, by what they decide.
REASONS: dict[str, str] = {
    "award": "Award report: the lowest valid price, as the tender's award criteria say.",
    "cancel": "Cancelled: the budget for this purchase was withdrawn.",
    "reject": "Rejected: the delivery is not as specified; deliver again.",
    "dispute": "Disputed by the buyer: the delivery is not as specified.",
    "resolve": "Resolution: the consortium pays the share of the work that meets the spec.",
    "conflict": "I advised this supplier in the last two years.",
}


def reason(kind: str) -> bytes:
    """The hash a decision of ``kind`` names (keccak-256 of :data:`REASONS`'s text)."""
    return keccak(text=REASONS[kind])


def notice_for(number: int, district: str, milestones: int) -> Notice:
    """The notice of simulated tender ``number`` in ``district`` with ``milestones``
    milestones (the same notice for the same arguments)."""
    p = PURCHASES[number % len(PURCHASES)]
    specification = f"{p.title}, {district}: technical specification of tender {number}"
    return Notice(
        title=f"{p.title} for {district} (tender {number})",
        description=f"{p.item}: {p.quantity:,} {p.unit} for {district}.",
        category=p.category,
        items=(Item(p.item, Decimal(p.quantity), p.unit, Classification("CPV", p.cpv, p.label)),),
        documents=(
            Document(
                title="Technical specification",
                type="technicalSpecifications",
                format="text/plain",
                url=f"https://city.example/tenders/{number}/specification.txt",
                sha256=hashlib.sha256(specification.encode()).hexdigest(),
            ),
        ),
        milestones=tuple(f"Delivery {k + 1} of {milestones}" for k in range(milestones)),
    )
