"""The indexer: from the last indexed block to the head, in chunks (one transaction each),
then the derived rows of what changed; a reorg found first is rewound; :meth:`Indexer.follow`
does it again whenever the head moves."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError

from procurechain import display, flags
from procurechain.audit import EntryDecoder
from procurechain.bulk import JsonRpc, ViewContract
from procurechain.errors import ProcurechainError
from procurechain.portal.index import tables as t
from procurechain.portal.index.chain import ChainMovedError, ChainReader
from procurechain.portal.index.database import Index
from procurechain.portal.index.derive import Deriver
from procurechain.portal.index.fetch import Fetcher, ahead, own_session
from procurechain.portal.index.flagged import Flagger
from procurechain.portal.index.ingest import Followed, Ingest, write_chunk
from procurechain.portal.index.reorg import fork_point, rewind
from procurechain.portal.index.tender_facts import TenderReader

__all__ = ["Indexer", "SyncResult"]

log = logging.getLogger(__name__)
_APPROVALS = ("ActionApproved", "ApprovalRevoked")


@dataclass(frozen=True)
class SyncResult:
    """What one :meth:`Indexer.sync` did.

    Attributes:
        from_block: first block read (``to_block + 1`` when there was nothing new).
        to_block: last block indexed now.
        blocks: blocks read.
        events: events indexed.
        tenders: new tenders.
        derived: processes derived.
        rewound_to: the fork point of a reorg found and rewound, else None.
        seconds: the whole sync, wall time.
        ingest_seconds: reading and writing the chain rows.
        derive_seconds: the derived rows.
        stopped: why the sync stopped before the head (the chain moved under it), or "".
    """

    from_block: int
    to_block: int
    blocks: int
    events: int
    tenders: int
    derived: int
    rewound_to: int | None
    seconds: float
    ingest_seconds: float
    derive_seconds: float
    stopped: str = ""

    @property
    def events_per_second(self) -> float:
        """Events indexed per second of ingest."""
        return self.events / self.ingest_seconds if self.ingest_seconds else 0.0


class Indexer:
    """Keeps an index current with one deployment's chain.

    Runs where Ape's project is loaded (the contracts' ABIs decode the logs).

    Args:
        index: the index (:meth:`Index.open`).
        rpc: the node's JSON-RPC (``procurechain.bulk.connected_rpc()`` for Ape's node).
        registry: the Registry's address.
        consortium: the Consortium's address.
        first_block: the deployment's first block (nothing before it is read).
        chunk: blocks per chunk (one ``eth_getLogs`` round and one transaction each).
        names: readable names of addresses for the sentences and the OCDS parties.
        pegged_to: the ISO 4217 currency the token is pegged to, or None (``XXX``).
        token_description: what the token is, in words.
        workers: worker processes for a large derivation (a first index of a city); 0: all
            in this thread.
        flag_settings: which red flags run with which thresholds (default: Cardinal's and the
            chain's defaults).

    Raises:
        ProcurechainError: the index holds another deployment.
    """

    def __init__(
        self,
        index: Index,
        rpc: JsonRpc,
        registry: str,
        consortium: str,
        *,
        first_block: int = 0,
        chunk: int = 100,
        names: Mapping[str, str] | None = None,
        pegged_to: str | None = None,
        token_description: str = "",
        workers: int = 0,
        flag_settings: flags.Settings | None = None,
    ) -> None:
        self.index, self.rpc = index, rpc
        self.registry = to_checksum_address(registry)
        self.consortium = to_checksum_address(consortium)
        self.first_block, self.chunk = int(first_block), int(chunk)
        self.names = dict(names or {})
        self.reader = ChainReader(rpc)
        self._fetch_reader = ChainReader(own_session(rpc))  # the fetching thread's session
        self._following: Followed | None = None
        self._meta = _deployment(self, pegged_to, token_description)
        registry_views = ViewContract(rpc, "Registry", self.registry)
        self.flagger = Flagger(
            names=self.names,
            settings=flag_settings,
            phase_cap=lambda: int(registry_views.phaseCap()),
        )
        self.deriver = Deriver(index, names=self.names, workers=workers, flagger=self.flagger)
        unit = display.Token(self._meta["symbol"], int(self._meta["decimals"]), self._meta["token"])
        self.decoder = EntryDecoder(self.names, unit)

    @classmethod
    def connected(cls, index: Index, **options: Any) -> Indexer:
        """An indexer of the deployment recorded for Ape's network (its manifest), reading
        Ape's node on a JSON-RPC session of its own.

        Args:
            index: the index.
            options: as for :class:`Indexer` (names, pegged_to, workers...).

        Raises:
            ProcurechainError: no deployment is recorded, or the node is not reached over HTTP.
        """
        from procurechain.bulk import connected_rpc
        from procurechain.deployments import manifest_path, read_manifest

        manifest = read_manifest()
        if manifest is None:
            raise ProcurechainError(
                f"no deployment is recorded in {manifest_path()}; run `ape run deploy` first"
            )
        rpc = connected_rpc()
        if rpc is None:
            raise ProcurechainError(
                "the index reads the node over HTTP JSON-RPC; use a network with an http:// URI"
            )
        contracts = manifest["contracts"]
        blocks = [int(c["block"]) for c in contracts.values() if "block" in c]
        return cls(
            index,
            JsonRpc(rpc.url, rpc.timeout),
            contracts["Registry"]["address"],
            contracts["Consortium"]["address"],
            first_block=min(blocks, default=0),
            **options,
        )

    def close(self) -> None:
        """Stop the threads that read the node (the index stays open: close it apart)."""
        self.reader.close()
        self._fetch_reader.close()

    def _followed(self) -> Followed:
        """The contracts followed: kept between syncs (each sync grows it), read again after
        a rewind or an error."""
        if self._following is not None:
            return self._following
        followed = Followed()
        with self.index.engine.connect() as connection:
            for row in connection.execute(
                select(t.tenders.c.id, t.tenders.c.address, t.tenders.c.terms)
            ):
                followed.add_tender(row.id, row.address, _bond(row.terms))
            for row in connection.execute(select(t.agreements.c.address, t.agreements.c.tender_id)):
                followed.add_agreement(row.address, row.tender_id)
        self._following = followed
        return followed

    # ------------------------------------------------------------------------ syncing

    def sync(self, to_block: int | None = None) -> SyncResult:
        """Index from the last indexed block + 1 to ``to_block`` (default: the head), after
        rewinding a reorg if the stored tip is no longer on the chain; then derive what
        changed.

        Raises:
            ProcurechainError: the node cannot be reached or answers with an error.
        """
        started = time.perf_counter()
        rewound = self._reorg()
        head = self.reader.head()
        target = head if to_block is None else min(int(to_block), head)
        cursor = self.index.cursor()
        assert cursor is not None
        low = cursor.indexed_block + 1
        previous = None if cursor.indexed_block < self.first_block else (
            cursor.indexed_block, cursor.indexed_hash
        )  # fmt: skip
        followed = self._followed()
        ingest = Ingest(self.decoder, TenderReader(self.rpc, self.registry), followed)
        fetcher = Fetcher(
            self._fetch_reader,
            self.registry,
            self.consortium,
            followed.tenders,
            followed.agreements,
            self.first_block,
        )
        ranges = [(n, min(n + self.chunk - 1, target)) for n in range(low, target + 1, self.chunk)]
        events = tenders = 0
        stopped = ""
        start = low
        try:
            for raw in ahead(fetcher, ranges, previous):
                chunk = ingest.rows(raw)
                with self.index.engine.begin() as connection:
                    write_chunk(connection, chunk)
                events, tenders = events + len(chunk.events), tenders + len(chunk.tenders)
                low = raw.high + 1
        except ChainMovedError as err:
            stopped = str(err)
            self._following = None
        except BaseException:
            self._following = None  # it may hold contracts of a chunk not written
            raise
        ingested = time.perf_counter()
        derived = self._derive()
        done = time.perf_counter()
        return SyncResult(
            from_block=start,
            to_block=low - 1,
            blocks=low - start,
            events=events,
            tenders=tenders,
            derived=derived,
            rewound_to=rewound,
            seconds=done - started,
            ingest_seconds=ingested - started,
            derive_seconds=done - ingested,
            stopped=stopped,
        )

    def _reorg(self) -> int | None:
        """Rewind to the fork point if the stored tip is no longer on the chain."""
        cursor = self.index.cursor()
        if cursor is None or cursor.indexed_block < self.first_block:
            return None
        on_chain = self.reader.blocks([cursor.indexed_block]).get(cursor.indexed_block)
        if on_chain is not None and on_chain.hash == cursor.indexed_hash:
            return None
        with self.index.engine.begin() as connection:
            fork = fork_point(connection, self.reader, cursor.indexed_block, self.first_block)
            touched = rewind(connection, self.reader, fork, self.first_block)
        self._following = None
        self.flagger.reset()
        log.info("reorg: rewound to block %s, %s processes to derive again", fork, len(touched))
        return fork

    def _derive(self) -> int:
        cursor = self.index.cursor()
        if cursor is None or cursor.indexed_block < self.first_block:
            return 0
        with self.index.engine.connect() as connection:
            timestamp = connection.execute(
                select(t.blocks.c.timestamp).where(t.blocks.c.number == cursor.indexed_block)
            ).scalar_one()
        return self.deriver.derive(cursor.indexed_block, timestamp)

    # ------------------------------------------------------------------------ following

    def follow(
        self,
        poll_seconds: float = 0.1,
        stop: threading.Event | None = None,
        on_sync: Callable[[SyncResult], Any] | None = None,
    ) -> None:
        """Sync whenever the head moves (or is replaced) until ``stop`` is set; a node or a
        database that cannot be reached is retried every ``poll_seconds`` (the error is
        logged).

        Args:
            poll_seconds: how often the head is asked for.
            stop: set it (from another thread) to return.
            on_sync: called with each sync's result.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                latest = self.rpc.request("eth_getBlockByNumber", ["latest", False])
                cursor = self.index.cursor()
                if cursor is None or str(latest["hash"]).lower() != cursor.indexed_hash:
                    result = self.sync()
                    if on_sync is not None:
                        on_sync(result)
                    if result.stopped:
                        continue  # the chain moved under the sync: again at once
            except (ProcurechainError, SQLAlchemyError) as err:  # node or database away
                log.warning("index: %s", err)
            stop.wait(poll_seconds)


def _deployment(indexer: Indexer, pegged_to: str | None, description: str) -> dict[str, str]:
    """The deployment's ``meta`` (and the cursor row), written on an index's first use; an
    index of another deployment is refused.

    Raises:
        ProcurechainError: the index holds another registry or chain.
    """
    index, rpc = indexer.index, indexer.rpc
    registry, consortium = indexer.registry, indexer.consortium
    stored = index.meta()
    chain_id = str(indexer.reader.chain_id())
    if stored:
        if (stored["chain_id"], stored["registry"], stored["consortium"]) != (
            chain_id,
            registry,
            consortium,
        ):
            raise ProcurechainError(
                f"this index holds registry {stored['registry']} on chain "
                f"{stored['chain_id']}; index registry {registry} on chain {chain_id} "
                "into another database"
            )
        return stored
    token = to_checksum_address(str(ViewContract(rpc, "Registry", registry).token()))
    erc20 = ViewContract(rpc, "DemoStablecoin", token)
    meta = {
        "chain_id": chain_id,
        "registry": registry,
        "consortium": consortium,
        "token": token,
        "symbol": str(erc20.symbol()),
        "decimals": str(int(erc20.decimals())),
        "pegged_to": pegged_to or "",
        "token_description": description,
        "first_block": str(indexer.first_block),
        "names": json.dumps(indexer.names, ensure_ascii=False),  # the pages' names of accounts
    }
    first = indexer.first_block
    with index.engine.begin() as connection:
        connection.execute(insert(t.meta), [{"key": k, "value": v} for k, v in meta.items()])
        connection.execute(
            insert(t.cursor).values(
                id=1,
                indexed_block=first - 1,
                indexed_hash="",
                derived_block=first - 1,
                derived_timestamp=0,
            )
        )
    return meta


def _bond(terms_json: str) -> int:
    return int(json.loads(terms_json)["bond"])
