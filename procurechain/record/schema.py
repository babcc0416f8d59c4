"""The OCDS 1.1.5 schemas the project ships, patched with the bid extension; offline validation.

The release schema is merge-patched (RFC 7396) with ``extensions/bids/release-schema.json``,
as OCDS applies extensions, and registered under its own ``id``, which the package schemas
reference; nothing is fetched. The same patched schema gives ``ocdsmerge`` its merge rules.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from procurechain.errors import ProcurechainError

__all__ = [
    "BID_EXTENSION",
    "OCDS_DIR_VARIABLE",
    "SCHEMA_DIR",
    "merge_patch",
    "release_schema",
    "schema_dir",
    "validate",
]

OCDS_DIR_VARIABLE = "PROCURECHAIN_OCDS_DIR"
#: The bid extension's extension.json (its schema files are in ``<schema_dir>/extensions/bids``).
BID_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
    "v1.1.5/extension.json"
)
#: The OCDS 1.1.5 schemas, codelists and bid extension the project ships (Apache-2.0).
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema" / "ocds"
_VERSIONED = (
    "https://standard.open-contracting.org/schema/1__1__5/versioned-release-validation-schema.json"
)


def schema_dir() -> Path:
    """The OCDS schema folder: ``$PROCURECHAIN_OCDS_DIR``, else the copy shipped in the
    package (``procurechain/schema/ocds``)."""
    return Path(os.environ.get(OCDS_DIR_VARIABLE, SCHEMA_DIR))


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply a JSON Merge Patch (RFC 7396) to ``target``; returns the result (a new object)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ProcurechainError(
            f"OCDS schema {path} is missing; set {OCDS_DIR_VARIABLE} to the folder holding "
            "release-package-schema.json, record-package-schema.json, release-schema.json and "
            "extensions/bids/"
        ) from err


@cache
def _release_schema(folder: Path) -> str:
    patched = merge_patch(
        _load(folder / "release-schema.json"),
        _load(folder / "extensions" / "bids" / "release-schema.json"),
    )
    return json.dumps(patched)


def release_schema(folder: Path | None = None) -> dict[str, Any]:
    """The OCDS 1.1.5 release schema patched with the bid extension (a new copy).

    Raises:
        ProcurechainError: a schema file is missing.
    """
    return json.loads(_release_schema(folder or schema_dir()))


def validate(package: Mapping[str, Any], folder: Path | None = None) -> list[str]:
    """Validate a release package or a record package against OCDS 1.1.5 plus the bid
    extension, offline.

    A record package's ``compiledRelease`` is checked against the patched release schema;
    its ``versionedRelease`` (made by ``ocdsmerge``, the reference implementation) only as an
    object, since OCDS's versioned-release validation schema is not shipped.

    Args:
        package: the package (``records`` in it: a record package).
        folder: the schema folder (default: :func:`schema_dir`).

    Returns:
        One line per error (``path: message``); empty when the package is valid.

    Raises:
        ProcurechainError: a schema file is missing.
    """
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    folder = folder or schema_dir()
    release = release_schema(folder)
    kind = "record" if "records" in package else "release"
    schema = _load(folder / f"{kind}-package-schema.json")
    registry = Registry().with_resources(
        [
            (release["id"], Resource.from_contents(release, default_specification=DRAFT4)),
            (_VERSIONED, Resource.from_contents({"type": "object"}, DRAFT4)),
        ]
    )
    validator = Draft4Validator(
        schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(package)'}: {error.message}"
        for error in sorted(validator.iter_errors(package), key=lambda e: list(e.absolute_path))
    ]
