"""What each red flag means, for the Flags page, from the flags engine's ``DEFINITIONS``
(:mod:`procurechain.flags`). For a code it does not define (an index written by another
version), the page says the definition is not available and still lists what the ``flags``
table holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FlagDefinition", "definitions_from", "load_definitions"]


@dataclass(frozen=True)
class FlagDefinition:
    """One indicator, in plain words.

    Attributes:
        code: ``R003`` … (Cardinal's) or ``P001`` … (the chain's own).
        title: a short name.
        description: what it measures and why it can matter, for a citizen.
        source: where the definition is published (a URL), or "".
        kind: ``Cardinal`` or ``chain``.
    """

    code: str
    title: str
    description: str
    source: str = ""
    kind: str = ""


def definitions_from(found: Mapping[str, Any]) -> dict[str, FlagDefinition]:
    """Definitions from any mapping of code to an object or dict with ``title`` and
    ``description`` (extra fields ignored, missing optional ones empty)."""
    result = {}
    for code, item in found.items():
        get = item.get if isinstance(item, Mapping) else lambda k, d="", i=item: getattr(i, k, d)
        result[str(code)] = FlagDefinition(
            code=str(code),
            title=str(get("title", "") or code),
            description=str(get("description", "") or ""),
            source=str(get("source", "") or ""),
            kind=str(get("kind", "") or ("Cardinal" if str(code).startswith("R") else "chain")),
        )
    return result


def load_definitions() -> dict[str, FlagDefinition]:
    """The flags engine's definitions (:data:`procurechain.flags.DEFINITIONS`)."""
    from procurechain.flags import DEFINITIONS

    return definitions_from(DEFINITIONS)
