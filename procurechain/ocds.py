"""The OCDS export, kept importable under its old name: the work is in
:mod:`procurechain.record` (``releases`` builds the releases, ``packages`` the release and
record packages, ``schema`` validates them).

:func:`export` returns the release package of every process, as it always did; use
:func:`procurechain.record.packages.export` for the per-process release and record packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from procurechain.audit import AuditLog
from procurechain.record import packages
from procurechain.record.schema import (
    BID_EXTENSION,
    OCDS_DIR_VARIABLE,
    merge_patch,
    schema_dir,
    validate,
)

__all__ = ["BID_EXTENSION", "OCDS_DIR_VARIABLE", "export", "merge_patch", "schema_dir", "validate"]


def export(
    log: AuditLog,
    registry: Any,
    *,
    names: Mapping[str, str] | None = None,
    pegged_to: str | None = None,
    token_description: str = "",
    publication: packages.Publication | None = None,
) -> dict[str, Any]:
    """The release package of every process in ``log`` (see
    :func:`procurechain.record.packages.export` for the arguments)."""
    return packages.export(
        log,
        registry,
        names=names,
        pegged_to=pegged_to,
        token_description=token_description,
        publication=publication,
    ).combined
