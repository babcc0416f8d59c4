"""Which instructions ran: Anvil's step traces, folded into pcs per bytecode.

Every transaction is traced as soon as its receipt exists and every ``eth_call`` (and
failing gas estimate) as it is made: tests rewind the chain between them, so a trace taken
later would see another chain. Before a rewind (``evm_revert``), transactions that other
processes (``ape run`` subprocesses) mined since the last look are traced too. The hook sits
on web3's ``HTTPProvider._make_request``, below the request caches and middleware that Ape's
Foundry provider builds; the traces themselves go to the same node over a connection of
their own.

A step trace (``structLogs``) gives pc, opcode, call depth and stack for each step. The code
running at a depth is found from the stack of the step that entered it: the address operand
of CALL/STATICCALL/DELEGATECALL/CALLCODE (for a clone, the proxy delegates to the
implementation, whose code is then what runs), or for CREATE/CREATE2 the address pushed when
the frame returns. Code is then named by its hash, fetched with ``eth_getCode``; creation
frames are named by the hash of the runtime code they deployed, or, when the creation
failed, by their init code.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eth_hash.auto import keccak

TAKEN, FALLTHROUGH = 1, 2  # JUMPI directions, as bits
SAMPLE = 48  # steps kept after the first run of each JUMPI direction
REVERTED, RETURNED, STOPPED = -1, -2, -3  # how a sample's frame ended, when it did
TRACE_OPTIONS = {
    "disableStorage": True,
    "disableMemory": True,
    "enableMemory": False,
    "disableStack": False,
    "enableReturnData": False,
}
CALLS = frozenset({"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"})
TRANSACTIONS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction"})
REWINDS = frozenset({"evm_revert", "anvil_revert", "anvil_reset"})
CODE_CHANGES = frozenset({"anvil_setCode", "hardhat_setCode", "anvil_loadState"})


@dataclass
class CodeHits:
    """What ran of one bytecode: executed pcs, and the directions each JUMPI took.

    ``samples`` keeps, for the first run of each JUMPI direction, the pcs that ran next in
    the same frame (ending with REVERTED/RETURNED/STOPPED if the frame ended): where the
    direction leads in the source, when the bytecode alone does not tell.
    """

    pcs: set[int] = field(default_factory=set)
    jumpi: dict[int, int] = field(default_factory=dict)  # pc -> TAKEN | FALLTHROUGH bits
    samples: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (pc, bit) -> pcs
    selectors: set[str] = field(default_factory=set)  # first 4 bytes of calldata of each run

    def merge(self, other: CodeHits) -> None:
        self.pcs |= other.pcs
        self.selectors |= other.selectors
        for pc, bits in other.jumpi.items():
            self.jumpi[pc] = self.jumpi.get(pc, 0) | bits
        for key, sample in other.samples.items():
            self.samples.setdefault(key, sample)


@dataclass
class Hits:
    """Hits of every bytecode seen, by (kind, code hash): "runtime" and "creation" by the
    runtime code's hash, "initcode" (a creation that deployed nothing) by the init code's."""

    code: dict[tuple[str, str], CodeHits] = field(default_factory=dict)
    bytecode: dict[str, str] = field(default_factory=dict)  # runtime code hash -> hex code
    traces: int = 0
    steps: int = 0

    def add(self, kind: str, code: bytes, hits: CodeHits) -> None:
        digest = keccak(code).hex()
        self.bytecode.setdefault(digest, code.hex())
        self.code.setdefault((kind, digest), CodeHits()).merge(hits)

    def merge(self, other: Hits) -> None:
        self.bytecode.update(other.bytecode)
        for key, hits in other.code.items():
            self.code.setdefault(key, CodeHits()).merge(hits)
        self.traces += other.traces
        self.steps += other.steps

    def to_json(self) -> dict[str, Any]:
        return {
            "traces": self.traces,
            "steps": self.steps,
            "bytecode": self.bytecode,
            "hits": [
                {
                    "kind": kind,
                    "codehash": digest,
                    "pcs": sorted(h.pcs),
                    "jumpi": {str(pc): bits for pc, bits in sorted(h.jumpi.items())},
                    "samples": {f"{pc}:{bit}": v for (pc, bit), v in sorted(h.samples.items())},
                    "selectors": sorted(h.selectors),
                }
                for (kind, digest), h in sorted(self.code.items())
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Hits:
        hits = cls(bytecode=dict(data["bytecode"]), traces=data["traces"], steps=data["steps"])
        for entry in data["hits"]:
            hits.code[(entry["kind"], entry["codehash"])] = CodeHits(
                pcs=set(entry["pcs"]),
                jumpi={int(pc): bits for pc, bits in entry["jumpi"].items()},
                samples={
                    (int(key.split(":")[0]), int(key.split(":")[1])): sample
                    for key, sample in entry.get("samples", {}).items()
                },
                selectors=set(entry.get("selectors", [])),
            )
        return hits

    @classmethod
    def load(cls, folder: Path) -> Hits:
        """All ``hits-*.json`` in ``folder`` (one per test process), merged."""
        hits = cls()
        for path in sorted(folder.glob("hits-*.json")):
            hits.merge(cls.from_json(json.loads(path.read_text())))
        return hits


@dataclass
class _Frame:
    address: str | None  # None for a creation frame until it returns its address
    hits: CodeHits = field(default_factory=CodeHits)
    open_samples: list[list[int]] = field(default_factory=list)
    dispatched: bool = False  # the selector was read


@dataclass
class FrameHits:
    """What one trace executed, by the address whose code ran (creation frames apart)."""

    runtime: dict[str, CodeHits] = field(default_factory=dict)
    creation: dict[str, CodeHits] = field(default_factory=dict)  # by the created address
    top_creation: CodeHits | None = None  # a contract-creating transaction's own frame


def _address(word: str) -> str:
    return "0x" + int(word, 16).to_bytes(32, "big")[-20:].hex()


def fold_steps(steps: list[dict[str, Any]], to: str | None, created: str | None) -> FrameHits:
    """Fold a ``structLogs`` list into executed pcs per code address.

    Args:
        steps: the trace's steps (pc, op, depth, stack).
        to: the transaction's target, or None for a contract creation.
        created: for a creation, the created address (None if the creation failed).
    """
    out = FrameHits()

    def close(frame: _Frame, last_op: str | None, created_address: str | None) -> None:
        end = {"REVERT": REVERTED, "INVALID": REVERTED, "RETURN": RETURNED, "STOP": RETURNED}
        for sample in frame.open_samples:
            sample.append(end.get(last_op or "", STOPPED))
        if frame.address is not None:
            out.runtime.setdefault(frame.address, CodeHits()).merge(frame.hits)
        elif created_address is not None and int(created_address, 16) != 0:
            out.creation.setdefault(created_address, CodeHits()).merge(frame.hits)

    frames = [_Frame(to.lower() if to else None)]
    prev: dict[str, Any] | None = None
    for step in steps:
        depth = step["depth"]
        pc = step["pc"]
        if prev is not None:
            prev_depth = prev["depth"]
            if depth > prev_depth:
                if prev["op"] in CALLS:
                    frames.append(_Frame(_address(prev["stack"][-2])))
                else:  # CREATE/CREATE2: the address is known when the frame returns
                    frames.append(_Frame(None))
            elif depth < prev_depth:
                # Back in the caller; the top of its stack is the call's result (for a
                # creation, the new address or 0).
                result = _address(step["stack"][-1]) if step.get("stack") else None
                close(frames.pop(), prev["op"], result)
            elif prev["op"] == "CALLDATALOAD" and not frames[-1].dispatched:
                if int(prev["stack"][-1], 16) == 0:  # calldataload(0): the dispatcher
                    frames[-1].dispatched = True
                    word = int(step["stack"][-1], 16).to_bytes(32, "big")
                    frames[-1].hits.selectors.add("0x" + word[:4].hex())
            elif prev["op"] == "JUMPI":
                condition = int(prev["stack"][-2], 16)
                hits = frames[-1].hits
                bit = TAKEN if condition else FALLTHROUGH
                hits.jumpi[prev["pc"]] = hits.jumpi.get(prev["pc"], 0) | bit
                if (prev["pc"], bit) not in hits.samples:
                    sample: list[int] = []
                    hits.samples[(prev["pc"], bit)] = sample
                    frames[-1].open_samples.append(sample)
        frame = frames[-1]
        frame.hits.pcs.add(pc)
        if frame.open_samples:
            for sample in frame.open_samples:
                sample.append(pc)
            frame.open_samples = [s for s in frame.open_samples if len(s) < SAMPLE]
        prev = step
    last_op = prev["op"] if prev else None
    while len(frames) > 1:  # frames still open when the trace ends (out of gas at depth)
        close(frames.pop(), None, None)
    if to is None:
        close(frames[0], last_op, None)
        out.top_creation = frames[0].hits
    else:
        close(frames[0], last_op, created)
    return out


Request = Callable[[str, list[Any]], dict[str, Any]]


class Recorder:
    """Collects hits from every transaction and call made while it is active."""

    def __init__(self) -> None:
        self.hits = Hits()
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def record(
        self,
        request: Request,
        trace: dict[str, Any],
        to: str | None,
        created: str | None,
        block: str,
        initcode: bytes = b"",
        codes: dict[str, bytes] | None = None,
    ) -> None:
        """Fold one trace in. A creation is named by the runtime code it deployed or, if it
        failed, by its init code (matched against the contracts' creation code later)."""
        frames = fold_steps(trace.get("structLogs", []), to, created)
        codes = {} if codes is None else codes

        def code_at(address: str) -> bytes:
            # Code that ran stays at its address until the chain is rewound (or set).
            if address in codes:
                return codes[address]
            response = request("eth_getCode", [address, block])
            code = bytes.fromhex(response.get("result", "0x")[2:])
            if code:
                codes[address] = code
            return code

        with self._lock:
            self.hits.traces += 1
            self.hits.steps += len(trace.get("structLogs", []))
            for address, hits in frames.runtime.items():
                if code := code_at(address):
                    self.hits.add("runtime", code, hits)
            for address, hits in frames.creation.items():
                if code := code_at(address):
                    self.hits.add("creation", code, hits)
            if frames.top_creation is not None:
                deployed = code_at(created) if created else b""
                if deployed:
                    self.hits.add("creation", deployed, frames.top_creation)
                elif initcode:
                    self.hits.add("initcode", initcode, frames.top_creation)


_recorders: list[Recorder] = []
_original: Callable[..., bytes] | None = None


class _Client:
    """A keep-alive JSON-RPC client for the tracer's own requests: web3's requests session
    costs milliseconds a call (it reads the proxy settings every time), and there are tens
    of thousands of these calls."""

    def __init__(self, uri: str) -> None:
        url = urlsplit(uri)
        self._factory = HTTPSConnection if url.scheme == "https" else HTTPConnection
        self._host, self._port = url.hostname or "127.0.0.1", url.port
        self._path = url.path or "/"
        self._connection: HTTPConnection | None = None
        self._id = 0

    def __call__(self, method: str, params: list[Any]) -> dict[str, Any]:
        self._id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = self._factory(self._host, self._port, timeout=300)
            try:
                self._connection.request(
                    "POST", self._path, body, {"Content-Type": "application/json"}
                )
                return json.loads(self._connection.getresponse().read())
            except (OSError, HTTPException):
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


@dataclass
class _Node:
    """What is known of one node (endpoint): blocks already looked at, transactions traced,
    and the code at each address (valid until the chain is rewound or code is set)."""

    request: Request
    scanned: int | None = None
    traced: set[str] = field(default_factory=set)
    codes: dict[str, bytes] = field(default_factory=dict)


_nodes: dict[str, _Node] = {}


def _trace_transaction(node: _Node, tx_hash: str) -> None:
    request = node.request
    node.traced.add(tx_hash)
    receipt = None
    for wait in (0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2):  # Anvil mines just after answering
        time.sleep(wait)
        receipt = request("eth_getTransactionReceipt", [tx_hash]).get("result")
        if receipt:
            break
    if not receipt:
        _error(f"{tx_hash} was not mined within 4 s: not traced")
        return
    trace = request("debug_traceTransaction", [tx_hash, TRACE_OPTIONS])
    if "result" not in trace:
        _error(f"debug_traceTransaction {tx_hash}: {trace.get('error')}")
        return
    initcode = b""
    if receipt.get("to") is None:
        tx = request("eth_getTransactionByHash", [tx_hash]).get("result") or {}
        initcode = bytes.fromhex((tx.get("input") or "0x")[2:])
    for recorder in list(_recorders):
        recorder.record(
            request,
            trace["result"],
            receipt.get("to"),
            receipt.get("contractAddress"),
            receipt["blockNumber"],
            initcode,
            node.codes,
        )


def _trace_call(node: _Node, params: list[Any]) -> None:
    call = dict(params[0])
    block = params[1] if len(params) > 1 and params[1] is not None else "latest"
    options: dict[str, Any] = dict(TRACE_OPTIONS)
    if len(params) > 2 and params[2]:
        options["stateOverrides"] = params[2]
    trace = node.request("debug_traceCall", [call, block, options])
    if "result" not in trace:
        _error(f"debug_traceCall: {trace.get('error')}")
        return
    # Code created inside a simulated call is not on chain: such frames are dropped; a
    # simulated deployment is named by its init code. State overrides may change code.
    codes = None if len(options) > len(TRACE_OPTIONS) else node.codes
    initcode = bytes.fromhex((call.get("data") or call.get("input") or "0x")[2:])
    for recorder in list(_recorders):
        recorder.record(node.request, trace["result"], call.get("to"), None, block, initcode, codes)


def _head(request: Request) -> int | None:
    response = request("eth_blockNumber", [])
    return int(response["result"], 16) if "result" in response else None


def _scan(node: _Node) -> None:
    """Trace the transactions other processes (``ape run`` in a subprocess) mined on this node."""
    head = _head(node.request)
    if head is None or node.scanned is None:
        return
    for number in range(node.scanned + 1, head + 1):
        block = node.request("eth_getBlockByNumber", [hex(number), False]).get("result") or {}
        for tx_hash in block.get("transactions", []):
            if tx_hash not in node.traced:
                _trace_transaction(node, tx_hash)
    node.scanned = head


def _error(message: str) -> None:
    for recorder in list(_recorders):
        recorder.errors.append(message)


@contextmanager
def _reported(what: str) -> Iterator[None]:
    """Tracing never breaks the request it rides on: a failure is kept for the summary."""
    try:
        yield
    except Exception as err:
        _error(f"{what}: {type(err).__name__}: {err}")


# evm_snapshot marks where a rewind will go back to: blocks from there on are to be scanned.
WATCHED = TRANSACTIONS | REWINDS | CODE_CHANGES | {"eth_call", "eth_estimateGas", "evm_snapshot"}


def _node(uri: str) -> _Node:
    if uri not in _nodes:
        _nodes[uri] = _Node(_Client(uri))
    return _nodes[uri]


def _install() -> None:
    """Hook ``HTTPProvider._make_request``: web3 caches each provider's ``make_request`` in
    its middleware chain when the provider is first used, but looks this one up per call."""
    global _original
    if _original is not None:
        return
    from web3 import HTTPProvider

    raw = HTTPProvider._make_request
    _original = raw

    def _make_request(self: Any, method: str, request_data: bytes) -> bytes:
        uri = str(self.endpoint_uri)
        if not _recorders or method not in WATCHED or not uri.startswith("http"):
            return raw(self, method, request_data)
        node = _node(uri)
        with _reported(f"before {method}"):
            if node.scanned is None:
                node.scanned = _head(node.request)  # blocks from here on count
            elif method in REWINDS:
                # The chain is about to lose its recent blocks: trace what others mined first.
                _scan(node)
        answer = raw(self, method, request_data)
        with _reported(f"after {method}"):
            response = json.loads(answer)
            params = json.loads(request_data).get("params") or []
            failed = "error" in response
            if method in TRANSACTIONS and not failed and response.get("result"):
                _trace_transaction(node, response["result"])
            elif method == "eth_call" or (method == "eth_estimateGas" and failed):
                # A failing estimate is all that runs of a transaction Ape refuses to send.
                _trace_call(node, list(params))
            elif method in REWINDS and not failed:
                node.scanned = _head(node.request)
                node.traced.clear()
            if method in REWINDS or method in CODE_CHANGES:
                node.codes.clear()
        return answer

    HTTPProvider._make_request = _make_request  # type: ignore[method-assign]


def scan_all() -> None:
    """Trace what other processes mined since the last look, on every node seen (at exit)."""
    for uri, node in _nodes.items():
        # A node the tests started and stopped again has nothing left to trace.
        with _reported(f"last scan of {uri}"), suppress(ConnectionRefusedError):
            _scan(node)


@contextmanager
def recording() -> Iterator[Recorder]:
    """Record the hits of every transaction and call this process makes inside the block."""
    _install()
    if not _recorders:
        _nodes.clear()  # blocks mined while nobody recorded are not this recorder's
    recorder = Recorder()
    _recorders.append(recorder)
    try:
        yield recorder
    finally:
        _recorders.remove(recorder)


def write(hits: Hits, folder: Path) -> Path:
    """Save ``hits`` as ``folder/hits-<pid>.json`` (atomically)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hits-{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(hits.to_json()))
    tmp.replace(path)
    return path
