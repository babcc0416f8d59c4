"""Whole-lifecycle invariants: registry, tenders, agreements and the consortium under random steps.

A Hypothesis state machine drives the real contracts on Anvil through the library
(``procurechain.tender``, ``bids``, ``agreement``, ``consortium``): tenders with random budgets,
bonds, windows, terms and plans; sealed bids from random actors (bidders, a consortium member,
a stranger, an account too poor for the bond) at random prices, above the budget included;
reveals right or wrong; the clock moved to just before, on and just after every deadline; awards,
disqualifications, cancellations, milestone decisions, dispute resolutions, warranty claims and
terminations through ``Consortium.execute`` with random signer sets (below the threshold, missing
the required role, with a recused member or a non-member, expired, replayed); direct calls of
every privileged function by accounts that are not the consortium.

A Python model (below) predicts every step: success with its exact effect, or the exact custom
error with its arguments. After every step the chain must agree with the model, and:

1. tokens are conserved: every holder's balance is what the model says and they sum to the
   total supply, which only the fixture's mints changed;
2. every tender holds exactly the bonds it still owes, every agreement exactly
   ``owed() == escrowed + retentionHeld + totalCredits`` (and the model's figures);
3. tender stages, agreement statuses and milestone states only move along the documented
   edges (:data:`STAGE_MOVES`, :data:`STATUS_MOVES`, :data:`MILESTONE_MOVES`);
4. nothing privileged happened without quorum: every privileged event's transaction holds a
   preceding ``ActionExecuted`` of the consortium for that contract and function, whose signers
   are members, at least the threshold, hold the policy's roles and are not recused; a step the
   model refuses leaves no log at all (one in four is mined for real, with status 0);
5. ``audit.verify`` (the events replayed) equals the contracts' views.

Speed (the suite is deployed once per module; each example costs about 30 steps):

- every example starts from a chain snapshot taken after deployment (restore, then a new
  snapshot: an Anvil snapshot is used up when reverted to) instead of a new deployment;
- bidders and the buyer approved, once, the tender and agreement addresses the examples create
  (clone addresses are deterministic: CREATE from the registry with nonce ``id + 1``, and from a
  tender with nonce 1), so no step spends a transaction on an approval;
- the chain clock moves only when a rule moves it (``anvil_setBlockTimestampInterval 0``), so
  the model knows the timestamp of every transaction, deadline boundaries included;
- a step the model expects to fail is one ``eth_call`` (no library pre-checks, no Ape);
- the invariants read everything they compare in one JSON-RPC batch, and the privileged-event
  check is one ``eth_getLogs`` over the step's blocks;
- ``audit.collect`` + ``verify`` reads every event since deployment and calls every view
  through Ape (about 0.85 s per call for an example with two tenders, measured), so it runs at
  the teardown of every example rather than after every step, where it would more than
  double the module's time; ``LIFECYCLE_AUDIT_EVERY=k`` adds a run every k steps. The views
  it compares with are compared with the model after every step (invariants 1-3).

Most examples (three in four, or more: the draw leans that way) get a head start: two bids
revealed, an award first refused for a bad signer set (recused, non-member or too few) and
then made, accepted, mostly funded, often a first delivery whose acceptance without the
auditor is refused, and mostly disputed at once; each step through the library and checked
by the model. So a seeded run of 50 examples certainly reaches the agreement's steps and the
consortium's refusals, which random steps alone reach only by luck.

``make fuzz`` runs the same machine with ``HYPOTHESIS_PROFILE=fuzz`` (1,000 examples by default,
``FUZZ_EXAMPLES`` to change, not derandomized).
"""

from __future__ import annotations

import functools
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ape
import pytest
import requests
from eth_abi import decode, encode
from eth_utils import is_address, keccak, to_checksum_address
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from procurechain import agreement as ag
from procurechain import audit, network
from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.bids import bid_salt, commitment
from procurechain.calls import Call, call_of
from procurechain.deploy import DEFAULT_POLICIES, deploy_suite, devnet_config
from procurechain.deployments import deployed, typed
from procurechain.devnet import move_to
from procurechain.errors import decode_revert
from procurechain.tender import AwardMethod, Stage

from conftest import deployments_in

DUSD = 10**6
DAY = 86_400
BPS = 10_000
ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
MAX_TENDERS = 2
#: also run ``audit.verify`` every this many steps (0: only at teardown, see the docstring)
AUDIT_EVERY = int(os.environ.get("LIFECYCLE_AUDIT_EVERY", "0"))
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", "0")) or (
    settings.default.max_examples if FUZZ else 50
)
SETTINGS = settings(max_examples=EXAMPLES, stateful_step_count=30, deadline=None)
REASON = keccak(text="reasons")
EVIDENCE = keccak(text="evidence")

ROLE = cs.ROLES
MEMBERS = ("agency", "auditor", "citizen", "technical", "legal")
ACTORS = (*MEMBERS, "bidder_a", "bidder_b", "bidder_c", "stranger", "poor")
BIDDERS = ("bidder_a", "bidder_b", "bidder_c", "citizen", "stranger", "poor")
#: test account index of every actor; the agency (a member) is also the buyer
ACCOUNT_INDEX = {name: i + 1 for i, name in enumerate(ACTORS)}
MINTS = {"agency": 400_000 * DUSD, "poor": 1 * DUSD} | {
    b: 20_000 * DUSD for b in BIDDERS if b != "poor"
}
POLICY = {p.selector: (p.roles, p.subject_arg) for p in DEFAULT_POLICIES}

#: The documented state machines: every move a tender, an agreement or a milestone may make in
#: one step (staying put is always allowed). Bidding can fall straight to Failed when the clock
#: jumps past the reveal deadline with no valid bid; Awarded goes back to Evaluation or Ranking
#: when the awardee is disqualified (Ranking if it led or the lead was cleared meanwhile). An
#: award never ends in Failed directly: whoever is left gets a ranking round first.
STAGE_MOVES: dict[Stage, set[Stage]] = {
    Stage.BIDDING: {Stage.REVEAL, Stage.FAILED, Stage.CANCELLED},
    Stage.REVEAL: {Stage.EVALUATION, Stage.FAILED, Stage.CANCELLED},
    Stage.EVALUATION: {Stage.AWARDED, Stage.RANKING, Stage.CANCELLED},
    Stage.RANKING: {Stage.EVALUATION, Stage.FAILED, Stage.CANCELLED},
    Stage.AWARDED: {
        Stage.AWARD_LAPSED,
        Stage.CONTRACTED,
        Stage.EVALUATION,
        Stage.RANKING,
        Stage.CANCELLED,
    },
    Stage.AWARD_LAPSED: {Stage.EVALUATION, Stage.RANKING, Stage.CANCELLED},
    Stage.CONTRACTED: set(),
    Stage.CANCELLED: set(),
    Stage.FAILED: set(),
}
S = ag.AgreementStatus
STATUS_MOVES: dict[S, set[S]] = {
    S.UNFUNDED: {S.ACTIVE, S.TERMINATED},
    S.ACTIVE: {S.COMPLETED, S.TERMINATED},
    S.COMPLETED: set(),
    S.TERMINATED: set(),
}
M = ag.MilestoneState
MILESTONE_MOVES: dict[M, set[M]] = {
    M.PENDING: {M.SUBMITTED},
    M.SUBMITTED: {M.ACCEPTED, M.REJECTED, M.DISPUTED},
    M.REJECTED: {M.SUBMITTED, M.DISPUTED},
    M.DISPUTED: {M.RESOLVED},
    M.ACCEPTED: set(),
    M.RESOLVED: set(),
}

#: privileged event -> the consortium-executed function that alone may emit it
PRIVILEGED_EVENTS = {
    "BidAwarded": "award(address,bytes32)",
    "BidderDisqualified": "disqualify(address,bytes32)",
    "TenderCancelled": "cancel(bytes32)",
    "MilestoneAccepted": "acceptMilestone(uint256)",
    "MilestoneRejected": "rejectMilestone(uint256,bytes32)",
    "DisputeResolved": "resolveDispute(uint256,uint256,bytes32)",
    "WarrantyClaimed": "claimWarranty(uint256,bytes32)",
    "AgreementTerminated": "terminate(bytes32)",
    "PhaseCapRaised": "raisePhaseCap(uint128)",
    "AgencyAdded": "addAgency(address)",
    "AgencyRemoved": "removeAgency(address)",
    "ConflictLifted": "liftConflict(address,address)",
    "MemberAdded": "addMember(address,uint8)",
    "MemberRemoved": "removeMember(address)",
    "MemberRolesChanged": "setMemberRoles(address,uint8)",
    "ThresholdChanged": "setThreshold(uint256)",
    "PolicySet": "setPolicy(bytes4,uint8,uint8)",
}

SUCCEEDED: Counter[str] = Counter()  # successful steps by function, over the whole run
REFUSED: Counter[str] = Counter()  # refused steps by custom error, over the whole run
TIMING: Counter[str] = Counter()
STEPS: Counter[str] = Counter()  # steps taken by kind, over the whole run


def rare(data: Any, n: int, label: str) -> bool:
    """True about once in ``n`` draws; shrinks (and starts) towards False, the usual path."""
    return data.draw(st.integers(0, n - 1), label=label) == n - 1


@functools.cache
def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def create_address(creator: str, nonce: int) -> str:
    """The address ``creator`` gives the contract it creates with ``nonce`` (< 128)."""
    assert 0 < nonce < 0x80
    payload = bytes([0xD6, 0x94]) + bytes.fromhex(creator[2:]) + bytes([nonce])
    return to_checksum_address(keccak(payload)[12:])


def calldata(signature: str, *args: Any) -> str:
    types = [t for t in signature[signature.index("(") + 1 : -1].split(",") if t]
    return "0x" + (selector(signature) + encode(types, list(args))).hex()


def _norm(value: Any) -> Any:
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    return value


@dataclass(frozen=True)
class Fail:
    """A custom error the model expects, with its arguments."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)

    def matches(self, decoded: tuple[str, dict[str, Any]] | None) -> bool:
        if decoded is None or decoded[0] != self.name:
            return False
        return {k: _norm(v) for k, v in decoded[1].items()} == {
            k: _norm(v) for k, v in self.args.items()
        }


Apply = Callable[[Any], None]  # applies a predicted success to the model, given the receipt
Outcome = Fail | Apply


class Rpc:
    """Raw JSON-RPC to the test node: batched ``eth_call``, logs, unlocked sends."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy look-up per request

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        payload = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in enumerate(calls)
        ]
        replies = self.session.post(self.uri, json=payload, timeout=60).json()
        by_id = {r["id"]: r for r in replies}
        return [by_id[i] for i in range(len(payload))]

    def one(self, method: str, params: list[Any]) -> Any:
        reply = self.batch([(method, params)])[0]
        assert "error" not in reply, reply
        return reply["result"]

    def call(self, to: str, data: str, sender: str) -> dict[str, Any]:
        return self.batch([("eth_call", [{"from": sender, "to": to, "data": data}, "latest"])])[0]

    def send(self, to: str, data: str, sender: str) -> dict[str, Any]:
        """Mine a transaction from an unlocked test account (gas given: it may revert)."""
        tx = {"from": sender, "to": to, "data": data, "gas": hex(3_000_000)}
        tx_hash = self.one("eth_sendTransaction", [tx])
        for _ in range(200):  # automine answers before the receipt is stored
            if receipt := self.one("eth_getTransactionReceipt", [tx_hash]):
                return receipt
            time.sleep(0.005)
        raise AssertionError(f"transaction {tx_hash} was not mined")


# ------------------------------------------------------------------------------------ model


@dataclass
class BidModel:
    committed: bool = False
    revealed: bool = False
    valid: bool = False
    disqualified: bool = False
    lapsed: bool = False
    settled: bool = False
    block: int = 0
    price: int = 0  # once revealed
    secret: tuple[int, bytes, int] = (0, b"", 0)  # price, document hash, nonce of the live bid
    commits: int = 0

    @property
    def eligible(self) -> bool:
        return self.revealed and self.valid and not self.disqualified and not self.lapsed


@dataclass
class TenderModel:
    id: int
    address: str
    contract: Any
    budget: int
    bond: int
    bidding: int
    reveal: int
    window: int
    method: AwardMethod
    terms: tuple[int, int, int, int]  # retention bps, warranty, penalty bps/day, penalty cap
    plan: tuple[td.Milestone, ...]
    status: str = "open"  # open | awarded | contracted | cancelled
    leader: str = ZERO
    leader_price: int = 0
    awardee: str = ZERO
    accept_deadline: int = 0
    ranking_deadline: int = 0
    cancelled_at: int = 0
    agreement: str = ZERO
    bids: dict[str, BidModel] = field(default_factory=dict)

    def stage(self, now: int) -> Stage:
        if self.status == "cancelled":
            return Stage.CANCELLED
        if self.status == "contracted":
            return Stage.CONTRACTED
        if self.status == "awarded":
            return Stage.AWARDED if now <= self.accept_deadline else Stage.AWARD_LAPSED
        if now <= self.bidding:
            return Stage.BIDDING
        if now <= self.reveal:
            return Stage.REVEAL
        if now <= self.ranking_deadline:
            return Stage.RANKING
        return Stage.FAILED if self.leader == ZERO else Stage.EVALUATION

    def bid(self, who: str) -> BidModel:
        return self.bids.get(who, BidModel())

    def leads(self, price: int, block: int) -> bool:
        if self.leader == ZERO or price < self.leader_price:
            return True
        return price == self.leader_price and block < self.bids[self.leader].block

    def forfeitable(self, b: BidModel, now: int) -> bool:
        if b.lapsed:
            return True
        if b.revealed or now <= self.reveal:
            return False
        return self.cancelled_at == 0 or self.cancelled_at > self.reveal

    def open_ranking(self, now: int) -> None:
        self.leader, self.leader_price = ZERO, 0
        self.ranking_deadline = now + self.reveal - self.bidding

    @property
    def holds(self) -> int:
        return self.bond * sum(1 for b in self.bids.values() if b.committed and not b.settled)


@dataclass
class AgreementModel:
    address: str
    contract: Any
    tender: TenderModel
    buyer: str
    supplier: str
    price: int
    amounts: list[int]
    dues: list[int]
    status: S = S.UNFUNDED
    states: list[M] = field(default_factory=list)
    submitted_at: list[int] = field(default_factory=list)
    paid: list[tuple[int, int, int, int]] = field(default_factory=list)  # paid, pen., ret., ref.
    escrowed: int = 0
    retention: int = 0
    settled: int = 0
    warranty_ends: int = 0
    credits: dict[str, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.amounts)

    @property
    def owed(self) -> int:
        return self.escrowed + self.retention + sum(self.credits.values())

    def credit(self, who: str, amount: int) -> None:
        self.credits[who] = self.credits.get(who, 0) + amount

    def milestone_error(self, index: int, *allowed: M) -> Fail | None:
        if index >= self.count:
            return Fail("AgreementNoSuchMilestone", {"index": index, "count": self.count})
        if self.states[index] not in allowed:
            return Fail(
                "AgreementMilestoneWrongState", {"index": index, "state": self.states[index]}
            )
        return None

    def settle(self, now: int) -> None:
        self.settled += 1
        if self.settled == self.count:
            self.warranty_ends = now + self.tender.terms[1]
            if self.retention == 0:
                self.status = S.COMPLETED


class Model:
    """Everything the chain should hold, computed without reading the chain."""

    def __init__(self, now: int, addresses: dict[str, str], cap: int) -> None:
        self.now = now
        self.addresses = addresses  # actor name -> address
        self.names = {a: n for n, a in addresses.items()}
        self.balances = {addresses[n]: amount for n, amount in MINTS.items()}
        self.minted = sum(MINTS.values())
        self.cap = cap
        self.tenders: list[TenderModel] = []
        self.agreements: dict[str, AgreementModel] = {}
        self.conflicts: dict[str, set[str]] = {addresses[m]: set() for m in MEMBERS}
        self.nonces: set[int] = {0}  # the deployment admitted the agency with nonce 0
        self.executed = 0

    def move(self, source: str, target: str, amount: int) -> None:
        assert self.balances.get(source, 0) >= amount
        self.balances[source] = self.balances.get(source, 0) - amount
        self.balances[target] = self.balances.get(target, 0) + amount

    @property
    def buyer(self) -> str:
        return self.addresses["agency"]

    def next_nonce(self) -> int:
        return min(n for n in range(len(self.nonces) + 1) if n not in self.nonces)

    def recused(self, member: str, subjects: Iterable[str]) -> str | None:
        for subject in subjects:
            if subject in self.conflicts.get(member, set()):
                return subject
        return None

    # ---------------------------------------------------------------- tender operations

    def commit(self, t: TenderModel, who: str, price: int, doc: bytes) -> Outcome:
        stage = t.stage(self.now)
        if t.status != "open":
            return Fail("TenderWrongStage", {"expected": Stage.BIDDING, "actual": stage})
        if self.now > t.bidding:
            return Fail("TenderBidTooLate", {"deadline": t.bidding, "now_": self.now})
        b = t.bid(who)
        if not b.committed and self.balances.get(who, 0) < t.bond:
            return Fail(
                "ERC20InsufficientBalance",
                {"sender": who, "balance": self.balances.get(who, 0), "needed": t.bond},
            )

        def apply(receipt: Any) -> None:
            bid = t.bids.setdefault(who, BidModel())
            if not bid.committed:
                self.move(who, t.address, t.bond)
            bid.committed, bid.block = True, int(receipt.block_number)
            bid.secret = (price, doc, bid.commits)
            bid.commits += 1

        return apply

    def reveal(self, t: TenderModel, who: str, secret: tuple[int, bytes, int]) -> Outcome:
        if t.status != "open":
            return Fail("TenderWrongStage", {"expected": Stage.REVEAL, "actual": t.stage(self.now)})
        if self.now <= t.bidding:
            return Fail("TenderRevealTooEarly", {"biddingDeadline": t.bidding, "now_": self.now})
        if self.now > t.reveal:
            return Fail("TenderRevealTooLate", {"revealDeadline": t.reveal, "now_": self.now})
        b = t.bid(who)
        if not b.committed:
            return Fail("TenderNoCommitment", {"bidder": who})
        if b.revealed:
            return Fail("TenderAlreadyRevealed", {"bidder": who})
        if secret != b.secret:
            return Fail("TenderCommitmentMismatch", {"bidder": who})
        price = secret[0]

        def apply(receipt: Any) -> None:
            b.revealed, b.price, b.valid = True, price, 0 < price <= t.budget
            if b.valid and t.leads(price, b.block):
                t.leader, t.leader_price = who, price

        return apply

    def claim_rank(self, t: TenderModel, who: str) -> Outcome:
        stage = t.stage(self.now)
        if stage != Stage.RANKING:
            return Fail("TenderWrongStage", {"expected": Stage.RANKING, "actual": stage})
        b = t.bid(who)
        if not b.eligible:
            return Fail("TenderBidderNotEligible", {"bidder": who})

        def apply(receipt: Any) -> None:
            if t.leader != who and t.leads(b.price, b.block):
                t.leader, t.leader_price = who, b.price

        return apply

    def record_lapse(self, t: TenderModel) -> Outcome:
        stage = t.stage(self.now)
        if stage != Stage.AWARD_LAPSED:
            return Fail("TenderWrongStage", {"expected": Stage.AWARD_LAPSED, "actual": stage})

        def apply(receipt: Any) -> None:
            awardee = t.awardee
            t.bids[awardee].lapsed = True
            t.awardee, t.status = ZERO, "open"
            if t.leader in (awardee, ZERO):
                t.open_ranking(self.now)

        return apply

    def accept_award(self, t: TenderModel, who: str, plan_ok: bool) -> Outcome:
        stage = t.stage(self.now)
        if stage == Stage.AWARD_LAPSED:
            return Fail(
                "TenderAcceptanceExpired", {"deadline": t.accept_deadline, "now_": self.now}
            )
        if stage != Stage.AWARDED:
            return Fail("TenderWrongStage", {"expected": Stage.AWARDED, "actual": stage})
        if who != t.awardee:
            return Fail("TenderNotAwardee", {"caller": who, "awardee": t.awardee})
        if not plan_ok:
            return Fail("TenderPlanMismatch", {})  # hashes checked by name only

        def apply(receipt: Any) -> None:
            b = t.bids[who]
            b.settled = True
            t.status = "contracted"
            t.agreement = create_address(t.address, 1)
            self.move(t.address, who, t.bond)
            shares = [m.share_bps for m in t.plan]
            amounts = [b.price * s // BPS for s in shares[:-1]]
            amounts.append(b.price - sum(amounts))
            count = len(amounts)
            self.agreements[t.agreement] = AgreementModel(
                address=t.agreement,
                contract=typed("Agreement", t.agreement),
                tender=t,
                buyer=self.buyer,
                supplier=who,
                price=b.price,
                amounts=amounts,
                dues=[self.now + m.due_offset for m in t.plan],
                states=[M.PENDING] * count,
                submitted_at=[0] * count,
                paid=[(0, 0, 0, 0)] * count,
            )

        return apply

    def withdraw_bond(self, t: TenderModel, who: str) -> Outcome:
        b = t.bid(who)
        if not b.committed:
            return Fail("TenderNoCommitment", {"bidder": who})
        if b.settled:
            return Fail("TenderBondAlreadySettled", {"bidder": who})
        if t.forfeitable(b, self.now):
            return Fail("TenderBondForfeited", {"bidder": who})
        stage = t.stage(self.now)
        if not b.revealed:
            refundable = stage == Stage.CANCELLED
        else:
            refundable = stage in (Stage.CONTRACTED, Stage.CANCELLED, Stage.FAILED) or (
                stage in (Stage.AWARDED, Stage.AWARD_LAPSED) and who != t.awardee
            )
        if not refundable:
            return Fail("TenderBondLocked", {"bidder": who, "stage": stage})

        def apply(receipt: Any) -> None:
            b.settled = True
            self.move(t.address, who, t.bond)

        return apply

    def claim_forfeited(self, t: TenderModel, who: str) -> Outcome:
        b = t.bid(who)
        if not b.committed:
            return Fail("TenderNoCommitment", {"bidder": who})
        if b.settled:
            return Fail("TenderBondAlreadySettled", {"bidder": who})
        if not t.forfeitable(b, self.now):
            return Fail("TenderBondNotForfeitable", {"bidder": who})

        def apply(receipt: Any) -> None:
            b.settled = True
            self.move(t.address, self.buyer, t.bond)

        return apply

    # consortium: tender

    def award(self, t: TenderModel, who: str) -> Outcome:
        stage = t.stage(self.now)
        if stage != Stage.EVALUATION:
            return Fail("TenderWrongStage", {"expected": Stage.EVALUATION, "actual": stage})
        if not t.bid(who).eligible:
            return Fail("TenderBidderNotEligible", {"bidder": who})
        if t.method == AwardMethod.LOWEST_PRICE and who != t.leader:
            return Fail("TenderNotLowestBid", {"bidder": who, "lowest": t.leader})

        def apply(receipt: Any) -> None:
            t.status, t.awardee, t.accept_deadline = "awarded", who, self.now + t.window

        return apply

    def disqualify(self, t: TenderModel, who: str) -> Outcome:
        stage = t.stage(self.now)
        if stage not in (Stage.EVALUATION, Stage.RANKING, Stage.AWARDED, Stage.AWARD_LAPSED):
            return Fail("TenderWrongStage", {"expected": Stage.EVALUATION, "actual": stage})
        if not t.bid(who).eligible:
            return Fail("TenderBidderNotEligible", {"bidder": who})

        def apply(receipt: Any) -> None:
            t.bids[who].disqualified = True
            was_awardee, was_leader = t.awardee == who, t.leader == who
            if was_awardee:
                t.awardee, t.status = ZERO, "open"
            if was_leader:
                t.leader, t.leader_price = ZERO, 0
            # no ranking round while another bidder holds the award: it opens at the lapse
            if (was_awardee or was_leader) and t.status == "open" and t.leader == ZERO:
                t.open_ranking(self.now)

        return apply

    def cancel(self, t: TenderModel) -> Outcome:
        stage = t.stage(self.now)
        if stage in (Stage.CONTRACTED, Stage.CANCELLED, Stage.FAILED):
            return Fail("TenderNotCancellable", {"stage": stage})

        def apply(receipt: Any) -> None:
            t.status, t.cancelled_at = "cancelled", self.now

        return apply

    # ---------------------------------------------------------------- agreement operations

    def _active(self, a: AgreementModel) -> Fail | None:
        if a.status != S.ACTIVE:
            return Fail("AgreementWrongStatus", {"status": a.status})
        return None

    def fund(self, a: AgreementModel, who: str) -> Outcome:
        if who != a.buyer:
            return Fail("AgreementNotBuyer", {"caller": who})
        if a.status != S.UNFUNDED:
            return Fail("AgreementWrongStatus", {"status": a.status})

        def apply(receipt: Any) -> None:
            self.move(who, a.address, a.price)
            a.status, a.escrowed = S.ACTIVE, a.price

        return apply

    def submit(self, a: AgreementModel, who: str, index: int) -> Outcome:
        if fail := self._active(a):
            return fail
        if who != a.supplier:
            return Fail("AgreementNotSupplier", {"caller": who})
        if fail := a.milestone_error(index, M.PENDING, M.REJECTED):
            return fail

        def apply(receipt: Any) -> None:
            a.states[index], a.submitted_at[index] = M.SUBMITTED, self.now

        return apply

    def dispute(self, a: AgreementModel, who: str, index: int) -> Outcome:
        if fail := self._active(a):
            return fail
        if who not in (a.buyer, a.supplier):
            return Fail("AgreementNotParty", {"caller": who})
        if fail := a.milestone_error(index, M.SUBMITTED, M.REJECTED):
            return fail

        def apply(receipt: Any) -> None:
            a.states[index] = M.DISPUTED

        return apply

    def accept(self, a: AgreementModel, index: int) -> Outcome:
        if fail := self._active(a) or a.milestone_error(index, M.SUBMITTED):
            return fail
        amount = a.amounts[index]
        retention_bps, _warranty, rate, cap = a.tender.terms
        late = max(0, a.submitted_at[index] - a.dues[index])
        days = -(-late // DAY)
        retention = amount * retention_bps // BPS
        penalty = min(amount * min(days * rate, cap) // BPS, amount - retention)
        paid = amount - retention - penalty

        def apply(receipt: Any) -> None:
            a.states[index] = M.ACCEPTED
            a.paid[index] = (paid, penalty, retention, 0)
            a.escrowed -= amount
            a.retention += retention
            if paid:
                a.credit(a.supplier, paid)
            if penalty:
                a.credit(a.buyer, penalty)
            a.settle(self.now)

        return apply

    def reject(self, a: AgreementModel, index: int) -> Outcome:
        if fail := self._active(a) or a.milestone_error(index, M.SUBMITTED):
            return fail

        def apply(receipt: Any) -> None:
            a.states[index] = M.REJECTED

        return apply

    def resolve(self, a: AgreementModel, index: int, bps: int) -> Outcome:
        if fail := self._active(a) or a.milestone_error(index, M.DISPUTED):
            return fail
        if bps > BPS:
            return Fail("AgreementSplitInvalid", {"supplierBps": bps})
        amount = a.amounts[index]
        share = amount * bps // BPS
        retention = share * a.tender.terms[0] // BPS

        def apply(receipt: Any) -> None:
            a.states[index] = M.RESOLVED
            a.paid[index] = (share - retention, 0, retention, amount - share)
            a.escrowed -= amount
            a.retention += retention
            if share - retention:
                a.credit(a.supplier, share - retention)
            if amount - share:
                a.credit(a.buyer, amount - share)
            a.settle(self.now)

        return apply

    def claim_warranty(self, a: AgreementModel, amount: int) -> Outcome:
        if fail := self._active(a):
            return fail
        if a.settled == a.count and self.now >= a.warranty_ends:
            return Fail(
                "AgreementWarrantyOver", {"warrantyEndsAt": a.warranty_ends, "now_": self.now}
            )
        if amount == 0 or amount > a.retention:
            return Fail("AgreementClaimInvalid", {"amount": amount, "retentionHeld": a.retention})

        def apply(receipt: Any) -> None:
            held = a.retention
            a.retention -= amount
            a.credit(a.buyer, amount)
            if a.settled == a.count and held == amount:
                a.status = S.COMPLETED

        return apply

    def release_retention(self, a: AgreementModel) -> Outcome:
        if fail := self._active(a):
            return fail
        if a.settled != a.count or self.now < a.warranty_ends:
            return Fail(
                "AgreementWarrantyRunning",
                {"settled": a.settled, "count": a.count, "warrantyEndsAt": a.warranty_ends},
            )

        def apply(receipt: Any) -> None:
            a.credit(a.supplier, a.retention)
            a.retention, a.status = 0, S.COMPLETED

        return apply

    def terminate(self, a: AgreementModel) -> Outcome:
        if a.status not in (S.UNFUNDED, S.ACTIVE):
            return Fail("AgreementWrongStatus", {"status": a.status})

        def apply(receipt: Any) -> None:
            if a.retention:
                a.credit(a.supplier, a.retention)
            if a.escrowed:
                a.credit(a.buyer, a.escrowed)
            a.retention = a.escrowed = 0
            a.status = S.TERMINATED

        return apply

    def withdraw(self, a: AgreementModel, who: str) -> Outcome:
        if a.credits.get(who, 0) == 0:
            return Fail("AgreementNothingToWithdraw", {"account": who})

        def apply(receipt: Any) -> None:
            self.move(a.address, who, a.credits.pop(who))

        return apply

    # ---------------------------------------------------------------- registry, consortium

    def create_tender(
        self, sender: str, budget: int, bidding: int, reveal: int, shares: list[int]
    ) -> Fail | None:
        if sender != self.buyer:
            return Fail("RegistryNotAgency", {"caller": sender})
        if budget > self.cap:
            return Fail("RegistryBudgetAboveCap", {"budget": budget, "cap": self.cap})
        if bidding <= self.now or reveal <= bidding:
            return Fail(
                "RegistryInvalidDeadlines",
                {"biddingDeadline": bidding, "revealDeadline": reveal, "now_": self.now},
            )
        if sum(shares) != BPS or 0 in shares:
            return Fail("RegistryInvalidPlan", {"milestones": len(shares), "shareSum": sum(shares)})
        return None

    def raise_cap(self, cap: int) -> Outcome:
        if cap <= self.cap:
            return Fail("RegistryPhaseCapNotRaised", {"current": self.cap, "requested": cap})

        def apply(receipt: Any) -> None:
            self.cap = cap

        return apply

    def lift_conflict(self, member: str, subject: str) -> Outcome:
        if subject not in self.conflicts.get(member, set()):
            return Fail("ConsortiumNoConflict", {"member": member, "subject": subject})

        def apply(receipt: Any) -> None:
            self.conflicts[member].discard(subject)

        return apply

    def authorize(
        self, signers: list[str], roles: dict[str, int], target: str, sel: bytes, subject: str
    ) -> Fail | None:
        """What ``Consortium._authorize`` decides for these signers (sorted by address)."""
        if len(signers) < 3:
            return Fail("ConsortiumBelowThreshold", {"signers": len(signers), "threshold": 3})
        required, _arg = POLICY.get(sel, (0, 0))
        present = 0
        for signer in sorted(signers, key=lambda a: int(a, 16)):
            if signer not in roles:
                return Fail("ConsortiumNotMember", {"account": signer})
            subjects = [target] + ([subject] if subject != ZERO else [])
            if recused := self.recused(signer, subjects):
                return Fail("ConsortiumSignerRecused", {"signer": signer, "subject": recused})
            present |= roles[signer]
        if present & required != required:
            return Fail("ConsortiumMissingRoles", {"required": required, "present": present})
        return None


# ------------------------------------------------------------------------------------ fixture


@pytest.fixture(scope="module")
def suite(accounts, tmp_path_factory):
    """The suite deployed once (the devnet's reference consortium, 3 of 5), tokens minted and
    every future tender and agreement address pre-approved (see the module docstring)."""
    folder = tmp_path_factory.mktemp("lifecycle")
    deployer = accounts[0]
    with deployments_in(folder):
        deploy_suite(deployer, devnet_config(), force=True)
        token, registry = deployed("Token"), deployed("Registry")
        consortium = deployed("Consortium")
    actors = {name: accounts[i] for name, i in ACCOUNT_INDEX.items()}
    for name, amount in MINTS.items():
        token.mint(actors[name], amount, sender=deployer)
    for tender_id in range(1, MAX_TENDERS + 1):
        tender = create_address(str(registry.address), tender_id + 1)
        for name in BIDDERS:
            token.approve(tender, MAX_UINT, sender=actors[name])
        token.approve(create_address(tender, 1), MAX_UINT, sender=actors["agency"])
    return {
        "token": token,
        "registry": registry,
        "consortium": consortium,
        "actors": actors,
        "cap": int(registry.phaseCap()),
    }


def test_lifecycle_invariants_hold_under_random_steps(suite, chain, accounts):
    rpc = Rpc(chain.provider.uri)
    token, registry, consortium = suite["token"], suite["registry"], suite["consortium"]
    actors = suite["actors"]
    addresses = {name: str(account.address) for name, account in actors.items()}
    names = {a: n for n, a in addresses.items()}
    roles = {addresses[m]: ROLE[m] for m in MEMBERS}
    chain_id = network.chain_id()
    consortium_address = str(consortium.address)
    registry_address = str(registry.address)
    token_address = str(token.address)
    unlocked = {to_checksum_address(a) for a in rpc.one("eth_accounts", [])}
    assert set(addresses.values()) <= unlocked, "the test node must hold the actors' keys"

    event_names: dict[bytes, str] = {}
    for kind in ("Registry", "Tender", "Agreement", "Consortium"):
        for abi in getattr(ape.project, kind).contract_type.events:
            event_names[keccak(text=abi.selector)] = abi.name
    action_executed = next(t for t, n in event_names.items() if n == "ActionExecuted")

    rpc.one("anvil_setBlockTimestampInterval", [0])
    snapshots = [chain.snapshot()]
    started = time.perf_counter()

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.restore(snapshots.pop())
            snapshots.append(chain.snapshot())
            head = chain.provider.web3.eth.get_block("latest")
            self.model = Model(int(head["timestamp"]), addresses, suite["cap"])
            self.block = int(head["number"])
            self.stages: dict[str, Stage] = {}
            self.statuses: dict[str, tuple[S, list[M]]] = {}
            self.sent = False  # whether this step changed the chain (else: no log allowed)
            self.steps = 0
            self.last_action: tuple[cs.Action, bytes] | None = None
            TIMING["examples"] += 1

        # ------------------------------------------------------------ helpers

        def done(self, label: str, outcome: Outcome, send: Callable[[], Any]) -> Any:
            """Run a step the model expects to succeed and apply it to the model."""
            assert not isinstance(outcome, Fail)
            receipt = send()
            assert not getattr(receipt, "failed", False), label
            self.sent = True
            outcome(receipt)
            SUCCEEDED[label] += 1
            return receipt

        def refused(self, data: Any, fail: Fail, to: str, payload: str, sender: str) -> None:
            """The contract must revert with exactly ``fail``; sometimes mined to show it."""
            reply = rpc.call(to, payload, sender)
            assert "error" in reply, f"the model expected {fail}, but the call succeeds"
            raw = reply["error"].get("data")
            decoded = decode_revert(bytes.fromhex(raw[2:])) if isinstance(raw, str) else None
            if fail.name == "TenderPlanMismatch":  # a hash pair: the name is the point
                assert decoded and decoded[0] == fail.name, decoded
            else:
                assert fail.matches(decoded), f"expected {fail}, the chain said {decoded}"
            if rare(data, 4, "mine the refused transaction"):
                receipt = rpc.send(to, payload, sender)
                assert receipt["status"] == "0x0" and not receipt["logs"], receipt
            REFUSED[fail.name] += 1

        def attempt(
            self,
            data: Any,
            label: str,
            outcome: Outcome,
            send: Callable[[], Any],
            raw: Callable[[], tuple[str, str, str]],
        ) -> Any:
            if isinstance(outcome, Fail):
                self.refused(data, outcome, *raw())
                return None
            return self.done(label, outcome, send)

        def tender(self, data: Any, *stages: Stage) -> TenderModel:
            """Mostly a tender in one of ``stages``; sometimes any."""
            m = self.model
            fitting = [t for t in m.tenders if t.stage(m.now) in stages]
            if fitting and not rare(data, 5, "aim"):
                return data.draw(st.sampled_from(fitting), label="tender")
            return data.draw(st.sampled_from(m.tenders), label="tender")

        def agreement(self, data: Any, fits: Callable[[AgreementModel], bool]) -> AgreementModel:
            agreements = list(self.model.agreements.values())
            fitting = [a for a in agreements if fits(a)]
            if fitting and not rare(data, 5, "aim"):
                return data.draw(st.sampled_from(fitting), label="agreement")
            return data.draw(st.sampled_from(agreements), label="agreement")

        def milestone(self, data: Any, a: AgreementModel, *states: M) -> int:
            fitting = [i for i, s in enumerate(a.states) if s in states]
            if fitting and not rare(data, 5, "aim"):
                return data.draw(st.sampled_from(fitting), label="index")
            return data.draw(st.integers(0, a.count), label="index")

        def actor(self, data: Any, likely: str, others: Iterable[str] = ACTORS) -> str:
            """``likely`` four times in five, otherwise anybody."""
            if not rare(data, 5, "right actor"):
                return likely
            return addresses[data.draw(st.sampled_from(list(others)), label="actor")]

        def account(self, address: str) -> Any:
            return actors[names[address]]

        def stage_in(self, *stages: Stage) -> bool:
            return any(t.stage(self.model.now) in stages for t in self.model.tenders)

        # ------------------------------------------------------------ registry and bids

        def new_tender(self, data: Any) -> None:
            m = self.model
            budget = data.draw(
                st.one_of(
                    st.sampled_from([1, 50_000 * DUSD, m.cap, m.cap + 1]),
                    st.integers(1, 100_000 * DUSD),
                ),
                label="budget",
            )
            bond = data.draw(
                st.one_of(st.sampled_from([0, 1, DUSD, 500 * DUSD]), st.integers(0, 5_000 * DUSD)),
                label="bond",
            )
            bidding = m.now + data.draw(st.integers(1, 10 * DAY), label="bidding window")
            reveal = bidding + data.draw(st.integers(1, 5 * DAY), label="reveal window")
            if rare(data, 20, "broken deadlines"):
                reveal = bidding - data.draw(st.sampled_from([0, 1]))
            weights = data.draw(st.lists(st.integers(1, 100), min_size=1, max_size=3), label="w")
            shares = [w * BPS // sum(weights) for w in weights]
            shares[-1] += BPS - sum(shares)
            if rare(data, 20, "broken plan"):
                shares[-1] += 1
            plan = tuple(
                td.Milestone(s, data.draw(st.integers(0, 60 * DAY)), keccak(text=f"m{i}"))
                for i, s in enumerate(shares)
            )
            method = data.draw(st.sampled_from(list(AwardMethod)), label="method")
            terms = (
                data.draw(st.sampled_from([0, 500, 10_000]) | st.integers(0, BPS)),
                data.draw(st.sampled_from([0, DAY, 90 * DAY])),
                data.draw(st.sampled_from([0, 10, 333, 10_000])),
                data.draw(st.sampled_from([0, 1_000, 10_000])),
            )
            spec = td.TenderSpec(
                token=token_address,
                budget=budget,
                bond=bond,
                bidding_deadline=bidding,
                reveal_deadline=reveal,
                acceptance_window=data.draw(st.integers(1, 5 * DAY), label="acceptance window"),
                documents_hash=keccak(text="tender documents"),
                plan=plan,
                method=method,
                retention_bps=terms[0],
                warranty_period=terms[1],
                late_penalty_bps_per_day=terms[2],
                late_penalty_cap_bps=terms[3],
            )
            sender = self.actor(data, m.buyer)
            fail = m.create_tender(sender, budget, bidding, reveal, shares)
            if fail is not None:
                payload = registry.createTender.encode_input(spec.params(), spec.plan_tuples())
                self.refused(data, fail, registry_address, "0x" + bytes(payload).hex(), sender)
                return
            tender_id, contract, _ = td.create_tender(registry, self.account(sender), spec)
            assert tender_id == len(m.tenders) + 1
            address = str(contract.address)
            assert address == create_address(registry_address, tender_id + 1)
            m.tenders.append(
                TenderModel(
                    tender_id,
                    address,
                    contract,
                    budget,
                    bond,
                    bidding,
                    reveal,
                    spec.acceptance_window,
                    method,
                    terms,
                    plan,
                )
            )
            SUCCEEDED["createTender"] += 1
            self.sent = True

        @initialize(data=st.data())
        def first_tender(self, data):
            """A tender, and in most examples a head start (see :meth:`head_start`)."""
            self.new_tender(data)
            if self.model.tenders and not rare(data, 4, "no head start"):
                self.head_start(data)

        def head_start(self, data: Any) -> None:
            """Two valid bids, revealed, awarded to the leader by the consortium, accepted,
            (mostly) funded and often a first delivery (sometimes disputed), each step through
            the library with the model checking it: 30
            random steps rarely get this far, and the agreement's steps need an agreement."""
            m = self.model
            t = m.tenders[0]
            for name in ("bidder_a", "bidder_b"):
                who = addresses[name]
                price = data.draw(st.integers(1, t.budget), label="head-start price")
                doc = keccak(text=f"bid of {who} #0")
                outcome = m.commit(t, who, price, doc)
                if isinstance(outcome, Fail):  # a bond above the bidder's means
                    return
                self.done(
                    "commitBid",
                    outcome,
                    lambda who=who, price=price, doc=doc: td.commit_bid(
                        t.contract, self.account(who), price, doc, nonce=0
                    ),
                )
            m.now = move_to(t.bidding + 1)
            for who in list(t.bids):
                secret = t.bids[who].secret
                self.done(
                    "revealBid",
                    m.reveal(t, who, secret),
                    lambda who=who, secret=secret: td.reveal_bid(
                        t.contract, self.account(who), secret[0], secret[1], nonce=0
                    ),
                )
            m.now = move_to(t.reveal + 1)
            signers = sorted(addresses[n] for n in ("agency", "auditor", "legal"))
            call = td.award_call(t.contract, t.leader, REASON)
            # first, the award with a signer set the consortium must refuse (each kind is
            # certain to occur in a seeded run, whatever the random steps draw)
            flaw = data.draw(st.sampled_from(["recused", "stranger", "few"]), label="flaw")
            if flaw == "recused":
                technical = addresses["technical"]
                if t.leader not in m.conflicts[technical]:
                    consortium.declareConflict(t.leader, REASON, sender=self.account(technical))
                    m.conflicts[technical].add(t.leader)
                    SUCCEEDED["declareConflict"] += 1
                    self.sent = True
            unfit = {
                "few": ["agency", "auditor"],
                "stranger": ["agency", "auditor", "stranger"],
                "recused": ["agency", "technical", "legal"],
            }[flaw]
            self.refused_decision(data, call, [addresses[n] for n in unfit], t.leader)
            self.decide("award", call, m.award(t, t.leader), signers, actors["agency"])
            supplier = t.awardee
            self.done(
                "acceptAward",
                m.accept_award(t, supplier, True),
                lambda: td.accept_award(t.contract, self.account(supplier), t.plan),
            )
            # each move above was one documented edge; the invariant sees only where it ended
            self.stages[t.address] = t.stage(m.now)
            a = m.agreements[t.agreement]
            if rare(data, 4, "left unfunded"):
                return
            self.done("fund", m.fund(a, m.buyer), lambda: ag.fund(a.contract, actors["agency"]))
            # the first delivery, and in half of those a dispute at once: random steps then
            # accept, reject or resolve it (without this, whether a seeded run ever reaches a
            # dispute's resolution depends on the luck of the draw)
            if a.status != S.ACTIVE or rare(data, 3, "nothing delivered yet"):
                return
            supplier_account = self.account(a.supplier)
            self.done(
                "submit",
                m.submit(a, a.supplier, 0),
                lambda: ag.submit(a.contract, supplier_account, 0, EVIDENCE, "ipfs://e"),
            )
            no_auditor = [addresses[n] for n in ("agency", "citizen", "legal")]
            self.refused_decision(data, ag.accept_call(a.contract, 0), no_auditor, ZERO)
            if not rare(data, 3, "left to the consortium"):
                self.done(
                    "dispute",
                    m.dispute(a, m.buyer, 0),
                    lambda: ag.dispute(a.contract, actors["agency"], 0, REASON),
                )
                # two documented edges (submitted, then disputed): record where they ended
                self.statuses[a.address] = (a.status, list(a.states))

        def refused_decision(self, data: Any, call: Call, signers: list[str], subject: str) -> None:
            """A decision signed by ``signers``, which the model says the consortium refuses."""
            fail = self.model.authorize(signers, roles, call.target, call.selector, subject)
            assert fail is not None, f"{signers} should not be enough for {call.description}"
            proposal = cs.propose(consortium, call)
            message = proposal.action.signable(chain_id, consortium_address)
            for signer in signers:
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, sorted(signers, key=lambda a: int(a, 16)))
            payload = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
            sender = addresses["agency"]
            self.refused(data, fail, consortium_address, "0x" + bytes(payload).hex(), sender)

        def decide(
            self, kind: str, call: Call, outcome: Outcome, signers: list[str], sender: Any
        ) -> Any:
            """Execute a decision the model expects to pass, signed by ``signers``."""
            m = self.model
            proposal = cs.propose(consortium, call)
            assert proposal.action.nonce == m.next_nonce()
            message = proposal.action.signable(chain_id, consortium_address)
            for signer in signers:
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, signers)
            receipt = self.done(
                kind,
                outcome,
                lambda: consortium.execute(proposal.action.as_tuple(), packed, sender=sender),
            )
            m.nonces.add(proposal.action.nonce)
            m.executed += 1
            self.last_action = (proposal.action, packed)
            return receipt

        @rule(data=st.data())
        def step(self, data):
            """One step, chosen by weight among what makes sense now (one rule, so Hypothesis's
            swarm testing cannot switch the lifecycle's essential steps off for a whole example;
            what each step does is in its ``step`` draw)."""
            m = self.model
            stages = {t.stage(m.now) for t in m.tenders}
            agreements = list(m.agreements.values())
            active = [a for a in agreements if a.status == S.ACTIVE]
            bidding = [t for t in m.tenders if t.stage(m.now) == Stage.BIDDING]
            revealing = [t for t in m.tenders if t.stage(m.now) == Stage.REVEAL]
            weights: dict[str, int] = {"time_passes": 0}  # first: the simplest example waits
            if bidding:  # a few bids per tender, then let time pass
                weights["commit"] = 5 if any(len(t.bids) < 3 for t in bidding) else 1
            if revealing:
                sealed = any(not b.revealed for t in revealing for b in t.bids.values())
                weights["reveal"] = 6 if sealed else 1
            if m.tenders:
                disputed = any(M.DISPUTED in a.states for a in active)
                weights["consortium_decides"] = 8 if disputed else 5 if self.promising() else 1
            if stages & {Stage.AWARDED, Stage.AWARD_LAPSED}:
                weights["accept_award"] = 4
            if stages & {Stage.AWARD_LAPSED, Stage.RANKING}:
                weights["lapse_or_rank"] = 3
            if any(a.status == S.UNFUNDED for a in agreements):
                weights["fund"] = 5
            if any(M.PENDING in a.states or M.REJECTED in a.states for a in active):
                weights["submit"] = 5
            if any(M.SUBMITTED in a.states or M.REJECTED in a.states for a in active):
                weights["dispute"] = 2
            if any(a.credits or (a in active and a.settled == a.count) for a in agreements):
                weights["withdraw_or_release"] = 3
            if any(
                t.stage(m.now) not in (Stage.BIDDING, Stage.REVEAL)
                and any(not b.settled for b in t.bids.values())
                for t in m.tenders
            ):
                weights["bond_settlement"] = 3
            if len(m.tenders) < MAX_TENDERS and not bidding and not revealing:
                live = {Stage.EVALUATION, Stage.RANKING, Stage.AWARDED, Stage.AWARD_LAPSED}
                weights["create_tender"] = 1 if stages & live or active else 3
            if m.tenders and sum(len(c) for c in m.conflicts.values()) < 2:
                weights["declare_conflict"] = 1
            busy = weights.get("commit", 0) >= 5 or weights.get("reveal", 0) >= 5
            weights["time_passes"] = 1 if busy else 3
            choices = [name for name, weight in weights.items() for _ in range(weight)]
            name = data.draw(st.sampled_from(choices), label="step")
            STEPS[name] += 1
            clock = time.perf_counter()
            getattr(self, name)(data)
            TIMING[f"{name} s"] += time.perf_counter() - clock

        def create_tender(self, data: Any) -> None:
            self.new_tender(data)

        @initialize(data=st.data(), bids=st.integers(1, 4))
        def opening_bids(self, data, bids):
            for _ in range(bids):
                if self.stage_in(Stage.BIDDING):
                    self.commit(data)

        def commit(self, data: Any) -> None:
            m = self.model
            t = self.tender(data, Stage.BIDDING)
            who = addresses[data.draw(st.sampled_from(BIDDERS), label="bidder")]
            price = data.draw(
                st.one_of(
                    st.sampled_from([t.budget, t.budget + 1, max(1, t.budget // 2)]),
                    st.integers(1, t.budget * 2),
                ),
                label="price",
            )
            b = t.bid(who)
            doc = keccak(text=f"bid of {who} #{b.commits}")
            outcome = m.commit(t, who, price, doc)
            if isinstance(outcome, Fail):
                payload = calldata("commitBid(bytes32)", keccak(text="any commitment"))
                self.refused(data, outcome, t.address, payload, who)
                return
            how = data.draw(st.sampled_from(["sealed", "sealed", "library", "permit"]), label="how")
            account = self.account(who)

            def send() -> Any:
                if how == "sealed":  # the library's salt and commitment, one transaction
                    salt = bid_salt(account, chain_id, t.address, b.commits)
                    sealed = commitment(chain_id, t.address, who, price, salt, doc)
                    return t.contract.commitBid(sealed, sender=account)
                return td.commit_bid(
                    t.contract,
                    account,
                    price,
                    doc,
                    nonce=b.commits,
                    allow_above_budget=True,
                    permit_deadline=m.now + DAY if how == "permit" and not b.committed else None,
                )

            self.done("commitBid", outcome, send)

        def reveal(self, data: Any) -> None:
            m = self.model
            t = self.tender(data, Stage.REVEAL)
            bidders = [w for w, b in t.bids.items() if b.committed and not b.revealed]
            if bidders and not rare(data, 5, "aim"):
                who = data.draw(st.sampled_from(bidders), label="bidder")
            else:
                who = addresses[data.draw(st.sampled_from(BIDDERS), label="bidder")]
            b = t.bid(who)
            secret = b.secret
            tamper = data.draw(st.sampled_from(["none"] * 6 + ["price", "old"]), label="tamper")
            if tamper == "price" or (tamper == "old" and secret[2] == 0):
                secret = (secret[0] + 1, secret[1], secret[2])
            elif tamper == "old":
                secret = (secret[0], keccak(text=f"bid of {who} #0"), 0)
            outcome = m.reveal(t, who, secret)
            if isinstance(outcome, Fail):
                salt = bid_salt(self.account(who), chain_id, t.address, secret[2])
                payload = calldata(
                    "revealBid(uint256,bytes32,bytes32)", secret[0], salt, secret[1] or bytes(32)
                )
                self.refused(data, outcome, t.address, payload, who)
                return
            price, doc, nonce = secret
            self.done(
                "revealBid",
                outcome,
                lambda: td.reveal_bid(t.contract, self.account(who), price, doc, nonce=nonce),
            )

        def bond_settlement(self, data: Any) -> None:
            """A bidder takes its bond back, or anyone claims a forfeited bond for the buyer."""
            m = self.model
            t = self.tender(data, Stage.CONTRACTED, Stage.CANCELLED, Stage.FAILED, Stage.AWARDED)
            committed = [w for w, b in t.bids.items() if not b.settled] or list(t.bids)
            who = (
                data.draw(st.sampled_from(committed), label="bidder")
                if committed and not rare(data, 5, "aim")
                else addresses[data.draw(st.sampled_from(BIDDERS), label="bidder")]
            )
            if data.draw(st.booleans(), label="claim forfeited"):
                sender = addresses[data.draw(st.sampled_from(ACTORS), label="sender")]
                self.attempt(
                    data,
                    "claimForfeitedBond",
                    m.claim_forfeited(t, who),
                    lambda: td.claim_forfeited_bond(t.contract, who, self.account(sender)),
                    lambda: (t.address, calldata("claimForfeitedBond(address)", who), sender),
                )
            else:
                self.attempt(
                    data,
                    "withdrawBond",
                    m.withdraw_bond(t, who),
                    lambda: td.withdraw_bond(t.contract, self.account(who)),
                    lambda: (t.address, calldata("withdrawBond()"), who),
                )

        def lapse_or_rank(self, data: Any) -> None:
            """Anyone records a lapsed award, or claims a rank for a bidder in a ranking round."""
            m = self.model
            t = self.tender(data, Stage.AWARD_LAPSED, Stage.RANKING)
            sender = addresses[data.draw(st.sampled_from(ACTORS), label="sender")]
            if t.stage(m.now) == Stage.AWARD_LAPSED or rare(data, 5, "record a lapse"):
                self.attempt(
                    data,
                    "recordLapse",
                    m.record_lapse(t),
                    lambda: td.record_lapse(t.contract, self.account(sender)),
                    lambda: (t.address, calldata("recordLapse()"), sender),
                )
                return
            eligible = [w for w, b in t.bids.items() if b.eligible]
            pool = eligible or list(t.bids) or [addresses["bidder_a"]]
            who = data.draw(st.sampled_from(pool), label="bidder")
            self.attempt(
                data,
                "claimRank",
                m.claim_rank(t, who),
                lambda: td.claim_rank(t.contract, who, self.account(sender)),
                lambda: (t.address, calldata("claimRank(address)", who), sender),
            )

        def accept_award(self, data: Any) -> None:
            m = self.model
            t = self.tender(data, Stage.AWARDED)
            who = self.actor(data, t.awardee if t.awardee != ZERO else m.buyer, BIDDERS)
            plan_ok = not rare(data, 10, "wrong plan")
            plan = t.plan if plan_ok else (td.Milestone(BPS, 0, bytes(32)),)
            outcome = m.accept_award(t, who, plan_ok)
            payload = t.contract.acceptAward.encode_input([p.as_tuple() for p in plan])
            receipt = self.attempt(
                data,
                "acceptAward",
                outcome,
                lambda: td.accept_award(t.contract, self.account(who), plan),
                lambda: (t.address, "0x" + bytes(payload).hex(), who),
            )
            if receipt is not None:
                assert to_checksum_address(t.contract.agreement()) == t.agreement

        # ------------------------------------------------------------ agreements

        def fund(self, data: Any) -> None:
            m = self.model
            a = self.agreement(data, lambda a: a.status == S.UNFUNDED)
            who = self.actor(data, a.buyer)
            permit = data.draw(st.booleans(), label="permit")
            self.attempt(
                data,
                "fund",
                m.fund(a, who),
                lambda: ag.fund(a.contract, self.account(who), use_permit=permit),
                lambda: (a.address, calldata("fund(uint256)", a.price), who),
            )

        def submit(self, data: Any) -> None:
            m = self.model
            a = self.agreement(data, lambda a: M.PENDING in a.states or M.REJECTED in a.states)
            who = self.actor(data, a.supplier)
            index = self.milestone(data, a, M.PENDING, M.REJECTED)
            self.attempt(
                data,
                "submit",
                m.submit(a, who, index),
                lambda: ag.submit(a.contract, self.account(who), index, EVIDENCE, "ipfs://e"),
                lambda: (
                    a.address,
                    calldata("submit(uint256,bytes32,string)", index, EVIDENCE, "ipfs://e"),
                    who,
                ),
            )

        def dispute(self, data: Any) -> None:
            m = self.model
            a = self.agreement(data, lambda a: M.SUBMITTED in a.states or M.REJECTED in a.states)
            party = data.draw(st.sampled_from([a.buyer, a.supplier]), label="party")
            who = self.actor(data, party)
            index = self.milestone(data, a, M.SUBMITTED, M.REJECTED)
            self.attempt(
                data,
                "dispute",
                m.dispute(a, who, index),
                lambda: ag.dispute(a.contract, self.account(who), index, REASON),
                lambda: (a.address, calldata("dispute(uint256,bytes32)", index, REASON), who),
            )

        def withdraw_or_release(self, data: Any) -> None:
            """A party withdraws its credit, or anyone releases the retention."""
            m = self.model
            a = self.agreement(data, lambda a: bool(a.credits) or a.settled == a.count)
            if a.credits and not rare(data, 4, "withdraw"):
                who = self.actor(data, data.draw(st.sampled_from(sorted(a.credits))))
                self.attempt(
                    data,
                    "withdraw",
                    m.withdraw(a, who),
                    lambda: ag.withdraw(a.contract, self.account(who)),
                    lambda: (a.address, calldata("withdraw()"), who),
                )
                return
            sender = addresses[data.draw(st.sampled_from(ACTORS), label="sender")]
            self.attempt(
                data,
                "releaseRetention",
                m.release_retention(a),
                lambda: ag.release_retention(a.contract, self.account(sender)),
                lambda: (a.address, calldata("releaseRetention()"), sender),
            )

        # ------------------------------------------------------------ time

        def time_passes(self, data: Any) -> None:
            """To just before, on or just after a deadline, or by a random jump."""
            m = self.model
            marks = []
            for t in m.tenders:
                marks += [t.bidding, t.reveal, t.accept_deadline, t.ranking_deadline]
            for a in m.agreements.values():
                marks += [*a.dues, a.warranty_ends]
            targets = sorted({x + d for x in marks for d in (-1, 0, 1) if x + d > m.now})
            if targets and not rare(data, 8, "to a deadline"):
                # mostly the next deadline (-1 s, on it, +1 s), sometimes one further on
                ahead = 3 if not rare(data, 4, "further") else 6
                target = data.draw(st.sampled_from(targets[:ahead]), label="deadline")
            else:
                target = m.now + data.draw(st.integers(1, 40 * DAY), label="seconds")
            m.now = move_to(target)
            assert m.now == target

        # ------------------------------------------------------------ the consortium

        def declare_conflict(self, data: Any) -> None:
            """A member (or not) declares a conflict with a bidder, a tender or an agreement."""
            m = self.model
            who = addresses[data.draw(st.sampled_from([*MEMBERS, "stranger"]), label="member")]
            subjects = [addresses[b] for b in BIDDERS] + [t.address for t in m.tenders]
            subjects += list(m.agreements)
            subject = data.draw(st.sampled_from(subjects), label="subject")
            payload = calldata("declareConflict(address,bytes32)", subject, REASON)
            if who not in roles:
                fail = Fail("ConsortiumNotMember", {"account": who})
            elif subject in m.conflicts[who]:
                fail = Fail(
                    "ConsortiumConflictAlreadyDeclared", {"member": who, "subject": subject}
                )
            else:
                consortium.declareConflict(subject, REASON, sender=self.account(who))
                m.conflicts[who].add(subject)
                SUCCEEDED["declareConflict"] += 1
                self.sent = True
                return
            self.refused(data, fail, consortium_address, payload, who)

        def decision(self, data: Any) -> tuple[str, Call, str, Outcome]:
            """A consortium decision: (function, call, subject, the model's outcome)."""
            m = self.model
            kinds = ["cancel", "award", "award", "disqualify", "raisePhaseCap"]
            if m.agreements:
                kinds += ["acceptMilestone", "rejectMilestone", "resolveDispute"]
                kinds += ["claimWarranty", "terminate"]
            if any(m.conflicts.values()):
                kinds.append("liftConflict")
            promising = self.promising()
            if promising and not rare(data, 4, "promising"):
                kinds = promising
            kind = data.draw(st.sampled_from(kinds), label="decision")
            if kind in ("award", "disqualify", "cancel"):
                t = self.tender(
                    data, Stage.EVALUATION, Stage.RANKING, Stage.AWARDED, Stage.AWARD_LAPSED
                )
                if kind == "cancel":
                    return kind, td.cancel_call(t.contract, REASON), ZERO, m.cancel(t)
                eligible = [w for w, b in t.bids.items() if b.eligible]
                if t.leader != ZERO and not rare(data, 3, "leader"):
                    who = t.leader
                elif eligible and data.draw(st.booleans(), label="eligible"):
                    who = data.draw(st.sampled_from(eligible), label="bidder")
                else:
                    who = addresses[data.draw(st.sampled_from(BIDDERS), label="bidder")]
                if kind == "award":
                    return kind, td.award_call(t.contract, who, REASON), who, m.award(t, who)
                return kind, td.disqualify_call(t.contract, who, REASON), who, m.disqualify(t, who)
            if kind == "raisePhaseCap":
                cap = m.cap + data.draw(st.sampled_from([0, 1, 100_000 * DUSD]), label="raise")
                return kind, call_of(registry, kind, cap), ZERO, m.raise_cap(cap)
            if kind == "liftConflict":
                member = data.draw(st.sampled_from([k for k, v in m.conflicts.items() if v]))
                subject = data.draw(st.sampled_from(sorted(m.conflicts[member])))
                call = call_of(consortium, kind, member, subject)
                return kind, call, ZERO, m.lift_conflict(member, subject)
            wanted = {"acceptMilestone": M.SUBMITTED, "rejectMilestone": M.SUBMITTED}.get(
                kind, M.DISPUTED if kind == "resolveDispute" else None
            )
            a = self.agreement(
                data, lambda a: a.status == S.ACTIVE and (wanted is None or wanted in a.states)
            )
            if kind == "terminate":
                return kind, call_of(a.contract, kind, REASON), ZERO, m.terminate(a)
            if kind == "claimWarranty":
                amount = data.draw(
                    st.sampled_from([0, 1, a.retention, a.retention + 1, max(1, a.retention // 2)]),
                    label="claim",
                )
                outcome = m.claim_warranty(a, amount)
                return kind, call_of(a.contract, kind, amount, REASON), ZERO, outcome
            states = {"acceptMilestone": M.SUBMITTED, "rejectMilestone": M.SUBMITTED}
            index = self.milestone(data, a, states.get(kind, M.DISPUTED))
            if kind == "acceptMilestone":
                outcome = m.accept(a, index)
                call = (
                    ag.accept_call(a.contract, index)
                    if not isinstance(outcome, Fail)
                    else call_of(a.contract, kind, index)
                )
                return kind, call, ZERO, outcome
            if kind == "rejectMilestone":
                return kind, call_of(a.contract, kind, index, REASON), ZERO, m.reject(a, index)
            bps = data.draw(
                st.sampled_from([0, 5_000, BPS, BPS + 1]) | st.integers(0, BPS), label="bps"
            )
            outcome = m.resolve(a, index, bps)
            call = (
                ag.resolve_call(a.contract, index, bps, REASON)
                if not isinstance(outcome, Fail)
                else call_of(a.contract, kind, index, bps, REASON)
            )
            return kind, call, ZERO, outcome

        def promising(self) -> list[str]:
            """Decisions that would move something forward now (the usual ones repeated)."""
            m = self.model
            stages = {t.stage(m.now) for t in m.tenders}
            kinds = []
            if Stage.EVALUATION in stages:
                kinds += ["award"] * 4 + ["disqualify"]
            states = [s for a in m.agreements.values() if a.status == S.ACTIVE for s in a.states]
            if M.SUBMITTED in states:
                kinds += ["acceptMilestone"] * 4 + ["rejectMilestone"]
            if M.DISPUTED in states:
                kinds += ["resolveDispute"] * 3
            if any(a.retention and a.status == S.ACTIVE for a in m.agreements.values()):
                kinds += ["claimWarranty"]
            return kinds

        def signers(self, data: Any, required: int, subjects: list[str]) -> list[str]:
            """Mostly a set that should pass (required roles, enough unrecused members);
            otherwise any set of members and the stranger (too few, wrong roles, recused)."""
            m = self.model
            if rare(data, 4, "random signers"):
                pool = [addresses[n] for n in (*MEMBERS, "stranger")]
                chosen = data.draw(st.sets(st.sampled_from(pool), min_size=1, max_size=6))
                return sorted(chosen)
            free = [a for a in roles if not m.recused(a, subjects)]
            chosen = {a for a in free if roles[a] & required}
            if required and rare(data, 5, "without the required role"):
                free, chosen = [a for a in free if not roles[a] & required], set()
            order = data.draw(st.permutations(free), label="signer order")
            size = data.draw(st.integers(3, 4), label="signers")
            for a in order:
                if len(chosen) >= size:
                    break
                chosen.add(a)
            recused = [a for a in roles if m.recused(a, subjects)]
            if recused and rare(data, 3, "with a recused member"):
                chosen.add(data.draw(st.sampled_from(recused), label="recused member"))
            return sorted(chosen)

        def consortium_decides(self, data: Any) -> None:
            m = self.model
            kind, call, subject, inner = self.decision(data)
            sel = call.selector
            signers = self.signers(data, POLICY.get(sel, (0, 0))[0], [call.target, subject])
            variant = data.draw(
                st.sampled_from(["normal"] * 14 + ["expired", "replay", "direct", "direct"]),
                label="variant",
            )
            if variant == "direct":
                self.privileged_call_without_consortium(data, call)
                return
            if variant == "replay" and self.last_action is not None:
                action, packed = self.last_action
                fail = Fail("ConsortiumNonceUsed", {"nonce": action.nonce})
                if m.now > action.deadline:
                    fail = Fail(
                        "ConsortiumActionExpired", {"deadline": action.deadline, "now_": m.now}
                    )
                payload = consortium.execute.encode_input(action.as_tuple(), packed)
                stranger = addresses["stranger"]
                self.refused(data, fail, consortium_address, "0x" + bytes(payload).hex(), stranger)
                return
            deadline = m.now - 1 if variant == "expired" else None
            proposal = cs.propose(consortium, call, deadline=deadline)
            assert proposal.action.nonce == m.next_nonce()
            message = proposal.action.signable(chain_id, consortium_address)
            approve = rare(data, 10, "on-chain approval")
            approved = False
            for signer in signers:
                if approve and not approved and signer in roles:
                    cs.approve(proposal, consortium, self.account(signer))
                    approved = True  # one on-chain approval, the rest signatures
                    continue
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, signers)
            sender = addresses[data.draw(st.sampled_from(ACTORS), label="executor")]
            if variant == "expired":
                fail: Fail | None = Fail(
                    "ConsortiumActionExpired", {"deadline": m.now - 1, "now_": m.now}
                )
            else:
                fail = m.authorize(signers, roles, call.target, sel, subject)
            if fail is None and isinstance(inner, Fail):
                fail = inner
            payload = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
            if fail is not None:
                self.refused(data, fail, consortium_address, "0x" + bytes(payload).hex(), sender)
                self.sent = self.sent or approved  # an on-chain approval emits ActionApproved
                return
            assert not isinstance(inner, Fail)

            def execute() -> Any:
                if rare(data, 8, "library execute"):
                    return cs.execute(proposal, consortium, self.account(sender))
                return consortium.execute(
                    proposal.action.as_tuple(), packed, sender=self.account(sender)
                )

            self.done(kind, inner, execute)
            m.nonces.add(proposal.action.nonce)
            m.executed += 1
            self.last_action = (proposal.action, packed)

        def privileged_call_without_consortium(self, data: Any, decided: Call) -> None:
            """Anyone but the consortium makes the decision's call itself, or calls another
            privileged function directly: it must revert with the contract's not-consortium
            error and change nothing."""
            m = self.model
            caller = addresses[data.draw(st.sampled_from(ACTORS), label="caller")]
            not_self = Fail("ConsortiumNotSelf", {"caller": caller})
            kind_of = {registry_address: "Registry", consortium_address: "Consortium"}
            kind_of |= {t.address: "Tender" for t in m.tenders}
            kind_of |= {a: "Agreement" for a in m.agreements}
            refusal = {
                "Registry": Fail("RegistryNotConsortium", {"caller": caller}),
                "Consortium": not_self,
                "Tender": Fail("TenderNotConsortium", {"caller": caller}),
                "Agreement": Fail("AgreementNotConsortium", {"caller": caller}),
            }[kind_of[decided.target]]
            if data.draw(st.booleans(), label="the decision itself"):
                payload = "0x" + decided.data.hex()
                self.refused(data, refusal, decided.target, payload, caller)
                return
            options: list[tuple[str, str, Fail]] = [
                (registry_address, calldata("addAgency(address)", caller), not_registry := Fail(
                    "RegistryNotConsortium", {"caller": caller})),
                (registry_address, calldata("raisePhaseCap(uint128)", 2**100), not_registry),
                (consortium_address, calldata("setThreshold(uint256)", 1), not_self),
                (consortium_address, calldata("addMember(address,uint8)", caller, 31), not_self),
                (consortium_address, calldata("liftConflict(address,address)", caller, caller),
                 not_self),
            ]  # fmt: skip
            if m.tenders:
                t = data.draw(st.sampled_from(m.tenders), label="tender")
                who = data.draw(st.sampled_from([t.leader, *t.bids, caller]), label="bidder")
                not_consortium = Fail("TenderNotConsortium", {"caller": caller})
                options += [
                    (t.address, calldata("award(address,bytes32)", who, REASON), not_consortium),
                    (t.address, calldata("disqualify(address,bytes32)", who, REASON),
                     not_consortium),
                    (t.address, calldata("cancel(bytes32)", REASON), not_consortium),
                    (t.address, calldata("initialize()"),
                     Fail("TenderNotRegistry", {"caller": caller})),
                ]  # fmt: skip
            if m.agreements:
                a = data.draw(st.sampled_from(list(m.agreements.values())), label="agreement")
                not_consortium = Fail("AgreementNotConsortium", {"caller": caller})
                initialize_again = a.contract.initialize.encode_input(
                    caller, caller, caller, token_address, 1, (0, 0, 0, 0), [(BPS, 0, bytes(32))]
                )
                options += [
                    (a.address, calldata("acceptMilestone(uint256)", 0), not_consortium),
                    (a.address, calldata("rejectMilestone(uint256,bytes32)", 0, REASON),
                     not_consortium),
                    (a.address, calldata("resolveDispute(uint256,uint256,bytes32)", 0, BPS,
                     REASON), not_consortium),
                    (a.address, calldata("claimWarranty(uint256,bytes32)", 1, REASON),
                     not_consortium),
                    (a.address, calldata("terminate(bytes32)", REASON), not_consortium),
                    (a.address, "0x" + bytes(initialize_again).hex(),
                     Fail("InvalidInitialization")),
                ]  # fmt: skip
            to, payload, fail = data.draw(st.sampled_from(options), label="privileged call")
            self.refused(data, fail, to, payload, caller)

        # ------------------------------------------------------------ invariants

        @invariant()
        def the_chain_agrees_with_the_model(self):
            clock = time.perf_counter()
            m = self.model
            reads: list[tuple[str, str, list[str]]] = []  # (to, data, result types)

            def read(to: str, signature: str, types: list[str], *args: Any) -> int:
                reads.append((to, calldata(signature, *args), types))
                return len(reads) - 1

            holders = [addresses[n] for n in MINTS]
            holders += [t.address for t in m.tenders] + list(m.agreements)
            balances = [read(token_address, "balanceOf(address)", ["uint256"], h) for h in holders]
            supply = read(token_address, "totalSupply()", ["uint256"])
            nonces = read(consortium_address, "nonceBitmap(uint256)", ["uint256"], 0)
            tender_reads = []
            for t in m.tenders:
                views = [
                    read(t.address, "stage()", ["uint8"]),
                    read(t.address, "leader()", ["address", "uint256"]),
                    read(t.address, "awardee()", ["address", "uint256"]),
                    read(t.address, "rankingDeadline()", ["uint256"]),
                    read(t.address, "cancelledAt()", ["uint256"]),
                    read(t.address, "agreement()", ["address"]),
                ]
                bids = {
                    w: read(t.address, "bidOf(address)", ["bool"] * 5 + ["uint256"] * 2, w)
                    for w in t.bids
                }
                tender_reads.append((t, views, bids))
            agreement_reads = []
            milestone_types = ["uint128", "uint64", "uint64", "uint128", "uint128", "uint128"]
            milestone_types += ["uint120", "uint8", "bytes32", "bytes32"]
            for a in m.agreements.values():
                views = [
                    read(a.address, f"{name}()", ["uint256"])
                    for name in (
                        "status",
                        "escrowed",
                        "retentionHeld",
                        "totalCredits",
                        "owed",
                        "settledCount",
                        "warrantyEndsAt",
                    )
                ]
                credits = {
                    w: read(a.address, "creditOf(address)", ["uint256"], w)
                    for w in {a.buyer, a.supplier, *a.credits}
                }
                milestones = [
                    read(a.address, "milestone(uint256)", milestone_types, i)
                    for i in range(a.count)
                ]
                agreement_reads.append((a, views, credits, milestones))
            replies = rpc.batch(
                [("eth_call", [{"to": to, "data": data}, "latest"]) for to, data, _ in reads]
                + [
                    ("eth_getBlockByNumber", ["latest", False]),
                    ("eth_getLogs", [{"fromBlock": hex(self.block + 1), "toBlock": "latest"}]),
                ]
            )
            values = []
            for (_to, _data, types), reply in zip(reads, replies, strict=False):
                assert "result" in reply, reply
                decoded = tuple(
                    to_checksum_address(v) if t == "address" else v
                    for t, v in zip(
                        types, decode(types, bytes.fromhex(reply["result"][2:])), strict=True
                    )
                )
                values.append(decoded[0] if len(decoded) == 1 else decoded)
            head, logs = replies[-2]["result"], replies[-1]["result"]
            assert int(head["timestamp"], 16) == m.now, "the clock moved by itself"

            # 1. tokens are conserved
            for holder, index in zip(holders, balances, strict=True):
                assert values[index] == m.balances.get(holder, 0), names.get(holder, holder)
            assert sum(values[i] for i in balances) == values[supply] == m.minted
            assert values[nonces] == sum(1 << n for n in m.nonces)

            # 2. + 3. what each tender and agreement holds and where it stands
            for t, views, bids in tender_reads:
                stage = Stage(values[views[0]])
                assert stage == t.stage(m.now), (t.id, stage, t.stage(m.now))
                previous = self.stages.get(t.address, Stage.BIDDING)
                assert stage == previous or stage in STAGE_MOVES[previous], (previous, stage)
                self.stages[t.address] = stage
                assert values[views[1]] == (t.leader, t.leader_price)
                assert values[views[2]] == (t.awardee, t.accept_deadline)
                assert values[views[3]] == t.ranking_deadline
                assert values[views[4]] == t.cancelled_at
                assert values[views[5]] == t.agreement
                assert m.balances.get(t.address, 0) == t.holds
                for who, index in bids.items():
                    b = t.bids[who]
                    assert values[index] == (
                        b.committed,
                        b.revealed,
                        b.valid,
                        b.disqualified or b.lapsed,
                        b.settled,
                        b.block,
                        b.price if b.revealed else 0,
                    ), (t.id, names.get(who, who))
            for a, views, credits, milestones in agreement_reads:
                status, escrowed, retention, total, owed, settled, ends = (values[i] for i in views)
                assert S(status) == a.status
                assert (escrowed, retention, total, owed) == (
                    a.escrowed,
                    a.retention,
                    sum(a.credits.values()),
                    a.owed,
                )
                assert (settled, ends) == (a.settled, a.warranty_ends)
                assert m.balances.get(a.address, 0) == owed == escrowed + retention + total
                for who, index in credits.items():
                    assert values[index] == a.credits.get(who, 0)
                states = []
                for i, index in enumerate(milestones):
                    ms = values[index]
                    states.append(M(ms[7]))
                    assert (ms[0], ms[1], ms[2]) == (a.amounts[i], a.dues[i], a.submitted_at[i])
                    assert (ms[3], ms[4], ms[5], ms[6]) == a.paid[i]
                assert states == a.states
                before = self.statuses.get(a.address, (S.UNFUNDED, [M.PENDING] * a.count))
                assert a.status == before[0] or a.status in STATUS_MOVES[before[0]]
                for old, new in zip(before[1], states, strict=True):
                    assert old == new or new in MILESTONE_MOVES[old], (old, new)
                self.statuses[a.address] = (a.status, states)

            # 4. nothing privileged happened without the consortium's quorum
            self.check_privileged(logs)
            self.block = int(head["number"], 16)
            TIMING["invariant s"] += time.perf_counter() - clock

            # 5. the events replayed say what the views say (every AUDIT_EVERY steps)
            self.steps += 1
            if AUDIT_EVERY and self.steps % AUDIT_EVERY == 0:
                self.audit()

        def check_privileged(self, logs: list[dict[str, Any]]) -> None:
            if not self.sent:
                assert not logs, "a refused step left logs behind"
            self.sent = False
            by_tx: dict[str, list[dict[str, Any]]] = {}
            for log in logs:
                by_tx.setdefault(log["transactionHash"], []).append(log)
            executions = 0
            for tx_logs in by_tx.values():
                for log in tx_logs:
                    topic = bytes.fromhex(log["topics"][0][2:])
                    name = event_names.get(topic)
                    if (
                        topic == action_executed
                        and log["address"].lower() == consortium_address.lower()
                    ):
                        executions += 1
                    if name not in PRIVILEGED_EVENTS:
                        continue
                    self.check_authorised(log, name, tx_logs)
            assert executions <= 1, "one step executed more than one action"

        def check_authorised(self, log: dict[str, Any], name: str, tx_logs: list) -> None:
            emitter = to_checksum_address(log["address"])
            wanted = selector(PRIVILEGED_EVENTS[name])
            for candidate in tx_logs:
                topics = [bytes.fromhex(x[2:]) for x in candidate["topics"]]
                if (
                    to_checksum_address(candidate["address"]) == consortium_address
                    and topics[0] == action_executed
                    and int(candidate["logIndex"], 16) < int(log["logIndex"], 16)
                    and to_checksum_address(topics[2][-20:]) == emitter
                    and topics[3][:4] == wanted
                ):
                    break
            else:
                raise AssertionError(f"{name} from {emitter} without a consortium execution")
            _value, signers = decode(["uint256", "address[]"], bytes.fromhex(candidate["data"][2:]))
            signers = [to_checksum_address(s) for s in signers]
            required = POLICY.get(wanted, (0, 0))[0]
            present = 0
            subjects = [emitter]
            if name in ("BidAwarded", "BidderDisqualified"):
                subjects.append(to_checksum_address(bytes.fromhex(log["topics"][1][2:])[-20:]))
            assert len(signers) >= 3 and len(set(signers)) == len(signers), signers
            for signer in signers:
                assert signer in roles, f"{signer} signed {name} but is not a member"
                assert not self.model.recused(signer, subjects), f"{signer} is recused"
                present |= roles[signer]
            assert present & required == required, (name, present, required)

        def audit(self) -> None:
            clock = time.perf_counter()
            log = audit.collect(registry, consortium)
            differences = audit.verify(log)
            assert not differences, "\n".join(str(d) for d in differences)
            assert all(flow.matches for flow in audit.reconcile(log))
            assert len(log.tenders) == len(self.model.tenders)
            assert set(log.agreements.values()) == set(self.model.agreements)
            TIMING["audit s"] += time.perf_counter() - clock
            TIMING["audits"] += 1

        def teardown(self):
            TIMING["steps"] += self.steps

            self.audit()

    try:
        run_state_machine_as_test(Lifecycle, settings=SETTINGS)
    finally:
        rpc.one("anvil_removeBlockTimestampInterval", [])
        TIMING["total s"] = time.perf_counter() - started
        print("\nsucceeded:", dict(sorted(SUCCEEDED.items())))
        print("refused:", dict(sorted(REFUSED.items())))
        print("steps:", dict(sorted(STEPS.items())))
        print("timing:", {k: round(v, 1) for k, v in TIMING.items()})
    if EXAMPLES >= 50:  # the run reached every part of the lifecycle, so the checks bit
        reached = {"commitBid", "revealBid", "award", "acceptAward", "fund", "submit"}
        reached |= {"acceptMilestone", "dispute", "resolveDispute", "withdraw", "withdrawBond"}
        assert reached <= set(SUCCEEDED), reached - set(SUCCEEDED)
        refused = {"ConsortiumBelowThreshold", "ConsortiumNotMember", "ConsortiumSignerRecused"}
        refused |= {"ConsortiumMissingRoles"}
        assert refused <= set(REFUSED), refused - set(REFUSED)
        not_consortium = {"TenderNotConsortium", "AgreementNotConsortium", "ConsortiumNotSelf"}
        assert not_consortium & set(REFUSED), "no direct privileged call was tried"
