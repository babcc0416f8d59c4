"""The flags as Cardinal prints them, as rows of the portal's ``flags`` table, and as lines.

Cardinal's output (``ocdscardinal indicators --map``) is one JSON object: the groups ``OCID``,
``Buyer``, ``ProcuringEntity`` and ``Tenderer`` (each present only when it has a result), each
mapping an identifier to ``{code: value}``; ``Meta`` (the statistics behind the fences, rounded
to 4 decimals); and ``Maps`` (which organisations each flagged process involves). This chain's
flags take the same shape: a process's flag under ``OCID``, an agency's under ``Buyer``, and the
party a process's flag names under ``Maps`` (``ocid_tenderer_p001``, ``ocid_buyer_p002``, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict

from procurechain.flags.definitions import DEFINITIONS
from procurechain.flags.model import GROUPS, Findings, Flag
from procurechain.flags.quantiles import round4
from procurechain.flags.wording import clean

__all__ = ["CARDINAL_MAPS", "FlagRow", "line", "to_cardinal", "to_rows"]

#: The maps Cardinal's ``--map`` always prints (empty when nothing is in them).
CARDINAL_MAPS = (
    "ocid_buyer_r038",
    "ocid_procuringentity_r038",
    "ocid_tenderer",
    "ocid_tenderer_r024",
    "ocid_tenderer_r028",
    "ocid_tenderer_r030",
    "ocid_tenderer_r035",
    "ocid_tenderer_r058",
)


class FlagRow(TypedDict):
    """One row of the portal's ``flags`` table (``procurechain.portal.index.tables.flags``)."""

    code: str
    tender_id: int | None
    party: str | None
    value: float
    evidence: str


def _maps(findings: Findings) -> dict[str, dict[str, Any]]:
    maps: dict[str, dict[str, Any]] = {key: {} for key in CARDINAL_MAPS}
    for key, found in findings.maps.items():
        maps[key] = dict(found)
    listed: dict[str, dict[str, set[str]]] = {}
    for flag in findings.flags:
        if flag.ocid is None or flag.party is None:
            continue
        if flag.group == "Tenderer":
            key = f"ocid_tenderer_{flag.code.lower()}"
        elif flag.group == "OCID" and (role := DEFINITIONS[flag.code].party_role):
            key = f"ocid_{role}_{flag.code.lower()}"
        else:
            continue
        listed.setdefault(key, {}).setdefault(flag.ocid, set()).add(flag.party)
    for key, by_ocid in listed.items():
        maps.setdefault(key, {}).update({o: sorted(p) for o, p in by_ocid.items()})
    return maps


def to_cardinal(findings: Findings, *, meta: bool = True, maps: bool = True) -> dict[str, Any]:
    """Cardinal's output object (with ``Meta`` unless ``meta`` is false, with ``Maps`` as
    ``--map`` adds them unless ``maps`` is false); values are floats, as Cardinal writes them."""
    groups: dict[str, dict[str, dict[str, float]]] = {g: {} for g in GROUPS}
    for flag in findings.flags:
        key = flag.ocid if flag.group == "OCID" else flag.party
        if key is not None:
            groups[flag.group].setdefault(key, {})[flag.code] = float(flag.value)
    result: dict[str, Any] = {g: found for g, found in groups.items() if found}
    if meta:
        result["Meta"] = {
            code: {key: round4(value) for key, value in stats.items()}
            for code, stats in findings.meta.items()
        }
    if maps:
        result["Maps"] = _maps(findings)
    return result


def to_rows(flags: Iterable[Flag]) -> list[FlagRow]:
    """The flags as rows of the portal's ``flags`` table: code, tender_id, party, value,
    evidence."""
    return [
        FlagRow(
            code=f.code,
            tender_id=f.tender_id,
            party=f.party,
            value=f.value,
            evidence=f.evidence,
        )
        for f in flags
    ]


def line(flag: Flag) -> str:
    """One line for people: code, title, process (or party), evidence."""
    title = DEFINITIONS[flag.code].title
    kind = {"Buyer": "buyer", "ProcuringEntity": "procuring entity"}.get(flag.group, "tenderer")
    where = clean(flag.ocid) if flag.ocid is not None else f"{kind} {clean(flag.party)}"
    return f"{flag.code} {title} — {where} — {flag.evidence}"
