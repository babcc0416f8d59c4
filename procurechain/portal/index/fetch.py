"""Reading chunks of blocks from the node, ahead of the decoding: everything a chunk's rows
need from the node, read in JSON-RPC batches by a thread of its own (its own HTTP session),
so the node serves the next chunk while this process decodes and writes the current one.

Which contracts to read follows from the logs alone: the Registry's ``TenderCreated`` names a
tender (its logs are read from the same chunk on), a followed tender's ``AwardAccepted`` its
agreement. The new tenders' immutable views (terms, bond, token, ocid) are read here too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from eth_utils import keccak, to_checksum_address

from procurechain.audit import RawLog
from procurechain.bulk import JsonRpc
from procurechain.portal.index.chain import Block, ChainMovedError, ChainReader, Transaction
from procurechain.record import facts as record_facts

__all__ = ["TIPS", "Fetcher", "RawChunk", "ahead", "checksum", "own_session"]

#: How many of the latest blocks keep their hash in ``blocks`` (to find a reorg's fork point
#: without asking the node about every block).
TIPS = 64
_CREATED = keccak(text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])")
_ACCEPTED = keccak(text="AwardAccepted(address,address,uint256)")


@cache
def checksum(value: bytes | str) -> str:
    """A checksummed address (remembered: a history names the same addresses again and
    again)."""
    return to_checksum_address(value)


@dataclass
class RawChunk:
    """What the node said about blocks ``low``..``high``.

    Attributes:
        low: first block.
        high: last block.
        logs: the logs of the followed contracts, in block/log order.
        kinds: the contract type of each address that emitted one (``Tender``...).
        blocks: the headers of the blocks with logs and of the tips.
        transactions: the logs' transactions (sender and target; input for a tender's
            creation).
        views: new tenders' view calls already answered (for ``JsonRpc.memo``).
        new_tenders: tender address -> id, created in this chunk.
    """

    low: int
    high: int
    logs: list[RawLog] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    blocks: dict[int, Block] = field(default_factory=dict)
    transactions: dict[str, Transaction] = field(default_factory=dict)
    views: dict[tuple[str, bytes], str] = field(default_factory=dict)
    new_tenders: dict[str, int] = field(default_factory=dict)


class Fetcher:
    """Reads chunks in order, following new tenders and agreements as they appear.

    Args:
        reader: the node (its own session if used from a thread).
        registry: the Registry's address.
        consortium: the Consortium's address.
        tenders: the tenders followed so far.
        agreements: the agreements followed so far.
        first_block: no block before it is read.
    """

    def __init__(
        self,
        reader: ChainReader,
        registry: str,
        consortium: str,
        tenders: Iterable[str],
        agreements: Iterable[str],
        first_block: int,
    ) -> None:
        self.reader, self.registry, self.consortium = reader, registry, consortium
        self.tenders, self.agreements = set(tenders), set(agreements)
        self.first_block = first_block

    def fetch(self, low: int, high: int, previous: tuple[int, str] | None) -> RawChunk:
        """Blocks ``low``..``high``; ``previous``: the last indexed block and its stored hash.

        Raises:
            ChainMovedError: the stored tip left the chain, or the chain changed under the
                read (the next sync rewinds).
        """
        check = [high] + ([previous[0]] if previous is not None else [])
        before = self.reader.blocks(check)
        if previous is not None and getattr(before.get(previous[0]), "hash", None) != previous[1]:
            raise ChainMovedError(f"block {previous[0]} is no longer on the chain")
        if high not in before:
            raise ChainMovedError(f"block {high} is not on the chain any more")
        hashes: dict[int, str] = {}
        raw = RawChunk(low, high)
        base = self.reader.logs(
            [self.registry, self.consortium, *self.tenders, *self.agreements], low, high, hashes
        )
        for x in base:
            if x.address == self.registry and x.topics[:1] == (_CREATED,):
                raw.new_tenders[checksum(x.topics[2][-20:])] = int.from_bytes(x.topics[1], "big")
        tender_logs = self.reader.logs(raw.new_tenders, low, high, hashes)
        self.tenders.update(raw.new_tenders)
        new_agreements = {
            checksum(x.topics[2][-20:])
            for x in base + tender_logs
            if x.topics[:1] == (_ACCEPTED,) and x.address in self.tenders
        } - self.agreements
        agreement_logs = self.reader.logs(new_agreements, low, high, hashes)
        self.agreements.update(new_agreements)
        raw.logs = sorted(base + tender_logs + agreement_logs, key=lambda x: (x.block, x.log_index))
        raw.kinds = {self.registry: "Registry", self.consortium: "Consortium"}
        raw.kinds.update({x.address: "Tender" for x in raw.logs if x.address in self.tenders})
        raw.kinds.update({x.address: "Agreement" for x in raw.logs if x.address in self.agreements})

        tips = range(max(low, high - TIPS + 1, self.first_block), high + 1)
        raw.blocks = self.reader.blocks(set(hashes) | set(tips))
        if any(raw.blocks.get(n) is None or raw.blocks[n].hash != h for n, h in hashes.items()):
            raise ChainMovedError(f"blocks {low}-{high} changed while they were read")
        if high not in raw.blocks or raw.blocks[high].hash != before[high].hash:
            raise ChainMovedError(f"block {high} changed while it was read")
        raw.transactions = self.reader.senders([x.tx for x in raw.logs], hashes)
        created = {x.tx for x in base if x.address == self.registry and x.topics[:1] == (_CREATED,)}
        raw.transactions.update(self.reader.transactions(created))
        raw.views = self._views(raw.new_tenders)
        return raw

    def _views(self, tenders: dict[str, int]) -> dict[tuple[str, bytes], str]:
        """The new tenders' immutable views, answered in batches."""
        rpc = self.reader.rpc
        calls = [("Registry", self.registry, "ocid", (i,)) for i in tenders.values()]
        calls += [
            ("Tender", address, method, ())
            for address in tenders
            for method in (*record_facts._TERMS, "token")
        ]
        rpc.prefetch(calls)
        try:
            return dict(rpc.memo)
        finally:
            rpc.memo.clear()


def ahead(
    fetcher: Fetcher,
    ranges: Sequence[tuple[int, int]],
    previous: tuple[int, str] | None,
    *,
    depth: int = 2,
) -> Iterator[RawChunk]:
    """The chunks of ``ranges`` in order, each read while the one before is being used (by a
    thread, at most ``depth`` chunks ahead). An error of the reading is raised where its chunk
    would have come; leaving the loop early stops the thread.

    Args:
        fetcher: reads one chunk (its reader must have an HTTP session of its own).
        ranges: (low, high) of each chunk, consecutive.
        previous: the last indexed block and its hash, checked before the first chunk.
        depth: chunks read ahead.
    """
    if len(ranges) <= 1:  # nothing to overlap: no thread
        for low, high in ranges:
            yield fetcher.fetch(low, high, previous)
        return
    found: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        tip = previous
        try:
            for low, high in ranges:
                if stop.is_set():
                    return
                chunk = fetcher.fetch(low, high, tip)
                tip = (high, chunk.blocks[high].hash)
                _put(found, chunk, stop)
        except BaseException as err:  # handed to the consumer, raised there
            _put(found, err, stop)
        _put(found, None, stop)

    thread = threading.Thread(target=run, name="index-fetch", daemon=True)
    thread.start()
    try:
        while (item := found.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _put(found: queue.Queue[Any], item: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            found.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def own_session(rpc: JsonRpc) -> JsonRpc:
    """A :class:`JsonRpc` to the same node with an HTTP session of its own (a session is not
    shared between threads)."""
    return JsonRpc(rpc.url, rpc.timeout)
