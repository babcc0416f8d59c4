"""The entry points: every flag of a set of processes, from their compiled releases and the log.

:func:`compute` is what the portal's indexer calls after each new block; :func:`evaluate` also
returns Cardinal's statistics and maps (for :func:`procurechain.flags.output.to_cardinal`).
Both are pure: nothing here reads the chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from procurechain.audit import AuditLog
from procurechain.flags import cardinal
from procurechain.flags.chain import ChainRule, ChainView
from procurechain.flags.chain_awards import BareQuorum, NearBudget, SameWinner, SplitUnderCap
from procurechain.flags.chain_execution import (
    Disputes,
    ForfeitedBonds,
    LapsedAwards,
    LateMilestones,
)
from procurechain.flags.context import Context
from procurechain.flags.model import Findings, Flag
from procurechain.flags.release import Release
from procurechain.flags.settings import Settings
from procurechain.flags.wording import Wording
from procurechain.record.facts import TenderTerms

__all__ = ["compute", "evaluate"]


def _chain_rules(ctx: Context, view: ChainView, phase_cap: int | None) -> list[ChainRule]:
    rules: list[ChainRule] = [
        BareQuorum(ctx, view),
        SplitUnderCap(ctx, view, phase_cap),
        SameWinner(ctx, view),
        NearBudget(ctx, view),
        LateMilestones(ctx, view),
        Disputes(ctx, view),
        LapsedAwards(ctx, view),
        ForfeitedBonds(ctx, view),
    ]
    return [rule for rule in rules if ctx.settings.runs(rule.code)]


def evaluate(
    releases: Iterable[Mapping[str, Any]],
    log: AuditLog | None = None,
    terms: Mapping[str, TenderTerms] | None = None,
    settings: Settings | None = None,
    *,
    phase_cap: int | None = None,
    now: int | None = None,
    names: Mapping[str, str] | None = None,
) -> Findings:
    """Every flag, with Cardinal's ``Meta`` statistics and release maps.

    Args:
        releases: compiled OCDS releases (dictionaries), one per process; any shape is
            tolerated (what is not as OCDS says is skipped, as Cardinal skips it).
        log: the audit log the releases were compiled from, collected without a tender or
            block filter; without it only Cardinal's indicators run (the chain's flags read
            its events).
        terms: per tender address, its terms (``ChainFacts.terms``); P002 and P004 need them.
        settings: what runs and with which thresholds (default: everything, Cardinal's and
            this chain's defaults).
        phase_cap: the registry's current phase cap (``Registry.phaseCap()``, base units);
            P002 needs it for tenders published after the last ``PhaseCapRaised``.
        now: when overdue milestones are judged (unix time; default: the log's last event).
        names: the publisher's names of accounts (checksummed address -> name) for the
            evidence; the releases' party names serve otherwise.
    """
    settings = settings or Settings()
    prepared = [Release(r, settings.prepare) for r in releases]
    unit = log.unit if log is not None else None
    words = Wording((r.data for r in prepared), unit, names)
    view = ChainView(log, prepared, terms, now) if log is not None else None
    ctx = Context(settings, words, tender_ids=view.tender_ids if view is not None else {})
    flags: list[Flag] = cardinal.run(prepared, ctx)
    if view is not None:
        for rule in _chain_rules(ctx, view, phase_cap):
            flags.extend(rule.run())
    return Findings(flags=flags, meta=ctx.meta, maps=ctx.maps)


def compute(
    releases: Iterable[Mapping[str, Any]],
    log: AuditLog | None,
    terms: Mapping[str, TenderTerms] | None,
    settings: Settings | None = None,
    *,
    phase_cap: int | None = None,
    now: int | None = None,
    names: Mapping[str, str] | None = None,
) -> list[Flag]:
    """Every flag of the processes (see :func:`evaluate` for the arguments)."""
    found = evaluate(releases, log, terms, settings, phase_cap=phase_cap, now=now, names=names)
    return found.flags
