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
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from procurechain.record.content import text_of
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
    """Says what is known of a notice document's bytes, and checks them when asked to.

    Attributes:
        verify: fetch each document and compare its SHA-256 (off by default: the export then
            reads the chain only).
        ipfs_gateway: a gateway URL prefix (e.g. ``https://ipfs.io/ipfs/``) through which
            ``ipfs://`` URLs are fetched; None: they are not fetched.
        timeout: seconds per request.
        max_bytes: the largest document fetched.
    """

    verify: bool = False
    ipfs_gateway: str | None = None
    timeout: float = 10.0
    max_bytes: int = 20 * 1024 * 1024
    _seen: dict[str, tuple[str, int, str] | str] = field(default_factory=dict, repr=False)

    def describe(self, doc: Document) -> str:
        """The document's description: its hash and what this export knows of its bytes."""
        bound = f"The notice binds this document to SHA-256 {doc.sha256}."
        cid = ipfs_sha256(doc.url)
        if cid is not None:
            same = "the same" if cid == doc.sha256 else "a DIFFERENT"
            bound += f" Its ipfs:// address (CIDv1, raw block, sha2-256) names {same} SHA-256."
        return f"{bound} {self.check(doc)}"

    def check(self, doc: Document) -> str:
        """One sentence: verified, not matching, not fetched, or not verified."""
        url = doc.url
        if url.startswith("ipfs://"):
            if not self.verify or not self.ipfs_gateway:
                return "Its bytes are not verified by this export (ipfs:// is not fetched)."
            url = self.ipfs_gateway.rstrip("/") + "/" + url[len("ipfs://") :]
        elif not self.verify:
            return "Its bytes are not verified by this export."
        if url not in self._seen:
            self._seen[url] = self._fetch(url)
        found = self._seen[url]
        if isinstance(found, str):
            return found
        digest, size, today = found
        if digest == doc.sha256:
            return f"Its bytes were verified on {today}: the URL serves exactly this SHA-256."
        return (
            f"Its bytes do NOT match: on {today} the URL served {size:,} bytes with SHA-256 "
            f"{digest}."
        )

    def _fetch(self, url: str) -> tuple[str, int, str] | str:
        """The SHA-256, size and time of the bytes at ``url``, or why they could not be had."""
        import requests

        today = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        digest, size = hashlib.sha256(), 0
        try:
            with requests.get(url, timeout=self.timeout, stream=True) as response:
                response.raise_for_status()
                for chunk in response.iter_content(1 << 16):
                    size += len(chunk)
                    if size > self.max_bytes:
                        return (
                            f"It could not be fetched on {today}: it is larger than "
                            f"{self.max_bytes:,} bytes."
                        )
                    digest.update(chunk)
        except requests.RequestException as err:
            return f"It could not be fetched on {today} ({type(err).__name__})."
        return digest.hexdigest(), size, today
