"""What the indexer reads from the node, in JSON-RPC batches: the head, logs by address, block
headers (hash, time), transactions' senders (from their receipts: on a devnet about half the
cost of full blocks, and on a public chain only the transactions of the deployment), the input
of the few transactions whose notice is needed.

The answers are decoded by ``msgspec`` into typed records of just the fields used: a receipt's
logs, most of its bytes, are skipped without becoming Python objects (the reading runs in a
thread beside the decoding, and parsing is what they would otherwise share the GIL for).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

import msgspec
import requests
from eth_utils import to_checksum_address

from procurechain.audit import RawLog
from procurechain.bulk import JsonRpc, RpcError
from procurechain.errors import ProcurechainError

_T = TypeVar("_T")


class _Answer(msgspec.Struct, Generic[_T]):
    id: int
    result: _T | None = None
    error: dict[str, Any] | None = None


class _Log(msgspec.Struct):
    address: str
    topics: list[str]
    data: str
    blockNumber: str  # noqa: N815 (the node's names)
    logIndex: str  # noqa: N815
    transactionHash: str  # noqa: N815
    blockHash: str = ""  # noqa: N815
    removed: bool = False


class _Receipt(msgspec.Struct):
    sender: str = msgspec.field(name="from")
    blockNumber: str = "0x0"  # noqa: N815
    blockHash: str = ""  # noqa: N815
    to: str | None = None


class _Header(msgspec.Struct):
    hash: str
    timestamp: str


class _Tx(msgspec.Struct):
    sender: str = msgspec.field(name="from")
    to: str | None = None
    input: str = "0x"


@cache
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def _raw_log(x: _Log) -> RawLog:
    """A log as :meth:`RawLog.of` normalises it."""
    return RawLog(
        address=_checksum(x.address),
        topics=tuple(bytes.fromhex(t[2:]) for t in x.topics),
        data=bytes.fromhex(x.data[2:]),
        block=int(x.blockNumber, 16),
        log_index=int(x.logIndex, 16),
        tx=x.transactionHash,
    )


__all__ = ["Block", "ChainMovedError", "ChainReader", "Transaction"]


class ChainMovedError(ProcurechainError):
    """The chain changed under a read (a reorg while reading): the next sync starts over."""


@dataclass(frozen=True)
class Transaction:
    """What the index needs of a transaction: who sent it, to which contract, with what input."""

    sender: str
    to: str
    input: bytes


@dataclass(frozen=True)
class Block:
    """A block's number, hash and time."""

    number: int
    hash: str
    timestamp: int


def _hex_bytes(text: str | None) -> bytes:
    value = str(text or "0x")
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


class ChainReader:
    """Reads from one node over JSON-RPC.

    Args:
        rpc: the node's JSON-RPC (``procurechain.bulk.connected_rpc()`` for Ape's node).
        batch: requests per JSON-RPC batch.
        receipts_batch: receipts per JSON-RPC batch.
        connections: batches sent at once, each on an HTTP connection of its own (a node
            serves them in parallel: Anvil about twice as fast with two).
        addresses_per_query: addresses per ``eth_getLogs`` filter (long lists are split).
    """

    def __init__(
        self,
        rpc: JsonRpc,
        *,
        batch: int = 100,
        receipts_batch: int = 250,
        addresses_per_query: int = 2_000,
        connections: int = 2,
    ) -> None:
        self.rpc = rpc
        self.batch = batch
        self.receipts_batch = receipts_batch
        self.addresses_per_query = addresses_per_query
        self.connections = connections
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None

    def head(self) -> int:
        """The latest block number."""
        return int(self.rpc.request("eth_blockNumber"), 16)

    def chain_id(self) -> int:
        """The chain id."""
        return int(self.rpc.request("eth_chainId"), 16)

    def logs(
        self, addresses: Iterable[str], low: int, high: int, hashes: dict[int, str]
    ) -> list[RawLog]:
        """Every log of ``addresses`` in blocks ``low``..``high``, in block/log order.

        Args:
            addresses: the contracts.
            low: first block.
            high: last block.
            hashes: filled with the hash of each block a log came from (to check against the
                blocks read next).

        Raises:
            ChainMovedError: a log of a removed block came back, or two logs of one block name
                different hashes (a reorg while reading).
        """
        wanted = sorted(set(addresses))
        if not wanted or high < low:
            return []
        calls = [
            (
                "eth_getLogs",
                [
                    {
                        "address": wanted[i : i + self.addresses_per_query],
                        "fromBlock": hex(low),
                        "toBlock": hex(high),
                    }
                ],
            )
            for i in range(0, len(wanted), self.addresses_per_query)
        ]
        found: list[RawLog] = []
        for answer in self._answers(calls, list[_Log], size=1):  # in parallel
            for item in answer or ():
                raw = _raw_log(item)
                block_hash = item.blockHash.lower()
                if item.removed or hashes.setdefault(raw.block, block_hash) != block_hash:
                    raise ChainMovedError(f"block {raw.block} changed while its logs were read")
                found.append(raw)
        found.sort(key=lambda x: (x.block, x.log_index))
        return found

    def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        """The headers of blocks ``numbers`` (missing ones are left out: beyond the head
        after a reorg)."""
        wanted = sorted(set(numbers))
        calls = [("eth_getBlockByNumber", [hex(n), False]) for n in wanted]
        answers = self._answers(calls, _Header)
        return {
            n: Block(n, b.hash.lower(), int(b.timestamp, 16))
            for n, b in zip(wanted, answers, strict=True)
            if b is not None
        }

    def senders(self, txs: Iterable[str], hashes: Mapping[int, str]) -> dict[str, Transaction]:
        """Each transaction's sender and target, from its receipt.

        Args:
            txs: transaction hashes (in block order: it is the order they are asked for).
            hashes: the block hashes their logs named (each receipt must agree).

        Raises:
            ChainMovedError: a receipt is missing or in another block (a reorg while reading).
        """
        wanted = list(dict.fromkeys(txs))  # in block order: a node finds them faster
        calls = [("eth_getTransactionReceipt", [tx]) for tx in wanted]
        answers = self._answers(calls, _Receipt, size=self.receipts_batch)
        found: dict[str, Transaction] = {}
        for tx, receipt in zip(wanted, answers, strict=True):
            number = int(receipt.blockNumber, 16) if receipt is not None else -1
            if receipt is None or hashes.get(number) != receipt.blockHash.lower():
                raise ChainMovedError(f"transaction {tx} changed block while it was read")
            found[tx] = Transaction(receipt.sender, receipt.to or "", b"")
        return found

    def transactions(self, txs: Iterable[str]) -> dict[str, Transaction]:
        """Each transaction's sender, target and input (left out when not found)."""
        wanted = sorted(set(txs))
        answers = self._answers([("eth_getTransactionByHash", [tx]) for tx in wanted], _Tx)
        return {
            tx: Transaction(a.sender, a.to or "", _hex_bytes(a.input))
            for tx, a in zip(wanted, answers, strict=True)
            if a is not None
        }

    def _answers(
        self, calls: Sequence[tuple[str, Sequence[Any]]], kind: Any, size: int | None = None
    ) -> list[Any]:
        """The results of ``calls`` (decoded as ``kind``) in batches; a node error is raised,
        naming the method."""
        size = size or self.batch
        chunks = [calls[start : start + size] for start in range(0, len(calls), size)]
        if len(chunks) > 1 and self.connections > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.connections, "index-rpc")
            answered = list(self._pool.map(lambda c: self._batch(c, kind), chunks))
        else:
            answered = [self._batch(c, kind) for c in chunks]
        results: list[Any] = []
        for chunk, answers in zip(chunks, answered, strict=True):
            for (method, _), answer in zip(chunk, answers, strict=True):
                if answer.error is not None:
                    raise RpcError(method, answer.error)
                results.append(answer.result)
        return results

    def _session(self) -> JsonRpc:
        """This thread's connection to the node (a session is not shared between threads)."""
        rpc = getattr(self._local, "rpc", None)
        if rpc is None:
            rpc = self._local.rpc = JsonRpc(self.rpc.url, self.rpc.timeout)
        return rpc

    def close(self) -> None:
        """Stop the threads that send batches at once."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _batch(self, calls: Sequence[tuple[str, Sequence[Any]]], kind: Any) -> list[_Answer]:
        body = msgspec.json.encode(
            [
                {"jsonrpc": "2.0", "id": n, "method": method, "params": list(params)}
                for n, (method, params) in enumerate(calls)
            ]
        )
        rpc = self._session()
        try:
            response = rpc.session.post(
                rpc.url, data=body, headers={"Content-Type": "application/json"},
                timeout=rpc.timeout,
            )  # fmt: skip
            response.raise_for_status()
        except requests.RequestException as err:
            raise ProcurechainError(
                f"the node at {rpc.url} did not answer ({type(err).__name__}: {err}); is it "
                "running?"
            ) from err
        try:
            answers = msgspec.json.decode(response.content, type=list[_Answer[kind]])
        except msgspec.DecodeError as err:
            message = f"the node's answer is not understood: {err}"
            raise RpcError("batch", {"message": message}) from err
        by_id = {a.id: a for a in answers}
        missing = _Answer(id=-1, error={"message": "no answer"})
        return [by_id.get(n, missing) for n in range(len(calls))]
