"""What this chain's own flags read: the audit log, indexed once, with each tender's terms.

The audit log (:class:`procurechain.audit.AuditLog`) holds every event of the registry, its
tenders and agreements and the consortium, in block order. :class:`ChainView` indexes it by
tender and agreement and joins each tender to its OCDS process (the compiled release whose
``tender.id`` is the tender's address), so every flag can name its ocid.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from procurechain.audit import AuditLog, Entry
from procurechain.flags.context import Context
from procurechain.flags.model import Flag
from procurechain.flags.release import Release, as_text
from procurechain.record.facts import TenderTerms

__all__ = ["ChainRule", "ChainView", "TenderInfo"]

DAY = 86_400
#: The events the chain's flags read by name (others through the contract's own entries).
EVENTS = (
    "TenderCreated",
    "PhaseCapRaised",
    "MemberAdded",
    "MemberRemoved",
    "ThresholdChanged",
    "ConflictDeclared",
    "ConflictLifted",
    "BidRevealed",
    "BidAwarded",
    "AwardAccepted",
    "AwardLapsed",
    "BondForfeited",
)


@dataclass(frozen=True)
class TenderInfo:
    """A tender as the registry published it.

    Attributes:
        id: its id in the registry.
        address: the tender contract.
        agency: the buying agency that published it.
        created: the publication's block time.
        position: (block, log index) of its ``TenderCreated``.
        ocid: its process's ocid, when a compiled release of it was given.
        terms: its immutable terms, when given.
    """

    id: int
    address: str
    agency: str
    created: int
    position: tuple[int, int]
    ocid: str | None
    terms: TenderTerms | None


def position(entry: Entry) -> tuple[int, int]:
    """Where an entry is in the chain's order."""
    return (entry.block, entry.log_index)


class ChainView:
    """The log indexed for the chain's flags.

    Args:
        log: the audit log (collected without a tender or block filter, for complete flags).
        releases: the compiled releases (their ``tender.id`` joins tenders to ocids).
        terms: per tender address, its terms (P002 and P004 need budgets).
        now: the time overdue milestones are judged at (default: the log's last event).
    """

    def __init__(
        self,
        log: AuditLog,
        releases: Iterable[Release],
        terms: Mapping[str, TenderTerms] | None,
        now: int | None = None,
    ) -> None:
        self.log = log
        self._by_event: dict[str, list[Entry]] = {name: [] for name in EVENTS}
        for entry in log.entries:
            if entry.event in self._by_event:
                self._by_event[entry.event].append(entry)
        ocids: dict[str, str] = {}
        for release in releases:
            address = as_text(release.tender.get("id"))
            if address is not None and release.ocid is not None:
                ocids.setdefault(address.lower(), release.ocid)
        self.tenders: dict[str, TenderInfo] = {}
        for entry in self.of("TenderCreated"):
            args = entry.args
            address = str(args.get("tender", ""))
            self.tenders[address] = TenderInfo(
                id=int(args.get("id", 0)),
                address=address,
                agency=str(args.get("agency", "")),
                created=entry.timestamp,
                position=position(entry),
                ocid=ocids.get(address.lower()),
                terms=(terms or {}).get(address),
            )
        self.tender_of_agreement = {a: t for t, a in log.agreements.items()}
        last = log.entries[-1].timestamp if log.entries else 0  # entries are in chain order
        self.now = now if now is not None else last

    @property
    def tender_ids(self) -> dict[str, int]:
        """Per ocid, its tender id."""
        return {t.ocid: t.id for t in self.tenders.values() if t.ocid is not None}

    def tender_of(self, entry: Entry) -> TenderInfo | None:
        """The tender an entry belongs to (its own, or its agreement's)."""
        address = self.tender_of_agreement.get(entry.address, entry.address)
        return self.tenders.get(address)

    def of(self, event: str) -> list[Entry]:
        """The entries of one of :data:`EVENTS`, in chain order."""
        return self._by_event[event]

    def events(self, names: Iterable[str]) -> list[Entry]:
        """Every entry of these events, in chain order."""
        found = [e for name in set(names) for e in self.of(name)]
        return sorted(found, key=position)

    def at(self, address: str) -> list[Entry]:
        """The entries one contract emitted."""
        return self.log.at(address)


class ChainRule(ABC):
    """One of this chain's flags: reads the view, raises flags with evidence."""

    code = ""

    def __init__(self, ctx: Context, view: ChainView) -> None:
        self.ctx = ctx
        self.view = view
        self.flags: list[Flag] = []

    @abstractmethod
    def run(self) -> list[Flag]:
        """The flags."""

    def raise_flag(self, tender: TenderInfo, party: str | None, value: float, said: str) -> None:
        """A flag about ``tender``'s process (skipped when its process is unknown)."""
        if tender.ocid is None:
            return
        self.flags.append(Flag(self.code, tender.ocid, party, value, said, "OCID", tender.id))

    def who(self, address: str) -> str:
        """An account as evidence names it."""
        return self.ctx.words.who(address)
