"""This chain's flags on how tenders are set up and awarded: P001 to P004.

- P001: an award decided by exactly the consortium's threshold of signatures while members
  were recused (declared conflicts with the tender's parties) — the decision rested on the
  fewest people allowed, after others had to step aside.
- P002: one agency's tenders budgeted just under the rollout phase cap, close together.
- P003: one supplier winning most of one agency's contracts.
- P004: an award at a price close to the budget.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from fractions import Fraction

from procurechain.audit import Entry
from procurechain.flags.chain import DAY, ChainRule, ChainView, TenderInfo, position
from procurechain.flags.context import Context
from procurechain.flags.model import Flag
from procurechain.flags.wording import clean, figure, percent

__all__ = ["BareQuorum", "NearBudget", "SameWinner", "SplitUnderCap"]


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def exact(share: float) -> Fraction:
    """A share from the settings as the decimal it was written as (0.1 is exactly 1/10)."""
    return Fraction(repr(float(share)))


_QUORUM_EVENTS = (
    "MemberAdded",
    "MemberRemoved",
    "ThresholdChanged",
    "ConflictDeclared",
    "ConflictLifted",
    "BidRevealed",
    "BidAwarded",
)


class BareQuorum(ChainRule):
    """P001: awards carried by a bare quorum while members were recused."""

    code = "P001"

    def run(self) -> list[Flag]:
        consortium = self.view.log.consortium.lower()
        members: set[str] = set()
        threshold: int | None = None
        conflicts: dict[str, dict[str, Entry]] = {}  # member -> subject -> declaration
        valid: dict[str, set[str]] = {}  # tender -> bidders revealed valid
        found: dict[str, list[tuple[Entry, dict[str, tuple[str, Entry]], int]]] = {}
        for e in self.view.events(_QUORUM_EVENTS):
            a = e.args
            if e.address.lower() == consortium:
                if e.event == "MemberAdded":
                    members.add(a["member"])
                elif e.event == "MemberRemoved":
                    members.discard(a["member"])
                elif e.event == "ThresholdChanged":
                    threshold = int(a["threshold"])
                elif e.event == "ConflictDeclared":
                    conflicts.setdefault(a["member"], {})[a["subject"]] = e
                elif e.event == "ConflictLifted":
                    conflicts.get(a["member"], {}).pop(a["subject"], None)
            elif e.event == "BidRevealed" and a.get("valid"):
                valid.setdefault(e.address, set()).add(a["bidder"])
            elif e.event == "BidAwarded" and e.actor == "consortium":
                tender = self.view.tenders.get(e.address)
                if tender is None or threshold is None or len(e.signers) != threshold:
                    continue
                parties = {tender.address, tender.agency, a["bidder"], *valid.get(e.address, ())}
                recused = {
                    member: (subject, declared)
                    for member in sorted(members)
                    for subject, declared in conflicts.get(member, {}).items()
                    if subject in parties
                }
                if recused:
                    found.setdefault(e.address, []).append((e, recused, threshold))
        for address, awards in found.items():
            self._flag(self.view.tenders[address], awards)
        return self.flags

    def _flag(
        self, tender: TenderInfo, awards: list[tuple[Entry, dict[str, tuple[str, Entry]], int]]
    ) -> None:
        words = self.ctx.words
        sentences = []
        for award, recused, threshold in awards:
            who = "; ".join(
                f"{self.who(m)} (conflict with {self.who(s)} declared {words.date(d.timestamp)})"
                for m, (s, d) in recused.items()
            )
            sentences.append(
                f"The award to {self.who(award.args['bidder'])} on {words.date(award.timestamp)} "
                f"was signed by exactly {threshold}, the fewest the consortium accepts "
                f"({words.listing(award.signers)}), while {_plural(len(recused), 'member')} "
                f"had to stand aside for a declared conflict of interest: {who}."
            )
        last, recused_most = awards[-1][0], max(len(r) for _, r, _ in awards)
        self.raise_flag(tender, last.args["bidder"], float(recused_most), " ".join(sentences))


class SplitUnderCap(ChainRule):
    """P002: several tenders of one agency, close together, each just under the phase cap."""

    code = "P002"

    def __init__(self, ctx: Context, view: ChainView, phase_cap: int | None = None) -> None:
        super().__init__(ctx, view)
        self.phase_cap = phase_cap

    def cap_at(self, where: tuple[int, int], raises: list[Entry]) -> int | None:
        """The phase cap when a tender was published: the last raise before it, or what the
        first raise after it raised from, or today's cap."""
        before = [r for r in raises if position(r) < where]
        if before:
            return int(before[-1].args["newCap"])
        after = [r for r in raises if position(r) > where]
        return int(after[0].args["previousCap"]) if after else self.phase_cap

    def run(self) -> list[Flag]:
        setting = self.ctx.settings.p002
        raises = self.view.of("PhaseCapRaised")
        near: dict[str, list[tuple[TenderInfo, int, int]]] = {}  # agency -> (tender, budget, cap)
        for tender in self.view.tenders.values():
            cap = self.cap_at(tender.position, raises)
            if tender.terms is None or not cap:
                continue
            budget = tender.terms.budget
            if cap * (1 - exact(setting.margin)) <= budget <= cap:
                near.setdefault(tender.agency, []).append((tender, budget, cap))
        window = setting.window_days * DAY
        for agency, found in near.items():
            found.sort(key=lambda f: f[0].created)
            times = [f[0].created for f in found]
            for tender, budget, cap in found:
                low = bisect_left(times, tender.created - window)
                high = bisect_right(times, tender.created + window)
                if high - low >= setting.minimum_tenders:
                    self._flag(agency, tender, budget, cap, found[low:high])
        return self.flags

    def _flag(
        self,
        agency: str,
        tender: TenderInfo,
        budget: int,
        cap: int,
        close: list[tuple[TenderInfo, int, int]],
    ) -> None:
        setting, words = self.ctx.settings.p002, self.ctx.words
        others = [f for f in close if f[0] is not tender]
        listed = "; ".join(
            f"tender {t.id} on {words.date(t.created)}, budget {words.money(b)}"
            for t, b, _ in others[:10]
        )
        more = f"; and {len(others) - 10:,} more" if len(others) > 10 else ""
        self.raise_flag(
            tender,
            agency,
            budget / cap,
            f"Tender {tender.id}'s budget, {words.money(budget)}, is {percent(budget / cap)} of "
            f"the phase cap ({words.money(cap)}), and {self.who(agency)} published "
            f"{_plural(len(close), 'tender')} budgeted within {percent(setting.margin)} under "
            f"the cap within {setting.window_days} days of this one (published "
            f"{words.date(tender.created)}), counting it: {listed}{more}.",
        )


class SameWinner(ChainRule):
    """P003: one supplier won most of an agency's contracts."""

    code = "P003"

    def run(self) -> list[Flag]:
        setting = self.ctx.settings.p003
        won: dict[str, list[tuple[TenderInfo, str]]] = {}  # agency -> (tender, supplier)
        for e in self.view.of("AwardAccepted"):
            tender = self.view.tenders.get(e.address)
            if tender is not None and tender.ocid is not None:
                won.setdefault(tender.agency, []).append((tender, e.args["supplier"]))
        for agency, contracts in won.items():
            if len(contracts) < setting.minimum_awards:
                continue
            counts = Counter(supplier for _, supplier in contracts)
            supplier, wins = counts.most_common(1)[0]
            share = wins / len(contracts)
            if Fraction(wins, len(contracts)) < exact(setting.threshold):
                continue
            ocids = [clean(t.ocid) for t, s in contracts if s == supplier]
            more = f" and {len(ocids) - 10:,} more" if len(ocids) > 10 else ""
            shown = ", ".join(ocids[:10]) + more
            self.flags.append(
                Flag(
                    self.code,
                    None,
                    agency,
                    share,
                    f"{self.who(supplier)} won {wins:,} of the {len(contracts):,} contracts "
                    f"{self.who(agency)} awarded (share {figure(share)}); a share of "
                    f"{figure(setting.threshold)} or more is flagged once an agency has "
                    f"{setting.minimum_awards} contracts. Its contracts: {shown}.",
                    "Buyer",
                )
            )
        return self.flags


class NearBudget(ChainRule):
    """P004: the award's price is close to the budget."""

    code = "P004"

    def run(self) -> list[Flag]:
        threshold = exact(self.ctx.settings.p004.threshold)
        latest: dict[str, Entry] = {}
        revealed: dict[str, int] = {}
        for e in self.view.events(("BidAwarded", "BidRevealed")):
            if e.event == "BidAwarded":
                latest[e.address] = e
            elif e.args.get("valid"):
                revealed[e.address] = revealed.get(e.address, 0) + 1
        words = self.ctx.words
        for address, award in latest.items():
            tender = self.view.tenders.get(address)
            if tender is None or tender.terms is None or tender.terms.budget <= 0:
                continue
            price, budget = int(award.args["price"]), tender.terms.budget
            if price < threshold * budget:
                continue
            count = revealed.get(address, 0)
            self.raise_flag(
                tender,
                award.args["bidder"],
                price / budget,
                f"The award to {self.who(award.args['bidder'])} on {words.date(award.timestamp)} "
                f"is at {words.money(price)}, {percent(price / budget)} of the budget "
                f"({words.money(budget)}); awards at {percent(float(threshold))} of the budget "
                f"or more are flagged. Valid bids revealed: {count:,}.",
            )
        return self.flags
