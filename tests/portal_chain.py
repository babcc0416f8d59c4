"""TEMPORARY test helper: fills the portal's tables (procurechain.portal.index.tables) from a
real chain, until the indexer (branch i15-index) lands and replaces it.

It runs the reference scenario on the test Anvil, adds tenders and texts with hostile content
(script tags, event handlers, javascript:/data: document URLs, the longest description the
chain takes, invalid UTF-8), reads everything back with ``procurechain.audit.collect`` and
``procurechain.record`` (OCDS releases), and inserts one row per fact as tables.py says.
Summary columns are computed from the events here the way the indexer is expected to.

Two rows are not from the chain and say so: one process whose title is 100 KB (the chain caps
a notice at 8 KB, but the pages must survive whatever a database holds) and a few flags (the
flags engineer computes the real ones; these are derived from the same events: late
milestones, disputes, forfeited bonds).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak
from sqlalchemy import Engine, create_engine, insert

from procurechain.portal.index import tables as t

DUSD = 10**6
DAY = 86_400
#: What a hostile payload would set if it ever ran in the browser.
MARKER = "__pwned"
SCRIPT_TITLE = f"<script>window.{MARKER}=1</script>Benches & <b>bold</b> claims"
IMG_DESCRIPTION = f'<img src=x onerror="window.{MARKER}=2"> Supply of <i>things</i>. '
BAD_UTF8_REASON = b"Reason with broken bytes \xff\xfe here <script>window.__pwned=3</script>"
LONG_TITLE = "W" * 100_000  # one unbreakable 100 KB word


@dataclass
class Seeded:
    """What the seed made: the database, the names, and ids the tests look for."""

    url: str
    names: dict[str, str]
    benches_id: int = 1
    benches_ocid: str = ""
    hostile_id: int = 0
    js_url_id: int = 0
    bad_utf8_id: int = 0
    long_id: int = 0
    agency: str = ""
    winner: str = ""
    ids: dict[str, int] = field(default_factory=dict)


_BUILT: dict[str, Seeded] = {}


def seeded(folder: Path) -> Seeded:
    """The seeded database, built once per test session (both portal test modules share it)."""
    if "db" not in _BUILT:
        _BUILT["db"] = build(folder)
    return _BUILT["db"]


def _hostile_tenders(chain: Any, registry: Any, agency: Any, token: Any) -> dict[str, int]:
    """Tenders whose notices an attacker wrote; returns their ids by kind."""
    from procurechain.record import content
    from procurechain.tender import create_tender

    from conftest import notice_spec, send_raw

    def notice(**changes: Any) -> dict[str, Any]:
        base = {
            "title": SCRIPT_TITLE,
            "description": IMG_DESCRIPTION + "x" * 7_000,
            "category": "works",
            "items": [
                {
                    "description": f"<svg onload=window.{MARKER}=4>item",
                    "quantity": 3,
                    "unit": "<u>unit</u>",
                    "classification": {"scheme": "CPV", "id": "45233293"},
                }
            ],
            "documents": [
                {
                    "title": f'"><script>window.{MARKER}=5</script>',
                    "type": "technicalSpecifications",
                    "format": "text/html",
                    "url": "https://example.org/spec?a=1&b=2",
                    "sha256": "ab" * 32,
                },
                {
                    "title": "IPFS copy",
                    "type": "technicalSpecifications",
                    "format": "text/markdown",
                    "url": "ipfs://bafkreid52eifbgwnyzjekmburbjfbri6utjtnms76dyo4ui3rhfsevowxu",
                    "sha256": "cd" * 32,
                },
            ],
            "milestones": ["a", "b", "c"],
        }
        return base | changes

    ids = {}
    text = json.dumps(notice(), ensure_ascii=False)
    tender_id, _, _ = create_tender(registry, agency, notice_spec(chain, token, text, "abc"))
    ids["hostile"] = tender_id
    # A notice with javascript: and data: document URLs is not a valid notice: the reader
    # shows its raw text; the URLs must stay text.
    bad_docs = notice(
        title="Tender with scripted links",
        documents=[
            {
                "title": "click me",
                "type": "technicalSpecifications",
                "format": "text/html",
                "url": f"javascript:window.{MARKER}=6",
                "sha256": "ab" * 32,
            },
            {
                "title": "data me",
                "type": "technicalSpecifications",
                "format": "text/html",
                "url": f"data:text/html,<script>window.{MARKER}=7</script>",
                "sha256": "ab" * 32,
            },
        ],
    )
    text = json.dumps(bad_docs)
    tender_id, _, _ = create_tender(registry, agency, notice_spec(chain, token, text, "abc"))
    ids["js_url"] = tender_id
    # Invalid UTF-8 cannot go through Ape's string encoder: raw calldata.
    spec = notice_spec(chain, token, "placeholder", "abc")
    raw = b'{"title": "Broken \xff\xfe bytes <script>window.__pwned=8</script>"}'
    data = content._SELECTOR + encode(list(content._ARGS), [spec.params(), spec.plan_tuples(), raw])
    send_raw(chain, agency, registry, data)
    ids["bad_utf8"] = int(registry.tenderCount())
    # A published text (a reason) with invalid UTF-8, named by a conflict declaration.
    selector = keccak(text="publish(string)")[:4]
    send_raw(chain, agency, registry, selector + encode(["bytes"], [BAD_UTF8_REASON]))
    return ids


def _declare(consortium: Any, member: Any, subject: str) -> None:
    """``member`` declares a conflict with ``subject``, naming the invalid-UTF-8 text."""
    consortium.declareConflict(subject, keccak(BAD_UTF8_REASON), sender=member)


def build(folder: Path) -> Seeded:
    """Run the reference scenario and the hostile tenders, and write every table."""
    from ape import accounts, chain

    from procurechain import audit
    from procurechain.deployments import deployed
    from procurechain.record import facts as chain_facts
    from procurechain.record import packages
    from procurechain.scenario import run_reference

    from conftest import deployments_in

    with deployments_in(folder / "deployments"):
        result = run_reference(folder / "demo")
        registry, consortium = deployed("Registry"), deployed("Consortium")
        token = deployed("Token")
    agency = accounts.test_accounts[1]
    ids = _hostile_tenders(chain, registry, agency, token)
    _declare(consortium, accounts.test_accounts[5], str(registry.tenderOf(ids["hostile"])))
    names = dict(result.names)
    log = audit.collect(registry, consortium, names=names)
    facts = chain_facts.read(
        log, registry, pegged_to="USD", token_description="the devnet's test stablecoin"
    )
    export = packages.build(log, facts, names=names)
    url = f"sqlite:///{folder / 'portal.db'}"
    engine = create_engine(url)
    t.metadata.create_all(engine)
    head = chain.blocks.head
    balances = {a: int(token.balanceOf(a)) for a in log.agreements.values()}
    with engine.begin() as db:
        _write(db, log, facts, export, balances, int(head.number), int(head.timestamp), names)
    seeded_ = Seeded(url=url, names=names, ids=ids)
    seeded_.benches_ocid = facts.ocids[1]
    seeded_.hostile_id, seeded_.js_url_id = ids["hostile"], ids["js_url"]
    seeded_.bad_utf8_id = ids["bad_utf8"]
    seeded_.agency = str(agency.address)
    seeded_.winner = str(accounts.test_accounts[6].address)
    with engine.begin() as db:
        seeded_.long_id = _long_title_row(db, facts)
    engine.dispose()
    return seeded_


def _tender_of(log: Any) -> dict[str, int]:
    """Contract address -> tender id (tenders and their agreements)."""
    found = {address: tid for tid, address in log.tenders.items()}
    for tender, agreement in log.agreements.items():
        found[agreement] = found[tender]
    return found


def _event_tenders(log: Any) -> list[int | None]:
    """The tender each entry belongs to (None: deployment-wide)."""
    of = _tender_of(log)
    bidders: dict[str, int] = {}
    for e in log.entries:
        if e.event == "BidCommitted":
            bidders.setdefault(e.args["bidder"], of[e.address])
    by_tx = {e.tx: of.get(e.args["target"]) for e in log.entries if e.event == "ActionExecuted"}
    by_action = {}
    for e in log.entries:
        if e.tx in by_tx and "actionHash" in e.args:
            by_action[e.args["actionHash"]] = by_tx[e.tx]
    by_hash: dict[str, int] = {}
    found: list[int | None] = []
    for e in log.entries:
        tid = of.get(e.address) or by_tx.get(e.tx) or by_action.get(e.args.get("actionHash"))
        if tid is None and e.event.startswith("Conflict"):
            tid = of.get(e.args["subject"]) or bidders.get(e.args["subject"])
        if e.event == "TenderCreated":
            tid = e.args["id"]
        found.append(tid)
        if tid is not None:
            for value in e.args.values():
                if isinstance(value, str) and len(value) == 66:
                    by_hash.setdefault(value, tid)
    # a published text belongs to the tender whose decision names its hash
    return [
        by_hash.get(e.args["hash"]) if e.event == "TextPublished" else tid
        for e, tid in zip(log.entries, found, strict=True)
    ]


def _stage(compiled: dict[str, Any], events: list[Any], now: int, deadline: int) -> str:
    tender = compiled["tender"]
    happened = {e.event for e in events}
    if "AgreementCompleted" in happened:
        return "completed"
    if "AgreementTerminated" in happened:
        return "terminated"
    if compiled.get("contracts"):
        return "in progress"
    if any(a["status"] == "pending" for a in compiled.get("awards", [])):
        return "awarded"
    if tender["status"] in ("cancelled", "unsuccessful"):
        return tender["status"]
    return "open" if now <= deadline else "evaluation"


def _write(
    db: Any,
    log: Any,
    facts: Any,
    export: Any,
    balances: dict[str, int],
    head: int,
    now: int,
    names: dict[str, str],
) -> None:
    token = facts.currency
    db.execute(
        insert(t.meta),
        [
            {"key": k, "value": str(v)}
            for k, v in {
                "chain_id": facts.chain_id,
                "registry": facts.registry,
                "consortium": facts.consortium,
                "token": token.token,
                "symbol": token.symbol,
                "decimals": token.decimals,
                "pegged_to": token.pegged_to or "",
                "first_block": log.entries[0].block,
                # the publisher's names of accounts (the portal's only source for members)
                "names": json.dumps(names),
            }.items()
        ],
    )
    db.execute(
        insert(t.cursor),
        [
            {
                "id": 1,
                "indexed_block": head,
                "indexed_hash": "0x" + "00" * 32,
                "derived_block": head,
                "derived_timestamp": now,
            }
        ],
    )
    blocks = {e.block: e.timestamp for e in log.entries}
    db.execute(
        insert(t.blocks),
        [
            {"number": b, "hash": "0x" + keccak(b.to_bytes(8, "big")).hex(), "timestamp": ts}
            for b, ts in blocks.items()
        ],
    )
    owners = _event_tenders(log)
    db.execute(
        insert(t.events),
        [
            {
                "block": e.block,
                "log_index": e.log_index,
                "tx": e.tx,
                "timestamp": e.timestamp,
                "contract": e.contract,
                "address": e.address,
                "event": e.event,
                "actor": e.actor,
                "sender": e.sender,
                "signers": json.dumps(list(e.signers)),
                "args": json.dumps(e.args),
                "amounts": json.dumps(e.amounts),
                "sentence": e.sentence,
                "tender_id": tid,
            }
            for e, tid in zip(log.entries, owners, strict=True)
        ],
    )
    created = {e.args["id"]: e for e in log.of("TenderCreated")}
    for tid, address in log.tenders.items():
        found = facts.notices.get(address)
        reading = found.reading if found else None
        db.execute(
            insert(t.tenders),
            {
                "id": tid,
                "address": address,
                "agency": created[tid].args["agency"],
                "block": created[tid].block,
                "ocid": facts.ocids[tid],
                "token": log.tokens[address],
                "terms": json.dumps(asdict(facts.terms[address])),
                "notice_hash": created[tid].args["noticeHash"],
                "notice": reading.text if reading else None,
                "notice_source": (found.problem if found and found.problem else "calldata"),
            },
        )
    for tender, agreement in log.agreements.items():
        tid = _tender_of(log)[tender]
        accepted = next(e for e in log.of("AwardAccepted") if e.address == tender)
        db.execute(
            insert(t.agreements), {"address": agreement, "tender_id": tid, "block": accepted.block}
        )
    per_tender: dict[int, list[Any]] = defaultdict(list)
    for e, tid in zip(log.entries, owners, strict=True):
        if tid is not None:
            per_tender[tid].append(e)
    flags = _flags(log, per_tender)
    for tid, address in log.tenders.items():
        ocid = facts.ocids[tid]
        releases = export.releases[ocid]
        compiled = export.record_packages[ocid]["records"][0]["compiledRelease"]
        events = per_tender[tid]
        terms = facts.terms[address]
        agreement = log.agreements.get(address)
        row = _process_row(tid, ocid, address, compiled, events, terms, now, head)
        row["escrow_units"] = str(balances.get(agreement, 0)) if agreement else "0"
        row["flags"] = sum(1 for f in flags if f["tender_id"] == tid)
        row["releases"] = json.dumps(releases)
        row["compiled"] = json.dumps(compiled)
        db.execute(insert(t.processes), row)
        for bid in _bid_rows(tid, events, compiled):
            db.execute(insert(t.bids), bid)
    if flags:
        db.execute(insert(t.flags), flags)


def _process_row(
    tid: int,
    ocid: str,
    address: str,
    compiled: dict,
    events: list,
    terms: Any,
    now: int,
    head: int,
) -> dict[str, Any]:
    tender = compiled["tender"]
    awarded = [e for e in events if e.event == "AwardAccepted"]
    supplier = awarded[-1].args["supplier"] if awarded else None
    value = awarded[-1].amounts["price"] if awarded else None
    paid = sum(
        e.amounts["amount"]
        for e in events
        if e.event == "Withdrawn" and e.contract == "Agreement" and e.args["account"] == supplier
    )
    penalties = sum(
        e.amounts["penalty"] for e in events if e.event in ("MilestoneAccepted", "DisputeResolved")
    )
    items = " ".join(i.get("description", "") for i in tender.get("items", []))
    return {
        "tender_id": tid,
        "ocid": ocid,
        "address": address,
        "agency": compiled["buyer"]["id"],
        "title": tender["title"],
        "description": tender.get("description", ""),
        "category": tender.get("mainProcurementCategory", ""),
        "stage": _stage(compiled, events, now, terms.bidding_deadline),
        "budget_units": str(terms.budget),
        "budget_sort": float(terms.budget),
        "value_units": None if value is None else str(value),
        "value_sort": None if value is None else float(value),
        "supplier": supplier,
        "bidders": len({e.args["bidder"] for e in events if e.event == "BidCommitted"}),
        "published": next(e.timestamp for e in events if e.event == "TenderCreated"),
        "bidding_deadline": terms.bidding_deadline,
        "awarded": awarded[-1].timestamp if awarded else None,
        "paid_units": str(paid),
        "paid_sort": float(paid),
        "late_milestones": sum(
            1 for e in events if e.event == "MilestoneSubmitted" and e.args["daysLate"]
        ),
        "penalties_units": str(penalties),
        "disputes": sum(1 for e in events if e.event == "MilestoneDisputed"),
        "search": " ".join([tender["title"], tender.get("description", ""), items, ocid]).lower(),
        "updated_block": max(e.block for e in events),
    }


def _bid_rows(tid: int, events: list, compiled: dict) -> list[dict[str, Any]]:
    bids: dict[str, dict[str, Any]] = {}
    for e in events:
        bidder = e.args.get("bidder")
        if e.event == "BidCommitted" and bidder not in bids:
            bids[bidder] = {
                "tender_id": tid,
                "bidder": bidder,
                "status": "sealed",
                "price_units": None,
                "price_sort": None,
                "committed": e.timestamp,
            }
        elif e.event == "BidRevealed":
            price = e.amounts["price"]
            bids[bidder].update(
                status="valid" if e.args["valid"] else "invalid",
                price_units=str(price),
                price_sort=float(price),
            )
        elif e.event == "BidderDisqualified":
            bids[bidder]["status"] = "disqualified"
        elif e.event == "AwardAccepted":
            bids[e.args["supplier"]]["status"] = "won"
    return list(bids.values())


def _flags(log: Any, per_tender: dict[int, list[Any]]) -> list[dict[str, Any]]:
    """Chain flags derived from the events (a stand-in for the flags engineer's)."""
    found = []
    for tid, events in per_tender.items():
        for e in events:
            if e.event == "MilestoneSubmitted" and e.args["daysLate"]:
                found.append(
                    {
                        "code": "C-LATE",
                        "tender_id": tid,
                        "party": None,
                        "value": float(e.args["daysLate"]),
                        "evidence": f"Milestone {e.args['index'] + 1} was delivered "
                        f"{e.args['daysLate']} days late (block {e.block}).",
                    }
                )
            elif e.event == "MilestoneDisputed":
                found.append(
                    {
                        "code": "C-DISPUTE",
                        "tender_id": tid,
                        "party": None,
                        "value": None,
                        "evidence": f"Milestone {e.args['index'] + 1} was disputed "
                        f"(block {e.block}).",
                    }
                )
            elif e.event == "BondForfeited":
                found.append(
                    {
                        "code": "C-FORFEIT",
                        "tender_id": tid,
                        "party": e.args["bidder"],
                        "value": None,
                        "evidence": f"{e.sentence} (block {e.block}).",
                    }
                )
    return found


def _long_title_row(db: Any, facts: Any) -> int:
    """A process row with a 100 KB title (not from the chain: the pages must survive it)."""
    from sqlalchemy import select

    base = db.execute(select(t.processes).where(t.processes.c.tender_id == 1)).mappings().one()
    tid = 9_999
    compiled = json.loads(base["compiled"])
    compiled["tender"]["title"] = LONG_TITLE
    compiled["tender"]["description"] = LONG_TITLE
    for key in ("bids", "awards", "contracts"):
        compiled.pop(key, None)
    # URLs the notice reader never lets through, as a broken or hostile index could hold them
    compiled["tender"]["documents"] = [
        {
            "id": f"bad-{n}",
            "documentType": "technicalSpecifications",
            "title": f"bad {n}",
            "url": url,
            "description": "a URL that must stay text",
        }
        for n, url in enumerate(
            (
                f"javascript:window.{MARKER}=9",
                f"data:text/html,<script>window.{MARKER}=10</script>",
                f" JavaScript:window.{MARKER}=11",
                "vbscript:msgbox(1)",
            )
        )
    ]
    row = dict(base) | {
        "tender_id": tid,
        "ocid": base["ocid"] + "-long",
        "address": "0x" + "99" * 20,
        "title": LONG_TITLE,
        "description": LONG_TITLE,
        "search": "long title row",
        "releases": "[]",
        "compiled": json.dumps(compiled),
        "flags": 0,
        "late_milestones": 0,
        "disputes": 0,
        "stage": "open",
        "value_units": None,
        "value_sort": None,
        "supplier": None,
        "bidders": 0,
        "awarded": None,
        "paid_units": "0",
        "paid_sort": 0.0,
        "penalties_units": "0",
        "escrow_units": "0",
    }
    db.execute(insert(t.processes), row)
    return tid


def engine_of(seeded_: Seeded) -> Engine:
    """A read engine on the seeded database."""
    return create_engine(seeded_.url)
