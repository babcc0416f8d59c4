"""Cardinal's indicators that judge each process on its own: R003, R018, R028, R030, R035, R036.

Each reads exactly the fields Cardinal 0.0.8 reads, with its rules (see
``docs/research/cardinal-indicators.md`` and ``docs/flags.md``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from procurechain.flags.context import Indicator
from procurechain.flags.release import Release, as_list, as_number, as_object, as_text, party_id
from procurechain.flags.wording import clean

__all__ = ["R003", "R018", "R028", "R030", "R035", "R036", "rfc3339"]

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_DAY_SECONDS = 86_400


def rfc3339(value: object) -> datetime | None:
    """An RFC 3339 date-time (what chrono's ``parse_from_rfc3339`` accepts), else None."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    text = value.replace("t", "T").replace(" ", "T").replace("z", "Z")
    head, dot, tail = text.partition(".")
    if dot:  # Python reads at most 6 fraction digits
        digits = re.match(r"\d+", tail)
        fraction = digits.group(0) if digits else ""
        text = f"{head}.{fraction[:6].ljust(6, '0')}{tail[len(fraction) :]}"
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _whole_days(start: datetime, end: datetime) -> int:
    """Whole days from ``start`` to ``end``, truncated toward zero (chrono's ``num_days``)."""
    micros = (end - start) // timedelta(microseconds=1)
    seconds = abs(micros) // 1_000_000
    days = seconds // _DAY_SECONDS
    return -days if micros < 0 else days


class R003(Indicator):
    """Short submission period."""

    code = "R003"

    def fold(self, release: Release) -> None:
        setting = self.ctx.settings.r003
        tender = release.tender
        if setting.procurement_methods:
            method = as_text(tender.get("procurementMethod"))
            if method is None or method not in setting.procurement_methods:
                return
        period = as_object(tender.get("tenderPeriod"))
        start, end = rfc3339(period.get("startDate")), rfc3339(period.get("endDate"))
        if start is None or end is None:
            return
        days = _whole_days(start, end)
        details = release.method_details
        threshold = setting.threshold
        specific = details is not None and details in setting.procurement_method_details
        if specific:
            threshold = setting.procurement_method_details[details]
        if days < threshold:
            which = " for its procurement method details" if specific else ""
            words = self.ctx.words
            self.raise_flag(
                release.ocid,
                1.0,
                f"The bidding period lasted {days:,} whole day{'s' * (days != 1)}, from "
                f"{words.date(start)} to {words.date(end)}: shorter than the {threshold:,} "
                f"days expected{which}.",
            )


class R018(Indicator):
    """Single bid received."""

    code = "R018"

    def fold(self, release: Release) -> None:
        tender = release.tender
        methods = self.ctx.settings.r018.procurement_methods
        method = as_text(tender.get("procurementMethod"))
        if methods and (method is None or method not in methods):
            return
        count = tender.get("numberOfTenderers")
        if isinstance(count, int) and not isinstance(count, bool) and count == 1:
            self.raise_flag(
                release.ocid,
                1.0,
                f"Only one tenderer took part (numberOfTenderers is 1) in this "
                f"{clean(method or 'unstated', 20)} procedure.",
            )


class R028(Indicator):
    """Identical bid prices."""

    code = "R028"

    def fold(self, release: Release) -> None:
        settings = self.ctx.settings
        include = settings.price_comparison_procurement_methods
        if not release.matches_details(include, settings.no_price_comparison_procurement_methods):
            return
        prices: dict[tuple[float, str], frozenset[str]] = {}
        matched: dict[str, tuple[set[str], float, str]] = {}
        for bid in release.submitted_bids():
            tenderers = as_list(bid.get("tenderers"))
            value = as_object(bid.get("value"))
            amount, currency = as_number(value.get("amount")), as_text(value.get("currency"))
            if tenderers is None or amount is None or currency is None:
                continue
            ids = frozenset(i for t in tenderers if (i := party_id(t)) is not None)
            if not ids:
                continue
            other = prices.get((amount, currency))
            if other is not None and ids != other:
                for tenderer in ids | other:
                    entry = matched.setdefault(tenderer, (set(), amount, currency))
                    entry[0].update((ids | other) - {tenderer})
            prices[(amount, currency)] = ids
        if not matched:
            return
        words = self.ctx.words
        pairs = sorted({(amount, currency) for _, amount, currency in matched.values()})
        said = "; ".join(
            f"{words.amount(amount, currency)} by "
            + words.listing(sorted(t for t, (_, *k) in matched.items() if k == [amount, currency]))
            for amount, currency in pairs
        )
        said = f"Different tenderers bid exactly the same price: {said}."
        self.raise_flag(release.ocid, 1.0, said)
        for tenderer in sorted(matched):
            others, amount, currency = matched[tenderer]
            self.raise_flag(
                release.ocid,
                1.0,
                f"In {clean(release.ocid)}, bid exactly the same price "
                f"({words.amount(amount, currency)}) as {words.listing(sorted(others))}.",
                party=tenderer,
                group="Tenderer",
            )


class R030(Indicator):
    """Late bid won."""

    code = "R030"

    def fold(self, release: Release) -> None:
        end = as_text(as_object(release.tender.get("tenderPeriod")).get("endDate"))
        if end is None or release.awards is None or release.details is None:
            return
        suppliers = release.active_supplier_ids()
        late: dict[str, str] = {}
        for bid in release.details:
            bid = as_object(bid)
            date = as_text(bid.get("date"))
            tenderers = as_list(bid.get("tenderers"))
            if bid.get("status") != "valid" or date is None or tenderers is None or date <= end:
                continue
            for tenderer in map(party_id, tenderers):
                if tenderer is not None and tenderer in suppliers:
                    late.setdefault(tenderer, date)
        words = self.ctx.words
        for tenderer, date in late.items():
            said = (
                f"the valid bid of {words.who(tenderer)}, an awarded supplier, is dated "
                f"{clean(date)}, after the bidding period ended ({clean(end)})"
            )
            self.raise_flag(release.ocid, 1.0, f"A late bid won: {said}.")
            self.raise_flag(
                release.ocid,
                1.0,
                f"Won {clean(release.ocid)} with a late bid: {said}.",
                party=tenderer,
                group="Tenderer",
            )


class R035(Indicator):
    """All except the winning bid disqualified."""

    code = "R035"

    def fold(self, release: Release) -> None:
        complete = release.complete_awards()
        if complete is None:
            return
        suppliers: set[str] = set()
        for award in complete:
            for reference in as_list(as_object(award).get("suppliers")) or ():
                if (identifier := party_id(reference)) is not None:
                    suppliers.add(identifier)
        valid: set[str] = set()
        disqualified: set[str] = set()
        for bid in release.details or ():
            bid = as_object(bid)
            status, tenderers = bid.get("status"), as_list(bid.get("tenderers"))
            if tenderers is None or status not in ("valid", "disqualified"):
                continue
            target = valid if status == "valid" else disqualified
            target.update(i for i in map(party_id, tenderers) if i is not None)
        others = sorted(disqualified - valid)
        if len(valid) != 1 or valid != suppliers:
            return
        if len(others) < max(self.ctx.settings.r035.threshold, 1):
            return
        (winner,) = valid
        words = self.ctx.words
        count = f"{len(others):,} other tenderer{'s' * (len(others) != 1)}"
        self.raise_flag(
            release.ocid,
            float(len(others)),
            f"Only the winner, {words.who(winner)}, had a valid bid: {count} "
            f"({words.listing(others)}) had their bids disqualified.",
        )
        self.raise_flag(
            release.ocid,
            0.0,
            f"The only valid tenderer, and the winner, in {clean(release.ocid)}, where {count} "
            "had their bids disqualified.",
            party=winner,
            group="Tenderer",
        )


class R036(Indicator):
    """Lowest bid disqualified."""

    code = "R036"

    def fold(self, release: Release) -> None:
        settings = self.ctx.settings
        include = settings.price_comparison_procurement_methods
        if not release.matches_details(include, settings.no_price_comparison_procurement_methods):
            return
        if not any(as_object(a).get("status") == "active" for a in release.awards or ()):
            return
        lowest: tuple[float, bool, str | None] | None = None
        lowest_valid: float | None = None
        for bid in release.submitted_bids():
            value = as_object(bid.get("value"))
            amount, currency = as_number(value.get("amount")), as_text(value.get("currency"))
            if amount is None or currency is None or not self.ctx.is_main_currency(currency):
                continue
            status = bid.get("status")
            if lowest is None or amount < lowest[0]:
                tenderers = as_list(bid.get("tenderers")) or []
                who = party_id(tenderers[0]) if len(tenderers) == 1 else None
                lowest = (amount, status == "disqualified", who)
            if status == "valid":
                lowest_valid = amount if lowest_valid is None else min(lowest_valid, amount)
        if lowest is None or lowest_valid is None or not lowest[1]:
            return
        words, currency = self.ctx.words, self.ctx.currency
        by = f" by {words.who(lowest[2])}" if lowest[2] is not None else ""
        self.raise_flag(
            release.ocid,
            1.0,
            f"The lowest bid, {words.amount(lowest[0], currency)}{by}, was disqualified, while "
            "valid bids had prices (the lowest valid bid: "
            f"{words.amount(lowest_valid, currency)}).",
        )
