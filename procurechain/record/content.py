"""The words of the record, read from the chain and checked against the hashes decisions name.

Two sources, both on the chain, nothing from the publisher's files:

- **Tender notices** are the ``notice`` argument of ``Registry.createTender``: the
  ``TenderCreated`` event carries only their keccak-256, the text is in the transaction's
  calldata. :func:`notices` finds it in the transaction input (a direct call) or in the call
  trace (an agency that is a contract, e.g. a multisig; needs a node with
  ``debug_traceTransaction``), and keeps it only if its hash is the event's.
- **Reasons, reports, declarations** are published with ``Registry.publish`` (event
  ``TextPublished``, collected into :attr:`AuditLog.texts`) before the decision that names
  their hash. :func:`text_of` returns the text for a hash, or None: a reader shows the hash
  as unverified, never a text it cannot tie to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from eth_abi import decode
from eth_utils import keccak

from procurechain.errors import ProcurechainError, describe
from procurechain.record import notice as nt

__all__ = [
    "OnChainNotice",
    "check_document",
    "notice_json",
    "notice_lines",
    "notice_of",
    "notices",
    "publish",
    "publish_text",
    "text_of",
]

#: The most bytes :func:`check_document` reads from a URL.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024

_CREATE_TENDER = (
    "createTender((address,uint256,uint256,uint40,uint40,uint32,uint8,(uint16,uint32,uint16,"
    "uint16)),(uint16,uint32,bytes32)[],string)"
)
_SELECTOR = keccak(text=_CREATE_TENDER)[:4]
_NOTICE_TOPIC = keccak(text="TenderNotice(uint256,string)")
_ARGS = [
    "(address,uint256,uint256,uint40,uint40,uint32,uint8,(uint16,uint32,uint16,uint16))",
    "(uint16,uint32,bytes32)[]",
    "bytes",  # the notice, read as bytes: invalid UTF-8 must not stop the reader
]


@dataclass(frozen=True)
class OnChainNotice:
    """A tender's notice as found on the chain.

    Attributes:
        hash: ``TenderCreated.noticeHash`` (0x hex).
        reading: the text and what could be used of it; None when the text was not found.
        problem: why there is no reading (e.g. the node has no call traces).
    """

    hash: str
    reading: nt.Reading | None
    problem: str = ""


def text_of(texts: Mapping[str, Any], hash_: str) -> str | None:
    """The published text whose keccak-256 is ``hash_`` (0x hex), or None if nobody
    published it (``texts``: :attr:`~procurechain.audit.AuditLog.texts`)."""
    entry = texts.get(hash_.lower())
    if entry is None:
        return None
    text = str(entry.args["text"])
    # invalid UTF-8 was read as U+FFFD: such a text is not the one the hash names
    return text if "0x" + keccak(text.encode("utf-8")).hex() == hash_.lower() else None


def publish_text(registry: Any, account: Any, text: str) -> bytes:
    """Put ``text`` on the record (``Registry.publish``) unless it is there already; returns
    its hash, the ``reasonHash``/``reportHash`` to name in a decision.

    Raises:
        ProcurechainError: the text is empty or longer than the chain takes (nothing sent).
    """
    return publish(registry, account, text)[0]


def publish(registry: Any, account: Any, text: str) -> tuple[bytes, Any]:
    """:func:`publish_text`, also returning the receipt (None when the text was there)."""
    from ape import chain

    data = text.encode("utf-8")
    if not text.strip():
        raise ProcurechainError("the text is empty; say why (it goes on the public record)")
    if len(data) > nt.MAX_NOTICE_BYTES:
        raise ProcurechainError(
            f"the text is {len(data):,} bytes and the chain takes at most "
            f"{nt.MAX_NOTICE_BYTES:,}; shorten it or put it in a document"
        )
    digest = keccak(data)
    topic = "0x" + keccak(text="TextPublished(bytes32,address,string)").hex()
    found = chain.provider.web3.eth.get_logs(
        {
            "address": str(registry.address),
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [topic, "0x" + digest.hex()],
        }
    )
    if found:
        return digest, None
    try:
        return digest, registry.publish(text, sender=account)
    except Exception as err:
        raise ProcurechainError(describe(err)) from err


def _calls(trace: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every call frame of a callTracer trace, without recursion (a trace can nest as deep
    as the gas allows)."""
    stack = [trace]
    while stack:
        frame = stack.pop()
        yield frame
        stack.extend(reversed(frame.get("calls") or ()))


def _notice_in(data: bytes, expected: bytes) -> bytes | None:
    if data[:4] != _SELECTOR:
        return None
    try:  # not strict: Solidity takes non-zero padding, and the hash is the check anyway
        _, _, raw = decode(_ARGS, data[4:], strict=False)
    except Exception:  # not our call after all (a selector clash): keep looking
        return None
    return bytes(raw) if keccak(bytes(raw)) == expected else None


def _logged(web3: Any, tx: str, registry: str, expected: bytes) -> bytes | None:
    """The notice from a ``TenderNotice`` log of ``registry`` in ``tx`` (a contract agency)."""
    for item in web3.eth.get_transaction_receipt(tx)["logs"]:
        topics = [bytes(t) for t in item["topics"]]
        if str(item["address"]).lower() != registry.lower() or topics[:1] != [_NOTICE_TOPIC]:
            continue
        try:
            (raw,) = decode(["bytes"], bytes(item["data"]), strict=False)
        except Exception:  # not a well-formed log of ours: keep looking
            continue
        if keccak(bytes(raw)) == expected:
            return bytes(raw)
    return None


def _find(web3: Any, tx: str, registry: str, expected: bytes) -> tuple[bytes | None, str]:
    logged = _logged(web3, tx, registry, expected)
    if logged is not None:
        return logged, ""
    transaction = web3.eth.get_transaction(tx)
    to = str(transaction.get("to") or "").lower()
    if to == registry.lower():
        found = _notice_in(bytes(transaction["input"]), expected)
        if found is not None:
            return found, ""
    try:
        trace = web3.provider.make_request("debug_traceTransaction", [tx, {"tracer": "callTracer"}])
    except RecursionError:
        return None, "the notice is inside a call trace too deep to read"
    except Exception as err:  # a node without traces: say so, the reader shows it
        return None, f"the notice is inside a contract call and the node has no traces ({err})"
    result = trace.get("result") if isinstance(trace, Mapping) else None
    if not isinstance(result, Mapping):
        return None, "the notice is inside a contract call and the node has no traces"
    for call in _calls(result):
        if call.get("error"):
            continue  # a reverted call published nothing
        if str(call.get("to", "")).lower() == registry.lower():
            found = _notice_in(bytes.fromhex(str(call.get("input", "0x"))[2:]), expected)
            if found is not None:
                return found, ""
    return None, "no call in the transaction carries a notice with the published hash"


def notice_of(tender: Any) -> OnChainNotice:
    """The notice of one tender (a Tender contract), found from its Registry's
    ``TenderCreated`` log alone.

    Raises:
        ProcurechainError: the tender's registry has no ``TenderCreated`` for it.
    """
    from ape import chain

    web3 = chain.provider.web3
    registry = str(tender.registry())
    topic = keccak(text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])")
    logs = web3.eth.get_logs(
        {
            "address": registry,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": ["0x" + topic.hex(), None, "0x" + bytes(12).hex() + str(tender.address)[2:]],
        }
    )
    if not logs:
        raise ProcurechainError(f"registry {registry} never published tender {tender.address}")
    expected, plan = decode(["bytes32", "(uint16,uint32,bytes32)[]"], bytes(logs[0]["data"]))
    raw, problem = _find(web3, "0x" + bytes(logs[0]["transactionHash"]).hex(), registry, expected)
    steps = [{"descriptionHash": "0x" + bytes(step[2]).hex()} for step in plan]
    reading = _against_plan(nt.read(raw), steps) if raw is not None else None
    return OnChainNotice("0x" + expected.hex(), reading, problem)


def check_document(document: nt.Document, *, timeout: float = 10.0) -> str:
    """Fetch an http(s) document and compare its bytes with the SHA-256 the notice binds it
    to; returns one sentence: ``verified …``, ``does NOT match …`` or why it was not checked.
    An ``ipfs://`` URL is not fetched (no gateway is trusted by default): its bytes are
    checked by whoever fetches them."""
    import hashlib

    import requests

    if not document.url.lower().startswith(("http://", "https://")):
        return "not checked: fetch it from IPFS and compare its SHA-256"
    digest = hashlib.sha256()
    size = 0
    try:
        with requests.get(document.url, timeout=timeout, stream=True) as answer:
            answer.raise_for_status()
            for block in answer.iter_content(1 << 16):
                size += len(block)
                if size > MAX_DOCUMENT_BYTES:
                    return f"not checked: larger than {MAX_DOCUMENT_BYTES // 2**20} MiB"
                digest.update(block)
    except requests.RequestException as err:
        return f"not checked: could not be fetched ({type(err).__name__})"
    if digest.hexdigest() == document.sha256:
        return f"verified: the {size:,} bytes at the URL have the published SHA-256"
    return f"does NOT match: the bytes at the URL have SHA-256 {digest.hexdigest()}"


def notices(log: Any) -> dict[str, OnChainNotice]:
    """Every tender's notice in ``log`` (an :class:`~procurechain.audit.AuditLog`), by tender
    address: found in its ``TenderCreated`` transaction and checked against the hash."""
    from ape import chain

    web3 = chain.provider.web3
    found: dict[str, OnChainNotice] = {}
    for entry in log.of("TenderCreated"):
        expected = str(entry.args["noticeHash"])
        try:
            raw, problem = _find(web3, entry.tx, log.registry, bytes.fromhex(expected[2:]))
            reading = _against_plan(nt.read(raw), entry.args["plan"]) if raw is not None else None
        except Exception as err:  # one tender's notice never stops the others' reading
            reading, problem = None, f"the notice could not be read ({type(err).__name__})"
        found[entry.args["tender"]] = OnChainNotice(expected, reading, problem)
    return found


def _against_plan(reading: nt.Reading, plan: list[dict[str, Any]]) -> nt.Reading:
    """The reading with its milestone titles kept only if they are the plan's: one per
    milestone, each the one whose hash the plan carries (``descriptionHash``)."""
    notice = reading.notice
    if notice is None or not notice.milestones:
        return reading
    hashes = ["0x" + keccak(text=title).hex() for title in notice.milestones]
    if hashes == [str(step["descriptionHash"]).lower() for step in plan]:
        return reading
    problem = "the notice's milestone titles are not the plan's (their hashes differ)"
    return nt.Reading(reading.text, replace(notice, milestones=()), (*reading.problems, problem))


def notice_json(found: OnChainNotice) -> dict[str, Any]:
    """A tender's notice for machines: the hash the chain logged, the text found with it, the
    notice when it is well-formed, and the problems (a reader trusts ``notice`` alone)."""
    reading = found.reading
    return {
        "hash": found.hash,
        "text": None if reading is None else reading.text,
        "notice": None if reading is None or reading.notice is None else reading.notice.as_dict(),
        "problems": [found.problem] if reading is None else list(reading.problems),
    }


def notice_lines(found: OnChainNotice, *, verify: bool = False) -> list[str]:
    """A tender's notice for a terminal: what it says, each document with its hash and (with
    ``verify``) whether the bytes at its URL match; an unreadable notice is named as such,
    its raw text shown escaped (no terminal control sequence gets through)."""
    if found.reading is None:
        return [f"notice: not found ({found.problem}); its hash is {found.hash}"]
    notice = found.reading.notice
    if notice is None:
        raw = nt.printable(found.reading.text[:200])
        return [
            f"notice: on the chain (hash {found.hash}) but not readable: "
            + "; ".join(found.reading.problems),
            f"  raw text (escaped, unverified): {raw}",
        ]
    lines = [notice.title, f"  {notice.description}", f"  category: {notice.category}", "  items:"]
    for n, item in enumerate(notice.items, 1):
        c = item.classification
        label = f" {c.description}" if c.description else ""
        lines.append(
            f"    {n}. {item.description}: {item.quantity:,} {item.unit} ({c.scheme} {c.id}{label})"
        )
    if notice.documents:
        lines.append("  documents:")
    for document in notice.documents:
        status = check_document(document) if verify else "not checked (--verify-documents)"
        lines += [
            f"    - {document.title} [{document.type}, {document.format}]",
            f"      {document.url}",
            f"      SHA-256 {document.sha256}: {status}",
        ]
    if notice.milestones:
        lines.append(
            "  milestones: "
            + "; ".join(f"{n}. {title}" for n, title in enumerate(notice.milestones, 1))
        )
    lines.append(f"  the notice's text is on the chain; its keccak-256 {found.hash} is logged")
    return lines
