"""What a red flag is: a code, what it is about, a value and the evidence in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GROUPS", "Findings", "Flag", "Group"]

#: Cardinal's result groups: a flag is about a process (``OCID``) or an organisation.
Group = Literal["OCID", "Buyer", "ProcuringEntity", "Tenderer"]
GROUPS: tuple[Group, ...] = ("OCID", "Buyer", "ProcuringEntity", "Tenderer")


@dataclass(frozen=True)
class Flag:
    """One red flag.

    Attributes:
        code: ``R003`` … (Cardinal's indicators) or ``P001`` … (this chain's own).
        ocid: the contracting process it is about or found in, or None (an organisation's
            flag drawn from many processes, such as R025, R038, R048 and P003).
        party: the organisation (an address on this chain) it is about, or None (a
            process's flag as Cardinal gives it, e.g. R018).
        value: the figure, a float as Cardinal gives it (``1.0`` for "yes"; ``0.0`` for an
            organisation flagged with a process whose figure is on the process's flag).
        evidence: what was found, in plain words, with the figures.
        group: where Cardinal's output lists it: ``OCID`` (keyed by ``ocid``), or ``Buyer``,
            ``ProcuringEntity``, ``Tenderer`` (keyed by ``party``).
        tender_id: the process's tender id on this chain, when known (the portal's rows).
    """

    code: str
    ocid: str | None
    party: str | None
    value: float
    evidence: str
    group: Group = "OCID"
    tender_id: int | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"unknown group {self.group!r}")
        if self.group == "OCID" and self.ocid is None:
            raise ValueError(f"{self.code}: a process's flag needs its ocid")
        if self.group != "OCID" and self.party is None:
            raise ValueError(f"{self.code}: an organisation's flag needs its party")
        object.__setattr__(self, "value", float(self.value))

    def as_dict(self) -> dict[str, Any]:
        """The flag as a JSON-ready dictionary."""
        return {
            "code": self.code,
            "ocid": self.ocid,
            "party": self.party,
            "value": self.value,
            "evidence": self.evidence,
            "group": self.group,
            "tender_id": self.tender_id,
        }


@dataclass
class Findings:
    """Every flag of one computation, with Cardinal's statistics and maps.

    Attributes:
        flags: the flags, Cardinal's in indicator order, then the chain's.
        meta: per indicator, the statistics its fences came from (``q1``, ``q3``,
            ``lower_fence``, …), unrounded; NaN for a statistic of no values.
        maps: the maps Cardinal's ``--map`` builds from the releases themselves
            (``ocid_tenderer``, ``ocid_buyer_r038``, ``ocid_procuringentity_r038``); the maps of
            flagged organisations per process are derived from the flags.
    """

    flags: list[Flag] = field(default_factory=list)
    meta: dict[str, dict[str, float]] = field(default_factory=dict)
    maps: dict[str, dict[str, Any]] = field(default_factory=dict)
