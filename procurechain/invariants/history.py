"""The raw chain record of one deployment: fetched over JSON-RPC, stored as JSON, rewound."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from eth_utils import to_checksum_address

from procurechain.invariants.events import ACTION_EXECUTED, CONTRACT_TOPICS, TRANSFER
from procurechain.invariants.followed import Followed
from procurechain.invariants.rpc import Call, batch
from procurechain.invariants.selectors import BALANCE_OF, DECIMALS, SYMBOL


class ChainHistory:
    """The raw chain record of one deployment, fetched over JSON-RPC and extended step by step.

    Args:
        rpc_url: the node's HTTP JSON-RPC endpoint.
        registry: the Registry's address (its tenders are followed).
        consortium: the Consortium's address.
        token: the ERC-20 of bonds and prices (its ``Transfer`` logs and balances are read).
        from_block: the first block to read; at or before the consortium's deployment, so
            that its constructor's members, threshold and policies are seen.
        session: an optional ``requests.Session`` to reuse.
    """

    def __init__(
        self,
        rpc_url: str | None,
        *,
        registry: str,
        consortium: str,
        token: str,
        from_block: int,
        session: requests.Session | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        self.session = session or requests.Session()
        self.session.trust_env = False
        self.data: dict[str, Any] = {
            "format": "procurechain-chain-history/1",
            "chainId": None,
            "registry": registry.lower(),
            "consortium": consortium.lower(),
            "token": token.lower(),
            "fromBlock": int(from_block),
            "toBlock": int(from_block) - 1,
            "blocks": {},
            "logs": [],
            "transactions": {},
            "balances": {},
        }
        self._rediscover()

    @classmethod
    def from_manifest(cls, rpc_url: str, manifest: Mapping[str, Any]) -> ChainHistory:
        """The history of a deployment recorded by ``procurechain.deploy`` (its manifest),
        starting at the first block the manifest records (not yet fetched: call
        :meth:`extend`)."""
        contracts = manifest["contracts"]
        blocks = [int(c["block"]) for c in contracts.values() if "block" in c]
        return cls(
            rpc_url,
            registry=contracts["Registry"]["address"],
            consortium=contracts["Consortium"]["address"],
            token=contracts["Token"]["address"],
            from_block=min(blocks) if blocks else 0,
        )

    # ---------------------------------------------------------------- persistence

    def to_json(self) -> dict[str, Any]:
        """The history as a JSON-serialisable dict (what :func:`check` reads)."""
        return self.data

    @classmethod
    def from_json(cls, document: Mapping[str, Any], rpc_url: str | None = None) -> ChainHistory:
        """A history from its JSON form; give ``rpc_url`` to extend it further."""
        history = cls(
            rpc_url,
            registry=document["registry"],
            consortium=document["consortium"],
            token=document["token"],
            from_block=document["fromBlock"],
        )
        history.data = json.loads(json.dumps(document))
        history._rediscover()
        return history

    def save(self, path: str | Path) -> Path:
        """Write the history as indented JSON to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.data, indent=1, sort_keys=True) + "\n")
        return target

    @classmethod
    def load(cls, path: str | Path, rpc_url: str | None = None) -> ChainHistory:
        """Read a history written by :meth:`save`."""
        return cls.from_json(json.loads(Path(path).read_text()), rpc_url)

    @property
    def to_block(self) -> int:
        """The last block the history covers."""
        return int(self.data["toBlock"])

    # ---------------------------------------------------------------- fetching

    def extend(self, to_block: int | None = None) -> int:
        """Fetch the blocks after :attr:`to_block` up to ``to_block`` (default: the head).

        Three batched requests: the head (and the stored head's hash, to notice a chain
        that was reverted, which is then rewound), the logs, then block times, action
        calldata and balances; the first time also the token's symbol and decimals
        (``tokenSymbol``, ``tokenDecimals``: None when the token does not say). Returns the
        number of logs added.
        """
        head_calls: list[Call] = [("eth_blockNumber", []), ("eth_chainId", [])]
        known = self.data["blocks"].get(str(self.to_block))
        if known is not None:
            head_calls.append(("eth_getBlockByNumber", [hex(self.to_block), False]))
        replies = self._batch(head_calls)
        head, self.data["chainId"] = int(replies[0], 16), int(replies[1], 16)
        if "tokenDecimals" not in self.data:  # once: what the sentences call amounts
            self._read_token()
        rewound = known is not None and (replies[2] is None or replies[2]["hash"] != known["hash"])
        if rewound:
            self._rewind(head)
        target = head if to_block is None else min(int(to_block), head)
        if target <= self.to_block:
            if rewound:  # the balances read on the abandoned chain are gone: read them again
                self._fetch_details([], self.to_block)
            return 0
        span = {"fromBlock": hex(self.to_block + 1), "toBlock": hex(target)}
        token = to_checksum_address(self.data["token"])
        contract_logs, transfer_logs, header = self._batch(
            [
                ("eth_getLogs", [{**span, "topics": [CONTRACT_TOPICS]}]),
                ("eth_getLogs", [{**span, "address": token, "topics": [TRANSFER.topic]}]),
                ("eth_getBlockByNumber", [hex(target), False]),
            ]
        )
        added = self._followed.keep(contract_logs, transfer_logs)
        self.data["logs"].extend(added)
        self._fetch_details(added, target)
        self._store_block(header)
        self.data["toBlock"] = target
        return len(added)

    def _read_token(self) -> None:
        """The token's ``symbol()`` and ``decimals()`` (raw calls; a token without them, or
        with a ``bytes32`` symbol, is still checked: only the sentences lose its units)."""
        token = to_checksum_address(self.data["token"])
        for key, data, read in (
            ("tokenSymbol", SYMBOL, _abi_symbol),
            ("tokenDecimals", DECIMALS, _abi_decimals),
        ):
            try:
                (reply,) = self._batch([("eth_call", [{"to": token, "data": data}, "latest"])])
                self.data[key] = read(bytes.fromhex(reply[2:]))
            except Exception:  # a revert, no code, garbage: the sentences show base units
                self.data[key] = None

    def _batch(self, calls: list[Call]) -> list[Any]:
        return batch(self.session, self.rpc_url, calls)

    def _fetch_details(self, added: list[dict], target: int) -> None:
        """Block times, executed actions' transactions and the holders' balances at
        ``target``."""
        blocks = sorted({g["blockNumber"] for g in added} - {int(b) for b in self.data["blocks"]})
        txs = sorted(
            {
                g["transactionHash"]
                for g in added
                if g["topics"][0] == ACTION_EXECUTED and g["address"] == self.data["consortium"]
            }
        )
        holders = sorted(self._followed.holders)
        token = to_checksum_address(self.data["token"])
        calls: list[Call] = [("eth_getBlockByNumber", [hex(b), False]) for b in blocks]
        calls += [("eth_getTransactionByHash", [h]) for h in txs]
        calls += [
            ("eth_call", [{"to": token, "data": BALANCE_OF + "00" * 12 + a[2:]}, hex(target)])
            for a in holders
        ]
        results = self._batch(calls)
        for header in results[: len(blocks)]:
            self._store_block(header)
        for tx in results[len(blocks) : len(blocks) + len(txs)]:
            self.data["transactions"][tx["hash"]] = {
                "from": tx["from"].lower(),
                "to": (tx.get("to") or "").lower(),
                "input": tx["input"],
            }
        for holder, reply in zip(holders, results[len(blocks) + len(txs) :], strict=True):
            self.data["balances"][holder] = {"block": target, "balance": int(reply, 16)}

    def _store_block(self, header: Mapping[str, Any]) -> None:
        self.data["blocks"][str(int(header["number"], 16))] = {
            "hash": header["hash"],
            "timestamp": int(header["timestamp"], 16),
        }

    def _rediscover(self) -> None:
        self._followed = Followed(self.data["registry"], self.data["consortium"], self.data["logs"])

    # ---------------------------------------------------------------- rewinding

    def _rewind(self, head: int) -> None:
        """The chain no longer holds our last block: keep what it still shares."""
        numbers = sorted((int(b) for b in self.data["blocks"] if int(b) <= head), reverse=True)
        headers = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        fork = self.data["fromBlock"] - 1
        for number, header in zip(numbers, headers, strict=True):
            if header is not None and header["hash"] == self.data["blocks"][str(number)]["hash"]:
                fork = number
                break
        data = self.data
        data["logs"] = [g for g in data["logs"] if g["blockNumber"] <= fork]
        data["blocks"] = {b: h for b, h in data["blocks"].items() if int(b) <= fork}
        used = {g["transactionHash"] for g in data["logs"]}
        data["transactions"] = {h: t for h, t in data["transactions"].items() if h in used}
        data["balances"] = {}
        data["toBlock"] = fork
        self._rediscover()


def _abi_symbol(raw: bytes) -> str | None:
    """An ERC-20 ``symbol()`` reply: an ABI string, or the ``bytes32`` some old tokens
    return."""
    from eth_abi import decode

    if len(raw) == 32:
        return raw.rstrip(b"\0").decode("utf-8", "replace") or None
    (text,) = decode(["bytes"], raw)
    return bytes(text).decode("utf-8", "replace") or None


def _abi_decimals(raw: bytes) -> int | None:
    """An ERC-20 ``decimals()`` reply (a uint8; anything larger is not believed)."""
    value = int.from_bytes(raw[:32], "big") if len(raw) >= 32 else -1
    return value if 0 <= value <= 255 else None
