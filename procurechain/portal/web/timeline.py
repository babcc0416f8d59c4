"""Events as people read them: timeline rows, published texts checked against their hash, and
consortium decisions with who signed and who stood aside.

Shared by the procurement page (its own events) and the consortium page (every decision).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from procurechain.portal.web.present import Link, Present, link_of

__all__ = ["Decision", "Row", "Text", "decisions", "rows", "text_of"]

_ZERO = "0x" + "00" * 32


@dataclass(frozen=True)
class Text:
    """A text put on the record, and whether it is the very text its hash names."""

    hash: str
    text: str | None
    verified: bool
    author: str = ""
    block: int = 0

    @property
    def status(self) -> str:
        """In plain words."""
        if self.text is None:
            return "not published on the chain: only its fingerprint (hash) is known"
        if self.verified:
            return "verified against its on-chain hash"
        return "does NOT match its on-chain hash (it holds bytes that are not valid text)"


def text_of(published: Mapping[str, Any], hash_: str) -> Text:
    """The text whose keccak-256 is ``hash_``, from ``TextPublished`` rows by hash."""
    row = published.get(str(hash_).lower())
    if row is None or hash_ == _ZERO:
        return Text(hash_, None, False)
    args = json.loads(row["args"])
    text = str(args.get("text", ""))
    ok = "0x" + keccak(text.encode("utf-8")).hex() == str(hash_).lower()
    return Text(hash_, text, ok, str(args.get("author", "")), int(row["block"]))


@dataclass(frozen=True)
class Row:
    """One line of a timeline."""

    timestamp: int
    who: str
    what: str
    event: str
    block: int
    tx: str
    text: Text | None = None  # for TextPublished: the text itself
    link: Link | None = None  # a URL an event carries (evidenceURI)


def _who(p: Present, row: Mapping[str, Any]) -> str:
    signers = json.loads(row["signers"])
    if row["actor"] == "consortium" and signers:
        return "the consortium, signed by " + ", ".join(p.name(s) for s in signers)
    return p.name(row["actor"])


def rows(p: Present, events: Iterable[Mapping[str, Any]]) -> list[Row]:
    """Timeline rows of ``events`` (in the order given)."""
    found = []
    for e in events:
        args = json.loads(e["args"])
        text = None
        if e["event"] == "TextPublished":
            value = str(args.get("text", ""))
            ok = "0x" + keccak(value.encode("utf-8")).hex() == str(args.get("hash", "")).lower()
            text = Text(str(args.get("hash", "")), value, ok, str(args.get("author", "")))
        uri = args.get("evidenceURI")
        found.append(
            Row(
                int(e["timestamp"]),
                _who(p, e),
                str(e["sentence"]),
                str(e["event"]),
                int(e["block"]),
                str(e["tx"]),
                text,
                link_of(uri) if uri else None,
            )
        )
    return found


@dataclass
class Decision:
    """One consortium decision: what it did, who signed, who stood aside and why."""

    timestamp: int
    block: int
    tx: str
    what: list[str]
    signers: list[str]
    recused: list[tuple[str, Text]] = field(default_factory=list)  # (member name, reason)
    tender_id: int | None = None
    reasons: list[tuple[str, Text]] = field(default_factory=list)  # (what, text)


_REASON_ARGS = {"reportHash": "award report", "reasonHash": "reason", "evidenceHash": "evidence"}


def decisions(
    p: Present,
    executed: Sequence[Mapping[str, Any]],
    same_tx: Sequence[Mapping[str, Any]],
    conflicts: Sequence[Mapping[str, Any]],
    published: Mapping[str, Any],
    parties: Mapping[int, set[str]],
) -> list[Decision]:
    """The decisions of ``executed`` (``ActionExecuted`` rows), each with the sentences of
    the events its transaction caused (``same_tx``), and the members recused from it: those
    whose declared conflict (``conflicts``: ConflictDeclared/Lifted rows, in order) was in
    force and names the target, an address the decision names, or a party of the
    procurement it concerns (``parties`` by tender id: its tender, agreement, buyer and
    bidders), as the contract's ``partyAmong`` rule does."""
    by_tx: dict[str, list[Mapping[str, Any]]] = {}
    for e in same_tx:
        if e["event"] != "ActionExecuted":
            by_tx.setdefault(str(e["tx"]), []).append(e)
    found = []
    for action in executed:
        args = json.loads(action["args"])
        inner = by_tx.get(str(action["tx"]), [])
        touched = {str(args.get("target", "")), *parties.get(action["tender_id"], set())}
        reasons = []
        for e in inner:
            inner_args = json.loads(e["args"])
            touched.update(str(v) for v in inner_args.values() if isinstance(v, str))
            for key, label in _REASON_ARGS.items():
                if key in inner_args:
                    reasons.append((label, text_of(published, inner_args[key])))
        decision = Decision(
            int(action["timestamp"]),
            int(action["block"]),
            str(action["tx"]),
            [str(e["sentence"]) for e in inner] or [str(action["sentence"])],
            [p.name(s) for s in args.get("signers", [])],
            tender_id=action["tender_id"],
            reasons=reasons,
        )
        in_force: dict[tuple[str, str], Mapping[str, Any]] = {}
        for c in conflicts:
            if (c["block"], c["log_index"]) > (action["block"], action["log_index"]):
                break
            c_args = json.loads(c["args"])
            key = (str(c_args["member"]), str(c_args["subject"]))
            if c["event"] == "ConflictDeclared":
                in_force[key] = c_args
            else:
                in_force.pop(key, None)
        for (member, subject), c_args in in_force.items():
            if subject in touched:
                decision.recused.append(
                    (p.name(member), text_of(published, str(c_args.get("reasonHash", _ZERO))))
                )
        found.append(decision)
    return found
