"""Escrow events applied to a process's contract: funding, milestones, money, closing.

Money is told once, as it moved:

- a **transaction** (``implementation.transactions``) is a payment to the supplier: each
  ``Withdrawn`` of the supplier out of the escrow, payer the buyer (whose money it was),
  payee the supplier. A credit (``Credited``) only changes whose money the escrow holds; the
  withdrawal is when tokens move to the supplier, and the total never exceeds the contract.
- the buyer's **deposit**, and everything that comes back to the buyer (late penalties, the
  refunded part of a resolved dispute, warranty claims, a termination's refund, tokens sent
  outside funding) and the buyer's withdrawals, are **statements of the escrow**:
  ``financialProgressReport`` implementation documents. The buyer does not pay itself.

Decisions land as implementation documents too: delivery evidence and rejections
(``physicalProgressReport``), disputes, their resolution and warranty claims (``complaints``),
a termination (``cancellationDetails``); each milestone's description tells its story
(submitted, late by how much, penalty, retention, paid, the split of a resolution).
"""

from __future__ import annotations

from procurechain.audit import Entry
from procurechain.record.money import iso
from procurechain.record.process import Context, Contract, Milestone, Process, when
from procurechain.record.texts import document

__all__ = ["apply", "milestone_title"]


def milestone_title(ctx: Context, p: Process, index: int, hash_: str) -> str:
    """The title of milestone ``index``: from the notice (checked against the plan's
    ``descriptionHash``) or a published text with that hash; else it says it is unknown."""
    from eth_utils import keccak

    reading = p.notice.reading if p.notice is not None else None
    titles = reading.notice.milestones if reading is not None and reading.notice else ()
    if index < len(titles) and "0x" + keccak(text=titles[index]).hex() == hash_:
        return titles[index]
    found = ctx.reasons.text(hash_)
    if found is not None:
        return found
    return f"Milestone {index + 1} (its title was not published; keccak-256 {hash_})"


def _statement(c: Contract, at: str, title: str, text: str) -> None:
    c.documents.append(
        document(f"escrow-{len(c.documents) + 1}", "financialProgressReport", title, at, text)
    )


def _note(m: Milestone, at: str, text: str) -> None:
    m.notes.append(text)
    m.date_modified = at


def apply(ctx: Context, p: Process, e: Entry) -> None:
    """Fold one agreement entry into the process's contract."""
    c = p.contract
    assert c is not None, "an agreement event before its AwardAccepted"
    a, at, money = e.args, when(e), ctx.money
    buyer, supplier = ctx.names.name(p.buyer, "Agency"), ctx.names.name(c.award.bidder, "Bidder")
    m = c.milestones[a["index"]] if "index" in a and e.event != "MilestoneScheduled" else None
    if e.event == "MilestoneScheduled":
        index = a["index"]
        share = p.plan[index]["shareBps"] if index < len(p.plan) else 0
        c.milestones.append(
            Milestone(
                f"milestone-{index + 1}",
                milestone_title(ctx, p, index, a["descriptionHash"]),
                a["amount"],
                share,
                a["dueDate"],
            )
        )
    elif e.event == "AgreementFunded":
        c.status = "active"
        for scheduled in c.milestones:  # due dates count from funding
            scheduled.due += e.timestamp - c.created
        surplus = (
            f"; {money(a['surplus'])} above the price was credited back" if a["surplus"] else ""
        )
        _statement(
            c,
            at,
            "Escrow funded",
            f"{money(a['received'])} deposited in the escrow (smart contract {c.id}) by {buyer} "
            f"on {at}{surplus}. The escrow pays the supplier milestone by milestone.",
        )
    elif e.event == "MilestoneSubmitted":
        assert m is not None
        late = f"{a['daysLate']} days late" if a["daysLate"] else "on time"
        _note(m, at, f"Delivered on {at}, {late}.")
        url, where = _evidence_url(a["evidenceURI"])
        c.documents.append(
            document(
                f"{m.id}-evidence-{len(c.documents) + 1}",
                "physicalProgressReport",
                f"{m.name}: delivery evidence",
                at,
                ctx.reasons.say(a["evidenceHash"], "evidence") + where,
                url=url,
            )
        )
    elif e.event == "MilestoneRejected":
        assert m is not None
        _note(m, at, f"Rejected on {at}; the supplier may deliver again.")
        reason = ctx.reasons.say(a["reasonHash"])
        text = f"Rejected on {at} by {ctx.by(e)}. Reasons: {reason}"
        _doc(c, m, "physicalProgressReport", "submission rejected", at, text)
    elif e.event == "MilestoneDisputed":
        assert m is not None
        who = ctx.names.name(a["by"], "Agency" if a["by"] == p.buyer else "Bidder")
        _note(m, at, f"Disputed by {who} on {at}; nothing is paid until it is resolved.")
        reason = ctx.reasons.say(a["reasonHash"])
        _doc(c, m, "complaints", "dispute", at, f"Disputed by {who} on {at}. Reasons: {reason}")
    elif e.event == "MilestoneAccepted":
        assert m is not None
        m.status, m.date_met = "met", at
        c.retention_held += a["retention"]
        _note(m, at, f"Accepted on {at} by {ctx.by(e)}: {_split(ctx, p, a)}.")
        _refund(ctx, p, at, a["penalty"], f"late penalty on milestone {a['index'] + 1}")
    elif e.event == "DisputeResolved":
        assert m is not None
        share = a["supplierBps"]
        m.status = "met" if share == 10_000 else "partiallyMet" if share else "notMet"
        m.date_met = at if share else ""
        c.retention_held += a["retention"]
        _note(
            m,
            at,
            f"Dispute resolved on {at} by {ctx.by(e)}: {share / 100:g}% of the milestone to "
            f"the supplier ({_split(ctx, p, a)}); {money(a['refunded'])} refunded to {buyer}.",
        )
        reason = ctx.reasons.say(a["reasonHash"])
        _doc(c, m, "complaints", "dispute resolved", at, f"Resolved on {at}. Reasons: {reason}")
        refunded = a["refunded"] + a["penalty"]
        _refund(ctx, p, at, refunded, f"resolution of the dispute on milestone {a['index'] + 1}")
    elif e.event == "WorkCompleted":
        _statement(
            c,
            at,
            "Every milestone settled",
            f"Every milestone was settled on {at}. The warranty runs until "
            f"{iso(a['warrantyEndsAt'])}; the retention of {money(c.retention_held)} stays in "
            "the escrow until then.",
        )
    elif e.event == "WarrantyClaimed":
        c.retention_held = a["retentionLeft"]
        reason = ctx.reasons.say(a["reasonHash"])
        c.documents.append(
            document(
                f"warranty-claim-{len(c.documents) + 1}",
                "complaints",
                f"Warranty claim: {money(a['amount'])}",
                at,
                f"Claimed on {at} by {ctx.by(e)}. Reasons: {reason}",
            )
        )
        _refund(ctx, p, at, a["amount"], "a warranty claim on the retention")
    elif e.event == "RetentionReleased":
        c.retention_held = 0
        _statement(
            c,
            at,
            "Retention released",
            f"The retention of {money(a['amount'])} was released to {supplier} on {at}, "
            "after the warranty.",
        )
    elif e.event == "AgreementCompleted":
        c.status, c.closing = "terminated", f"Completed on {at}."
    elif e.event == "AgreementTerminated":
        _terminated(ctx, p, c, e)
    elif e.event == "SurplusRecovered":
        _refund(ctx, p, at, a["amount"], "tokens sent to the escrow outside funding")
    elif e.event == "Withdrawn":
        if a["account"] == c.award.bidder:
            c.transactions.append(
                {
                    "id": f"{e.tx}-{e.log_index}",
                    "date": at,
                    "value": ctx.currency.value(a["amount"]),
                    "payer": ctx.names.ref(p.buyer, "Agency"),
                    "payee": ctx.names.ref(c.award.bidder, "Bidder"),
                }
            )
        else:
            who = ctx.names.name(a["account"], "Agency")
            _statement(
                c,
                at,
                "Withdrawn from the escrow",
                f"{who} withdrew {money(a['amount'])} from the escrow on {at}.",
            )


def _evidence_url(uri: str) -> tuple[str, str]:
    """The evidence URI as a document URL when it is a web or IPFS address; otherwise none,
    and a sentence that shows what the supplier gave (whoever pays the gas writes it)."""
    from procurechain.record.notice import NoticeError, url

    if not uri:
        return "", ""
    try:
        return url(uri, "evidence"), ""
    except NoticeError:
        return "", f" The evidence URI given, {uri!r}, is not a web or IPFS address."


def _split(ctx: Context, p: Process, a: dict) -> str:
    days = p.terms.warranty_period // 86_400
    penalty = f"late penalty {ctx.money(a['penalty'])}" if a["penalty"] else "no late penalty"
    held = (
        f"retention {ctx.money(a['retention'])} held until the warranty ends ({days} days "
        "after the last milestone is settled)"
        if a["retention"]
        else "nothing retained"
    )
    return f"{ctx.money(a['paid'])} credited to the supplier; {penalty}; {held}"


def _doc(c: Contract, m: Milestone, kind: str, what: str, at: str, text: str) -> None:
    id_ = f"{m.id}-{what.replace(' ', '-')}-{len(c.documents) + 1}"
    c.documents.append(document(id_, kind, f"{m.name}: {what}", at, text))


def _refund(ctx: Context, p: Process, at: str, amount: int, cause: str) -> None:
    """A statement of money the escrow owes the buyer again (no payment: its own money)."""
    assert p.contract is not None
    if amount:
        buyer = ctx.names.name(p.buyer, "Agency")
        _statement(
            p.contract,
            at,
            "Credited back to the buyer",
            f"{ctx.money(amount)} of the escrow credited back to {buyer} on {at}: {cause}.",
        )


def _terminated(ctx: Context, p: Process, c: Contract, e: Entry) -> None:
    a, at = e.args, when(e)
    c.status, c.closing = "terminated", f"Terminated on {at} by {ctx.by(e)}."
    reason = ctx.reasons.say(a["reasonHash"])
    c.documents.append(
        document("termination", "cancellationDetails", "Reasons for the termination", at,
                 f"Terminated on {at} by {ctx.by(e)}. Reasons: {reason}")
    )  # fmt: skip
    for m in c.milestones:
        if m.status == "scheduled":
            m.status = "notMet"
            _note(m, at, f"Not delivered: the contract was terminated on {at}.")
    supplier = ctx.names.name(c.award.bidder, "Bidder")
    if a["toSupplier"]:
        _statement(
            c,
            at,
            "Retention paid on termination",
            f"{ctx.money(a['toSupplier'])} of retention for accepted work credited to "
            f"{supplier} on {at}.",
        )
    _refund(ctx, p, at, a["toBuyer"], "the unearned rest on termination")
