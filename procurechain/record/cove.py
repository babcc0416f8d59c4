"""OCDS packages reviewed by libcoveocds (the library behind the OCDS Data Review Tool), offline.

:func:`review` runs the community's own checks on a release or record package and sorts what
the tool reports into errors and warnings, each one readable line (``path: message``)::

    from procurechain.record import cove

    result = cove.review(package)          # release or record package, told by its keys
    result.errors, result.warnings, result.raw

No network is used. libcoveocds reads OCDS from a zip of the standard's repository and the
extensions by their URLs; here the zip is built from the project's vendored copy
(``procurechain/schema/ocds``, cached under ``~/.cache/procurechain/cove``) and the
extensions are served from local folders: ``schema/ocds/extensions/urls.json`` maps each
folder under ``extensions/`` to the base URL the extension is published at (add a folder and
a line there to serve another extension; ``review(..., extensions={url: folder})`` adds
more). For the time of a review, :func:`offline` mounts a requests transport adapter on the
HTTP session ocdsextensionregistry fetches extensions with; it serves the mapped URLs
(and the GitHub archive the library derives from a ``raw.githubusercontent.com`` base URL)
from the folders and raises :class:`OfflineError` for any other URL, so an unknown
extension is a loud error, never a network call (a package's extension URLs are checked
before the tool starts). The record package schema's reference to
``versioned-release-validation-schema.json``, which libcoveocds dereferences with jsonref's
own loader (a bare ``requests.get``), is answered locally, by a versioned schema made from
the release schema patched with the package's extensions: upstream reads the core one, and
so reports every extension field in a ``versionedRelease`` as an additional field (see
:class:`_Schema`); this is the one place where a review here differs from the online tool.

What libcoveocds 0.17 reports (its API-context output, ``raw``) and where it goes here:

===================================  ======================================================
``raw`` key                          here
===================================  ======================================================
``validation_errors``                error: the package breaks the (extended) JSON schema:
                                     types, formats, required fields, enums that are not
                                     codelists, ``uniqueItems`` (duplicate ``id``, or
                                     ``ocid`` + ``id`` of releases, ``ocid`` of records;
                                     only in arrays the schema marks ``uniqueItems``, which
                                     the bid extension's ``bids.details`` is not)
``additional_closed_codelist_values`` error: a code missing from a closed codelist. The
                                     schema's ``enum`` rejects it; libcoveocds takes these
                                     out of ``validation_errors`` only to list them apart,
                                     and the Data Review Tool counts them as errors
``json_deref_error``                 error: the schema could not be dereferenced (a broken
                                     ``$ref`` in an extension); nothing else was checked
``additional_fields``                warning: a field neither OCDS nor its extensions
                                     define, once per outermost unknown field
``additional_open_codelist_values``  warning: a code missing from an open codelist
                                     (allowed by OCDS, but the tool flags it)
``additional_checks``                warning: ``empty_field``, a field set to ``""``,
                                     whitespace, ``{}`` or ``[]``
``conformance_errors``               warning: ``ocds_prefixes_bad_format``, an ``ocid``
                                     not starting ``ocds-`` and six ``[a-z0-9]`` (the
                                     format only: whether the prefix is registered is
                                     not checked)
``deprecated_fields``                warning: a field deprecated by OCDS
``structure_warnings``               warning: ``missing_ids``, an object in an array
                                     without the ``id`` that merging needs
``extensions.invalid_extensions``    warning: an extension that could not be applied
``version_used``, ``schema_url``,    information only: the schema version, the package
``file_type``, ``extensions``        schema's URL, the input format, the extensions'
(the rest), ``count``,               metadata, how many releases/records and ocids, the
``unique_ocids_count``,              additional fields again with examples and
``all_additional_fields``,           descendants, and an always empty list
``common_error_types``
===================================  ======================================================

Codelist and additional-field lines name the field's path without array indexes
(``releases/awards/relatedBids``): libcoveocds counts them per field, not per occurrence.
A key libcoveocds adds in a later version, not in this table, becomes a warning naming it.
An OCDS version other than 1.1 in the package is an error (only the 1.1.5 schemas are
vendored).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import requests
from libcoveocds.common_checks import common_checks_ocds
from libcoveocds.config import LibCoveOCDSConfig
from libcoveocds.exceptions import OCDSVersionError
from libcoveocds.lib.api import context_api_transform
from libcoveocds.schema import SchemaOCDS
from ocdsextensionregistry import ExtensionVersion, ProfileBuilder
from ocdsextensionregistry.exceptions import ExtensionWarning, VersionedReleaseWarning
from ocdsextensionregistry.util import session as extension_session
from ocdsextensionregistry.versioned_release_schema import get_versioned_release_schema
from requests.adapters import BaseAdapter

from procurechain.errors import ProcurechainError

__all__ = [
    "SCHEMA_DIR",
    "STANDARD_TAG",
    "OfflineError",
    "Review",
    "extension_folders",
    "offline",
    "release_schema",
    "review",
    "standard_zip",
]

#: The vendored OCDS 1.1.5 schemas, codelists and extensions (Apache-2.0).
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema" / "ocds"
#: The standard's tag the vendored schemas are, as ocdsextensionregistry names it.
STANDARD_TAG = "1__1__5"
#: Where the standard publishes its schemas (the ``$ref`` targets in its package schemas).
STANDARD_URL = f"https://standard.open-contracting.org/schema/{STANDARD_TAG}/"
#: Extension folder name -> the base URL it is published at, inside the schema folder.
EXTENSION_URLS = "extensions/urls.json"

Kind = Literal["release", "record"]

_STANDARD_FILES = (
    "release-schema.json",
    "release-package-schema.json",
    "record-package-schema.json",
)
_VERSIONED = "versioned-release-validation-schema.json"
_INFO_KEYS = frozenset(
    {
        "file_type",
        "version_used",
        "schema_url",
        "extensions",
        "count",
        "unique_ocids_count",
        "all_additional_fields",
        "common_error_types",
    }
)
_ERROR_KEYS = frozenset(
    {"validation_errors", "additional_closed_codelist_values", "json_deref_error"}
)
_WARNING_KEYS = frozenset(
    {
        "additional_fields",
        "additional_open_codelist_values",
        "additional_checks",
        "conformance_errors",
        "deprecated_fields",
        "structure_warnings",
    }
)
_LOCK = threading.RLock()


class OfflineError(ProcurechainError):
    """A URL was asked for that no local folder serves (no network call was made)."""


@dataclass(frozen=True)
class Review:
    """What libcoveocds says about a package.

    Attributes:
        errors: schema validation errors (and closed codelist codes), ``path: message`` each.
        warnings: every other problem the tool reports, ``path: message`` each.
        raw: the tool's whole result (``libcoveocds.api.ocds_json_output``'s, API context).
    """

    errors: list[str]
    warnings: list[str]
    raw: dict[str, Any] = field(repr=False)

    @property
    def clean(self) -> bool:
        """Neither errors nor warnings."""
        return not self.errors and not self.warnings


# ------------------------------------------------------------------------- the standard


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "procurechain" / "cove"


def _sources(folder: Path) -> dict[str, bytes]:
    """The vendored files the zip is made of, by their path under ``schema/``."""
    files = {name: (folder / name).read_bytes() for name in _STANDARD_FILES}
    for path in sorted((folder / "codelists").glob("*.csv")):
        files[f"codelists/{path.name}"] = path.read_bytes()
    return files


def _digest(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256(version("ocdsextensionregistry").encode())
    for name, content in sorted(files.items()):
        digest.update(f"\0{name}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()[:16]


def _standard_zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """A zip laid out like GitHub's archive of the standard: ``<top>/schema/...``."""
    release = json.loads(files["release-schema.json"])
    versioned = get_versioned_release_schema(release, STANDARD_TAG)
    top = f"standard-{STANDARD_TAG}/"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(top, "")  # ocdsextensionregistry takes the first entry as the top
        for name, content in files.items():
            archive.writestr(f"{top}schema/{name}", content)
        archive.writestr(f"{top}schema/{_VERSIONED}", json.dumps(versioned, indent=2))
    return buffer.getvalue()


def standard_zip(folder: Path | None = None) -> Path:
    """The OCDS 1.1.5 standard as libcoveocds reads it (its ``standard_zip`` setting).

    Built from the vendored schemas and codelists, plus
    ``versioned-release-validation-schema.json``, which the standard generates from its
    release schema with the same ocdsextensionregistry function. Cached by content.

    Args:
        folder: the schema folder (default: :data:`SCHEMA_DIR`).

    Returns:
        The path of the zip.
    """
    files = _sources(folder or SCHEMA_DIR)
    path = _cache_dir() / f"standard-{STANDARD_TAG}-{_digest(files)}.zip"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        partial.write_bytes(_standard_zip_bytes(files))
        partial.replace(path)
    return path


# ------------------------------------------------------------------------- the extensions


def extension_folders(folder: Path | None = None) -> dict[str, Path]:
    """The extensions served offline: base URL (ending ``/``) -> local folder.

    Read from ``extensions/urls.json`` in the schema folder (folder name -> base URL).

    Args:
        folder: the schema folder (default: :data:`SCHEMA_DIR`).

    Raises:
        ProcurechainError: the index names a folder that is missing or a URL without ``/``.
    """
    folder = folder or SCHEMA_DIR
    urls: dict[str, str] = json.loads((folder / EXTENSION_URLS).read_text(encoding="utf-8"))
    folders = {}
    for name, url in urls.items():
        local = folder / "extensions" / name
        if not url.endswith("/") or not (local / "extension.json").is_file():
            raise ProcurechainError(
                f"{folder / EXTENSION_URLS}: {name!r} needs a base URL ending in '/' and a "
                f"folder {local} holding extension.json"
            )
        folders[url] = local
    return folders


def _archive_url(base_url: str) -> str | None:
    """The download URL ocdsextensionregistry derives from a base URL (a GitHub archive for
    ``raw.githubusercontent.com``), which it then fetches instead of single files."""
    row = dict.fromkeys(["Id", "Date", "Version", "Base URL", "Download URL"])
    return ExtensionVersion({**row, "Base URL": base_url}).download_url


def _zip_folder(folder: Path) -> bytes:
    """A folder as a GitHub archive: every file under one top directory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("extension/", "")
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"extension/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _archives(folders: Mapping[str, Path]) -> dict[str, Path]:
    archives = {_archive_url(url): local for url, local in folders.items()}
    return {url: local for url, local in archives.items() if url}


def _require_served(extensions: object, folders: Mapping[str, Path]) -> None:
    """Raise OfflineError naming the first http(s) extension URL no folder serves."""
    archives = _archives(folders)
    for url in extensions if isinstance(extensions, list) else []:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            continue  # libcoveocds reports these as invalid extensions itself
        if url not in archives and not url.startswith(tuple(folders)):
            raise OfflineError(
                f"extension {url} is not served offline and the network is not used: add a "
                f"folder for it and its base URL to {SCHEMA_DIR / EXTENSION_URLS} or pass "
                "extensions={base_url: folder}"
            )


class _LocalAdapter(BaseAdapter):
    """Serves mapped URLs from local folders; refuses every other URL with OfflineError."""

    def __init__(self, folders: Mapping[str, Path]) -> None:
        super().__init__()
        self.folders = dict(folders)
        self.archives = _archives(folders)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """The response to ``request``: 200 with the local bytes, or 404 inside a mapped URL."""
        url = (request.url or "").split("?")[0].split("#")[0]
        return _response(request, url, self._body(url))

    def _body(self, url: str) -> bytes | None:
        if url in self.archives:
            return _zip_folder(self.archives[url])
        for base, local in self.folders.items():
            if url.startswith(base):
                path = (local / url[len(base) :]).resolve()
                inside = path.is_relative_to(local.resolve())
                return path.read_bytes() if inside and path.is_file() else None
        raise OfflineError(
            f"{url} is not served offline and the network is not used: no extension folder "
            f"in {SCHEMA_DIR / EXTENSION_URLS} (or passed as extensions=) has that URL"
        )

    def close(self) -> None:
        """Nothing to release."""


def _response(request: requests.PreparedRequest, url: str, body: bytes | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 200 if body is not None else 404
    response.reason = "OK" if body is not None else "Not Found"
    response.raw = io.BytesIO(body or b"")
    response.url, response.request, response.encoding = url, request, "utf-8"
    return response


@contextmanager
def offline(folders: Mapping[str, Path] | None = None) -> Iterator[None]:
    """Serve extensions from local folders for the time of the block, and nothing else.

    Mounts :class:`_LocalAdapter` for ``http://`` and ``https://`` on the session
    ocdsextensionregistry (and so libcoveocds, ocdskit) fetches extensions with, with its
    cache off, and restores the session afterwards. Blocks run one at a time (the session is
    shared by the process).

    Args:
        folders: base URL -> folder (default: :func:`extension_folders`).
    """
    adapter = _LocalAdapter(extension_folders() if folders is None else folders)
    with _LOCK:
        saved = extension_session.adapters.copy()
        extension_session.mount("https://", adapter)
        extension_session.mount("http://", adapter)
        try:
            with extension_session.cache_disabled():
                yield
        finally:
            extension_session.adapters = saved


def _all_folders(folder: Path | None, extensions: Mapping[str, Path] | None) -> dict[str, Path]:
    return {**extension_folders(folder), **(extensions or {})}


def release_schema(
    extensions: Iterable[str] = (),
    *,
    folder: Path | None = None,
    extra: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """The OCDS 1.1.5 release schema patched with extensions, offline: what ocdsmerge's
    ``Merger(schema=...)`` and ``ocdskit.combine.merge(schema=...)`` take instead of a URL.

    Args:
        extensions: the extensions' URLs (a package's ``extensions``).
        folder: the schema folder (default: :data:`SCHEMA_DIR`).
        extra: more extensions to serve, base URL -> folder.

    Raises:
        OfflineError: an extension is not served locally.
        ProcurechainError: an extension could not be applied.
    """
    urls, folders = list(extensions), _all_folders(folder, extra)
    _require_served(urls, folders)
    builder = ProfileBuilder(STANDARD_TAG, urls, standard_base_url=standard_zip(folder).as_uri())
    with offline(folders), warnings.catch_warnings():
        warnings.simplefilter("error", ExtensionWarning)
        try:
            return builder.patched_release_schema()
        except ExtensionWarning as warning:
            raise ProcurechainError(f"extension not applied: {warning}") from warning


# ------------------------------------------------------------------------- the review


class _Schema(SchemaOCDS):
    """libcoveocds' schema, whose jsonref dereferencing reads the standard from the zip.

    libcoveocds dereferences the record package schema with jsonref's default loader, a bare
    ``requests.get`` of ``versioned-release-validation-schema.json`` that no session adapter
    sees; its ``_jsonref_kwarg`` hook gives jsonref this loader instead. The versioned release
    schema it returns is made from the release schema *patched with the package's
    extensions*, as the standard makes the core one: libcoveocds reads the core one, so the
    Data Review Tool reports every extension field in a ``versionedRelease`` as an additional
    field (OpenDataServices/cove#1222, open since 2019, whose suggested fix this is). Schema
    validation itself still uses the core versioned schema, as upstream.
    """

    def _jsonref_kwarg(self, *, proxies: bool = False) -> dict[str, Any]:  # type: ignore[override]
        return {**SchemaOCDS._jsonref_kwarg(proxies=proxies), "loader": self._load}

    def _load(self, uri: str, **kwargs: Any) -> Any:
        for base in (STANDARD_URL, STANDARD_URL.replace("https://", "http://")):
            if uri == base + _VERSIONED:
                return self._versioned()
            if uri.startswith(base):
                contents = self.builder.get_standard_file_contents(uri[len(base) :])
                return json.loads(contents, **kwargs)
        response = extension_session.get(uri)  # an extension's file, or OfflineError
        response.raise_for_status()
        return response.json(**kwargs)

    def _versioned(self) -> dict[str, Any]:
        with warnings.catch_warnings():
            # e.g. "BidsStatistic/properties/value has unrecognized type ['number']": it is
            # versioned all the same
            warnings.simplefilter("ignore", VersionedReleaseWarning)
            return get_versioned_release_schema(self.get_schema_obj(), STANDARD_TAG)


def _config(zip_path: Path) -> LibCoveOCDSConfig:
    config = LibCoveOCDSConfig()
    choices = config.config["schema_version_choices"]
    config.config.update(
        {
            "context": "api",
            "standard_zip": zip_path.as_uri(),
            # only 1.1 is vendored: a package saying "1.0" is an error, not a download
            "schema_version_choices": {"1.1": choices["1.1"]},
            "schema_version": "1.1",
        }
    )
    return config


def _run(package: Mapping[str, Any], record: bool, config: LibCoveOCDSConfig) -> dict[str, Any]:
    """``libcoveocds.api.ocds_json_output`` for JSON input, with :class:`_Schema`.

    libcoveocds caches its schemas in ``lru_cache``s on the class, keyed by the schema object
    (up to 128 each, about 1 MB a review); they are cleared afterwards.
    """
    schema = _Schema(None, package, config, record_pkg=record)
    context: dict[str, Any] = {"file_type": "json"}
    try:
        common_checks_ocds(context, "", package, schema, cache=False)
    finally:
        for method in vars(SchemaOCDS).values():
            if callable(getattr(method, "cache_clear", None)):
                method.cache_clear()
    if schema.json_deref_error:
        context["json_deref_error"] = schema.json_deref_error
    if "validation_errors_count" in context:  # absent when dereferencing failed
        context_api_transform(context)
    return context


def review(
    package: Mapping[str, Any],
    *,
    kind: Kind | None = None,
    folder: Path | None = None,
    extensions: Mapping[str, Path] | None = None,
) -> Review:
    """Review an OCDS 1.1 package with libcoveocds, offline.

    Args:
        package: a release package or a record package (JSON-ready).
        kind: ``"release"`` or ``"record"``; default: ``"record"`` when the package has
            ``records``, else ``"release"``.
        folder: the schema folder (default: :data:`SCHEMA_DIR`).
        extensions: more extensions to serve, base URL -> folder (added to
            ``extensions/urls.json``).

    Returns:
        The errors, warnings and the tool's whole result; see the module's table.

    Raises:
        OfflineError: the package names an extension that is not served locally.
    """
    record = (kind or ("record" if "records" in package else "release")) == "record"
    config, folders = _config(standard_zip(folder)), _all_folders(folder, extensions)
    _require_served(package.get("extensions"), folders)
    with offline(folders):
        try:
            raw = _run(package, record, config)
        except OCDSVersionError as error:
            return Review([f"version: {error}"], [], {"version_error": str(error)})
    return Review(_errors(raw), _warnings(raw), raw)


# ------------------------------------------------------------------------- the lines


def _at(*parts: object) -> str:
    return "/".join(str(p).strip("/") for p in parts if str(p).strip("/")) or "(package)"


def _errors(raw: Mapping[str, Any]) -> list[str]:
    lines = []
    for error in raw.get("validation_errors", []):
        value = error.get("value", "")
        found = f" (value: {json.dumps(value, default=str)})" if value != "" else ""
        message = " ".join(str(error["description"]).split())
        lines.append(f"{_at(error['path'])}: {message}{found}")
    for codelist in raw.get("additional_closed_codelist_values", {}).values():
        lines.append(_codelist_line(codelist, "closed"))
    if raw.get("json_deref_error"):
        lines.append(f"(schema): cannot be dereferenced: {raw['json_deref_error']}")
    return lines


def _codelist_line(codelist: Mapping[str, Any], openness: str) -> str:
    codes = ", ".join(repr(v) for v in codelist["values"])
    return (
        f"{_at(codelist['path'], codelist['field'])}: {codes} not in the {openness} codelist "
        f"{codelist['codelist']}"
    )


def _warnings(raw: Mapping[str, Any]) -> list[str]:
    lines = [
        f"{_at(f['path'], f['field'])}: additional field, not in the schema or its extensions "
        f"({f['usage_count']} use{'s' if f['usage_count'] != 1 else ''})"
        for f in raw.get("additional_fields", [])
    ]
    for codelist in raw.get("additional_open_codelist_values", {}).values():
        lines.append(_codelist_line(codelist, "open"))
    lines += _check_lines(raw.get("additional_checks", {}))
    lines += [
        f"{_at(path)}: ocid {ocid!r} does not start with a prefix ('ocds-' and 6 of [a-z0-9])"
        for ocid, path in raw.get("conformance_errors", {}).get("ocds_prefixes_bad_format", [])
    ]
    lines += _deprecated_lines(raw.get("deprecated_fields", []))
    lines += [
        f"{_at(path)}: missing (an object in an array needs an id to be merged)"
        for path in raw.get("structure_warnings", {}).get("missing_ids", [])
    ]
    for url, message in (raw.get("extensions") or {}).get("invalid_extensions", []):
        lines.append(f"extensions: {url} not applied: {message}")
    unknown = set(raw) - _INFO_KEYS - _ERROR_KEYS - _WARNING_KEYS - {"version_error"}
    lines += [f"(package): libcoveocds reports {key!r}: {raw[key]}" for key in sorted(unknown)]
    return lines


def _check_lines(checks: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    lines = []
    for check, results in checks.items():
        what = "empty (set to an empty or blank value)" if check == "empty_field" else check
        lines += [f"{_at(result.get('json_location', ''))}: {what}" for result in results]
    return lines


def _deprecated_lines(fields: list[dict[str, Any]]) -> list[str]:
    lines = []
    for deprecated in fields:
        since, why = deprecated["explanation"]
        lines += [
            f"{_at(path, deprecated['field'])}: deprecated in OCDS {since}: {why}"
            for path in deprecated["paths"]
        ]
    return lines
