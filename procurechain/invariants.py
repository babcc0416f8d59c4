"""Invariants of a procurechain deployment, computed from the chain alone.

Independent of the code it checks: no compiled ABI, no Python model of the contracts, no
view function of theirs. Events are decoded by hard-coded signatures (the topic is the
keccak of the signature string), token balances are read with a raw ``balanceOf`` call, and
the consortium's actions are decoded from the transactions' own calldata and matched to the
executed action hash by recomputing the EIP-712 digest.

Two parts:

- :class:`ChainHistory` fetches, over plain JSON-RPC (batched), the logs of the registry,
  the tenders it created, the agreements they created, the consortium and the token's
  ``Transfer`` logs touching tenders and agreements, with the timestamps of their blocks, the
  calldata of every executed consortium action and the token balances of every tender and
  agreement. :meth:`ChainHistory.extend` adds the blocks mined since the last call (three
  batched requests; a chain that was reverted under it, e.g. an Anvil snapshot, is rewound
  to the last block it still shares). The history is plain JSON (:meth:`ChainHistory.to_json`)
  and can be stored as a fixture.
- :func:`check` takes a history (or its JSON) and returns the :class:`Violation` list: each
  one a plain sentence naming the contract, the block, the transaction and the amounts.

Invariants (rule codes in brackets; see :data:`RULES`):

a. [a.balance] a tender holds exactly its bond times the bidders whose bond it still holds
   (first ``BidCommitted`` per bidder, minus one per settled bidder), by its ``Transfer``
   logs after every transaction and by the balance read at the end;
b. [b.double, b.overpaid, b.unexplained, b.stranger] a bond is settled at most once
   (``BondWithdrawn`` / ``BondReturned`` / ``BondForfeited``), the tokens a tender sends one
   bidder never exceed one bond, and every token leaving a tender is one settlement event;
c. [c.balance, c.credits, c.unexplained, c.short, c.credit-balance, c.milestone, c.terms]
   an agreement's balance read equals its transfers in minus out, never falls below the
   credits it owes, tokens leave it only as ``Withdrawn`` credits, the supplier's credits
   never exceed the price, milestone money adds up and the agreement is the one its tender
   created (supplier, price, buyer, consortium, token);
d. [d.no-action, d.selector, d.member, d.threshold, d.roles, d.recused] every payment to a
   supplier (``MilestoneAccepted`` / ``DisputeResolved`` with ``paid > 0``) is in the same
   transaction as, and after, a consortium ``ActionExecuted`` aimed at that agreement whose
   signers, as of that block, are legitimate members, at least the threshold, hold the roles
   that paying requires (``pay_roles``: by default the first policy of
   ``acceptMilestone(uint256)``), and none of whom has an open conflict with the agreement, its
   supplier, its tender, the tender's buyer or any bidder of that tender;
e. [e.roles, e.self, e.undecodable] every governance change (an action aimed at the
   consortium itself) is signed by signers holding every role any policy required at
   deployment, none of them the member the change names as its first argument. Changes that
   break this are not recognised: membership, roles, threshold, policies and lifted conflicts
   they produce do not count for (d);
f. [f.penalty, f.days-late] due dates count from funding (scheduled due date plus the time
   from ``AgreementInitialized`` to ``AgreementFunded``): no penalty when the latest
   submission was not after it, and no submission that was not after it is reported late
   (``daysLate > 0``);
g. [g.member, g.threshold, g.roles, g.recused, g.order] every ``ActionExecuted`` obeys the
   consortium's own rules as replayed from its events (members, threshold, sorted distinct
   signers, the policy in force, recusal from the target and the policy's subject argument).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

__all__ = [
    "EVENTS",
    "RULES",
    "ChainHistory",
    "Event",
    "Violation",
    "check",
    "decode_events",
]

DAY = 24 * 3600
ZERO = "0x" + "00" * 20

# ------------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class _Spec:
    name: str
    fields: tuple[tuple[str, str, bool], ...]  # (name, ABI type, indexed)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(t for _, t, _ in self.fields)})"

    @property
    def topic(self) -> str:
        return "0x" + keccak(text=self.signature).hex()


def _spec(name: str, *fields: str) -> _Spec:
    """``_spec("Transfer", "from address indexed", "to address indexed", "value uint256")``."""
    parsed = []
    for text in fields:
        words = text.split()
        parsed.append((words[0], words[1], len(words) > 2 and words[2] == "indexed"))
    return _Spec(name, tuple(parsed))


_I = "indexed"
#: Every event the checker reads, by its signature (checked against contracts/ at c654690).
#: ``DisputeResolved`` is known in two shapes: without and with the late ``penalty``.
EVENTS: tuple[_Spec, ...] = (
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
_TRANSFER = _spec("Transfer", f"from address {_I}", f"to address {_I}", "value uint256")
_BY_TOPIC: dict[str, _Spec] = {spec.topic: spec for spec in (*EVENTS, _TRANSFER)}
_CONTRACT_TOPICS = [spec.topic for spec in EVENTS]


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()[:8]


_ROLE_NAMES = ("agency", "auditor", "citizen", "technical", "legal")
#: Functions named in sentences instead of their bare selectors (display only).
_FUNCTIONS = {
    _selector(signature): signature.split("(")[0]
    for signature in (
        "acceptMilestone(uint256)",
        "rejectMilestone(uint256,bytes32)",
        "resolveDispute(uint256,uint256,bytes32)",
        "claimWarranty(uint256,bytes32)",
        "terminate(bytes32)",
        "award(address,bytes32)",
        "disqualify(address,bytes32)",
        "cancel(bytes32)",
        "addAgency(address)",
        "removeAgency(address)",
        "raisePhaseCap(uint128)",
        "addMember(address,uint8)",
        "removeMember(address)",
        "setMemberRoles(address,uint8)",
        "setThreshold(uint256)",
        "setPolicy(bytes4,uint8,uint8)",
        "liftConflict(address,address)",
    )
}


def _roles(bits: int) -> str:
    names = [name for i, name in enumerate(_ROLE_NAMES) if bits >> i & 1]
    return "+".join(names) if names else "no role"


def _function(selector: str) -> str:
    return _FUNCTIONS.get(selector, selector)


ACCEPT = _selector("acceptMilestone(uint256)")
RESOLVE = _selector("resolveDispute(uint256,uint256,bytes32)")
EXECUTE = _selector("execute((address,uint256,bytes,uint256,uint256),bytes)")
_BALANCE_OF = _selector("balanceOf(address)")
_ACTION_TYPEHASH = keccak(
    text="Action(address target,uint256 value,bytes data,uint256 nonce,uint256 deadline)"
)
_DOMAIN_TYPEHASH = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)

#: What each rule code means (the first letter is the invariant of the module docstring).
RULES: dict[str, str] = {
    "a.balance": "a tender holds its bond times the bidders whose bond it still holds",
    "b.double": "a bidder's bond is settled at most once",
    "b.overpaid": "a tender sends one bidder at most one bond",
    "b.unexplained": "every token leaving a tender is one settlement event",
    "b.stranger": "bonds are settled only for bidders that committed",
    "c.balance": "an agreement's balance is its transfers in minus out",
    "c.short": "an agreement holds at least the credits it owes",
    "c.unexplained": "tokens leave an agreement only as a Withdrawn credit",
    "c.credit-balance": "Credited/Withdrawn amounts add up per account",
    "c.credits": "the supplier's credits never exceed the price",
    "c.milestone": "milestone money adds up and each milestone settles once",
    "c.terms": "an agreement is the one its tender created",
    "d.no-action": "a payment follows a consortium action aimed at the agreement",
    "d.selector": "a payment follows acceptMilestone or resolveDispute",
    "d.member": "payment signers are legitimate members",
    "d.threshold": "payment signers reach the threshold",
    "d.roles": "payment signers hold the roles paying requires",
    "d.recused": "no payment signer is in conflict with a party of the procurement",
    "e.roles": "governance signers hold every role required at deployment",
    "e.self": "no governance signer is the member the change names",
    "e.undecodable": "a governance action can be read from its transaction",
    "f.penalty": "no late penalty when the submission was not after the due date from funding",
    "f.days-late": "a submission not after its due date from funding is not reported late",
    "g.member": "signers are members",
    "g.threshold": "signers reach the threshold",
    "g.order": "signers are sorted and distinct",
    "g.roles": "signers hold the roles of the policy in force",
    "g.recused": "no signer is recused from the action's target or subject",
}


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


def _decode_log(log: Mapping[str, Any]) -> Event | None:
    topics = log["topics"]
    spec = _BY_TOPIC.get(topics[0]) if topics else None
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
    """Every log of ``history`` this module knows, decoded, in chain order.

    Args:
        history: a :class:`ChainHistory` or its JSON form.

    Returns:
        The events, sorted by block and log index.
    """
    data = history.to_json() if isinstance(history, ChainHistory) else history
    events = [e for e in map(_decode_log, data["logs"]) if e is not None]
    return sorted(events, key=lambda e: (e.block, e.index))


# ------------------------------------------------------------------------------- the history


def _hex(number: int) -> str:
    return hex(number)


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
        self._tenders: set[str] = set()
        self._agreements: set[str] = set()

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

    def _batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        if self.rpc_url is None:
            raise ValueError("this history has no rpc_url to fetch from")
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        replies = self.session.post(self.rpc_url, json=payload, timeout=60).json()
        by_id = {r["id"]: r for r in replies}
        results = []
        for i, (method, _) in enumerate(calls):
            reply = by_id[i]
            if "error" in reply:
                raise RuntimeError(f"{method} failed: {reply['error']}")
            results.append(reply["result"])
        return results

    def extend(self, to_block: int | None = None) -> int:
        """Fetch the blocks after :attr:`to_block` up to ``to_block`` (default: the head).

        Three batched requests: the head (and the stored head's hash, to notice a chain
        that was reverted, which is then rewound), the logs, then block times, action
        calldata and balances. Returns the number of logs added.
        """
        head_calls: list[tuple[str, list[Any]]] = [("eth_blockNumber", []), ("eth_chainId", [])]
        known = self.data["blocks"].get(str(self.to_block))
        if known is not None:
            head_calls.append(("eth_getBlockByNumber", [_hex(self.to_block), False]))
        replies = self._batch(head_calls)
        head, self.data["chainId"] = int(replies[0], 16), int(replies[1], 16)
        rewound = known is not None and (replies[2] is None or replies[2]["hash"] != known["hash"])
        if rewound:
            self._rewind(head)
        target = head if to_block is None else min(int(to_block), head)
        if target <= self.to_block:
            if rewound:  # the balances read on the abandoned chain are gone: read them again
                self._fetch_details([], self.to_block)
            return 0
        start = self.to_block + 1
        contract_logs, transfer_logs, header = self._batch(
            [
                (
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": _hex(start),
                            "toBlock": _hex(target),
                            "topics": [_CONTRACT_TOPICS],
                        }
                    ],
                ),
                (
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": _hex(start),
                            "toBlock": _hex(target),
                            "address": to_checksum_address(self.data["token"]),
                            "topics": [_TRANSFER.topic],
                        }
                    ],
                ),
                ("eth_getBlockByNumber", [_hex(target), False]),
            ]
        )
        added = self._keep(contract_logs, transfer_logs)
        self._fetch_details(added, target)
        self._store_block(header)
        self.data["toBlock"] = target
        return len(added)

    def _keep(self, contract_logs: list[dict], transfer_logs: list[dict]) -> list[dict]:
        """Logs of the followed contracts (discovering tenders and agreements in order), then
        the token transfers touching them."""
        kept = []
        registry, consortium = self.data["registry"], self.data["consortium"]
        ordered = sorted(
            contract_logs, key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16))
        )
        for log in ordered:
            emitter, topics = log["address"].lower(), log["topics"]
            if emitter not in {registry, consortium} | self._tenders | self._agreements:
                continue
            self._discover(emitter, topics)
            kept.append(_raw(log))
        followed = self._tenders | self._agreements
        for log in transfer_logs:
            ends = {"0x" + t[-40:].lower() for t in log["topics"][1:3]}
            if len(log["topics"]) == 3 and ends & followed:
                kept.append(_raw(log))
        kept.sort(key=lambda g: (g["blockNumber"], g["logIndex"]))
        self.data["logs"].extend(kept)
        return kept

    def _discover(self, emitter: str, topics: list[str]) -> None:
        name = _BY_TOPIC[topics[0]].name if topics and topics[0] in _BY_TOPIC else ""
        if name == "TenderCreated" and emitter == self.data["registry"] and len(topics) == 4:
            self._tenders.add("0x" + topics[2][-40:].lower())
        if name == "AwardAccepted" and emitter in self._tenders and len(topics) == 3:
            self._agreements.add("0x" + topics[2][-40:].lower())

    def _rediscover(self) -> None:
        self._tenders, self._agreements = set(), set()
        for log in self.data["logs"]:
            self._discover(log["address"].lower(), log["topics"])

    def _fetch_details(self, added: list[dict], target: int) -> None:
        blocks = sorted({g["blockNumber"] for g in added} - {int(b) for b in self.data["blocks"]})
        action_topic = _BY_TOPIC_NAME["ActionExecuted"]
        txs = sorted(
            {
                g["transactionHash"]
                for g in added
                if g["topics"][0] == action_topic and g["address"] == self.data["consortium"]
            }
        )
        holders = sorted(self._tenders | self._agreements)
        token = to_checksum_address(self.data["token"])
        calls: list[tuple[str, list[Any]]] = [
            ("eth_getBlockByNumber", [_hex(b), False]) for b in blocks
        ]
        calls += [("eth_getTransactionByHash", [h]) for h in txs]
        calls += [
            (
                "eth_call",
                [{"to": token, "data": _BALANCE_OF + "00" * 12 + a[2:]}, _hex(target)],
            )
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

    def _rewind(self, head: int) -> None:
        """The chain no longer holds our last block: keep what it still shares."""
        numbers = sorted((int(b) for b in self.data["blocks"] if int(b) <= head), reverse=True)
        headers = self._batch([("eth_getBlockByNumber", [_hex(n), False]) for n in numbers])
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


_BY_TOPIC_NAME = {spec.name: spec.topic for spec in EVENTS}


def _raw(log: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "address": log["address"].lower(),
        "topics": [t.lower() for t in log["topics"]],
        "data": log["data"],
        "blockNumber": int(log["blockNumber"], 16),
        "transactionHash": log["transactionHash"],
        "logIndex": int(log["logIndex"], 16),
    }


# ------------------------------------------------------------------------------- the checker


@dataclass(frozen=True)
class Violation:
    """One broken invariant.

    Attributes:
        rule: the rule code (a key of :data:`RULES`), e.g. ``"b.double"``.
        contract: the contract concerned, e.g. ``"Tender #1 0xAbC..."``.
        block: the block where it shows.
        tx: the transaction where it shows ("" for a balance read at the end).
        message: one plain-English sentence with the contract, block, tx and amounts.
        amounts: the figures of the sentence, by name (token base units, seconds, counts).
    """

    rule: str
    contract: str
    block: int
    tx: str
    message: str
    amounts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"[{self.rule}] {self.message}"


@dataclass
class _Council:
    """The consortium's membership as replayed from its events."""

    members: dict[str, int] = field(default_factory=dict)
    threshold: int = 0
    policies: dict[str, tuple[int, int]] = field(default_factory=dict)
    conflicts: set[tuple[str, str]] = field(default_factory=set)

    def roles(self, signers: Iterable[str]) -> int:
        held = 0
        for signer in signers:
            held |= self.members.get(signer, 0)
        return held

    def apply(self, event: Event) -> None:
        a = event.args
        if event.name == "MemberAdded":
            self.members[a["member"]] = a["roles"]
        elif event.name == "MemberRemoved":
            self.members.pop(a["member"], None)
        elif event.name == "MemberRolesChanged":
            self.members[a["member"]] = a["roles"]
        elif event.name == "ThresholdChanged":
            self.threshold = a["threshold"]
        elif event.name == "PolicySet":
            self.policies[a["selector"]] = (a["requiredRoles"], a["subjectArg"])
        elif event.name == "ConflictDeclared":
            self.conflicts.add((a["member"], a["subject"]))
        elif event.name == "ConflictLifted":
            self.conflicts.discard((a["member"], a["subject"]))


@dataclass
class _Tender:
    address: str
    id: int
    buyer: str
    bidders: list[str] = field(default_factory=list)
    settled: dict[str, list[tuple[str, int, int, str]]] = field(default_factory=dict)
    bond: int | None = None
    balance: int = 0
    paid_to: Counter[str] = field(default_factory=Counter)
    overpaid_reported: set[str] = field(default_factory=set)
    gap: int = 0

    @property
    def label(self) -> str:
        return f"Tender #{self.id} {to_checksum_address(self.address)}"

    def owed(self) -> tuple[int, int]:
        """(bonds still held, tokens they amount to)."""
        held = sum(1 for b in self.bidders if b not in self.settled)
        return held, held * (self.bond or 0)


@dataclass
class _Milestone:
    amount: int
    due: int
    submitted: int | None = None
    settled: str = ""


@dataclass
class _Agreement:
    address: str
    tender: _Tender
    supplier: str
    price: int
    created: int | None = None
    funded: int | None = None
    milestones: dict[int, _Milestone] = field(default_factory=dict)
    balance: int = 0
    credits: Counter[str] = field(default_factory=Counter)
    credited_supplier: int = 0
    over_price_reported: bool = False
    short_gap: int = 0

    @property
    def label(self) -> str:
        return f"Agreement {to_checksum_address(self.address)} (tender #{self.tender.id})"

    def due(self, index: int) -> tuple[int, int] | None:
        """(scheduled due date, due date counted from funding) once funded."""
        m = self.milestones.get(index)
        if m is None or self.created is None or self.funded is None:
            return None
        return m.due, m.due + (self.funded - self.created)


def _addr(value: str) -> str:
    return to_checksum_address(value)


def _names(addresses: Iterable[str]) -> str:
    return ", ".join(_addr(a) for a in addresses)


class _Checker:
    """One chronological pass over the decoded events."""

    def __init__(self, data: Mapping[str, Any], pay_roles: int | None) -> None:
        self.data = data
        self.registry, self.consortium = data["registry"], data["consortium"]
        self.token = data["token"]
        self.events = decode_events(data)
        self.violations: list[Violation] = []
        self.actual, self.legit = _Council(), _Council()
        self.ever_members: set[str] = set()
        self.tenders: dict[str, _Tender] = {}
        self.agreements: dict[str, _Agreement] = {}
        self.tainted: set[str] = set()
        self.pay_roles, self.gov_roles = self._deployment_roles(pay_roles)
        self._reset_tx()

    def _deployment_roles(self, pay_roles: int | None) -> tuple[int, int]:
        mine = [e for e in self.events if e.address == self.consortium]
        first_tx = mine[0].tx if mine else ""
        gov = 0
        pay = None
        for e in mine:
            if e.name != "PolicySet":
                continue
            if e.tx == first_tx:
                gov |= e.args["requiredRoles"]
            if pay is None and e.args["selector"] == ACCEPT:
                pay = e.args["requiredRoles"]
        return (pay or 0) if pay_roles is None else pay_roles, gov

    def _reset_tx(self) -> None:
        self.tx_actions: list[tuple[Event, bytes | None]] = []
        self.out_expected: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)
        self.out_actual: dict[str, Counter[tuple[str, int]]] = defaultdict(Counter)
        self.inflows: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.first_commits: dict[str, list[str]] = defaultdict(list)
        self.touched: set[str] = set()
        self.initialized: set[str] = set()

    def report(
        self, rule: str, contract: str, event: Event | None, text: str, **amounts: int
    ) -> None:
        block = event.block if event else int(self.data["toBlock"])
        tx = event.tx if event else ""
        where = f"block {block}, tx {tx}" if tx else f"balance read at block {block}"
        message = f"{contract} ({where}): {text}"
        self.violations.append(Violation(rule, contract, block, tx, message, dict(amounts)))

    def time(self, block: int) -> int:
        return int(self.data["blocks"][str(block)]["timestamp"])

    # ---------------------------------------------------------------- the pass

    def run(self) -> list[Violation]:
        current: tuple[int, str] | None = None
        last: Event | None = None
        for event in self.events:
            if current is not None and (event.block, event.tx) != current and last is not None:
                self.end_tx(last)
            current, last = (event.block, event.tx), event
            self.dispatch(event)
        if last is not None:
            self.end_tx(last)
        self.end_reads()
        return self.violations

    def dispatch(self, e: Event) -> None:
        if e.address == self.token and e.name == "Transfer":
            self.on_transfer(e)
        elif e.address == self.registry and e.name == "TenderCreated":
            a = e.args
            self.tenders[a["tender"]] = _Tender(a["tender"], a["id"], a["agency"])
        elif e.address == self.consortium:
            self.on_consortium(e)
        elif e.address in self.tenders:
            self.on_tender(self.tenders[e.address], e)
        elif e.address in self.agreements:
            self.on_agreement(self.agreements[e.address], e)

    # ---------------------------------------------------------------- token

    def on_transfer(self, e: Event) -> None:
        source, target, value = e.args["from"], e.args["to"], e.args["value"]
        for address, sign in ((source, -1), (target, 1)):
            holder = self.tenders.get(address) or self.agreements.get(address)
            if holder is None:
                continue
            holder.balance += sign * value
            self.touched.add(address)
            if sign < 0:
                self.out_actual[address][(target, value)] += 1
                if isinstance(holder, _Tender):
                    holder.paid_to[target] += value
            else:
                self.inflows[address].append((source, value))

    # ---------------------------------------------------------------- tenders

    def on_tender(self, t: _Tender, e: Event) -> None:
        a = e.args
        self.touched.add(t.address)
        if e.name == "BidCommitted" and a["bidder"] not in t.bidders:
            t.bidders.append(a["bidder"])
            self.first_commits[t.address].append(a["bidder"])
        elif e.name in ("BondWithdrawn", "BondReturned", "BondForfeited"):
            self.on_settlement(t, e)
        elif e.name == "AwardAccepted":
            self.agreements[a["agreement"]] = _Agreement(
                a["agreement"], t, a["supplier"], a["price"]
            )

    def on_settlement(self, t: _Tender, e: Event) -> None:
        bidder, amount = e.args["bidder"], e.args["amount"]
        to = e.args.get("buyer", bidder)
        self.out_expected[t.address][(to, amount)] += 1
        if t.bond is None:
            t.bond = amount
        if bidder not in t.bidders:
            self.report(
                "b.stranger",
                t.label,
                e,
                f"{e.name} of {amount} for {_addr(bidder)}, which never committed a bid",
                amount=amount,
            )
        earlier = t.settled.setdefault(bidder, [])
        if earlier:
            kind, first_amount, block, tx = earlier[0]
            self.report(
                "b.double",
                t.label,
                e,
                f"the bond of {_addr(bidder)} is settled a second time ({e.name} of {amount}) "
                f"after {kind} of {first_amount} in block {block} (tx {tx})",
                amount=amount,
                first_amount=first_amount,
                settlements=len(earlier) + 1,
            )
        earlier.append((e.name, amount, e.block, e.tx))

    def end_tender(self, t: _Tender, last: Event) -> None:
        for bidder in self.first_commits.get(t.address, []):
            pulled = [v for s, v in self.inflows.get(t.address, []) if s == bidder]
            if t.bond is None and pulled:
                t.bond = pulled[0]
        self.unexplained("b.unexplained", t.label, t.address, last, "settlement event")
        bond = t.bond or 0
        for bidder in t.bidders:
            paid = t.paid_to.get(bidder, 0)
            if paid > bond and bidder not in t.overpaid_reported and bidder != t.buyer:
                t.overpaid_reported.add(bidder)
                self.report(
                    "b.overpaid",
                    t.label,
                    last,
                    f"sent {_addr(bidder)} {paid} in all, more than its one bond of {bond}",
                    paid=paid,
                    bond=bond,
                )
        held, expected = t.owed()
        gap = t.balance - expected
        if gap != t.gap:
            t.gap = gap
            if gap:
                self.report(
                    "a.balance",
                    t.label,
                    last,
                    f"holds {t.balance} by its transfers but owes {expected} "
                    f"({held} bonds of {bond} still held): "
                    f"{'short' if gap < 0 else 'over'} by {abs(gap)}",
                    balance=t.balance,
                    expected=expected,
                    held=held,
                    bond=bond,
                )

    def unexplained(self, rule: str, label: str, address: str, last: Event, what: str) -> None:
        actual, expected = (
            self.out_actual.get(address, Counter()),
            self.out_expected.get(address, Counter()),
        )
        if actual == expected:
            return
        extra = actual - expected
        missing = expected - actual
        parts = [f"sent {v} to {_addr(to)} with no {what}" for (to, v) in extra.elements()]
        parts += [
            f"{what} of {v} to {_addr(to)} without that transfer" for (to, v) in missing.elements()
        ]
        sent = sum(v for (_, v) in extra.elements())
        self.report(
            rule,
            label,
            last,
            "; ".join(parts),
            unexplained=sent,
            missing=sum(v for _, v in missing.elements()),
        )

    # ---------------------------------------------------------------- agreements

    def on_agreement(self, g: _Agreement, e: Event) -> None:
        a = e.args
        self.touched.add(g.address)
        handler = getattr(self, f"ag_{e.name}", None)
        if handler is not None:
            handler(g, e, a)

    def ag_AgreementInitialized(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        g.created = self.time(e.block)
        self.initialized.add(g.address)
        expected = {
            "consortium": self.consortium,
            "buyer": g.tender.buyer,
            "supplier": g.supplier,
            "token": self.token,
            "price": g.price,
        }
        for key, value in expected.items():
            if a[key] != value:
                shown = value if isinstance(value, int) else _addr(value)
                got = a[key] if isinstance(a[key], int) else _addr(a[key])
                self.report(
                    "c.terms",
                    g.label,
                    e,
                    f"initialised with {key} {got}, but its tender says {shown}",
                )

    def ag_MilestoneScheduled(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        g.milestones[a["index"]] = _Milestone(a["amount"], a["dueDate"])

    def ag_AgreementFunded(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        g.funded = self.time(e.block)

    def ag_MilestoneSubmitted(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        index, now = a["index"], self.time(e.block)
        if index in g.milestones:
            g.milestones[index].submitted = now
        dues = g.due(index)
        if dues is None:
            return
        late = max(0, -(-(now - dues[1]) // DAY))
        # Only "late when it was not": how many days a late submission is late is the penalty
        # rule's business, and a funding one second after creation may shift it by one day.
        if a["daysLate"] > 0 and late == 0:
            self.report(
                "f.days-late",
                g.label,
                e,
                f"milestone {index} submitted at {now} is {late} started days after its due "
                f"date from funding {dues[1]} (scheduled {dues[0]}), but the event says "
                f"{a['daysLate']}",
                days_late=a["daysLate"],
                expected_days_late=late,
                submitted=now,
                effective_due=dues[1],
                scheduled_due=dues[0],
            )

    def ag_MilestoneAccepted(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        self.settle(g, e, a, a["paid"] + a["penalty"] + a["retention"])
        self.check_penalty(g, e, a["index"], a["penalty"])
        if a["paid"] > 0:
            self.check_payment(g, e)

    def ag_DisputeResolved(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        penalty = a.get("penalty", 0)
        self.settle(g, e, a, a["paid"] + penalty + a["retention"] + a["refunded"])
        self.check_penalty(g, e, a["index"], penalty)
        if a["paid"] > 0:
            self.check_payment(g, e)

    def ag_Credited(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        account, amount = a["account"], a["amount"]
        g.credits[account] += amount
        if a["balance"] != g.credits[account]:
            self.report(
                "c.credit-balance",
                g.label,
                e,
                f"credits {amount} to {_addr(account)} and reports a balance of {a['balance']}, "
                f"but its credits add up to {g.credits[account]}",
                amount=amount,
                reported=a["balance"],
                derived=g.credits[account],
            )
        if account == g.supplier:
            g.credited_supplier += amount
            if g.credited_supplier > g.price and not g.over_price_reported:
                g.over_price_reported = True
                self.report(
                    "c.credits",
                    g.label,
                    e,
                    f"has credited the supplier {_addr(account)} {g.credited_supplier} in all, "
                    f"more than the price {g.price}",
                    credited=g.credited_supplier,
                    price=g.price,
                )

    def ag_Withdrawn(self, g: _Agreement, e: Event, a: dict[str, Any]) -> None:  # noqa: N802
        account, amount = a["account"], a["amount"]
        self.out_expected[g.address][(account, amount)] += 1
        if amount != g.credits[account]:
            self.report(
                "c.credit-balance",
                g.label,
                e,
                f"{_addr(account)} withdrew {amount} while credited {g.credits[account]}",
                amount=amount,
                credit=g.credits[account],
            )
        g.credits[account] = max(0, g.credits[account] - amount)

    def settle(self, g: _Agreement, e: Event, a: dict[str, Any], total: int) -> None:
        index = a["index"]
        m = g.milestones.get(index)
        if m is None:
            self.report("c.milestone", g.label, e, f"{e.name} for unscheduled milestone {index}")
            return
        if m.settled:
            self.report(
                "c.milestone",
                g.label,
                e,
                f"milestone {index} settled again by {e.name} after {m.settled}",
                amount=m.amount,
            )
        m.settled = e.name
        if total != m.amount:
            self.report(
                "c.milestone",
                g.label,
                e,
                f"{e.name} of milestone {index} splits {total}, but the milestone is {m.amount}",
                split=total,
                amount=m.amount,
            )

    def check_penalty(self, g: _Agreement, e: Event, index: int, penalty: int) -> None:
        dues = g.due(index)
        m = g.milestones.get(index)
        if penalty == 0 or dues is None or m is None or m.submitted is None:
            return
        if m.submitted <= dues[1]:
            self.report(
                "f.penalty",
                g.label,
                e,
                f"charged a late penalty of {penalty} on milestone {index} submitted at "
                f"{m.submitted}, not after its due date counted from funding {dues[1]} "
                f"(scheduled {dues[0]}, funded {g.funded - g.created if g.funded and g.created else 0} s "  # noqa: E501
                f"after creation)",
                penalty=penalty,
                submitted=m.submitted,
                effective_due=dues[1],
                scheduled_due=dues[0],
                funding_delay=(g.funded or 0) - (g.created or 0),
            )

    def end_agreement(self, g: _Agreement, last: Event) -> None:
        self.unexplained("c.unexplained", g.label, g.address, last, "Withdrawn credit")
        if g.address in self.initialized and g.milestones:
            total = sum(m.amount for m in g.milestones.values())
            if total != g.price:
                self.report(
                    "c.milestone",
                    g.label,
                    last,
                    f"milestones add up to {total}, not the price {g.price}",
                    total=total,
                    price=g.price,
                )
        owed = sum(g.credits.values())
        gap = min(0, g.balance - owed)
        if gap != g.short_gap:
            g.short_gap = gap
            if gap:
                self.report(
                    "c.short",
                    g.label,
                    last,
                    f"holds {g.balance} by its transfers but owes {owed} in credits",
                    balance=g.balance,
                    credits=owed,
                )

    # ---------------------------------------------------------------- consortium

    def on_consortium(self, e: Event) -> None:
        if e.name == "ActionExecuted":
            data = self.action_data(e)
            self.tx_actions.append((e, data))
            self.check_rules(e, data)
            if e.args["target"] == self.consortium:
                self.check_governance(e, data)
            return
        if e.name == "MemberAdded":
            self.ever_members.add(e.args["member"])
        self.actual.apply(e)
        governed = e.name not in ("ConflictDeclared",)
        if not (governed and e.tx in self.tainted):
            self.legit.apply(e)

    def action_data(self, e: Event) -> bytes | None:
        """The executed action's calldata, read from the transaction and matched to the
        event's action hash (None when the transaction does not show it)."""
        tx = self.data["transactions"].get(e.tx)
        if tx is None or tx["to"] != self.consortium or not tx["input"].startswith(EXECUTE):
            return None
        try:
            (target, value, data, nonce, deadline), _ = decode(
                ["(address,uint256,bytes,uint256,uint256)", "bytes"],
                bytes.fromhex(tx["input"][10:]),
            )
        except Exception:  # not an execute call after all
            return None
        struct = keccak(
            encode(
                ["bytes32", "address", "uint256", "bytes32", "uint256", "uint256"],
                [_ACTION_TYPEHASH, target, value, keccak(data), nonce, deadline],
            )
        )
        domain = keccak(
            encode(
                ["bytes32", "bytes32", "bytes32", "uint256", "address"],
                [
                    _DOMAIN_TYPEHASH,
                    keccak(text="procurechain Consortium"),
                    keccak(text="1"),
                    int(self.data["chainId"]),
                    _addr(self.consortium),
                ],
            )
        )
        digest = "0x" + keccak(b"\x19\x01" + domain + struct).hex()
        return data if digest == e.args["actionHash"] else None

    def check_rules(self, e: Event, data: bytes | None) -> None:
        """(g) the consortium's own rules, replayed."""
        a, council = e.args, self.actual
        signers, label = a["signers"], f"Consortium {_addr(self.consortium)}"
        what = f"{_function(a['selector'])} on {_addr(a['target'])}"
        numbers = [int(s, 16) for s in signers]
        if numbers != sorted(set(numbers)):
            self.report(
                "g.order", label, e, f"{what} lists signers out of order: {_names(signers)}"
            )
        strangers = [s for s in signers if s not in council.members]
        if strangers:
            self.report("g.member", label, e, f"{what} counted non-members {_names(strangers)}")
        if len(signers) < council.threshold:
            self.report(
                "g.threshold",
                label,
                e,
                f"{what} executed with {len(signers)} signers, threshold {council.threshold}",
                signers=len(signers),
                threshold=council.threshold,
            )
        required, subject_arg = council.policies.get(a["selector"], (0, 0))
        held = council.roles(signers)
        if held & required != required:
            self.report(
                "g.roles",
                label,
                e,
                f"{what} needs {_roles(required)}, its signers hold {_roles(held)}",
                required=required,
                held=held,
            )
        subjects = {a["target"]}
        end = 4 + 32 * subject_arg
        if subject_arg and data is not None and len(data) >= end:
            subjects.add("0x" + data[end - 20 : end].hex())
        recused = [(s, x) for s in signers for x in subjects if (s, x) in council.conflicts]
        for signer, subject in recused:
            self.report(
                "g.recused",
                label,
                e,
                f"{what} counted {_addr(signer)}, recused from {_addr(subject)}",
            )

    def check_governance(self, e: Event, data: bytes | None) -> None:
        """(e) a change of the consortium itself."""
        a, label = e.args, f"Consortium {_addr(self.consortium)}"
        signers = a["signers"]
        what = f"governance action {_function(a['selector'])}"
        broken = False
        if data is None:
            broken = True
            self.report(
                "e.undecodable",
                label,
                e,
                f"{what} cannot be matched to the transaction's execute calldata",
            )
        held = self.legit.roles(signers)
        if held & self.gov_roles != self.gov_roles:
            broken = True
            self.report(
                "e.roles",
                label,
                e,
                f"{what} signed by {_names(signers)} holding {_roles(held)}, without "
                f"{_roles(self.gov_roles & ~held)}, which policies required at deployment "
                f"({_roles(self.gov_roles)}); its effects are not recognised",
                held=held,
                required=self.gov_roles,
                missing=self.gov_roles & ~held,
            )
        if data is not None and len(data) >= 36:
            named = "0x" + data[16:36].hex()
            if named in self.ever_members and named in signers:
                broken = True
                self.report(
                    "e.self",
                    label,
                    e,
                    f"{what} names member {_addr(named)}, who signed it",
                )
        if broken:
            self.tainted.add(e.tx)

    def check_payment(self, g: _Agreement, e: Event) -> None:
        """(d) a payment to the supplier."""
        actions = [
            x for x, _ in self.tx_actions if x.args["target"] == g.address and x.index < e.index
        ]
        paid = e.args["paid"]
        what = f"{e.name} of milestone {e.args['index']} paid {_addr(g.supplier)} {paid}"
        if not actions:
            self.report("d.no-action", g.label, e, f"{what} with no consortium action", paid=paid)
            return
        action = actions[-1].args
        if action["selector"] not in (ACCEPT, RESOLVE):
            self.report(
                "d.selector",
                g.label,
                e,
                f"{what} under {_function(action['selector'])}, not acceptMilestone/resolveDispute",
                paid=paid,
            )
        signers, council = action["signers"], self.legit
        strangers = [s for s in signers if s not in council.members]
        if strangers:
            self.report(
                "d.member",
                g.label,
                e,
                f"{what}, counting {_names(strangers)}, not (legitimately) members",
                paid=paid,
            )
        counted = len(signers) - len(strangers)
        if counted < council.threshold:
            self.report(
                "d.threshold",
                g.label,
                e,
                f"{what} with {counted} member signers, threshold {council.threshold}",
                paid=paid,
                signers=counted,
                threshold=council.threshold,
            )
        held = council.roles(signers)
        if held & self.pay_roles != self.pay_roles:
            self.report(
                "d.roles",
                g.label,
                e,
                f"{what} signed by {_names(signers)} holding {_roles(held)}, without "
                f"{_roles(self.pay_roles & ~held)}, which paying requires",
                paid=paid,
                held=held,
                required=self.pay_roles,
            )
        t = g.tender
        subjects = {g.address: "the agreement", g.supplier: "the supplier", t.address: "the tender"}
        subjects.setdefault(t.buyer, "the buyer")
        for bidder in t.bidders:
            subjects.setdefault(bidder, "a bidder of the tender")
        for signer in signers:
            for subject, role in subjects.items():
                if (signer, subject) in council.conflicts:
                    self.report(
                        "d.recused",
                        g.label,
                        e,
                        f"{what} signed by {_addr(signer)}, who declared a conflict with "
                        f"{role} {_addr(subject)}",
                        paid=paid,
                    )

    # ---------------------------------------------------------------- boundaries

    def end_tx(self, last: Event) -> None:
        for address in sorted(self.touched):
            if address in self.tenders:
                self.end_tender(self.tenders[address], last)
            elif address in self.agreements:
                self.end_agreement(self.agreements[address], last)
        self._reset_tx()

    def end_reads(self) -> None:
        """Balances read from the token at the history's last block."""
        for address, read in sorted(self.data["balances"].items()):
            if int(read["block"]) != int(self.data["toBlock"]):
                continue
            balance = int(read["balance"])
            if address in self.tenders:
                t = self.tenders[address]
                held, expected = t.owed()
                if balance != expected:
                    self.report(
                        "a.balance",
                        t.label,
                        None,
                        f"the token says it holds {balance} but it owes {expected} "
                        f"({held} bonds of {t.bond or 0} still held)",
                        balance=balance,
                        expected=expected,
                        held=held,
                        bond=t.bond or 0,
                    )
            elif address in self.agreements:
                g = self.agreements[address]
                if balance != g.balance:
                    self.report(
                        "c.balance",
                        g.label,
                        None,
                        f"the token says it holds {balance} but its transfers leave {g.balance}",
                        balance=balance,
                        transfers=g.balance,
                    )


def check(
    history: ChainHistory | Mapping[str, Any], *, pay_roles: int | None = None
) -> list[Violation]:
    """Every invariant of the module docstring over ``history``.

    Args:
        history: a :class:`ChainHistory` or its JSON form (e.g. a stored fixture).
        pay_roles: role bits every payment to a supplier needs among its signers; default:
            the roles of the first ``PolicySet`` for ``acceptMilestone(uint256)``.

    Returns:
        The violations in chain order (empty when every invariant holds).
    """
    data = history.to_json() if isinstance(history, ChainHistory) else history
    return _Checker(data, pay_roles).run()
