"""A process's state as the body of an OCDS release (everything but id, date and tag).

A snapshot deep-copies the state, so a later event can never reach back into a release
already built. Only fields of OCDS 1.1.5 and the bid extension v1.1.5 are written.
"""

from __future__ import annotations

import copy
from typing import Any

from procurechain.record.execution import milestone_title
from procurechain.record.money import iso
from procurechain.record.parties import Parties
from procurechain.record.process import Context, Contract, Process

__all__ = ["snapshot"]


def snapshot(ctx: Context, p: Process) -> dict[str, Any]:
    """The release body of ``p`` as it stands now."""
    parties = Parties(ctx.names)
    buyer = parties.add(p.buyer, "Agency", "buyer", "procuringEntity")
    parties.add(ctx.facts.consortium, "Consortium", "reviewBody")
    for bid in p.bids.values():
        parties.add(bid.bidder, "Bidder", "tenderer")
    release: dict[str, Any] = {
        "initiationType": "tender",
        "language": "en",
        "buyer": buyer,
        "planning": {
            "budget": {
                "description": ctx.currency.statement(),
                "amount": ctx.currency.value(p.terms.budget),
            }
        },
        "tender": _tender(ctx, p, buyer),
    }
    if p.bids:
        release["bids"] = _bids(ctx, p)
    if p.awards:
        release["awards"] = [
            {
                "id": award.id,
                "title": f"Award to {ctx.names.name(award.bidder, 'Bidder')}",
                "description": award.description,
                "status": award.status,
                "date": award.date,
                "value": ctx.currency.value(award.price),
                "suppliers": [ctx.names.ref(award.bidder, "Bidder")],
                "documents": copy.deepcopy(award.documents),
                "relatedBid": award.bid,
            }
            for award in p.awards
        ]
        for award in p.awards:
            if award.status == "active":
                parties.add(award.bidder, "Bidder", "supplier", "payee")
    if p.contract is not None:
        parties.add(p.buyer, "Agency", "payer")
        release["contracts"] = [_contract(ctx, p, p.contract)]
    release["parties"] = parties.as_list()
    return release


def _tender(ctx: Context, p: Process, buyer: dict[str, str]) -> dict[str, Any]:
    terms, money = p.terms, ctx.money
    reading = p.notice.reading if p.notice is not None else None
    notice = reading.notice if reading is not None else None
    tender: dict[str, Any] = {"id": p.tender}
    if notice is not None:
        tender["title"], tender["description"] = notice.title, notice.description
        if reading is not None and reading.problems:  # usable, but say what was wrong
            tender["description"] += f" [Read with problems: {'; '.join(reading.problems)}]"
    else:
        tender["title"] = f"Tender {p.tender_id} (its notice could not be read: {_problem(p)})"
    tender["status"] = p.status
    tender["procuringEntity"] = buyer
    if notice is not None:
        tender["items"] = [
            {
                "id": f"item-{i + 1}",
                "description": item.description,
                "classification": {
                    k: v
                    for k, v in (
                        ("scheme", item.classification.scheme),
                        ("id", item.classification.id),
                        ("description", item.classification.description),
                    )
                    if v
                },
                "quantity": _number(item.quantity),
                "unit": {"name": item.unit},
            }
            for i, item in enumerate(notice.items)
        ]
    tender["value"] = ctx.currency.value(terms.budget)
    tender["procurementMethod"] = "open"
    window = terms.acceptance_window / 86_400
    tender["procurementMethodDetails"] = (
        f"Sealed bids on chain {ctx.facts.chain_id} (tender smart contract {p.tender}): each "
        f"bidder commits the hash of its price with a bond of {money(terms.bond)} until "
        f"{iso(terms.bidding_deadline)} and reveals the price until "
        f"{iso(terms.reveal_deadline)}; a bid above the budget is invalid and a bid never "
        "revealed forfeits its bond to the buyer. The consortium decides the award, and the "
        f"awardee has {window:g} days to accept it."
    )
    if notice is not None:
        tender["mainProcurementCategory"] = notice.category
    tender["awardCriteria"] = "priceOnly" if terms.method == 0 else "ratedCriteria"
    tender["awardCriteriaDetails"] = (
        "The lowest valid price leads; the consortium awards it."
        if terms.method == 0
        else "The consortium evaluates the valid bids and may award any of them."
    )
    tender["submissionMethod"] = ["electronicSubmission"]
    tender["submissionMethodDetails"] = (
        f"A transaction to the tender smart contract {p.tender} on chain {ctx.facts.chain_id}."
    )
    tender["tenderPeriod"] = {"startDate": iso(p.published), "endDate": iso(terms.bidding_deadline)}
    tender["numberOfTenderers"] = len(p.bids)
    if p.bids:
        tender["tenderers"] = [ctx.names.ref(b.bidder, "Bidder") for b in p.bids.values()]
    tender["documents"] = _notice_documents(ctx, p) + copy.deepcopy(p.documents)
    tender["milestones"] = [
        {
            "id": f"plan-{i + 1}",
            "title": milestone_title(ctx, p, i, step["descriptionHash"]),
            "type": "delivery",
            "description": f"{step['shareBps'] / 100:g}% of the price, due "
            f"{step['dueOffset'] / 86_400:g} days after the escrow is funded.",
        }
        for i, step in enumerate(p.plan)
    ]
    return tender


def _number(quantity: Any) -> int | float:
    return int(quantity) if quantity == quantity.to_integral_value() else float(quantity)


def _problem(p: Process) -> str:
    if p.notice is None:
        return "no notice was found for it"
    if p.notice.reading is None:
        return p.notice.problem or "its text was not found"
    return "; ".join(p.notice.reading.problems) or "it is not a notice"


def _notice_documents(ctx: Context, p: Process) -> list[dict[str, Any]]:
    published = iso(p.published)
    found = "checked by this export" if p.notice and p.notice.reading else "NOT found"
    hash_ = p.notice.hash if p.notice is not None else "unknown"
    docs = [
        {
            "id": "notice",
            "documentType": "tenderNotice",
            "title": "Tender notice (on the chain)",
            "description": f"The notice is the `notice` argument of Registry.createTender in "
            f"transaction {p.created_tx} on chain {ctx.facts.chain_id}; the TenderCreated event "
            f"carries its keccak-256 {hash_}, and the text with that hash was {found}.",
            "format": "application/json",
            "datePublished": published,
        }
    ]
    reading = p.notice.reading if p.notice is not None else None
    if reading is None or reading.notice is None:
        return docs
    for i, doc in enumerate(reading.notice.documents):
        docs.append(
            {
                "id": f"notice-document-{i + 1}",
                "documentType": doc.type,
                "title": doc.title,
                "description": ctx.checker.describe(doc),
                "url": doc.url,
                "datePublished": published,
                "format": doc.format,
            }
        )
    return docs


def _bids(ctx: Context, p: Process) -> dict[str, Any]:
    bids = list(p.bids.values())
    statistics: list[dict[str, Any]] = [{"id": "bids", "measure": "bids", "value": len(bids)}]
    if any(b.price is not None for b in bids):
        valid = [b.price for b in bids if b.status == "valid" and b.price is not None]
        statistics.append({"id": "validBids", "measure": "validBids", "value": len(valid)})
        if valid:
            lowest = ctx.currency.value(min(valid))
            statistics.append(
                {
                    "id": "lowestValidBidValue",
                    "measure": "lowestValidBidValue",
                    "value": lowest["amount"],
                    "currency": lowest["currency"],
                }
            )
    details = []
    for bid in bids:
        detail: dict[str, Any] = {
            "id": bid.id,
            "date": bid.date,
            "status": bid.status,
            "tenderers": [ctx.names.ref(bid.bidder, "Bidder")],
        }
        if bid.price is not None:
            detail["value"] = ctx.currency.value(bid.price)
        detail["documents"] = copy.deepcopy(bid.documents)
        details.append(detail)
    return {"statistics": statistics, "details": details}


def _contract(ctx: Context, p: Process, c: Contract) -> dict[str, Any]:
    terms, money = p.terms, ctx.money
    supplier = ctx.names.name(c.award.bidder, "Bidder")
    title = _tender_title(p)
    description = (
        f"The escrow smart contract {c.id} on chain {ctx.facts.chain_id} holds the price, "
        f"{money(c.award.price)}, once the buyer funds it, and credits the supplier milestone "
        f"by milestone as the consortium accepts each; {terms.retention_bps / 100:g}% of each "
        f"payment is retained until {terms.warranty_period / 86_400:g} days after the last "
        f"milestone (the warranty). A late delivery costs {terms.penalty_bps_per_day / 100:g}% "
        f"of its milestone per started day, at most {terms.penalty_cap_bps / 100:g}%."
    )
    contract: dict[str, Any] = {
        "id": c.id,
        "awardID": c.award.id,
        "title": f"{title}: contract with {supplier}",
        "description": f"{description} {c.closing}".strip(),
        "status": c.status,
        "value": ctx.currency.value(c.award.price),
        "dateSigned": c.signed,
        "milestones": [
            {
                "id": m.id,
                "title": m.title,
                "type": "delivery",
                "description": " ".join(
                    [f"{m.share_bps / 100:g}% of the price, {money(m.amount)}.", *m.notes]
                ),
                "dueDate": iso(m.due),
                "status": m.status,
                **({"dateMet": m.date_met} if m.date_met else {}),
                **({"dateModified": m.date_modified} if m.date_modified else {}),
            }
            for m in c.milestones
        ],
    }
    implementation: dict[str, Any] = {}
    if c.transactions:
        implementation["transactions"] = copy.deepcopy(c.transactions)
    if c.documents:
        implementation["documents"] = copy.deepcopy(c.documents)
    if implementation:
        contract["implementation"] = implementation
    return contract


def _tender_title(p: Process) -> str:
    reading = p.notice.reading if p.notice is not None else None
    if reading is not None and reading.notice is not None:
        return reading.notice.title
    return f"Tender {p.tender_id}"
