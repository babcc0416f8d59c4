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
error with its arguments. After every step two things are checked.

First, the invariants computed from the chain alone, without the model (a model that mirrors
the code cannot catch the code, as issue 13 showed): ``procurechain.invariants.check`` over a
``ChainHistory`` of the deployment (raw logs, token balances, block times and the executed
actions' calldata over JSON-RPC), extended by each step's blocks and rewound with the snapshot
when an example starts over. Every tender holds the bonds it still owes by its events, no bond
is settled twice, agreement money adds up by its transfers, every payment to a supplier is
covered by a quorum holding the required roles with nobody recused from the supplier, the
tender, the buyer or the agreement and without the supplier itself, governance is signed with
the deployment's roles and not by the member it names, no penalty is charged for the buyer's
funding delay, and
every execution obeys the consortium's rules as replayed from its events. Its violations fail
the example, in plain words.

Second, the chain must agree with the model, and:

1. tokens are conserved: every holder's balance is what the model says and they sum to the
   total supply, which only the fixture's mints changed;
2. every tender's and agreement's views (leader, awardee, deadlines, bids, escrow, retention,
   credits, milestones) and the consortium's (members, roles, open conflicts, threshold, used
   nonces) are what the model says;
3. tender stages, agreement statuses and milestone states only move along the documented
   edges (:data:`STAGE_MOVES`, :data:`STATUS_MOVES`, :data:`MILESTONE_MOVES`);
4. every privileged event's transaction holds a preceding ``ActionExecuted`` of the consortium
   for that contract and function, exactly the executions the model made happened, and a step
   the model refuses leaves no log at all (one in four is mined for real, with status 0);
5. ``audit.verify`` (the events replayed) equals the contracts' views (at teardown).

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
- the chain history is extended, not refetched: three batched requests a step (about 3 ms),
  and the check replays it in pure Python (about 7 ms a step for an example's history);
- the head start sends its transactions raw (the library's salts, commitments, proposals and
  signatures, one ``eth_sendTransaction`` each): through Ape a transaction costs about 50 ms and
  a bid through the library's checks about 200 ms; random steps go through the library;
- ``audit.collect`` + ``verify`` reads every event since deployment and calls every view
  through Ape (about 0.85 s per call for an example with two tenders, measured), so it runs at
  the teardown of every example rather than after every step, where it would more than
  double the module's time; ``LIFECYCLE_AUDIT_EVERY=k`` adds a run every k steps. The views
  it compares with are compared with the model after every step (invariants 1-3).

Most examples (four in five) get a head start that takes, step by step and checked by the model,
every path issue 13 found dangerous (see ``head_start``): a bond withdrawn while another bidder
holds the award (that bidder then refused a rank and the award), awards lapsing (recorded by
``recordLapse``, by disqualifying the awardee, by cancelling), an agreement funded after a due
date, a member recused from it through a conflict with its supplier or its tender, the
supplier disputing its own delivery, the evaluation period running out, and a governance change
of each kind mid-flight, each first refused (signed by the member it names, or without the roles
governance needs). Hypothesis mutates the random steps of an example and keeps its head start
for the next few, so a seeded run of 50 sees only about ten different head starts: anything
left to one of their draws can miss a whole run, hence the fixed sequence. The run's coverage
guard asserts each of those paths (:data:`DANGEROUS_PATHS`, counted in :data:`PATHS`) and each
kind of governance change was taken at least :data:`FEW` times.

The model follows the contracts as issue 13 fixed them: a bidder that takes its bond back while
another holds the award leaves the competition (a leader is cleared); a lapsed award is recorded
before a cancellation or disqualification (the awardee's bond stays forfeited); the tender fails
when no award comes within ``EVALUATION_PERIOD`` of the last deadline; the registry refuses
windows below one day and any other token; a member's conflict recuses it from every decision
on its subject's procurement (``partyAmong``); an action on the consortium itself needs every
role some policy requires and does not count the member it names; membership, roles, threshold
and policies change under governance steps; due dates count from funding; a dispute's
resolution takes the late penalty.

``make fuzz`` runs the same machine with ``HYPOTHESIS_PROFILE=fuzz`` (1,000 examples by default,
``FUZZ_EXAMPLES`` to change, not derandomized).
"""

from __future__ import annotations

import dataclasses
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
from hypothesis import Phase, settings
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
from procurechain import invariants as chain_invariants
from procurechain import tender as td
from procurechain.bids import bid_salt, commitment
from procurechain.calls import Call, call_of
from procurechain.deploy import DEFAULT_POLICIES, deploy_suite, devnet_config
from procurechain.deployments import deployed, read_manifest, typed
from procurechain.devnet import move_to
from procurechain.errors import decode_revert
from procurechain.tender import AwardMethod, Stage

from conftest import deployments_in

DUSD = 10**6
DAY = 86_400
BPS = 10_000
ZERO = "0x0000000000000000000000000000000000000000"
MAX_UINT = 2**256 - 1
MAX_TENDERS = 5
#: also run ``audit.verify`` every this many steps (0: only at teardown, see the docstring)
AUDIT_EVERY = int(os.environ.get("LIFECYCLE_AUDIT_EVERY", "0"))
FUZZ = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", "0")) or (
    settings.default.max_examples if FUZZ else 50
)
#: LIFECYCLE_SHRINK=0 reports a failing example as found, without shrinking it (minutes saved)
SHRINK = os.environ.get("LIFECYCLE_SHRINK", "1") != "0"
SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    phases=[p for p in Phase if SHRINK or p != Phase.shrink],
)
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
#: the deployment's policies (the model follows every change the consortium makes to them)
POLICY = {p.selector: (p.roles, p.subject_arg) for p in DEFAULT_POLICIES}
ALL_ROLES = (1 << len(ROLE)) - 1
#: the contracts' constants (Tender.EVALUATION_PERIOD, Registry.MIN_*, Consortium.MAX_CONFLICTS)
EVALUATION_PERIOD = 60 * DAY
MIN_PERIOD = DAY  # bidding period, reveal period (= a ranking round), acceptance window
MAX_CONFLICTS = 16
#: policies a governance step may set, each with the roles it keeps at least: whatever pays
#: the supplier keeps the auditor (and a dispute the legal expert), so the roles governance
#: itself needs (every role some policy requires) never fall below the deployment's. The
#: contract itself allows lowering them (deploy.py checks "a dispute needs what acceptance
#: needs" only at deployment): after setPolicy(resolveDispute, LEGAL), signed with the auditor,
#: a quorum without it pays the supplier through a dispute, which the chain-derived check
#: reports (d.roles). Left out here until that is decided, so the check keeps its meaning.
POLICY_FLOORS: dict[str, int] = {
    "acceptMilestone(uint256)": ROLE["auditor"],
    "resolveDispute(uint256,uint256,bytes32)": ROLE["auditor"] | ROLE["legal"],
    "claimWarranty(uint256,bytes32)": ROLE["auditor"],
    "terminate(bytes32)": ROLE["legal"],
    "rejectMilestone(uint256,bytes32)": 0,
    "cancel(bytes32)": 0,
    "award(address,bytes32)": 0,
    "raisePhaseCap(uint128)": 0,
}
GOVERNANCE = ("setMemberRoles", "setThreshold", "addMember", "removeMember", "setPolicy")

#: The documented state machines: every move a tender, an agreement or a milestone may make in
#: one step (staying put is always allowed). Bidding can fall straight to Failed when the clock
#: jumps past the reveal deadline with no valid bid; Evaluation fails when the evaluation period
#: runs out; Awarded goes back to Evaluation or Ranking when the awardee is disqualified
#: (Ranking if it led or the lead was cleared meanwhile). A lapsed award is recorded (by
#: ``recordLapse``, ``cancel`` or ``disqualify``) before anything else: Evaluation, Ranking, or
#: Failed when the evaluation period ran out while the award lapsed.
STAGE_MOVES: dict[Stage, set[Stage]] = {
    Stage.BIDDING: {Stage.REVEAL, Stage.FAILED, Stage.CANCELLED},
    Stage.REVEAL: {Stage.EVALUATION, Stage.FAILED, Stage.CANCELLED},
    Stage.EVALUATION: {Stage.AWARDED, Stage.RANKING, Stage.FAILED, Stage.CANCELLED},
    Stage.RANKING: {Stage.EVALUATION, Stage.FAILED, Stage.CANCELLED},
    Stage.AWARDED: {
        Stage.AWARD_LAPSED,
        Stage.CONTRACTED,
        Stage.EVALUATION,
        Stage.RANKING,
        Stage.CANCELLED,
    },
    Stage.AWARD_LAPSED: {Stage.EVALUATION, Stage.RANKING, Stage.FAILED, Stage.CANCELLED},
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

#: the dangerous paths of issue 13 (keys of :data:`PATHS`); the seeded run must take each
P_WITHDRAWN_DURING_AWARD = "bond withdrawn while another bidder holds the award"
P_LEADER_LEFT = "the leader withdrew its bond while another holds the award (lead cleared)"
P_WITHDRAWN_CLAIM = "a withdrawn bidder refused at claimRank"
P_WITHDRAWN_AWARD = "a withdrawn bidder refused at award"
P_LAPSE = "an award lapsed (recordLapse)"
P_DISQUALIFY_AWARDEE = "the awardee disqualified"
P_CANCEL_LAPSED = "cancel during AwardLapsed (lapse recorded first)"
P_DISQUALIFY_LAPSED = "disqualify during AwardLapsed (lapse recorded first)"
P_SUPPLIER_DISPUTE = "the supplier disputed its own milestone"
P_EVALUATION_OVER = "the evaluation period ran out (Failed with a leader)"
P_LATE_FUNDING = "the buyer funded after a due date (no penalty for it)"
P_GOVERNANCE_SUBJECT = "governance signed by the member it names (ConsortiumSignerIsSubject)"
P_GOVERNANCE_ROLES = "governance without the roles it needs (ConsortiumMissingRoles)"
P_RECUSED_PARTY = "recused from an agreement decision by a conflict with its supplier or a bidder"
DANGEROUS_PATHS = (
    P_WITHDRAWN_DURING_AWARD,
    P_LEADER_LEFT,
    P_WITHDRAWN_CLAIM,
    P_WITHDRAWN_AWARD,
    P_LAPSE,
    P_DISQUALIFY_AWARDEE,
    P_CANCEL_LAPSED,
    P_DISQUALIFY_LAPSED,
    P_SUPPLIER_DISPUTE,
    P_EVALUATION_OVER,
    P_LATE_FUNDING,
    P_GOVERNANCE_SUBJECT,
    P_GOVERNANCE_ROLES,
    P_RECUSED_PARTY,
)
FEW = 3  # how often the seeded run must take each of them at least
SUCCEEDED: Counter[str] = Counter()  # successful steps by function, over the whole run
REFUSED: Counter[str] = Counter()  # refused steps by custom error, over the whole run
PATHS: Counter[str] = Counter()  # the dangerous paths of issue 13 taken, over the whole run
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
    #: the dangerous path (a :data:`PATHS` key) this refusal stands for, if any
    path: str = field(default="", compare=False)

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

    def call(self, to: str, data: str, sender: str, value: int = 0) -> dict[str, Any]:
        tx = {"from": sender, "to": to, "data": data, "value": hex(value)}
        return self.batch([("eth_call", [tx, "latest"])])[0]

    def send(self, to: str, data: str, sender: str, value: int = 0) -> dict[str, Any]:
        """Mine a transaction from an unlocked test account (gas given: it may revert)."""
        tx = {"from": sender, "to": to, "data": data, "gas": hex(3_000_000), "value": hex(value)}
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
        """Still in the competition: a bidder that took its bond back has left it."""
        excluded = self.disqualified or self.lapsed or self.settled
        return self.revealed and self.valid and not excluded

    @property
    def withdrawn(self) -> bool:
        """Revealed valid, never excluded, but its bond taken back (issue 13's double refund)."""
        return self.revealed and self.valid and self.settled and not self.lapsed


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
        if self.leader == ZERO or now > self.evaluation_deadline:
            return Stage.FAILED
        return Stage.EVALUATION

    @property
    def evaluation_deadline(self) -> int:
        return max(self.reveal, self.ranking_deadline, self.accept_deadline) + EVALUATION_PERIOD

    def lapse(self, now: int) -> str:
        """The awardee let its window pass: excluded, its bond forfeited; a ranking round
        opens if it led or the lead was cleared meanwhile. Returns the lapsed awardee."""
        awardee = self.awardee
        self.bids[awardee].lapsed = True
        self.awardee, self.status = ZERO, "open"
        if self.leader in (awardee, ZERO):
            self.open_ranking(now)
        return awardee

    def clone(self) -> TenderModel:
        """A copy to try a step on (the bids copied too)."""
        bids = {w: dataclasses.replace(b) for w, b in self.bids.items()}
        return dataclasses.replace(self, bids=bids)

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
    dues: list[int]  # as the milestone() view says: counted from funding once funded
    created: int = 0
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

    def split(self, base: int, index: int) -> tuple[int, int, int]:
        """(paid, penalty, retention) of ``base`` of a milestone, as on acceptance: retention
        first, then the late penalty of the latest submission, capped at the rest."""
        retention_bps, _warranty, rate, cap = self.tender.terms
        late = max(0, self.submitted_at[index] - self.dues[index])
        days = -(-late // DAY)
        retention = base * retention_bps // BPS
        penalty = min(base * min(days * rate, cap) // BPS, base - retention)
        return base - retention - penalty, penalty, retention

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

    def __init__(self, now: int, addresses: dict[str, str], cap: int, consortium: str) -> None:
        self.now = now
        self.addresses = addresses  # actor name -> address
        self.names = {a: n for n, a in addresses.items()}
        self.balances = {addresses[n]: amount for n, amount in MINTS.items()}
        self.minted = sum(MINTS.values())
        self.cap = cap
        self.tenders: list[TenderModel] = []
        self.agreements: dict[str, AgreementModel] = {}
        self.nonces: set[int] = {0}  # the deployment admitted the agency with nonce 0
        self.executed = 0
        # the consortium: it changes under governance steps
        self.consortium = consortium
        self.members: dict[str, int] = {addresses[m]: ROLE[m] for m in MEMBERS}  # -> roles
        self.threshold = 3
        self.policies: dict[bytes, tuple[int, int]] = dict(POLICY)
        #: member -> open conflict subjects, in the order of the contract's EnumerableSet
        #: (``conflictsOf``, which ``partyAmong`` walks); kept when a member is removed
        self.conflicts: dict[str, list[str]] = {}

    def move(self, source: str, target: str, amount: int) -> None:
        assert self.balances.get(source, 0) >= amount
        self.balances[source] = self.balances.get(source, 0) - amount
        self.balances[target] = self.balances.get(target, 0) + amount

    @property
    def buyer(self) -> str:
        return self.addresses["agency"]

    def next_nonce(self) -> int:
        return min(n for n in range(len(self.nonces) + 1) if n not in self.nonces)

    def tender_at(self, address: str) -> TenderModel | None:
        return next((t for t in self.tenders if t.address == address), None)

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
            bid.committed, bid.block = True, block_of(receipt)
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

    def not_eligible(self, t: TenderModel, who: str, path: str) -> Fail:
        """The refusal of a bidder out of the competition; a withdrawn one is ``path``."""
        return Fail(
            "TenderBidderNotEligible", {"bidder": who}, path if t.bid(who).withdrawn else ""
        )

    def claim_rank(self, t: TenderModel, who: str) -> Outcome:
        stage = t.stage(self.now)
        if stage != Stage.RANKING:
            return Fail("TenderWrongStage", {"expected": Stage.RANKING, "actual": stage})
        b = t.bid(who)
        if not b.eligible:
            return self.not_eligible(t, who, P_WITHDRAWN_CLAIM)

        def apply(receipt: Any) -> None:
            if t.leader != who and t.leads(b.price, b.block):
                t.leader, t.leader_price = who, b.price

        return apply

    def record_lapse(self, t: TenderModel) -> Outcome:
        stage = t.stage(self.now)
        if stage != Stage.AWARD_LAPSED:
            return Fail("TenderWrongStage", {"expected": Stage.AWARD_LAPSED, "actual": stage})

        def apply(receipt: Any) -> None:
            t.lapse(self.now)
            PATHS[P_LAPSE] += 1

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
            assert not b.settled, "an awardee's bond is locked until it accepts"
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
                created=self.now,
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
            b.settled = True  # and so it leaves the competition (see BidModel.eligible)
            self.move(t.address, who, t.bond)
            if stage in (Stage.AWARDED, Stage.AWARD_LAPSED):
                PATHS[P_WITHDRAWN_DURING_AWARD] += b.valid
                if t.leader == who:  # a ranking round opens if the award lapses
                    t.leader, t.leader_price = ZERO, 0
                    PATHS[P_LEADER_LEFT] += 1

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
            return self.not_eligible(t, who, P_WITHDRAWN_AWARD)
        if who in self.members:  # a member would decide on its own contract
            return Fail("TenderBidderIsMember", {"bidder": who})
        if t.method == AwardMethod.LOWEST_PRICE and who != t.leader:
            return Fail("TenderNotLowestBid", {"bidder": who, "lowest": t.leader})

        def apply(receipt: Any) -> None:
            t.status, t.awardee, t.accept_deadline = "awarded", who, self.now + t.window

        return apply

    def disqualify(self, t: TenderModel, who: str) -> Outcome:
        fail = self._disqualify(t.clone(), who)  # tried on a copy: a refusal changes nothing
        if fail is not None:
            return fail

        def apply(receipt: Any) -> None:
            lapsed, awardee = t.stage(self.now) == Stage.AWARD_LAPSED, t.awardee
            assert self._disqualify(t, who) is None
            PATHS[P_DISQUALIFY_LAPSED] += lapsed
            PATHS[P_DISQUALIFY_AWARDEE] += who == awardee

        return apply

    def _disqualify(self, t: TenderModel, who: str) -> Fail | None:
        stage = t.stage(self.now)
        if stage == Stage.AWARD_LAPSED:
            # the lapse is recorded first, so the defaulting awardee's bond stays forfeited;
            # disqualifying that awardee then only records the reasons
            if t.lapse(self.now) == who:
                t.bids[who].disqualified = True
                return None
            stage = t.stage(self.now)  # what the rest is checked against (Failed, even)
        if stage not in (Stage.EVALUATION, Stage.RANKING, Stage.AWARDED):
            return Fail("TenderWrongStage", {"expected": Stage.EVALUATION, "actual": stage})
        if not t.bid(who).eligible:
            return Fail("TenderBidderNotEligible", {"bidder": who})
        t.bids[who].disqualified = True
        was_awardee, was_leader = t.awardee == who, t.leader == who
        if was_awardee:
            t.awardee, t.status = ZERO, "open"
        if was_leader:
            t.leader, t.leader_price = ZERO, 0
        # no ranking round while another bidder holds the award: it opens at the lapse
        if (was_awardee or was_leader) and t.status == "open" and t.leader == ZERO:
            t.open_ranking(self.now)
        return None

    def cancel(self, t: TenderModel) -> Outcome:
        stage = t.stage(self.now)
        if stage in (Stage.CONTRACTED, Stage.CANCELLED, Stage.FAILED):
            return Fail("TenderNotCancellable", {"stage": stage})

        def apply(receipt: Any) -> None:
            if stage == Stage.AWARD_LAPSED:  # the lapse first: the awardee's bond is forfeited
                t.lapse(self.now)
                PATHS[P_CANCEL_LAPSED] += 1
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
            # the supplier cannot deliver before funding: every due date moves with it
            PATHS[P_LATE_FUNDING] += self.now > min(a.dues)
            a.dues = [due + self.now - a.created for due in a.dues]

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
            PATHS[P_SUPPLIER_DISPUTE] += who == a.supplier

        return apply

    def accept(self, a: AgreementModel, index: int) -> Outcome:
        if fail := self._active(a) or a.milestone_error(index, M.SUBMITTED):
            return fail
        amount = a.amounts[index]
        paid, penalty, retention = a.split(amount, index)

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
        # the supplier's share pays retention and the late penalty as an acceptance would:
        # a dispute settles the work, not the calendar
        paid, penalty, retention = a.split(share, index)
        refunded = amount - share

        def apply(receipt: Any) -> None:
            a.states[index] = M.RESOLVED
            a.paid[index] = (paid, penalty, retention, refunded)
            a.escrowed -= amount
            a.retention += retention
            if paid:
                a.credit(a.supplier, paid)
            if penalty + refunded:
                a.credit(a.buyer, penalty + refunded)
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

    # ---------------------------------------------------------------- registry

    def create_tender(self, sender: str, token: str, spec: td.TenderSpec) -> Fail | None:
        """What ``Registry.createTender`` decides, in its order."""
        bidding, reveal, window = (
            spec.bidding_deadline,
            spec.reveal_deadline,
            spec.acceptance_window,
        )
        shares = [m.share_bps for m in spec.plan]
        if sender != self.buyer:
            return Fail("RegistryNotAgency", {"caller": sender})
        if token != spec.token:
            return Fail("RegistryTokenNotAccepted", {"token": spec.token, "accepted": token})
        if spec.budget == 0 or spec.bond == 0:
            return Fail("RegistryInvalidAmounts", {"budget": spec.budget, "bond": spec.bond})
        if spec.budget > self.cap:
            return Fail("RegistryBudgetAboveCap", {"budget": spec.budget, "cap": self.cap})
        if bidding <= self.now or reveal <= bidding:
            return Fail(
                "RegistryInvalidDeadlines",
                {"biddingDeadline": bidding, "revealDeadline": reveal, "now_": self.now},
            )
        if bidding - self.now < MIN_PERIOD:
            return Fail(
                "RegistryBiddingPeriodTooShort",
                {"period": bidding - self.now, "minimum": MIN_PERIOD},
            )
        if reveal - bidding < MIN_PERIOD:
            return Fail(
                "RegistryRevealPeriodTooShort", {"period": reveal - bidding, "minimum": MIN_PERIOD}
            )
        if window < MIN_PERIOD:
            return Fail(
                "RegistryAcceptanceWindowTooShort", {"window": window, "minimum": MIN_PERIOD}
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

    # ---------------------------------------------------------------- the consortium

    def governance_roles(self) -> int:
        """Every role some policy requires: what an action on the consortium itself needs."""
        roles = 0
        for required, _arg in self.policies.values():
            roles |= required
        return roles

    def holders(self, role: int) -> int:
        return sum(1 for r in self.members.values() if r & role)

    def declare(self, member: str, subject: str) -> Fail | None:
        """``declareConflict`` from ``member`` (None: it succeeds; apply with :meth:`declared`)."""
        if member not in self.members:
            return Fail("ConsortiumNotMember", {"account": member})
        if subject in (ZERO, self.consortium):
            return Fail("ConsortiumInvalidConflictSubject", {"subject": subject})
        subjects = self.conflicts.get(member, [])
        if subject in subjects:
            return Fail("ConsortiumConflictAlreadyDeclared", {"member": member, "subject": subject})
        if len(subjects) >= MAX_CONFLICTS:
            return Fail("ConsortiumTooManyConflicts", {"member": member, "max": MAX_CONFLICTS})
        return None

    def declared(self, member: str, subject: str) -> None:
        self.conflicts.setdefault(member, []).append(subject)

    def lift_conflict(self, member: str, subject: str) -> Outcome:
        subjects = self.conflicts.get(member, [])
        if subject not in subjects:
            return Fail("ConsortiumNoConflict", {"member": member, "subject": subject})

        def apply(receipt: Any) -> None:
            i = subjects.index(subject)  # EnumerableSet.remove: the last one takes its place
            last = subjects.pop()
            if i < len(subjects):
                subjects[i] = last

        return apply

    def _roles_left(self, previous: int, roles: int) -> Fail | None:
        """``_changeRoleHolders``: no role some policy requires may be left without holders."""
        required = self.governance_roles()
        for i in range(len(ROLE)):
            role = 1 << i
            if previous & role and not roles & role and self.holders(role) == 1 and required & role:
                return Fail("ConsortiumRoleStillRequired", {"role": role})
        return None

    def add_member(self, member: str, roles: int) -> Outcome:
        if member in (ZERO, self.consortium):
            return Fail("ConsortiumInvalidMember", {"account": member})
        if roles == 0 or roles & ~ALL_ROLES:
            return Fail("ConsortiumInvalidRoles", {"roles": roles})
        if member in self.members:
            return Fail("ConsortiumAlreadyMember", {"account": member})

        def apply(receipt: Any) -> None:
            self.members[member] = roles  # its old conflicts, if any, still stand

        return apply

    def remove_member(self, member: str) -> Outcome:
        if member not in self.members:
            return Fail("ConsortiumNotMember", {"account": member})
        if len(self.members) - 1 < self.threshold:
            return Fail(
                "ConsortiumThresholdUnreachable",
                {"threshold": self.threshold, "memberCountAfter": len(self.members) - 1},
            )
        if fail := self._roles_left(self.members[member], 0):
            return fail

        def apply(receipt: Any) -> None:
            del self.members[member]

        return apply

    def set_member_roles(self, member: str, roles: int) -> Outcome:
        if member not in self.members:
            return Fail("ConsortiumNotMember", {"account": member})
        if roles == 0 or roles & ~ALL_ROLES:
            return Fail("ConsortiumInvalidRoles", {"roles": roles})
        if fail := self._roles_left(self.members[member], roles):
            return fail

        def apply(receipt: Any) -> None:
            self.members[member] = roles

        return apply

    def set_threshold(self, threshold: int) -> Outcome:
        if threshold == 0 or threshold > len(self.members):
            return Fail(
                "ConsortiumInvalidThreshold",
                {"threshold": threshold, "memberCount": len(self.members)},
            )

        def apply(receipt: Any) -> None:
            self.threshold = threshold

        return apply

    def set_policy(self, sel: bytes, roles: int, subject_arg: int) -> Outcome:
        if roles & ~ALL_ROLES:
            return Fail("ConsortiumInvalidRoles", {"roles": roles})
        if subject_arg > 16:
            return Fail("ConsortiumInvalidSubjectArg", {"subjectArg": subject_arg})
        for i in range(len(ROLE)):
            if roles & (1 << i) and not self.holders(1 << i):
                return Fail("ConsortiumRoleUnfilled", {"role": 1 << i})

        def apply(receipt: Any) -> None:
            self.policies[sel] = (roles, subject_arg)

        return apply

    def requirements(self, target: str, data: bytes) -> tuple[int, str, str]:
        """The roles an action needs, the subject its policy names (or zero) and, for an
        action on the consortium itself, the member it names first (who does not count)."""
        required, arg = self.policies.get(bytes(data[:4]), (0, 0))
        subject = address_arg(data, arg)
        itself = ZERO
        if target == self.consortium:
            required |= self.governance_roles()
            itself = address_arg(data, 1)
            if bytes(data[:4]) == selector("liftConflict(address,address)"):
                subject = address_arg(data, 2)  # those in conflict with it do not count
        return required, subject, itself

    def party_among(self, target: str, candidates: list[str]) -> str | None:
        """A Tender's or an Agreement's ``partyAmong``: the first candidate taking part in
        that procurement (None for any other target)."""
        if a := self.agreements.get(target):
            # the contract's parties only: a losing bidder is no party of the winner's agreement
            parties = (a.address, a.buyer, a.supplier, a.tender.address)
            return next((c for c in candidates if c in parties), None)
        t = self.tender_at(target)
        if t is None:
            return None
        sealed = self.now <= t.reveal  # until then any committed bid competes, then valid ones
        for c in candidates:
            if c == ZERO:
                continue
            bid = t.bid(c)
            if c in (t.address, self.buyer, t.agreement) or bid.valid or (sealed and bid.committed):
                return c
        return None

    def recusal(self, member: str, target: str, subject: str) -> str | None:
        """``_checkRecusal``: the conflict that keeps ``member`` from counting, or None."""
        declared = self.conflicts.get(member, [])
        if not declared:
            return None
        if target in declared:
            return target
        if subject != ZERO and subject in declared:
            return subject
        if target == self.consortium:
            return None
        return self.party_among(target, declared)

    def authorize(self, signers: list[str], target: str, data: bytes) -> Fail | None:
        """What ``Consortium._authorize`` decides for these signers."""
        required, subject, itself = self.requirements(target, data)
        governance = target == self.consortium
        if len(signers) < self.threshold:
            return Fail(
                "ConsortiumBelowThreshold", {"signers": len(signers), "threshold": self.threshold}
            )
        present = 0
        for signer in sorted(signers, key=lambda a: int(a, 16)):
            if signer not in self.members:
                return Fail("ConsortiumNotMember", {"account": signer})
            if signer == itself:
                return Fail("ConsortiumSignerIsSubject", {"signer": signer}, P_GOVERNANCE_SUBJECT)
            if recused := self.recusal(signer, target, subject):
                a = self.agreements.get(target)
                via = a is not None and (recused == a.supplier or a.tender.bid(recused).committed)
                path = P_RECUSED_PARTY if via else ""
                return Fail("ConsortiumSignerRecused", {"signer": signer, "subject": recused}, path)
            present |= self.members[signer]
        policy = self.policies.get(bytes(data[:4]), (0, 0))[0]
        if present & policy != policy:
            path = P_GOVERNANCE_ROLES if governance else ""
            return Fail("ConsortiumMissingRoles", {"required": policy, "present": present}, path)
        # governance without its roles only by all members but one (and more than the threshold)
        override = max(self.threshold + 1, len(self.members) - 1)
        if present & required != required and len(signers) < override:
            path = P_GOVERNANCE_ROLES if governance else ""
            return Fail("ConsortiumMissingRoles", {"required": required, "present": present}, path)
        return None


def block_of(receipt: Any) -> int:
    """The block of an Ape receipt or of a raw JSON-RPC one."""
    if isinstance(receipt, dict):
        return int(receipt["blockNumber"], 16)
    return int(receipt.block_number)


def address_arg(data: bytes, k: int) -> str:
    """``Consortium._subjectFromArgs``: the ``k``-th static argument as an address."""
    end = 4 + 32 * k
    if not k or len(data) < end:
        return ZERO
    return to_checksum_address(bytes(data[end - 32 : end])[12:])


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
        manifest = read_manifest()
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
        "manifest": manifest,
    }


def test_lifecycle_invariants_hold_under_random_steps(suite, chain, accounts):
    rpc = Rpc(chain.provider.uri)
    token, registry, consortium = suite["token"], suite["registry"], suite["consortium"]
    actors = suite["actors"]
    addresses = {name: str(account.address) for name, account in actors.items()}
    names = {a: n for n, a in addresses.items()}
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

    # the chain-derived invariants (procurechain.invariants): one history of the deployment,
    # extended after every step (rewound to the snapshot when an example starts over)
    history = chain_invariants.ChainHistory.from_manifest(chain.provider.uri, suite["manifest"])
    history.extend()

    rpc.one("anvil_setBlockTimestampInterval", [0])
    snapshots = [chain.snapshot()]
    started = time.perf_counter()

    def finishing(method: Callable[..., Any]) -> Callable[..., Any]:
        """Marks the machine unfinished while ``method`` runs: when it raises, teardown does
        not audit (an exception there would replace the one that failed the example)."""

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.finished = False
            result = method(self, *args, **kwargs)
            self.finished = True
            return result

        return wrapper

    class Lifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            chain.restore(snapshots.pop())
            snapshots.append(chain.snapshot())
            head = chain.provider.web3.eth.get_block("latest")
            self.model = Model(int(head["timestamp"]), addresses, suite["cap"], consortium_address)
            self.block = int(head["number"])
            self.stages: dict[str, Stage] = {}
            self.statuses: dict[str, tuple[S, list[M]]] = {}
            self.sent = False  # whether this step changed the chain (else: no log allowed)
            self.steps = 0
            self.last_action: tuple[cs.Action, bytes] | None = None
            self.executed = 0  # the model's executions at the last check
            self.finished = True  # see finishing()
            TIMING["examples"] += 1

        # ------------------------------------------------------------ helpers

        def done(self, label: str, outcome: Outcome, send: Callable[[], Any]) -> Any:
            """Run a step the model expects to succeed and apply it to the model."""
            assert not isinstance(outcome, Fail)
            receipt = send()
            if isinstance(receipt, dict):  # sent raw (see quick)
                assert receipt["status"] == "0x1", (label, receipt)
            else:
                assert not getattr(receipt, "failed", False), label
            self.sent = True
            outcome(receipt)
            SUCCEEDED[label] += 1
            return receipt

        def refused(
            self, data: Any, fail: Fail, to: str, payload: str, sender: str, value: int = 0
        ) -> None:
            """The contract must revert with exactly ``fail``; sometimes mined to show it."""
            reply = rpc.call(to, payload, sender, value)
            assert "error" in reply, f"the model expected {fail}, but the call succeeds"
            raw = reply["error"].get("data")
            decoded = decode_revert(bytes.fromhex(raw[2:])) if isinstance(raw, str) else None
            if fail.name == "TenderPlanMismatch":  # a hash pair: the name is the point
                assert decoded and decoded[0] == fail.name, decoded
            else:
                assert fail.matches(decoded), f"expected {fail}, the chain said {decoded}"
            if rare(data, 4, "mine the refused transaction"):
                receipt = rpc.send(to, payload, sender, value)
                assert receipt["status"] == "0x0" and not receipt["logs"], receipt
            REFUSED[fail.name] += 1
            if fail.path:
                PATHS[fail.path] += 1

        def quick(self, label: str, outcome: Outcome, to: str, payload: str, sender: str) -> Any:
            """A step the model expects to succeed, sent as one raw transaction: the head start
            does this (Ape spends about 50 ms on a transaction, the library up to 200 ms on a
            bid with its checks; random steps go through both)."""
            return self.done(label, outcome, lambda: rpc.send(to, payload, sender))

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

        def new_tender(
            self, data: Any, valid: bool = False, method: AwardMethod | None = None
        ) -> None:
            """A tender with random parameters; sometimes ones the registry refuses (a sender
            that is no agency, a budget above the cap, no bond, a window below the minimum,
            another token, a broken plan), unless ``valid``."""
            m = self.model
            budgets = [1, 50_000 * DUSD, m.cap] + ([] if valid else [m.cap + 1])
            budget = data.draw(
                st.one_of(st.sampled_from(budgets), st.integers(1, min(m.cap, 100_000 * DUSD))),
                label="budget",
            )
            lowest = 1 if valid else 0  # a bond of zero is refused (RegistryInvalidAmounts)
            bond = data.draw(
                st.one_of(
                    st.sampled_from([lowest, 1, DUSD, 500 * DUSD]),
                    st.integers(lowest, 5_000 * DUSD),
                ),
                label="bond",
            )

            def period(label: str, longest: int) -> int:
                """At least the registry's minimum; now and then just below it (or zero)."""
                if not valid and rare(data, 12, f"short {label}"):
                    return data.draw(st.sampled_from([0, 1, MIN_PERIOD - 1]), label=label)
                return data.draw(
                    st.sampled_from([MIN_PERIOD, MIN_PERIOD + 1])
                    | st.integers(MIN_PERIOD, longest),
                    label=label,
                )

            bidding = m.now + period("bidding period", 10 * DAY)
            reveal = bidding + period("reveal period", 5 * DAY)
            window = period("acceptance window", 5 * DAY)
            weights = data.draw(st.lists(st.integers(1, 100), min_size=1, max_size=3), label="w")
            shares = [w * BPS // sum(weights) for w in weights]
            shares[-1] += BPS - sum(shares)
            if not valid and rare(data, 20, "broken plan"):
                shares[-1] += 1
            plan = tuple(
                td.Milestone(s, data.draw(st.integers(0, 60 * DAY)), keccak(text=f"m{i}"))
                for i, s in enumerate(shares)
            )
            if method is None:
                method = data.draw(st.sampled_from(list(AwardMethod)), label="method")
            terms = (
                data.draw(st.sampled_from([0, 500, 10_000]) | st.integers(0, BPS)),
                data.draw(st.sampled_from([0, DAY, 90 * DAY])),
                data.draw(st.sampled_from([0, 10, 333, 10_000])),
                data.draw(st.sampled_from([0, 1_000, 10_000])),
            )
            other_token = not valid and rare(data, 20, "another token")
            spec = td.TenderSpec(
                token=consortium_address if other_token else token_address,
                budget=budget,
                bond=bond,
                bidding_deadline=bidding,
                reveal_deadline=reveal,
                acceptance_window=window,
                notice="tender documents",
                plan=plan,
                method=method,
                retention_bps=terms[0],
                warranty_period=terms[1],
                late_penalty_bps_per_day=terms[2],
                late_penalty_cap_bps=terms[3],
            )
            sender = m.buyer if valid else self.actor(data, m.buyer)
            fail = m.create_tender(sender, token_address, spec)
            if fail is not None:
                payload = registry.createTender.encode_input(
                    spec.params(), spec.plan_tuples(), spec.notice
                )
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
                    window,
                    method,
                    terms,
                    plan,
                )
            )
            SUCCEEDED["createTender"] += 1
            self.sent = True

        @initialize(data=st.data())
        @finishing
        def first_tender(self, data):
            """A tender, and in most examples a head start (see :meth:`head_start`)."""
            head_start = not rare(data, 5, "no head start")
            method = AwardMethod.EVALUATION if head_start else None
            self.new_tender(data, valid=head_start, method=method)
            if head_start:
                clock = time.perf_counter()
                self.head_start(data)
                TIMING["head start s"] += time.perf_counter() - clock

        def head_start(self, data: Any) -> None:
            """The paths issue 13 found dangerous, each taken in every head start, step by
            step through the library (or the consortium) with the model checking each:

            1. a tender evaluated by the consortium, four bids revealed; an award, first
               refused for a flawed signer set, to a bidder that does not lead; the leader
               takes its bond back meanwhile (the lead is cleared); the award lapses and
               ``recordLapse`` opens a ranking round, in which the withdrawn bidder is
               refused a rank, and then the award; the next leader is awarded, lets that
               award lapse too, and is disqualified (the lapse recorded first); a last
               ranking round, an award, and the awardee accepts;
            2. the agreement is (mostly) funded after a due date has passed (due dates count
               from funding: no penalty for it), a first delivery, late or not, whose
               acceptance without the auditor is refused; a member conflicted with the supplier
               or a losing bidder is refused on the agreement; the supplier disputes its own
               delivery;
            3. a second tender, at the lowest price: an award, a losing bidder withdraws, the
               award lapses and the consortium cancels (the awardee's bond stays forfeited);
               a third, on which no decision comes: the evaluation period runs out;
            4. a governance change of each kind mid-flight, each first refused (signed by the
               member it names, or without the roles governance needs).

            Thirty random steps rarely get this far. Hypothesis mutates the random steps of an
            example and keeps its head start for the next few examples, so a seeded run of 50
            sees only about ten different head starts: a path left to one of their draws can
            be missing from a whole run (seen, more than once), hence the fixed sequence."""
            m = self.model
            t = m.tenders[0]
            self.bids_revealed(data, t, ("bidder_a", "bidder_b", "bidder_c", "stranger"))
            self.award_chain(data, t)
            # each move above was one documented edge; the invariant sees only where it ended
            self.stages[t.address] = t.stage(m.now)
            for method, bidders, plot in (
                (AwardMethod.LOWEST_PRICE, ("bidder_a", "bidder_b"), self.lapse_cancelled),
                (None, ("bidder_c",), self.stall),
            ):
                self.new_tender(data, valid=True, method=method)
                other = m.tenders[-1]
                self.bids_revealed(data, other, bidders)
                plot(data, other)
                self.stages[other.address] = other.stage(m.now)
            for kind in ("liftConflict", *GOVERNANCE):
                self.governance_head_start(data, kind)

        def bids_revealed(self, data: Any, t: TenderModel, bidders: tuple[str, ...]) -> None:
            """A valid bid from each of ``bidders`` (the library's salt and commitment), all
            revealed; the clock then at the first second of the evaluation."""
            m = self.model
            salts = {}
            for name in bidders:
                who = addresses[name]
                price = data.draw(st.integers(1, t.budget), label="head-start price")
                doc = keccak(text=f"bid of {who} #0")
                salts[who] = bid_salt(self.account(who), chain_id, t.address, 0)
                sealed = commitment(chain_id, t.address, who, price, salts[who], doc)
                payload = calldata("commitBid(bytes32)", sealed)
                self.quick("commitBid", m.commit(t, who, price, doc), t.address, payload, who)
            m.now = move_to(t.bidding + 1)
            for who, salt in salts.items():
                price, doc, _nonce = t.bids[who].secret
                payload = calldata("revealBid(uint256,bytes32,bytes32)", price, salt, doc)
                self.quick(
                    "revealBid", m.reveal(t, who, t.bids[who].secret), t.address, payload, who
                )
            m.now = move_to(t.reveal + 1)

        def stall(self, data: Any, t: TenderModel) -> None:
            """No award within the evaluation period: the tender fails, the bonds come back
            (on the deadline's last second they are still locked)."""
            m = self.model
            held = sorted(w for w, b in t.bids.items() if not b.settled)
            who = data.draw(st.sampled_from(held), label="bidder")
            m.now = move_to(t.evaluation_deadline)
            locked = m.withdraw_bond(t, who)
            assert isinstance(locked, Fail) and locked.name == "TenderBondLocked", locked
            self.refused(data, locked, t.address, calldata("withdrawBond()"), who)
            m.now = move_to(m.now + 1)
            assert t.stage(m.now) == Stage.FAILED and t.leader != ZERO
            PATHS[P_EVALUATION_OVER] += 1
            call = td.award_call(t.contract, t.leader, REASON)
            self.decide_or_refuse(data, "award", call, m.award(t, t.leader))
            self.withdraw(t, who)

        def award_flawed_first(self, data: Any, t: TenderModel, awardee: str) -> None:
            """The award of ``awardee``, first with a signer set the consortium must refuse
            (each kind is certain to occur in a seeded run, whatever the random steps draw)."""
            m = self.model
            call = td.award_call(t.contract, awardee, REASON)
            flaw = data.draw(st.sampled_from(["recused", "stranger", "few"]), label="flaw")
            if flaw == "recused":
                self.declare(addresses["technical"], awardee)
            unfit = {
                "few": ["agency", "auditor"],
                "stranger": ["agency", "auditor", "stranger"],
                "recused": ["agency", "technical", "legal"],
            }[flaw]
            self.refused_decision(data, call, [addresses[n] for n in unfit])
            self.decide("award", call, m.award(t, awardee))

        def withdraw(self, t: TenderModel, who: str) -> None:
            outcome = self.model.withdraw_bond(t, who)
            self.quick("withdrawBond", outcome, t.address, calldata("withdrawBond()"), who)

        def award_chain(self, data: Any, t: TenderModel) -> None:
            """Part 1 of :meth:`head_start`: a tender evaluated by the consortium (the kind
            whose award may go to a bidder that does not lead)."""
            m = self.model
            stranger = addresses["stranger"]
            leader = t.leader
            awardee = data.draw(st.sampled_from(sorted(set(t.bids) - {leader})), label="awardee")
            self.award_flawed_first(data, t, awardee)
            # the leader takes its bond back while another holds the award: it leaves the
            # competition (issue 13: it was refunded a second time on its own acceptance)
            self.withdraw(t, leader)
            self.lapse(data, t)
            payload = calldata("recordLapse()")
            self.quick("recordLapse", m.record_lapse(t), t.address, payload, stranger)
            self.ranking(data, t, leader)
            refusal = m.award(t, leader)
            assert isinstance(refusal, Fail), refusal
            call = td.award_call(t.contract, leader, REASON)
            self.refused_decision(data, call, self.good_signers(call), refusal)
            second = t.leader
            self.decide("award", td.award_call(t.contract, second, REASON), m.award(t, second))
            self.lapse(data, t)
            # disqualifying the lapsed awardee records the lapse first: its bond is forfeited
            call = td.disqualify_call(t.contract, second, REASON)
            self.decide("disqualify", call, m.disqualify(t, second))
            self.ranking(data, t, leader)
            last = t.leader
            self.decide("award", td.award_call(t.contract, last, REASON), m.award(t, last))
            self.contract(data, t)

        def ranking(self, data: Any, t: TenderModel, withdrawn: str) -> None:
            """A ranking round: the withdrawn bidder is refused, whoever is left claims."""
            m = self.model
            assert t.stage(m.now) == Stage.RANKING, t.stage(m.now)
            stranger = addresses["stranger"]
            claim = m.claim_rank(t, withdrawn)
            assert isinstance(claim, Fail) and claim.path, claim
            payload = calldata("claimRank(address)", withdrawn)
            self.refused(data, claim, t.address, payload, addresses["stranger"])
            for who in sorted(w for w, b in t.bids.items() if b.eligible):
                payload = calldata("claimRank(address)", who)
                self.quick("claimRank", m.claim_rank(t, who), t.address, payload, stranger)
            m.now = move_to(t.ranking_deadline + 1)

        def lapse_cancelled(self, data: Any, t: TenderModel) -> None:
            """Part 3 of :meth:`head_start`: the award lapses and the consortium cancels."""
            m = self.model
            awardee = t.leader
            self.award_flawed_first(data, t, awardee)
            self.withdraw(t, next(w for w in sorted(t.bids) if w != awardee))
            self.lapse(data, t)
            self.decide("cancel", td.cancel_call(t.contract, REASON), m.cancel(t))
            withdraw = m.withdraw_bond(t, awardee)
            assert isinstance(withdraw, Fail), withdraw
            self.refused(data, withdraw, t.address, calldata("withdrawBond()"), awardee)
            payload = calldata("claimForfeitedBond(address)", awardee)
            outcome = m.claim_forfeited(t, awardee)
            self.quick("claimForfeitedBond", outcome, t.address, payload, addresses["stranger"])

        def lapse(self, data: Any, t: TenderModel) -> None:
            """The awardee lets its acceptance window pass."""
            m = self.model
            m.now = move_to(t.accept_deadline + data.draw(st.integers(1, DAY), label="after"))
            accept = t.contract.acceptAward.encode_input([p.as_tuple() for p in t.plan])
            fail = m.accept_award(t, t.awardee, True)
            assert isinstance(fail, Fail), fail
            self.refused(data, fail, t.address, "0x" + bytes(accept).hex(), t.awardee)

        def contract(self, data: Any, t: TenderModel) -> None:
            """Part 2 of :meth:`head_start`: the awardee accepts; the agreement's first steps."""
            m = self.model
            supplier = t.awardee
            accept = t.contract.acceptAward.encode_input([p.as_tuple() for p in t.plan])
            outcome = m.accept_award(t, supplier, True)
            self.quick("acceptAward", outcome, t.address, "0x" + bytes(accept).hex(), supplier)
            a = m.agreements[t.agreement]
            if rare(data, 8, "left unfunded"):
                self.recused_on_agreement(data, a)
                return
            # after a due date: due dates count from funding, so no penalty for the delay
            m.now = move_to(min(a.dues) + data.draw(st.integers(1, 5 * DAY), label="late"))
            payload = calldata("fund(uint256)", a.price)
            self.quick("fund", m.fund(a, m.buyer), a.address, payload, m.buyer)
            if rare(data, 8, "nothing delivered yet"):
                self.recused_on_agreement(data, a)
                return
            if data.draw(st.booleans(), label="late delivery"):
                late = data.draw(st.integers(1, 3 * DAY), label="late by")
                m.now = move_to(max(m.now, a.dues[0]) + late)
            payload = calldata("submit(uint256,bytes32,string)", 0, EVIDENCE, "ipfs://e")
            self.quick("submit", m.submit(a, a.supplier, 0), a.address, payload, a.supplier)
            no_auditor = [addresses[n] for n in ("agency", "citizen", "legal")]
            self.refused_decision(data, call_of(a.contract, "acceptMilestone", 0), no_auditor)
            self.recused_on_agreement(data, a)
            # the supplier disputes its own delivery (issue 13: a quorum without the auditor
            # then paid it in full, the late penalty waived); random steps then accept,
            # reject or resolve it, and disputes by the buyer come from random steps
            payload = calldata("dispute(uint256,bytes32)", 0, REASON)
            self.quick("dispute", m.dispute(a, a.supplier, 0), a.address, payload, a.supplier)
            # documented edges (submitted, then disputed): record where they ended
            self.statuses[a.address] = (a.status, list(a.states))

        def recused_on_agreement(self, data: Any, a: AgreementModel) -> None:
            """A member declares a conflict with the supplier (or the tender): it is then
            recused from the agreement's decisions too, which never name either (issue 13). A
            conflict with a losing bidder does not reach the agreement (second reading)."""
            member = addresses[data.draw(st.sampled_from(["citizen", "technical"]), label="m")]
            subject = data.draw(st.sampled_from([a.supplier, a.tender.address]), label="with")
            self.declare(member, subject)
            if M.SUBMITTED in a.states:
                call = call_of(a.contract, "acceptMilestone", a.states.index(M.SUBMITTED))
            else:
                call = call_of(a.contract, "terminate", REASON)
            good = self.good_signers(call)
            self.refused_decision(data, call, sorted({*good[:2], member}))

        def governance_head_start(self, data: Any, kind: str) -> None:
            """A governance change while the procurement runs, first refused: signed by the
            member it names, or without the roles governance needs."""
            m = self.model
            kind, call, outcome = self.governance(data, (kind,))
            itself = address_arg(call.data, 1)
            if itself in m.members and data.draw(st.booleans(), label="signed by its subject"):
                signers = sorted({*self.good_signers(call), itself})
            else:  # members without the auditor's and the legal expert's roles
                lacking = m.governance_roles()
                signers = [a for a in m.members if not m.members[a] & lacking][: m.threshold]
            if m.authorize(signers, call.target, call.data) is not None:
                self.refused_decision(data, call, signers)
            self.decide_or_refuse(data, kind, call, outcome)

        def declare(self, member: str, subject: str) -> None:
            """``member`` declares a conflict with ``subject`` (if it may)."""
            m = self.model
            if m.declare(member, subject) is None:
                consortium.declareConflict(subject, REASON, sender=self.account(member))
                m.declared(member, subject)
                SUCCEEDED["declareConflict"] += 1
                self.sent = True

        def good_signers(self, call: Call) -> list[str]:
            """Members who should pass together: none recused or named by the action, every
            required role present, at least the threshold (fewer if too few are left)."""
            m = self.model
            required, subject, itself = m.requirements(call.target, call.data)
            free = [
                a
                for a in sorted(m.members, key=lambda a: int(a, 16))
                if a != itself and not m.recusal(a, call.target, subject)
            ]
            chosen: list[str] = []
            for i in range(len(ROLE)):
                role = 1 << i
                if required & role and not any(m.members[c] & role for c in chosen):
                    chosen += [a for a in free if m.members[a] & role][:1]
            chosen += [a for a in free if a not in chosen][: max(0, m.threshold - len(chosen))]
            return sorted(chosen, key=lambda a: int(a, 16))

        def refused_decision(
            self, data: Any, call: Call, signers: list[str], inner: Fail | None = None
        ) -> None:
            """A decision signed by ``signers`` that the consortium refuses (or whose call
            fails with ``inner``)."""
            m = self.model
            fail = m.authorize(signers, call.target, call.data) or inner
            assert fail is not None, f"{signers} should not be enough for {call.description}"
            action = cs.Action(call.target, call.value, call.data, m.next_nonce(), m.now + DAY)
            proposal = cs.Proposal(chain_id, consortium_address, action, call.description)
            message = proposal.action.signable(chain_id, consortium_address)
            for signer in signers:
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, signers)
            payload = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
            sender = addresses["agency"]
            self.refused(data, fail, consortium_address, "0x" + bytes(payload).hex(), sender)

        def decide_or_refuse(self, data: Any, kind: str, call: Call, outcome: Outcome) -> None:
            """The decision, signed by a set that should pass: made, or refused as predicted."""
            signers = self.good_signers(call)
            fail = self.model.authorize(signers, call.target, call.data)
            if fail is not None or isinstance(outcome, Fail):
                self.refused_decision(data, call, signers, outcome if fail is None else None)
                return
            self.decide(kind, call, outcome, signers)

        def decide(
            self,
            kind: str,
            call: Call,
            outcome: Outcome,
            signers: list[str] | None = None,
            sender: Any = None,
        ) -> Any:
            """Execute a decision the model expects to pass, signed by ``signers``."""
            m = self.model
            signers = self.good_signers(call) if signers is None else signers
            assert m.authorize(signers, call.target, call.data) is None, (kind, signers)
            # the library's proposal, signatures and packing; the nonce is the model's
            action = cs.Action(call.target, call.value, call.data, m.next_nonce(), m.now + DAY)
            proposal = cs.Proposal(chain_id, consortium_address, action, call.description)
            message = proposal.action.signable(chain_id, consortium_address)
            for signer in signers:
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, signers)
            payload = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
            receipt = self.quick(
                kind,
                outcome,
                consortium_address,
                "0x" + bytes(payload).hex(),
                sender or addresses["agency"],
            )
            m.nonces.add(proposal.action.nonce)
            m.executed += 1
            self.last_action = (proposal.action, packed)
            return receipt

        @rule(data=st.data())
        @finishing
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
            if m.tenders and sum(len(c) for c in m.conflicts.values()) < 4:
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
        @finishing
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
            t = self.tender(
                data,
                Stage.CONTRACTED,
                Stage.CANCELLED,
                Stage.FAILED,
                Stage.AWARDED,
                Stage.AWARD_LAPSED,
            )
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
            if rare(data, 4, "any bidder"):  # a withdrawn one, say: it left the competition
                eligible = []
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
                if t.stage(m.now) in (Stage.EVALUATION, Stage.AWARD_LAPSED):
                    marks.append(t.evaluation_deadline)
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
            """A member (or not) declares a conflict with a bidder, a tender, an agreement or
            the buying agency."""
            m = self.model
            who = addresses[data.draw(st.sampled_from([*MEMBERS, "stranger"]), label="member")]
            subjects = [addresses[b] for b in BIDDERS] + [t.address for t in m.tenders]
            subjects += [*m.agreements, m.buyer]
            subject = data.draw(st.sampled_from(subjects), label="subject")
            fail = m.declare(who, subject)
            if fail is None:
                self.declare(who, subject)
                return
            payload = calldata("declareConflict(address,bytes32)", subject, REASON)
            self.refused(data, fail, consortium_address, payload, who)

        def governance(
            self, data: Any, kinds: tuple[str, ...] = (*GOVERNANCE, "liftConflict")
        ) -> tuple[str, Call, Outcome]:
            """A change of the consortium itself (one of ``kinds``): roles, threshold, members,
            policies, or a conflict lifted; mostly one it accepts."""
            m = self.model
            lifts = [(member, s) for member, subjects in m.conflicts.items() for s in subjects]
            if not lifts and len(kinds) > 1:
                kinds = tuple(k for k in kinds if k != "liftConflict")
            kind = data.draw(st.sampled_from(kinds), label="governance")
            candidates = [addresses[n] for n in (*MEMBERS, "stranger")]
            if kind == "liftConflict":
                if not lifts or rare(data, 6, "no such conflict"):
                    member = data.draw(st.sampled_from(candidates), label="member")
                    subject = data.draw(st.sampled_from(candidates), label="subject")
                else:
                    member, subject = data.draw(st.sampled_from(lifts), label="conflict")
                outcome = m.lift_conflict(member, subject)
                return kind, call_of(consortium, kind, member, subject), outcome
            if kind == "setThreshold":
                options = [m.threshold - 1, m.threshold + 1, 2, 3, 4]
                if rare(data, 6, "impossible threshold"):
                    options = [0, len(m.members) + 1]
                threshold = data.draw(st.sampled_from(options), label="threshold")
                return kind, call_of(consortium, kind, threshold), m.set_threshold(threshold)
            if kind == "setPolicy":
                function = data.draw(st.sampled_from(sorted(POLICY_FLOORS)), label="function")
                sel = selector(function)
                current, arg = m.policies.get(sel, (0, 0))
                extra = data.draw(
                    st.sampled_from([0, current, *(1 << i for i in range(len(ROLE)))]),
                    label="roles",
                )
                roles = POLICY_FLOORS[function] | extra
                if rare(data, 6, "invalid policy"):
                    roles, arg = data.draw(
                        st.sampled_from([(roles | 1 << len(ROLE), arg), (roles, 17)]),
                        label="invalid",
                    )
                outcome = m.set_policy(sel, roles, arg)
                return kind, call_of(consortium, kind, sel, roles, arg), outcome
            if kind == "addMember":
                # never a supplier: admitted by every required role, it could sign its own
                # payments (a colluding quorum; the chain check's d.self reports it)
                suppliers = {a.supplier for a in m.agreements.values()}
                candidates = [a for a in candidates if a not in suppliers]
                outsiders = [a for a in candidates if a not in m.members]
                if outsiders and not rare(data, 5, "a member already"):
                    candidates = outsiders
                if rare(data, 10, "zero address"):
                    candidates = [ZERO]
            member = data.draw(st.sampled_from(candidates), label="member")
            if kind == "removeMember":
                return kind, call_of(consortium, kind, member), m.remove_member(member)
            held = m.members.get(member, 0)
            roles = data.draw(
                st.sampled_from([held | 1 << i for i in range(len(ROLE))] + [1 << 1, 1 << 4])
                | st.integers(1, ALL_ROLES),
                label="roles",
            )
            if rare(data, 10, "invalid roles"):
                roles = data.draw(st.sampled_from([0, 1 << len(ROLE)]), label="roles")
            if kind == "addMember":
                return kind, call_of(consortium, kind, member, roles), m.add_member(member, roles)
            return kind, call_of(consortium, kind, member, roles), m.set_member_roles(member, roles)

        def decision(self, data: Any) -> tuple[str, Call, Outcome]:
            """A consortium decision: (function, call, the model's outcome)."""
            m = self.model
            kinds = ["cancel", "award", "award", "disqualify", "raisePhaseCap"]
            kinds += ["governance"] * 3
            if m.agreements:
                kinds += ["acceptMilestone", "rejectMilestone", "resolveDispute"]
                kinds += ["claimWarranty", "terminate"]
            promising = self.promising()
            if promising and not rare(data, 4, "promising"):
                kinds = promising
            kind = data.draw(st.sampled_from(kinds), label="decision")
            if kind == "governance":
                return self.governance(data)
            if kind in ("award", "disqualify", "cancel"):
                t = self.tender(
                    data, Stage.EVALUATION, Stage.RANKING, Stage.AWARDED, Stage.AWARD_LAPSED
                )
                if kind == "cancel":
                    return kind, td.cancel_call(t.contract, REASON), m.cancel(t)
                eligible = [w for w, b in t.bids.items() if b.eligible]
                if t.awardee != ZERO and not rare(data, 3, "awardee"):
                    who = t.awardee
                elif t.leader != ZERO and not rare(data, 3, "leader"):
                    who = t.leader
                elif eligible and data.draw(st.booleans(), label="eligible"):
                    who = data.draw(st.sampled_from(eligible), label="bidder")
                else:
                    who = addresses[data.draw(st.sampled_from(BIDDERS), label="bidder")]
                if kind == "award":
                    return kind, td.award_call(t.contract, who, REASON), m.award(t, who)
                return kind, td.disqualify_call(t.contract, who, REASON), m.disqualify(t, who)
            if kind == "raisePhaseCap":
                cap = m.cap + data.draw(st.sampled_from([0, 1, 100_000 * DUSD]), label="raise")
                return kind, call_of(registry, kind, cap), m.raise_cap(cap)
            wanted = {"acceptMilestone": M.SUBMITTED, "rejectMilestone": M.SUBMITTED}.get(
                kind, M.DISPUTED if kind == "resolveDispute" else None
            )
            a = self.agreement(
                data, lambda a: a.status == S.ACTIVE and (wanted is None or wanted in a.states)
            )
            if kind == "terminate":
                return kind, call_of(a.contract, kind, REASON), m.terminate(a)
            if kind == "claimWarranty":
                amount = data.draw(
                    st.sampled_from([0, 1, a.retention, a.retention + 1, max(1, a.retention // 2)]),
                    label="claim",
                )
                outcome = m.claim_warranty(a, amount)
                return kind, call_of(a.contract, kind, amount, REASON), outcome
            states = {"acceptMilestone": M.SUBMITTED, "rejectMilestone": M.SUBMITTED}
            index = self.milestone(data, a, states.get(kind, M.DISPUTED))
            if kind == "acceptMilestone":
                outcome = m.accept(a, index)
                call = (
                    ag.accept_call(a.contract, index)
                    if not isinstance(outcome, Fail)
                    else call_of(a.contract, kind, index)
                )
                return kind, call, outcome
            if kind == "rejectMilestone":
                return kind, call_of(a.contract, kind, index, REASON), m.reject(a, index)
            bps = data.draw(
                st.sampled_from([0, 5_000, BPS, BPS + 1]) | st.integers(0, BPS), label="bps"
            )
            outcome = m.resolve(a, index, bps)
            call = (
                ag.resolve_call(a.contract, index, bps, REASON)
                if not isinstance(outcome, Fail)
                else call_of(a.contract, kind, index, bps, REASON)
            )
            return kind, call, outcome

        def promising(self) -> list[str]:
            """Decisions that would move something forward now (the usual ones repeated)."""
            m = self.model
            stages = {t.stage(m.now) for t in m.tenders}
            kinds = []
            if Stage.EVALUATION in stages:
                kinds += ["award"] * 4 + ["disqualify"]
            if Stage.AWARD_LAPSED in stages:  # the lapse is recorded first
                kinds += ["cancel", "disqualify"]
            states = [s for a in m.agreements.values() if a.status == S.ACTIVE for s in a.states]
            if M.SUBMITTED in states:
                kinds += ["acceptMilestone"] * 4 + ["rejectMilestone"]
            if M.DISPUTED in states:
                kinds += ["resolveDispute"] * 3
            if any(a.retention and a.status == S.ACTIVE for a in m.agreements.values()):
                kinds += ["claimWarranty"]
            return kinds

        def signers(self, data: Any, call: Call) -> list[str]:
            """Mostly a set that should pass (required roles, enough members neither recused
            nor named by the action); otherwise any set of members and the stranger (too few,
            wrong roles, recused, the member the action names)."""
            m = self.model
            if rare(data, 4, "random signers"):
                pool = [addresses[n] for n in (*MEMBERS, "stranger")]
                chosen = data.draw(st.sets(st.sampled_from(pool), min_size=1, max_size=6))
                return sorted(chosen)
            required, subject, itself = m.requirements(call.target, call.data)
            members = sorted(m.members)
            free = [a for a in members if a != itself and not m.recusal(a, call.target, subject)]
            chosen = {a for a in free if m.members[a] & required}
            if required and rare(data, 5, "without the required role"):
                free, chosen = [a for a in free if not m.members[a] & required], set()
            order = data.draw(st.permutations(free), label="signer order")
            size = data.draw(st.integers(m.threshold, m.threshold + 1), label="signers")
            for a in order:
                if len(chosen) >= size:
                    break
                chosen.add(a)
            recused = [a for a in members if m.recusal(a, call.target, subject)]
            if recused and rare(data, 3, "with a recused member"):
                chosen.add(data.draw(st.sampled_from(recused), label="recused member"))
            if itself in m.members and rare(data, 3, "with the member it names"):
                chosen.add(itself)
            return sorted(chosen)

        def consortium_decides(self, data: Any) -> None:
            m = self.model
            kind, call, inner = self.decision(data)
            signers = self.signers(data, call)
            variant = data.draw(
                st.sampled_from(
                    ["normal"] * 14 + ["expired", "replay", "direct", "direct", "no code", "value"]
                ),
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
            if variant == "no code":  # the call aimed at an account without code
                call = dataclasses.replace(call, target=addresses["stranger"])
            deadline = m.now - 1 if variant == "expired" else None
            proposal = cs.propose(consortium, call, deadline=deadline)
            assert proposal.action.nonce == m.next_nonce()
            message = proposal.action.signable(chain_id, consortium_address)
            approve = rare(data, 10, "on-chain approval")
            approved = False
            for signer in signers:
                if approve and not approved and signer in m.members:
                    cs.approve(proposal, consortium, self.account(signer))
                    approved = True  # one on-chain approval, the rest signatures
                    continue
                signature = self.account(signer).sign_message(message)
                proposal.signatures[signer] = cs.signature_bytes(signature)
            packed = cs.pack_signatures(proposal, signers)
            sender = addresses[data.draw(st.sampled_from(ACTORS), label="executor")]
            value = 0
            if variant == "expired":
                fail: Fail | None = Fail(
                    "ConsortiumActionExpired", {"deadline": m.now - 1, "now_": m.now}
                )
            elif variant == "value":  # ether sent along that the action does not carry
                value = data.draw(st.sampled_from([1, 10**18]), label="value")
                fail = Fail("ConsortiumValueMismatch", {"sent": value, "value": 0})
            elif variant == "no code":
                fail = Fail("ConsortiumTargetNotContract", {"target": call.target})
            else:
                fail = m.authorize(signers, call.target, call.data)
            if fail is None and isinstance(inner, Fail):
                fail = inner
            payload = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
            if fail is not None:
                payload_hex = "0x" + bytes(payload).hex()
                self.refused(data, fail, consortium_address, payload_hex, sender, value)
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
        @finishing
        def the_chain_breaks_no_invariant(self):
            """The invariants computed from the chain alone, independent of the model
            (``procurechain.invariants``: bonds held and settled once, agreement money,
            quorum, roles and recusal of every payment and governance change, no penalty
            for late funding): the history is extended by this step's blocks, then checked."""
            clock = time.perf_counter()
            history.extend()
            TIMING["chain history s"] += time.perf_counter() - clock
            clock = time.perf_counter()
            violations = chain_invariants.check(history)
            TIMING["chain check s"] += time.perf_counter() - clock
            assert not violations, "\n".join(map(str, violations))

        @invariant()
        @finishing
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
            threshold = read(consortium_address, "threshold()", ["uint256"])
            members = {
                a: read(consortium_address, "memberInfo(address)", ["bool", "uint8", "uint32"], a)
                for a in (addresses[n] for n in (*MEMBERS, "stranger"))
            }
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
            assert values[threshold] == m.threshold
            for who, index in members.items():
                held = (who in m.members, m.members.get(who, 0), len(m.conflicts.get(who, [])))
                assert values[index] == held, names[who]

            # 2. + 3. what each tender and agreement holds and where it stands
            for t, views, bids in tender_reads:
                stage = Stage(values[views[0]])
                assert stage == t.stage(m.now), (t.id, stage, t.stage(m.now))
                previous = self.stages.get(t.address, Stage.BIDDING)
                assert stage == previous or stage in STAGE_MOVES[previous], (previous, stage)
                if stage == Stage.FAILED != previous and t.leader != ZERO:
                    PATHS[P_EVALUATION_OVER] += 1  # not for want of a bid: nobody decided
                self.stages[t.address] = stage
                assert values[views[1]] == (t.leader, t.leader_price)
                assert values[views[2]] == (t.awardee, t.accept_deadline)
                assert values[views[3]] == t.ranking_deadline
                assert values[views[4]] == t.cancelled_at
                assert values[views[5]] == t.agreement
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

            # 4. nothing privileged happened but through the consortium
            self.check_privileged(logs)
            self.block = int(head["number"], 16)
            TIMING["invariant s"] += time.perf_counter() - clock

            # 5. the events replayed say what the views say (every AUDIT_EVERY steps)
            self.steps += 1
            if AUDIT_EVERY and self.steps % AUDIT_EVERY == 0:
                self.audit()

        def check_privileged(self, logs: list[dict[str, Any]]) -> None:
            executed = self.executed
            if not self.sent:
                assert not logs, "a refused step left logs behind"
            self.sent = False
            by_tx: dict[str, list[dict[str, Any]]] = {}
            for log in logs:
                by_tx.setdefault(log["transactionHash"], []).append(log)
            executions, self.executed = 0, self.model.executed
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
            assert executions == self.model.executed - executed, "executions the model missed"

        def check_authorised(self, log: dict[str, Any], name: str, tx_logs: list) -> None:
            """A privileged event follows, in its transaction, the consortium's execution of
            that function on its emitter (who signed it, and whether they could, is for the
            chain-derived check)."""
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
                    return
            raise AssertionError(f"{name} from {emitter} without a consortium execution")

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
            if self.finished:  # after a failure the audit would only hide it
                self.audit()

    try:
        run_state_machine_as_test(Lifecycle, settings=SETTINGS)
    finally:
        rpc.one("anvil_removeBlockTimestampInterval", [])
        TIMING["total s"] = time.perf_counter() - started
        print("\nsucceeded:", dict(sorted(SUCCEEDED.items())))
        print("refused:", dict(sorted(REFUSED.items())))
        print("steps:", dict(sorted(STEPS.items())))
        print("paths:", dict(sorted(PATHS.items())))
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
        # issue 13's dangerous paths and governance mid-flight, each a few times at least
        taken = {p: PATHS[p] for p in DANGEROUS_PATHS}
        taken |= {f: SUCCEEDED[f] for f in (*GOVERNANCE, "liftConflict")}
        taken |= {e: REFUSED[e] for e in ("ConsortiumSignerIsSubject", "ConsortiumMissingRoles")}
        rare_paths = {p: n for p, n in taken.items() if n < FEW}
        assert not rare_paths, f"taken fewer than {FEW} times: {rare_paths}"
