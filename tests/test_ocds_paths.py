"""OCDS for the paths the demo and the small city do not take, from a hand-written log: a
conflict declared before the tender and lifted later, an award that lapses and a second
award, a rejected delivery, a warranty claim, tokens sent outside funding, a termination,
and a tender whose notice was never found. No chain: building releases is pure."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak, to_checksum_address

from procurechain.audit import AuditLog, Entry
from procurechain.record import packages, releases, schema
from procurechain.record.facts import ChainFacts, TenderTerms
from procurechain.record.money import Currency

DAY = 86_400
D = 10**6


def _address(n: int) -> str:
    return to_checksum_address(f"0x{n:040x}")


REGISTRY, CONSORTIUM, TOKEN = _address(0xA1), _address(0xA2), _address(0xA3)
TENDER, AGREEMENT, BUYER = _address(0xB1), _address(0xB2), _address(0xB3)
FIRST, SECOND, MEMBER, SIGNER = _address(0xC1), _address(0xC2), _address(0xD1), _address(0xD2)
T0 = 1_900_000_000


def _hash(text: str) -> str:
    return "0x" + keccak(text=text).hex()


class _Log:
    """Entries written by hand, one block each, in order."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.texts: dict[str, Entry] = {}

    def add(self, at: int, contract: str, address: str, event: str, **args: Any) -> None:
        signers = tuple(args.pop("signers", ()))
        block = len(self.entries) + 1
        self.entries.append(
            Entry(block, f"0x{block:064x}", 0, T0 + at, contract, address, event,
                  "consortium" if signers else BUYER, BUYER, signers, args, {}, event)
        )  # fmt: skip

    def say(self, text: str) -> str:
        args = {"hash": _hash(text), "author": BUYER, "text": text}
        self.texts[args["hash"]] = Entry(0, "0x", 0, T0, "Registry", REGISTRY, "TextPublished",
                                         BUYER, BUYER, (), args, {}, "")  # fmt: skip
        return args["hash"]


def _history() -> tuple[AuditLog, ChainFacts]:
    log = _Log()
    tender, agreement = "Tender", "Agreement"
    plan = [
        {"shareBps": 6000, "dueOffset": 30 * DAY, "descriptionHash": _hash("Foundations")},
        {"shareBps": 4000, "dueOffset": 60 * DAY, "descriptionHash": _hash("Roof")},
    ]
    log.add(0, "Consortium", CONSORTIUM, "ConflictDeclared", member=MEMBER, subject=SECOND,
            reasonHash=log.say("I sit on the board of the second bidder."))  # fmt: skip
    log.add(1, "Registry", REGISTRY, "TenderCreated", id=1, tender=TENDER, agency=BUYER,
            noticeHash=_hash("lost"), plan=plan)  # fmt: skip
    for bidder in (FIRST, SECOND):
        log.add(2, tender, TENDER, "BidCommitted", bidder=bidder, commitment="0x01", replaced=False)
    for bidder, price in ((FIRST, 40_000), (SECOND, 45_000)):
        log.add(DAY * 8, tender, TENDER, "BidRevealed", bidder=bidder, price=price * D,
                documentHash="0x02", valid=True, leading=bidder == FIRST)  # fmt: skip
    log.add(DAY * 9, tender, TENDER, "BidAwarded", bidder=FIRST, price=40_000 * D,
            reportHash=_hash("never published"), acceptDeadline=T0 + DAY * 14,
            signers=(SIGNER, MEMBER))  # fmt: skip
    log.add(DAY * 15, tender, TENDER, "AwardLapsed", bidder=FIRST)
    log.add(DAY * 15, tender, TENDER, "BondForfeited", bidder=FIRST, buyer=BUYER, amount=500 * D)
    log.add(DAY * 15 + 1, tender, TENDER, "BidAwarded", bidder=SECOND, price=45_000 * D,
            reportHash=log.say("The first bidder let the award lapse."),
            acceptDeadline=T0 + DAY * 20, signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 15 + 2, "Consortium", CONSORTIUM, "ConflictLifted", member=MEMBER,
            subject=SECOND, signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 16, tender, TENDER, "AwardAccepted", supplier=SECOND, agreement=AGREEMENT,
            price=45_000 * D)  # fmt: skip
    log.add(DAY * 16, tender, TENDER, "BondReturned", supplier=SECOND, amount=500 * D)
    for i, share in enumerate((27_000, 18_000)):
        log.add(DAY * 16, agreement, AGREEMENT, "MilestoneScheduled", index=i,
                amount=share * D, dueDate=T0 + DAY * (16 + 30 * (i + 1)),
                descriptionHash=plan[i]["descriptionHash"])  # fmt: skip
    log.add(DAY * 18, agreement, AGREEMENT, "AgreementFunded", buyer=BUYER, pulled=45_010 * D,
            received=45_010 * D, surplus=10 * D)  # fmt: skip
    photos = "https://example.org/photos"
    log.add(DAY * 40, agreement, AGREEMENT, "MilestoneSubmitted", index=0,
            evidenceHash=_hash("photos"), evidenceURI=photos, daysLate=0)  # fmt: skip
    log.add(DAY * 41, agreement, AGREEMENT, "MilestoneRejected", index=0,
            reasonHash=log.say("The slab is cracked."), signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 50, agreement, AGREEMENT, "MilestoneSubmitted", index=0,
            evidenceHash=_hash("photos 2"), evidenceURI="", daysLate=2)  # fmt: skip
    log.add(DAY * 51, agreement, AGREEMENT, "MilestoneAccepted", index=0, paid=25_110 * D,
            penalty=540 * D, retention=1_350 * D, signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 52, agreement, AGREEMENT, "WarrantyClaimed", amount=300 * D,
            reasonHash=_hash("unpublished claim"), retentionLeft=1_050 * D,
            signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 53, agreement, AGREEMENT, "SurplusRecovered", amount=5 * D)
    log.add(DAY * 60, agreement, AGREEMENT, "AgreementTerminated",
            reasonHash=log.say("The supplier stopped work."), toSupplier=1_050 * D,
            toBuyer=18_000 * D, signers=(SIGNER,))  # fmt: skip
    log.add(DAY * 61, agreement, AGREEMENT, "Withdrawn", account=SECOND, amount=26_160 * D)
    log.add(DAY * 61, agreement, AGREEMENT, "Withdrawn", account=BUYER, amount=18_855 * D)
    audit_log = AuditLog(REGISTRY, CONSORTIUM, log.entries, {1: TENDER}, {TENDER: AGREEMENT})
    audit_log.texts = log.texts
    terms = TenderTerms(50_000 * D, 500 * D, T0 + 7 * DAY, T0 + 10 * DAY, 5 * DAY, 1, 500,
                        90 * DAY, 10, 1000)  # fmt: skip
    facts = ChainFacts(31337, REGISTRY, CONSORTIUM, Currency(TOKEN, "tEUR", 6, 31337, "EUR"),
                       {1: "ocds-test01-1"}, {TENDER: terms}, {})  # fmt: skip
    return audit_log, facts


def test_every_path_lands_where_documented_with_truthful_tags():
    log, facts = _history()
    names = {FIRST: "First Build", SECOND: "Second Build", MEMBER: "Auditor", SIGNER: "Legal"}
    export = packages.build(log, facts, names=names)
    (found,) = export.releases.values()
    assert [r["tag"] for r in found] == [
        ["tender"],
        ["tenderUpdate"],  # two sealed bids; the conflict with the second one shows
        ["tenderUpdate"],  # revealed
        ["award"],
        ["tenderUpdate", "awardCancellation"],  # lapsed, bond forfeited
        ["award"],
        ["tenderUpdate"],  # the conflict lifted
        ["tenderUpdate", "awardUpdate", "contract"],
        ["contractUpdate", "implementation"],  # funded: due dates move
        ["contractUpdate", "implementationUpdate"],  # delivered
        ["contractUpdate", "implementationUpdate"],  # rejected
        ["contractUpdate", "implementationUpdate"],  # delivered again
        ["contractUpdate", "implementationUpdate"],  # accepted
        ["implementationUpdate"],  # warranty claim
        ["implementationUpdate"],  # tokens outside funding
        ["contractTermination", "implementationUpdate"],
        ["implementationUpdate"],  # withdrawals
    ]
    final = found[-1]
    tender = final["tender"]
    assert tender["title"] == "Tender 1 (its notice could not be read: no notice was found for it)"
    assert "items" not in tender
    assert tender["milestones"][0]["title"].startswith("Milestone 1 (its title was not published")
    (conflict,) = [d for d in tender["documents"] if d["documentType"] == "conflictOfInterest"]
    assert "with Second Build" in conflict["description"]
    assert "I sit on the board" in conflict["description"]
    assert "Lifted by the consortium (signed by Legal)" in conflict["description"]
    first, second = final["awards"]
    assert first["status"] == "cancelled" and "did not accept it in time" in first["description"]
    assert first["description"].startswith("The award report was not published on the chain")
    assert second["status"] == "active" and second["relatedBid"] == "bid-2"
    bond = final["bids"]["details"][0]["documents"][1]
    assert "the awardee did not accept the award in time" in bond["description"]
    (contract,) = final["contracts"]
    assert contract["status"] == "terminated"
    assert [m["status"] for m in contract["milestones"]] == ["met", "notMet"]
    assert "2 days late" in contract["milestones"][0]["description"]
    assert "late penalty 540.00 tEUR" in contract["milestones"][0]["description"]
    assert "terminated" in contract["milestones"][1]["description"]
    (payment,) = contract["implementation"]["transactions"]
    assert payment["value"] == {"amount": 26_160, "currency": "EUR"}
    assert payment["payee"]["name"] == "Second Build"
    docs = {d["title"]: d for d in contract["implementation"]["documents"]}
    assert "The slab is cracked." in docs["Milestone 1: submission rejected"]["description"]
    evidence = [d for d in contract["implementation"]["documents"] if "evidence" in d["title"]]
    assert [d.get("url") for d in evidence] == ["https://example.org/photos", None]
    assert all("not published on the chain" in d["description"] for d in evidence)
    claim = docs["Warranty claim: 300.00 tEUR"]
    assert claim["documentType"] == "complaints" and "was not published" in claim["description"]
    assert "The supplier stopped work." in docs["Reasons for the termination"]["description"]
    refunds = [d["description"] for d in contract["implementation"]["documents"]
               if d["title"] == "Credited back to the buyer"]  # fmt: skip
    assert [r.split(" of the escrow")[0] for r in refunds] == [
        "540.00 tEUR", "300.00 tEUR", "5.00 tEUR", "18,000.00 tEUR"]  # fmt: skip
    assert "10.00 tEUR above the price was credited back" in docs["Escrow funded"]["description"]
    roles = {p["name"]: p["roles"] for p in final["parties"]}
    assert roles["First Build"] == ["tenderer"]
    assert roles["Second Build"] == ["tenderer", "supplier", "payee"]
    assert "pegged 1:1 to EUR" in final["planning"]["budget"]["description"]
    for package in (export.combined, *export.record_packages.values()):
        assert schema.validate(package) == []


def test_a_tender_that_nobody_could_win_becomes_unsuccessful_at_the_next_event():
    log, facts = _history()
    entries = [e for e in log.entries if e.event in ("TenderCreated", "BidCommitted")]
    late = entries[-1]
    taken = {"bidder": FIRST, "amount": 500 * D}
    entries.append(Entry(99, "0x63", 0, T0 + 11 * DAY, "Tender", TENDER, "BondWithdrawn",
                         FIRST, FIRST, (), taken, {}, ""))  # fmt: skip
    assert late.timestamp < facts.terms[TENDER].reveal_deadline < entries[-1].timestamp
    thin = AuditLog(REGISTRY, CONSORTIUM, entries, {1: TENDER}, {})
    (found,) = releases.build(thin, facts).values()
    assert [r["tender"]["status"] for r in found] == ["active", "active", "unsuccessful"]
    assert found[-1]["tag"] == ["tenderUpdate"]
