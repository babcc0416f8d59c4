"""What each flag means, in plain words, and where its full definition is.

Cardinal's indicators link to their pages in Cardinal's documentation; this chain's own flags
link to their sections of ``docs/flags.md``. Codes never change meaning: a new rule gets a new
code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CARDINAL_DOCS", "DEFINITIONS", "FLAGS_DOC", "Definition"]

CARDINAL_DOCS = "https://cardinal.readthedocs.io/en/latest/cli/indicators/R/{number}.html"
#: Where this chain's flags are defined (relative to the repository; the portal serves it).
FLAGS_DOC = "docs/flags.md#{anchor}"


@dataclass(frozen=True)
class Definition:
    """One flag's definition.

    Attributes:
        code: ``R003`` … or ``P001`` ….
        title: a short name.
        description: what it means, for a citizen.
        url: its full definition.
        party_role: whom a process's flag names as its party (``buyer`` or ``tenderer``), for
            Cardinal's maps; None when it names none.
    """

    code: str
    title: str
    description: str
    url: str
    party_role: Literal["buyer", "tenderer"] | None = None

    @property
    def source(self) -> str:
        """The definition's URL (the name the portal's pages read it by)."""
        return self.url

    @property
    def kind(self) -> str:
        """``Cardinal`` for OCP's indicators, ``chain`` for this chain's own flags."""
        return "Cardinal" if self.code.startswith("R") else "chain"


def _cardinal(code: str, title: str, description: str) -> Definition:
    return Definition(code, title, description, CARDINAL_DOCS.format(number=code[1:]))


def _chain(code: str, title: str, description: str, role: str) -> Definition:
    party: Literal["buyer", "tenderer"] = "buyer" if role == "buyer" else "tenderer"
    return Definition(code, title, description, FLAGS_DOC.format(anchor=code.lower()), party)


DEFINITIONS: dict[str, Definition] = {
    d.code: d
    for d in (
        _cardinal(
            "R003",
            "Short submission period",
            "Bidders had less time than usual to prepare their bids, which favours whoever knew "
            "about the tender in advance.",
        ),
        _cardinal(
            "R018",
            "Single bid received",
            "Only one company bid in a procedure open to all: there was no competition.",
        ),
        _cardinal(
            "R024",
            "Price close to winning bid",
            "The winning bid and the next lowest are unusually close, which can mean the "
            "bidders agreed their prices.",
        ),
        _cardinal(
            "R025",
            "Excessive unsuccessful bids",
            "A company that bids very often but almost never wins, as a company bidding only "
            "to make a rigged competition look real would.",
        ),
        _cardinal(
            "R028",
            "Identical bid prices",
            "Different companies bid exactly the same price, which is unlikely unless they "
            "coordinated.",
        ),
        _cardinal(
            "R030",
            "Late bid won",
            "The winning bid was submitted after the deadline for bids.",
        ),
        _cardinal(
            "R035",
            "All except winning bid disqualified",
            "Every bid but the winner's was disqualified, leaving the winner without rivals.",
        ),
        _cardinal(
            "R036",
            "Lowest bid disqualified",
            "The cheapest bid was disqualified while the award was on price, so a more "
            "expensive bid won.",
        ),
        _cardinal(
            "R038",
            "Excessive disqualified bids",
            "An unusually large share of the bids received by a buyer (or submitted by a "
            "company) were disqualified.",
        ),
        _cardinal(
            "R048",
            "Heterogeneous supplier",
            "A supplier won contracts for unusually many different kinds of goods and "
            "services, as a front company might.",
        ),
        _cardinal(
            "R058",
            "Heavily discounted bid",
            "The winning bid is far below the next one, which can mean a price cut to win "
            "followed by extra costs later, or a cover bid.",
        ),
        _chain(
            "P001",
            "Award by a bare quorum with recusals",
            "The consortium awarded the tender with exactly the minimum number of signatures, "
            "while members who had declared a conflict of interest were left out.",
            "tenderer",
        ),
        _chain(
            "P002",
            "Tenders split just under the rollout cap",
            "One agency published several tenders close together, each budgeted just under "
            "the most a tender may cost in this phase: a large purchase may have been split to "
            "stay under the cap.",
            "buyer",
        ),
        _chain(
            "P003",
            "Same winner again and again",
            "Most of an agency's contracts went to the same supplier.",
            "buyer",
        ),
        _chain(
            "P004",
            "Winning price near the budget",
            "The winning price is very close to the most the buyer said it would pay, as when "
            "bidders know the budget and do not compete on price.",
            "tenderer",
        ),
        _chain(
            "P005",
            "Late milestones",
            "The supplier delivered work late (the contract then takes a late penalty), or has "
            "still not delivered after the due date.",
            "tenderer",
        ),
        _chain(
            "P006",
            "Disputed milestones",
            "The buyer or the supplier disputed a delivery, and the consortium had to decide "
            "how much to pay.",
            "tenderer",
        ),
        _chain(
            "P007",
            "Lapsed award",
            "A company won the tender but never accepted the contract, and lost its bond.",
            "tenderer",
        ),
        _chain(
            "P008",
            "Forfeited bond",
            "A bidder lost its bond: it never revealed its sealed bid, or let its award lapse.",
            "tenderer",
        ),
    )
}
