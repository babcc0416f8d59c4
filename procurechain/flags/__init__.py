"""Red flags on the public record: Open Contracting Partnership's Cardinal indicators on the
compiled OCDS releases, and this chain's own flags on its events.

The portal's indexer calls :func:`compute` (or :func:`evaluate`, which also keeps Cardinal's
statistics and maps) and stores :func:`to_rows`; ``ape run audit flags`` prints :func:`line`
per flag and writes :func:`to_cardinal`. :data:`DEFINITIONS` says what every code means.
See ``docs/flags.md``.
"""

from procurechain.flags.definitions import DEFINITIONS, Definition
from procurechain.flags.engine import compute, evaluate
from procurechain.flags.model import Findings, Flag
from procurechain.flags.output import FlagRow, line, to_cardinal, to_rows
from procurechain.flags.settings import CARDINAL_CODES, CHAIN_CODES, CODES, Settings, SettingsError

__all__ = [
    "CARDINAL_CODES",
    "CHAIN_CODES",
    "CODES",
    "DEFINITIONS",
    "Definition",
    "Findings",
    "Flag",
    "FlagRow",
    "Settings",
    "SettingsError",
    "compute",
    "evaluate",
    "line",
    "to_cardinal",
    "to_rows",
]
