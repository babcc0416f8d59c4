"""Every SQL statement the web pages run, in one place: what the portal needs of the index.

The pages read the tables of :mod:`procurechain.portal.index.tables` and nothing else. The
statements are SQLAlchemy Core, so the same code runs on SQLite and PostgreSQL. Token amounts
are summed here in Python from the exact ``*_units`` strings (never from the ``*_sort``
floats, which only order and filter).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import RowMapping

from procurechain import display
from procurechain.portal.index import tables as t

__all__ = ["SORTS", "STAGES", "Filters", "Queries", "ResultPage", "Status"]

#: Stages in plain words, as ``processes.stage`` holds them, in lifecycle order.
STAGES = (
    "open",
    "evaluation",
    "awarded",
    "in progress",
    "completed",
    "cancelled",
    "unsuccessful",
    "terminated",
)
#: Stages in which money is committed to a supplier.
COMMITTED_STAGES = ("in progress", "completed", "terminated")
_P = t.processes
#: Sortable columns of the procurement list, by the name the URL uses.
SORTS = {
    "published": _P.c.published,
    "title": _P.c.title,
    "value": func.coalesce(_P.c.value_sort, _P.c.budget_sort),
    "stage": _P.c.stage,
    "deadline": _P.c.bidding_deadline,
    "bidders": _P.c.bidders,
}
#: The columns a list needs (not the OCDS JSON, which can be large).
_SUMMARY = [c for c in _P.c if c.name not in ("releases", "compiled", "search")]
_BIGINT = 2**63  # the ids the BigInteger columns hold are below this
#: Hashes looked up per statement (bound parameters: SQLite allows 999 on old builds).
_CHUNK = 500


@dataclass(frozen=True)
class Status:
    """What the pages reflect: the derived block and its time (unix seconds)."""

    block: int
    timestamp: int


@dataclass(frozen=True)
class Filters:
    """A search of the procurement list; every field optional.

    Attributes:
        q: words that must all appear in the title, description, items or ocid.
        agency: the buyer's address.
        supplier: the supplier's address.
        stage: one of :data:`STAGES`.
        category: goods, works or services.
        min_value: the least value (award value, else budget), in base units.
        max_value: the most, in base units.
        published_from: first day published (unix seconds, inclusive).
        published_to: end of the last day published (unix seconds, exclusive).
        sort: a key of :data:`SORTS`.
        descending: sort order.
        page: 1-based page number.
        per_page: rows per page.
    """

    q: str = ""
    agency: str = ""
    supplier: str = ""
    stage: str = ""
    category: str = ""
    min_value: int | None = None
    max_value: int | None = None
    published_from: int | None = None
    published_to: int | None = None
    sort: str = "published"
    descending: bool = True
    page: int = 1
    per_page: int = 20


@dataclass
class ResultPage:
    """One page of a search, and how many rows match in all."""

    rows: list[RowMapping]
    total: int
    filters: Filters

    @property
    def pages(self) -> int:
        """How many pages the search has (at least 1)."""
        return max(1, -(-self.total // self.filters.per_page))


@dataclass
class _Cache:
    block: int = -1
    names: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def _like(words: str) -> list[Any]:
    """One ``LIKE`` per word (``%`` and ``_`` taken literally)."""
    found = []
    for word in words.lower().split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(_P.c.search.like(f"%{escaped}%", escape="\\"))
    return found


def _whole(units: int, decimals: int) -> float:
    """Base units as the ``*_sort`` columns hold amounts: a float of whole tokens."""
    return float(Decimal(units).scaleb(-decimals))


def _conditions(f: Filters, decimals: int) -> list[Any]:
    value = func.coalesce(_P.c.value_sort, _P.c.budget_sort)
    found = _like(f.q)
    for column, wanted in ((_P.c.agency, f.agency), (_P.c.supplier, f.supplier)):
        if wanted:
            found.append(column == wanted)
    if f.stage:
        found.append(_P.c.stage == f.stage)
    if f.category:
        found.append(_P.c.category == f.category)
    if f.min_value is not None:
        found.append(value >= _whole(f.min_value, decimals))
    if f.max_value is not None:
        found.append(value <= _whole(f.max_value, decimals))
    if f.published_from is not None:
        found.append(_P.c.published >= f.published_from)
    if f.published_to is not None:
        found.append(_P.c.published < f.published_to)
    return found


class _Reader:
    """Connection helpers and the per-block cache (names, meta) of one index database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache = _Cache()

    def _all(self, statement: Any) -> list[RowMapping]:
        with self.engine.connect() as db:
            return list(db.execute(statement).mappings())

    def _one(self, statement: Any) -> RowMapping | None:
        with self.engine.connect() as db:
            return db.execute(statement).mappings().first()

    # ------------------------------------------------------------------ bookkeeping

    def status(self) -> Status | None:
        """The block the derived rows reflect (None: nothing indexed yet)."""
        row = self._one(select(t.cursor.c.derived_block, t.cursor.c.derived_timestamp))
        return (
            None
            if row is None
            else Status(int(row["derived_block"]), int(row["derived_timestamp"]))
        )

    def _fresh(self) -> _Cache:
        """The per-block cache (names, meta), rebuilt when the derived block moves."""
        status = self.status()
        block = -1 if status is None else status.block
        if block != self._cache.block:
            cache = _Cache(block)
            cache.meta = {r["key"]: r["value"] for r in self._all(select(t.meta))}
            cache.names = self._read_names(cache.meta)
            self._cache = cache
        return self._cache

    def meta(self) -> dict[str, str]:
        """The deployment: ``chain_id``, ``registry``, ``consortium``, ``token``, ``symbol``,
        ``decimals``, ``pegged_to``, ``first_block`` (whatever ``meta`` holds)."""
        return dict(self._fresh().meta)

    def token(self) -> display.Token:
        """How amounts read: the token's symbol and decimals from ``meta``."""
        meta = self._fresh().meta
        return display.Token(
            meta.get("symbol", display.FALLBACK_SYMBOL),
            int(meta.get("decimals", "0")),
            meta.get("token", ""),
        )

    def names(self) -> dict[str, str]:
        """Readable names of addresses: ``meta.names`` (a JSON object) if the index keeps
        one, then every party named in a compiled release."""
        return dict(self._fresh().names)

    def _read_names(self, meta: Mapping[str, str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for row in self._all(select(t.tenders.c.id, t.tenders.c.address)):
            found[str(row["address"])] = f"the tender contract of procurement {row['id']}"
        for row in self._all(select(t.agreements.c.tender_id, t.agreements.c.address)):
            found[str(row["address"])] = f"the escrow contract of procurement {row['tender_id']}"
        for row in self._all(select(_P.c.compiled)):
            try:
                parties = json.loads(row["compiled"]).get("parties", [])
            except (ValueError, AttributeError):  # one broken row does not hide every name
                continue
            for party in parties:
                found.setdefault(str(party.get("id", "")), str(party.get("name", "")))
        try:
            given = json.loads(meta.get("names", "{}"))
        except ValueError:
            given = {}
        if isinstance(given, dict):
            found.update({str(k): str(v) for k, v in given.items()})
        return found


class _Figures(_Reader):
    """Sums, flags and the choices of the filters."""

    # ------------------------------------------------------------------------ flags

    def flags(
        self,
        *,
        tender_id: int | None = None,
        tender_ids: Iterable[int] | None = None,
        party: str | None = None,
        limit: int | None = None,
    ) -> list[RowMapping]:
        """Flags, newest first: of one tender, of some tenders or about a party (either
        matches), or all."""
        fl = t.flags
        statement = select(fl).order_by(fl.c.id.desc())
        ors = []
        if tender_id is not None:
            ors.append(fl.c.tender_id == tender_id)
        if tender_ids is not None:
            ors.append(fl.c.tender_id.in_(list(tender_ids)))
        if party is not None:
            ors.append(fl.c.party == party)
        if ors:
            statement = statement.where(or_(*ors))
        if limit is not None:
            statement = statement.limit(limit)
        return self._all(statement)

    def flag_counts(self) -> dict[str, int]:
        """How many flags of each code the index holds."""
        fl = t.flags
        rows = self._all(select(fl.c.code, func.count().label("n")).group_by(fl.c.code))
        return {r["code"]: int(r["n"]) for r in rows}

    # ----------------------------------------------------------------------- totals

    def totals(self, *, agency: str | None = None, supplier: str | None = None) -> dict[str, int]:
        """Exact sums in base units: ``committed`` (award values of contracts signed),
        ``escrow`` (held by agreements now), ``paid`` (withdrawn by suppliers), ``penalties``,
        ``budget``; and counts ``processes``, ``awarded``, ``late`` (milestones),
        ``disputes``."""
        statement = select(
            _P.c.stage,
            _P.c.budget_units,
            _P.c.value_units,
            _P.c.escrow_units,
            _P.c.paid_units,
            _P.c.penalties_units,
            _P.c.late_milestones,
            _P.c.disputes,
        )
        if agency is not None:
            statement = statement.where(_P.c.agency == agency)
        if supplier is not None:
            statement = statement.where(_P.c.supplier == supplier)
        sums = dict.fromkeys(
            ("committed", "escrow", "paid", "penalties", "budget", "processes", "awarded"), 0
        )
        sums.update(late=0, disputes=0)
        for row in self._all(statement):
            sums["processes"] += 1
            sums["budget"] += int(row["budget_units"])
            if row["value_units"] is not None and row["stage"] in COMMITTED_STAGES:
                sums["committed"] += int(row["value_units"])
                sums["awarded"] += 1
            sums["escrow"] += int(row["escrow_units"])
            sums["paid"] += int(row["paid_units"])
            sums["penalties"] += int(row["penalties_units"])
            sums["late"] += int(row["late_milestones"])
            sums["disputes"] += int(row["disputes"])
        return sums

    def spending(self) -> list[tuple[str, str, int]]:
        """Award values of signed contracts by (agency, month of the award), exact, in
        chronological then agency order."""
        rows = self._all(
            select(_P.c.agency, _P.c.awarded, _P.c.value_units).where(
                _P.c.awarded.is_not(None),
                _P.c.value_units.is_not(None),
                _P.c.stage.in_(COMMITTED_STAGES),
            )
        )
        sums: dict[tuple[str, str], int] = {}
        for row in rows:
            month = datetime.fromtimestamp(int(row["awarded"]), UTC).strftime("%Y-%m")
            key = (str(row["agency"]), month)
            sums[key] = sums.get(key, 0) + int(row["value_units"])
        return [
            (a, m, v) for (a, m), v in sorted(sums.items(), key=lambda kv: (kv[0][1], kv[0][0]))
        ]

    def agencies(self) -> list[str]:
        """Every buying agency with a process, for the filter's choices."""
        return [
            r["agency"] for r in self._all(select(_P.c.agency).distinct().order_by(_P.c.agency))
        ]

    def categories(self) -> list[str]:
        """Every category a process has (non-empty)."""
        rows = self._all(select(_P.c.category).distinct().order_by(_P.c.category))
        return [r["category"] for r in rows if r["category"]]


class Queries(_Figures):
    """The portal's reads of one index database: every statement the pages run."""

    # -------------------------------------------------------------------- processes

    def search(self, f: Filters, *, limit: int | None = None) -> ResultPage:
        """The processes matching ``f``: one page (or the first ``limit`` rows)."""
        conditions = _conditions(f, self.token().decimals)
        where = and_(*conditions) if conditions else None
        count = select(func.count()).select_from(_P)
        rows = select(*_SUMMARY)
        if where is not None:
            count, rows = count.where(where), rows.where(where)
        key = SORTS.get(f.sort, _P.c.published)
        order = key.desc() if f.descending else key.asc()
        tie = _P.c.tender_id.desc() if f.descending else _P.c.tender_id.asc()
        rows = rows.order_by(order, tie)
        if limit is None:
            rows = rows.limit(f.per_page).offset((f.page - 1) * f.per_page)
        else:
            rows = rows.limit(limit)
        with self.engine.connect() as db:
            total = int(db.execute(count).scalar_one())
            found = list(db.execute(rows).mappings())
        return ResultPage(found, total, f)

    def late(self, limit: int = 10) -> list[RowMapping]:
        """Processes with a milestone delivered late, most recently changed first."""
        return self._all(
            select(*_SUMMARY)
            .where(_P.c.late_milestones > 0)
            .order_by(_P.c.updated_block.desc(), _P.c.tender_id.desc())
            .limit(limit)
        )

    def process(self, tender_id: int) -> RowMapping | None:
        """One process row, with its OCDS (None: no such tender, e.g. a number the URL
        gives that no 64-bit column holds)."""
        if not 0 <= tender_id < _BIGINT:
            return None
        return self._one(select(_P).where(_P.c.tender_id == tender_id))

    def process_by_ocid(self, ocid: str) -> RowMapping | None:
        """One process row by its ocid."""
        return self._one(select(_P).where(_P.c.ocid == ocid))

    def releases(self, f: Filters) -> list[dict[str, Any]]:
        """Every release of the processes on the page ``f`` selects, oldest first."""
        ids = [r["tender_id"] for r in self.search(f).rows]
        rows = self._all(select(_P.c.releases).where(_P.c.tender_id.in_(ids)))
        found = [r for row in rows for r in json.loads(row["releases"])]
        return sorted(found, key=lambda r: (r["date"], r["id"]))

    def tender(self, tender_id: int) -> RowMapping | None:
        """The tender's immutable facts (raw notice, terms)."""
        return self._one(select(t.tenders).where(t.tenders.c.id == tender_id))

    def agreement_of(self, tender_id: int) -> str | None:
        """The address of the tender's agreement, if one was created."""
        row = self._one(select(t.agreements.c.address).where(t.agreements.c.tender_id == tender_id))
        return None if row is None else str(row["address"])

    def events_of(self, tender_id: int) -> list[RowMapping]:
        """The tender's timeline, in chain order."""
        e = t.events
        return self._all(
            select(e).where(e.c.tender_id == tender_id).order_by(e.c.block, e.c.log_index)
        )

    def events_in(self, txs: Iterable[str]) -> list[RowMapping]:
        """Every event of these transactions, in chain order."""
        e = t.events
        wanted = list(set(txs))
        if not wanted:
            return []
        return self._all(select(e).where(e.c.tx.in_(wanted)).order_by(e.c.block, e.c.log_index))

    def consortium_events(self) -> list[RowMapping]:
        """Everything the consortium contract logged, in chain order."""
        e = t.events
        return self._all(
            select(e).where(e.c.contract == "Consortium").order_by(e.c.block, e.c.log_index)
        )

    def texts(self, hashes: Iterable[str]) -> dict[str, RowMapping]:
        """The ``TextPublished`` events that put these hashes on the record, by hash."""
        e = t.events
        wanted = sorted({str(h).lower() for h in hashes})
        if not wanted:
            return {}
        # by the indexed ref_hash, in chunks: one LIKE per hash OR-ed together went past
        # SQLite's expression depth (1,000) on a consortium page of ~500 decisions
        rows = []
        for start in range(0, len(wanted), _CHUNK):
            rows += self._all(
                select(e).where(
                    e.c.event == "TextPublished", e.c.ref_hash.in_(wanted[start : start + _CHUNK])
                )
            )
        rows.sort(key=lambda r: (r["block"], r["log_index"]))
        found: dict[str, RowMapping] = {}
        for row in rows:
            digest = str(json.loads(row["args"]).get("hash", "")).lower()
            if digest in wanted:
                found.setdefault(digest, row)
        return found

    def bids_of(self, tender_id: int) -> list[RowMapping]:
        """The tender's bids, in the order they were committed."""
        b = t.bids
        return self._all(
            select(b).where(b.c.tender_id == tender_id).order_by(b.c.committed, b.c.bidder)
        )

    def bids_by(self, bidder: str) -> list[RowMapping]:
        """Every bid of one bidder, with its tender's title and stage."""
        b = t.bids
        return self._all(
            select(b, _P.c.title, _P.c.stage, _P.c.agency)
            .join(_P, _P.c.tender_id == b.c.tender_id)
            .where(b.c.bidder == bidder)
            .order_by(b.c.committed.desc())
        )
