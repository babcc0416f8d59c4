"""What the indexer reads from the node, in JSON-RPC batches: the head, logs by address, block
headers (hash, time), transactions' senders (from their receipts: on a devnet about half the
cost of full blocks, and on a public chain only the transactions of the deployment), the input
of the few transactions whose notice is needed, and call traces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from procurechain.audit import RawLog
from procurechain.bulk import JsonRpc, RpcError
from procurechain.errors import ProcurechainError

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
        addresses_per_query: addresses per ``eth_getLogs`` filter (long lists are split).
    """

    def __init__(
        self,
        rpc: JsonRpc,
        *,
        batch: int = 100,
        receipts_batch: int = 250,
        addresses_per_query: int = 2_000,
    ) -> None:
        self.rpc = rpc
        self.batch = batch
        self.receipts_batch = receipts_batch
        self.addresses_per_query = addresses_per_query

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
        for answer in self._answers(calls):
            for item in answer or ():
                raw = RawLog.of(item)
                block_hash = str(item.get("blockHash", "")).lower()
                if item.get("removed") or hashes.setdefault(raw.block, block_hash) != block_hash:
                    raise ChainMovedError(f"block {raw.block} changed while its logs were read")
                found.append(raw)
        found.sort(key=lambda x: (x.block, x.log_index))
        return found

    def blocks(self, numbers: Iterable[int]) -> dict[int, Block]:
        """The headers of blocks ``numbers`` (missing ones are left out: beyond the head
        after a reorg)."""
        wanted = sorted(set(numbers))
        answers = self._answers([("eth_getBlockByNumber", [hex(n), False]) for n in wanted])
        return {
            n: Block(n, str(b["hash"]).lower(), int(b["timestamp"], 16))
            for n, b in zip(wanted, answers, strict=True)
            if b
        }

    def senders(self, txs: Iterable[str], hashes: Mapping[int, str]) -> dict[str, Transaction]:
        """Each transaction's sender and target, from its receipt.

        Args:
            txs: transaction hashes.
            hashes: the block hashes their logs named (each receipt must agree).

        Raises:
            ChainMovedError: a receipt is missing or in another block (a reorg while reading).
        """
        wanted = sorted(set(txs))
        answers = self._answers(
            [("eth_getTransactionReceipt", [tx]) for tx in wanted], size=self.receipts_batch
        )
        found: dict[str, Transaction] = {}
        for tx, receipt in zip(wanted, answers, strict=True):
            number = int(receipt["blockNumber"], 16) if receipt else -1
            if not receipt or hashes.get(number) != str(receipt["blockHash"]).lower():
                raise ChainMovedError(f"transaction {tx} changed block while it was read")
            found[tx] = Transaction(str(receipt["from"]), str(receipt.get("to") or ""), b"")
        return found

    def transactions(self, txs: Iterable[str]) -> dict[str, Transaction]:
        """Each transaction's sender, target and input (left out when not found)."""
        wanted = sorted(set(txs))
        answers = self._answers([("eth_getTransactionByHash", [tx]) for tx in wanted])
        return {
            tx: Transaction(str(a["from"]), str(a.get("to") or ""), _hex_bytes(a.get("input")))
            for tx, a in zip(wanted, answers, strict=True)
            if a
        }

    def traces(self, txs: Sequence[str]) -> dict[str, Any]:
        """``debug_traceTransaction`` (callTracer) of each transaction: its result, or the
        node's error as an :class:`~procurechain.bulk.RpcError` when it has no traces."""
        calls = [("debug_traceTransaction", [tx, {"tracer": "callTracer"}]) for tx in txs]
        found: dict[str, Any] = {}
        for start in range(0, len(calls), self.batch):
            chunk = calls[start : start + self.batch]
            for (_, params), answer in zip(chunk, self.rpc.batch(chunk), strict=True):
                if "error" in answer:
                    found[params[0]] = RpcError("debug_traceTransaction", answer["error"])
                else:
                    found[params[0]] = answer.get("result")
        return found

    def _answers(
        self, calls: Sequence[tuple[str, Sequence[Any]]], size: int | None = None
    ) -> list[Any]:
        """The results of ``calls`` in batches; a node error is raised, naming the method."""
        results: list[Any] = []
        size = size or self.batch
        for start in range(0, len(calls), size):
            chunk = calls[start : start + size]
            for (method, _), answer in zip(chunk, self.rpc.batch(chunk), strict=True):
                if "error" in answer:
                    raise RpcError(method, answer["error"])
                results.append(answer.get("result"))
        return results
