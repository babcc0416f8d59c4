"""Reasons, reports and documents as the record shows them: only text the chain vouches for.

A decision names the keccak-256 of its reason (``reasonHash``, ``reportHash``,
``evidenceHash``). The text is shown when someone put it on the record with
``Registry.publish`` (then it is the very text decided on); otherwise the record says it was
not published and gives the hash. Nothing is ever made up in its place.

Documents named in a tender notice stay off the chain, bound to their SHA-256. The export says
so ("not verified by this export"), or, when asked to verify, fetches each http(s) URL (and
ipfs:// through a configured gateway) with a timeout and a size cap and says whether the bytes
match.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from procurechain.record.content import check_document, text_of
from procurechain.record.notice import Document

__all__ = ["ZERO_HASH", "DocumentChecker", "Reasons", "document", "ipfs_sha256"]

ZERO_HASH = "0x" + "00" * 32


def document(
    id_: str, kind: str, title: str, published: str, description: str, **extra: Any
) -> dict[str, Any]:
    """An OCDS ``Document`` (``extra``: url, format, dateModified...)."""
    found = {"id": id_, "documentType": kind, "title": title, "description": description}
    return {**found, "datePublished": published, **{k: v for k, v in extra.items() if v}}


class Reasons:
    """Texts published on the chain, looked up by the hash a decision names."""

    def __init__(self, texts: Mapping[str, Any]) -> None:
        self.texts = texts

    def text(self, hash_: str) -> str | None:
        """The published text with this keccak-256, or None."""
        return None if hash_ == ZERO_HASH else text_of(self.texts, hash_)

    def say(self, hash_: str, what: str = "reason") -> str:
        """The text when it was published, else a sentence saying it cannot be shown."""
        if hash_ == ZERO_HASH:
            return f"No {what} was given (its hash is zero)."
        found = self.text(hash_)
        if found is not None:
            return found
        return (
            f"The {what} was not published on the chain (keccak-256 {hash_}); it cannot be shown."
        )


def ipfs_sha256(url: str) -> str | None:
    """The SHA-256 an ``ipfs://`` URL names, when it is a CIDv1 of one raw block hashed with
    sha2-256 (what :func:`procurechain.record.notice.ipfs_url` writes); else None."""
    if not url.startswith("ipfs://b"):
        return None
    text = url[len("ipfs://b") :].split("/", 1)[0].upper()
    try:
        cid = base64.b32decode(text + "=" * (-len(text) % 8))
    except ValueError:
        return None
    prefix = bytes([0x01, 0x55, 0x12, 0x20])
    return cid[4:].hex() if cid[:4] == prefix and len(cid) == 36 else None


@dataclass
class DocumentChecker:
    """Says what is known of a notice document's bytes, and checks them when asked to (with
    :func:`procurechain.record.content.check_document`: a timeout, a size cap).

    Attributes:
        verify: fetch each document and compare its SHA-256 (off by default: the export then
            reads the chain only).
        ipfs_gateway: a gateway URL prefix (e.g. ``https://ipfs.io/ipfs/``) through which
            ``ipfs://`` URLs are fetched; None: they are not fetched.
        timeout: seconds per request.
    """

    verify: bool = False
    ipfs_gateway: str | None = None
    timeout: float = 10.0
    _seen: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def describe(self, doc: Document) -> str:
        """The document's description: its hash and what this export knows of its bytes."""
        bound = f"The notice binds this document to SHA-256 {doc.sha256}."
        cid = ipfs_sha256(doc.url)
        if cid is not None:
            same = "the same" if cid == doc.sha256 else "a DIFFERENT"
            bound += f" Its ipfs:// address (CIDv1, raw block, sha2-256) names {same} SHA-256."
        return f"{bound} {self.check(doc)}"

    def check(self, doc: Document) -> str:
        """One sentence: not verified by this export, or what a fetch on a given date found
        (verified, does NOT match, could not be fetched)."""
        url = doc.url
        if url.startswith("ipfs://"):
            if not self.verify or not self.ipfs_gateway:
                return "Its bytes are not verified by this export (ipfs:// is not fetched)."
            url = self.ipfs_gateway.rstrip("/") + "/" + url[len("ipfs://") :]
        elif not self.verify:
            return "Its bytes are not verified by this export."
        key = (url, doc.sha256)
        if key not in self._seen:
            today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            found = check_document(replace(doc, url=url), timeout=self.timeout)
            self._seen[key] = f"Fetched by this export on {today} from {url}: {found}."
        return self._seen[key]
