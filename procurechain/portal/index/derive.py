"""The derived rows, from the database only: every process touched since the cursor's
``derived_block`` gets its audit log and chain facts rebuilt from the chain rows and its rows
written again (:mod:`~procurechain.portal.index.summary`), in batches, one transaction each.

Touched since block N: a process with an event after N; one a conflict declared or lifted
after N may concern (its tender, agency, agreement or a bidder is the subject); one whose
record names a text published after N; and one with no derived row yet (new, rewound, or
emptied by a migration). The stages that move with the clock are brought to the new block's
time for every process.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update

from procurechain import audit, display
from procurechain.portal.index import tables as t
from procurechain.portal.index.database import Index
from procurechain.portal.index.summary import (
    ProcessJob,
    ProcessRows,
    clock_stage,
    mentioned,
    summarise,
)
from procurechain.record import content
from procurechain.record import notice as nt
from procurechain.record.content import OnChainNotice
from procurechain.record.facts import ChainFacts, TenderTerms
from procurechain.record.money import Currency

__all__ = ["CONFLICTS", "Deriver", "chunks", "entry_of", "touched_since"]

CONFLICTS = ("ConflictDeclared", "ConflictLifted")
_IN = 500  # values per IN (...) list


def chunks(values: Iterable[Any], size: int = _IN) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size``."""
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def entry_of(row: Any) -> audit.Entry:
    """The :class:`~procurechain.audit.Entry` an ``events`` row holds."""
    return audit.Entry(
        block=row.block,
        tx=row.tx,
        log_index=row.log_index,
        timestamp=row.timestamp,
        contract=row.contract,
        address=row.address,
        event=row.event,
        actor=row.actor,
        sender=row.sender,
        signers=tuple(json.loads(row.signers)),
        args=json.loads(row.args),
        amounts=json.loads(row.amounts),
        sentence=row.sentence,
    )


def touched_since(connection: Connection, block: int) -> set[int]:
    """The tender ids whose derived rows the chain rows after ``block`` change."""
    e = t.events
    later = e.c.block > block
    found = {
        r[0]
        for r in connection.execute(
            select(e.c.tender_id).distinct().where(later, e.c.tender_id.is_not(None))
        )
    }
    subjects = [
        r[0]
        for r in connection.execute(
            select(e.c.subject).distinct().where(later, e.c.event.in_(CONFLICTS))
        )
    ]
    for some in chunks(subjects):
        for query in (
            select(t.tenders.c.id).where(t.tenders.c.address.in_(some)),
            select(t.tenders.c.id).where(t.tenders.c.agency.in_(some)),
            select(t.agreements.c.tender_id).where(t.agreements.c.address.in_(some)),
            select(t.bids.c.tender_id).where(t.bids.c.bidder.in_(some)),
        ):
            found.update(r[0] for r in connection.execute(query))
    texts = [
        r[0]
        for r in connection.execute(
            select(e.c.ref_hash).distinct().where(later, e.c.event == "TextPublished")
        )
    ]
    for some in chunks(texts):
        query = select(t.mentions.c.tender_id).where(t.mentions.c.hash.in_(some))
        found.update(r[0] for r in connection.execute(query))
    underived = select(t.tenders.c.id).outerjoin(
        t.processes, t.processes.c.tender_id == t.tenders.c.id
    )
    found.update(
        r[0] for r in connection.execute(underived.where(t.processes.c.tender_id.is_(None)))
    )
    existing = {r[0] for r in connection.execute(select(t.tenders.c.id))}
    return found & existing


class Deriver:
    """Writes the derived rows of an index.

    Args:
        index: the index.
        names: readable names of addresses (OCDS parties), as the export takes them.
        batch: processes per transaction.
        executor: runs :func:`~procurechain.portal.index.summary.summarise` (e.g. a process
            pool); None: in this thread.
    """

    def __init__(
        self,
        index: Index,
        *,
        names: Mapping[str, str] | None = None,
        batch: int = 100,
        executor: Executor | None = None,
    ) -> None:
        self.index = index
        self.names = dict(names or {})
        self.batch = batch
        self.executor = executor

    def derive(self, block: int, timestamp: int) -> int:
        """Derive every process touched since the cursor's ``derived_block`` as of ``block``
        (its ``timestamp``); returns how many were derived."""
        engine = self.index.engine
        with engine.connect() as connection:
            since = connection.execute(select(t.cursor.c.derived_block)).scalar_one()
            todo = sorted(touched_since(connection, since))
            meta = dict(connection.execute(select(t.meta.c.key, t.meta.c.value)).all())
            conflicts = [
                entry_of(r)
                for r in connection.execute(
                    select(t.events).where(t.events.c.event.in_(CONFLICTS))
                    .order_by(t.events.c.block, t.events.c.log_index)
                )
            ]  # fmt: skip
        if not todo and since == block:
            return 0
        base = _facts(meta)
        unit = display.Token(meta["symbol"], int(meta["decimals"]), meta["token"])
        for some in chunks(todo, self.batch):
            with engine.connect() as connection:
                jobs = list(_jobs(connection, some, base, unit, conflicts, self.names, timestamp))
            mapper = self.executor.map if self.executor is not None else map
            found = list(mapper(summarise, jobs))
            with engine.begin() as connection:
                _write(connection, some, found)
        with engine.begin() as connection:
            _clock(connection, timestamp)
            connection.execute(
                update(t.cursor).values(derived_block=block, derived_timestamp=timestamp)
            )
        return len(todo)


def _facts(meta: Mapping[str, str]) -> ChainFacts:
    currency = Currency(
        token=meta["token"],
        symbol=meta["symbol"],
        decimals=int(meta["decimals"]),
        chain_id=int(meta["chain_id"]),
        pegged_to=meta.get("pegged_to") or None,
        description=meta.get("token_description", ""),
    )
    return ChainFacts(currency.chain_id, meta["registry"], meta["consortium"], currency)


def _notice(row: Any, plan: list[dict[str, Any]]) -> OnChainNotice:
    raw = row.notice_raw
    if raw is None:
        return OnChainNotice(row.notice_hash, None, row.notice_source)
    return OnChainNotice(row.notice_hash, content._against_plan(nt.read(bytes(raw)), plan))


def _jobs(
    connection: Connection,
    tender_ids: list[int],
    base: ChainFacts,
    unit: display.Token,
    conflicts: list[audit.Entry],
    names: Mapping[str, str],
    now: int,
) -> Iterator[ProcessJob]:
    e = t.events
    rows = connection.execute(
        select(e).where(e.c.tender_id.in_(tender_ids)).order_by(e.c.block, e.c.log_index)
    )
    own: dict[int, list[audit.Entry]] = {i: [] for i in tender_ids}
    for row in rows:
        own[row.tender_id].append(entry_of(row))
    tenders = {
        r.id: r for r in connection.execute(select(t.tenders).where(t.tenders.c.id.in_(tender_ids)))
    }
    agreements = {
        r.tender_id: r.address
        for r in connection.execute(
            select(t.agreements).where(t.agreements.c.tender_id.in_(tender_ids))
        )
    }
    logs: dict[int, audit.AuditLog] = {}
    for tender_id in tender_ids:
        row = tenders[tender_id]
        entries = own[tender_id]
        bidders = {x.args["bidder"] for x in entries if x.event == "BidCommitted"}
        subjects = {row.address, row.agency, *bidders}
        if tender_id in agreements:
            subjects.add(agreements[tender_id])
        seen = {(x.block, x.log_index) for x in entries}
        entries += [
            c
            for c in conflicts
            if c.args["subject"] in subjects and (c.block, c.log_index) not in seen
        ]
        entries.sort(key=lambda x: (x.block, x.log_index))
        log = audit.AuditLog(
            base.registry, base.consortium, entries=entries, complete=False, unit=unit
        )
        log.tenders[tender_id] = row.address
        if tender_id in agreements:
            log.agreements[row.address] = agreements[tender_id]
        terms = TenderTerms(**json.loads(row.terms))
        log.bonds[row.address], log.tokens[row.address] = terms.bond, row.token
        logs[tender_id] = log
    texts = _texts(connection, {h for log in logs.values() for h in _mentioned(log)})
    for tender_id, log in logs.items():
        row = tenders[tender_id]
        log.texts = {h: texts[h] for h in _mentioned(log) if h in texts}
        created = next(x for x in log.entries if x.event == "TenderCreated")
        facts = ChainFacts(base.chain_id, base.registry, base.consortium, base.currency)
        facts.ocids[tender_id] = row.ocid
        facts.terms[row.address] = TenderTerms(**json.loads(row.terms))
        facts.notices[row.address] = _notice(row, created.args["plan"])
        yield ProcessJob(tender_id, log, facts, names, now)


def _mentioned(log: audit.AuditLog) -> set[str]:
    return mentioned(log.entries)


def _texts(connection: Connection, hashes: set[str]) -> dict[str, audit.Entry]:
    """The first ``TextPublished`` of each hash (as :attr:`AuditLog.texts` keeps)."""
    e = t.events
    found: dict[str, audit.Entry] = {}
    for some in chunks(sorted(hashes)):
        query = (
            select(e)
            .where(e.c.event == "TextPublished", e.c.ref_hash.in_(some))
            .order_by(e.c.block, e.c.log_index)
        )
        for row in connection.execute(query):
            found.setdefault(row.ref_hash, entry_of(row))
    return found


def _write(connection: Connection, tender_ids: list[int], found: list[ProcessRows]) -> None:
    for table in (t.processes, t.bids, t.mentions):
        connection.execute(delete(table).where(table.c.tender_id.in_(tender_ids)))
    connection.execute(t.processes.insert(), [r.process for r in found])
    bids = [b for r in found for b in r.bids]
    if bids:
        connection.execute(t.bids.insert(), bids)
    mentions = [m for r in found for m in r.mentions]
    if mentions:
        connection.execute(t.mentions.insert(), mentions)


def _clock(connection: Connection, now: int) -> None:
    """Bring the stages that move with time to ``now``: every process whose events leave it
    open (``fails_at`` set) is open, in evaluation or unsuccessful by the clock alone (also
    backwards, after a reorg to an earlier time)."""
    p = t.processes
    moving = connection.execute(
        select(p.c.tender_id, p.c.stage, p.c.bidding_deadline, p.c.fails_at).where(
            p.c.fails_at.is_not(None)
        )
    ).all()
    changes = [
        {"t": r.tender_id, "s": stage}
        for r in moving
        if (stage := clock_stage("open", r.bidding_deadline, r.fails_at, now)) != r.stage
    ]
    if changes:
        connection.execute(
            update(p).where(p.c.tender_id == bindparam("t")).values(stage=bindparam("s")), changes
        )
