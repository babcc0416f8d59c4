"""The portal's index on a real Anvil, in SQLite and in a real PostgreSQL server.

Checked against an independent reading of the same chain (``audit.collect`` and the OCDS
export): the events are the audit log's entries, each process's releases and compiled release
are the export's; indexing block by block gives the index indexing in one go gives; after a
reorg (a snapshot reverted and a different history mined) the index is what a fresh index of
the new chain is, table by table; an index at the first schema revision is upgraded in place;
hostile bytes (invalid UTF-8, NUL, 100 KB) are stored, never a crash; following the chain
reflects a new block well within a second.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from eth_abi import encode
from eth_utils import keccak
from sqlalchemy import MetaData, insert, select, text

from procurechain import agreement as ag
from procurechain import audit, flags
from procurechain.bulk import JsonRpc
from procurechain.deployments import deployed, read_manifest
from procurechain.errors import ProcurechainError
from procurechain.portal.index import Index, Indexer
from procurechain.portal.index import tables as t
from procurechain.portal.index.fetch import TIPS
from procurechain.portal.index.load import entry_of
from procurechain.record import content, packages
from procurechain.record import facts as chain_facts
from procurechain.scenario import run_reference
from procurechain.tender import create_tender

from conftest import DUSD, deployments_in, notice_spec, send_raw

#: What a supplier may write as milestone evidence: no length cap on the chain.
HOSTILE_URI = b"javascript:alert(1)//\xff\xfe\x00<script>alert(2)</script>" + b"A" * 100_000
HOSTILE_TEXT = b"\xff\xfe\x00<img src=x onerror=alert(1)>" + b"\xc3" * 8_000  # 8 KB: the cap


@dataclass
class Deployment:
    """The reference scenario's deployment, and who did what in it."""

    names: dict[str, str]
    registry: Any
    consortium: Any
    first_block: int
    token: Any

    def indexer(self, index: Index, **options: Any) -> Indexer:
        """An indexer of this deployment with its own JSON-RPC session."""
        from ape import chain

        return Indexer(
            index,
            JsonRpc(chain.provider.uri),
            str(self.registry.address),
            str(self.consortium.address),
            first_block=self.first_block,
            names=self.names,
            **options,
        )


@pytest.fixture(scope="module")
def reference(tmp_path_factory, chain, accounts, project):
    """The reference procurement, its first milestone's evidence URI hostile (100 KB with
    invalid UTF-8, NUL and markup: the chain takes any string there)."""
    out = tmp_path_factory.mktemp("reference")
    with deployments_in(out / "deployments"):
        result = run_reference(out, stop_after="award")
        agreement = ag.agreement_at(result.addresses["Agreement"])
        ag.fund(agreement, accounts[1], use_permit=True)
        submit = keccak(text="submit(uint256,bytes32,string)")[:4]
        evidence = keccak(b"evidence")
        send_raw(chain, accounts[6], agreement, submit + encode(
            ["uint256", "bytes32", "bytes"], [0, evidence, HOSTILE_URI]
        ))  # fmt: skip
        result = run_reference(out)
        registry = deployed("Registry")
        contracts = read_manifest()["contracts"].values()
        first = min(int(c["block"]) for c in contracts if "block" in c)
        token = project.DemoStablecoin.at(registry.token())
        yield Deployment(result.names, registry, deployed("Consortium"), first, token)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Makes empty index databases of one kind: SQLite files, or databases on the test run's
    own PostgreSQL server."""
    numbers = count()

    def new() -> str:
        if request.param == "sqlite":
            return str(tmp_path / f"index-{next(numbers)}.sqlite")
        return request.getfixturevalue("postgres_server").database()

    return new


def rows(index: Index, table: Any, *order: Any) -> list[Any]:
    with index.engine.connect() as connection:
        return connection.execute(select(table).order_by(*order)).all()


def fresh_dump(deployment: Deployment, url: str) -> dict[str, list[tuple]]:
    """What a new index of the chain as it is now holds."""
    with Index.open(url) as index:
        deployment.indexer(index).sync()
        return index.dump()


# ---------------------------------------------------------------------------- the record


def test_the_index_holds_the_record_the_audit_export_reads(reference, database, chain):
    log = audit.collect(
        reference.registry, reference.consortium, names=reference.names,
        scan_from=reference.first_block,
    )  # fmt: skip
    facts = chain_facts.read(log, reference.registry)
    export = packages.build(log, facts, names=reference.names)
    with Index.open(database()) as index:
        indexer = Indexer.connected(index, names=reference.names)  # from the manifest
        assert indexer.first_block == reference.first_block
        result = indexer.sync()
        assert (result.events, result.tenders, result.derived) == (len(log.entries), 1, 1)
        events = [
            entry_of(r) for r in rows(index, t.events, t.events.c.block, t.events.c.log_index)
        ]
        (process,) = rows(index, t.processes)
        (tender,) = rows(index, t.tenders)
        bids = rows(index, t.bids)
        cursor = index.cursor()
        stored_flags = [tuple(r)[1:] for r in rows(index, t.flags, t.flags.c.id)]
        counted = rows(index, t.processes)[0].flags

    assert events == log.entries  # hostile evidence URI included, byte for byte as decoded
    (submitted,) = [e for e in events if e.event == "MilestoneSubmitted" and e.args["index"] == 0]
    assert submitted.args["evidenceURI"] == HOSTILE_URI.decode("utf-8", "replace")
    (releases,) = export.releases.values()
    assert json.loads(process.releases) == releases
    compiled = packages.record_package(releases, facts, packages.Publication())
    assert json.loads(process.compiled) == compiled["records"][0]["compiledRelease"]

    # the summary, from the audit log's replay (an independent reading)
    agreement = log.agreements[tender.address]
    replayed = audit.replay_agreement(log, agreement)
    (accepted,) = log.of("AwardAccepted")
    supplier = accepted.args["supplier"]
    withdrawn = [e for e in log.at(agreement) if e.event == "Withdrawn"]
    paid = sum(e.args["amount"] for e in withdrawn if e.args["account"] == supplier)
    late = {e.args["index"] for e in log.of("MilestoneSubmitted") if e.args["daysLate"]}
    assert (process.stage, process.agreement, process.supplier) == (
        "completed",
        agreement,
        supplier,
    )
    assert process.value_units == str(accepted.args["price"])
    assert process.escrow_units == str(replayed.held) == "0"
    assert int(process.paid_units) == paid > 0
    assert process.penalties_units == str(sum(m.penalty for m in replayed.milestones)) != "0"
    assert process.late_milestones == len(late) >= 1
    assert process.disputes == len(log.of("MilestoneDisputed")) >= 1
    assert process.budget_sort == facts.terms[tender.address].budget / DUSD
    assert process.title in process.compiled and process.title.lower() in process.search
    revealed = {e.args["bidder"]: e.args["price"] for e in log.of("BidRevealed")}
    committed = {e.args["bidder"] for e in log.of("BidCommitted")}
    assert {b.bidder for b in bids} == committed and len(committed) > len(revealed)
    for bid in bids:  # a bid never revealed shows no price
        assert bid.price_units == (str(revealed[bid.bidder]) if bid.bidder in revealed else None)
    assert {b.bidder: b.status for b in bids}[supplier] == "won"
    assert "0x" + keccak(tender.notice_raw).hex() == tender.notice_hash
    assert tender.notice_source == "transaction input"
    assert cursor.indexed_block == cursor.derived_block == chain.blocks.head.number

    # the flags: what procurechain.flags finds on the export's compiled releases and the
    # audit log read straight from the chain, as of the derived block's time
    expected = flags.to_rows(
        flags.compute(
            [r["compiledRelease"] for r in compiled["records"]],
            log,
            facts.terms,
            phase_cap=int(reference.registry.phaseCap()),
            now=cursor.derived_timestamp,
            names=reference.names,
        )
    )
    assert stored_flags == [
        (r["code"], r["tender_id"], r["party"], r["value"], r["evidence"]) for r in expected
    ]
    assert {r["code"] for r in expected} >= {"P005", "P006", "P008"}  # late, dispute, bond
    assert counted == sum(r["tender_id"] == tender.id for r in expected)


def test_block_by_block_gives_the_index_one_go_gives_and_no_price_before_its_reveal(
    reference, database, chain
):
    chain.mine(TIPS + 8)  # longer than the tips kept, so older tips are dropped
    head = chain.blocks.head.number
    with Index.open(database()) as whole, Index.open(database()) as steps:
        in_one_go = reference.indexer(whole, chunk=16, workers=2)
        in_one_go.deriver.parallel_from = 1  # derived by worker processes
        in_one_go.sync()
        indexer = reference.indexer(steps)
        statuses = set()
        for block in range(reference.first_block, head + 1):
            indexer.sync(to_block=block)
            with steps.engine.connect() as connection:
                revealed = {
                    json.loads(a)["bidder"]
                    for (a,) in connection.execute(
                        select(t.events.c.args).where(t.events.c.event == "BidRevealed")
                    )
                }
                for bid in connection.execute(select(t.bids)):
                    statuses.add(bid.status)
                    assert (bid.price_units is not None) == (bid.bidder in revealed), block
        assert {"sealed", "won", "invalid"} <= statuses
        assert steps.cursor() == whole.cursor()
        assert steps.dump() == whole.dump()
        stored = {r.number for r in rows(steps, t.blocks)}
        assert stored == {r.block for r in rows(steps, t.events)} | set(
            range(head - TIPS + 1, head + 1)
        )


# ---------------------------------------------------------------------------- reorgs


def _tender(deployment: Deployment, chain, agency, budget: int, notice: str) -> Any:
    spec = notice_spec(chain, deployment.token, notice, ("a", "b", "c"), budget=budget)
    return create_tender(deployment.registry, agency, spec).tender


def _funded(deployment: Deployment, accounts, *bidders: Any) -> None:
    for bidder in bidders:
        deployment.token.mint(bidder, 10_000 * DUSD, sender=accounts[0])


def test_a_reorg_to_another_history_leaves_the_index_a_fresh_index_would_be(
    reference, database, chain, accounts
):
    from procurechain.tender import commit_bid

    agency = accounts[1]
    _funded(reference, accounts, accounts[6], accounts[8])
    with Index.open(database()) as index:
        indexer = reference.indexer(index)
        indexer.sync()
        before, indexed = index.dump(), index.cursor().indexed_block
        snapshot = chain.snapshot()
        # history A: a new tender and two sealed bids on it
        tender = _tender(reference, chain, agency, 30_000 * DUSD, "History A")
        for bidder, price in ((accounts[6], 29_000), (accounts[8], 28_000)):
            commit_bid(
                tender, bidder, price * DUSD, keccak(text=f"docs {price}"),
                permit_deadline=chain.pending_timestamp + 3_600,
            )  # fmt: skip
        indexer.sync()
        assert len(rows(index, t.tenders)) == 2 and len(rows(index, t.bids)) == 5
        forked_at = chain.blocks.head.number
        chain.restore(snapshot)
        # history B, shorter: the same tender id and address with other terms, no bids, a text
        _tender(reference, chain, agency, 20_000 * DUSD, "History B")
        content.publish_text(reference.registry, agency, "History B's minutes")
        assert chain.blocks.head.number < forked_at
        result = indexer.sync()
        assert result.rewound_to is not None and result.rewound_to <= indexed
        after = index.dump()
        assert after == fresh_dump(reference, database())
        assert after != before and len(after["tenders"]) == 2 and len(after["bids"]) == 3
        (b_tender,) = [r for r in rows(index, t.tenders) if r.id == 2]
        (b_process,) = [r for r in rows(index, t.processes) if r.tender_id == 2]
        assert b_tender.address == str(tender.address)  # the same clone address as in A
        assert bytes(b_tender.notice_raw) == b"History B"
        assert b_process.budget_units == str(20_000 * DUSD) and b_process.bidders == 0


def test_a_deep_reorg_removes_a_tender_and_everything_it_touched(
    reference, database, chain, accounts
):
    from procurechain.tender import commit_bid

    _funded(reference, accounts, accounts[6])
    with Index.open(database()) as index:
        indexer = reference.indexer(index)
        indexer.sync()
        before = index.dump()
        last_event = max(r.block for r in rows(index, t.events))
        assert last_event < index.cursor().indexed_block  # the mints since are not ours
        snapshot = chain.snapshot()
        tender = _tender(reference, chain, accounts[1], 10_000 * DUSD, "Gone after the reorg")
        commit_bid(
            tender, accounts[6], 9_000 * DUSD, keccak(text="docs"),
            permit_deadline=chain.pending_timestamp + 3_600,
        )  # fmt: skip
        chain.mine(TIPS + 20)  # deeper than the tips the index keeps
        indexer.sync()
        assert len(rows(index, t.tenders)) == 2
        chain.restore(snapshot)
        content.publish_text(reference.registry, accounts[2], "Another history")
        result = indexer.sync()
        assert result.rewound_to == last_event  # found below the tips, among event blocks
        after = index.dump()
        assert after == fresh_dump(reference, database())
        assert after["tenders"] == before["tenders"] and after["bids"] == before["bids"]
        assert after["processes"] == before["processes"]
        assert str(tender.address) not in {r.address for r in rows(index, t.events)}


# ---------------------------------------------------------------------------- schema


def test_the_migrations_build_the_tables_the_pages_read(database):
    with Index.open(database()) as index:
        assert index.revision == "0002"
        with index.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, t.metadata) == []


def test_an_index_at_the_first_revision_is_upgraded_in_place_keeping_its_rows(reference, database):
    with Index.open(database()) as current:
        reference.indexer(current).sync()
        expected = current.dump()
        old_url = database()
        with Index.open(old_url, revision="0001") as old:
            assert old.revision == "0001"
            schema = MetaData()
            schema.reflect(old.engine)
            with current.engine.connect() as source, old.engine.begin() as target:
                for table in schema.sorted_tables:
                    if table.name == "alembic_version":
                        continue
                    columns = [t.metadata.tables[table.name].c[c.name] for c in table.columns]
                    found = [dict(r._mapping) for r in source.execute(select(*columns))]
                    if found:
                        target.execute(insert(table), found)
    with Index.open(old_url) as upgraded:
        assert upgraded.revision == "0002"
        dumped = upgraded.dump()
        for name in ("events", "tenders", "blocks", "agreements", "meta", "cursor"):
            assert dumped[name] == expected[name], name  # kept, and back-filled
        assert dumped["processes"] == []  # derived again by the next sync
        reference.indexer(upgraded).sync()
        assert upgraded.dump() == expected
    with Index.open(old_url) as again:  # already at the head: nothing changes
        assert again.revision == "0002" and again.dump() == expected


def test_an_index_newer_than_this_package_is_refused_in_one_line(database):
    url = database()
    with Index.open(url) as index, index.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ProcurechainError) as found:
        Index.open(url)
    assert "schema revision 9999" in str(found.value) and "upgrade procurechain" in str(found.value)
    assert "\n" not in str(found.value)


def test_what_is_not_an_index_is_refused_in_one_line(tmp_path, reference, chain):
    with pytest.raises(ProcurechainError, match="not a database the index uses"):
        Index.open("mysql://localhost/index")
    with pytest.raises(ProcurechainError, match="is the database server running") as found:
        Index.open("postgresql://nobody@127.0.0.1:1/index")
    assert "\n" not in str(found.value)
    with Index.open(tmp_path / "index.sqlite") as index:
        reference.indexer(index).sync(to_block=reference.first_block)
        with pytest.raises(ProcurechainError, match="into another database"):
            Indexer(index, JsonRpc(chain.provider.uri), str(reference.consortium.address),
                    str(reference.registry.address))  # fmt: skip


# ---------------------------------------------------------------------------- hostile text


def test_hostile_notices_and_texts_are_stored_exactly_and_never_stop_the_index(
    reference, database, chain, accounts
):
    agency = accounts[1]
    spec = notice_spec(chain, reference.token, "x", ("a", "b", "c"))
    notice = b"\xff\xfe\x00<script>alert(1)</script>\x00" + b"\xe2\x82" * 3_000
    call = content._SELECTOR + encode(
        [*content._ARGS[:2], "bytes"], [spec.params(), spec.plan_tuples(), notice]
    )
    send_raw(chain, agency, reference.registry, call)
    publish = keccak(text="publish(string)")[:4]
    send_raw(chain, agency, reference.registry, publish + encode(["bytes"], [HOSTILE_TEXT]))
    log = audit.collect(reference.registry, reference.consortium, names=reference.names)
    facts = chain_facts.read(log, reference.registry)
    export = packages.build(log, facts, names=reference.names)
    with Index.open(database()) as index:
        reference.indexer(index).sync()
        tender = rows(index, t.tenders, t.tenders.c.id)[-1]
        process = rows(index, t.processes, t.processes.c.tender_id)[-1]
        texts = [
            entry_of(r)
            for r in rows(index, t.events, t.events.c.block)
            if r.event == "TextPublished"
        ]
    assert bytes(tender.notice_raw) == notice and tender.notice_source == "transaction input"
    assert "\x00" not in tender.notice and "\ufffd" in tender.notice
    assert json.loads(process.releases) == export.releases[process.ocid]
    assert process.title.startswith(f"Tender {tender.id} (its notice could not be read")
    assert texts[-1].args["text"] == HOSTILE_TEXT.decode("utf-8", "replace")
    assert texts[-1] == next(e for e in reversed(log.entries) if e.event == "TextPublished")


# ---------------------------------------------------------------------------- following


def test_following_reflects_a_new_block_within_a_second(reference, tmp_path, accounts):
    with Index.open(tmp_path / "index.sqlite") as index:
        indexer = reference.indexer(index)
        indexer.sync()
        stop, synced = threading.Event(), []
        thread = threading.Thread(
            target=indexer.follow,
            kwargs={"poll_seconds": 0.05, "stop": stop, "on_sync": synced.append},
        )
        thread.start()
        try:
            lags = []
            for member, bidder in ((accounts[5], accounts[7]), (accounts[3], accounts[8])):
                # a conflict with a bidder: the process is derived again
                receipt = reference.consortium.declareConflict(
                    bidder, keccak(text=f"{member} {bidder}"), sender=member
                )
                started = time.perf_counter()
                while index.cursor().derived_block < receipt.block_number:
                    assert time.perf_counter() - started < 10, "the index never caught up"
                    time.sleep(0.005)
                lags.append(time.perf_counter() - started)
        finally:
            stop.set()
            thread.join(10)
        assert not thread.is_alive()
        indexer.close()
        assert max(lags) < 1.0, lags
        assert any(r.derived >= 1 for r in synced)  # the process was derived again
        declared = [e for e in rows(index, t.events) if e.event == "ConflictDeclared"]
        assert [e.subject for e in declared[-2:]] == [str(accounts[7]), str(accounts[8])]


# ---------------------------------------------------------------------------- time, decisions


def _stage(index: Index, tender_id: int) -> str:
    (process,) = [r for r in rows(index, t.processes) if r.tender_id == tender_id]
    return process.stage


def test_the_clock_alone_moves_a_stage_and_a_reorg_to_an_earlier_time_moves_it_back(
    reference, database, chain, accounts
):
    with Index.open(database()) as index:
        indexer = reference.indexer(index)
        tender = _tender(reference, chain, accounts[1], 10_000 * DUSD, "Nobody bids")
        indexer.sync()
        tender_id = int(reference.registry.tenderCount())
        assert _stage(index, tender_id) == "open"
        snapshot = chain.snapshot()
        stages = []
        for deadline in (tender.biddingDeadline(), tender.revealDeadline()):
            chain.pending_timestamp = int(deadline) + 1
            chain.mine()
            result = indexer.sync()
            assert result.events == 0  # no event: the clock alone
            stages.append(_stage(index, tender_id))
        assert stages == ["evaluation", "unsuccessful"]
        assert index.dump() == fresh_dump(reference, database())
        chain.restore(snapshot)
        chain.mine()
        indexer.sync()
        assert _stage(index, tender_id) == "open"
        assert index.dump() == fresh_dump(reference, database())


def test_a_decision_approved_on_chain_belongs_to_its_tender_and_a_later_text_shows_in_it(
    reference, database, chain, accounts
):
    from procurechain import consortium as cs
    from procurechain.tender import cancel_call

    reason = "Cancelled: the park is being redesigned."
    with Index.open(database()) as index:
        indexer = reference.indexer(index)
        tender = _tender(reference, chain, accounts[1], 10_000 * DUSD, "To be cancelled")
        tender_id = int(reference.registry.tenderCount())
        proposal = cs.propose(reference.consortium, cancel_call(tender, keccak(text=reason)))
        for member in (accounts[1], accounts[2], accounts[3]):
            cs.approve(proposal, reference.consortium, member)
        indexer.sync()  # the approvals, before the action is executed
        approvals = [r for r in rows(index, t.events) if r.event == "ActionApproved"]
        assert len(approvals) == 3 and {r.tender_id for r in approvals} == {None}
        cs.execute(proposal, reference.consortium, accounts[1])
        indexer.sync()
        approvals = [r for r in rows(index, t.events) if r.event == "ActionApproved"]
        assert {r.tender_id for r in approvals} == {tender_id}
        assert _stage(index, tender_id) == "cancelled"
        (process,) = [r for r in rows(index, t.processes) if r.tender_id == tender_id]
        assert reason not in process.compiled and "was not published" in process.compiled
        content.publish_text(reference.registry, accounts[2], reason)  # the words, later
        indexer.sync()
        (process,) = [r for r in rows(index, t.processes) if r.tender_id == tender_id]
        assert reason in process.compiled
        assert index.dump() == fresh_dump(reference, database())
    log = audit.collect(reference.registry, reference.consortium, names=reference.names)
    export = packages.build(log, chain_facts.read(log, reference.registry), names=reference.names)
    assert json.loads(process.releases) == export.releases[process.ocid]


def test_a_read_the_chain_changed_under_is_dropped_and_a_wrong_stored_tip_is_rewound(
    reference, tmp_path, chain
):
    from procurechain.portal.index.chain import ChainMovedError, ChainReader
    from procurechain.portal.index.fetch import Fetcher

    reader = ChainReader(JsonRpc(chain.provider.uri))
    head = chain.blocks.head.number
    registry = str(reference.registry.address)
    hashes: dict[int, str] = {}
    logs = reader.logs([registry], reference.first_block, head, hashes)
    assert reader.senders([x.tx for x in logs], hashes)  # consistent: read
    moved = dict(hashes)
    moved[logs[0].block] = "0x" + "11" * 32  # as if the block had been replaced meanwhile
    with pytest.raises(ChainMovedError):
        reader.senders([x.tx for x in logs], moved)
    fetcher = Fetcher(reader, registry, str(reference.consortium.address), (), (), 0)
    with pytest.raises(ChainMovedError, match="no longer on the chain"):
        fetcher.fetch(head, head, (head - 1, "0x" + "22" * 32))
    with Index.open(tmp_path / "index.sqlite") as index:
        indexer = reference.indexer(index)
        indexer.sync()
        expected = index.dump()
        with index.engine.begin() as connection:  # a tip the chain does not have
            connection.execute(t.cursor.update().values(indexed_hash="0x" + "33" * 32))
            connection.execute(
                t.blocks.update().where(t.blocks.c.number == head).values(hash="0x" + "33" * 32)
            )
        result = indexer.sync()
        assert result.rewound_to == head - 1 and index.dump() == expected
