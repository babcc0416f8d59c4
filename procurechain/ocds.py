"""The audit log as an OCDS 1.1 release package, with the bid extension; and its validation.

One release per lifecycle change: every transaction that changed a contracting process yields
one release, a snapshot of that process (ocid ``Registry.ocid(id)``) as it stood after the
transaction. Its tag says what changed:

==========================  ============================================================
event in the transaction    tag
==========================  ============================================================
TenderCreated               ``tender``
bids, ranking, bonds        ``tenderUpdate``
TenderCancelled             ``tenderCancellation``
BidAwarded                  ``award``
AwardLapsed, disqualified   ``awardUpdate`` (the award is ``cancelled``)
awardee
AwardAccepted               ``awardUpdate`` + ``contract``
AgreementFunded             ``contractUpdate`` + ``implementation``
milestones, credits,        ``implementation``
withdrawals
AgreementCompleted /        ``contractTermination`` (contract status ``terminated``, which
AgreementTerminated         OCDS 1.1 uses for every closed contract)
==========================  ============================================================

Parties are addresses (named through ``names`` when given): the agency is ``buyer``,
``procuringEntity`` and ``payer``; the consortium, which awards, accepts milestones and
resolves disputes, is the ``reviewBody``; every bidder a ``tenderer``, the awardee also
``supplier`` and ``payee``; the escrow agreement holds the money between them (``payer`` and
``payee``). ``implementation.transactions`` has the funding deposit and every withdrawal out
of the escrow. Amounts are token units divided by the token's decimals; the currency is an
argument (``USD`` for the devnet's dUSD, a USD test stablecoin).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from procurechain.audit import AuditLog, Entry
from procurechain.errors import ProcurechainError

__all__ = [
    "BID_EXTENSION",
    "OCDS_DIR_VARIABLE",
    "export",
    "merge_patch",
    "release_package",
    "schema_dir",
    "validate",
]

OCDS_DIR_VARIABLE = "PROCURECHAIN_OCDS_DIR"
#: The bid extension's extension.json (the schema files are in ``<schema_dir>/extensions/bids``).
BID_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
    "v1.1.5/extension.json"
)

_TENDER_UPDATES = {
    "BidCommitted",
    "BidRevealed",
    "BidderDisqualified",
    "RankingOpened",
    "RankClaimed",
    "BondWithdrawn",
    "BondForfeited",
}
_IMPLEMENTATION = {
    "MilestoneSubmitted",
    "MilestoneRejected",
    "MilestoneDisputed",
    "MilestoneAccepted",
    "DisputeResolved",
    "WorkCompleted",
    "WarrantyClaimed",
    "RetentionReleased",
    "SurplusRecovered",
    "Credited",
    "Withdrawn",
}


#: The OCDS 1.1.5 schemas, codelists and bid extension the project ships (Apache-2.0).
SCHEMA_DIR = Path(__file__).resolve().parent / "schema" / "ocds"


def schema_dir() -> Path:
    """The OCDS schema folder: ``$PROCURECHAIN_OCDS_DIR``, else the copy shipped in the
    package (``procurechain/schema/ocds``)."""
    return Path(os.environ.get(OCDS_DIR_VARIABLE, SCHEMA_DIR))


# ---------------------------------------------------------------------------- building


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Bid:
    id: str
    bidder: str
    date: str
    status: str = "pending"
    price: int | None = None


@dataclass
class _Process:
    """One contracting process as it stands after some transaction."""

    tender_id: int
    ocid: str
    tender: str
    buyer: str
    published: str = ""
    plan: list[dict[str, Any]] = field(default_factory=list)
    documents_hash: str = ""
    status: str = "active"
    bids: dict[str, _Bid] = field(default_factory=dict)
    award: dict[str, Any] | None = None
    awardee_bid: str = ""
    awards: int = 0
    agreement: str = ""
    contract_status: str = ""
    date_signed: str = ""
    milestones: list[dict[str, Any]] = field(default_factory=list)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    escrow_funded: bool = False


class _Builder:
    def __init__(
        self,
        log: AuditLog,
        names: Mapping[str, str],
        currency: str,
        decimals: int,
        details: Mapping[str, dict[str, Any]],
        consortium: str,
    ) -> None:
        self.log, self.names, self.currency, self.decimals = log, names, currency, decimals
        self.details, self.consortium = details, consortium

    def value(self, amount: int) -> dict[str, Any]:
        scaled = Decimal(amount).scaleb(-self.decimals)
        number: int | float = int(scaled) if scaled == scaled.to_integral_value() else float(scaled)
        return {"amount": number, "currency": self.currency}

    def ref(self, address: str) -> dict[str, str]:
        return {"id": address, "name": self.names.get(address, address)}

    def apply(self, p: _Process, e: Entry) -> set[str]:
        """Fold one entry into the process; returns the tags it calls for."""
        a, when = e.args, _iso(e.timestamp)
        if e.event == "TenderCreated":
            p.published, p.documents_hash = when, a["noticeHash"]
            p.plan = a["plan"]
            return {"tender"}
        if e.event == "BidCommitted":
            bid = p.bids.setdefault(a["bidder"], _Bid(f"{p.ocid}-bid-{len(p.bids) + 1}", "", ""))
            bid.bidder, bid.date = a["bidder"], when
            return {"tenderUpdate"}
        if e.event == "BidRevealed":
            bid = p.bids[a["bidder"]]
            bid.price, bid.status = a["price"], "valid" if a["valid"] else "disqualified"
            return {"tenderUpdate"}
        if e.event in ("BidderDisqualified", "AwardLapsed"):
            p.bids[a["bidder"]].status = "disqualified"
            if p.award is not None and p.award["supplier"] == a["bidder"]:
                p.award["status"] = "cancelled"
                return {"awardUpdate"}
            return {"tenderUpdate"}
        if e.event == "BondForfeited":
            bid = p.bids[a["bidder"]]
            if bid.status == "pending":
                bid.status = "withdrawn"  # never revealed: the bid was given up
            return {"tenderUpdate"}
        if e.event == "TenderCancelled":
            p.status = "cancelled"
            if p.award is not None and p.award["status"] == "pending":
                p.award["status"] = "cancelled"
            return {"tenderCancellation"}
        if e.event == "BidAwarded":
            p.awards += 1
            p.award = {
                "n": p.awards,
                "supplier": a["bidder"],
                "price": a["price"],
                "date": when,
                "status": "pending",
            }
            return {"award"}
        if e.event == "AwardAccepted":
            assert p.award is not None
            p.award["status"], p.status = "active", "complete"
            p.agreement, p.contract_status, p.date_signed = a["agreement"], "pending", when
            return {"awardUpdate", "contract"}
        if e.event == "MilestoneScheduled":
            step = p.plan[a["index"]] if a["index"] < len(p.plan) else {}
            p.milestones.append(
                {
                    "id": f"{p.ocid}-milestone-{a['index'] + 1}",
                    "title": f"Milestone {a['index'] + 1}",
                    "type": "delivery",
                    "description": f"{step.get('shareBps', 0) / 100:g}% of the price "
                    f"({self.value(a['amount'])['amount']} {self.currency}); description "
                    f"hash {a['descriptionHash']}",
                    "dueDate": _iso(a["dueDate"]),
                    "status": "scheduled",
                }
            )
            return {"contract"}
        if e.event == "AgreementFunded":
            p.contract_status = "active"
            p.transactions.append(
                self.transaction(e, a["received"], payer=a["buyer"], payee=p.agreement)
            )
            return {"contractUpdate", "implementation"}
        if e.event == "Withdrawn":
            p.transactions.append(
                self.transaction(e, a["amount"], payer=p.agreement, payee=a["account"])
            )
            return {"implementation"}
        if e.event in ("MilestoneAccepted", "DisputeResolved"):
            m = p.milestones[a["index"]]
            m["dateMet"] = m["dateModified"] = when
            share = a.get("supplierBps", 10_000)
            m["status"] = "met" if share == 10_000 else "partiallyMet" if share else "notMet"
            return {"implementation"}
        if e.event in ("MilestoneSubmitted", "MilestoneRejected", "MilestoneDisputed"):
            p.milestones[a["index"]]["dateModified"] = when
            return {"implementation"}
        if e.event in ("AgreementCompleted", "AgreementTerminated"):
            p.contract_status = "terminated"
            return {"contractTermination"}
        if e.event in _TENDER_UPDATES:
            return {"tenderUpdate"}
        if e.event in _IMPLEMENTATION:
            return {"implementation"}
        return set()

    def transaction(self, e: Entry, amount: int, payer: str, payee: str) -> dict[str, Any]:
        return {
            "id": f"{e.tx}-{e.log_index}",
            "date": _iso(e.timestamp),
            "value": self.value(amount),
            "payer": self.ref(payer),
            "payee": self.ref(payee),
        }

    def release(self, p: _Process, tags: set[str], e: Entry) -> dict[str, Any]:
        detail = self.details[p.tender]
        order = (
            "tender",
            "tenderUpdate",
            "tenderCancellation",
            "award",
            "awardUpdate",
            "contract",
            "contractUpdate",
            "implementation",
            "contractTermination",
        )
        parties: dict[str, dict[str, Any]] = {}

        def party(address: str, *roles: str) -> None:
            entry = parties.setdefault(address, {**self.ref(address), "roles": []})
            entry["roles"] += [r for r in roles if r not in entry["roles"]]

        party(p.buyer, "buyer", "procuringEntity")
        party(self.consortium, "reviewBody")
        for bid in p.bids.values():
            party(bid.bidder, "tenderer")
        release: dict[str, Any] = {
            "ocid": p.ocid,
            "id": f"{p.ocid}-{e.block}-{e.log_index}",
            "date": _iso(e.timestamp),
            "tag": [t for t in order if t in tags],
            "initiationType": "tender",
            "language": "en",
            "buyer": self.ref(p.buyer),
        }
        tenderers = [self.ref(b.bidder) for b in p.bids.values()]
        release["tender"] = {
            "id": f"{p.ocid}-tender",
            "title": f"Tender {p.tender_id}",
            "description": f"Tender contract {p.tender}",
            "status": p.status,
            "procuringEntity": self.ref(p.buyer),
            "value": self.value(detail["budget"]),
            "procurementMethod": "open",
            "procurementMethodDetails": "sealed bids by commit-reveal on Ethereum, with a bond "
            f"of {self.value(detail['bond'])['amount']} {self.currency}",
            "awardCriteria": "priceOnly" if detail["method"] == 0 else "ratedCriteria",
            "submissionMethod": ["electronicSubmission"],
            "tenderPeriod": {
                "startDate": p.published,
                "endDate": _iso(detail["biddingDeadline"]),
            },
            "numberOfTenderers": len(tenderers),
            "tenderers": tenderers,
            "documents": [
                {
                    "id": p.documents_hash,
                    "documentType": "tenderNotice",
                    "title": "Tender documents (keccak-256 hash)",
                    "datePublished": p.published,
                }
            ],
            "milestones": [
                {
                    "id": f"{p.ocid}-plan-{i + 1}",
                    "title": f"Milestone {i + 1}",
                    "type": "delivery",
                    "description": f"{step['shareBps'] / 100:g}% of the price, due "
                    f"{step['dueOffset'] // 86_400} days after the contract; description hash "
                    f"{step['descriptionHash']}",
                }
                for i, step in enumerate(p.plan)
            ],
        }
        if p.bids:
            release["bids"] = {
                "statistics": [{"id": "bids", "measure": "bids", "value": len(p.bids)}],
                "details": [self.bid(b) for b in p.bids.values()],
            }
        if p.award is not None:
            award = p.award
            release["awards"] = [
                {
                    "id": f"{p.ocid}-award-{award['n']}",
                    "status": award["status"],
                    "date": award["date"],
                    "value": self.value(award["price"]),
                    "suppliers": [self.ref(award["supplier"])],
                    "relatedBids": [p.bids[award["supplier"]].id],
                }
            ]
            if award["status"] == "active":
                party(award["supplier"], "supplier", "payee")
        if p.agreement:
            party(p.agreement, "payer", "payee")
            parties[p.agreement]["name"] = self.names.get(p.agreement, "Escrow agreement")
            party(p.buyer, "payer")
            contract: dict[str, Any] = {
                "id": p.agreement,
                "awardID": release["awards"][0]["id"],
                "title": f"Agreement {p.agreement}",
                "status": p.contract_status,
                "value": release["awards"][0]["value"],
                "dateSigned": p.date_signed,
                "relatedBids": release["awards"][0]["relatedBids"],
                "milestones": copy.deepcopy(p.milestones),
            }
            if p.transactions:
                contract["implementation"] = {"transactions": copy.deepcopy(p.transactions)}
            release["contracts"] = [contract]
        release["parties"] = list(parties.values())
        return release

    def bid(self, b: _Bid) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "id": b.id,
            "date": b.date,
            "status": b.status,
            "tenderers": [self.ref(b.bidder)],
        }
        if b.price is not None:
            detail["value"] = self.value(b.price)
        return detail


def release_package(
    log: AuditLog,
    *,
    ocids: Mapping[int, str],
    details: Mapping[str, dict[str, Any]],
    names: Mapping[str, str] | None = None,
    currency: str = "USD",
    decimals: int = 6,
    publisher: str = "procurechain",
    uri: str | None = None,
) -> dict[str, Any]:
    """Build an OCDS 1.1 release package (with the bid extension) from an audit log.

    Args:
        log: the audit log (every entry of the tenders exported; see :func:`~procurechain.
            audit.collect`).
        ocids: the Registry's ``ocid(id)`` of every tender id in ``log``.
        details: per tender address, its immutable parameters: ``budget``, ``bond``,
            ``biddingDeadline``, ``method`` (0 lowest price, 1 evaluation).
        names: readable names of addresses (parties are named by address otherwise).
        currency: ISO 4217 code of the token (``USD`` for the devnet's dUSD).
        decimals: the token's decimals.
        publisher: the package's publisher name.
        uri: the package's URI (default: a ``urn:`` naming the registry).

    Returns:
        The package as a JSON-ready dictionary.

    Raises:
        ProcurechainError: the log holds no tender to export.
    """
    names = {log.consortium: "Consortium", **(names or {})}
    builder = _Builder(log, names, currency, decimals, details, log.consortium)
    of_agreement = {agreement: tender for tender, agreement in log.agreements.items()}
    processes: dict[str, _Process] = {}
    releases: list[dict[str, Any]] = []
    pending: tuple[str, str, set[str], Entry] | None = None

    def flush() -> None:
        if pending is not None and pending[2]:
            releases.append(builder.release(processes[pending[0]], pending[2], pending[3]))

    for e in log.entries:
        tender = e.address if e.contract == "Tender" else of_agreement.get(e.address)
        if e.event == "TenderCreated" and e.args["tender"] in details:
            tender = e.args["tender"]
            processes[tender] = _Process(
                e.args["id"], ocids[e.args["id"]], tender, e.args["agency"]
            )
        if tender is None or tender not in processes:
            continue
        tags = builder.apply(processes[tender], e)
        if pending is not None and (pending[0], pending[1]) == (tender, e.tx):
            pending[2].update(tags)
            pending = (tender, e.tx, pending[2], e)
            continue
        flush()
        pending = (tender, e.tx, set(tags), e)
    flush()
    if not releases:
        raise ProcurechainError(
            "no tender was published in the exported range; export without --from-block or "
            "check --tender"
        )
    return {
        "uri": uri or f"urn:procurechain:registry:{log.registry}",
        "version": "1.1",
        "extensions": [BID_EXTENSION],
        "publishedDate": releases[-1]["date"],
        "publisher": {"name": publisher},
        "license": "https://www.apache.org/licenses/LICENSE-2.0",
        "releases": releases,
    }


def export(
    log: AuditLog,
    registry: Any,
    *,
    names: Mapping[str, str] | None = None,
    currency: str = "USD",
    publisher: str = "procurechain",
) -> dict[str, Any]:
    """:func:`release_package` for a collected log, reading the ocids from the Registry and
    each tender's immutable parameters (budget, bond, deadline, method) from its views.

    Args:
        log: the audit log.
        registry: the Registry contract.
        names: readable names of addresses.
        currency: ISO 4217 code of the token (``USD`` for the devnet's dUSD).
        publisher: the package's publisher name.

    Returns:
        The release package.
    """
    from procurechain.deployments import typed

    details: dict[str, dict[str, Any]] = {}
    decimals = 18
    for tender in log.bonds:
        contract = typed("Tender", tender)
        details[tender] = {
            "budget": int(contract.budget()),
            "bond": int(contract.bond()),
            "biddingDeadline": int(contract.biddingDeadline()),
            "method": int(contract.awardMethod()),
        }
        decimals = int(typed("DemoStablecoin", contract.token()).decimals())
    ocids = {i: str(registry.ocid(i)) for i, t in log.tenders.items() if t in details}
    return release_package(
        log,
        ocids=ocids,
        details=details,
        names=names,
        currency=currency,
        decimals=decimals,
        publisher=publisher,
    )


# ---------------------------------------------------------------------------- validation


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7396) to ``target``; returns the result (a new object)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ProcurechainError(
            f"OCDS schema {path} is missing; set {OCDS_DIR_VARIABLE} to the folder holding "
            "release-package-schema.json, release-schema.json and extensions/bids/"
        ) from err


def validate(package: Mapping[str, Any], folder: Path | None = None) -> list[str]:
    """Validate a release package against OCDS 1.1 plus the bid extension, offline.

    The release schema is patched with ``extensions/bids/release-schema.json`` and registered
    under its own ``id``, which the package schema references; no network is used.

    Args:
        package: the release package.
        folder: the schema folder (default: :func:`schema_dir`).

    Returns:
        One line per error (``path: message``); empty when the package is valid.

    Raises:
        ProcurechainError: a schema file is missing.
    """
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    folder = folder or schema_dir()
    release = merge_patch(
        _load(folder / "release-schema.json"),
        _load(folder / "extensions" / "bids" / "release-schema.json"),
    )
    schema = _load(folder / "release-package-schema.json")
    registry = Registry().with_resource(
        release["id"], Resource.from_contents(release, default_specification=DRAFT4)
    )
    validator = Draft4Validator(
        schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(package)'}: {error.message}"
        for error in sorted(validator.iter_errors(package), key=lambda e: list(e.absolute_path))
    ]
