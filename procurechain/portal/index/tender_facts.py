"""Each new tender's immutable facts, read once: terms, bond and token (batched ``eth_call``),
its ocid, and its notice as found on the chain and checked against the logged hash.

The notice is looked for where :func:`procurechain.record.content.notices` looks, in the same
order and with the same words for what went wrong: a ``TenderNotice`` log of the registry in
the creating transaction (a contract agency), the transaction's input (a direct call), then
the call trace (``debug_traceTransaction``). The logs and the input are already in hand (the
chunk's logs and full blocks), so only traces cost requests, one per tender that needs one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from eth_abi import decode
from eth_utils import keccak

from procurechain.audit import Entry, RawLog
from procurechain.bulk import JsonRpc, ViewContract
from procurechain.portal.index.chain import Transaction
from procurechain.record import content
from procurechain.record import facts as record_facts

__all__ = ["FoundNotice", "TenderReader", "notice_text"]

_NOTICE_TOPIC = keccak(text="TenderNotice(uint256,string)")
#: How a notice was found (``tenders.notice_source`` when ``notice`` is not NULL).
FROM_LOG, FROM_INPUT, FROM_TRACE = "TenderNotice log", "transaction input", "call trace"


@dataclass(frozen=True)
class FoundNotice:
    """A notice's bytes when found (their keccak-256 is the logged hash), else why not."""

    raw: bytes | None
    source: str


def notice_text(raw: bytes) -> str:
    """The notice's bytes as text a database stores: invalid UTF-8 and NUL as U+FFFD."""
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


class TenderReader:
    """Reads new tenders' facts over JSON-RPC.

    Args:
        rpc: the node's JSON-RPC.
        registry: the Registry's address.
    """

    def __init__(self, rpc: JsonRpc, registry: str) -> None:
        self.rpc = rpc
        self.registry = registry

    def forget(self) -> None:
        """Drop the views read ahead (:class:`~procurechain.portal.index.fetch.Fetcher` reads
        them into ``rpc.memo``; the chain moves on)."""
        self.rpc.memo.clear()

    def row(
        self, entry: Entry, logs: Iterable[RawLog], transactions: Mapping[str, Transaction]
    ) -> dict[str, Any]:
        """The ``tenders`` row of a ``TenderCreated`` entry.

        Args:
            entry: the entry.
            logs: the chunk's registry logs (where ``TenderNotice`` logs are).
            transactions: the chunk's transactions, by hash.
        """
        tender = ViewContract(self.rpc, "Tender", entry.args["tender"])
        registry = ViewContract(self.rpc, "Registry", self.registry)
        terms = record_facts._terms(tender)
        found = self.notice(entry, logs, transactions)
        return {
            "id": entry.args["id"],
            "address": entry.args["tender"],
            "agency": entry.args["agency"],
            "block": entry.block,
            "ocid": str(registry.ocid(entry.args["id"])),
            "token": str(tender.token()),
            "terms": json.dumps(asdict(terms)),
            "notice_hash": entry.args["noticeHash"],
            "notice": None if found.raw is None else notice_text(found.raw),
            "notice_source": found.source,
            "notice_raw": found.raw,
        }

    def notice(
        self, entry: Entry, logs: Iterable[RawLog], transactions: Mapping[str, Transaction]
    ) -> FoundNotice:
        """The notice of one ``TenderCreated`` entry; never raises on what it finds."""
        expected = bytes.fromhex(str(entry.args["noticeHash"])[2:])
        try:
            for item in logs:
                if item.tx == entry.tx and item.topics[:1] == (_NOTICE_TOPIC,):
                    found = _logged(item, self.registry, expected)
                    if found is not None:
                        return FoundNotice(found, FROM_LOG)
            transaction = transactions.get(entry.tx)
            if transaction is not None and transaction.to.lower() == self.registry.lower():
                found = content._notice_in(transaction.input, expected)
                if found is not None:
                    return FoundNotice(found, FROM_INPUT)
            return self._traced(entry.tx, expected)
        except Exception as err:  # one tender's notice never stops the index
            return FoundNotice(None, f"the notice could not be read ({type(err).__name__})")

    def _traced(self, tx: str, expected: bytes) -> FoundNotice:
        try:
            trace = self.rpc.request("debug_traceTransaction", [tx, {"tracer": "callTracer"}])
        except RecursionError:
            return FoundNotice(None, "the notice is inside a call trace too deep to read")
        except Exception as err:  # a node without traces: say so, the pages show it
            return FoundNotice(
                None, f"the notice is inside a contract call and the node has no traces ({err})"
            )
        if not isinstance(trace, Mapping):
            return FoundNotice(
                None, "the notice is inside a contract call and the node has no traces"
            )
        for call in content._calls(trace):
            if call.get("error"):
                continue  # a reverted call published nothing
            if str(call.get("to", "")).lower() == self.registry.lower():
                data = bytes.fromhex(str(call.get("input", "0x"))[2:])
                found = content._notice_in(data, expected)
                if found is not None:
                    return FoundNotice(found, FROM_TRACE)
        return FoundNotice(
            None, "no call in the transaction carries a notice with the published hash"
        )


def _logged(item: RawLog, registry: str, expected: bytes) -> bytes | None:
    if item.address.lower() != registry.lower():
        return None
    try:
        (raw,) = decode(["bytes"], item.data, strict=False)
    except Exception:  # not a well-formed log of ours: keep looking
        return None
    return bytes(raw) if keccak(bytes(raw)) == expected else None
