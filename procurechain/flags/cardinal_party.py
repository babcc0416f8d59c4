"""Cardinal's indicators on organisations across processes: R025, R038 and R048.

Each sums a figure per organisation over every process, keeps the organisations with enough
processes or bids, and flags the outliers against a fence computed from all of them (type-8
quartiles, inclusive comparisons) or the fence set in the settings.
"""

from __future__ import annotations

from procurechain.flags.context import Context, Indicator, fence_origin
from procurechain.flags.model import Flag, Group
from procurechain.flags.quantiles import (
    lower_fence,
    lower_quartile,
    percentile,
    upper_fence,
    upper_quartile,
)
from procurechain.flags.release import Release, as_list, as_object, as_text, party_id
from procurechain.flags.wording import clean, figure

__all__ = ["R025", "R038", "R048"]


class R025(Indicator):
    """Excessive unsuccessful bids: tenderers that bid often and rarely win."""

    code = "R025"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.tally: dict[str, list[int]] = {}  # tenderer -> [wins, processes with a valid bid]

    def fold(self, release: Release) -> None:
        supplier = release.sole_supplier()
        if supplier is None:
            return
        valid: set[str] = set()
        for bid in release.details or ():
            bid = as_object(bid)
            tenderers = as_list(bid.get("tenderers"))
            if bid.get("status") == "valid" and tenderers is not None and len(tenderers) == 1:
                tenderer = party_id(tenderers[0])
                if tenderer is not None:
                    valid.add(tenderer)
        for tenderer in sorted(valid):
            wins, count = self.tally.setdefault(tenderer, [0, 0])
            self.tally[tenderer] = [wins + (tenderer == supplier), count + 1]

    def finish(self) -> list[Flag]:
        setting = self.ctx.settings.r025
        counts = [float(c) for _, c in self.tally.values()]
        top = percentile(counts, setting.percentile)
        ratios = [w / c for w, c in self.tally.values()]
        if setting.threshold is None:
            q1, q3 = lower_quartile(ratios), upper_quartile(ratios)
            self.ctx.note(self.code, "q1", q1)
            self.ctx.note(self.code, "q3", q3)
            fence = lower_fence(q1, q3)
        else:
            q1 = q3 = 1.0  # passes the guard: only the threshold is checked
            fence = setting.threshold
        self.ctx.note(self.code, "upper_fence", top)
        self.ctx.note(self.code, "lower_fence", fence)
        if not (q1 > 0 and fence > 0):
            return self.flags
        origin = fence_origin(setting.threshold is None, len(ratios), "tenderers", q1, q3)
        for tenderer, (wins, count) in self.tally.items():
            ratio = wins / count
            if count >= top and ratio <= fence:
                self.raise_flag(
                    None,
                    ratio,
                    f"{self.ctx.words.who(tenderer)} won {wins:,} of the {count:,} processes "
                    f"in which it made a valid bid (ratio {figure(ratio)}). It is among the "
                    f"most active tenderers (at or above the {setting.percentile}th percentile "
                    f"of processes per tenderer, {figure(top)}), and success ratios at or below "
                    f"{figure(fence)} are flagged, {origin}.",
                    party=tenderer,
                    group="Tenderer",
                )
        return self.flags


class R038(Indicator):
    """Excessive disqualified bids, per buyer, procuring entity and tenderer."""

    code = "R038"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.tally: dict[Group, dict[str, list[int]]] = {
            "Buyer": {},
            "ProcuringEntity": {},
            "Tenderer": {},
        }
        ctx.maps.setdefault("ocid_buyer_r038", {})
        ctx.maps.setdefault("ocid_procuringentity_r038", {})

    @staticmethod
    def _add(tally: dict[str, list[int]], party: str, disqualified: int, submitted: int) -> None:
        current = tally.setdefault(party, [0, 0])
        current[0] += disqualified
        current[1] += submitted

    def fold(self, release: Release) -> None:
        bids = release.submitted_bids()
        if not bids or release.ocid is None:
            return
        disqualified = 0
        for bid in bids:
            flagged = int(bid.get("status") == "disqualified")
            disqualified += flagged
            for tenderer in map(party_id, as_list(bid.get("tenderers")) or ()):
                if tenderer is not None:
                    self._add(self.tally["Tenderer"], tenderer, flagged, 1)
        buyer = as_text(as_object(release.data.get("buyer")).get("id"))
        entity = as_text(as_object(release.tender.get("procuringEntity")).get("id"))
        for group, party, key in (
            ("Buyer", buyer, "ocid_buyer_r038"),
            ("ProcuringEntity", entity, "ocid_procuringentity_r038"),
        ):
            if party is None:
                continue
            self._add(self.tally[group], party, disqualified, len(bids))
            if disqualified:
                self.ctx.maps[key][release.ocid] = party

    def finish(self) -> list[Flag]:
        setting = self.ctx.settings.r038
        minimum = setting.minimum_contracting_processes
        for group, least in (
            ("Buyer", minimum),
            ("ProcuringEntity", minimum),
            ("Tenderer", setting.minimum_submitted_bids),
        ):
            self._flag_group(group, least)
        return self.flags

    def _flag_group(self, group: Group, least: int) -> None:
        # Cardinal compares its minimum with the bids an organisation took part in, for buyers
        # and procuring entities too (not with their processes, as its documentation says).
        kept = {p: (d, s) for p, (d, s) in self.tally[group].items() if s >= least}
        if not kept:
            return
        threshold = self.ctx.settings.r038.threshold
        q1 = q3 = 0.0
        if threshold is None:
            ratios = [d / s for d, s in kept.values()]
            q1, q3 = lower_quartile(ratios), upper_quartile(ratios)
            self.ctx.note(self.code, f"{group}_q1", q1)
            self.ctx.note(self.code, f"{group}_q3", q3)
            fence = upper_fence(q1, q3)
        else:
            fence = threshold
        self.ctx.note(self.code, f"{group}_upper_fence", fence)
        if not fence > 0:
            return
        kind = {"Buyer": "buyers", "ProcuringEntity": "procuring entities"}.get(group, "tenderers")
        origin = fence_origin(threshold is None, len(kept), kind, q1, q3)
        for party, (disqualified, submitted) in kept.items():
            ratio = disqualified / submitted
            if ratio >= fence:
                whose = "its" if group == "Tenderer" else "the"
                received = "submitted" if group == "Tenderer" else "received"
                self.raise_flag(
                    None,
                    ratio,
                    f"{disqualified:,} of {whose} {submitted:,} bids {received} were disqualified "
                    f"(ratio {figure(ratio)}); ratios at or above {figure(fence)} are flagged, "
                    f"{origin}.",
                    party=party,
                    group=group,
                )


class R048(Indicator):
    """Heterogeneous supplier: awarded items of many different kinds."""

    code = "R048"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.seen: dict[str, tuple[list[int], set[str]]] = {}  # supplier -> [processes], codes

    def fold(self, release: Release) -> None:
        digits = self.ctx.settings.r048.digits
        counted: set[str] = set()
        for award in release.awards or ():
            award = as_object(award)
            items, suppliers = as_list(award.get("items")), as_list(award.get("suppliers"))
            if award.get("status") != "active" or items is None or suppliers is None:
                continue
            supplier = party_id(suppliers[0]) if len(suppliers) == 1 else None
            if supplier is None:
                continue
            for item in items:
                code = as_text(as_object(as_object(item).get("classification")).get("id"))
                if code is None:
                    continue
                count, codes = self.seen.setdefault(supplier, ([0], set()))
                if supplier not in counted:
                    counted.add(supplier)
                    count[0] += 1
                codes.add(code[:digits])

    def finish(self) -> list[Flag]:
        setting = self.ctx.settings.r048
        kept = {
            s: (count[0], codes)
            for s, (count, codes) in self.seen.items()
            if count[0] >= setting.minimum_contracting_processes
        }
        q1 = q3 = 0.0
        if setting.threshold is None:
            varieties = [float(len(codes)) for _, codes in kept.values()]
            q1, q3 = lower_quartile(varieties), upper_quartile(varieties)
            self.ctx.note(self.code, "q1", q1)
            self.ctx.note(self.code, "q3", q3)
            fence = upper_fence(q1, q3)
        else:
            fence = float(setting.threshold)
        self.ctx.note(self.code, "upper_fence", fence)
        origin = fence_origin(setting.threshold is None, len(kept), "suppliers", q1, q3)
        for supplier, (count, codes) in kept.items():
            if len(codes) >= fence:
                shown = ", ".join(clean(c, 12) for c in sorted(codes)[:12])
                more = f" and {len(codes) - 12:,} more" if len(codes) > 12 else ""
                self.raise_flag(
                    None,
                    float(len(codes)),
                    f"{self.ctx.words.who(supplier)} was awarded items of {len(codes):,} "
                    f"different kinds (classification codes starting {shown}{more}; first "
                    f"{setting.digits} characters) in {count:,} processes; {figure(fence)} or "
                    f"more kinds are flagged, {origin}.",
                    party=supplier,
                    group="Tenderer",
                )
        return self.flags
