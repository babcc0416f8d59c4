"""Reorgs: find where the stored chain and the node's part ways, and rewind the index there.

The index keeps the hash of every block that holds an event and of the latest
:data:`~procurechain.portal.index.fetch.TIPS` blocks. The fork point is the latest stored
block whose hash the node still has at that height (everything below it is the same chain:
each block commits to its parent). Rewinding deletes every chain row above it, resolves again
what those rows had resolved (approvals of actions executed above it), deletes the derived
rows of every process they touched (the next derivation builds them again) and puts the
cursor at the fork point, all in one transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select, update

from procurechain.portal.index import tables as t
from procurechain.portal.index.chain import ChainReader
from procurechain.portal.index.derive import touched_since
from procurechain.portal.index.fetch import TIPS
from procurechain.portal.index.load import chunks

__all__ = ["fork_point", "rewind"]

_PAGE = 100
_APPROVALS = ("ActionApproved", "ApprovalRevoked")


def fork_point(connection: Connection, reader: ChainReader, below: int, first_block: int) -> int:
    """The latest stored block at or below ``below`` that is still on the node's chain, or
    ``first_block - 1`` when none is."""
    b = t.blocks
    query = select(b.c.number, b.c.hash).where(b.c.number <= below).order_by(b.c.number.desc())
    stored = connection.execute(query).all()
    for start in range(0, len(stored), _PAGE):
        page = stored[start : start + _PAGE]
        on_chain = reader.blocks([n for n, _ in page])
        for number, hash_ in page:
            if number in on_chain and on_chain[number].hash == hash_:
                return number
    return first_block - 1


def rewind(connection: Connection, reader: ChainReader, fork: int, first_block: int) -> set[int]:
    """Delete every chain row above ``fork`` and the derived rows they touched; returns the
    tender ids touched (within the caller's transaction)."""
    e = t.events
    touched = touched_since(connection, fork)
    touched |= {
        r[0] for r in connection.execute(select(t.tenders.c.id).where(t.tenders.c.block > fork))
    }
    executed = [
        r[0]
        for r in connection.execute(
            select(e.c.ref_hash).where(e.c.block > fork, e.c.event == "ActionExecuted")
        )
    ]
    for some in chunks(executed):
        connection.execute(
            update(e)
            .where(e.c.block <= fork, e.c.event.in_(_APPROVALS), e.c.ref_hash.in_(some))
            .values(tender_id=None)
        )
    connection.execute(delete(e).where(e.c.block > fork))
    connection.execute(delete(t.blocks).where(t.blocks.c.number > fork))
    connection.execute(delete(t.tenders).where(t.tenders.c.block > fork))
    connection.execute(delete(t.agreements).where(t.agreements.c.block > fork))
    for some in chunks(sorted(touched)):
        for table in (t.processes, t.bids, t.mentions):
            connection.execute(delete(table).where(table.c.tender_id.in_(some)))
    indexed_hash = _refill_tips(connection, reader, fork, first_block)
    derived = connection.execute(select(t.cursor.c.derived_block)).scalar_one()
    connection.execute(
        update(t.cursor).values(
            indexed_block=max(fork, first_block - 1),
            indexed_hash=indexed_hash,
            derived_block=min(derived, max(fork, first_block - 1)),
        )
    )
    return touched


def _refill_tips(connection: Connection, reader: ChainReader, fork: int, first_block: int) -> str:
    """Store the hashes of the :data:`TIPS` blocks up to ``fork`` again (the tips kept for the
    old head were pruned below it); returns the fork block's hash ("" before the first)."""
    if fork < first_block:
        return ""
    wanted = set(range(max(first_block, fork - TIPS + 1), fork + 1))
    b = t.blocks
    have = {r[0] for r in connection.execute(select(b.c.number).where(b.c.number.in_(wanted)))}
    found = reader.blocks(wanted - have)
    rows = [{"number": n, "hash": x.hash, "timestamp": x.timestamp} for n, x in found.items()]
    if rows:
        connection.execute(b.insert(), rows)
    return str(connection.execute(select(b.c.hash).where(b.c.number == fork)).scalar_one())
