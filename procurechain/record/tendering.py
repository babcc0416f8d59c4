"""Tender-side events applied to a process: publication, sealed bids, bonds, awards,
cancellation, and the consortium members' declared conflicts of interest.

Where each decision's words land: the award report in the award's description and an
``evaluationReports`` award document; a cancellation's reason in a ``cancellationDetails``
tender document; a disqualification's reason in an ``evaluationReports`` document of the bid;
each bond (paid, returned, forfeited) in a ``contractGuarantees`` document of its bid; each
conflict of interest with the tender, its agreement, its buyer or one of its bidders in a
``conflictOfInterest`` tender document.
"""

from __future__ import annotations

from collections.abc import Mapping

from procurechain.audit import Entry
from procurechain.record.money import iso
from procurechain.record.process import Award, Bid, Context, Contract, Process, when
from procurechain.record.texts import document

__all__ = ["advance", "apply", "conflict", "start"]


def start(ctx: Context, entry: Entry, ocid: str) -> Process:
    """The process a ``TenderCreated`` entry opens."""
    a = entry.args
    tender = a["tender"]
    return Process(
        ocid=ocid,
        tender_id=a["id"],
        tender=tender,
        buyer=a["agency"],
        terms=ctx.facts.terms[tender],
        notice=ctx.facts.notices.get(tender),
        published=entry.timestamp,
        created_tx=entry.tx,
        plan=list(a["plan"]),
    )


def conflict(ctx: Context, p: Process, key: tuple[str, str], entry: Entry) -> None:
    """Show a declared conflict of interest (``key``: member, subject) on the tender."""
    member, subject = key
    count = sum(d["documentType"] == "conflictOfInterest" for d in p.documents)
    p.conflicts[key] = document(
        f"conflict-{count + 1}",
        "conflictOfInterest",
        f"Conflict of interest declared by {ctx.names.name(member, 'Member')}",
        when(entry),
        f"{ctx.names.name(member, 'Member')}, a member of the consortium, declared a conflict "
        f"of interest with {_subject(ctx, p, subject)} on {when(entry)} and signs no decision "
        f"on it. Declaration: {ctx.reasons.say(entry.args['reasonHash'], 'declaration')}",
    )
    p.documents.append(p.conflicts[key])


def _subject(ctx: Context, p: Process, subject: str) -> str:
    """What a conflict's subject is to this process, in words."""
    if subject == p.tender:
        return f"this tender (smart contract {subject})"
    if p.contract is not None and subject == p.contract.id:
        return f"its contract (escrow smart contract {subject})"
    return ctx.names.name(subject, "Agency" if subject == p.buyer else "Bidder")


def _lifted(ctx: Context, p: Process, key: tuple[str, str], entry: Entry) -> None:
    doc = p.conflicts.pop(key, None)
    if doc is not None:
        doc["description"] += f" Lifted by {ctx.by(entry)} on {when(entry)}."
        doc["dateModified"] = when(entry)


def apply(ctx: Context, p: Process, e: Entry, declared: Mapping[tuple[str, str], Entry]) -> None:
    """Fold one registry, tender or consortium entry into the process.

    ``declared``: every conflict of interest in force, by (member, subject), as of ``e``.
    """
    a, at = e.args, when(e)
    if e.event == "ConflictDeclared":
        conflict(ctx, p, (a["member"], a["subject"]), e)
    elif e.event == "ConflictLifted":
        _lifted(ctx, p, (a["member"], a["subject"]), e)
    elif e.event == "BidCommitted":
        _committed(ctx, p, e, declared)
    elif e.event == "BidRevealed":
        _revealed(ctx, p, e)
    elif e.event == "BidderDisqualified":
        bid = p.bids[a["bidder"]]
        bid.status = "disqualified"
        bid.documents.append(
            document(
                f"{bid.id}-disqualification-{len(bid.documents) + 1}",
                "evaluationReports",
                "Reasons for the disqualification",
                at,
                f"Disqualified on {at} by {ctx.by(e)}. "
                f"Reasons: {ctx.reasons.say(a['reasonHash'], 'reason')}",
            )
        )
        if p.leader == a["bidder"]:
            p.leader = None
        _cancel_award_of(p, a["bidder"], f"Cancelled on {at}: the awardee was disqualified.")
    elif e.event == "RankingOpened":
        p.leader, p.ranking_deadline = None, a["deadline"]
    elif e.event == "RankClaimed" and a["leading"]:
        p.leader = a["bidder"]
    elif e.event == "BidAwarded":
        _awarded(ctx, p, e)
    elif e.event == "AwardLapsed":
        _cancel_award_of(
            p, a["bidder"], f"The awardee did not accept it in time; it lapsed on {at}."
        )
        if p.leader == a["bidder"]:
            p.leader = None
    elif e.event == "AwardAccepted":
        award = p.award
        assert award is not None and award.bidder == a["supplier"]
        award.status, p.status = "active", "complete"
        p.contract = Contract(a["agreement"], award, at, e.timestamp)
    elif e.event == "TenderCancelled":
        p.status = "cancelled"
        p.documents.append(
            document(
                "cancellation",
                "cancellationDetails",
                "Reasons for the cancellation",
                at,
                f"Cancelled on {at} by {ctx.by(e)}. "
                f"Reasons: {ctx.reasons.say(a['reasonHash'], 'reason')}",
            )
        )
        for award in p.awards:
            if award.status == "pending":
                award.status = "cancelled"
                award.description += f" Cancelled on {at} with the tender."
    elif e.event in ("BondWithdrawn", "BondReturned", "BondForfeited"):
        _bond(ctx, p, e)


def _committed(
    ctx: Context, p: Process, e: Entry, declared: Mapping[tuple[str, str], Entry]
) -> None:
    a, at = e.args, when(e)
    bidder = a["bidder"]
    if bidder in p.bids:  # a replaced commitment: the bid counts from now
        bid = p.bids[bidder]
        bid.date = at
        sealed = bid.doc("submissionDocuments")
        assert sealed is not None
        sealed["description"] += f" Replaced on {at} by commitment {a['commitment']}."
        sealed["dateModified"] = at
        return
    bid = Bid(f"bid-{len(p.bids) + 1}", bidder, at)
    p.bids[bidder] = bid
    bid.documents.append(
        document(
            f"{bid.id}-sealed",
            "submissionDocuments",
            "Sealed bid",
            at,
            f"Committed on {at}: commitment {a['commitment']}, the keccak-256 of the price, "
            "the bid documents' hash and a secret salt. The price stays hidden until the reveal.",
        )
    )
    bid.documents.append(
        document(
            f"{bid.id}-bond",
            "contractGuarantees",
            f"Bond of {ctx.money(p.terms.bond)}",
            at,
            f"{ctx.money(p.terms.bond)} paid into the tender contract {p.tender} with the "
            f"sealed bid on {at}.",
        )
    )
    for key, entry in declared.items():
        if key[1] == bidder and key not in p.conflicts:
            conflict(ctx, p, key, entry)


def _revealed(ctx: Context, p: Process, e: Entry) -> None:
    a, at = e.args, when(e)
    bid = p.bids[a["bidder"]]
    bid.price, bid.status = a["price"], "valid" if a["valid"] else "disqualified"
    sealed = bid.doc("submissionDocuments")
    assert sealed is not None
    sealed["description"] += (
        f" Revealed on {at}: {ctx.money(a['price'])}; the bid documents are bound to hash "
        f"{a['documentHash']} (they are not on the chain)."
    )
    sealed["dateModified"] = at
    if a["leading"]:
        p.leader = a["bidder"]
    if not a["valid"]:
        why = (
            f"{ctx.money(a['price'])} is above the budget of {ctx.money(p.terms.budget)}"
            if a["price"] > p.terms.budget
            else "a price of zero is not a bid"
        )
        bid.documents.append(
            document(
                f"{bid.id}-invalid",
                "evaluationReports",
                "Invalid at its reveal",
                at,
                f"The tender contract found the bid invalid when it was revealed on {at}: {why}.",
            )
        )


def _awarded(ctx: Context, p: Process, e: Entry) -> None:
    a, at = e.args, when(e)
    bid = p.bids[a["bidder"]]
    name = ctx.names.name(a["bidder"], "Bidder")
    report = ctx.reasons.say(a["reportHash"], "award report")
    award = Award(
        id=f"award-{len(p.awards) + 1}",
        bidder=a["bidder"],
        bid=bid.id,
        price=a["price"],
        date=at,
        description=(
            f"{report} Awarded on {at} by {ctx.by(e)} to {name} at {ctx.money(a['price'])}; "
            f"{name} may accept until {iso(a['acceptDeadline'])}."
        ),
    )
    award.documents.append(
        document(f"{award.id}-report", "evaluationReports", "Award report", at, report)
    )
    p.awards.append(award)
    p.accept_deadline = a["acceptDeadline"]


def _cancel_award_of(p: Process, bidder: str, why: str) -> None:
    award = p.award
    if award is not None and award.bidder == bidder and award.status == "pending":
        award.status = "cancelled"
        award.description += f" {why}"


def _bond(ctx: Context, p: Process, e: Entry) -> None:
    a, at = e.args, when(e)
    bidder = a.get("bidder", a.get("supplier"))
    bid = p.bids[bidder]
    doc = bid.doc("contractGuarantees")
    assert doc is not None
    amount = ctx.money(a["amount"])
    if e.event == "BondForfeited":
        if bid.status == "pending":
            bid.status = "withdrawn"  # never revealed: the bidder gave the bid up
            why = "the bid was never revealed"
        else:
            why = "the awardee did not accept the award in time"
        doc["description"] += (
            f" Forfeited on {at} to {ctx.names.name(a['buyer'], 'Agency')}: {why} ({amount})."
        )
    elif e.event == "BondReturned":
        doc["description"] += f" Returned to the supplier on {at}, on acceptance ({amount})."
    else:
        doc["description"] += f" Taken back by the bidder on {at} ({amount})."
    doc["dateModified"] = at


def advance(p: Process, now: int) -> None:
    """What the clock alone changed by ``now``: a tender past its deadlines without a
    leader, or past its evaluation deadline without an award, has failed (the contract's
    ``stage()`` says Failed; no event marks it, so the first release after it shows it)."""
    if p.status != "active" or (p.award is not None and p.award.status == "pending"):
        return
    terms = p.terms
    if now <= max(terms.reveal_deadline, p.ranking_deadline):
        return
    deadline = max(terms.reveal_deadline, p.ranking_deadline, p.accept_deadline)
    if p.leader is None or now > deadline + terms.evaluation_period:
        p.status = "unsuccessful"
