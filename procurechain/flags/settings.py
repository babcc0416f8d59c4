"""The flags' settings, with Cardinal's INI file format, section and key names and defaults.

A settings file is Cardinal's (``ocdscardinal init`` writes the template): top-level keys before
any section (``currency``, ``no_price_comparison_procurement_methods``,
``price_comparison_procurement_methods``), ``[exclusions]``, ``[output]``, one section per
indicator (``[R003]`` … ``[R058]``, ``[R003.procurement_method_details]``), and the sections of
Cardinal's ``prepare`` command (``[defaults]``, ``[redactions]``, ``[corrections]``,
``[modifications]``, ``[codelists.bid_status]``, ``[codelists.award_status]``). This chain's
own flags have sections ``[P001]`` … ``[P008]`` in the same file.

As in Cardinal, an indicator runs only if its section is in the file (an empty ``[R024]``
runs it with its defaults), an unknown section or key is an error, and comments start with
``;`` or ``#`` (also after a value). :class:`Settings` built in code, without a file, runs
every indicator with its defaults.

Of the ``prepare`` sections, two change what the indicators read, and are applied to the bids
before them (Cardinal's workflow runs ``prepare`` first): ``[defaults] currency`` fills a bid's
missing currency, ``[redactions] amount`` removes bid amounts that are placeholders (``0``).
The others are read and checked but change nothing: this chain's releases already have string
identifiers and codelist statuses.
"""

from __future__ import annotations

import configparser
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from procurechain.errors import ProcurechainError

__all__ = [
    "CARDINAL_CODES",
    "CHAIN_CODES",
    "CODES",
    "Settings",
    "SettingsError",
]

CARDINAL_CODES = (
    "R003", "R018", "R024", "R025", "R028", "R030", "R035", "R036", "R038", "R048", "R058",
)  # fmt: skip
CHAIN_CODES = ("P001", "P002", "P003", "P004", "P005", "P006", "P007", "P008")
CODES = CARDINAL_CODES + CHAIN_CODES
_TOP = "\x00top"  # the section the keys before any section are read into


class SettingsError(ProcurechainError):
    """A settings file that cannot be used; ``str()`` is one line naming the file and key."""


def _pipes(text: str) -> frozenset[str]:
    """Cardinal's pipe-separated lists (``open|selective``; a trailing ``|`` adds nothing)."""
    parts = text.split("|")
    if parts and parts[-1] == "":
        parts.pop()
    return frozenset(parts)


@dataclass(frozen=True)
class R003:
    """Short submission period: flagged when the bidding period is shorter than ``threshold``
    whole days (or the days set for the process's ``procurementMethodDetails``)."""

    threshold: int = 15
    procurement_methods: frozenset[str] = frozenset()  # empty: every method
    procurement_method_details: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class R018:
    """Single bid received, for these procurement methods."""

    procurement_methods: frozenset[str] = frozenset({"open", "selective"})


@dataclass(frozen=True)
class Fence:
    """A fixed fence instead of the one computed from the data (R024, R058)."""

    threshold: float | None = None


@dataclass(frozen=True)
class R025:
    """Excessive unsuccessful bids: top tenderers (at least the ``percentile`` of processes
    with a valid bid) whose win ratio is at or under the lower fence (or ``threshold``)."""

    percentile: int = 75
    threshold: float | None = None


@dataclass(frozen=True)
class R035:
    """All but the winning bid disqualified: at least ``threshold`` (1 or more) others."""

    threshold: int = 1


@dataclass(frozen=True)
class R038:
    """Excessive disqualified bids, per buyer, procuring entity and tenderer."""

    threshold: float | None = None
    minimum_submitted_bids: int = 2
    minimum_contracting_processes: int = 2


@dataclass(frozen=True)
class R048:
    """Heterogeneous supplier: many item classification groups (first ``digits`` of the id)."""

    digits: int = 2
    threshold: int | None = None
    minimum_contracting_processes: int = 20


@dataclass(frozen=True)
class P002:
    """Tenders split under the rollout cap: at least ``minimum_tenders`` tenders of one agency,
    each budgeted within ``margin`` (a share) under the phase cap, published within
    ``window_days`` of each other."""

    margin: float = 0.10
    window_days: int = 30
    minimum_tenders: int = 2


@dataclass(frozen=True)
class P003:
    """The same winner again and again: an agency with at least ``minimum_awards`` accepted
    awards, of which one supplier won a share of ``threshold`` or more."""

    threshold: float = 0.75
    minimum_awards: int = 5


@dataclass(frozen=True)
class P004:
    """Winning price near the budget: the awarded price is ``threshold`` of the budget or more."""

    threshold: float = 0.95


@dataclass(frozen=True)
class P005:
    """Late milestones: delivered (or still not delivered) ``minimum_days_late`` started days
    or more after the due date."""

    minimum_days_late: int = 1


@dataclass(frozen=True)
class Prepare:
    """What Cardinal's ``prepare`` sections say that the indicators use."""

    default_currency: str | None = None
    redact_amounts: frozenset[float] = frozenset()


@dataclass(frozen=True)
class Settings:
    """Every setting of the flags. ``Settings()`` runs every flag with its defaults;
    :meth:`load` reads a Cardinal-style INI file, where only the sections present run.

    Attributes:
        enabled: the codes that run.
        currency: the main currency of price comparisons (R024, R036, R058); None: the first
            currency found, in input order.
        no_price_comparison_procurement_methods: ``procurementMethodDetails`` values where
            prices are not compared (a deny list).
        price_comparison_procurement_methods: the only ones where they are (an allow list; it
            wins over the deny list).
        excluded_procurement_method_details: processes every indicator skips.
        info_currency_mismatches: Cardinal's ``[output]`` switch (a log level); kept for
            completeness, nothing is logged here.
        prepare: the ``prepare`` settings applied to bids first.
    """

    enabled: frozenset[str] = frozenset(CODES)
    currency: str | None = None
    no_price_comparison_procurement_methods: frozenset[str] = frozenset()
    price_comparison_procurement_methods: frozenset[str] = frozenset()
    excluded_procurement_method_details: frozenset[str] = frozenset()
    info_currency_mismatches: bool = False
    prepare: Prepare = Prepare()
    r003: R003 = R003()
    r018: R018 = R018()
    r024: Fence = Fence()
    r025: R025 = R025()
    r035: R035 = R035()
    r038: R038 = R038()
    r048: R048 = R048()
    r058: Fence = Fence()
    p002: P002 = P002()
    p003: P003 = P003()
    p004: P004 = P004()
    p005: P005 = P005()

    def runs(self, code: str) -> bool:
        """Whether the flag ``code`` is computed."""
        return code in self.enabled

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        """Read a settings file.

        Raises:
            SettingsError: unreadable, not INI, an unknown section or key, or a bad value
                (one line naming the file, section and key).
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as err:
            raise SettingsError(f"cannot read {source}: {err.strerror or err}") from err
        except UnicodeDecodeError as err:
            raise SettingsError(f"{source} is not UTF-8 text ({err.reason})") from err
        return cls.parse(text, str(source))

    @classmethod
    def parse(cls, text: str, source: str = "settings") -> Settings:
        """Read settings from INI text (``source`` names it in errors)."""
        parser = configparser.ConfigParser(
            interpolation=None,
            inline_comment_prefixes=(";", "#"),
            comment_prefixes=(";", "#"),
            strict=True,
            empty_lines_in_values=False,
            default_section="\x00none",
        )
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(f"[{_TOP}]\n{text}", source=source)
        except configparser.Error as err:
            message = " ".join(str(err).replace(f"[{_TOP}]", "").split())
            raise SettingsError(f"{source} is not a valid settings file: {message}") from err
        return _Reader(source).read(parser)


# ------------------------------------------------------------------------------- reading


def _integer(minimum: int | None) -> Callable[[str], int]:
    def read(text: str) -> int:
        if not re.fullmatch(r"[+-]?\d+", text):
            raise ValueError(f"{text!r} is not a whole number")
        value = int(text)
        if minimum is not None and value < minimum:
            raise ValueError(f"{text!r} is below {minimum}")
        return value

    return read


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def _share(text: str) -> float:
    value = _float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r} is not a share between 0 and 1")
    return value


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def _numbers(text: str) -> frozenset[float]:
    found = set()
    for part in _pipes(text):
        try:
            found.add(float(part))
        except ValueError:
            continue  # Cardinal skips what does not parse as a number
    return frozenset(found)


_COUNT = _integer(0)
_DAYS = _integer(None)  # i64 in Cardinal: a negative threshold is allowed (flags nothing)

#: section -> key -> how its value is read (None: any text).
_SCHEMA: dict[str, dict[str, Callable[[str], Any] | None]] = {
    _TOP: {
        "currency": None,
        "no_price_comparison_procurement_methods": _pipes,
        "price_comparison_procurement_methods": _pipes,
    },
    "output": {"info_currency_mismatches": _bool},
    "exclusions": {"procurement_method_details": _pipes},
    "defaults": {
        "currency": None,
        "item_classification_scheme": None,
        "bid_status": None,
        "award_status": None,
        "party_roles": _bool,
    },
    "redactions": {"amount": _numbers, "organization_id": None},
    "corrections": {"award_status_by_contract_status": _bool},
    "modifications": {
        "move_auctions": _bool,
        "prefix_buyer_or_procuring_entity_id": None,
        "prefix_tenderer_or_supplier_id": None,
        "split_procurement_method_details": None,
    },
    "R003": {"threshold": _DAYS, "procurement_methods": _pipes},
    "R018": {"procurement_methods": _pipes},
    "R024": {"threshold": _float},
    "R025": {"percentile": _COUNT, "threshold": _float},
    "R028": {},
    "R030": {},
    "R035": {"threshold": _COUNT},
    "R036": {},
    "R038": {
        "threshold": _float,
        "minimum_submitted_bids": _COUNT,
        "minimum_contracting_processes": _COUNT,
    },
    "R048": {"digits": _COUNT, "threshold": _COUNT, "minimum_contracting_processes": _COUNT},
    "R058": {"threshold": _float},
    "P001": {},
    "P002": {"margin": _share, "window_days": _COUNT, "minimum_tenders": _integer(2)},
    "P003": {"threshold": _share, "minimum_awards": _integer(1)},
    "P004": {"threshold": _float},
    "P005": {"minimum_days_late": _integer(1)},
    "P006": {},
    "P007": {},
    "P008": {},
}
#: sections whose keys are free (values: whole numbers of days, or codelist mappings).
_OPEN = {"R003.procurement_method_details": _DAYS, "codelists.bid_status": None,
         "codelists.award_status": None}  # fmt: skip


class _Reader:
    """Checks every section and key against Cardinal's schema and builds :class:`Settings`."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, section: str, key: str, problem: str) -> SettingsError:
        where = f"[{section}] {key}" if section != _TOP else key
        return SettingsError(f"{self.source}: {where}: {problem}")

    def values(self, parser: configparser.ConfigParser, section: str) -> dict[str, Any]:
        known = _SCHEMA.get(section)
        read_open = _OPEN.get(section)
        found: dict[str, Any] = {}
        for key, raw in parser.items(section):
            text = (raw or "").strip()
            if known is not None and key not in known:
                expected = ", ".join(known) or "no keys"
                raise self.fail(section, key, f"unknown key (this section takes {expected})")
            reader = known[key] if known is not None else read_open
            try:
                found[key] = reader(text) if reader is not None else text
            except ValueError as err:
                raise self.fail(section, key, str(err)) from None
        return found

    def read(self, parser: configparser.ConfigParser) -> Settings:
        sections: dict[str, dict[str, Any]] = {}
        for section in parser.sections():
            if section not in _SCHEMA and section not in _OPEN:
                raise SettingsError(
                    f"{self.source}: unknown section [{section}] (Cardinal's sections, "
                    f"R003 to R058, P001 to P008)"
                )
            sections[section] = self.values(parser, section)
        top = sections.get(_TOP, {})
        enabled = {s for s in sections if s in CODES}
        if "R003.procurement_method_details" in sections:
            enabled.add("R003")
        settings = Settings(
            enabled=frozenset(enabled),
            currency=top.get("currency") or None,
            no_price_comparison_procurement_methods=top.get(
                "no_price_comparison_procurement_methods", frozenset()
            ),
            price_comparison_procurement_methods=top.get(
                "price_comparison_procurement_methods", frozenset()
            ),
            excluded_procurement_method_details=sections.get("exclusions", {}).get(
                "procurement_method_details", frozenset()
            ),
            info_currency_mismatches=sections.get("output", {}).get(
                "info_currency_mismatches", False
            ),
            prepare=Prepare(
                default_currency=sections.get("defaults", {}).get("currency") or None,
                redact_amounts=sections.get("redactions", {}).get("amount", frozenset()),
            ),
        )
        return replace(settings, **_indicator_settings(sections, settings))


def _indicator_settings(sections: dict[str, dict[str, Any]], base: Settings) -> dict[str, Any]:
    """Each indicator's dataclass from its section (defaults for what is not given)."""
    changes: dict[str, Any] = {}
    for item in fields(Settings):
        code = item.name.upper()
        if code not in sections:
            continue
        current = getattr(base, item.name)
        given = {k: v for k, v in sections[code].items() if k in {f.name for f in fields(current)}}
        changes[item.name] = replace(current, **given)
    details = sections.get("R003.procurement_method_details")
    if details:
        r003 = changes.get("r003", base.r003)
        changes["r003"] = replace(r003, procurement_method_details=dict(details))
    return changes
