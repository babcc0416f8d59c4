"""What the OCDS export reads from the chain besides the events: each tender's immutable
terms, the ocids, the token, the chain id and the notices.

Everything here is fixed once a tender exists (immutable clone arguments, the Registry's ocid,
the token's symbol and decimals, the notice in the ``TenderCreated`` calldata), so reading it at
the head describes the past truthfully. :func:`read` is the only function that talks to the
node; building releases from :class:`ChainFacts` and an audit log is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from procurechain.record.content import OnChainNotice
from procurechain.record.money import Currency

__all__ = ["ChainFacts", "TenderTerms", "read"]


@dataclass(frozen=True)
class TenderTerms:
    """A tender's immutable parameters (token base units, unix seconds, basis points).

    Attributes:
        budget: the most the buyer pays.
        bond: each bidder's bond.
        bidding_deadline: last second to commit a sealed bid.
        reveal_deadline: last second to reveal it.
        acceptance_window: seconds the awardee has to accept.
        method: 0 lowest valid price, 1 evaluation by the consortium.
        retention_bps: share of each milestone held until the warranty ends.
        warranty_period: seconds after the last settled milestone.
        penalty_bps_per_day: late penalty per started day.
        penalty_cap_bps: the most a late penalty takes of a milestone.
        evaluation_period: seconds the consortium has to award (``EVALUATION_PERIOD``).
    """

    budget: int
    bond: int
    bidding_deadline: int
    reveal_deadline: int
    acceptance_window: int
    method: int
    retention_bps: int
    warranty_period: int
    penalty_bps_per_day: int
    penalty_cap_bps: int
    evaluation_period: int = 60 * 86_400


@dataclass
class ChainFacts:
    """Everything but the events that the releases are built from.

    Attributes:
        chain_id: the chain the registry lives on.
        registry: the Registry's address.
        consortium: the Consortium's address.
        currency: the token and how its amounts are stated.
        ocids: ``Registry.ocid(id)`` per tender id.
        terms: per tender address, its immutable parameters.
        notices: per tender address, its notice as found on the chain.
    """

    chain_id: int
    registry: str
    consortium: str
    currency: Currency
    ocids: dict[int, str] = field(default_factory=dict)
    terms: dict[str, TenderTerms] = field(default_factory=dict)
    notices: dict[str, OnChainNotice] = field(default_factory=dict)


def _terms(contract: Any) -> TenderTerms:
    terms = contract.terms()
    return TenderTerms(
        budget=int(contract.budget()),
        bond=int(contract.bond()),
        bidding_deadline=int(contract.biddingDeadline()),
        reveal_deadline=int(contract.revealDeadline()),
        acceptance_window=int(contract.acceptanceWindow()),
        method=int(contract.awardMethod()),
        retention_bps=int(terms.retentionBps),
        warranty_period=int(terms.warrantyPeriod),
        penalty_bps_per_day=int(terms.latePenaltyBpsPerDay),
        penalty_cap_bps=int(terms.latePenaltyCapBps),
        evaluation_period=int(contract.EVALUATION_PERIOD()),
    )


_TERMS = (
    "terms",
    "budget",
    "bond",
    "biddingDeadline",
    "revealDeadline",
    "acceptanceWindow",
    "awardMethod",
    "EVALUATION_PERIOD",
)


def _viewer() -> tuple[Any, Callable[[str, str], Any]]:
    """The node's JSON-RPC (None if not over HTTP) and a way to reach a contract's views:
    batched ``eth_call`` over HTTP, Ape's contract instances otherwise."""
    from procurechain.bulk import ViewContract, connected_rpc
    from procurechain.deployments import typed

    rpc = connected_rpc()
    if rpc is None:
        return None, typed
    return rpc, lambda name, address: ViewContract(rpc, name, address)


def read(
    log: Any,
    registry: Any,
    *,
    pegged_to: str | None = None,
    token_description: str = "",
    notices: Mapping[str, OnChainNotice] | None = None,
) -> ChainFacts:
    """Read the facts of every tender in ``log`` (an :class:`~procurechain.audit.AuditLog`);
    over HTTP the views go in JSON-RPC batches.

    Args:
        log: the audit log.
        registry: the Registry contract.
        pegged_to: the ISO 4217 currency the token is pegged to, or None (``XXX``).
        token_description: what the token is, in words (e.g. "a USD test stablecoin").
        notices: the notices if already read (default: read with
            :func:`procurechain.record.content.notices`).
    """
    from procurechain.network import chain_id
    from procurechain.record.content import notices as read_notices

    rpc, view = _viewer()
    registry_address = str(getattr(registry, "address", registry))
    created = {e.args["id"]: e.args["tender"] for e in log.of("TenderCreated")}
    if rpc is not None:
        rpc.prefetch(
            [("Registry", registry_address, "ocid", (i,)) for i in created]
            + [("Tender", t, m, ()) for t in created.values() for m in _TERMS]
        )
    try:
        token = view("DemoStablecoin", str(view("Registry", registry_address).token()))
        currency = Currency(
            token=str(token.address),
            symbol=str(token.symbol()),
            decimals=int(token.decimals()),
            chain_id=chain_id(),
            pegged_to=pegged_to,
            description=token_description,
        )
        facts = ChainFacts(currency.chain_id, log.registry, log.consortium, currency)
        for tender_id, tender in created.items():
            facts.ocids[tender_id] = str(view("Registry", registry_address).ocid(tender_id))
            facts.terms[tender] = _terms(view("Tender", tender))
    finally:
        if rpc is not None:
            rpc.memo.clear()
    facts.notices = dict(notices) if notices is not None else read_notices(log)
    return facts
