"""This chain's flags on what happened after the award: P005 to P008.

- P005: milestones delivered late (with the late penalty the contract took), or still not
  delivered after their due date.
- P006: milestones disputed by the buyer or the supplier, and how the consortium resolved them.
- P007: awards that lapsed because the awardee never accepted.
- P008: bonds forfeited to the buyer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from procurechain.audit import Entry
from procurechain.flags.chain import DAY, ChainRule, TenderInfo
from procurechain.flags.model import Flag

__all__ = ["Disputes", "ForfeitedBonds", "LapsedAwards", "LateMilestones"]


def _started_days(late_by: int) -> int:
    """Started days of lateness, as the contract counts them."""
    return 0 if late_by <= 0 else (late_by + DAY - 1) // DAY


def _days(count: int) -> str:
    """Started days, as the contract counts lateness (2 days and 1 second is 3)."""
    return f"{count:,} started day{'s' * (count != 1)}"


@dataclass
class _Milestone:
    """What P005 needs of one milestone."""

    due: int
    waiting: bool = True  # pending or rejected: a delivery is still expected
    submitted: Entry | None = None  # the latest delivery
    penalty: int = 0


@dataclass
class _Delivery:
    """An agreement's milestones replayed from its events (due dates count from funding)."""

    supplier: str = ""
    active: bool = False
    milestones: list[_Milestone] = field(default_factory=list)

    @classmethod
    def replay(cls, entries: list[Entry]) -> _Delivery:
        found, created = cls(), 0
        for e in entries:
            a, event = e.args, e.event
            index = a.get("index", -1)
            milestone = found.milestones[index] if 0 <= index < len(found.milestones) else None
            if event == "AgreementInitialized":
                found.supplier, created = a["supplier"], e.timestamp
            elif event == "MilestoneScheduled":
                found.milestones.append(_Milestone(int(a["dueDate"])))
            elif event == "AgreementFunded":
                found.active = True
                for scheduled in found.milestones:
                    scheduled.due += e.timestamp - created
            elif event in ("AgreementCompleted", "AgreementTerminated"):
                found.active = False
            elif milestone is None:
                continue
            elif event == "MilestoneSubmitted":
                milestone.submitted, milestone.waiting = e, False
            elif event in ("MilestoneRejected", "MilestoneDisputed"):
                milestone.waiting = event == "MilestoneRejected"
            elif event in ("MilestoneAccepted", "DisputeResolved"):
                milestone.penalty, milestone.waiting = int(a["penalty"]), False
        return found


class LateMilestones(ChainRule):
    """P005: late or overdue milestones."""

    code = "P005"

    def run(self) -> list[Flag]:
        least = self.ctx.settings.p005.minimum_days_late
        for tender_address, agreement in self.view.log.agreements.items():
            tender = self.view.tenders.get(tender_address)
            if tender is None:
                continue
            delivery = _Delivery.replay(self.view.at(agreement))
            said = [
                line
                for index, milestone in enumerate(delivery.milestones)
                if (line := self._late(index, milestone, delivery.active, least))
            ]
            if said:
                self.raise_flag(
                    tender,
                    delivery.supplier,
                    float(len(said)),
                    f"{self.who(delivery.supplier)} was late: " + "; ".join(said) + ".",
                )
        return self.flags

    def _late(self, index: int, milestone: _Milestone, active: bool, least: int) -> str:
        """How milestone ``index`` was late, or "" if it was not."""
        words, entry = self.ctx.words, milestone.submitted
        late = int(entry.args["daysLate"]) if entry is not None else 0
        if entry is not None and late >= least:
            penalty = (
                f", and the contract took a late penalty of {words.money(milestone.penalty)}"
                if milestone.penalty
                else ""
            )
            return (
                f"milestone {index + 1} was delivered {_days(late)} late (due "
                f"{words.date(milestone.due)}, delivered {words.date(entry.timestamp)}){penalty}"
            )
        overdue = _started_days(self.view.now - milestone.due)
        if milestone.waiting and active and overdue >= least:
            return (
                f"milestone {index + 1} is {_days(overdue)} overdue (due "
                f"{words.date(milestone.due)}, not delivered as of {words.date(self.view.now)})"
            )
        return ""


class Disputes(ChainRule):
    """P006: disputed milestones."""

    code = "P006"

    def run(self) -> list[Flag]:
        words = self.ctx.words
        for tender_address, agreement in self.view.log.agreements.items():
            tender = self.view.tenders.get(tender_address)
            if tender is None:
                continue
            disputed: dict[int, list[str]] = {}
            supplier = ""
            for e in self.view.at(agreement):
                a = e.args
                if e.event == "AgreementInitialized":
                    supplier = a["supplier"]
                elif e.event == "MilestoneDisputed":
                    disputed.setdefault(int(a["index"]), []).append(
                        f"milestone {int(a['index']) + 1} was disputed by {self.who(a['by'])} on "
                        f"{words.date(e.timestamp)}"
                    )
                elif e.event == "DisputeResolved" and int(a["index"]) in disputed:
                    disputed[int(a["index"])].append(
                        f"the consortium resolved it on {words.date(e.timestamp)}: "
                        f"{int(a['supplierBps']) / 100:g}% of it to the supplier "
                        f"({words.money(int(a['paid']))} paid), "
                        f"{words.money(int(a['refunded']))} back to the buyer"
                    )
            if not disputed:
                continue
            said = "; ".join(
                ", ".join(parts) if len(parts) > 1 else f"{parts[0]}, not resolved yet"
                for parts in disputed.values()
            )
            self.raise_flag(tender, supplier or None, float(len(disputed)), f"Disputes: {said}.")
        return self.flags


class LapsedAwards(ChainRule):
    """P007: awards the awardee let lapse."""

    code = "P007"

    def run(self) -> list[Flag]:
        words = self.ctx.words
        by_tender: dict[str, list[Entry]] = {}
        for e in self.view.of("AwardLapsed"):
            by_tender.setdefault(e.address, []).append(e)
        for address, lapses in by_tender.items():
            tender = self.view.tenders.get(address)
            if tender is None:
                continue
            awards = {e.args["bidder"]: e for e in self.view.at(address) if e.event == "BidAwarded"}
            for lapse in lapses:
                bidder = lapse.args["bidder"]
                award = awards.get(bidder)
                when = (
                    f" on {words.date(award.timestamp)} at {words.money(int(award.args['price']))}"
                    f" and had until {words.date(int(award.args['acceptDeadline']))} to accept"
                    if award is not None
                    else ""
                )
                self._flag(tender, bidder, len(lapses), when, lapse)
        return self.flags

    def _flag(self, tender: TenderInfo, bidder: str, count: int, when: str, lapse: Entry) -> None:
        self.raise_flag(
            tender,
            bidder,
            float(count),
            f"{self.who(bidder)} was awarded the tender{when}, never accepted, and the lapse was "
            f"recorded on {self.ctx.words.date(lapse.timestamp)}; its bond is forfeited to the "
            "buyer.",
        )


class ForfeitedBonds(ChainRule):
    """P008: bonds forfeited to the buyer."""

    code = "P008"

    def run(self) -> list[Flag]:
        words = self.ctx.words
        unit = words.unit
        scale = 10 ** (unit.decimals if unit is not None else 0)
        by_tender: dict[str, list[Entry]] = {}
        for e in self.view.of("BondForfeited"):
            by_tender.setdefault(e.address, []).append(e)
        for address, forfeits in by_tender.items():
            tender = self.view.tenders.get(address)
            if tender is None:
                continue
            events = self.view.at(address)
            lapsed = {e.args["bidder"] for e in events if e.event == "AwardLapsed"}
            total = sum(int(e.args["amount"]) for e in forfeits) / scale
            for e in forfeits:
                bidder = e.args["bidder"]
                # the contract forfeits only these two (Tender._forfeitable)
                why = "it let its award lapse" if bidder in lapsed else "it never revealed its bid"
                self.raise_flag(
                    tender,
                    bidder,
                    total,
                    f"{self.who(bidder)} forfeited its bond of "
                    f"{words.money(int(e.args['amount']))} to {self.who(e.args['buyer'])} on "
                    f"{words.date(e.timestamp)}: {why}.",
                )
        return self.flags
