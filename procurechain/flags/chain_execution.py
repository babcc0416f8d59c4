"""This chain's flags on what happened after the award: P005 to P008.

- P005: milestones delivered late (with the late penalty the contract took), or still not
  delivered after their due date.
- P006: milestones disputed by the buyer or the supplier, and how the consortium resolved them.
- P007: awards that lapsed because the awardee never accepted.
- P008: bonds forfeited to the buyer.
"""

from __future__ import annotations

from procurechain.audit import Entry, replay_agreement
from procurechain.flags.chain import DAY, ChainRule, TenderInfo
from procurechain.flags.model import Flag

__all__ = ["Disputes", "ForfeitedBonds", "LapsedAwards", "LateMilestones"]

_PENDING, _REJECTED = 0, 2  # Agreement.MilestoneState
_ACTIVE = 1  # Agreement.Status


def _started_days(late_by: int) -> int:
    """Started days of lateness, as the contract counts them."""
    return 0 if late_by <= 0 else (late_by + DAY - 1) // DAY


def _days(count: int) -> str:
    return f"{count:,} day{'s' * (count != 1)}"


class LateMilestones(ChainRule):
    """P005: late or overdue milestones."""

    code = "P005"

    def run(self) -> list[Flag]:
        least = self.ctx.settings.p005.minimum_days_late
        words = self.ctx.words
        for tender_address, agreement in self.view.log.agreements.items():
            tender = self.view.tenders.get(tender_address)
            if tender is None:
                continue
            facts = replay_agreement(self.view.log, agreement)
            submitted: dict[int, Entry] = {}
            for e in self.view.at(agreement):
                if e.event == "MilestoneSubmitted":
                    submitted[int(e.args["index"])] = e  # the latest submission counts
            said: list[str] = []
            for index, milestone in enumerate(facts.milestones):
                name = f"milestone {index + 1}"
                entry = submitted.get(index)
                late = int(entry.args["daysLate"]) if entry is not None else 0
                if late >= least and entry is not None:
                    taken = words.money(milestone.penalty)
                    penalty = f", and the contract took a late penalty of {taken}"
                    penalty = penalty if milestone.penalty else ""
                    said.append(
                        f"{name} was delivered {_days(late)} late (due "
                        f"{words.date(milestone.due_date)}, delivered "
                        f"{words.date(entry.timestamp)}){penalty}"
                    )
                    continue
                waiting = milestone.state in (_PENDING, _REJECTED) and facts.status == _ACTIVE
                overdue = _started_days(self.view.now - milestone.due_date) if waiting else 0
                if overdue >= least:
                    said.append(
                        f"{name} is {_days(overdue)} overdue (due "
                        f"{words.date(milestone.due_date)}, not delivered as of "
                        f"{words.date(self.view.now)})"
                    )
            if said:
                self.raise_flag(
                    tender,
                    facts.supplier,
                    float(len(said)),
                    f"{self.who(facts.supplier)} was late: " + "; ".join(said) + ".",
                )
        return self.flags


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
        for e in self.view.log.of("AwardLapsed"):
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
        for e in self.view.log.of("BondForfeited"):
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
