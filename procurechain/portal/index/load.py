"""A process's audit log and chain facts, rebuilt from the chain rows alone, and the derived rows
made of them (:func:`derive_batch`: what a worker process runs for a batch of tenders).

A process's log holds its events (its ``TenderCreated``, its tender's and its agreement's
logs, the consortium's actions on them), the conflicts of interest whose subject is its tender,
its agency, its agreement or one of its bidders, and the first ``TextPublished`` of every text
its events name; its facts are the tender's stored terms, ocid and notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select

from procurechain import audit, display
from procurechain.portal.index import tables as t
from procurechain.portal.index.summary import ProcessJob, ProcessRows, mentioned, summarise
from procurechain.record import content
from procurechain.record import notice as nt
from procurechain.record.content import OnChainNotice
from procurechain.record.facts import ChainFacts, TenderTerms
from procurechain.record.money import Currency

__all__ = ["CONFLICTS", "chunks", "derive_batch", "derive_with", "entry_of"]

CONFLICTS = ("ConflictDeclared", "ConflictLifted")
_IN = 500  # values per IN (...) list


def chunks(values: Any, size: int = _IN) -> Iterator[list[Any]]:
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


@cache
def _engine(url: str) -> Engine:
    """A worker's own connection pool to the index (read only)."""
    return create_engine(url, pool_pre_ping=True)


def derive_batch(
    url: str, tender_ids: list[int], names: Mapping[str, str], now: int
) -> list[ProcessRows]:
    """The derived rows of ``tender_ids`` as of ``now``, read from the index at ``url`` (a
    SQLAlchemy URL with its password): what a worker process runs."""
    return derive_with(_engine(url), tender_ids, names, now)


def derive_with(
    engine: Engine, tender_ids: list[int], names: Mapping[str, str], now: int
) -> list[ProcessRows]:
    """:func:`derive_batch` on an engine at hand."""
    with engine.connect() as connection:
        jobs = list(_jobs(connection, tender_ids, names, now))
    return [summarise(job) for job in jobs]


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
    connection: Connection, tender_ids: list[int], names: Mapping[str, str], now: int
) -> Iterator[ProcessJob]:
    e = t.events
    meta = dict(connection.execute(select(t.meta.c.key, t.meta.c.value)).all())
    base = _facts(meta)
    unit = display.Token(meta["symbol"], int(meta["decimals"]), meta["token"])
    conflicts = [
        entry_of(r)
        for r in connection.execute(
            select(e).where(e.c.event.in_(CONFLICTS)).order_by(e.c.block, e.c.log_index)
        )
    ]
    own: dict[int, list[audit.Entry]] = {i: [] for i in tender_ids}
    query = select(e).where(e.c.tender_id.in_(tender_ids)).order_by(e.c.block, e.c.log_index)
    for row in connection.execute(query):
        own[row.tender_id].append(entry_of(row))
    query = select(t.tenders).where(t.tenders.c.id.in_(tender_ids))
    tenders = {r.id: r for r in connection.execute(query)}
    query = select(t.agreements).where(t.agreements.c.tender_id.in_(tender_ids))
    agreements = {r.tender_id: r.address for r in connection.execute(query)}
    logs: dict[int, tuple[audit.AuditLog, set[str]]] = {}
    for tender_id in tender_ids:
        row, entries = tenders[tender_id], own[tender_id]
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
        log = audit.AuditLog(base.registry, base.consortium, entries=entries, unit=unit)
        log.complete = False
        log.tenders[tender_id] = row.address
        if tender_id in agreements:
            log.agreements[row.address] = agreements[tender_id]
        log.bonds[row.address] = TenderTerms(**json.loads(row.terms)).bond
        log.tokens[row.address] = row.token
        logs[tender_id] = (log, mentioned(entries))
    texts = _texts(connection, {h for _, hashes in logs.values() for h in hashes})
    for tender_id, (log, hashes) in logs.items():
        row = tenders[tender_id]
        log.texts = {h: texts[h] for h in hashes if h in texts}
        created = next(x for x in log.entries if x.event == "TenderCreated")
        facts = ChainFacts(base.chain_id, base.registry, base.consortium, base.currency)
        facts.ocids[tender_id] = row.ocid
        facts.terms[row.address] = TenderTerms(**json.loads(row.terms))
        facts.notices[row.address] = _notice(row, created.args["plan"])
        yield ProcessJob(tender_id, log, facts, dict(names), now, frozenset(hashes))


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
