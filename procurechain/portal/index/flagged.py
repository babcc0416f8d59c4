"""The red flags of the whole index (:mod:`procurechain.flags`): Cardinal's indicators on every
compiled release and the chain's own flags on every event, written to the ``flags`` table and
counted on each ``processes`` row once the cursor's ``derived_block`` moved, in a transaction
of their own that also records the block they reflect (``meta['flags_block']``): the pages of a
new block do not wait for the flags, which compare every process with every other, and say
which block their flags are of.

Cardinal's fences compare each process with all the others, so the flags are computed over the
whole index every time the derived rows move. What that reads is kept in memory between syncs
(the events after the last one read, the compiled releases of the processes just derived), so
a new block costs its own rows and the flags' arithmetic; a rewind (reorg) starts again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from procurechain import audit, display, flags
from procurechain.portal.index import tables as t
from procurechain.portal.index.load import chunks, entry_of
from procurechain.record.facts import TenderTerms

__all__ = ["Flagger"]

_COUNT = (
    update(t.processes)
    .where(t.processes.c.tender_id == bindparam("id"))
    .values(flags=bindparam("count"))
)


class Flagger:
    """Computes and writes every flag of an index.

    Args:
        names: readable names of addresses, for the flags' evidence.
        settings: which flags run with which thresholds (default: Cardinal's and the
            chain's defaults, :class:`procurechain.flags.Settings`).
        phase_cap: reads the registry's current phase cap (P002), or None.
    """

    def __init__(
        self,
        *,
        names: Mapping[str, str] | None = None,
        settings: flags.Settings | None = None,
        phase_cap: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.names = dict(names or {})
        self.settings = settings or flags.Settings()
        self.phase_cap = phase_cap
        self.reset()

    def reset(self) -> None:
        """Forget what was read (after a rewind: rows it read may be gone)."""
        self._entries: list[audit.Entry] = []
        self._after: tuple[int, int] = (-1, -1)
        self._texts: dict[str, audit.Entry] = {}
        self._compiled: dict[int, dict[str, Any]] = {}
        self._terms: dict[str, TenderTerms] = {}
        self._tenders: dict[int, tuple[str, str]] = {}  # id -> (address, token)
        self._rows: list[flags.FlagRow] | None = None  # what the table holds

    def write(self, connection: Connection, derived: Iterable[int], block: int, now: int) -> int:
        """Recompute every flag as of ``block`` (its time ``now``) after the processes
        ``derived`` were written; returns how many flags there are. The table is written only
        when a flag changed."""
        meta = dict(connection.execute(select(t.meta.c.key, t.meta.c.value)).all())
        fresh = not self._compiled
        self._read_events(connection)
        self._read_tenders(connection)
        self._read_compiled(connection, None if fresh else derived)
        found = flags.compute(
            self._compiled.values(),
            self._log(connection, meta),
            self._terms,
            self.settings,
            phase_cap=self.phase_cap(),
            now=now,
            names=self.names,
        )
        rows = flags.to_rows(found)
        _record_block(connection, block)
        counts: dict[int, int] = {}
        for row in rows:
            if row["tender_id"] is not None:
                counts[row["tender_id"]] = counts.get(row["tender_id"], 0) + 1
        if rows == self._rows:  # the same flags: only the re-derived rows need their count
            again = [{"id": i, "count": counts.get(i, 0)} for i in sorted(set(derived))]
            if again:
                connection.execute(_COUNT, again)
            return len(rows)
        self._rows = rows
        connection.execute(delete(t.flags))
        if rows:
            # ids numbered afresh each time: the same chain gives the same table
            numbered = [{"id": n, **r} for n, r in enumerate(rows, 1)]
            connection.execute(insert(t.flags), numbered)
        connection.execute(update(t.processes).values(flags=0).where(t.processes.c.flags != 0))
        if counts:
            connection.execute(_COUNT, [{"id": k, "count": v} for k, v in counts.items()])
        return len(rows)

    # ------------------------------------------------------------------------- reading

    def _read_events(self, connection: Connection) -> None:
        e = t.events
        block, index = self._after
        query = (
            select(e)
            .where(or_(e.c.block > block, (e.c.block == block) & (e.c.log_index > index)))
            .order_by(e.c.block, e.c.log_index)
        )
        for row in connection.execute(query):
            entry = entry_of(row)
            self._entries.append(entry)
            if entry.event == "TextPublished":
                self._texts.setdefault(entry.args["hash"], entry)
        if self._entries:
            self._after = (self._entries[-1].block, self._entries[-1].log_index)

    def _read_tenders(self, connection: Connection) -> None:
        known = max(self._tenders, default=-1)
        query = select(t.tenders.c.id, t.tenders.c.address, t.tenders.c.token, t.tenders.c.terms)
        for row in connection.execute(query.where(t.tenders.c.id > known)):
            self._tenders[row.id] = (row.address, row.token)
            self._terms[row.address] = TenderTerms(**json.loads(row.terms))

    def _read_compiled(self, connection: Connection, ids: Iterable[int] | None) -> None:
        p = t.processes
        query = select(p.c.tender_id, p.c.compiled)
        if ids is None:
            found = connection.execute(query).all()
        else:
            found = [
                row
                for some in chunks(sorted(set(ids)))
                for row in connection.execute(query.where(p.c.tender_id.in_(some)))
            ]
        for row in found:
            try:
                self._compiled[row.tender_id] = json.loads(row.compiled)
            except ValueError:  # a row written by a broken version: judged without it
                self._compiled.pop(row.tender_id, None)

    def _log(self, connection: Connection, meta: Mapping[str, str]) -> audit.AuditLog:
        unit = display.Token(meta["symbol"], int(meta["decimals"]), meta["token"])
        log = audit.AuditLog(meta["registry"], meta["consortium"], entries=self._entries, unit=unit)
        log.texts = self._texts
        for tender_id, (address, token) in self._tenders.items():
            log.tenders[tender_id] = address
            log.bonds[address] = self._terms[address].bond
            log.tokens[address] = token
        by_id = {tender_id: address for tender_id, (address, _) in self._tenders.items()}
        for row in connection.execute(select(t.agreements.c.address, t.agreements.c.tender_id)):
            if row.tender_id in by_id:
                log.agreements[by_id[row.tender_id]] = row.address
        return log


def _record_block(connection: Connection, block: int) -> None:
    """``meta['flags_block']``: the block the flags table reflects."""
    found = connection.execute(
        select(t.meta.c.value).where(t.meta.c.key == "flags_block")
    ).scalar_one_or_none()
    if found is None:
        connection.execute(insert(t.meta).values(key="flags_block", value=str(block)))
    elif found != str(block):
        connection.execute(
            update(t.meta).where(t.meta.c.key == "flags_block").values(value=str(block))
        )
