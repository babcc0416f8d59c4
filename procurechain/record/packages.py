"""OCDS packages of the record: per process a release package (every release of its ocid)
and a record package (its compiled and versioned release, merged by ``ocdsmerge``, the
community's reference implementation, with the local patched schema, so nothing is fetched);
and one release package of every process.

Where the files are served (``base_url``) names them: a package's ``uri`` is
``<base_url>/ocds/<ocid>/releases.json`` (``record.json``), the combined one
``<base_url>/ocds/releases.json``. The publisher is identified by the consortium's account in
CAIP-10 form (``eip155:<chain id>:<address>``), an identifier anyone can check on the chain.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procurechain.audit import AuditLog
from procurechain.errors import ProcurechainError
from procurechain.files import write_atomic
from procurechain.record import releases as rl
from procurechain.record.facts import ChainFacts
from procurechain.record.schema import BID_EXTENSION, release_schema
from procurechain.record.texts import DocumentChecker

__all__ = [
    "CC_BY_4",
    "Export",
    "Publication",
    "build",
    "export",
    "record_package",
    "release_package",
    "write",
]

#: Creative Commons Attribution 4.0: the default data licence.
CC_BY_4 = "https://creativecommons.org/licenses/by/4.0/"


@dataclass(frozen=True)
class Publication:
    """Who publishes the record, where, and under which licence.

    Attributes:
        base_url: where the packages are served (the portal): their ``uri`` start with it.
        publisher_name: the publisher's name.
        publisher_scheme: the scheme of the publisher's identifier (CAIP-10: a blockchain
            account, ``eip155:<chain id>:<address>``).
        publisher_uid: the identifier (default: the consortium's account).
        publisher_uri: a page about the publisher (default: ``base_url``).
        license: the data licence's URL.
        publication_policy: the publication policy's URL, if any.
    """

    base_url: str = "http://localhost:8000"
    publisher_name: str = "procurechain devnet"
    publisher_scheme: str = "CAIP-10"
    publisher_uid: str | None = None
    publisher_uri: str | None = None
    license: str = CC_BY_4
    publication_policy: str | None = None

    def uri(self, ocid: str | None, name: str) -> str:
        """The URL of a package file (``ocid`` None: the combined one)."""
        folder = f"/ocds/{ocid}" if ocid else "/ocds"
        return f"{self.base_url.rstrip('/')}{folder}/{name}"

    def header(self, facts: ChainFacts, uri: str, published: str) -> dict[str, Any]:
        """The package metadata shared by both kinds of package."""
        uid = self.publisher_uid or f"eip155:{facts.chain_id}:{facts.consortium}"
        publisher = {
            "name": self.publisher_name,
            "scheme": self.publisher_scheme,
            "uid": uid,
            "uri": self.publisher_uri or self.base_url,
        }
        head = {
            "uri": uri,
            "version": "1.1",
            "extensions": [BID_EXTENSION],
            "publisher": publisher,
            "license": self.license,
            "publishedDate": published,
        }
        if self.publication_policy:
            head["publicationPolicy"] = self.publication_policy
        return head


def release_package(
    releases: list[dict[str, Any]], facts: ChainFacts, publication: Publication, ocid: str | None
) -> dict[str, Any]:
    """A release package of ``releases`` (those of ``ocid``, or of every process: None)."""
    if not releases:
        raise ProcurechainError("no release to publish: the log holds no tender to export")
    uri = publication.uri(ocid, "releases.json")
    published = max(r["date"] for r in releases)
    return {**publication.header(facts, uri, published), "releases": releases}


def record_package(
    releases: list[dict[str, Any]], facts: ChainFacts, publication: Publication
) -> dict[str, Any]:
    """The record package of one process: its releases linked in its release package, its
    compiled and versioned releases merged by ``ocdsmerge`` with the local schema."""
    import ocdsmerge

    (ocid,) = {r["ocid"] for r in releases}
    merger = ocdsmerge.Merger(schema=release_schema())
    package_uri = publication.uri(ocid, "releases.json")
    record = {
        "ocid": ocid,
        "releases": [
            {"url": f"{package_uri}#{r['id']}", "date": r["date"], "tag": r["tag"]}
            for r in releases
        ],
        "compiledRelease": merger.create_compiled_release(releases),
        "versionedRelease": merger.create_versioned_release(releases),
    }
    uri = publication.uri(ocid, "record.json")
    head = publication.header(facts, uri, max(r["date"] for r in releases))
    return {**head, "packages": [package_uri], "records": [record]}


@dataclass
class Export:
    """Every package of an export.

    Attributes:
        releases: per ocid, its releases.
        release_packages: per ocid, its release package.
        record_packages: per ocid, its record package.
        combined: one release package of every process.
    """

    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    release_packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    record_packages: dict[str, dict[str, Any]] = field(default_factory=dict)
    combined: dict[str, Any] = field(default_factory=dict)


def build(
    log: AuditLog,
    facts: ChainFacts,
    *,
    names: Mapping[str, str] | None = None,
    publication: Publication | None = None,
    checker: DocumentChecker | None = None,
) -> Export:
    """Build every package from an audit log and the facts read from the chain.

    Raises:
        ProcurechainError: the log holds no tender to export.
    """
    publication = publication or Publication()
    by_ocid = {
        ocid: found
        for ocid, found in rl.build(log, facts, names=names, checker=checker).items()
        if found
    }
    if not by_ocid:
        raise ProcurechainError(
            "no tender was published in the exported range; export without --from-block or "
            "check --tender"
        )
    everything = sorted(
        (r for found in by_ocid.values() for r in found), key=lambda r: (r["date"], r["id"])
    )
    return Export(
        releases=by_ocid,
        release_packages={
            ocid: release_package(found, facts, publication, ocid)
            for ocid, found in by_ocid.items()
        },
        record_packages={
            ocid: record_package(found, facts, publication) for ocid, found in by_ocid.items()
        },
        combined=release_package(everything, facts, publication, None),
    )


def export(
    log: AuditLog,
    registry: Any,
    *,
    names: Mapping[str, str] | None = None,
    pegged_to: str | None = None,
    token_description: str = "",
    publication: Publication | None = None,
    verify_documents: bool = False,
    ipfs_gateway: str | None = None,
) -> Export:
    """Read the facts of ``log``'s tenders from the chain and build every package.

    Args:
        log: the audit log (:func:`procurechain.audit.collect`).
        registry: the Registry contract.
        names: readable names of addresses.
        pegged_to: the ISO 4217 currency the registry's token is pegged to (``USD`` for the
            devnet's dUSD), or None: values carry ``XXX`` and every release says why.
        token_description: what the token is, in words (e.g. "a test stablecoin").
        publication: publisher, licence, where the packages are served.
        verify_documents: fetch every notice document and compare its SHA-256.
        ipfs_gateway: fetch ``ipfs://`` documents through this gateway when verifying.

    Raises:
        ProcurechainError: the log holds no tender to export.
    """
    from procurechain.record import facts as chain_facts

    facts = chain_facts.read(
        log, registry, pegged_to=pegged_to, token_description=token_description
    )
    checker = DocumentChecker(verify=verify_documents, ipfs_gateway=ipfs_gateway)
    return build(log, facts, names=names, publication=publication, checker=checker)


def write(result: Export, folder: Path) -> list[Path]:
    """Write ``<folder>/<ocid>/releases.json`` and ``record.json`` per process and
    ``<folder>/releases.json`` (every process); returns the paths written."""
    written: list[Path] = []

    def put(path: Path, package: Mapping[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(package, indent=2, ensure_ascii=False) + "\n")
        written.append(path)

    for ocid, package in result.release_packages.items():
        put(folder / ocid / "releases.json", package)
        put(folder / ocid / "record.json", result.record_packages[ocid])
    put(folder / "releases.json", result.combined)
    return written
