"""Which contracts a history follows, and which of the fetched logs it keeps.

The registry and the consortium are known from the start; a tender is followed from the
registry's ``TenderCreated`` that names it, an agreement from its tender's ``AwardAccepted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from procurechain.invariants.events import BY_TOPIC


def raw_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC log as a history stores it: lower-case hex, integer block and index."""
    return {
        "address": log["address"].lower(),
        "topics": [t.lower() for t in log["topics"]],
        "data": log["data"],
        "blockNumber": int(log["blockNumber"], 16),
        "transactionHash": log["transactionHash"],
        "logIndex": int(log["logIndex"], 16),
    }


class Followed:
    """The contracts of one deployment whose logs and token transfers a history keeps.

    Args:
        registry: the Registry's address, lower-case.
        consortium: the Consortium's address, lower-case.
        logs: stored logs to discover tenders and agreements from, in chain order.
    """

    def __init__(
        self, registry: str, consortium: str, logs: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        self.registry, self.consortium = registry, consortium
        self.tenders: set[str] = set()
        self.agreements: set[str] = set()
        for log in logs:
            self._discover(log["address"].lower(), log["topics"])

    @property
    def holders(self) -> set[str]:
        """The tenders and agreements: the contracts that hold tokens."""
        return self.tenders | self.agreements

    def keep(self, contract_logs: list[dict], transfer_logs: list[dict]) -> list[dict]:
        """The logs of the followed contracts (discovering tenders and agreements in chain
        order), then the token transfers touching them, as stored logs in chain order.

        Args:
            contract_logs: JSON-RPC logs with our events' topics, from any emitter.
            transfer_logs: JSON-RPC ``Transfer`` logs of the token.

        Returns:
            The kept logs (see :func:`raw_log`), sorted by block and log index.
        """
        kept = []
        ordered = sorted(
            contract_logs, key=lambda g: (int(g["blockNumber"], 16), int(g["logIndex"], 16))
        )
        for log in ordered:
            emitter, topics = log["address"].lower(), log["topics"]
            if emitter not in {self.registry, self.consortium} | self.holders:
                continue
            self._discover(emitter, topics)
            kept.append(raw_log(log))
        followed = self.holders
        for log in transfer_logs:
            ends = {"0x" + t[-40:].lower() for t in log["topics"][1:3]}
            if len(log["topics"]) == 3 and ends & followed:
                kept.append(raw_log(log))
        kept.sort(key=lambda g: (g["blockNumber"], g["logIndex"]))
        return kept

    def _discover(self, emitter: str, topics: list[str]) -> None:
        name = BY_TOPIC[topics[0]].name if topics and topics[0] in BY_TOPIC else ""
        if name == "TenderCreated" and emitter == self.registry and len(topics) == 4:
            self.tenders.add("0x" + topics[2][-40:].lower())
        if name == "AwardAccepted" and emitter in self.tenders and len(topics) == 3:
            self.agreements.add("0x" + topics[2][-40:].lower())
