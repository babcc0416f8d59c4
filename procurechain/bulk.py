"""Many transactions from keys held in this process: signed here, nonces tracked here, sent as
batched JSON-RPC over one keep-alive HTTP session, and every receipt checked.

Ape's default path spends most of a transaction's time on round trips: it asks the node for
the nonce, the chain id, the fees and a gas estimate, sends, then polls for the receipt. The
:class:`BulkSender` does each of those once per batch instead of once per transaction:

- EIP-1559 transactions are RLP-encoded and signed in-process with the key (eth-keys, the
  signer behind eth-account; byte-identical to ``LocalAccount.sign_transaction``, which
  ``tests/test_bulk.py`` checks);
- nonces are read once per sender and counted here;
- gas limits are estimated once per *gas key* (by default ``Contract.function``) and reused
  with a margin; every receipt's gas is watched and the limit raised when a transaction came
  close, and a transaction that still ran out of gas is reported as such, never as a mystery;
- ``eth_sendRawTransaction`` and ``eth_getTransactionReceipt`` go out in JSON-RPC batches.

Within one :meth:`BulkSender.send` call, transactions of *different* senders must be
independent of each other (they may be mined in any order); the transactions of one sender
run in the order given (nonce order), so "approve, then commit" from one bidder is fine.
A transaction the node refuses never leaves a later nonce of its sender waiting in the pool:
on automine a batch holds one transaction per sender; with manual mining (Anvil) the
sender's later ones are taken out of the pool and reported as not sent.

A failure stops the run at the batch where it happened: :class:`BulkSendError` names the
transaction, the contract's error as a sentence, which transactions were mined (with their
receipts) and which were never sent, so the caller can resume with exactly those.

The keys must be in memory: Ape test accounts (``TEST::N``), devnet keys, or eth-account
``LocalAccount`` objects. Ape keyfile accounts and hardware wallets sign one transaction at a
time through Ape; use the default path for them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import requests
import rlp
from eth_abi import decode, encode
from eth_keys import keys
from eth_utils import is_address, keccak, to_canonical_address, to_checksum_address

from procurechain.errors import ProcurechainError, decode_revert, describe_error

__all__ = [
    "BulkSendError",
    "BulkSender",
    "ContractAbi",
    "JsonRpc",
    "Receipt",
    "RpcError",
    "Tx",
    "ViewContract",
    "connected_rpc",
    "contract_abi",
    "private_key_of",
]

#: Multiplier on a gas estimate (or on the most gas a transaction of the key used) that
#: becomes the limit reused for every transaction of the same gas key...
DEFAULT_GAS_MARGIN = 1.5
#: ...plus this much: one call of a function can write storage slots from zero (22,100 gas
#: each) where the estimated call found them set (about 5,000), e.g. a first token balance.
DEFAULT_GAS_HEADROOM = 40_000


class RpcError(ProcurechainError):
    """The node answered a JSON-RPC request with an error.

    Attributes:
        code: the JSON-RPC error code.
        message: the node's message.
        data: revert data, when the node returned some.
    """

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", "")).strip()
        self.data = _revert_bytes(error.get("data"))
        super().__init__(f"{method} failed: {self.reason}")

    @property
    def reason(self) -> str:
        """The contract's error as a sentence if the node returned revert data, else the
        node's message."""
        if self.data and (decoded := decode_revert(self.data)):
            return describe_error(*decoded)
        return self.message or f"error {self.code}"


def _revert_bytes(data: Any) -> bytes | None:
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        try:
            return bytes.fromhex(data[2:])
        except ValueError:
            return None
    return None


class JsonRpc:
    """JSON-RPC over one keep-alive HTTP session, single requests and batches."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url
        self.timeout = timeout
        self.session = requests.Session()
        self._next_id = 0
        #: ``(address, calldata) -> result`` of view calls run ahead (see :meth:`prefetch`).
        self.memo: dict[tuple[str, bytes], str] = {}

    def _post(self, body: Any) -> Any:
        try:
            response = self.session.post(self.url, json=body, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as err:
            raise ProcurechainError(
                f"the node at {self.url} did not answer ({type(err).__name__}: {err}); is it "
                "running?"
            ) from err

    def prefetch(self, calls: Iterable[tuple[str, str, str, tuple]], size: int = 200) -> None:
        """Run view calls ``(contract type, address, method, args)`` in batches and keep their
        results in :attr:`memo`, where :class:`ViewContract` finds them (clear it when the
        chain may have moved). Calls that fail are left out: made again, they raise."""
        wanted: dict[tuple[str, bytes], None] = {}
        for kind, address, method, args in calls:
            wanted[(_address(address), contract_abi(kind).calldata(method, *args))] = None
        keys_ = [k for k in wanted if k not in self.memo]
        for start in range(0, len(keys_), size):
            chunk = keys_[start : start + size]
            answers = self.batch(
                [
                    ("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"])
                    for to, data in chunk
                ]
            )
            for key, answer in zip(chunk, answers, strict=True):
                if "result" in answer:
                    self.memo[key] = answer["result"]

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One request; returns its result.

        Raises:
            RpcError: the node answered with an error.
        """
        self._next_id += 1
        answer = self._post(
            {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)}
        )
        if "error" in answer:
            raise RpcError(method, answer["error"])
        return answer.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[dict[str, Any]]:
        """Several requests in one HTTP request; the answers (``{"result": ...}`` or
        ``{"error": ...}``) in the order of ``calls``."""
        if not calls:
            return []
        first = self._next_id + 1
        self._next_id += len(calls)
        body = [
            {"jsonrpc": "2.0", "id": first + n, "method": method, "params": list(params)}
            for n, (method, params) in enumerate(calls)
        ]
        answers = self._post(body)
        if not isinstance(answers, list):  # a node that refuses batches answers with one error
            error = answers.get("error", {}) if isinstance(answers, dict) else {}
            raise RpcError("batch", error or {"message": "the node does not accept batches"})
        by_id = {a.get("id"): a for a in answers}
        return [
            by_id.get(first + n, {"error": {"message": "no answer"}}) for n in range(len(calls))
        ]


# ---------------------------------------------------------------------------- ABIs


def _abi_type(param: Any) -> str:
    kind = str(param.type)
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param.components)
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@dataclass(frozen=True)
class _Method:
    name: str
    selector: bytes
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    output_params: tuple[Any, ...] = ()


class ContractAbi:
    """Calldata for one of the project's contract types, with selectors computed once.

    Args:
        name: the project contract type (``Tender``, ``Agreement``, ``DemoStablecoin``...).
    """

    def __init__(self, name: str) -> None:
        from ape import project

        contract_type = getattr(project, name).contract_type
        self.name = name
        self._methods: dict[str, list[_Method]] = {}
        for abi in [*contract_type.mutable_methods, *contract_type.view_methods]:
            method = _Method(
                abi.name,
                keccak(text=abi.selector)[:4],
                tuple(_abi_type(i) for i in abi.inputs),
                tuple(_abi_type(o) for o in abi.outputs),
                tuple(abi.outputs),
            )
            self._methods.setdefault(abi.name, []).append(method)

    def method(self, name: str, arity: int | None = None) -> _Method:
        """The method ``name`` (the overload with ``arity`` arguments, if there are several).

        Raises:
            ProcurechainError: no such method.
        """
        candidates = self._methods.get(name, [])
        if arity is not None and len(candidates) > 1:
            candidates = [m for m in candidates if len(m.inputs) == arity]
        if not candidates:
            raise ProcurechainError(f"{self.name} has no method {name}")
        return candidates[0]

    def calldata(self, name: str, *args: Any) -> bytes:
        """Selector and ABI-encoded arguments of a call to ``name``."""
        method = self.method(name, len(args))
        return method.selector + encode(list(method.inputs), list(args))

    def tx(
        self,
        sender: Any,
        to: Any,
        name: str,
        *args: Any,
        value: int = 0,
        label: str = "",
        gas_key: str | None = None,
    ) -> Tx:
        """A :class:`Tx` calling ``name(*args)`` on ``to``; by default it shares its gas limit
        with every call of the same function (gas key ``Contract.function``)."""
        return Tx(
            sender=_address(sender),
            to=_address(to),
            data=self.calldata(name, *args),
            value=value,
            gas_key=gas_key or f"{self.name}.{name}",
            label=label or f"{self.name}.{name}",
        )

    def decode_output(self, name: str, data: bytes, arity: int | None = None) -> tuple:
        """The return values of ``name`` from ``eth_call`` output."""
        return tuple(decode(list(self.method(name, arity).outputs), data))

    def decode_value(self, name: str, data: bytes, arity: int | None = None) -> Any:
        """The return value of ``name`` as Ape gives it: one value alone, several as a tuple,
        a struct as a named tuple (fields by name)."""
        method = self.method(name, arity)
        values = [
            _named(v, p) for v, p in zip(decode(list(method.outputs), data), method.output_params,
                                         strict=True)
        ]  # fmt: skip
        return values[0] if len(values) == 1 else tuple(values)


@cache
def _struct(names: tuple[str, ...]) -> Any:
    from collections import namedtuple

    return namedtuple("Struct", names, rename=True)


def _named(value: Any, param: Any) -> Any:
    kind = str(param.type)
    if not kind.startswith("tuple"):
        return value
    names = tuple(c.name or f"field{n}" for n, c in enumerate(param.components))
    if kind.endswith("]"):
        element = type(param)(**{**param.model_dump(), "type": "tuple"})
        return [_named(v, element) for v in value]
    fields = [_named(v, c) for v, c in zip(value, param.components, strict=True)]
    return _struct(names)(*fields)


class ViewContract:
    """A project contract's view functions over plain ``eth_call`` (one JSON-RPC request each,
    no Ape machinery): ``ViewContract(rpc, "Tender", address).leader()``."""

    def __init__(self, rpc: JsonRpc, name: str, address: str) -> None:
        self._rpc, self._abi, self.address = rpc, contract_abi(name), _address(address)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        abi = self._abi

        def call(*args: Any) -> Any:
            data = abi.calldata(method, *args)
            result = self._rpc.memo.get((self.address, data))
            if result is None:
                result = self._rpc.request(
                    "eth_call", [{"to": self.address, "data": "0x" + data.hex()}, "latest"]
                )
            return abi.decode_value(method, bytes.fromhex(result[2:]), len(args))

        return call


_SESSIONS: dict[int, tuple[Any, JsonRpc | None]] = {}


def connected_rpc() -> JsonRpc | None:
    """A :class:`JsonRpc` (one per connected provider, reused) to the node Ape is connected
    to, or None if it is not reached over HTTP."""
    from ape import chain

    provider = chain.provider
    known = _SESSIONS.get(id(provider))
    if known is not None and known[0] is provider:
        return known[1]
    url = getattr(provider, "http_uri", None) or getattr(provider, "uri", None)
    rpc = JsonRpc(str(url)) if url and str(url).startswith("http") else None
    _SESSIONS[id(provider)] = (provider, rpc)
    return rpc


@cache
def contract_abi(name: str) -> ContractAbi:
    """The :class:`ContractAbi` of a project contract type (built once per process)."""
    return ContractAbi(name)


def _address(value: Any) -> str:
    text = str(getattr(value, "address", value))
    if not is_address(text):
        raise ProcurechainError(f"{text!r} is not an address")
    return to_checksum_address(text)


# ---------------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Tx:
    """One transaction to send.

    Attributes:
        sender: the address that signs (its key must be in the sender).
        to: the address called (``None`` deploys ``data``).
        data: calldata.
        value: wei sent along.
        gas_key: transactions with the same key share one gas limit, estimated once
            (``None``: estimate this transaction on its own).
        label: what the transaction does, for messages (``Tender.commitBid``).
    """

    sender: str
    to: str | None
    data: bytes = b""
    value: int = 0
    gas_key: str | None = None
    label: str = ""

    def describe(self) -> str:
        what = self.label or (f"call {self.data[:4].hex()}" if self.data else "transfer")
        return f"{what} from {self.sender} to {self.to}"

    def call_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"from": self.sender, "data": "0x" + self.data.hex()}
        if self.to is not None:
            params["to"] = self.to
        if self.value:
            params["value"] = hex(self.value)
        return params


@dataclass(frozen=True)
class Receipt:
    """The receipt of one mined transaction (the fields the bulk path checks and returns)."""

    tx: Tx
    hash: str
    block: int
    status: int
    gas_used: int
    gas_limit: int
    logs: tuple[dict[str, Any], ...] = field(repr=False, default=())
    contract_address: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 1

    def topics(self, topic0: bytes, address: str | None = None) -> list[list[bytes]]:
        """The topics of every log with first topic ``topic0`` (from ``address`` if given)."""
        wanted = "0x" + topic0.hex()
        found = []
        for log in self.logs:
            if not log["topics"] or log["topics"][0].lower() != wanted:
                continue
            if address is not None and log["address"].lower() != address.lower():
                continue
            found.append([bytes.fromhex(t[2:]) for t in log["topics"]])
        return found


class BulkSendError(ProcurechainError):
    """A transaction failed; nothing after its batch was sent.

    Attributes:
        txs: every transaction passed to ``send``.
        failed: indices (into ``txs``) of the transactions that failed, first one first.
        reasons: index -> why it failed, one sentence.
        receipts: index -> receipt of every transaction that was mined (succeeded or not).
        unsent_indices: indices of the transactions that were never sent.
    """

    def __init__(
        self,
        txs: Sequence[Tx],
        failed: list[int],
        reasons: dict[int, str],
        receipts: dict[int, Receipt],
        unsent: list[int],
    ) -> None:
        self.txs = list(txs)
        self.failed = failed
        self.reasons = reasons
        self.receipts = receipts
        self.unsent_indices = unsent
        first = failed[0]
        mined_ok = sum(1 for r in receipts.values() if r.ok)
        others = len(failed) - 1
        message = (
            f"transaction {first + 1} of {len(txs)} ({txs[first].describe()}) failed: "
            f"{reasons[first]}. {mined_ok} transactions succeeded"
            + (f", {others} more failed" if others else "")
            + f", {len(unsent)} were not sent (resume with their list: error.unsent)"
        )
        super().__init__(message)

    @property
    def unsent(self) -> list[Tx]:
        """The transactions that were never sent, in order."""
        return [self.txs[i] for i in self.unsent_indices]

    @property
    def succeeded(self) -> list[int]:
        """Indices of the transactions mined with status 1."""
        return sorted(i for i, r in self.receipts.items() if r.ok)


def private_key_of(account: Any) -> bytes:
    """The 32-byte private key of an account held in memory.

    Accepts an eth-account ``LocalAccount``, an Ape test account (``TEST::N``) or the key
    itself (bytes or 0x hex).

    Raises:
        ProcurechainError: the account keeps its key elsewhere (an Ape keyfile account, a
            hardware wallet), which the bulk path cannot use.
    """
    if isinstance(account, bytes | bytearray) and len(account) == 32:
        return bytes(account)
    if isinstance(account, str) and not is_address(account):
        try:
            raw = bytes.fromhex(account.removeprefix("0x"))
        except ValueError:
            raw = b""
        if len(raw) == 32:
            return raw
    for attribute in ("key", "private_key"):  # LocalAccount.key; Ape test accounts
        value = getattr(account, attribute, None)
        if isinstance(value, bytes | bytearray) and len(value) == 32:
            return bytes(value)
        if isinstance(value, str) and value.startswith("0x") and len(value) == 66:
            return bytes.fromhex(value[2:])
    address = getattr(account, "address", account)
    raise ProcurechainError(
        f"{address} ({type(account).__name__}) does not hold its private key in this process, "
        "so the bulk path cannot sign for it; use Ape test accounts, devnet keys or an "
        "eth-account LocalAccount, or send its transactions one by one with the default path"
    )


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value or 0)


class BulkSender:
    """Send many transactions from keys held in this process (see the module docstring).

    Args:
        url: the node's HTTP JSON-RPC address.
        accounts: the signers (see :func:`private_key_of`); more with :meth:`add`.
        gas_margin: limit = estimate x margin + headroom, shared by the gas key; at least 1.1.
        gas_headroom: gas added to every limit (see :data:`DEFAULT_GAS_HEADROOM`).
        batch_size: transactions per JSON-RPC batch.
        receipt_timeout: seconds to wait for a batch to be mined.
        chain_id: the chain id (default: asked from the node once).
        manual_mining: on an Anvil devnet only: automine is switched off during a ``send``
            and the transactions are mined with ``evm_mine`` into as few blocks as the gas
            limit allows, instead of one block per arriving batch. Anvil's cost per block
            grows with the size of its state, so on a long history this keeps a send as
            fast as on a new chain. Automine is switched back on when ``send`` returns.
    """

    def __init__(
        self,
        url: str,
        accounts: Iterable[Any] = (),
        *,
        gas_margin: float = DEFAULT_GAS_MARGIN,
        gas_headroom: int = DEFAULT_GAS_HEADROOM,
        batch_size: int = 200,
        receipt_timeout: float = 120.0,
        chain_id: int | None = None,
        manual_mining: bool = False,
    ) -> None:
        if gas_margin < 1.1:
            raise ProcurechainError(f"a gas margin of {gas_margin} is too thin; use 1.1 or more")
        if batch_size < 1:
            raise ProcurechainError("the batch size must be at least 1")
        self.rpc = JsonRpc(url)
        self.gas_margin = gas_margin
        self.gas_headroom = gas_headroom
        self.batch_size = batch_size
        self.receipt_timeout = receipt_timeout
        self.chain_id = chain_id if chain_id is not None else _int(self.rpc.request("eth_chainId"))
        self._keys: dict[str, keys.PrivateKey] = {}
        self._nonces: dict[str, int] = {}
        self._gas: dict[str, int] = {}
        self.mined = 0  # transactions mined through this sender, succeeded or not
        self.manual_mining = manual_mining
        if manual_mining and not str(self.rpc.request("web3_clientVersion")).startswith("anvil"):
            raise ProcurechainError("manual mining needs an Anvil devnet (evm_setAutomine)")
        self.add(accounts)

    @classmethod
    def connected(cls, accounts: Iterable[Any] = (), **options: Any) -> BulkSender:
        """A sender to the node Ape is connected to."""
        rpc = connected_rpc()
        if rpc is None:
            raise ProcurechainError("the bulk path needs a node reached over HTTP")
        return cls(rpc.url, accounts, **options)

    # ------------------------------------------------------------------ keys and state

    def add(self, accounts: Iterable[Any]) -> list[str]:
        """Hold the keys of ``accounts``; returns their addresses (checksummed)."""
        addresses = []
        for account in accounts:
            key = keys.PrivateKey(private_key_of(account))
            address = key.public_key.to_checksum_address()
            self._keys[address] = key
            addresses.append(address)
        return addresses

    def holds(self, address: Any) -> bool:
        """Whether the key of ``address`` is held."""
        return _address(address) in self._keys

    def sign_digest(self, address: Any, digest: bytes) -> bytes:
        """Sign a 32-byte digest (EIP-712, permit) with a held key: ``r || s || v``, v 27/28.

        Raises:
            ProcurechainError: the key of ``address`` is not held.
        """
        signer = _address(address)
        if signer not in self._keys:
            raise ProcurechainError(f"the key of {signer} is not held by this sender")
        signature = self._keys[signer].sign_msg_hash(digest)
        return (
            signature.r.to_bytes(32, "big")
            + signature.s.to_bytes(32, "big")
            + bytes([signature.v + 27])
        )

    def gas_limit(self, gas_key: str) -> int | None:
        """The limit currently reused for ``gas_key`` (None before its first estimate)."""
        return self._gas.get(gas_key)

    def forget_nonces(self) -> None:
        """Read every sender's nonce from the node again before the next transaction
        (needed only if something else sent from the same keys meanwhile)."""
        self._nonces.clear()

    def _load_nonces(self, senders: Iterable[str]) -> None:
        missing = sorted({s for s in senders if s not in self._nonces})
        for chunk in _chunks(range(len(missing)), self.batch_size):
            names = [missing[i] for i in chunk]
            answers = self.rpc.batch(
                [("eth_getTransactionCount", [name, "pending"]) for name in names]
            )
            for name, answer in zip(names, answers, strict=True):
                if "error" in answer:
                    raise RpcError("eth_getTransactionCount", answer["error"])
                self._nonces[name] = _int(answer["result"])

    def _fees(self) -> tuple[int, int]:
        """(max fee per gas, priority fee): the tip plus twice the latest base fee, and at
        least 1 gwei above it. Full blocks raise the base fee by up to 12.5% each, so a fee
        with no headroom (a devnet at base fee 0) would never be mined after a full block."""
        block, tip = self.rpc.batch(
            [("eth_getBlockByNumber", ["latest", False]), ("eth_maxPriorityFeePerGas", [])]
        )
        if "error" in block:
            raise RpcError("eth_getBlockByNumber", block["error"])
        base = _int(block["result"].get("baseFeePerGas", 0))
        priority = _int(tip["result"]) if "result" in tip else 10**9
        return max(2 * base, base + 10**9) + priority, priority

    # ------------------------------------------------------------------ signing

    def _sign(self, tx: Tx, nonce: int, gas: int, fees: tuple[int, int]) -> tuple[str, str]:
        """EIP-1559 signing: ``0x02 || rlp([chainId, nonce, tip, maxFee, gas, to, value,
        data, accessList, yParity, r, s])``; returns (raw hex, hash hex)."""
        max_fee, tip = fees
        to = to_canonical_address(tx.to) if tx.to is not None else b""
        fields = [self.chain_id, nonce, tip, max_fee, gas, to, tx.value, tx.data, []]
        signature = self._keys[tx.sender].sign_msg_hash(keccak(b"\x02" + rlp.encode(fields)))
        raw = b"\x02" + rlp.encode([*fields, signature.v, signature.r, signature.s])
        return "0x" + raw.hex(), "0x" + keccak(raw).hex()

    # ------------------------------------------------------------------ gas

    def _ensure_gas(self, txs: Sequence[Tx], chunk: list[int]) -> dict[int, int]:
        """Gas limits for ``chunk``: cached per gas key, estimated (in one batch) for keys not
        seen yet and for transactions without a key."""
        limits: dict[int, int] = {}
        to_estimate: dict[int, str | None] = {}
        pending_keys: set[str] = set()
        for i in chunk:
            key = txs[i].gas_key
            if key is not None and key in self._gas:
                limits[i] = self._gas[key]
            elif key is None or key not in pending_keys:
                to_estimate[i] = key
                if key is not None:
                    pending_keys.add(key)
        if to_estimate:
            indices = list(to_estimate)
            answers = self.rpc.batch([("eth_estimateGas", [txs[i].call_params()]) for i in indices])
            for i, answer in zip(indices, answers, strict=True):
                if "error" in answer:
                    error = RpcError("eth_estimateGas", answer["error"])
                    raise _EstimateError(i, error.reason)
                limit = self._limit(_int(answer["result"]))
                key = to_estimate[i]
                if key is not None:
                    self._gas[key] = limit
                limits[i] = limit
        for i in chunk:
            if i not in limits:
                limits[i] = self._gas[txs[i].gas_key]  # type: ignore[index]
        return limits

    def _limit(self, gas: int) -> int:
        return math.ceil(gas * self.gas_margin) + self.gas_headroom

    def _learn(self, receipt: Receipt) -> None:
        """Raise a gas key's limit to what its most expensive transaction so far needs, with
        the margin and headroom (so a dearer path seen once is covered from then on)."""
        key = receipt.tx.gas_key
        if key is None or not receipt.ok:
            return
        wanted = self._limit(receipt.gas_used)
        if wanted > self._gas.get(key, 0):
            self._gas[key] = wanted

    # ------------------------------------------------------------------ sending

    def send(self, txs: Sequence[Tx]) -> list[Receipt]:
        """Sign, send and confirm ``txs``; returns their receipts in the same order.

        Transactions of different senders must not depend on each other; one sender's run in
        the given order.

        Raises:
            BulkSendError: a transaction reverted, ran out of gas, would revert (its gas
                estimate failed), or was refused by the node; says which, and which
                transactions were mined and which were not sent.
            ProcurechainError: a sender's key is not held (before anything is sent).
        """
        txs = list(txs)
        for n, tx in enumerate(txs):
            if tx.sender not in self._keys:
                raise ProcurechainError(
                    f"transaction {n + 1} ({tx.describe()}): the key of {tx.sender} is not held "
                    "by this sender; add the account first (nothing was sent)"
                )
        if not txs:
            return []
        self._load_nonces({tx.sender for tx in txs})
        run = _Run(txs, fees=self._fees())
        if self.manual_mining:
            self.rpc.request("evm_setAutomine", [False])
        try:
            for chunk in self._batches(txs):
                if run.outstanding and self._needs_estimate(txs, chunk):
                    self._confirm(run)  # estimates read the state the earlier ones leave
                try:
                    limits = self._ensure_gas(txs, chunk)
                except _EstimateError as failure:
                    self._confirm(run)
                    reason = f"{failure.reason} (found while estimating its gas; it was not sent)"
                    run.fail({failure.index: reason})
                self._send_batch(run, chunk, limits)
                if not self.manual_mining:
                    self._confirm(run)
            self._confirm(run)
        except BulkSendError:
            self.forget_nonces()
            raise
        finally:
            if self.manual_mining:
                self.rpc.request("evm_setAutomine", [True])
        return [run.receipts[i] for i in range(len(txs))]

    def _needs_estimate(self, txs: Sequence[Tx], chunk: list[int]) -> bool:
        return any(txs[i].gas_key is None or txs[i].gas_key not in self._gas for i in chunk)

    def _batches(self, txs: Sequence[Tx]) -> Iterator[list[int]]:
        """Indices in batches of at most ``batch_size``, keeping every sender's order.

        On automine, a batch holds one transaction per sender (wave k holds each sender's
        k-th), so a refused transaction never leaves a later nonce of its sender waiting in
        the pool. With manual mining, batches follow the given order (a sender may have several
        transactions in one; a refusal drops the later ones from Anvil's pool), cut before a
        transaction whose gas must be estimated while its sender has one in the batch already
        (the estimate must see that one's effects).
        """
        if not self.manual_mining:
            waves: list[list[int]] = []
            seen: dict[str, int] = {}
            for i, tx in enumerate(txs):
                k = seen.get(tx.sender, 0)
                seen[tx.sender] = k + 1
                if k == len(waves):
                    waves.append([])
                waves[k].append(i)
            for wave in waves:
                yield from _chunks(wave, self.batch_size)
            return
        batch: list[int] = []
        senders: set[str] = set()
        for i, tx in enumerate(txs):
            unknown = tx.gas_key is None or tx.gas_key not in self._gas
            if batch and (len(batch) >= self.batch_size or (unknown and tx.sender in senders)):
                yield batch
                batch, senders = [], set()
            batch.append(i)
            senders.add(tx.sender)
        if batch:
            yield batch

    def _send_batch(self, run: _Run, chunk: list[int], limits: dict[int, int]) -> None:
        """Sign and send one batch; a refusal stops the run once what was sent is confirmed,
        with nothing of the refused sender left waiting behind the missing nonce."""
        txs = run.txs
        signed: dict[int, tuple[str, str]] = {}
        next_nonce = dict(self._nonces)
        for i in chunk:
            sender = txs[i].sender
            signed[i] = self._sign(txs[i], next_nonce[sender], limits[i], run.fees)
            next_nonce[sender] += 1
        answers = self.rpc.batch([("eth_sendRawTransaction", [signed[i][0]]) for i in chunk])
        refused: dict[int, str] = {}
        for i, answer in zip(chunk, answers, strict=True):
            if "error" in answer:
                reason = RpcError("eth_sendRawTransaction", answer["error"]).reason
                refused[i] = f"the node refused it: {reason}"
            else:
                run.sent.add(i)
                run.outstanding[i] = signed[i][1]
                run.limits[i] = limits[i]
                self._nonces[txs[i].sender] += 1
        if refused:
            stranded = self._behind_gaps(run, chunk, refused)
            try:
                self._confirm(run)  # mines all but what waits behind a missing nonce
            finally:
                for sender in stranded:  # only what waits behind the gap is left of theirs
                    self.rpc.request("anvil_removePoolTransactions", [sender])
            run.fail(refused)

    @staticmethod
    def _behind_gaps(run: _Run, chunk: list[int], refused: dict[int, str]) -> list[str]:
        """The refused senders' later transactions in this batch wait in the pool behind a
        nonce that never came (manual mining only): they count as not sent. Returns the
        senders whose pool must be emptied once the rest is mined."""
        first_refused: dict[str, int] = {}
        for i in sorted(refused):
            first_refused.setdefault(run.txs[i].sender, i)
        stranded: set[str] = set()
        for i in chunk:
            sender = run.txs[i].sender
            if i in run.outstanding and sender in first_refused and i > first_refused[sender]:
                run.outstanding.pop(i)
                run.sent.discard(i)
                stranded.add(sender)
        return sorted(stranded)

    def _confirm(self, run: _Run) -> None:
        """Wait for every outstanding transaction's receipt (mining them first when mining is
        manual); a failed one ends the run with :class:`BulkSendError`."""
        if not run.outstanding:
            return
        mined = self._wait(run)
        run.outstanding.clear()
        run.receipts.update(mined)
        failed = sorted(i for i, receipt in mined.items() if not receipt.ok)
        if failed:
            run.fail({i: self._diagnose(mined[i]) for i in failed})

    def _wait(self, run: _Run) -> dict[int, Receipt]:
        """Receipts of the outstanding transactions, polled in batches until all are mined."""
        hashes = run.outstanding
        found: dict[int, Receipt] = {}
        waiting = list(hashes)
        deadline = time.monotonic() + self.receipt_timeout
        pause = 0.0
        idle_blocks = 0
        while waiting:
            if self.manual_mining:
                if idle_blocks >= 3:
                    raise ProcurechainError(
                        f"{len(waiting)} transactions were sent but left out of 3 blocks mined "
                        f"for them (first: {hashes[waiting[0]]}, max fee {run.fees[0]} wei); "
                        "look at the node's pending pool before sending again from those accounts"
                    )
                self.rpc.request("evm_mine", [])
            elif pause:
                time.sleep(pause)
            still = []
            for chunk in _chunks(waiting, self.batch_size):
                answers = self.rpc.batch(
                    [("eth_getTransactionReceipt", [hashes[i]]) for i in chunk]
                )
                for i, answer in zip(chunk, answers, strict=True):
                    raw = answer.get("result")
                    if not raw:
                        still.append(i)
                        continue
                    receipt = Receipt(
                        tx=run.txs[i],
                        hash=hashes[i],
                        block=_int(raw["blockNumber"]),
                        status=_int(raw["status"]),
                        gas_used=_int(raw["gasUsed"]),
                        gas_limit=run.limits[i],
                        logs=tuple(raw.get("logs") or ()),
                        contract_address=raw.get("contractAddress"),
                    )
                    found[i] = receipt
                    self.mined += 1
                    self._learn(receipt)
            idle_blocks = idle_blocks + 1 if len(still) == len(waiting) else 0
            waiting = still
            if waiting and time.monotonic() > deadline:
                raise ProcurechainError(
                    f"{len(waiting)} transactions were sent but not mined within "
                    f"{self.receipt_timeout:.0f}s (first: {hashes[waiting[0]]}); check the node, "
                    "then look them up before sending anything again from those accounts"
                )
            pause = min(0.25, pause * 2 or 0.001)
        return found

    def _diagnose(self, receipt: Receipt) -> str:
        """Why a mined transaction failed: the contract's error, or running out of gas.

        The node's call trace says it when the node keeps it (``debug_traceTransaction``);
        otherwise the transaction is replayed with ``eth_call`` on the state before its block
        without a gas limit: a revert there is the contract's error, success means the limit
        was too low. Running out of gas drops the gas key's cached limit, so the next send
        estimates it again.
        """
        tx = receipt.tx
        out_of_gas = False
        try:
            trace = self.rpc.request(
                "debug_traceTransaction", [receipt.hash, {"tracer": "callTracer"}]
            )
        except RpcError:
            trace = None
        if isinstance(trace, dict):
            data = _revert_bytes(trace.get("output"))
            if data and (decoded := decode_revert(data)):
                return f"reverted: {describe_error(*decoded)} (tx {receipt.hash})"
            out_of_gas = _ran_out_of_gas(trace)
        else:
            try:
                self.rpc.request("eth_call", [tx.call_params(), hex(receipt.block - 1)])
                out_of_gas = True
            except RpcError as err:
                if err.data is not None or "revert" in err.message.lower():
                    return f"reverted: {err.reason} (tx {receipt.hash})"
        if not out_of_gas:
            return f"reverted without a reason the node could give (tx {receipt.hash})"
        if tx.gas_key is not None:
            self._gas.pop(tx.gas_key, None)
        source = f"reused for {tx.gas_key}" if tx.gas_key else "estimated for it"
        return (
            f"ran out of gas: it used {receipt.gas_used} of its limit {receipt.gas_limit} "
            f"({source}); the limit will be estimated again when you resume (tx {receipt.hash})"
        )

    # ------------------------------------------------------------------ reading

    def call_many(
        self, calls: Sequence[tuple[str, bytes]], block: str | int = "latest"
    ) -> list[bytes]:
        """``eth_call`` of each ``(to, calldata)`` in batches; the return data in order.

        Raises:
            RpcError: a call reverted (its error decoded).
        """
        tag = block if isinstance(block, str) else hex(block)
        results: list[bytes] = []
        for chunk in _chunks(range(len(calls)), self.batch_size):
            answers = self.rpc.batch(
                [
                    ("eth_call", [{"to": calls[i][0], "data": "0x" + calls[i][1].hex()}, tag])
                    for i in chunk
                ]
            )
            for answer in answers:
                if "error" in answer:
                    raise RpcError("eth_call", answer["error"])
                results.append(bytes.fromhex(answer["result"][2:]))
        return results


def _ran_out_of_gas(frame: dict[str, Any]) -> bool:
    """Whether a call trace (or one of its inner calls) ran out of gas."""
    if "out of gas" in str(frame.get("error", "")).lower().replace("outofgas", "out of gas"):
        return True
    return any(_ran_out_of_gas(inner) for inner in frame.get("calls") or ())


@dataclass
class _Run:
    """One ``send``: what was sent, what awaits its receipt, what was mined."""

    txs: list[Tx]
    fees: tuple[int, int]
    sent: set[int] = field(default_factory=set)
    outstanding: dict[int, str] = field(default_factory=dict)  # index -> hash
    limits: dict[int, int] = field(default_factory=dict)
    receipts: dict[int, Receipt] = field(default_factory=dict)

    def fail(self, reasons: dict[int, str]) -> None:
        unsent = [i for i in range(len(self.txs)) if i not in self.sent]
        raise BulkSendError(self.txs, sorted(reasons), reasons, self.receipts, unsent)


class _EstimateError(Exception):
    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason
