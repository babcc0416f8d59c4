"""A fetched chunk of blocks (:mod:`~procurechain.portal.index.fetch`) into chain rows: each
log decoded by the public record's decoder (:class:`procurechain.audit.EntryDecoder`), with its
tender, block hashes and times, and the new tenders' facts. The indexer writes the rows in one
transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, insert, or_, select, update

from procurechain.audit import Entry, EntryDecoder
from procurechain.portal.index import tables as t
from procurechain.portal.index.chain import Block
from procurechain.portal.index.fetch import TIPS, RawChunk, checksum
from procurechain.portal.index.tender_facts import TenderReader

__all__ = ["Chunk", "Followed", "Ingest", "event_row", "write_chunk"]
_APPROVALS = ("ActionApproved", "ApprovalRevoked")


@dataclass
class Followed:
    """The contracts the index follows: grown as ``TenderCreated`` and ``AwardAccepted`` come
    in, loaded from the database at the start of a sync."""

    tenders: dict[str, int] = field(default_factory=dict)  # address -> tender id
    bonds: dict[str, int] = field(default_factory=dict)  # tender address -> bond
    agreements: dict[str, int] = field(default_factory=dict)  # address -> tender id
    where: dict[str, str] = field(default_factory=dict)  # address -> "tender 3"

    def add_tender(self, tender_id: int, address: str, bond: int) -> None:
        """Follow a tender."""
        self.tenders[address], self.bonds[address] = tender_id, bond
        self.where[address] = f"tender {tender_id}"

    def add_agreement(self, address: str, tender_id: int) -> None:
        """Follow a tender's agreement."""
        self.agreements[address] = tender_id
        self.where[address] = f"the agreement of tender {tender_id}"

    def tender_of(self, address: str) -> int | None:
        """The tender a tender or agreement address belongs to, if followed."""
        found = self.tenders.get(address)
        return found if found is not None else self.agreements.get(address)


@dataclass
class Chunk:
    """The rows of one chunk of blocks ``low``..``high``."""

    low: int
    high: int
    tip: Block
    events: list[dict[str, Any]] = field(default_factory=list)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    tenders: list[dict[str, Any]] = field(default_factory=list)
    agreements: list[dict[str, Any]] = field(default_factory=list)
    #: action hash -> tender id, of the chunk's consortium actions on a tender or agreement
    executed: dict[str, int] = field(default_factory=dict)


def event_row(entry: Entry, followed: Followed) -> dict[str, Any]:
    """The ``events`` row of an entry: its columns, its tender, what it is looked up by."""
    a = entry.args
    tender_id = followed.tender_of(entry.address)
    subject = ref_hash = None
    if entry.event in ("TenderCreated", "TenderNotice") and entry.contract == "Registry":
        tender_id = int(a["id"])
    elif entry.event == "TextPublished":
        ref_hash = str(a["hash"]).lower()
    elif entry.contract == "Consortium":
        if entry.event == "ActionExecuted":
            subject, ref_hash = a["target"], str(a["actionHash"]).lower()
            tender_id = followed.tender_of(subject)
        elif entry.event in ("ConflictDeclared", "ConflictLifted"):
            subject = a["subject"]
            tender_id = followed.tender_of(subject)
        elif entry.event in _APPROVALS:
            ref_hash = str(a["actionHash"]).lower()  # its tender: when the action executes
    return {
        "block": entry.block,
        "log_index": entry.log_index,
        "tx": entry.tx,
        "timestamp": entry.timestamp,
        "contract": entry.contract,
        "address": entry.address,
        "event": entry.event,
        "actor": entry.actor,
        "sender": entry.sender,
        "signers": json.dumps(list(entry.signers)),
        "args": json.dumps(entry.args, ensure_ascii=False),
        "amounts": json.dumps(entry.amounts),
        "sentence": entry.sentence.replace("\x00", "\ufffd"),
        "tender_id": tender_id,
        "subject": subject,
        "ref_hash": ref_hash,
    }


class Ingest:
    """Turns fetched chunks into rows.

    Args:
        decoder: the public record's decoder (names and token words set).
        tenders: reads new tenders' facts (its JSON-RPC takes the fetched views).
        followed: the contracts followed so far (grown by :meth:`rows`).
    """

    def __init__(self, decoder: EntryDecoder, tenders: TenderReader, followed: Followed) -> None:
        self.decoder, self.tender_reader, self.followed = decoder, tenders, followed

    def rows(self, raw: RawChunk) -> Chunk:
        """The rows of a fetched chunk."""
        chunk = Chunk(raw.low, raw.high, raw.blocks[raw.high])
        numbers = {x.block for x in raw.logs} | {n for n in raw.blocks if n > raw.high - TIPS}
        chunk.blocks = [
            {"number": n, "hash": raw.blocks[n].hash, "timestamp": raw.blocks[n].timestamp}
            for n in sorted(numbers)
        ]
        f = self.followed
        transactions = raw.transactions

        def sender(tx: str) -> str:
            return checksum(transactions[tx].sender)

        def timestamp(number: int) -> int:
            return raw.blocks[number].timestamp

        registry_logs = [x for x in raw.logs if raw.kinds.get(x.address) == "Registry"]
        self.tender_reader.rpc.memo.update(raw.views)
        try:
            for item in raw.logs:
                entry = self.decoder.entry(
                    raw.kinds[item.address],
                    item,
                    timestamp=timestamp,
                    sender=sender,
                    where=f.where,
                    bonds=f.bonds,
                )
                if entry is None:
                    continue
                if entry.event == "TenderCreated" and entry.contract == "Registry":
                    row = self.tender_reader.row(entry, registry_logs, transactions)
                    chunk.tenders.append(row)
                    f.add_tender(row["id"], row["address"], json.loads(row["terms"])["bond"])
                elif entry.event == "AwardAccepted" and entry.contract == "Tender":
                    tender_id = f.tenders[entry.address]
                    f.add_agreement(entry.args["agreement"], tender_id)
                    chunk.agreements.append(
                        {
                            "address": entry.args["agreement"],
                            "tender_id": tender_id,
                            "block": entry.block,
                        }
                    )
                row = event_row(entry, f)
                if entry.event == "ActionExecuted" and row["tender_id"] is not None:
                    chunk.executed[row["ref_hash"]] = row["tender_id"]
                chunk.events.append(row)
        finally:
            self.decoder.forget()
            self.tender_reader.forget()
        return chunk


def write_chunk(connection: Connection, chunk: Chunk) -> None:
    """Write a chunk's rows and move the cursor to its last block (the caller's transaction):
    events, block hashes (old tips without events dropped), tenders, agreements, and the
    tender of earlier approvals of the actions the chunk executed."""
    e, b = t.events, t.blocks
    if chunk.events:
        _resolve_approvals(connection, chunk)
        connection.execute(insert(e), chunk.events)
    connection.execute(insert(b), chunk.blocks)
    if chunk.tenders:
        connection.execute(insert(t.tenders), chunk.tenders)
    if chunk.agreements:
        connection.execute(insert(t.agreements), chunk.agreements)
    if chunk.executed:
        connection.execute(
            update(e)
            .where(
                e.c.ref_hash == bindparam("h"),
                or_(*(e.c.event == name for name in _APPROVALS)),
                e.c.tender_id.is_(None),
            )
            .values(tender_id=bindparam("t")),
            [{"h": h, "t": i} for h, i in chunk.executed.items()],
        )
    connection.execute(
        delete(b).where(
            b.c.number < chunk.high - TIPS + 1, ~exists().where(e.c.block == b.c.number)
        )
    )
    connection.execute(
        update(t.cursor).values(indexed_block=chunk.high, indexed_hash=chunk.tip.hash)
    )


def _resolve_approvals(connection: Connection, chunk: Chunk) -> None:
    """Give the chunk's approvals of actions executed earlier their tender."""
    hashes = {r["ref_hash"] for r in chunk.events if r["event"] in _APPROVALS}
    if not hashes:
        return
    e = t.events
    done = dict(
        connection.execute(
            select(e.c.ref_hash, e.c.tender_id).where(
                e.c.event == "ActionExecuted", e.c.ref_hash.in_(hashes), e.c.tender_id.is_not(None)
            )
        ).all()
    )
    for row in chunk.events:
        if row["event"] in _APPROVALS and row["ref_hash"] in done:
            row["tender_id"] = done[row["ref_hash"]]
