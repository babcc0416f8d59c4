"""Cardinal's eleven indicators over a set of compiled releases, as ``ocdscardinal indicators``
runs them.

Every indicator skips a release without a string ``ocid``, with ``tender.status`` cancelled, or
whose ``procurementMethodDetails`` is in ``[exclusions]``; each reads the rest in input order and
raises its flags once all are read (the fences of R024, R025, R038, R048 and R058 come from all
processes at once).
"""

from __future__ import annotations

from collections.abc import Sequence

from procurechain.flags.cardinal_party import R025, R038, R048
from procurechain.flags.cardinal_price import R024, R058, SecondLowestBidRatio
from procurechain.flags.cardinal_process import R003, R018, R028, R030, R035, R036
from procurechain.flags.context import Context, Indicator
from procurechain.flags.model import Flag
from procurechain.flags.release import Release, as_list, party_id

__all__ = ["run"]

_SIMPLE: dict[str, type[Indicator]] = {
    "R003": R003,
    "R018": R018,
    "R025": R025,
    "R028": R028,
    "R030": R030,
    "R035": R035,
    "R036": R036,
    "R038": R038,
    "R048": R048,
}


def _indicators(ctx: Context) -> tuple[SecondLowestBidRatio | None, list[Indicator]]:
    settings = ctx.settings
    ratios = None
    if settings.runs("R024") or settings.runs("R058"):
        ratios = SecondLowestBidRatio(ctx)
    chosen: list[Indicator] = []
    for code in sorted({*_SIMPLE, "R024", "R058"}):
        if not settings.runs(code):
            continue
        if code == "R024" and ratios is not None:
            chosen.append(R024(ctx, ratios))
        elif code == "R058" and ratios is not None:
            chosen.append(R058(ctx, ratios))
        else:
            chosen.append(_SIMPLE[code](ctx))
    return ratios, chosen


def _tenderers(release: Release) -> set[str]:
    """The tenderers of the release's submitted bids (Cardinal's ``ocid_tenderer`` map)."""
    found: set[str] = set()
    for bid in release.submitted_bids():
        found.update(i for i in map(party_id, as_list(bid.get("tenderers")) or ()) if i is not None)
    return found


def run(releases: Sequence[Release], ctx: Context) -> list[Flag]:
    """Cardinal's flags over ``releases``, in indicator order; fills ``ctx.meta`` and
    ``ctx.maps``."""
    ratios, indicators = _indicators(ctx)
    mapping = any(ctx.settings.runs(c) for c in ("R025", "R038", "R048"))
    if mapping:
        ctx.maps.setdefault("ocid_tenderer", {})
    excluded = ctx.settings.excluded_procurement_method_details
    for release in releases:
        if release.ocid is None or release.cancelled:
            continue
        if not release.matches_details(frozenset(), excluded):
            continue
        if mapping and (tenderers := _tenderers(release)):
            ctx.maps["ocid_tenderer"][release.ocid] = sorted(tenderers)
        if ratios is not None:
            ratios.fold(release)
        for indicator in indicators:
            indicator.fold(release)
    flags: list[Flag] = []
    for indicator in indicators:
        flags.extend(indicator.finish())
    return flags
