"""The events the checker reads: their hard-coded signatures, and logs decoded by them.

Independent of the code it checks: no compiled ABI. A log is recognised by its first topic
(the keccak of the signature string) and by how many of its fields are indexed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_abi import decode
from eth_utils import keccak

if TYPE_CHECKING:
    from procurechain.invariants.history import ChainHistory


@dataclass(frozen=True)
class EventSpec:
    """An event's name and fields, as its Solidity declaration gives them.

    Attributes:
        name: the event's name, e.g. ``"Transfer"``.
        fields: ``(name, ABI type, indexed)`` of each parameter, in order.
    """

    name: str
    fields: tuple[tuple[str, str, bool], ...]

    @property
    def signature(self) -> str:
        """The canonical signature, e.g. ``"Transfer(address,address,uint256)"``."""
        return f"{self.name}({','.join(t for _, t, _ in self.fields)})"

    @property
    def topic(self) -> str:
        """The first topic of its logs: the keccak of :attr:`signature`, as 0x-hex."""
        return "0x" + keccak(text=self.signature).hex()


def _spec(name: str, *fields: str) -> EventSpec:
    """``_spec("Transfer", "from address indexed", "to address indexed", "value uint256")``."""
    parsed = []
    for text in fields:
        words = text.split()
        parsed.append((words[0], words[1], len(words) > 2 and words[2] == "indexed"))
    return EventSpec(name, tuple(parsed))


_I = "indexed"
#: Every event the checker reads, by its signature (checked against contracts/ at c654690).
#: ``DisputeResolved`` is known in two shapes: without and with the late ``penalty``.
EVENTS: tuple[EventSpec, ...] = (
    _spec(
        "TenderCreated",
        f"id uint256 {_I}",
        f"tender address {_I}",
        f"agency address {_I}",
        "documentsHash bytes32",
        "plan (uint16,uint32,bytes32)[]",
    ),
    _spec("BidCommitted", f"bidder address {_I}", "commitment bytes32", "replaced bool"),
    _spec(
        "BidRevealed",
        f"bidder address {_I}",
        "price uint256",
        "documentHash bytes32",
        "valid bool",
        "leading bool",
    ),
    _spec(
        "BidAwarded",
        f"bidder address {_I}",
        "price uint256",
        "reportHash bytes32",
        "acceptDeadline uint256",
    ),
    _spec("AwardLapsed", f"bidder address {_I}"),
    _spec("AwardAccepted", f"supplier address {_I}", f"agreement address {_I}", "price uint256"),
    _spec("BondWithdrawn", f"bidder address {_I}", "amount uint256"),
    _spec("BondReturned", f"bidder address {_I}", "amount uint256"),
    _spec("BondForfeited", f"bidder address {_I}", f"buyer address {_I}", "amount uint256"),
    _spec(
        "AgreementInitialized",
        f"consortium address {_I}",
        f"buyer address {_I}",
        f"supplier address {_I}",
        "token address",
        "price uint256",
        "milestoneCount uint256",
    ),
    _spec(
        "MilestoneScheduled",
        f"index uint256 {_I}",
        "amount uint256",
        "dueDate uint256",
        "descriptionHash bytes32",
    ),
    _spec(
        "AgreementFunded",
        f"buyer address {_I}",
        "pulled uint256",
        "received uint256",
        "surplus uint256",
    ),
    _spec(
        "MilestoneSubmitted",
        f"index uint256 {_I}",
        "evidenceHash bytes32",
        "evidenceURI string",
        "daysLate uint256",
    ),
    _spec(
        "MilestoneAccepted",
        f"index uint256 {_I}",
        "paid uint256",
        "penalty uint256",
        "retention uint256",
    ),
    _spec(
        "DisputeResolved",
        f"index uint256 {_I}",
        "supplierBps uint256",
        "paid uint256",
        "retention uint256",
        "refunded uint256",
        "reasonHash bytes32",
    ),
    _spec(
        "DisputeResolved",
        f"index uint256 {_I}",
        "supplierBps uint256",
        "paid uint256",
        "penalty uint256",
        "retention uint256",
        "refunded uint256",
        "reasonHash bytes32",
    ),
    _spec("Credited", f"account address {_I}", "amount uint256", "balance uint256"),
    _spec("Withdrawn", f"account address {_I}", "amount uint256"),
    _spec(
        "ActionExecuted",
        f"actionHash bytes32 {_I}",
        f"target address {_I}",
        f"selector bytes4 {_I}",
        "value uint256",
        "signers address[]",
    ),
    _spec("MemberAdded", f"member address {_I}", "roles uint8"),
    _spec("MemberRemoved", f"member address {_I}"),
    _spec("MemberRolesChanged", f"member address {_I}", "previousRoles uint8", "roles uint8"),
    _spec("ThresholdChanged", "previousThreshold uint256", "threshold uint256"),
    _spec("PolicySet", f"selector bytes4 {_I}", "requiredRoles uint8", "subjectArg uint8"),
    _spec(
        "ConflictDeclared", f"member address {_I}", f"subject address {_I}", "reasonHash bytes32"
    ),
    _spec("ConflictLifted", f"member address {_I}", f"subject address {_I}"),
)
#: The ERC-20 ``Transfer`` of the token (read from the token, not from our contracts).
TRANSFER = _spec("Transfer", f"from address {_I}", f"to address {_I}", "value uint256")
#: Every known spec by its first topic.
BY_TOPIC: dict[str, EventSpec] = {spec.topic: spec for spec in (*EVENTS, TRANSFER)}
#: The first topics of our contracts' events (the ``eth_getLogs`` filter).
CONTRACT_TOPICS = [spec.topic for spec in EVENTS]
#: The topic of ``ActionExecuted`` (whose transactions' calldata is fetched).
ACTION_EXECUTED = next(spec.topic for spec in EVENTS if spec.name == "ActionExecuted")


@dataclass(frozen=True)
class Event:
    """A decoded log: its name, emitter, position and arguments (addresses lower-case,
    bytes as 0x-hex)."""

    name: str
    address: str
    block: int
    tx: str
    index: int
    args: dict[str, Any]


def _norm(value: Any, abi_type: str) -> Any:
    if abi_type == "address":
        return str(value).lower()
    if abi_type.endswith("[]"):
        return [_norm(v, abi_type[:-2]) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple):
        return [_norm(v, "") for v in value]
    return value


def decode_log(log: Mapping[str, Any]) -> Event | None:
    """A stored log decoded by its spec (None when no known spec fits it).

    Args:
        log: a log as :class:`~procurechain.invariants.ChainHistory` stores it (integer
            block number and log index).

    Returns:
        The event, or None for an unknown topic or a known one indexed differently.
    """
    topics = log["topics"]
    spec = BY_TOPIC.get(topics[0]) if topics else None
    if spec is None:
        return None
    indexed = [(n, t) for n, t, i in spec.fields if i]
    plain = [(n, t) for n, t, i in spec.fields if not i]
    if len(topics) != len(indexed) + 1:
        return None  # same signature, different indexing: not our event
    args: dict[str, Any] = {}
    for (name, abi_type), topic in zip(indexed, topics[1:], strict=True):
        args[name] = _norm(decode([abi_type], bytes.fromhex(topic[2:]))[0], abi_type)
    values = decode([t for _, t in plain], bytes.fromhex(log["data"][2:]))
    for (name, abi_type), value in zip(plain, values, strict=True):
        args[name] = _norm(value, abi_type)
    return Event(
        spec.name,
        log["address"].lower(),
        int(log["blockNumber"]),
        log["transactionHash"],
        int(log["logIndex"]),
        args,
    )


def decode_events(history: ChainHistory | Mapping[str, Any]) -> list[Event]:
    """Every log of ``history`` this package knows, decoded, in chain order.

    Args:
        history: a :class:`~procurechain.invariants.ChainHistory` or its JSON form.

    Returns:
        The events, sorted by block and log index.
    """
    data = history if isinstance(history, Mapping) else history.to_json()
    events = [e for e in map(decode_log, data["logs"]) if e is not None]
    return sorted(events, key=lambda e: (e.block, e.index))
