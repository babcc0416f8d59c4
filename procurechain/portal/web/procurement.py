"""The procurement page's content, from the index's rows of one process: the notice and its
documents, the timeline, the bids, the award and the decision behind it, the agreement's
milestones and money, and the flags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from procurechain.portal.web import timeline as tl
from procurechain.portal.web.charts import BarChart, bar_chart, stacked_chart
from procurechain.portal.web.present import Link, Present, link_of
from procurechain.portal.web.queries import Queries

__all__ = ["Document", "Milestone", "Procurement", "build"]

VERIFIED = "verified against its on-chain hash"
NOT_CHECKED = "not checked: the portal does not fetch documents"
BID_WORDS = {
    "sealed": "sealed: the price stays hidden until it is revealed",
    "revealed": "revealed",
    "valid": "revealed, valid",
    "invalid": "revealed, invalid",
    "disqualified": "disqualified",
    # the record's OCDS status of a bid never revealed (its bond forfeited): nothing else
    # withdraws a sealed bid
    "withdrawn": "never revealed: the price stays hidden and the bond was forfeited",
    "won": "won the award",
}


@dataclass(frozen=True)
class Document:
    """A document of the tender and what is known of its bytes."""

    title: str
    kind: str
    description: str
    link: Link | None
    status: str
    verified: bool


@dataclass
class Milestone:
    """One milestone of the agreement and the money it moved (base units)."""

    number: int
    title: str
    due: str
    status: str
    amount: int = 0
    days_late: int | None = None
    paid: int = 0
    penalty: int = 0
    retained: int = 0
    refunded: int = 0
    disputed: bool = False
    description: str = ""
    evidence: list[Link] = field(default_factory=list)  # each delivery's evidence URI


@dataclass
class Procurement:
    """Everything the procurement page shows."""

    row: Any
    compiled: dict[str, Any]
    raw_notice: str | None
    notice_problem: str
    documents: list[Document]
    timeline: list[tl.Row]
    bids: list[dict[str, Any]]
    bid_chart: BarChart | None
    awards: list[dict[str, Any]]
    decisions: list[tl.Decision]
    conflicts: list[dict[str, Any]]
    contract: dict[str, Any] | None
    milestones: list[Milestone] = field(default_factory=list)
    milestone_chart: BarChart | None = None
    money: list[tuple[str, int]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)
    flags: list[Any] = field(default_factory=list)


def _documents(compiled: dict[str, Any], tender: Any) -> list[Document]:
    found = []
    for doc in compiled.get("tender", {}).get("documents", []):
        if doc.get("documentType") == "conflictOfInterest":
            continue  # shown with the decisions
        url = doc.get("url")
        if doc.get("id") == "notice":
            ok = tender is not None and tender["notice"] is not None
            status = VERIFIED if ok else "not found on the chain"
        else:
            ok, status = False, NOT_CHECKED
        found.append(
            Document(
                str(doc.get("title", "")),
                str(doc.get("documentType", "")),
                str(doc.get("description", "")),
                link_of(url) if url else None,
                status,
                ok,
            )
        )
    return found


def _milestones(events: list[Any], contract: dict[str, Any] | None) -> list[Milestone]:
    if contract is None:
        return []
    stones = [
        Milestone(
            n + 1,
            str(m.get("title", "")),
            str(m.get("dueDate", "")),
            str(m.get("status")),
            description=str(m.get("description", "")),
        )
        for n, m in enumerate(contract.get("milestones", []))
    ]
    for e in events:
        args = json.loads(e["args"])
        index = args.get("index")
        if e["contract"] != "Agreement" or not isinstance(index, int) or index >= len(stones):
            continue
        m = stones[index]
        if e["event"] == "MilestoneScheduled":
            m.amount = int(args["amount"])
        elif e["event"] == "MilestoneSubmitted":
            m.days_late = int(args["daysLate"])
            if args.get("evidenceURI"):
                m.evidence.append(link_of(args["evidenceURI"]))
        elif e["event"] == "MilestoneDisputed":
            m.disputed = True
        elif e["event"] in ("MilestoneAccepted", "DisputeResolved"):
            m.paid += int(args["paid"])
            m.penalty += int(args["penalty"])
            m.retained += int(args["retention"])
            m.refunded += int(args.get("refunded", 0))
    return stones


def _money(events: list[Any]) -> list[tuple[str, int]]:
    """The agreement's money in words, summed from its events (base units)."""
    sums: dict[str, int] = {}
    labels = {
        ("AgreementFunded", "received"): "Put in escrow by the buyer",
        ("MilestoneAccepted", "paid"): "Credited to the supplier for accepted milestones",
        ("DisputeResolved", "paid"): "Credited to the supplier after disputes",
        ("MilestoneAccepted", "penalty"): "Late penalties (back to the buyer)",
        ("DisputeResolved", "penalty"): "Late penalties (back to the buyer)",
        ("MilestoneAccepted", "retention"): "Retention held until the warranty ends",
        ("DisputeResolved", "retention"): "Retention held until the warranty ends",
        ("DisputeResolved", "refunded"): "Refunded to the buyer after disputes",
        ("RetentionReleased", "amount"): "Retention released to the supplier",
        ("WarrantyClaimed", "amount"): "Retention drawn by the buyer (warranty claims)",
        ("Withdrawn", "amount"): "Withdrawn from the escrow (by supplier and buyer)",
    }
    for e in events:
        if e["contract"] != "Agreement":
            continue
        for key, value in json.loads(e["amounts"]).items():
            label = labels.get((e["event"], key))
            if label:
                sums[label] = sums.get(label, 0) + int(value)
    return list(sums.items())


def build(q: Queries, p: Present, row: Any) -> Procurement:
    """The page of process ``row`` (a ``processes`` row)."""
    tid = int(row["tender_id"])
    compiled = json.loads(row["compiled"])
    tender = q.tender(tid)
    events = q.events_of(tid)
    bids = [dict(b) for b in q.bids_of(tid)]
    agreement = q.agreement_of(tid)
    parties = {row["address"], row["agency"], *(b["bidder"] for b in bids)}
    parties |= {agreement} if agreement else set()
    conflicts = [e for e in q.consortium_events() if e["event"].startswith("Conflict")]
    # the texts this page quotes: its events' and the reasons of conflicts declared on its
    # parties (a conflict belongs to no one procurement: its row names none)
    quoted = events + [c for c in conflicts if json.loads(c["args"]).get("subject") in parties]
    hashes = [v for e in quoted for k, v in json.loads(e["args"]).items() if k.endswith("Hash")]
    published = q.texts(hashes)
    revealed = [(p.name(b["bidder"]), int(b["price_units"])) for b in bids if b["price_units"]]
    chart = None
    if revealed:
        chart = bar_chart(
            f"bids-{tid}",
            "Spread of the revealed bids",
            f"Revealed bid prices against the budget of {p.money(row['budget_units'])}.",
            revealed,
            p.token.money,
            marker=(int(row["budget_units"]), "budget"),
        )
    executed = [e for e in events if e["event"] == "ActionExecuted"]
    decisions = tl.decisions(
        p,
        executed,
        q.events_in(e["tx"] for e in executed),
        conflicts,
        published,
        {tid: parties},
    )
    contracts = compiled.get("contracts") or []
    contract = contracts[-1] if contracts else None
    stones = _milestones(events, contract)
    milestone_chart = None
    if stones:
        milestone_chart = stacked_chart(
            f"milestones-{tid}",
            "Milestone progress",
            "For each milestone: credited to the supplier, penalty, retained, refunded to the "
            "buyer, and what is still open.",
            [
                (
                    f"Milestone {m.number}",
                    [
                        ("paid", "credited to the supplier", m.paid),
                        ("penalty", "late penalty", m.penalty),
                        ("retained", "retained", m.retained),
                        ("refunded", "refunded to the buyer", m.refunded),
                        (
                            "open",
                            "still open",
                            max(0, m.amount - m.paid - m.penalty - m.retained - m.refunded),
                        ),
                    ],
                )
                for m in stones
            ],
            p.token.money,
            legend=[
                ("paid", "credited to the supplier"),
                ("penalty", "late penalty"),
                ("retained", "retained"),
                ("refunded", "refunded to the buyer"),
                ("open", "still open"),
            ],
        )
    disputes = []
    for e in events:
        if e["event"] in ("MilestoneDisputed", "DisputeResolved"):
            args = json.loads(e["args"])
            disputes.append(
                {
                    "row": e,
                    "milestone": int(args["index"]) + 1,
                    "reason": tl.text_of(published, str(args.get("reasonHash", ""))),
                }
            )
    return Procurement(
        row=row,
        compiled=compiled,
        raw_notice=None if tender is None else tender["notice"],
        notice_problem="" if tender is None else str(tender["notice_source"]),
        documents=_documents(compiled, tender),
        timeline=tl.rows(p, events),
        bids=[b | {"words": BID_WORDS.get(b["status"], b["status"])} for b in bids],
        bid_chart=chart,
        awards=compiled.get("awards") or [],
        decisions=decisions,
        conflicts=[
            d
            for d in compiled.get("tender", {}).get("documents", [])
            if d.get("documentType") == "conflictOfInterest"
        ],
        contract=contract,
        milestones=stones,
        milestone_chart=milestone_chart,
        money=_money(events),
        disputes=disputes,
        flags=q.flags(tender_id=tid),
    )
