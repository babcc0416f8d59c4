"""The portal tests' chain and index: what happens on the test Anvil, indexed by the real
indexer (``procurechain.portal.index``) into a SQLite file the web tests read.

On the chain: the reference scenario (the benches, ``procurechain.scenario``); a second
procurement (school laptops) whose supplier delivers milestone evidence an attacker would
write (the chain caps notices and published texts at 8 KiB, but an evidence URI is an
unbounded string in ``MilestoneSubmitted``): a 100 KB ``javascript:`` URL with a script tag
and an event handler, then, after the consortium rejects it, a ``data:`` URL with invalid
UTF-8; tenders whose notices hold script tags, event handlers, ``javascript:``/``data:``
document URLs and invalid UTF-8; a published reason with invalid UTF-8, named by a conflict
declaration. Then ``Indexer(...).sync()`` writes every table: the summaries, bids and red
flags are the indexer's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak

DUSD = 10**6
DAY = 86_400
#: What a hostile payload would set if it ever ran in the browser.
MARKER = "__pwned"
SCRIPT_TITLE = f"<script>window.{MARKER}=1</script>Benches & <b>bold</b> claims"
IMG_DESCRIPTION = f'<img src=x onerror="window.{MARKER}=2"> Supply of <i>things</i>. '
BAD_UTF8_REASON = b"Reason with broken bytes \xff\xfe here <script>window.__pwned=3</script>"
#: The laptops' first delivery evidence: a ~100 KB javascript: URL, a script tag and an event
#: handler, then one unbroken run of characters.
JS_EVIDENCE = (
    f"javascript:window.{MARKER}=4//<script>window.{MARKER}=4</script>"
    f'<img src=x onerror="window.{MARKER}=4">'
) + "W" * 100_000
#: Its second delivery evidence (after a rejection): a data: URL with a script, and bytes that
#: are not UTF-8 (sent as raw calldata: Ape's encoder takes only valid strings).
DATA_EVIDENCE = (
    f"data:text/html,<script>window.{MARKER}=5</script>".encode() + b" broken \xff\xfe bytes"
)
LAPTOPS_TITLE = "School laptops for the Northside library"
#: The laptops' supplier (test account 9; the reference scenario uses 0-8).
SUPPLIER_NAME = "Northside Computers"


@dataclass
class Indexed:
    """The chain's procurements as indexed: the database, the names, the ids tests look for."""

    url: str
    names: dict[str, str]
    benches_id: int = 1
    benches_ocid: str = ""
    laptops_id: int = 0
    hostile_id: int = 0
    js_url_id: int = 0
    bad_utf8_id: int = 0
    agency: str = ""
    winner: str = ""
    laptops_supplier: str = ""
    ids: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # the indexer's sync


_BUILT: dict[str, Indexed] = {}


def indexed(folder: Path) -> Indexed:
    """The index, built once per test session (both portal test modules share it)."""
    if "db" not in _BUILT:
        _BUILT["db"] = build(folder)
    return _BUILT["db"]


def _decide(consortium: Any, call: Any, signers: list[Any]) -> None:
    from procurechain import consortium as cs

    proposal = cs.propose(consortium, call)
    for signer in signers:
        cs.sign(proposal, consortium, signer)
    cs.execute(proposal, consortium, signers[0])


def _laptops(chain: Any, registry: Any, consortium: Any, token: Any, accounts: Any) -> int:
    """A second procurement up to an active agreement whose supplier submits hostile
    evidence twice (rejected in between); returns its tender id."""
    from procurechain import agreement as ag
    from procurechain import catalog
    from procurechain import tender as td
    from procurechain.devnet import move_to
    from procurechain.record.content import publish_text

    from conftest import send_raw

    deployer, agency, citizen, legal = accounts[0], accounts[1], accounts[3], accounts[5]
    supplier = accounts[9]
    token.mint(supplier, 1_000 * DUSD, sender=deployer)
    token.mint(agency, 20_000 * DUSD, sender=deployer)
    notice = replace(catalog.notice_for(1, "the Northside library", 2), title=LAPTOPS_TITLE)
    plan = tuple(
        td.Milestone(5_000, days * DAY, notice.milestone_hash(i)) for i, days in enumerate((30, 60))
    )
    now = int(chain.pending_timestamp)
    spec = td.TenderSpec(
        token=str(token.address),
        budget=20_000 * DUSD,
        bond=500 * DUSD,
        bidding_deadline=now + 7 * DAY,
        reveal_deadline=now + 10 * DAY,
        acceptance_window=5 * DAY,
        notice=notice.encode(),
        plan=plan,
    )
    tender_id, tender, _ = td.create_tender(registry, agency, spec)
    documents = keccak(text="the Northside Computers bid")
    td.commit_bid(tender, supplier, 18_000 * DUSD, documents, permit_deadline=now + DAY)
    move_to(int(tender.biddingDeadline()) + 1)
    td.reveal_bid(tender, supplier, 18_000 * DUSD, documents, nonce=0)
    move_to(int(tender.revealDeadline()) + 1)
    _decide(consortium, td.award_call(tender, str(supplier.address)), [agency, citizen, legal])
    td.accept_award(tender, supplier, plan)
    agreement = ag.agreement_at(tender.agreement())
    ag.fund(agreement, agency)
    ag.submit(agreement, supplier, 0, keccak(text="first delivery"), JS_EVIDENCE)
    reason = publish_text(registry, agency, "The laptops delivered are not the model specified.")
    _decide(consortium, ag.reject_call(agreement, 0, reason), [agency, citizen, legal])
    submit = keccak(text="submit(uint256,bytes32,string)")[:4]
    arguments = encode(["uint256", "bytes32", "bytes"], [0, keccak(b"again"), DATA_EVIDENCE])
    send_raw(chain, supplier, agreement, submit + arguments)
    return tender_id


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
                    "description": f"<svg onload=window.{MARKER}=6>item",
                    "quantity": 3,
                    "unit": "<u>unit</u>",
                    "classification": {"scheme": "CPV", "id": "45233293"},
                }
            ],
            "documents": [
                {
                    "title": f'"><script>window.{MARKER}=7</script>',
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
                "url": f"javascript:window.{MARKER}=8",
                "sha256": "ab" * 32,
            },
            {
                "title": "data me",
                "type": "technicalSpecifications",
                "format": "text/html",
                "url": f"data:text/html,<script>window.{MARKER}=9</script>",
                "sha256": "ab" * 32,
            },
        ],
    )
    text = json.dumps(bad_docs)
    tender_id, _, _ = create_tender(registry, agency, notice_spec(chain, token, text, "abc"))
    ids["js_url"] = tender_id
    # Invalid UTF-8 cannot go through Ape's string encoder: raw calldata.
    spec = notice_spec(chain, token, "placeholder", "abc")
    raw = b'{"title": "Broken \xff\xfe bytes <script>window.__pwned=10</script>"}'
    data = content._SELECTOR + encode(list(content._ARGS), [spec.params(), spec.plan_tuples(), raw])
    send_raw(chain, agency, registry, data)
    ids["bad_utf8"] = int(registry.tenderCount())
    # A published text (a reason) with invalid UTF-8, named by a conflict declaration.
    selector = keccak(text="publish(string)")[:4]
    send_raw(chain, agency, registry, selector + encode(["bytes"], [BAD_UTF8_REASON]))
    return ids


def build(folder: Path) -> Indexed:
    """Play everything on the test chain, then index it with the real indexer."""
    import time

    from ape import accounts, chain

    from procurechain.bulk import connected_rpc
    from procurechain.deployments import deployed, read_manifest
    from procurechain.portal.index import Index, Indexer
    from procurechain.scenario import run_reference

    from conftest import deployments_in

    with deployments_in(folder / "deployments"):
        result = run_reference(folder / "demo")
        registry, consortium = deployed("Registry"), deployed("Consortium")
        token = deployed("Token")
        contracts = read_manifest()["contracts"].values()
        first_block = min(int(c["block"]) for c in contracts if "block" in c)
    test = accounts.test_accounts
    agency = test[1]
    laptops = _laptops(chain, registry, consortium, token, test)
    ids = _hostile_tenders(chain, registry, agency, token)
    # the legal expert declares a conflict with the hostile tender, naming the bad text
    consortium.declareConflict(
        str(registry.tenderOf(ids["hostile"])), keccak(BAD_UTF8_REASON), sender=test[5]
    )
    names = dict(result.names) | {str(test[9].address): SUPPLIER_NAME}
    path = folder / "portal.sqlite"
    started = time.perf_counter()
    with Index.open(path) as index:
        Indexer(
            index,
            connected_rpc(),
            str(registry.address),
            str(consortium.address),
            first_block=first_block,
            names=names,
            pegged_to="USD",
            token_description="the devnet's test stablecoin",
        ).sync()
        benches_ocid = str(registry.ocid(1))
    return Indexed(
        url=f"sqlite:///{path}",
        names=names,
        benches_ocid=benches_ocid,
        laptops_id=laptops,
        hostile_id=ids["hostile"],
        js_url_id=ids["js_url"],
        bad_utf8_id=ids["bad_utf8"],
        agency=str(agency.address),
        winner=str(test[6].address),
        laptops_supplier=str(test[9].address),
        ids=ids | {"laptops": laptops},
        seconds=time.perf_counter() - started,
    )
