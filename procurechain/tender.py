"""Tenders: publish, list and inspect them; commit, reveal and settle bids; consortium calls.

Every function that sends a transaction checks first what the contract would check (stage,
price, balance, allowance) and raises :class:`~procurechain.errors.ProcurechainError` with
one sentence instead of sending a transaction that would fail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum
from typing import Any, NamedTuple

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from procurechain import display, network
from procurechain.bids import BidJournal, BidRecord, bid_salt, commitment
from procurechain.calls import Call, call_of
from procurechain.deployments import typed
from procurechain.errors import ProcurechainError, describe, register_sentences
from procurechain.permit import sign_permit
from procurechain.record.notice import MAX_NOTICE_BYTES

__all__ = [
    "AwardMethod",
    "Milestone",
    "PublishedTender",
    "Stage",
    "TenderSpec",
    "TenderStatus",
    "accept_award",
    "award_call",
    "cancel_call",
    "claim_forfeited_bond",
    "claim_rank",
    "commit_bid",
    "create_tender",
    "disqualify_call",
    "list_tenders",
    "plan_hash",
    "published_plan",
    "record_lapse",
    "reveal_bid",
    "show",
    "tender_at",
    "withdraw_bond",
]


class Stage(IntEnum):
    """The Tender's ``Stage`` enum, in the contract's order."""

    BIDDING = 0
    REVEAL = 1
    EVALUATION = 2
    RANKING = 3
    AWARDED = 4
    AWARD_LAPSED = 5
    CONTRACTED = 6
    CANCELLED = 7
    FAILED = 8

    @property
    def label(self) -> str:
        """Lower-case, readable name (``award lapsed``)."""
        return self.name.lower().replace("_", " ")


class AwardMethod(IntEnum):
    """The Tender's ``AwardMethod`` enum."""

    LOWEST_PRICE = 0
    EVALUATION = 1


def _stage_name(value: Any) -> str:
    return Stage(int(value)).label


register_sentences(
    {
        "TenderNotConsortium": "{caller} is not the consortium; propose this through the "
        "consortium",
        "TenderNotRegistry": "only the registry may initialise a tender ({caller} tried)",
        "TenderAlreadyInitialized": "this tender is already open",
        "TenderNotInitialized": "this address is not an open tender (is it the implementation?)",
        "TenderBidTooLate": "bidding closed at {deadline}; it is now {now_}",
        "TenderRevealTooEarly": "reveal opens after the bidding deadline {biddingDeadline} "
        "(now {now_}); wait and try again",
        "TenderRevealTooLate": "the reveal deadline {revealDeadline} has passed (now {now_}); "
        "an unrevealed bond is forfeited",
        "TenderWrongStage": "the tender is in stage {actual}, this needs stage {expected}",
        "TenderNotCancellable": "a tender in stage {stage} can no longer be cancelled",
        "TenderNoCommitment": "{bidder} has no bid on this tender",
        "TenderAlreadyRevealed": "{bidder} has already revealed its bid",
        "TenderCommitmentMismatch": "the price, salt or document hash does not open the "
        "commitment of {bidder}; use the same values as at commit",
        "TenderBidderNotEligible": "{bidder} has no revealed valid bid still in the competition "
        "(disqualified, lapsed, or its bond was taken back)",
        "TenderBidderIsMember": "{bidder} is a member of the consortium and cannot be awarded "
        "(it would decide on its own contract); disqualify its bid with the reason",
        "TenderNotLowestBid": "{bidder} is not the lowest valid bid; the lowest is {lowest}",
        "TenderNotAwardee": "{caller} is not the awardee ({awardee})",
        "TenderAcceptanceExpired": "the acceptance window closed at {deadline} (now {now_})",
        "TenderPlanMismatch": "the milestone plan does not match the tender's (hash {expected}); "
        "pass the plan from the TenderCreated event",
        "TenderBondLocked": "the bond of {bidder} cannot be withdrawn in stage {stage}",
        "TenderBondForfeited": "the bond of {bidder} was forfeited to the buyer",
        "TenderBondNotForfeitable": "the bond of {bidder} is not forfeited",
        "TenderBondAlreadySettled": "the bond of {bidder} was already paid out",
        "TenderBondShort": "only {received} of the {bond} bond arrived (the token takes a fee on "
        "transfer); this tender cannot hold bonds in that token",
        "RegistryNotConsortium": "{caller} is not the consortium; propose this through the "
        "consortium",
        "RegistryNotAgency": "{caller} is not a registered buying agency",
        "RegistryZeroAddress": "an address is missing (zero address given)",
        "RegistryAgencyAlreadyAdded": "{agency} is already a buying agency",
        "RegistryUnknownAgency": "{agency} is not a buying agency",
        "RegistryPhaseCapNotRaised": "the new cap {requested} must exceed the current {current}",
        "RegistryBudgetAboveCap": "the budget {budget} exceeds the rollout-phase cap {cap}",
        "RegistryInvalidAmounts": "budget {budget} and bond {bond} must both be positive and "
        "below 2^88",
        "RegistryInvalidDeadlines": "deadlines must be in the future and bidding "
        "({biddingDeadline}) before reveal ({revealDeadline}); now is {now_}",
        "RegistryAcceptanceWindowTooShort": "an acceptance window of {window} s is too short; "
        "give the awardee at least {minimum} s (one day)",
        "RegistryBiddingPeriodTooShort": "a bidding period of {period} s is too short; set the "
        "bidding deadline at least {minimum} s (one day) from now",
        "RegistryRevealPeriodTooShort": "a reveal period of {period} s is too short; set the "
        "reveal deadline at least {minimum} s (one day) after the bidding deadline",
        "RegistryTokenNotAccepted": "this registry's tenders are in token {accepted}, not "
        "{token}; use its token (another currency needs its own registry)",
        "RegistryInvalidTerms": "retention ({retentionBps}) and penalty cap "
        "({latePenaltyCapBps}) must be at most 10000 bps",
        "RegistryInvalidPlan": "the plan has {milestones} milestones whose shares sum to "
        "{shareSum} bps; it needs 1-32 positive shares summing to 10000",
        "RegistryUnknownTender": "there is no tender with id {id}",
        "RegistryTextEmpty": "the text is empty; say something (a title, a reason)",
        "RegistryTextTooLong": "the text is {length} bytes; the chain takes at most {maximum} "
        "(shorten it, or put it in a document and publish its hash)",
    }
)


@dataclass(frozen=True)
class Milestone:
    """One milestone of a tender's plan (``MilestonePlan`` in Solidity)."""

    share_bps: int
    due_offset: int
    description_hash: bytes

    def as_tuple(self) -> tuple[int, int, bytes]:
        """The ABI tuple ``(uint16, uint32, bytes32)``."""
        return (self.share_bps, self.due_offset, self.description_hash)


def plan_hash(plan: list[Milestone] | tuple[Milestone, ...]) -> bytes:
    """``keccak256(abi.encode(plan))``, as the Tender checks it at acceptance."""
    return keccak(encode(["(uint16,uint32,bytes32)[]"], [[m.as_tuple() for m in plan]]))


@dataclass(frozen=True)
class TenderSpec:
    """What an agency publishes (``TenderParams`` plus the milestone plan).

    Attributes:
        token: address of the ERC-20 of bond and price.
        budget: ceiling in token base units; bids above it are invalid.
        bond: bid bond in token base units.
        bidding_deadline: unix time; commitments until then.
        reveal_deadline: unix time; reveals until then.
        acceptance_window: seconds the awardee has to accept.
        method: lowest price or consortium evaluation.
        retention_bps: retention share of each milestone payment.
        warranty_period: seconds of warranty after the last milestone.
        late_penalty_bps_per_day: penalty per started day late.
        late_penalty_cap_bps: maximum penalty share.
        notice: what a person reads (:meth:`procurechain.record.notice.Notice.encode`): the
            title, description, items, documents and milestone titles, on the chain.
        plan: the milestones; shares sum to 10000 bps.
    """

    token: str
    budget: int
    bond: int
    bidding_deadline: int
    reveal_deadline: int
    acceptance_window: int
    notice: str
    plan: tuple[Milestone, ...]
    method: AwardMethod = AwardMethod.LOWEST_PRICE
    retention_bps: int = 0
    warranty_period: int = 0
    late_penalty_bps_per_day: int = 0
    late_penalty_cap_bps: int = 0

    def params(self) -> tuple:
        """The ABI tuple of ``TenderParams``."""
        return (
            to_checksum_address(self.token),
            self.budget,
            self.bond,
            self.bidding_deadline,
            self.reveal_deadline,
            self.acceptance_window,
            int(self.method),
            (
                self.retention_bps,
                self.warranty_period,
                self.late_penalty_bps_per_day,
                self.late_penalty_cap_bps,
            ),
        )

    def plan_tuples(self) -> list[tuple[int, int, bytes]]:
        """The ABI list of ``MilestonePlan`` tuples."""
        return [m.as_tuple() for m in self.plan]


def _now() -> int:
    from ape import chain

    try:
        return int(chain.pending_timestamp)
    except Exception:  # providers without a pending block: the wall clock is close enough
        return int(time.time())


def _send(method: Any, *args: Any, **tx: Any) -> Any:
    try:
        return method(*args, **tx)
    except ProcurechainError:
        raise
    except Exception as err:
        raise ProcurechainError(describe(err)) from err


def tender_at(address: str) -> Any:
    """The Tender contract at ``address``."""
    return typed("Tender", address)


class PublishedTender(NamedTuple):
    """What :func:`create_tender` returns."""

    id: int
    tender: Any
    receipt: Any


def create_tender(registry: Any, agency: Any, spec: TenderSpec) -> PublishedTender:
    """Publish a tender through the registry.

    Args:
        registry: the Registry contract.
        agency: the buying agency's account (must be registered).
        spec: the tender's parameters and plan.

    Returns:
        ``(id, tender contract, receipt)``.

    Raises:
        ProcurechainError: the agency is not registered, the budget exceeds the phase cap,
            or the parameters are inconsistent (checked before sending).
    """
    if not registry.isAgency(agency):
        raise ProcurechainError(
            f"{agency.address} is not a buying agency; ask the consortium to add it first"
        )
    cap = registry.phaseCap()
    if spec.budget > cap:
        raise ProcurechainError(
            f"the budget {spec.budget} exceeds the rollout-phase cap {cap}; lower it or ask "
            "the consortium to raise the cap"
        )
    if spec.bidding_deadline <= _now() or spec.reveal_deadline <= spec.bidding_deadline:
        raise ProcurechainError(
            "the bidding deadline must be in the future and before the reveal deadline"
        )
    if sum(m.share_bps for m in spec.plan) != 10_000:
        raise ProcurechainError("milestone shares must sum to 10000 bps (100%)")
    size = len(spec.notice.encode("utf-8"))
    if not 0 < size <= MAX_NOTICE_BYTES:
        raise ProcurechainError(
            f"the notice is {size:,} bytes; the chain takes 1 to {MAX_NOTICE_BYTES:,} "
            "(shorten it, or move text into a document)"
        )
    receipt = _send(
        registry.createTender, spec.params(), spec.plan_tuples(), spec.notice, sender=agency
    )
    event = next(iter(receipt.events.filter(registry.TenderCreated)))
    return PublishedTender(int(event.id), tender_at(event.tender), receipt)


@dataclass(frozen=True)
class TenderStatus:
    """A readable snapshot of one tender (token base units, unix seconds).

    ``unit`` (the token's symbol and decimals) and ``now`` (the chain's clock) say how
    :meth:`lines` shows amounts and deadlines; without them it shows the bare integers.
    """

    address: str
    stage: Stage
    buyer: str
    token: str
    budget: int
    bond: int
    bidding_deadline: int
    reveal_deadline: int
    method: AwardMethod
    bidders: int
    leader: str | None
    leader_price: int | None
    awardee: str | None
    accept_deadline: int | None
    agreement: str | None
    extra: dict[str, Any] = field(default_factory=dict)
    unit: display.Token | None = None
    now: int | None = None
    evaluation_deadline: int | None = None
    ranking_deadline: int | None = None

    def money(self, amount: int) -> str:
        """An amount of the tender's token as people read it (``50,000.00 dUSD``)."""
        return self.unit.money(amount) if self.unit else str(amount)

    def deadline(self, timestamp: int) -> str:
        """A deadline as an ISO date with the time left (``... (in 6 days 21 h)``)."""
        if self.now is None:
            return display.when(timestamp)
        return display.deadline(timestamp, self.now)

    def lines(self) -> list[str]:
        """Human-readable ``label: value`` lines."""
        token = f"{self.unit.symbol} {self.token}" if self.unit else self.token
        leader = f"{self.leader} at {self.money(self.leader_price or 0)}" if self.leader else "-"
        rows: list[tuple[str, Any]] = [
            ("tender", self.address),
            ("stage", self.stage.label),
            ("buyer", self.buyer),
            ("token", token),
            ("budget", self.money(self.budget)),
            ("bond", self.money(self.bond)),
            ("bidding until", self.deadline(self.bidding_deadline)),
            ("reveal until", self.deadline(self.reveal_deadline)),
        ]
        if self.ranking_deadline and self.stage == Stage.RANKING:
            rows.append(("ranking until", self.deadline(self.ranking_deadline)))
        if self.evaluation_deadline and self.stage in (Stage.EVALUATION, Stage.RANKING):
            rows.append(("award by", self.deadline(self.evaluation_deadline)))
        rows += [
            ("award method", self.method.name.lower().replace("_", " ")),
            ("bidders", self.bidders),
            ("lowest valid bid", leader),
        ]
        if self.awardee:
            accept = self.deadline(self.accept_deadline or 0)
            rows.append(("awardee", f"{self.awardee}, accept by {accept}"))
        if self.agreement:
            rows.append(("agreement", self.agreement))
        return [f"{label:>17}: {value}" for label, value in rows]

    def as_json(self) -> dict[str, Any]:
        """The snapshot for ``--json``: exact integers (base units, unix seconds), each amount
        and time with its human form beside it (``budget`` and ``budget_display``)."""
        unit = self.unit or display.Token("base units", 0)

        def moment(name: str, value: int | None) -> dict[str, Any]:
            shown = None if value is None else display.when(value)
            return {name: value, f"{name}_display": shown}

        return {
            "tender": self.address,
            "stage": self.stage.label,
            "buyer": self.buyer,
            "token": self.token,
            "symbol": unit.symbol,
            "decimals": unit.decimals,
            **unit.fields("budget", self.budget),
            **unit.fields("bond", self.bond),
            **moment("bidding_deadline", self.bidding_deadline),
            **moment("reveal_deadline", self.reveal_deadline),
            **moment("ranking_deadline", self.ranking_deadline or None),
            **moment("evaluation_deadline", self.evaluation_deadline),
            "award_method": self.method.name.lower().replace("_", " "),
            "bidders": self.bidders,
            "leader": self.leader,
            **unit.fields("leader_price", self.leader_price),
            "awardee": self.awardee,
            **moment("accept_deadline", self.accept_deadline),
            "agreement": self.agreement,
            **moment("now", self.now),
        }


_ZERO = "0x0000000000000000000000000000000000000000"


def _bidder_count(tender: Any) -> int:
    from ape import chain

    logs = tender.BidCommitted.range(0, chain.blocks.height + 1)
    return sum(1 for log in logs if not log.replaced)


def show(tender: Any) -> TenderStatus:
    """Read a tender's stage, deadlines, bidders and current lowest bid, with its token's
    symbol and decimals and the chain's clock (for how it reads)."""
    leader, leader_price = tender.leader()
    awardee, accept_deadline = tender.awardee()
    agreement = tender.agreement()
    return TenderStatus(
        address=str(tender.address),
        stage=Stage(tender.stage()),
        buyer=str(tender.buyer()),
        token=str(tender.token()),
        budget=int(tender.budget()),
        bond=int(tender.bond()),
        bidding_deadline=int(tender.biddingDeadline()),
        reveal_deadline=int(tender.revealDeadline()),
        method=AwardMethod(tender.awardMethod()),
        bidders=_bidder_count(tender),
        leader=None if leader == _ZERO else str(leader),
        leader_price=None if leader == _ZERO else int(leader_price),
        awardee=None if awardee == _ZERO else str(awardee),
        accept_deadline=None if awardee == _ZERO else int(accept_deadline),
        agreement=None if agreement == _ZERO else str(agreement),
        unit=display.token_of(tender.token()),
        now=_now(),
        evaluation_deadline=int(tender.evaluationDeadline()),
        ranking_deadline=int(tender.rankingDeadline()),
    )


def _milestone(item: Any) -> Milestone:
    if isinstance(item, dict):
        values = (item["shareBps"], item["dueOffset"], item["descriptionHash"])
    elif hasattr(item, "shareBps"):
        values = (item.shareBps, item.dueOffset, item.descriptionHash)
    else:
        values = tuple(item)
    return Milestone(int(values[0]), int(values[1]), bytes(values[2]))


def published_plan(registry: Any, tender: Any) -> tuple[Milestone, ...]:
    """The milestone plan of ``tender``, from the registry's ``TenderCreated`` event.

    Raises:
        ProcurechainError: the registry never published this tender.
    """
    from ape import chain

    address = to_checksum_address(str(tender.address))
    logs = registry.TenderCreated.range(
        0, chain.blocks.height + 1, search_topics={"tender": address}
    )
    for log in logs:
        return tuple(_milestone(m) for m in log.plan)
    raise ProcurechainError(f"registry {registry.address} did not publish tender {address}")


def list_tenders(registry: Any, agency: str | None = None) -> list[tuple[int, str, Any]]:
    """Every tender ``(id, ocid, contract)``, or only those of ``agency``, newest first."""
    if agency is not None:
        ids = [int(i) for i in registry.tendersOf(agency)]
    else:
        ids = list(range(int(registry.tenderCount()), 0, -1))
    return [(i, registry.ocid(i), tender_at(registry.tenderOf(i))) for i in ids]


def _check_stage(tender: Any, expected: Stage, action: str) -> None:
    current = Stage(tender.stage())
    if current != expected:
        raise ProcurechainError(
            f"cannot {action}: the tender is in stage {current.label}, not {expected.label}"
        )


def commit_bid(
    tender: Any,
    bidder: Any,
    price: int,
    doc_hash: bytes,
    *,
    nonce: int = 0,
    permit_deadline: int | None = None,
    journal: BidJournal | None = None,
    allow_above_budget: bool = False,
) -> Any:
    """Commit (or replace) a sealed bid; the first commitment pays the bond.

    Args:
        tender: the Tender contract.
        bidder: the bidder's Ape account (it signs the salt message and the transaction).
        price: the bid price in token base units.
        doc_hash: hash of the bid documents.
        nonce: a different nonce gives a different salt (use a new one to replace a bid).
        permit_deadline: if given, pay the bond with an EIP-2612 permit signed now.
        journal: where to record the bid (price, document hash, nonce; never the salt).
        allow_above_budget: commit even though the bid would be recorded invalid.

    Returns:
        The transaction receipt.

    Raises:
        ProcurechainError: wrong stage, bad price, not enough balance or allowance.
    """
    if journal is not None:
        journal.check()  # a journal that cannot be kept must fail before the bid is sent
    _check_stage(tender, Stage.BIDDING, "commit a bid")
    if price <= 0:
        raise ProcurechainError("the price must be positive")
    token = _erc20(tender.token())
    money = display.token_from(token).money
    if price > tender.budget() and not allow_above_budget:
        raise ProcurechainError(
            f"the price {money(price)} exceeds the budget {money(tender.budget())}; the bid "
            "would be invalid"
        )
    first = not tender.bidOf(bidder)[0]
    bond = int(tender.bond())
    if first and token.balanceOf(bidder) < bond:
        raise ProcurechainError(
            f"{bidder.address} holds {money(token.balanceOf(bidder))}, the bond is "
            f"{money(bond)}; top up first"
        )
    if first and permit_deadline is None and token.allowance(bidder, tender) < bond:
        raise ProcurechainError(
            f"approve the tender {tender.address} for the bond of {money(bond)} first (or use "
            "a permit)"
        )
    chain_id = network.chain_id()
    salt = bid_salt(bidder, chain_id, str(tender.address), nonce, check=True)
    sealed = commitment(chain_id, str(tender.address), str(bidder.address), price, salt, doc_hash)
    if permit_deadline is not None and first:
        v, r, s = sign_permit(token, bidder, str(tender.address), bond, permit_deadline)
        receipt = _send(tender.commitBidWithPermit, sealed, permit_deadline, v, r, s, sender=bidder)
    else:
        receipt = _send(tender.commitBid, sealed, sender=bidder)
    if journal is not None:
        record = BidRecord(
            chain_id=chain_id,
            tender=str(tender.address),
            bidder=str(bidder.address),
            nonce=nonce,
            price=price,
            doc_hash="0x" + doc_hash.hex(),
            commitment="0x" + sealed.hex(),
        )
        try:
            journal.add(record)
        except (OSError, ProcurechainError) as err:
            raise ProcurechainError(
                f"the bid was committed (tx {receipt.txn_hash}) but the journal {journal.path} "
                f"could not be written ({describe(err)}); note down --price "
                f"{Decimal(price).scaleb(-int(token.decimals())).normalize():f} --doc-hash "
                f"{record.doc_hash} --nonce {nonce}: reveal needs them"
            ) from err
    return receipt


def reveal_bid(
    tender: Any,
    bidder: Any,
    price: int | None = None,
    doc_hash: bytes | None = None,
    *,
    nonce: int | None = None,
    journal: BidJournal | None = None,
) -> Any:
    """Reveal a bid; the salt is recomputed from the bidder's signature.

    Price, document hash and nonce default to the journal's latest record for this bid.

    Raises:
        ProcurechainError: wrong stage, no bid, already revealed, nothing to reveal with.
    """
    _check_stage(tender, Stage.REVEAL, "reveal a bid")
    committed, revealed, *_ = tender.bidOf(bidder)
    if not committed:
        raise ProcurechainError(f"{bidder.address} has no bid on this tender")
    if revealed:
        raise ProcurechainError(f"{bidder.address} has already revealed its bid")
    chain_id = network.chain_id()
    if price is None or doc_hash is None or nonce is None:
        record = (journal or BidJournal()).latest(chain_id, str(tender.address), bidder.address)
        if record is None:
            raise ProcurechainError(
                "no journal entry for this bid; pass --price, --doc-hash and --nonce"
            )
        price = record.price if price is None else price
        doc_hash = bytes.fromhex(record.doc_hash[2:]) if doc_hash is None else doc_hash
        nonce = record.nonce if nonce is None else nonce
    salt = bid_salt(bidder, chain_id, str(tender.address), nonce)
    return _send(tender.revealBid, price, salt, doc_hash, sender=bidder)


def withdraw_bond(tender: Any, bidder: Any) -> Any:
    """Take the bidder's bond back (see the Tender's rules); one sentence if not possible."""
    committed, _revealed, _valid, _excluded, settled, *_ = tender.bidOf(bidder)
    if not committed:
        raise ProcurechainError(f"{bidder.address} has no bid on this tender")
    if settled:
        raise ProcurechainError(f"the bond of {bidder.address} was already paid out")
    return _send(tender.withdrawBond, sender=bidder)


def claim_forfeited_bond(tender: Any, bidder: str, sender: Any) -> Any:
    """Pay a forfeited bond (never revealed, or a lapsed award) to the buyer."""
    return _send(tender.claimForfeitedBond, bidder, sender=sender)


def claim_rank(tender: Any, bidder: str, sender: Any) -> Any:
    """Claim a bidder's rank during a ranking round (anyone may, for any eligible bidder)."""
    _check_stage(tender, Stage.RANKING, "claim a rank")
    return _send(tender.claimRank, bidder, sender=sender)


def record_lapse(tender: Any, sender: Any) -> Any:
    """Record that the awardee missed its acceptance window (opens ranking if it led)."""
    _check_stage(tender, Stage.AWARD_LAPSED, "record a lapsed award")
    return _send(tender.recordLapse, sender=sender)


def accept_award(tender: Any, supplier: Any, plan: list[Milestone] | tuple[Milestone, ...]) -> Any:
    """The awardee accepts; returns the receipt (the Agreement is ``tender.agreement()``)."""
    _check_stage(tender, Stage.AWARDED, "accept the award")
    if plan_hash(plan) != bytes(tender.planHash()):
        raise ProcurechainError("this plan is not the tender's; take it from TenderCreated")
    return _send(tender.acceptAward, [m.as_tuple() for m in plan], sender=supplier)


def award_call(tender: Any, bidder: str, report_hash: bytes = b"\x00" * 32) -> Call:
    """The consortium's award of ``bidder`` (for lowest price: the current leader), described
    with its revealed price in token units and the time the awardee will have to accept."""
    bid = tender.bidOf(bidder)
    revealed, price = bid[1], int(bid[6])
    at = f" at {display.token_of(tender.token()).money(price)}" if revealed else ""
    window = display.duration(int(tender.acceptanceWindow()))
    return call_of(
        tender,
        "award",
        bidder,
        report_hash,
        description=f"award tender {tender.address} to {bidder}{at} (who then has {window} to "
        "accept)",
    )


def disqualify_call(tender: Any, bidder: str, reason_hash: bytes) -> Call:
    """The consortium's disqualification of ``bidder`` with the hash of its reasons."""
    return call_of(
        tender,
        "disqualify",
        bidder,
        reason_hash,
        description=f"disqualify {bidder} from tender {tender.address}",
    )


def cancel_call(tender: Any, reason_hash: bytes) -> Call:
    """The consortium's cancellation of the tender with the hash of its reasons."""
    return call_of(tender, "cancel", reason_hash, description=f"cancel tender {tender.address}")


def _erc20(address: str) -> Any:
    """An ERC-20 with EIP-2612 permit at ``address`` (the dUSD ABI is the standard one)."""
    return typed("DemoStablecoin", address)
