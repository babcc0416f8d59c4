"""Cardinal's indicators on the gap between the winning bid and the next: R024 and R058.

Both use one ratio per process, ``(lowest other valid bid - winning bid) / winning bid``, taken
where every award is final, exactly one award is active, it has one supplier, prices are
compared (``procurementMethodDetails``), and the winner's lowest valid bid is the lowest of all
(otherwise the award criteria were not price only). R024 flags ratios at or under the lower
fence of all ratios (prices suspiciously close), R058 ratios at or above the upper fence (a
heavily discounted winning bid).

One deliberate difference from Cardinal: a winning amount of 0 would divide by zero (Cardinal
expects ``prepare`` to have redacted placeholder amounts); such a process gets no ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

from procurechain.flags.context import Context, Indicator, fence_origin
from procurechain.flags.model import Flag
from procurechain.flags.quantiles import lower_fence, lower_quartile, upper_fence, upper_quartile
from procurechain.flags.release import Release
from procurechain.flags.wording import clean, figure, percent

__all__ = ["R024", "R058", "Gap", "SecondLowestBidRatio"]


@dataclass(frozen=True)
class Gap:
    """One process's winning bid and its closest rival."""

    ratio: float
    winner: str
    rival: str
    winning: float
    rival_amount: float
    currency: str


class SecondLowestBidRatio:
    """Computes :class:`Gap` per process (run once, shared by R024 and R058)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.gaps: dict[str, Gap] = {}

    def fold(self, release: Release) -> None:
        """Record the process's gap, if it has one."""
        settings = self.ctx.settings
        include = settings.price_comparison_procurement_methods
        if release.ocid is None or not release.matches_details(
            include, settings.no_price_comparison_procurement_methods
        ):
            return
        supplier = release.sole_supplier()
        if supplier is None:
            return
        winning: float | None = None
        rival: tuple[str, float] | None = None
        currency = ""
        for tenderer, amount, bid_currency in release.valid_priced_bids():
            if not self.ctx.is_main_currency(bid_currency):
                continue
            currency = bid_currency
            if tenderer == supplier:
                if winning is None or amount < winning:
                    winning = amount
            elif rival is None or amount < rival[1]:
                rival = (tenderer, amount)
        if winning is None or rival is None or rival[1] < winning or winning == 0:
            return
        ratio = (rival[1] - winning) / winning
        self.gaps[release.ocid] = Gap(ratio, supplier, rival[0], winning, rival[1], currency)

    def describe(self, gap: Gap) -> str:
        """The two bids, in words."""
        words = self.ctx.words
        return (
            f"the winning bid, {words.amount(gap.winning, gap.currency)} by "
            f"{words.who(gap.winner)}, and the lowest other valid bid, "
            f"{words.amount(gap.rival_amount, gap.currency)} by {words.who(gap.rival)}"
        )


class R024(Indicator):
    """Price close to winning bid."""

    code = "R024"

    def __init__(self, ctx: Context, ratios: SecondLowestBidRatio) -> None:
        super().__init__(ctx)
        self.ratios = ratios

    def finish(self) -> list[Flag]:
        gaps = self.ratios.gaps
        threshold = self.ctx.settings.r024.threshold
        q1 = q3 = 1.0  # with a threshold only the threshold is checked (q1 passes the guard)
        if threshold is None:
            values = [g.ratio for g in gaps.values()]
            q1, q3 = lower_quartile(values), upper_quartile(values)
            self.ctx.note(self.code, "q1", q1)
            self.ctx.note(self.code, "q3", q3)
            fence = lower_fence(q1, q3)
        else:
            fence = threshold
        self.ctx.note(self.code, "lower_fence", fence)
        if not (q1 > 0 and fence > 0):
            return self.flags
        origin = fence_origin(threshold is None, len(gaps), "processes' ratios", q1, q3)
        for ocid, gap in gaps.items():
            if not gap.ratio <= fence:
                continue
            said = self.ratios.describe(gap)
            self.raise_flag(
                ocid,
                gap.ratio,
                f"Prices were close: {said} are only {percent(gap.ratio)} apart (ratio "
                f"{figure(gap.ratio)}); ratios at or below {figure(fence)} are flagged, "
                f"{origin}.",
            )
            for party, role in ((gap.winner, "the winner"), (gap.rival, "the runner-up")):
                self.raise_flag(
                    ocid,
                    0.0,
                    f"In {clean(ocid)}, {role}, with prices only {percent(gap.ratio)} apart: "
                    f"{said}.",
                    party=party,
                    group="Tenderer",
                )
        return self.flags


class R058(Indicator):
    """Heavily discounted bid."""

    code = "R058"

    def __init__(self, ctx: Context, ratios: SecondLowestBidRatio) -> None:
        super().__init__(ctx)
        self.ratios = ratios

    def finish(self) -> list[Flag]:
        gaps = self.ratios.gaps
        threshold = self.ctx.settings.r058.threshold
        q1 = q3 = 0.0
        if threshold is None:
            values = [g.ratio for g in gaps.values()]
            q1, q3 = lower_quartile(values), upper_quartile(values)
            self.ctx.note(self.code, "q1", q1)
            self.ctx.note(self.code, "q3", q3)
            fence = upper_fence(q1, q3)
        else:
            fence = threshold
        self.ctx.note(self.code, "upper_fence", fence)
        if not fence > 0:
            return self.flags
        origin = fence_origin(threshold is None, len(gaps), "processes' ratios", q1, q3)
        for ocid, gap in gaps.items():
            if not gap.ratio >= fence:
                continue
            said = self.ratios.describe(gap)
            self.raise_flag(
                ocid,
                gap.ratio,
                f"The winning bid was heavily discounted: {said}; the next bid is "
                f"{percent(gap.ratio)} higher (ratio {figure(gap.ratio)}); ratios at or above "
                f"{figure(fence)} are flagged, {origin}.",
            )
            self.raise_flag(
                ocid,
                0.0,
                f"Won {clean(ocid)} with a heavily discounted bid: {said}, "
                f"{percent(gap.ratio)} apart.",
                party=gap.winner,
                group="Tenderer",
            )
        return self.flags
