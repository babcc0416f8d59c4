"""What every indicator shares during one computation, and the shape of an indicator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from procurechain.flags.model import Flag, Group
from procurechain.flags.release import Release
from procurechain.flags.settings import Settings
from procurechain.flags.wording import Wording, figure

__all__ = ["Context", "Indicator", "fence_origin"]


@dataclass
class Context:
    """One computation's settings, wording, statistics and maps.

    Attributes:
        settings: the settings.
        words: names, amounts and dates for evidence.
        tender_ids: per ocid, the tender id on this chain (for the portal's rows).
        currency: the main currency of price comparisons, once known.
        meta: per code, the statistics behind its fences (Cardinal's ``Meta``).
        maps: Cardinal's maps built from the releases (``ocid_tenderer``, ``ocid_buyer_r038``,
            ``ocid_procuringentity_r038``).
    """

    settings: Settings
    words: Wording
    tender_ids: Mapping[str, int] = field(default_factory=dict)
    currency: str | None = None
    meta: dict[str, dict[str, float]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def is_main_currency(self, currency: str) -> bool:
        """Whether ``currency`` is the main one; the first asked becomes it when the
        settings name none (Cardinal's rule)."""
        if self.currency is None:
            self.currency = self.settings.currency or currency
        return currency == self.currency

    def flag(
        self,
        code: str,
        ocid: str | None,
        value: float,
        evidence: str,
        *,
        party: str | None = None,
        group: Group = "OCID",
    ) -> Flag:
        """A flag, with its tender id when the ocid is one of this chain's processes."""
        tender_id = self.tender_ids.get(ocid) if ocid is not None else None
        return Flag(code, ocid, party, value, evidence, group, tender_id)

    def note(self, code: str, key: str, value: float) -> None:
        """Record a statistic in ``Meta``."""
        self.meta.setdefault(code, {})[key] = value


def fence_origin(computed: bool, count: int, what: str, q1: float, q3: float) -> str:
    """Where a fence came from, in words: the data's quartiles, or the settings."""
    if not computed:
        return "the threshold set in the settings"
    return (
        f"a fence computed from the {count:,} {what} (Q1 {figure(q1)}, Q3 {figure(q3)}, "
        "1.5 times the interquartile range beyond)"
    )


class Indicator:
    """One indicator: reads each release (:meth:`fold`), then raises its flags
    (:meth:`finish`)."""

    code = ""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.flags: list[Flag] = []

    def fold(self, release: Release) -> None:
        """Read one release (not cancelled, not excluded, with a string ocid)."""

    def finish(self) -> list[Flag]:
        """The flags, once every release was read."""
        return self.flags

    def raise_flag(
        self,
        ocid: str | None,
        value: float,
        evidence: str,
        *,
        party: str | None = None,
        group: Group = "OCID",
    ) -> None:
        """Add a flag of this indicator."""
        self.flags.append(self.ctx.flag(self.code, ocid, value, evidence, party=party, group=group))
