"""A tender's notice: what a person reads about it, published on the chain with the tender.

The agency writes a notice file (YAML or JSON): a title, a description, the main procurement
category, the items (description, quantity, unit, classification), the documents (title,
type, format, URL and the SHA-256 of their bytes) and one title per milestone. The notice is
checked, encoded as compact UTF-8 JSON and sent as the ``notice`` argument of
``Registry.createTender``; the ``TenderCreated`` event carries its keccak-256, so a reader
who finds the text in the transaction's calldata knows it is the very text that was
published (see :mod:`procurechain.record.content`).

Documents stay off the chain: the notice binds each one to its SHA-256, and a reader who
fetches the URL checks the bytes against it. A document file named in the notice file is
hashed when the notice is written; a given ``sha256`` that does not match the file is an error.

Reading is the same check in reverse, but tolerant: a notice on the chain is written by
whoever paid the gas, so :func:`read` never raises on its content; it returns what is usable
and the problems, for the reader to show as unverified.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import mimetypes
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from eth_utils import keccak

from procurechain.errors import ProcurechainError

__all__ = [
    "CATEGORIES",
    "MAX_NOTICE_BYTES",
    "URL_SCHEMES",
    "Classification",
    "Document",
    "Item",
    "Notice",
    "NoticeError",
    "Reading",
    "ipfs_url",
    "load",
    "printable",
    "read",
    "sha256_of",
]

#: ``Registry.MAX_TEXT_BYTES``: the longest notice (and published text) the chain takes.
MAX_NOTICE_BYTES = 8192
#: The URL schemes a document may use: fetchable over the web or by content address.
URL_SCHEMES = ("https", "http", "ipfs")
#: OCDS ``mainProcurementCategory`` codes.
CATEGORIES = ("goods", "works", "services")
_TITLE_CHARS = 200
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FORMAT = re.compile(r"^[a-z]+/[a-z0-9.+-]+$")
_CODELISTS = Path(__file__).resolve().parent.parent / "schema" / "ocds" / "codelists"


class NoticeError(ProcurechainError):
    """A notice that cannot be published as it is; ``str()`` says what to change."""


@cache
def _codes(codelist: str) -> frozenset[str]:
    with (_CODELISTS / codelist).open(encoding="utf-8", newline="") as handle:
        return frozenset(row["Code"] for row in csv.DictReader(handle))


@dataclass(frozen=True)
class Classification:
    """An item's classification: a scheme of OCDS's ``itemClassificationScheme`` codelist
    (``CPV``, ``UNSPSC``, …), the code, and the code's label."""

    scheme: str
    id: str
    description: str = ""


@dataclass(frozen=True)
class Item:
    """One line of what is bought."""

    description: str
    quantity: Decimal
    unit: str
    classification: Classification


@dataclass(frozen=True)
class Document:
    """A document that stays off the chain, bound to the SHA-256 of its bytes."""

    title: str
    type: str
    format: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Notice:
    """What a person reads about a tender."""

    title: str
    description: str
    category: str
    items: tuple[Item, ...]
    documents: tuple[Document, ...] = ()
    milestones: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The notice as JSON-ready data (quantities as numbers, empty parts left out)."""
        data = asdict(self)
        for item in data["items"]:
            quantity = item["quantity"]
            whole = quantity == quantity.to_integral()
            item["quantity"] = int(quantity) if whole else float(quantity)
            if not item["classification"]["description"]:
                del item["classification"]["description"]
        return {k: v for k, v in data.items() if v not in ((), [], "")}

    def encode(self) -> str:
        """The compact JSON that goes on the chain (keys in a fixed order, UTF-8 kept)."""
        text = json.dumps(self.as_dict(), ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode("utf-8"))
        if size > MAX_NOTICE_BYTES:
            raise NoticeError(
                f"the notice is {size:,} bytes and the chain takes at most "
                f"{MAX_NOTICE_BYTES:,}; shorten the description or move text into a document"
            )
        return text

    def hash(self) -> bytes:
        """``TenderCreated.noticeHash``: the keccak-256 of :meth:`encode`'s bytes."""
        return keccak(self.encode().encode("utf-8"))

    def milestone_hash(self, index: int) -> bytes:
        """The ``descriptionHash`` of milestone ``index`` in the plan: keccak-256 of its title."""
        return keccak(text=self.milestones[index])


@dataclass(frozen=True)
class Reading:
    """A notice as read back from the chain: what could be used, and what could not.

    Attributes:
        text: the text itself (invalid UTF-8 replaced by U+FFFD).
        notice: the notice, when the text is a well-formed notice.
        problems: why the text, or a part of it, cannot be trusted as a notice.
    """

    text: str
    notice: Notice | None
    problems: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------- checking


def _text(data: Mapping[str, Any], key: str, where: str, *, limit: int | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise NoticeError(f"{where}: `{key}` is missing or empty; give it as text")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") and char not in "\n\t":
            raise NoticeError(
                f"{where}: `{key}` holds the invisible character U+{ord(char):04X}; remove it"
            )
    if limit is not None and len(value) > limit:
        raise NoticeError(f"{where}: `{key}` has {len(value)} characters; keep it to {limit}")
    return value.strip()


def _code(value: str, codelist: str, where: str, key: str) -> str:
    if value not in _codes(codelist):
        choices = ", ".join(sorted(_codes(codelist))[:12])
        raise NoticeError(
            f"{where}: `{key}` {value!r} is not in OCDS's {codelist[:-4]} codelist ({choices}, …)"
        )
    return value


def _quantity(value: Any, where: str) -> Decimal:
    ok = isinstance(value, int | float | str) and not isinstance(value, bool)
    try:
        quantity = Decimal(str(value)[:64]) if ok else Decimal("NaN")
    except InvalidOperation:
        quantity = Decimal("NaN")
    # bounded: a quantity like 1E+999999999 would make every later int() of it hang
    if not quantity.is_finite() or quantity <= 0 or not -9 <= quantity.adjusted() <= 15:
        shown = repr(value)[:40] if ok else type(value).__name__
        raise NoticeError(
            f"{where}: `quantity` {shown} is not a positive number below 10^16 "
            "with at most 9 decimals"
        )
    return quantity


def _only(data: Mapping[str, Any], keys: set[str], where: str) -> None:
    unknown = set(data) - keys
    if unknown:
        raise NoticeError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")


def _item(data: Any, where: str) -> Item:
    if not isinstance(data, Mapping):
        raise NoticeError(f"{where} is not a table of description, quantity, unit, classification")
    _only(data, {"description", "quantity", "unit", "classification"}, where)
    classification = data.get("classification")
    if not isinstance(classification, Mapping):
        raise NoticeError(
            f"{where}: `classification` is missing; give its scheme and id (e.g. CPV 39113300)"
        )
    _only(classification, {"scheme", "id", "description"}, f"{where}, classification")
    scheme = _code(
        _text(classification, "scheme", where), "itemClassificationScheme.csv", where, "scheme"
    )
    label = classification.get("description", "")
    return Item(
        description=_text(data, "description", where),
        quantity=_quantity(data.get("quantity"), where),
        unit=_text(data, "unit", where, limit=_TITLE_CHARS),
        classification=Classification(
            scheme,
            _text(classification, "id", where, limit=_TITLE_CHARS),
            _text(classification, "description", where, limit=_TITLE_CHARS) if label else "",
        ),
    )


def printable(text: str) -> str:
    """``text`` with every control or format character (terminal escapes, bidi overrides)
    written as ``\\uXXXX``, so on-chain text shows as text and never drives a terminal."""
    return "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") else c
        for c in text
    )


#: The longest document or evidence URL read (browsers and servers cap URLs near this).
MAX_URL_LENGTH = 2_048
#: What a URI may hold (RFC 3986: unreserved, reserved and "%"); anything else (``<``,
#: ``"``, quotes' cousins, non-ASCII) is refused, so every URL published is a valid ``uri``.
_URI_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_PERCENT = re.compile(r"(?:[^%]|%[0-9A-Fa-f]{2})*")


def url(value: str, where: str) -> str:
    """``value`` if it is an http(s) or ipfs URL with a host; otherwise a :class:`NoticeError`."""
    parts = urlsplit(value)
    if parts.scheme.lower() not in URL_SCHEMES:
        raise NoticeError(
            f"{where}: the URL {value!r} uses {parts.scheme + ':' if parts.scheme else 'no'} "
            "scheme; documents must be at an https://, http:// or ipfs:// URL"
        )
    if not parts.netloc or any(c.isspace() for c in value):
        raise NoticeError(f"{where}: the URL {value!r} has no host or holds spaces; check it")
    if len(value) > MAX_URL_LENGTH:
        raise NoticeError(
            f"{where}: the URL is {len(value):,} characters long; give one of at most "
            f"{MAX_URL_LENGTH:,} (a link to the document, not the document)"
        )
    bad = sorted({c for c in value if c not in _URI_CHARACTERS})
    if bad or not _PERCENT.fullmatch(value):
        shown = ", ".join(repr(c) for c in bad[:5]) or "a % not followed by two hex digits"
        raise NoticeError(
            f"{where}: the URL {value!r} holds {shown}, which a URL cannot (RFC 3986); "
            "percent-encode it (e.g. < as %3C)"
        )
    return value


def ipfs_url(data: bytes) -> str:
    """``ipfs://`` and the CIDv1 of ``data`` as one raw block (sha2-256, base32): what
    ``ipfs add --cid-version 1 --raw-leaves`` gives a file of up to 256 KiB, so the URL is
    itself a check of the bytes."""
    cid = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "ipfs://b" + base64.b32encode(cid).decode("ascii").lower().rstrip("=")


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _document(data: Any, where: str, folder: Path | None) -> Document:
    if not isinstance(data, Mapping):
        raise NoticeError(f"{where} is not a table of title, type, url, sha256 (or file)")
    _only(data, {"title", "type", "format", "url", "sha256", "file"}, where)
    if folder is None and "file" in data:
        raise NoticeError(f"{where}: `file` is only read from a notice file; give `sha256`")
    local = data.get("file")
    given = data.get("sha256")
    if given is not None:
        given = str(given).lower().removeprefix("0x")
        if not _SHA256.match(given):
            raise NoticeError(f"{where}: `sha256` {data.get('sha256')!r} is not 64 hex digits")
    if local is not None:
        if folder is None:
            raise NoticeError(f"{where}: `file` is only read from a notice file; give `sha256`")
        path = (folder / str(local)).resolve()
        if not path.is_file():
            raise NoticeError(f"{where}: the file {str(local)!r} is not next to the notice")
        actual = sha256_of(path)
        if given is not None and given != actual:
            raise NoticeError(
                f"{where}: {str(local)!r} has SHA-256 {actual}, not the {given} the notice "
                "gives; publish the document you mean, or fix the hash"
            )
        given = actual
    if given is None:
        raise NoticeError(f"{where}: give `file` (hashed for you) or `sha256` of the document")
    kind = data.get("format") or (mimetypes.guess_type(str(local))[0] if local else None)
    if not isinstance(kind, str) or not _FORMAT.match(kind):
        raise NoticeError(f"{where}: `format` {kind!r} is not a media type (e.g. application/pdf)")
    return Document(
        title=_text(data, "title", where, limit=_TITLE_CHARS),
        type=_code(_text(data, "type", where), "documentType.csv", where, "type"),
        format=kind,
        url=url(_text(data, "url", where), where),
        sha256=given,
    )


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple):
        raise NoticeError(f"{where}: `{key}` must be a list")
    return list(value)


def parse(data: Any, *, folder: Path | None = None, where: str = "the notice") -> Notice:
    """A notice from decoded YAML/JSON, every part checked.

    Args:
        data: the decoded notice.
        folder: where document ``file`` entries are read from (None: files are not allowed).
        where: how errors name the notice.

    Raises:
        NoticeError: the first thing to change, in one sentence.
    """
    if not isinstance(data, Mapping):
        raise NoticeError(f"{where} is not a table with title, description, items")
    _only(data, {"title", "description", "category", "items", "documents", "milestones"}, where)
    items = _list(data, "items", where)
    if not items:
        raise NoticeError(f"{where}: list at least one item (what is bought, how many, unit)")
    category = _text(data, "category", where)
    if category not in CATEGORIES:
        raise NoticeError(f"{where}: `category` {category!r} is not one of {', '.join(CATEGORIES)}")
    milestones = _list(data, "milestones", where)
    return Notice(
        title=_text(data, "title", where, limit=_TITLE_CHARS),
        description=_text(data, "description", where),
        category=category,
        items=tuple(_item(x, f"{where}, item {i + 1}") for i, x in enumerate(items)),
        documents=tuple(
            _document(x, f"{where}, document {i + 1}", folder)
            for i, x in enumerate(_list(data, "documents", where))
        ),
        milestones=tuple(
            _text({"title": x}, "title", f"{where}, milestone {i + 1}", limit=_TITLE_CHARS)
            for i, x in enumerate(milestones)
        ),
    )


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without aliases (a few lines of anchors can expand to gigabytes) and
    without duplicate keys (two readers could take two different values)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a notice", event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        for key in keys:
            if keys.count(key) > 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice", node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise NoticeError(f"the key(s) {', '.join(duplicates)} appear twice in one table")
    return dict(pairs)


def load(path: Path) -> Notice:
    """The notice file at ``path`` (YAML or JSON), with its document files hashed.

    Raises:
        NoticeError: the file is missing, not YAML/JSON, or its notice is not publishable.
    """
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except FileNotFoundError as err:
        raise NoticeError(f"notice file {str(path)!r} does not exist") from err
    except (UnicodeDecodeError, yaml.YAMLError) as err:
        raise NoticeError(f"notice file {str(path)!r} is not UTF-8 YAML or JSON: {err}") from err
    notice = parse(data, folder=path.resolve().parent, where=f"notice file {path.name}")
    notice.encode()  # the size check, before anything is sent
    return notice


def read(raw: bytes | str) -> Reading:
    """A notice read back from the chain. Never raises on content: what it cannot use is
    named in :attr:`Reading.problems` and the reader shows it as unverified."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogateescape")
    text = data.decode("utf-8", "replace")
    problems: list[str] = []
    if text.encode("utf-8") != data:
        problems.append("the notice is not valid UTF-8")
    try:
        decoded = json.loads(text, object_pairs_hook=_pairs)
    except NoticeError as err:
        return Reading(text, None, (*problems, str(err)))
    except (ValueError, RecursionError):  # nesting deeper than the parser goes is not a notice
        return Reading(text, None, (*problems, "the notice is not JSON"))
    try:
        notice = parse(decoded)
    except NoticeError as err:
        return Reading(text, None, (*problems, str(err)))
    except RecursionError:
        return Reading(text, None, (*problems, "the notice nests too deeply"))
    return Reading(text, notice, tuple(problems))
