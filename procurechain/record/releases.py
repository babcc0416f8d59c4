"""An audit log as OCDS releases: one release per second in which a process changed.

The entries of one contracting process (its ``TenderCreated``, its tender's and its
agreement's events, and the conflicts of interest that concern it) are grouped by block
timestamp: block timestamps are whole seconds and several blocks can share one, so all the
changes of one second form one release, and no two releases of an ocid share a date. After a
group is applied the process is snapshotted (:func:`~procurechain.record.snapshot.snapshot`,
a deep copy): a release is the process as of its own date, never touched by a later event.
A snapshot equal to the previous one (everything but id, date and tag) is dropped. The tags
are computed by comparing each release with the previous one, section by section
(:func:`tags`), so they say what changed.

Release ``id`` is ``<ocid>-<last block of the group>``; ``date`` the group's timestamp
(ISO 8601 UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from procurechain.audit import AuditLog, Entry
from procurechain.record import execution, tendering
from procurechain.record.facts import ChainFacts
from procurechain.record.money import iso
from procurechain.record.parties import Names
from procurechain.record.process import Context, Process
from procurechain.record.snapshot import snapshot
from procurechain.record.texts import DocumentChecker, Reasons

__all__ = ["TAG_ORDER", "build", "tags"]

#: OCDS ``releaseTag`` codes in the order a release lists them.
TAG_ORDER = (
    "tender",
    "tenderUpdate",
    "tenderCancellation",
    "award",
    "awardUpdate",
    "awardCancellation",
    "contract",
    "contractUpdate",
    "contractTermination",
    "implementation",
    "implementationUpdate",
)
_META = ("ocid", "id", "date", "tag")


def _body(release: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in release.items() if k not in _META}


def _by_id(items: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items or []}


def tags(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """What changed from ``previous`` to ``current`` (release bodies), as OCDS tags.

    The first release is ``tender``. Then: the tender or its bids changed: ``tenderUpdate``,
    or ``tenderCancellation`` when the tender became cancelled; a new award: ``award``; a
    changed one: ``awardUpdate``, or ``awardCancellation`` when it became cancelled; a new
    contract: ``contract``; a changed one: ``contractUpdate``, or ``contractTermination``
    when it became terminated; its implementation appearing: ``implementation``, changing:
    ``implementationUpdate``.
    """
    if previous is None:
        return ["tender"]
    found: set[str] = set()
    if previous["tender"] != current["tender"] or previous.get("bids") != current.get("bids"):
        cancelled = current["tender"]["status"] == "cancelled" != previous["tender"]["status"]
        found.add("tenderCancellation" if cancelled else "tenderUpdate")
    before = _by_id(previous.get("awards"))
    for id_, award in _by_id(current.get("awards")).items():
        if id_ not in before:
            found.add("award")
        elif award != before[id_]:
            cancelled = award["status"] == "cancelled" != before[id_]["status"]
            found.add("awardCancellation" if cancelled else "awardUpdate")
    before = _by_id(previous.get("contracts"))
    for id_, contract in _by_id(current.get("contracts")).items():
        old = before.get(id_)
        if old is None:
            found.add("contract")
        else:
            terms = {k: v for k, v in contract.items() if k != "implementation"}
            if terms != {k: v for k, v in old.items() if k != "implementation"}:
                ended = contract["status"] == "terminated" != old["status"]
                found.add("contractTermination" if ended else "contractUpdate")
        was = old.get("implementation") if old is not None else None
        if "implementation" in contract:
            if was is None:
                found.add("implementation")
            elif contract["implementation"] != was:
                found.add("implementationUpdate")
    assert found, "a release that changed nothing a tag names"
    return [t for t in TAG_ORDER if t in found]


@dataclass
class _Open:
    """A process and the group of entries (one second) being applied to it."""

    process: Process
    timestamp: int = -1
    block: int = 0
    releases: list[dict[str, Any]] = field(default_factory=list)


class _Builder:
    def __init__(self, log: AuditLog, ctx: Context) -> None:
        self.log, self.ctx = log, ctx
        self.of_agreement = {agreement: tender for tender, agreement in log.agreements.items()}
        self.open: dict[str, _Open] = {}  # by tender address
        self.declared: dict[tuple[str, str], Entry] = {}  # conflicts in force

    def targets(self, e: Entry) -> list[_Open]:
        if e.event == "TenderCreated":
            tender = e.args["tender"]
            if tender not in self.ctx.facts.terms:
                return []
            ocid = self.ctx.facts.ocids[e.args["id"]]
            self.open[tender] = _Open(tendering.start(self.ctx, e, ocid))
            return [self.open[tender]]
        if e.contract == "Tender":
            return [self.open[e.address]] if e.address in self.open else []
        if e.contract == "Agreement":
            tender = self.of_agreement.get(e.address)
            return [self.open[tender]] if tender in self.open else []
        if e.event not in ("ConflictDeclared", "ConflictLifted"):
            return []
        key: tuple[str, str] = (e.args["member"], e.args["subject"])
        if e.event == "ConflictDeclared":
            self.declared[key] = e
            return [
                o
                for o in self.open.values()
                if not o.process.finished and key[1] in o.process.subjects()
            ]
        self.declared.pop(key, None)
        return [o for o in self.open.values() if key in o.process.conflicts]

    def apply(self, target: _Open, e: Entry) -> None:
        if target.timestamp not in (-1, e.timestamp):
            self.close(target)
        target.timestamp, target.block = e.timestamp, e.block
        if e.event == "TenderCreated":
            return
        if e.contract == "Agreement":
            execution.apply(self.ctx, target.process, e)
        else:
            tendering.apply(self.ctx, target.process, e, self.declared)

    def close(self, target: _Open) -> None:
        p = target.process
        tendering.advance(p, target.timestamp)
        body = snapshot(self.ctx, p)
        previous = _body(target.releases[-1]) if target.releases else None
        if body == previous:
            return
        target.releases.append(
            {
                "ocid": p.ocid,
                "id": f"{p.ocid}-{target.block}",
                "date": iso(target.timestamp),
                "tag": tags(previous, body),
                **body,
            }
        )

    def run(self) -> dict[str, list[dict[str, Any]]]:
        for e in self.log.entries:
            for target in self.targets(e):
                self.apply(target, e)
        for target in self.open.values():
            self.close(target)
        return {o.process.ocid: o.releases for o in self.open.values()}


def build(
    log: AuditLog,
    facts: ChainFacts,
    *,
    names: Mapping[str, str] | None = None,
    checker: DocumentChecker | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every process of ``log`` as its releases, by ocid, in the log's order.

    Args:
        log: the audit log (:func:`procurechain.audit.collect`).
        facts: what was read from the chain besides the events
            (:func:`procurechain.record.facts.read`).
        names: readable names of addresses (defaults say what an address is).
        checker: how notice documents are described (default: not fetched).
    """
    named = {facts.consortium: "Consortium", **(names or {})}
    ctx = Context(facts, Names(named), Reasons(log.texts), checker or DocumentChecker())
    return _Builder(log, ctx).run()
