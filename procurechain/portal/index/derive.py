"""The derived rows: every process touched since the cursor's ``derived_block`` gets its
audit log and chain facts rebuilt from the chain rows (:mod:`~procurechain.portal.index.load`)
and its rows written again (:mod:`~procurechain.portal.index.summary`), in batches, one
transaction each; with ``workers`` the batches are built by worker processes (each reads the
index itself) while this one writes.

Touched since block N: a process with an event after N; one a conflict declared or lifted
after N may concern (its tender, agency, agreement or a bidder is the subject); one whose
record names a text published after N; and one with no derived row yet (new, rewound, or
emptied by a migration). The stages that move with the clock are brought to the new block's
time for every process.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy import Connection, bindparam, delete, select, update

from procurechain.errors import ProcurechainError
from procurechain.portal.index import tables as t
from procurechain.portal.index.database import Index
from procurechain.portal.index.flagged import Flagger
from procurechain.portal.index.load import CONFLICTS, chunks, derive_batch, derive_with
from procurechain.portal.index.summary import ProcessRows, clock_stage

__all__ = ["Deriver", "touched_since"]


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
        workers: worker processes for a derivation of at least ``parallel_from`` processes
            (0: all in this thread).
        parallel_from: the fewest processes worth starting workers for.
        flagger: recomputes the red flags once the cursor moved (their own transaction).
    """

    def __init__(
        self,
        index: Index,
        *,
        names: Mapping[str, str] | None = None,
        batch: int = 100,
        workers: int = 0,
        parallel_from: int = 200,
        flagger: Flagger | None = None,
    ) -> None:
        self.index = index
        self.flagger = flagger
        self.names = dict(names or {})
        self.batch = batch
        self.workers = workers
        self.parallel_from = parallel_from

    def derive(self, block: int, timestamp: int) -> int:
        """Derive every process touched since the cursor's ``derived_block`` as of ``block``
        (its ``timestamp``); returns how many were derived."""
        engine = self.index.engine
        with engine.connect() as connection:
            since = connection.execute(select(t.cursor.c.derived_block)).scalar_one()
            todo = sorted(touched_since(connection, since))
        if not todo and since == block:
            return 0
        batches = list(chunks(todo, self.batch))
        if self.workers > 0 and len(todo) >= self.parallel_from:
            self._in_workers(batches, timestamp)
        else:
            for some in batches:
                found = derive_with(engine, some, self.names, timestamp)
                with engine.begin() as connection:
                    _write(connection, some, found)
        with engine.begin() as connection:
            _clock(connection, timestamp)
            connection.execute(
                update(t.cursor).values(derived_block=block, derived_timestamp=timestamp)
            )
        if self.flagger is not None:  # after the pages moved: flags compare every process
            with engine.begin() as connection:
                self.flagger.write(connection, todo, block, timestamp)
        return len(todo)

    def _in_workers(self, batches: list[list[int]], now: int) -> None:
        """Batches built by worker processes (spawned: fresh interpreters inherit no state or
        lock of this one's threads; as with any spawned pool, the main module must be
        importable, i.e. a script guards its entry point), written here in order, at most two
        per worker in flight."""
        url = self.index.url
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=context) as pool:
            pending: deque[tuple[list[int], Future[list[ProcessRows]]]] = deque()
            for some in batches:
                pending.append((some, pool.submit(derive_batch, url, some, self.names, now)))
                if len(pending) >= 2 * self.workers:
                    self._write_next(pending)
            while pending:
                self._write_next(pending)

    def _write_next(self, pending: deque[tuple[list[int], Future[list[ProcessRows]]]]) -> None:
        some, future = pending.popleft()
        try:
            found = future.result()
        except BrokenProcessPool as err:
            raise ProcurechainError(
                "the derivation's worker processes stopped; a script that indexes with workers "
                "must guard its entry point (if __name__ == '__main__'), or use workers=0"
            ) from err
        with self.index.engine.begin() as connection:
            _write(connection, some, found)


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
