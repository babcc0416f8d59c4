"""The public record: every event of the suite, read from the chain alone, in block/log order.

The Registry is the root. Its ``TenderCreated`` events name every tender, each tender's
``AwardAccepted`` names its agreement, and the consortium's events complete the picture. Logs
are read with raw ``eth_getLogs`` over those address lists (in block chunks) and decoded with
the project's ABIs, so nothing depends on a local journal or on Ape's caches.

The actor of an entry is the transaction's sender, except inside a consortium ``execute``:
there the ``ActionExecuted`` event that precedes the inner events in the same transaction names
the signers, and the actor is ``consortium``.

:func:`reconcile` turns the token flows the events describe into per-contract totals and
compares them with ``token.balanceOf``; :func:`verify` replays the events into each tender's
and agreement's state and compares it with the contracts' views.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from procurechain import display
from procurechain.errors import ProcurechainError


@cache
def _checksum(value: str | bytes) -> str:
    """``to_checksum_address``, remembered: a long history names the same few hundred
    addresses tens of thousands of times, and each checksum costs a keccak."""
    return to_checksum_address(value)


__all__ = [
    "AgreementFacts",
    "AuditLog",
    "Difference",
    "Entry",
    "EntryDecoder",
    "Flow",
    "RawLog",
    "TenderFacts",
    "collect",
    "reconcile",
    "replay_agreement",
    "replay_tender",
    "to_csv",
    "to_jsonl",
    "verify",
]

ZERO = "0x0000000000000000000000000000000000000000"
KINDS = ("Registry", "Tender", "Agreement", "Consortium")
#: Event fields that are token amounts (base units), per event.
AMOUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "BidRevealed": ("price",),
    "RankClaimed": ("price",),
    "BidAwarded": ("price",),
    "AwardAccepted": ("price",),
    "BondWithdrawn": ("amount",),
    "BondReturned": ("amount",),
    "BondForfeited": ("amount",),
    "PhaseCapRaised": ("previousCap", "newCap"),
    "AgreementInitialized": ("price",),
    "MilestoneScheduled": ("amount",),
    "AgreementFunded": ("pulled", "received", "surplus"),
    "MilestoneAccepted": ("paid", "penalty", "retention"),
    "DisputeResolved": ("paid", "penalty", "retention", "refunded"),
    "WarrantyClaimed": ("amount", "retentionLeft"),
    "RetentionReleased": ("amount",),
    "AgreementTerminated": ("toSupplier", "toBuyer"),
    "SurplusRecovered": ("amount",),
    "Credited": ("amount", "balance"),
    "Withdrawn": ("amount",),
}
CSV_COLUMNS = (
    "block",
    "timestamp",
    "tx",
    "log_index",
    "contract",
    "address",
    "event",
    "actor",
    "signers",
    "amounts",
    "sentence",
)


@dataclass(frozen=True)
class Entry:
    """One event of the public record.

    Attributes:
        block: block number.
        tx: transaction hash (0x hex).
        log_index: position of the log in its block.
        timestamp: the block's timestamp (unix seconds).
        contract: ``Registry``, ``Tender``, ``Agreement`` or ``Consortium``.
        address: the emitting contract.
        event: the event name.
        actor: the transaction's sender, or ``consortium`` inside a consortium execution.
        sender: the transaction's sender (who paid the gas).
        signers: the members whose signatures or approvals carried the consortium action.
        args: the decoded event arguments (addresses checksummed, bytes as 0x hex).
        amounts: the token amounts among ``args`` (base units); for a first bid commitment
            the bond it pulled.
        sentence: what happened, in one sentence.
    """

    block: int
    tx: str
    log_index: int
    timestamp: int
    contract: str
    address: str
    event: str
    actor: str
    sender: str
    signers: tuple[str, ...]
    args: dict[str, Any]
    amounts: dict[str, int]
    sentence: str

    def as_dict(self) -> dict[str, Any]:
        """The entry as a JSON-ready dictionary."""
        return {
            "block": self.block,
            "timestamp": self.timestamp,
            "tx": self.tx,
            "log_index": self.log_index,
            "contract": self.contract,
            "address": self.address,
            "event": self.event,
            "actor": self.actor,
            "sender": self.sender,
            "signers": list(self.signers),
            "args": self.args,
            "amounts": self.amounts,
            "sentence": self.sentence,
        }


@dataclass(frozen=True)
class Flow:
    """Tokens in and out of one contract according to its events, against its balance."""

    contract: str
    address: str
    token: str
    inflow: int
    outflow: int
    balance: int

    @property
    def held(self) -> int:
        """What the events say the contract holds."""
        return self.inflow - self.outflow

    @property
    def matches(self) -> bool:
        """Whether the events account for the balance exactly."""
        return self.held == self.balance

    def as_dict(self) -> dict[str, Any]:
        """The flow as a JSON-ready dictionary."""
        return {
            "contract": self.contract,
            "address": self.address,
            "token": self.token,
            "in": self.inflow,
            "out": self.outflow,
            "held_by_events": self.held,
            "balance_on_chain": self.balance,
            "matches": self.matches,
        }


@dataclass
class AuditLog:
    """Everything :func:`collect` found: the entries and the contracts they came from."""

    registry: str
    consortium: str
    entries: list[Entry] = field(default_factory=list)
    tenders: dict[int, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)  # tender -> agreement
    bonds: dict[str, int] = field(default_factory=dict)  # tender -> bond (immutable arg)
    tokens: dict[str, str] = field(default_factory=dict)  # tender -> token (immutable arg)
    complete: bool = True  # False when filtered by tender or first block
    #: Texts put on the record with ``Registry.publish``, by hash (0x hex): the first
    #: ``TextPublished`` entry of each, whatever the filter (reasons are looked up by hash).
    texts: dict[str, Entry] = field(default_factory=dict)
    #: How the sentences call amounts (the token's symbol and decimals).
    unit: display.Token = field(default_factory=lambda: display.Token("dUSD", 6))

    _by_address: tuple[int, int, dict[str, list[Entry]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def of(self, event: str) -> list[Entry]:
        """The entries of one event name, in order."""
        return [e for e in self.entries if e.event == event]

    def at(self, address: str) -> list[Entry]:
        """The entries one contract emitted, in order (indexed once, so replaying every
        contract of a long history stays linear)."""
        key = (id(self.entries), len(self.entries))
        if self._by_address is None or self._by_address[:2] != key:
            index: dict[str, list[Entry]] = {}
            for entry in self.entries:
                index.setdefault(entry.address, []).append(entry)
            self._by_address = (*key, index)
        return self._by_address[2].get(address, [])


# ---------------------------------------------------------------------------- decoding


def _type_string(param: Any) -> str:
    kind = str(param.type)
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param.components)
        return f"({inner}){kind[5:]}"
    return kind


def _plain(value: Any, param: Any) -> Any:
    kind = str(param.type)
    if kind.startswith("tuple"):
        names = [c.name for c in param.components]
        if kind.endswith("]"):
            return [
                {n: _plain(v, c) for n, v, c in zip(names, item, param.components, strict=True)}
                for item in value
            ]
        return {n: _plain(v, c) for n, v, c in zip(names, value, param.components, strict=True)}
    if kind.endswith("]"):
        return [_plain(v, _Elem(kind.rsplit("[", 1)[0])) for v in value]
    if kind == "address":
        return _checksum(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


@dataclass(frozen=True)
class _Elem:
    type: str
    components: tuple = ()


#: A word the fast path cannot read as ``decode`` would (the generic path decides).
_UNREAD = object()


def _static_word(kind: str, word: bytes) -> Any:
    """One 32-byte ABI word of a static elementary type as ``decode`` and :func:`_plain` read
    it, or :data:`_UNREAD` when the type is not one of these or the word is not canonical
    (non-zero padding, a bool above 1): then strict ``decode`` has the last word."""
    if len(word) != 32 or "[" in kind or "(" in kind:  # static arrays and tuples: generic
        return _UNREAD
    if kind == "address":
        return _UNREAD if any(word[:12]) else _checksum("0x" + word[12:].hex())
    if kind == "bool":
        return _UNREAD if any(word[:31]) or word[31] > 1 else word[31] == 1
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        value = int.from_bytes(word, "big")
        return _UNREAD if value >> bits else value
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        value = int.from_bytes(word, "big", signed=True)
        return value if -(1 << (bits - 1)) <= value < 1 << (bits - 1) else _UNREAD
    if kind.startswith("bytes") and kind[5:].isdigit():
        size = int(kind[5:])
        return _UNREAD if any(word[size:]) else "0x" + word[:size].hex()
    return _UNREAD


def _word(word: bytes) -> int:
    return int.from_bytes(word, "big")


def _tail(kind: str, param: Any, data: bytes, at: int) -> tuple[Any, int] | None:
    """A string, bytes, or array of static values encoded at ``at`` as Solidity encodes it:
    its value (as :func:`_plain` gives it) and the words it takes; None for another type or an
    encoding that is not canonical (strict ``decode`` then has the last word)."""
    if at + 32 > len(data):
        return None
    length = _word(data[at : at + 32])
    if kind in ("string", "bytes"):
        words = (length + 31) // 32
        if at + 32 + 32 * words > len(data) or any(data[at + 32 + length : at + 32 + 32 * words]):
            return None
        raw = data[at + 32 : at + 32 + length]
        # a string is read leniently: invalid UTF-8 shows as U+FFFD (see generic())
        return (raw.decode("utf-8", "replace") if kind == "string" else "0x" + raw.hex()), 1 + words
    inner = kind[:-2]
    if "[" in inner:
        return None
    fields = (
        [(c.name, _type_string(c)) for c in param.components]
        if inner.startswith("(")
        else [(None, inner)]
    )
    width = len(fields)
    if any(k.startswith("(") or "[" in k or k in ("string", "bytes") for _, k in fields):
        return None
    if at + 32 + 32 * width * length > len(data):
        return None
    items: list[Any] = []
    for i in range(length):
        base = at + 32 + 32 * width * i
        read = [
            _static_word(k, data[base + 32 * j : base + 32 * j + 32])
            for j, (_, k) in enumerate(fields)
        ]
        if any(v is _UNREAD for v in read):
            return None
        items.append(
            read[0]
            if fields[0][0] is None
            else {n: v for (n, _), v in zip(fields, read, strict=True)}
        )
    return items, 1 + width * length


@dataclass(frozen=True)
class _EventType:
    name: str
    inputs: tuple[Any, ...]

    @cached_property
    def _kinds(self) -> tuple[tuple[tuple[Any, str], ...], tuple[tuple[Any, str], ...]]:
        """The indexed and the other inputs, each with its ABI type string."""
        indexed = tuple((p, _type_string(p)) for p in self.inputs if p.indexed)
        plain = tuple((p, _type_string(p)) for p in self.inputs if not p.indexed)
        return indexed, plain

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """The event's arguments (addresses checksummed, bytes as 0x hex, strings read
        leniently). A canonical encoding of static words, strings, bytes and arrays of static
        values is read directly; anything else by :meth:`generic`, with the same result."""
        indexed, plain = self._kinds
        if len(topics) != len(indexed) + 1 or len(data) < 32 * len(plain):
            return self.generic(topics, data)
        values: dict[str, Any] = {}
        for (param, kind), topic in zip(indexed, topics[1:], strict=True):
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
                values[param.name] = "0x" + topic.hex()  # only the hash of a dynamic value
                continue
            values[param.name] = _static_word(kind, topic)
        end = 32 * len(plain)  # where the next dynamic value must start (canonical layout)
        for n, (param, kind) in enumerate(plain):
            word = data[32 * n : 32 * n + 32]
            if kind in ("string", "bytes") or kind.endswith("[]"):
                found = _tail(kind, param, data, end) if _word(word) == end else None
                if found is None:
                    return self.generic(topics, data)
                values[param.name], used = found
                end += 32 * used
            else:
                values[param.name] = _static_word(kind, word)
        if end != len(data) or any(v is _UNREAD for v in values.values()):
            return self.generic(topics, data)
        return {p.name: values[p.name] for p in self.inputs}

    def generic(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """The arguments decoded by ``eth_abi`` (strict), whatever their types."""
        indexed, plain = self._kinds
        values: dict[str, Any] = {}
        for (param, kind), topic in zip(indexed, topics[1:], strict=True):
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
                values[param.name] = "0x" + topic.hex()  # only the hash of a dynamic value
                continue
            (value,) = decode([kind], topic)
            values[param.name] = _plain(value, param)
        # A string is read as bytes and decoded leniently: whoever pays the gas writes it,
        # and invalid UTF-8 must show as U+FFFD, not stop the whole record.
        kinds = [kind for _, kind in plain]
        decoded = decode(["bytes" if k == "string" else k for k in kinds], data)
        for (param, kind), value in zip(plain, decoded, strict=True):
            if kind == "string":
                values[param.name] = bytes(value).decode("utf-8", "replace")
            else:
                values[param.name] = _plain(value, param)
        return {p.name: values[p.name] for p in self.inputs}


def _event_table(kind: str) -> dict[bytes, _EventType]:
    from ape import project

    contract_type = getattr(project, kind).contract_type
    return {
        keccak(text=abi.selector): _EventType(abi.name, tuple(abi.inputs))
        for abi in contract_type.events
    }


class _Reader:
    """Raw ``eth_getLogs`` in block chunks, plus cached blocks and transactions.

    Over HTTP, :meth:`prefetch` reads the blocks of all the logs (timestamps, and the senders
    of their transactions) in JSON-RPC batches: a long history costs a few hundred requests
    instead of two per transaction.
    """

    BATCH = 200

    def __init__(self, start: int, end: int, chunk: int) -> None:
        from ape import chain

        from procurechain.bulk import connected_rpc

        self.web3 = chain.provider.web3
        self.rpc = connected_rpc()
        self.start, self.end, self.chunk = start, end, chunk
        self._times: dict[int, int] = {}
        self._senders: dict[str, str] = {}

    def prefetch(self, blocks: Iterable[int]) -> None:
        """Timestamps and transaction senders of ``blocks`` (full blocks, in batches)."""
        if self.rpc is None:
            return
        wanted = sorted(set(blocks) - set(self._times))
        for low in range(0, len(wanted), self.BATCH):
            numbers = wanted[low : low + self.BATCH]
            answers = self.rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
            for number, answer in zip(numbers, answers, strict=True):
                block = answer.get("result")
                if not block:
                    continue  # read one by one below, with the node's own error
                self._times[number] = int(block["timestamp"], 16)
                for tx in block["transactions"]:
                    self._senders[tx["hash"].lower()] = _checksum(tx["from"])

    def logs(self, addresses: Iterable[str], topic0: bytes | None = None) -> list[Any]:
        addresses = sorted(set(addresses))
        if not addresses:
            return []
        found: list[Any] = []
        for low in range(self.start, self.end + 1, self.chunk):
            query: dict[str, Any] = {
                "address": addresses,
                "fromBlock": low,
                "toBlock": min(low + self.chunk - 1, self.end),
            }
            if topic0 is not None:
                query["topics"] = ["0x" + topic0.hex()]
            found.extend(self.web3.eth.get_logs(query))
        return found

    def timestamp(self, block: int) -> int:
        if block not in self._times:
            self._times[block] = int(self.web3.eth.get_block(block)["timestamp"])
        return self._times[block]

    def sender(self, tx: str) -> str:
        key = tx.lower()
        if key not in self._senders:
            self._senders[key] = _checksum(self.web3.eth.get_transaction(tx)["from"])
        return self._senders[key]


def _hex(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes | bytearray) else str(value)
    return text if text.startswith("0x") else "0x" + text


def _bytes(value: Any) -> bytes:
    """Bytes from web3's ``HexBytes`` or from JSON-RPC's ``0x`` hex."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _number(value: Any) -> int:
    """An int from web3's int or from JSON-RPC's ``0x`` hex quantity."""
    return int(value, 16) if isinstance(value, str) else int(value)


@dataclass(frozen=True)
class RawLog:
    """One log as a node returned it, normalised (web3's objects and raw JSON-RPC alike).

    Attributes:
        address: the emitting contract (checksummed).
        topics: the topics, topic 0 first.
        data: the non-indexed arguments, ABI-encoded.
        block: the block number.
        log_index: the log's position in its block.
        tx: the transaction hash (0x hex).
    """

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block: int
    log_index: int
    tx: str

    @classmethod
    def of(cls, item: Mapping[str, Any]) -> RawLog:
        """Normalise a log from ``web3.eth.get_logs`` or a raw ``eth_getLogs`` answer."""
        return cls(
            address=_checksum(str(item["address"])),
            topics=tuple(_bytes(t) for t in item["topics"]),
            data=_bytes(item["data"]),
            block=_number(item["blockNumber"]),
            log_index=_number(item["logIndex"]),
            tx=_hex(item["transactionHash"]),
        )


class EntryDecoder:
    """Raw logs of the suite's contracts into :class:`Entry` objects: the one decoder of the
    public record (:func:`collect` and the portal's index both use it).

    The actor of an entry inside a consortium ``execute`` is ``consortium``: the decoder
    remembers each ``ActionExecuted`` by transaction, so the logs of one transaction must be
    decoded in log order by the same decoder (:meth:`forget` drops what it remembers).

    Args:
        names: readable names for addresses, used in the sentences.
        unit: how the sentences call amounts.
    """

    def __init__(self, names: Mapping[str, str] | None, unit: display.Token) -> None:
        self.tables = {kind: _event_table(kind) for kind in KINDS}
        self.words = _Words(names or {}, unit)
        self.executing: dict[str, tuple[str, tuple[str, ...]]] = {}  # tx -> (target, signers)

    def topic(self, kind: str, name: str) -> bytes:
        """Topic 0 of the event ``name`` of contract type ``kind``."""
        return next(t for t, e in self.tables[kind].items() if e.name == name)

    def forget(self) -> None:
        """Drop the consortium executions remembered so far (their transactions are done)."""
        self.executing.clear()

    def entry(
        self,
        kind: str,
        raw: RawLog,
        *,
        timestamp: Callable[[int], int],
        sender: Callable[[str], str],
        where: Mapping[str, str],
        bonds: Mapping[str, int],
    ) -> Entry | None:
        """The entry of one log of a ``kind`` contract, or None for an event of an unknown ABI.

        Args:
            kind: ``Registry``, ``Tender``, ``Agreement`` or ``Consortium``.
            raw: the log.
            timestamp: a block's timestamp, by number.
            sender: a transaction's sender, by hash.
            where: how sentences name a contract ("tender 3"), by address.
            bonds: each tender's bond, by address (a first commitment pulls it).
        """
        topics = raw.topics
        event = self.tables[kind].get(topics[0]) if topics else None
        if event is None:
            return None  # an event of an unknown ABI (nothing of ours emits one)
        args = event.decode(list(topics), raw.data)
        address, tx = raw.address, raw.tx
        who = sender(tx)
        actor, signers = who, ()
        if kind == "Consortium" and event.name == "ActionExecuted":
            self.executing[tx] = (args["target"], tuple(args["signers"]))
            actor, signers = "consortium", tuple(args["signers"])
        elif tx in self.executing:
            actor, signers = "consortium", self.executing[tx][1]
        amounts = {k: int(args[k]) for k in AMOUNT_FIELDS.get(event.name, ())}
        if event.name == "BidCommitted" and not args["replaced"]:
            amounts["bond"] = bonds[address]
        sentence = self.words.sentence(event.name, args, actor, where.get(address, address))
        return Entry(
            block=raw.block,
            tx=tx,
            log_index=raw.log_index,
            timestamp=timestamp(raw.block),
            contract=kind,
            address=address,
            event=event.name,
            actor=actor,
            sender=who,
            signers=signers,
            args=args,
            amounts=amounts,
            sentence=sentence[:1].upper() + sentence[1:],
        )


# ---------------------------------------------------------------------------- sentences


class _Words:
    def __init__(self, names: Mapping[str, str], token: display.Token) -> None:
        self.names = {_checksum(k): v for k, v in names.items()}
        self.token = token

    def who(self, address: str) -> str:
        return self.names.get(address, address)

    def money(self, amount: int) -> str:
        return self.token.money(amount)

    def sentence(self, entry_event: str, a: dict[str, Any], actor: str, where: str) -> str:
        w, m = self.who, self.money
        by = w(actor) if actor != "consortium" else "the consortium"
        milestone = f"milestone {a['index'] + 1}" if "index" in a else ""
        table = {
            "AgencyAdded": lambda: f"{by} admitted {w(a['agency'])} as a buying agency",
            "AgencyRemoved": lambda: f"{by} removed the buying agency {w(a['agency'])}",
            "PhaseCapRaised": lambda: (
                f"{by} raised the phase cap from {m(a['previousCap'])} to {m(a['newCap'])}"
            ),
            "TextPublished": lambda: (
                f"{w(a['author'])} published a text of {len(a['text'])} characters "
                f"(hash {a['hash']})"
            ),
            "TenderCreated": lambda: (
                f"{w(a['agency'])} published tender {a['id']} "
                f"({a['tender']}) with {len(a['plan'])} milestones"
            ),
            "BidCommitted": lambda: (
                f"{w(a['bidder'])} "
                + ("replaced its sealed bid" if a["replaced"] else "committed a sealed bid")
                + f" on {where}"
            ),
            "BidRevealed": lambda: (
                f"{w(a['bidder'])} revealed {m(a['price'])} on {where} ("
                + ("valid" if a["valid"] else "invalid")
                + (", leading)" if a["leading"] else ")")
            ),
            "BidderDisqualified": lambda: f"{by} disqualified {w(a['bidder'])} on {where}",
            "RankingOpened": lambda: f"a ranking round opened on {where}",
            "RankClaimed": lambda: f"{w(a['bidder'])} claimed its rank at {m(a['price'])}",
            "BidAwarded": lambda: f"{by} awarded {where} to {w(a['bidder'])} at {m(a['price'])}",
            "AwardLapsed": lambda: f"the award to {w(a['bidder'])} lapsed on {where}",
            "AwardAccepted": lambda: (
                f"{w(a['supplier'])} accepted the award of {where} at "
                f"{m(a['price'])}; agreement {a['agreement']} created"
            ),
            "TenderCancelled": lambda: f"{by} cancelled {where}",
            "BondWithdrawn": lambda: f"{w(a['bidder'])} withdrew its bond of {m(a['amount'])}",
            "BondReturned": lambda: f"{w(a['supplier'])} got its bond of {m(a['amount'])} back",
            "BondForfeited": lambda: (
                f"the bond of {w(a['bidder'])} ({m(a['amount'])}) was forfeited to {w(a['buyer'])}"
            ),
            "AgreementInitialized": lambda: (
                f"agreement between {w(a['buyer'])} and "
                f"{w(a['supplier'])} for {m(a['price'])} in {a['milestoneCount']} milestones"
            ),
            "MilestoneScheduled": lambda: (
                f"{milestone}: {m(a['amount'])} due at {display.when(a['dueDate'])} "
                "(plus the time the buyer takes to fund)"
            ),
            "AgreementFunded": lambda: f"{w(a['buyer'])} funded the escrow with {m(a['received'])}",
            "MilestoneSubmitted": lambda: (
                f"{by} submitted {milestone}"
                + (f", {a['daysLate']} days late" if a["daysLate"] else ", on time")
            ),
            "MilestoneAccepted": lambda: (
                f"{by} accepted {milestone}: {m(a['paid'])} to the "
                f"supplier, {m(a['penalty'])} penalty, {m(a['retention'])} retained"
            ),
            "MilestoneRejected": lambda: f"{by} rejected {milestone}",
            "MilestoneDisputed": lambda: f"{w(a['by'])} disputed {milestone}",
            "DisputeResolved": lambda: (
                f"{by} resolved the dispute on {milestone}: "
                f"{a['supplierBps'] / 100:g}% to the supplier, {m(a['paid'])} paid, "
                f"{m(a['penalty'])} penalty, {m(a['retention'])} retained, "
                f"{m(a['refunded'])} refunded"
            ),
            "WorkCompleted": lambda: (
                "every milestone is settled; the warranty runs until "
                f"{display.when(a['warrantyEndsAt'])}"
            ),
            "WarrantyClaimed": lambda: f"{by} drew {m(a['amount'])} from the retention",
            "RetentionReleased": lambda: (
                f"the retention of {m(a['amount'])} was released to {w(a['supplier'])}"
            ),
            "AgreementCompleted": lambda: "the agreement is completed",
            "Initialized": lambda: f"{where} was initialised",
            "AgreementTerminated": lambda: (
                f"{by} terminated the agreement: "
                f"{m(a['toSupplier'])} to the supplier, {m(a['toBuyer'])} to the buyer"
            ),
            "SurplusRecovered": lambda: (
                f"{m(a['amount'])} sent outside funding was credited to the buyer"
            ),
            "Credited": lambda: f"{w(a['account'])} was credited {m(a['amount'])}",
            "Withdrawn": lambda: f"{w(a['account'])} withdrew {m(a['amount'])}",
            "MemberAdded": lambda: f"{by} admitted member {w(a['member'])}",
            "MemberRemoved": lambda: f"{by} removed member {w(a['member'])}",
            "MemberRolesChanged": lambda: f"{by} changed the roles of {w(a['member'])}",
            "ThresholdChanged": lambda: f"{by} set the threshold to {a['threshold']}",
            "PolicySet": lambda: f"{by} set the policy of {a['selector']}",
            "ConflictDeclared": lambda: (
                f"{w(a['member'])} declared a conflict of interest with {w(a['subject'])}"
            ),
            "ConflictLifted": lambda: (
                f"{by} lifted the conflict of {w(a['member'])} with {w(a['subject'])}"
            ),
            "ActionApproved": lambda: f"{w(a['member'])} approved action {a['actionHash']}",
            "ApprovalRevoked": lambda: f"{w(a['member'])} revoked approval of {a['actionHash']}",
            "ActionExecuted": lambda: (
                f"{by} executed {a['selector']} on {w(a['target'])}, "
                f"signed by {', '.join(w(s) for s in a['signers'])}"
            ),
            "FundsReceived": lambda: f"{w(a['sender'])} sent {a['amount']} wei to the consortium",
        }
        make = table.get(entry_event)
        return make() if make else f"{entry_event} on {where}"


# ---------------------------------------------------------------------------- collecting


def collect(
    registry: Any,
    consortium: Any,
    *,
    tender_id: int | None = None,
    from_block: int = 0,
    scan_from: int = 0,
    to_block: int | None = None,
    names: Mapping[str, str] | None = None,
    chunk: int = 10_000,
    symbol: str | None = None,
    decimals: int | None = None,
) -> AuditLog:
    """Read the public record of ``registry`` and ``consortium`` from chain events alone.

    Args:
        registry: the Registry contract (or its address).
        consortium: the Consortium contract (or its address).
        tender_id: only this tender, its agreement, and the consortium's actions on them.
        from_block: leave out entries before this block (discovery still reads from
            ``scan_from``, so tenders published earlier are followed).
        scan_from: first block to read logs from (e.g. the deployment block).
        to_block: last block to read (default: the head).
        names: readable names for addresses, used in the sentences.
        chunk: blocks per ``eth_getLogs`` request.
        symbol: the token's symbol in sentences (default: the registry's token's ``symbol()``).
        decimals: the token's decimals in sentences (default: its ``decimals()``).

    Returns:
        The entries in block/log order, with the tenders and agreements found.

    Raises:
        ProcurechainError: ``tender_id`` is not a tender of this registry.
    """
    from ape import chain

    registry_address = _checksum(str(getattr(registry, "address", registry)))
    consortium_address = _checksum(str(getattr(consortium, "address", consortium)))
    end = int(chain.blocks.head.number) if to_block is None else int(to_block)
    reader = _Reader(int(scan_from), end, chunk)
    log = AuditLog(registry_address, consortium_address)
    decoder = EntryDecoder(names, log.unit)

    raw: list[tuple[str, RawLog]] = [
        ("Registry", RawLog.of(x)) for x in reader.logs([registry_address])
    ]
    created = decoder.topic("Registry", "TenderCreated")
    for _, item in raw:
        if item.topics[:1] == (created,):
            tender_id_, tender_address = (
                int.from_bytes(item.topics[1], "big"),
                _checksum(item.topics[2][-20:]),
            )
            log.tenders[tender_id_] = tender_address
    if tender_id is not None and tender_id not in log.tenders:
        raise ProcurechainError(
            f"registry {registry_address} has no tender {tender_id} (it has "
            f"{len(log.tenders)}); check the id with `ape run tender list`"
        )
    tenders = list(log.tenders.values()) if tender_id is None else [log.tenders[tender_id]]
    tender_logs = [RawLog.of(x) for x in reader.logs(tenders)]
    raw += [("Tender", x) for x in tender_logs]
    accepted = decoder.topic("Tender", "AwardAccepted")
    for item in tender_logs:
        if item.topics[:1] == (accepted,):
            log.agreements[item.address] = _checksum(item.topics[2][-20:])
    raw += [("Agreement", RawLog.of(x)) for x in reader.logs(log.agreements.values())]
    raw += [("Consortium", RawLog.of(x)) for x in reader.logs([consortium_address])]
    raw.sort(key=lambda pair: (pair[1].block, pair[1].log_index))
    reader.prefetch(item.block for _, item in raw)

    with _views_ahead(("Tender", t, m, ()) for t in tenders for m in ("bond", "token")):
        for tender in tenders:
            contract = _typed("Tender", tender)
            log.bonds[tender] = int(contract.bond())
            log.tokens[tender] = _checksum(str(contract.token()))
    log.unit = _token_words(registry_address, symbol, decimals)
    decoder.words = _Words(names or {}, log.unit)
    where_of = {t: f"tender {i}" for i, t in log.tenders.items()}
    where_of.update({a: f"the agreement of {where_of[t]}" for t, a in log.agreements.items()})

    entries: list[Entry] = []
    for kind, item in raw:
        entry = decoder.entry(
            kind,
            item,
            timestamp=reader.timestamp,
            sender=reader.sender,
            where=where_of,
            bonds=log.bonds,
        )
        if entry is not None:
            entries.append(entry)
    for entry in entries:
        if entry.event == "TextPublished":
            log.texts.setdefault(entry.args["hash"], entry)
    if tender_id is not None:
        entries = _only_tender(entries, tender_id, log)
    log.entries = [e for e in entries if e.block >= from_block]
    log.complete = tender_id is None and from_block <= scan_from
    return log


def _token_words(registry: str, symbol: str | None, decimals: int | None) -> display.Token:
    """How the sentences call amounts: as given, else as the registry's token says."""
    if symbol is not None and decimals is not None:
        return display.Token(symbol, decimals)
    token = _checksum(str(_typed("Registry", registry).token()))
    read = display.token_from(_typed("DemoStablecoin", token), token)
    return display.Token(
        read.symbol if symbol is None else symbol,
        read.decimals if decimals is None else decimals,
        token,
    )


def _only_tender(entries: list[Entry], tender_id: int, log: AuditLog) -> list[Entry]:
    tender = log.tenders[tender_id]
    subjects = {tender, *([log.agreements[tender]] if tender in log.agreements else [])}
    bidders = {e.args["bidder"] for e in entries if e.event == "BidCommitted"}
    txs = {e.tx for e in entries if e.event == "ActionExecuted" and e.args["target"] in subjects}
    hashes = {e.args["actionHash"] for e in entries if e.tx in txs and "actionHash" in e.args}
    kept = []
    for e in entries:
        if e.contract in ("Tender", "Agreement"):
            kept.append(e)  # only this tender's and its agreement's logs were read
        elif e.contract == "Registry":
            if e.event == "TenderCreated" and e.args["id"] == tender_id:
                kept.append(e)
        elif (
            e.tx in txs
            or e.args.get("actionHash") in hashes
            or (e.event.startswith("Conflict") and e.args["subject"] in subjects | bidders)
        ):
            kept.append(e)
    return kept


@contextmanager
def _views_ahead(calls: Iterable[tuple[str, str, str, tuple]]) -> Iterator[None]:
    """Run the view calls the code in the block is about to make in JSON-RPC batches first
    (over HTTP); their results are forgotten afterwards, since the chain moves on. A call
    missing from ``calls`` is simply made on its own."""
    from procurechain.bulk import connected_rpc

    rpc = connected_rpc()
    if rpc is None:
        yield
        return
    try:
        rpc.prefetch(calls)
        yield
    finally:
        rpc.memo.clear()


def _balance_calls(log: AuditLog) -> Iterator[tuple[str, str, str, tuple]]:
    for tender in log.bonds:
        yield ("DemoStablecoin", log.tokens[tender], "balanceOf", (tender,))
    for agreement in log.agreements.values():
        initialized = next(
            (e for e in log.at(agreement) if e.event == "AgreementInitialized"), None
        )
        if initialized is not None:
            yield ("DemoStablecoin", initialized.args["token"], "balanceOf", (agreement,))


def _verify_calls(log: AuditLog) -> Iterator[tuple[str, str, str, tuple]]:
    """Every view :func:`verify` reads (its checks below make the same calls)."""
    yield ("Registry", log.registry, "tenderCount", ())
    for e in log.entries:
        if e.event in ("AgencyAdded", "AgencyRemoved"):
            yield ("Registry", log.registry, "isAgency", (e.args["agency"],))
    yield ("Consortium", log.consortium, "members", ())
    yield ("Consortium", log.consortium, "threshold", ())
    for tender in log.bonds:
        for method in ("leader", "awardee", "rankingDeadline", "agreement", "cancelledAt", "stage"):
            yield ("Tender", tender, method, ())
        for bidder in replay_tender(log, tender).bidders:
            yield ("Tender", tender, "bidOf", (bidder,))
    for agreement in log.agreements.values():
        facts = replay_agreement(log, agreement)
        for method in (
            "buyer",
            "supplier",
            "price",
            "status",
            "escrowed",
            "retentionHeld",
            "totalCredits",
            "owed",
            "settledCount",
            "warrantyEndsAt",
            "token",
        ):
            yield ("Agreement", agreement, method, ())
        for index in range(len(facts.milestones)):
            yield ("Agreement", agreement, "milestone", (index,))
        for account in facts.credits:
            yield ("Agreement", agreement, "creditOf", (account,))
    yield from _balance_calls(log)


def _typed(name: str, address: str) -> Any:
    """Read-only access to a contract's views: plain ``eth_call`` over HTTP (about ten times
    less overhead per call than Ape's contract instances), Ape's instance otherwise."""
    from procurechain.bulk import ViewContract, connected_rpc
    from procurechain.deployments import typed

    rpc = connected_rpc()
    if rpc is None:
        return typed(name, address)
    return ViewContract(rpc, name, address)


# ---------------------------------------------------------------------------- totals


def reconcile(log: AuditLog) -> list[Flow]:
    """Tokens in and out of every tender and agreement according to the events, against
    ``token.balanceOf`` on chain (the consortium and the registry hold no tokens).

    A tender takes in one bond per first commitment and pays bonds out as withdrawn, returned
    or forfeited. An agreement takes in what funding delivered (``received``) and any surplus
    the contract recovered, and pays out what was withdrawn.

    The log must hold every entry of the contracts it reconciles (no ``from_block``).
    """
    with _views_ahead(_balance_calls(log)):
        return _reconcile(log)


def _reconcile(log: AuditLog) -> list[Flow]:
    flows: list[Flow] = []
    for tender in log.bonds:
        entries = log.at(tender)
        inflow = sum(e.amounts.get("bond", 0) for e in entries if e.event == "BidCommitted")
        outflow = sum(
            e.amounts["amount"]
            for e in entries
            if e.event in ("BondWithdrawn", "BondReturned", "BondForfeited")
        )
        flows.append(_flow("Tender", tender, log.tokens[tender], inflow, outflow))
    for agreement in log.agreements.values():
        entries = log.at(agreement)
        initialized = next((e for e in entries if e.event == "AgreementInitialized"), None)
        if initialized is None:
            continue
        inflow = sum(e.amounts["received"] for e in entries if e.event == "AgreementFunded")
        inflow += sum(e.amounts["amount"] for e in entries if e.event == "SurplusRecovered")
        outflow = sum(e.amounts["amount"] for e in entries if e.event == "Withdrawn")
        flows.append(_flow("Agreement", agreement, initialized.args["token"], inflow, outflow))
    return flows


def _flow(kind: str, address: str, token: str, inflow: int, outflow: int) -> Flow:
    balance = int(_typed("DemoStablecoin", token).balanceOf(address))
    return Flow(kind, address, token, inflow, outflow, balance)


# ---------------------------------------------------------------------------- formats


def to_jsonl(log: AuditLog) -> str:
    """One JSON object per line, per entry, in block/log order."""
    return "".join(json.dumps(e.as_dict(), sort_keys=False) + "\n" for e in log.entries)


def to_csv(log: AuditLog) -> str:
    """A CSV table: one row per entry; amounts as ``name=value`` pairs joined by ``;``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in log.entries:
        writer.writerow(
            (
                e.block,
                e.timestamp,
                e.tx,
                e.log_index,
                e.contract,
                e.address,
                e.event,
                e.actor,
                ";".join(e.signers),
                ";".join(f"{k}={v}" for k, v in e.amounts.items()),
                e.sentence,
            )
        )
    return out.getvalue()


# ---------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Difference:
    """One fact where the events and the contract's views disagree."""

    contract: str
    address: str
    fact: str
    from_events: Any
    on_chain: Any

    def __str__(self) -> str:
        return (
            f"{self.contract} {self.address}: {self.fact} is {self.on_chain!r} on chain but "
            f"{self.from_events!r} according to its events"
        )


@dataclass
class _Bidder:
    committed: bool = False
    revealed: bool = False
    valid: bool = False
    excluded: bool = False
    settled: bool = False
    commit_block: int = 0
    price: int = 0


@dataclass
class TenderFacts:
    """A tender's state replayed from its events."""

    address: str
    status: str = "open"  # open | awarded | contracted | cancelled
    leader: tuple[str, int] = (ZERO, 0)
    awardee: tuple[str, int] = (ZERO, 0)
    ranking_deadline: int = 0
    agreement: str = ZERO
    cancelled_at: int = 0
    bonds_held: int = 0
    bidders: dict[str, _Bidder] = field(default_factory=dict)


@dataclass
class _Milestone:
    amount: int = 0
    due_date: int = 0
    submitted_at: int = 0
    paid: int = 0
    penalty: int = 0
    retention: int = 0
    refunded: int = 0
    state: int = 0  # Agreement.MilestoneState
    evidence: str = "0x" + "00" * 32


@dataclass
class AgreementFacts:
    """An agreement's state and money replayed from its events."""

    address: str
    buyer: str = ZERO
    supplier: str = ZERO
    price: int = 0
    status: int = 0  # Agreement.Status
    escrowed: int = 0
    retention_held: int = 0
    credits: dict[str, int] = field(default_factory=dict)
    settled: int = 0
    warranty_ends_at: int = 0
    held: int = 0  # tokens in minus tokens out
    milestones: list[_Milestone] = field(default_factory=list)

    @property
    def total_credits(self) -> int:
        """Credits not yet withdrawn."""
        return sum(self.credits.values())

    @property
    def owed(self) -> int:
        """Escrow plus retention plus credits."""
        return self.escrowed + self.retention_held + self.total_credits


_SUBMITTED, _REJECTED, _DISPUTED, _ACCEPTED, _RESOLVED = 1, 2, 3, 4, 5
_ACTIVE, _COMPLETED, _TERMINATED = 1, 2, 3


def replay_tender(log: AuditLog, tender: str) -> TenderFacts:
    """A tender's competition, bidders and bonds from its events alone."""
    facts = TenderFacts(tender)
    bond = log.bonds[tender]
    for e in log.at(tender):
        a = e.args
        bidder = facts.bidders.setdefault(a.get("bidder", a.get("supplier", ZERO)), _Bidder())
        if e.event == "BidCommitted":
            bidder.committed, bidder.commit_block = True, e.block
            facts.bonds_held += 0 if a["replaced"] else bond
        elif e.event == "BidRevealed":
            bidder.revealed, bidder.valid, bidder.price = True, a["valid"], a["price"]
            if a["leading"]:
                facts.leader = (a["bidder"], a["price"])
        elif e.event == "RankClaimed" and a["leading"]:
            facts.leader = (a["bidder"], a["price"])
        elif e.event == "RankingOpened":
            facts.leader, facts.ranking_deadline = (ZERO, 0), a["deadline"]
        elif e.event == "BidderDisqualified":
            bidder.excluded = True
            if facts.leader[0] == a["bidder"]:
                facts.leader = (ZERO, 0)
            if facts.awardee[0] == a["bidder"]:
                facts.awardee, facts.status = (ZERO, facts.awardee[1]), "open"
        elif e.event == "BidAwarded":
            facts.awardee, facts.status = (a["bidder"], a["acceptDeadline"]), "awarded"
        elif e.event == "AwardLapsed":
            bidder.excluded = True
            facts.awardee, facts.status = (ZERO, facts.awardee[1]), "open"
        elif e.event == "AwardAccepted":
            facts.agreement, facts.status = a["agreement"], "contracted"
        elif e.event == "TenderCancelled":
            facts.status, facts.cancelled_at = "cancelled", e.timestamp
        elif e.event in ("BondWithdrawn", "BondReturned", "BondForfeited"):
            bidder.settled = True
            facts.bonds_held -= a["amount"]
            # a bidder that takes its bond back leaves: a leader cleared while another holds
            # the award (it cannot be the awardee, whose bond is locked)
            if facts.status == "awarded" and facts.leader[0] == a.get("bidder"):
                facts.leader = (ZERO, 0)
    facts.bidders.pop(ZERO, None)
    return facts


def replay_agreement(log: AuditLog, agreement: str) -> AgreementFacts:
    """An agreement's status, milestones and money from its events alone."""
    facts = AgreementFacts(agreement)
    created = 0
    for e in log.at(agreement):
        a = e.args
        indexed = "index" in a and e.event != "MilestoneScheduled"
        m = facts.milestones[a["index"]] if indexed else _Milestone()
        if e.event == "AgreementInitialized":
            facts.buyer, facts.supplier, facts.price = a["buyer"], a["supplier"], a["price"]
            created = e.timestamp
        elif e.event == "MilestoneScheduled":
            facts.milestones.append(_Milestone(amount=a["amount"], due_date=a["dueDate"]))
        elif e.event == "AgreementFunded":
            facts.status, facts.escrowed = _ACTIVE, facts.price
            facts.held += a["received"]
            for scheduled in facts.milestones:  # due dates count from funding
                scheduled.due_date += e.timestamp - created
        elif e.event == "MilestoneSubmitted":
            m.state, m.submitted_at, m.evidence = _SUBMITTED, e.timestamp, a["evidenceHash"]
        elif e.event == "MilestoneRejected":
            m.state = _REJECTED
        elif e.event == "MilestoneDisputed":
            m.state = _DISPUTED
        elif e.event == "MilestoneAccepted":
            m.state, m.paid, m.penalty, m.retention = (
                _ACCEPTED,
                a["paid"],
                a["penalty"],
                a["retention"],
            )
            facts.escrowed -= m.amount
            facts.retention_held += a["retention"]
            facts.settled += 1
        elif e.event == "DisputeResolved":
            m.state, m.paid, m.penalty, m.retention, m.refunded = (
                _RESOLVED,
                a["paid"],
                a["penalty"],
                a["retention"],
                a["refunded"],
            )
            facts.escrowed -= m.amount
            facts.retention_held += a["retention"]
            facts.settled += 1
        elif e.event == "WorkCompleted":
            facts.warranty_ends_at = a["warrantyEndsAt"]
        elif e.event == "WarrantyClaimed":
            facts.retention_held -= a["amount"]
        elif e.event == "RetentionReleased":
            facts.retention_held = 0
        elif e.event == "AgreementCompleted":
            facts.status = _COMPLETED
        elif e.event == "AgreementTerminated":
            facts.status, facts.escrowed, facts.retention_held = _TERMINATED, 0, 0
        elif e.event == "SurplusRecovered":
            facts.held += a["amount"]
        elif e.event == "Credited":
            facts.credits[a["account"]] = facts.credits.get(a["account"], 0) + a["amount"]
        elif e.event == "Withdrawn":
            facts.credits[a["account"]] = 0
            facts.held -= a["amount"]
    return facts


def _compare(
    found: list[Difference], kind: str, address: str, fact: str, events: Any, chain: Any
) -> None:
    if events != chain:
        found.append(Difference(kind, address, fact, events, chain))


def _verify_tender(log: AuditLog, tender: str) -> list[Difference]:
    facts = replay_tender(log, tender)
    contract = _typed("Tender", tender)
    found: list[Difference] = []

    def check(fact: str, events: Any, chain: Any) -> None:
        _compare(found, "Tender", tender, fact, events, chain)

    leader, leader_price = contract.leader()
    check("leader", facts.leader, (_checksum(leader), int(leader_price)))
    awardee, deadline = contract.awardee()
    check("awardee", facts.awardee, (_checksum(awardee), int(deadline)))
    check("rankingDeadline", facts.ranking_deadline, int(contract.rankingDeadline()))
    check("agreement", facts.agreement, _checksum(contract.agreement()))
    check("cancelledAt", facts.cancelled_at, int(contract.cancelledAt()))
    stage = int(contract.stage())
    final = {"contracted": 6, "cancelled": 7}.get(facts.status)
    if final is not None:
        check("stage", final, stage)
    elif facts.status == "awarded":
        check("stage (awarded or lapsed)", True, stage in (4, 5))
    balance = int(_typed("DemoStablecoin", log.tokens[tender]).balanceOf(tender))
    check("bonds held (token balance)", facts.bonds_held, balance)
    for address, bidder in facts.bidders.items():
        view = contract.bidOf(address)
        check(
            f"bid of {address} (committed, revealed, valid, excluded, bondSettled, "
            "commitBlock, price)",
            (
                bidder.committed,
                bidder.revealed,
                bidder.valid,
                bidder.excluded,
                bidder.settled,
                bidder.commit_block,
                bidder.price,
            ),
            tuple(int(v) if not isinstance(v, bool) else v for v in view),
        )
    return found


def _verify_agreement(log: AuditLog, agreement: str) -> list[Difference]:
    facts = replay_agreement(log, agreement)
    contract = _typed("Agreement", agreement)
    found: list[Difference] = []

    def check(fact: str, events: Any, chain: Any) -> None:
        _compare(found, "Agreement", agreement, fact, events, chain)

    check("parties (buyer, supplier, price)", (facts.buyer, facts.supplier, facts.price),
          (_checksum(contract.buyer()), _checksum(contract.supplier()),
           int(contract.price())))  # fmt: skip
    check("status", facts.status, int(contract.status()))
    check("escrowed", facts.escrowed, int(contract.escrowed()))
    check("retentionHeld", facts.retention_held, int(contract.retentionHeld()))
    check("totalCredits", facts.total_credits, int(contract.totalCredits()))
    check("owed", facts.owed, int(contract.owed()))
    check("settledCount", facts.settled, int(contract.settledCount()))
    check("warrantyEndsAt", facts.warranty_ends_at, int(contract.warrantyEndsAt()))
    token = _typed("DemoStablecoin", contract.token())
    balance = int(token.balanceOf(agreement))
    check("token balance", facts.held, balance)
    check("token balance against owed", facts.owed, balance)
    for account, credit in facts.credits.items():
        check(f"credit of {account}", credit, int(contract.creditOf(account)))
    for index, m in enumerate(facts.milestones):
        view = contract.milestone(index)
        check(
            f"milestone {index + 1} (amount, dueDate, state, submittedAt, evidenceHash, paid, "
            "penalty, retention, refunded)",
            (
                m.amount,
                m.due_date,
                m.state,
                m.submitted_at,
                m.evidence,
                m.paid,
                m.penalty,
                m.retention,
                m.refunded,
            ),
            (
                int(view.amount),
                int(view.dueDate),
                int(view.state),
                int(view.submittedAt),
                _hex(bytes(view.evidenceHash)),
                int(view.paid),
                int(view.penalty),
                int(view.retention),
                int(view.refunded),
            ),
        )
    return found


def _verify_registry(log: AuditLog) -> list[Difference]:
    contract = _typed("Registry", log.registry)
    found: list[Difference] = []
    _compare(
        found,
        "Registry",
        log.registry,
        "tenderCount",
        len(log.tenders),
        int(contract.tenderCount()),
    )
    agencies: dict[str, bool] = {}
    for e in log.entries:
        if e.event in ("AgencyAdded", "AgencyRemoved"):
            agencies[e.args["agency"]] = e.event == "AgencyAdded"
    for agency, active in agencies.items():
        _compare(
            found, "Registry", log.registry, f"isAgency({agency})", active,
            bool(contract.isAgency(agency)),
        )  # fmt: skip
    return found


def _verify_consortium(log: AuditLog) -> list[Difference]:
    contract = _typed("Consortium", log.consortium)
    members: set[str] = set()
    threshold = 0
    for e in log.entries:
        if e.address != log.consortium:
            continue
        if e.event == "MemberAdded":
            members.add(e.args["member"])
        elif e.event == "MemberRemoved":
            members.discard(e.args["member"])
        elif e.event == "ThresholdChanged":
            threshold = e.args["threshold"]
    on_chain = {_checksum(m) for m in contract.members()}
    found: list[Difference] = []
    _compare(found, "Consortium", log.consortium, "members", sorted(members), sorted(on_chain))
    _compare(found, "Consortium", log.consortium, "threshold", threshold, int(contract.threshold()))
    return found


def verify(log: AuditLog) -> list[Difference]:
    """Replay every tender and agreement of ``log`` and compare with the contracts' views.

    Also checks the Registry (tender count, agencies) and the Consortium (members,
    threshold) against their events.

    Args:
        log: a log collected without ``tender_id`` or ``from_block`` (the replay needs every
            event).

    Returns:
        Every difference found; empty when the chain's state is what its events say.

    Raises:
        ProcurechainError: the log is filtered.
    """
    if not log.complete:
        raise ProcurechainError(
            "verify needs every event: collect the log without tender_id and from_block"
        )
    with _views_ahead(_verify_calls(log)):
        found = _verify_registry(log) + _verify_consortium(log)
        for tender in log.bonds:
            found += _verify_tender(log, tender)
        for agreement in log.agreements.values():
            found += _verify_agreement(log, agreement)
    return found
