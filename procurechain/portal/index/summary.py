"""One contracting process, from its audit log and chain facts alone, as the rows the pages
read: its OCDS releases (``procurechain.record.releases``) and compiled release (``ocdsmerge``,
as :func:`procurechain.record.packages.record_package` compiles), its summary in plain words,
its bids (sealed until revealed) and the texts its record names.

Pure: no database, no node. The stage depends on the clock only through ``now`` (the block
the index reflects): a tender is open until its bidding deadline, then in evaluation, and
unsuccessful once its deadlines pass with nobody to award (no event marks that).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from procurechain import audit
from procurechain.record import releases as rl
from procurechain.record.facts import ChainFacts
from procurechain.record.parties import Names
from procurechain.record.process import Context, Process
from procurechain.record.texts import DocumentChecker, Reasons

__all__ = ["ProcessJob", "ProcessRows", "clock_stage", "mentioned", "summarise", "text"]

#: Event arguments that name a text by its keccak-256 (looked up among published texts).
TEXT_KEYS = frozenset({"reasonHash", "reportHash", "evidenceHash", "descriptionHash"})
_SETTLED = ("MilestoneAccepted", "DisputeResolved")


@dataclass(frozen=True)
class ProcessJob:
    """Everything one process's rows are built from (picklable: it may go to a worker)."""

    tender_id: int
    log: audit.AuditLog
    facts: ChainFacts
    names: Mapping[str, str]
    now: int
    mentions: frozenset[str]  # the text hashes its entries name (:func:`mentioned`)


@dataclass
class ProcessRows:
    """The rows of one process: ``processes``, ``bids`` and ``mentions``."""

    process: dict[str, Any]
    bids: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)


def text(value: str) -> str:
    """A string a database stores as text: NUL (refused by PostgreSQL) shown as U+FFFD."""
    return value.replace("\x00", "\ufffd")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sort(units: int, decimals: int) -> float:
    """Base units as a float number of whole tokens (for sorting and range filters)."""
    return float(Decimal(units).scaleb(-decimals))


def mentioned(entries: list[audit.Entry]) -> set[str]:
    """The text hashes the entries name (reasons, reports, evidence, milestone titles, the
    latter also inside ``TenderCreated``'s plan)."""
    found: set[str] = set()
    for e in entries:
        for key, value in e.args.items():
            if key in TEXT_KEYS and isinstance(value, str):
                found.add(value.lower())
            elif isinstance(value, list):
                found.update(
                    str(item[k]).lower()
                    for item in value
                    if isinstance(item, dict)
                    for k in TEXT_KEYS & item.keys()
                )
    return found


@cache
def _merger() -> Any:
    import ocdsmerge

    from procurechain.record.schema import release_schema

    return ocdsmerge.Merger(schema=release_schema())


def clock_stage(stage: str, bidding_deadline: int, fails_at: int | None, now: int) -> str:
    """What the clock alone makes of a stage decided by events: ``open`` becomes
    ``evaluation`` after the bidding deadline and ``unsuccessful`` after ``fails_at``; every
    other stage waits for an event."""
    if stage != "open":
        return stage
    if fails_at is not None and now > fails_at:
        return "unsuccessful"
    return "open" if now <= bidding_deadline else "evaluation"


def _fails_at(p: Process) -> int | None:
    """When the clock alone fails the process (mirrors ``tendering.advance``)."""
    if p.status != "active" or (p.award is not None and p.award.status == "pending"):
        return None
    terms = p.terms
    if p.leader is None:
        return max(terms.reveal_deadline, p.ranking_deadline)
    deadline = max(terms.reveal_deadline, p.ranking_deadline, p.accept_deadline)
    return deadline + terms.evaluation_period


def _stage(p: Process, agreement_events: set[str]) -> str:
    if p.status == "cancelled":
        return "cancelled"
    if p.contract is not None:
        if "AgreementTerminated" in agreement_events:
            return "terminated"
        return "completed" if "AgreementCompleted" in agreement_events else "in progress"
    if p.award is not None and p.award.status == "pending":
        return "awarded"
    return "unsuccessful" if p.status == "unsuccessful" else "open"


def _build(job: ProcessJob) -> tuple[Process, list[dict[str, Any]]]:
    """The process state and its releases, exactly as ``releases.build`` makes them."""
    facts = job.facts
    named = {facts.consortium: "Consortium", **job.names}
    ctx = Context(facts, Names(named), Reasons(job.log.texts), DocumentChecker())
    builder = rl._Builder(job.log, ctx)  # build()'s own steps, keeping the process state
    found = builder.run()
    (process,) = (o.process for o in builder.open.values())
    return process, found[process.ocid]


def summarise(job: ProcessJob) -> ProcessRows:
    """The rows of one process (its log holds its ``TenderCreated``)."""
    log, facts = job.log, job.facts
    process, releases = _build(job)
    compiled = _merger().create_compiled_release(releases)
    decimals = facts.currency.decimals
    tender = compiled["tender"]
    agreement = log.agreements.get(process.tender)
    own = log.at(agreement) if agreement else []
    stage = _stage(process, {e.event for e in own})
    fails_at = _fails_at(process)
    awarded = [e for e in log.at(process.tender) if e.event == "BidAwarded"]
    current = next(
        (
            (i, a)
            for i, a in reversed(list(enumerate(process.awards)))
            if a.status in ("pending", "active")
        ),
        None,
    )
    supplier = current[1].bidder if current else None
    paid = sum(
        e.amounts["amount"] for e in own if e.event == "Withdrawn" and e.args["account"] == supplier
    )
    held = audit.replay_agreement(log, agreement).held if agreement else 0
    penalties = sum(e.amounts["penalty"] for e in own if e.event in _SETTLED)
    late = {e.args["index"] for e in own if e.event == "MilestoneSubmitted" and e.args["daysLate"]}
    items = [
        " ".join(str(v) for v in (i.get("description"), *i.get("classification", {}).values()))
        for i in tender.get("items", [])
    ]
    title, description = str(tender.get("title", "")), str(tender.get("description", ""))
    row = {
        "tender_id": job.tender_id,
        "ocid": process.ocid,
        "address": process.tender,
        "agency": process.buyer,
        "title": text(title),
        "description": text(description),
        "category": text(str(tender.get("mainProcurementCategory", "")))[:32],
        "stage": clock_stage(stage, process.terms.bidding_deadline, fails_at, job.now),
        "budget_units": str(process.terms.budget),
        "budget_sort": _sort(process.terms.budget, decimals),
        "value_units": str(current[1].price) if current else None,
        "value_sort": _sort(current[1].price, decimals) if current else None,
        "supplier": supplier,
        "bidders": len(process.bids),
        "published": process.published,
        "bidding_deadline": process.terms.bidding_deadline,
        "awarded": awarded[current[0]].timestamp if current else None,
        "escrow_units": str(held),
        "paid_units": str(paid),
        "paid_sort": _sort(paid, decimals),
        "late_milestones": len(late),
        "penalties_units": str(penalties),
        "disputes": sum(e.event == "MilestoneDisputed" for e in own),
        "flags": 0,
        "search": text(" ".join([title, description, *items, process.ocid]).lower()),
        "updated_block": max(e.block for e in log.entries),
        "releases": _dumps(releases),
        "compiled": _dumps(compiled),
        "agreement": agreement,
        "fails_at": fails_at,
    }
    rows = ProcessRows(row, _bids(job, process, current[1].bid if current else None))
    rows.mentions = [
        {"tender_id": job.tender_id, "hash": h} for h in sorted(mentioned(log.entries))
    ]
    return rows


def _bids(job: ProcessJob, p: Process, winning: str | None) -> list[dict[str, Any]]:
    first: dict[str, int] = {}
    for e in job.log.at(p.tender):
        if e.event == "BidCommitted":
            first.setdefault(e.args["bidder"], e.timestamp)
    rows = []
    for bid in p.bids.values():
        kinds = {d["id"].split(f"{bid.id}-", 1)[-1].split("-")[0] for d in bid.documents}
        status = {
            "pending": "sealed",
            "valid": "won" if bid.id == winning else "valid",
            "withdrawn": "withdrawn",
        }.get(bid.status)
        if status is None:  # disqualified: by the consortium, or invalid at its reveal
            status = "disqualified" if "disqualification" in kinds else "invalid"
        sealed = status == "sealed" or bid.price is None
        price = 0 if bid.price is None else int(bid.price)
        rows.append(
            {
                "tender_id": job.tender_id,
                "bidder": bid.bidder,
                "status": status,
                "price_units": None if sealed else str(price),
                "price_sort": None if sealed else _sort(price, job.facts.currency.decimals),
                "committed": first[bid.bidder],
            }
        )
    return rows
