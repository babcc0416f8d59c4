"""Issue 13 (outside review of c654690): every finding, attacked as an attacker would.

The suite is deployed once per module, for real (``deploy_suite(devnet_config())``: dUSD,
Agreement implementation, Consortium 3 of 5 with the default policies, Registry, the agency
admitted by a signed decision); Ape's chain isolation gives every test that state back, and
each test publishes and drives its own tender (two module fixtures hold a contracted one).
Consortium decisions are real EIP-712 signatures (``procurechain.consortium`` propose/sign)
sent straight to ``Consortium.execute`` with every signature in the bundle, as anybody can
send them (the library's own pre-checks, which leave recused or former members out, are not
an attacker's). Every refusal is checked by error name
and every argument (``reverts``, decoding nested errors too); money is checked from the chain:
token balances, credits and logs (``assert_bonds_sound``: a tender holds exactly its
deposits minus its payouts, from Transfer logs; no bidder's bond leaves twice).

Results at 48f9546 ("new") and on the contracts of c654690 ("old": contracts/ checked out
from c654690 into a scratch copy; the one adjustment is deploy.py's Registry constructor
call, which lost its token argument; the library is otherwise today's, so the deployment has
today's default policies, resolveDispute needing AUDITOR|LEGAL). "no revert" = the attack
went through at the line that expects the refusal.

High - a bond refunded twice
  test_high_withdrawn_bidder_cannot_be_awarded_and_paid_its_bond_twice
    review's route (A awarded, B withdraws, A lapses, ranking): claimRank(B) and award(B)
    -> TenderBidderNotEligible(B); C wins; A forfeits; tender empty, each bond out once.
    new: pass. old: no revert at claimRank(B) (continued by hand on old: B is awarded, paid
    its bond again, and the buyer's claim of A's forfeited bond fails with
    ERC20InsufficientBalance(0, 500 dUSD)).
  test_high_withdrawn_bidder_cannot_return_through_disqualifying_the_awardee
    B withdraws, A (awardee) disqualified -> ranking; claimRank(B) -> TenderBidderNotEligible.
    new: pass. old: no revert at claimRank(B).
  test_high_evaluation_method_cannot_award_a_bidder_that_withdrew_its_bond
    Evaluation method, C awarded, B withdraws, C lapses: award(B) -> TenderBidderNotEligible.
    new: pass. old: no revert (B is awarded).
  test_high_withdrawn_bidder_cannot_be_awarded_and_lapse_for_free
    the leader (A) and B withdraw during C's award: the lead is cleared, C's lapse opens a
    ranking neither may claim, the tender fails; only C (bond at stake) was ever awarded.
    new: pass. old: fails, the leader is not cleared (A, 40,000 dUSD still leads; on old
    the consortium can award A, which lapses with nothing to forfeit).
Medium - recusal stops at the contract
  test_medium_recusal_follows_the_conflicted_bidder_to_its_agreement[acceptMilestone,
  resolveDispute, claimWarranty, terminate]
    member in conflict with bidder A signs a decision on A's Agreement ->
    ConsortiumSignerRecused(technical, A); balance and credits unchanged, nonce free; the
    library names the same recusal; without it the decision passes.
    new: pass (4). old: no revert (4).
  test_medium_a_conflict_with_any_party_recuses_from_the_tender_and_its_agreement[tender,
  buyer, agreement]
    a conflict with the tender / buying agency / agreement recuses on the tender and on the
    agreement (ConsortiumSignerRecused naming that party).
    new: pass (3). old: [tender] no revert; [buyer], [agreement]: the signer set passed
    authorization and the Tender's own stage check answered (TenderWrongStage).
Medium - the auditor's side doors
  test_medium_supplier_disputing_its_own_late_delivery_needs_the_auditor_and_pays_penalty
    (a) supplier delivers 10 days late, disputes itself; resolveDispute(100%) without the
    auditor -> ConsortiumMissingRoles(18, 21); with it, the 10% penalty goes to the buyer.
    new: pass. old: the refusal holds only because today's default policy is deployed; then
    the supplier is paid 7,600 dUSD instead of 6,800 (penalty waived).
  test_medium_deploy_refuses_a_dispute_policy_weaker_than_acceptance
    deploy_suite with resolveDispute needing only LEGAL -> ProcurechainError, no transaction.
    new: pass. old: pass (a library check; contracts not involved).
  test_medium_quorum_without_the_auditor_cannot_make_itself_an_auditor
    (b) setMemberRoles / setPolicy / addMember without the auditor ->
    ConsortiumMissingRoles(18, 21); the promoted member signing for itself ->
    ConsortiumSignerIsSubject; acceptance by the would-be auditor -> MissingRoles(2, 13).
    new: pass. old: no revert (the technical expert becomes an auditor).
Medium - late funding, phase cap
  test_medium_buyer_funding_ten_days_late_does_not_penalise_the_supplier
    fund 10 days after milestone 0 was due, deliver at once: daysLate 0, penalty 0, buyer
    credited nothing; every due date moved by the funding delay.
    new: pass. old: fails (daysLate 10, and a 10% penalty for the buyer).
  test_medium_phase_cap_cannot_be_dodged_with_a_two_decimal_token
    a tender in the agency's own 2-decimal token, budget = cap in base units ->
    RegistryTokenNotAccepted(cent, dUSD); no tender created.
    new: pass. old: no revert (10^9 whole tokens under a 100,000 dUSD cap).
Low
  test_low_cancelling_during_the_award_lapse_keeps_the_defaulting_awardees_bond_forfeited
    cancel in AwardLapsed records the lapse first (AwardLapsed, RankingOpened,
    TenderCancelled); A's withdrawBond -> TenderBondForfeited; the buyer gets it.
    new: pass. old: fails (only TenderCancelled: A would take its bond back).
  test_low_disqualifying_during_the_award_lapse_keeps_the_defaulting_awardees_bond_forfeited[
  the awardee, a rival]
    same through disqualify (of A, or of B). new: pass (2). old: fails (2): no lapse.
  test_low_one_second_windows_are_refused[bidding, reveal, acceptance]
    RegistryBiddingPeriodTooShort / RegistryRevealPeriodTooShort /
    RegistryAcceptanceWindowTooShort (1, 86400). new: pass (3). old: no revert (3).
  test_low_an_evaluation_never_decided_fails_and_returns_the_bonds
    recusals leave 2 signers for a quorum of 3; bonds locked; 60 days after the reveal the
    tender is Failed and every bond comes back. new: pass. old: fails (still Evaluation).
  test_low_execute_on_a_codeless_address_is_refused_and_keeps_the_nonce
    cancel signed for the predicted next tender -> ConsortiumTargetNotContract; the nonce is
    still free and the decision works once the tender exists. new: pass. old: no revert.
  test_low_execute_refuses_ether_that_does_not_match_the_action[2 cases]
    1 ether with a value-0 action; 4 wei for a 5-wei action (the rest from the treasury)
    -> ConsortiumValueMismatch; balances unchanged. new: pass (2). old: no revert (2).
  test_low_conflict_declarations_are_capped_so_recusal_checks_stay_bounded
    17th declaration -> ConsortiumTooManyConflicts(member, 16). new: pass. old: no revert.
  test_low_a_recused_member_cannot_sign_the_disqualification_of_a_rival
    in conflict with A, signs disqualify(B) -> ConsortiumSignerRecused(technical, A).
    new: pass. old: no revert (B disqualified).
  test_low_a_recused_member_cannot_sign_the_lifting_of_its_own_conflict
    liftConflict(technical, A) with technical signing -> ConsortiumSignerIsSubject.
    new: pass. old: no revert.
Kept (documented behaviour)
  test_kept_the_awardee_can_accept_before_a_pending_disqualification_lands
  test_kept_lowering_the_threshold_or_readmitting_a_member_revives_old_signatures
  test_kept_tokens_sent_to_a_tender_by_mistake_stay_there
    new: pass (3). old: pass (3): unchanged behaviour.
Second reading (found in the first fix, 48f9546, by a reviewer who did not write it; fixed
in db7bd36)
  test_second_reading_a_losing_bidder_cannot_recuse_the_auditor_from_the_winner
    48f9546: ConsortiumSignerRecused(auditor, B) on the winner's acceptMilestone, no quorum
    has an auditor. now: pass (an agreement's parties are its buyer, supplier, tender).
  test_second_reading_a_lost_auditor_can_be_replaced_by_all_the_other_members
    48f9546: ConsortiumMissingRoles(18, 29) for all four others. now: pass (all members but
    one may act without the governance roles).
  test_second_reading_terminate_cannot_release_the_retention_without_the_auditor
    48f9546 and old: terminate by agency, citizen, legal pays the held retention at once.
    now: pass (terminate needs the auditor).
  test_second_reading_a_member_cannot_freeze_governance_by_a_conflict_with_the_consortium
  test_second_reading_a_member_that_bids_cannot_be_awarded
  test_second_reading_members_in_conflict_with_one_subject_cannot_lift_each_others
  test_second_reading_a_tender_without_a_bond_is_refused
  test_second_reading_a_member_in_conflict_with_an_agency_does_not_count_on_admitting_it
    each attack worked at d55de28 (the reviewer's proofs of concept, branch `review`,
    tests/test_poc_review.py); now refused with the error each test names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
import solcx
import solcx.install
from ape import chain
from ape.contracts import ContractContainer
from ape.exceptions import ContractLogicError, CustomError
from eth_utils import keccak, to_checksum_address
from ethpm_types import ContractType

from procurechain import consortium as cs
from procurechain.calls import Call, call_of
from procurechain.deploy import (
    DEFAULT_POLICIES,
    PolicySpec,
    deploy_suite,
    devnet_config,
)
from procurechain.deployments import typed
from procurechain.errors import ProcurechainError, decode_revert
from procurechain.tender import AwardMethod, Milestone, Stage, TenderSpec, create_tender

from conftest import DUSD, deployments_in

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16
DAY = 86_400
BPS = 10_000
BUDGET = 50_000 * DUSD
BOND = 500 * DUSD
CAP = 100_000 * DUSD  # the devnet's pilot-phase cap
RETENTION_BPS = 500
PENALTY_BPS_PER_DAY = 100
PENALTY_CAP_BPS = 1_000
PLAN = (
    Milestone(4_000, 30 * DAY, keccak(text="20 benches delivered")),
    Milestone(4_000, 60 * DAY, keccak(text="20 more benches delivered")),
    Milestone(2_000, 90 * DAY, keccak(text="installation and inspection")),
)
PRICES = (40_000 * DUSD, 42_000 * DUSD, 45_000 * DUSD)  # a < b < c
DOCS = keccak(text="bid documents")
REASON = keccak(text="published reasons")
EVIDENCE = keccak(text="delivery note")
ZERO = "0x0000000000000000000000000000000000000000"
TRANSFER = keccak(text="Transfer(address,address,uint256)")

#: A two-decimal ERC-20 an agency could deploy itself (compiled here: the repository has none).
CENT_TOKEN = """// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;
contract CentToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint256 public totalSupply;
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    function decimals() external pure returns (uint8) { return 2; }
    function mint(address to, uint256 value) external {
        totalSupply += value;
        _move(address(0), to, value);
    }
    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }
    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }
    function _move(address from, address to, uint256 value) private {
        if (from != address(0)) balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
"""


# ============================================================================ helpers


def addr(x: Any) -> str:
    return to_checksum_address(str(getattr(x, "address", x)))


def _normal(value: Any) -> Any:
    if hasattr(value, "address") or (isinstance(value, str) and len(value) == 42):
        return addr(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    return value


def _revert_bytes(err: BaseException) -> bytes | None:
    for candidate in (err, getattr(err, "base_err", None), err.__cause__):
        data = getattr(candidate, "revert_data", None) or getattr(candidate, "data", None)
        if isinstance(data, str) and data.startswith("0x"):
            return bytes.fromhex(data[2:])
        if isinstance(data, bytes | bytearray):
            return bytes(data)
    return None


def decoded(err: BaseException) -> tuple[str, dict[str, Any]] | None:
    """The custom error of a revert, by name with every argument (nested ones included)."""
    if isinstance(err, CustomError):
        return err.abi.name, {k: _normal(v) for k, v in err.inputs.items()}
    data = _revert_bytes(err)
    found = decode_revert(data) if data else None
    if found is None:
        return None
    name, args = found
    return name, {k: _normal(v) for k, v in args.items()}


@contextmanager
def reverts(name: str, **args: Any) -> Iterator[None]:
    """The block reverts with exactly the custom error ``name(**args)`` (every argument)."""
    try:
        yield
    except ContractLogicError as err:
        got = decoded(err)
        expected = (name, {k: _normal(v) for k, v in args.items()})
        assert got == expected, f"expected {expected}, the chain said {got} ({err})"
    else:
        pytest.fail(f"no revert: the attack went through (expected {name}{args})")


def signed(s: Any, call: Call, *signers: Any, avoid: tuple[int, ...] = ()) -> cs.Proposal:
    """A proposal with real EIP-712 signatures of ``signers`` (procurechain.consortium)."""
    proposal = cs.propose(s.consortium, call, avoid_nonces=avoid)
    for signer in signers:
        cs.sign(proposal, s.consortium, signer)
    return proposal


def submit(s: Any, proposal: cs.Proposal, sender: Any = None, value: int = 0) -> Any:
    """``execute`` exactly as anyone can send it: every signature in the bundle, sorted by
    address, no library pre-check (an attacker does not use one)."""
    packed = cs.pack_signatures(proposal, list(proposal.signatures))
    return s.consortium.execute(
        proposal.action.as_tuple(), packed, sender=sender or s.stranger, value=value
    )


def decide(s: Any, call: Call, *signers: Any, avoid: tuple[int, ...] = ()) -> Any:
    """A legitimate decision: signed and executed."""
    return submit(s, signed(s, call, *signers, avoid=avoid))


def now() -> int:
    return int(chain.blocks.head.timestamp)


def mine_to(timestamp: int) -> None:
    chain.mine(timestamp=timestamp)


def credit(agreement: Any, who: Any) -> int:
    return int(agreement.creditOf(addr(who)))


def token_flows(s: Any, holder: Any) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Every token Transfer into and out of ``holder``, from the chain's logs alone."""
    topic = "0x" + bytes(12).hex() + addr(holder)[2:].lower()
    web3 = chain.provider.web3

    def logs(topics: list) -> list[tuple[str, int]]:
        found = web3.eth.get_logs(
            {"address": addr(s.token), "fromBlock": 0, "toBlock": "latest", "topics": topics}
        )
        out = []
        for log in found:
            other = log["topics"][1] if topics[2] is not None else log["topics"][2]
            out.append((to_checksum_address(bytes(other)[12:]), int.from_bytes(log["data"])))
        return out

    return logs(["0x" + TRANSFER.hex(), None, topic]), logs(["0x" + TRANSFER.hex(), topic, None])


def bond_events(tender: Any) -> list[tuple[str, str, int]]:
    """(event, bidder, amount) of every bond that left the tender, from its logs."""
    head = chain.blocks.head.number
    out = []
    for name, who in (
        ("BondWithdrawn", "bidder"),
        ("BondReturned", "supplier"),
        ("BondForfeited", "bidder"),
    ):
        for log in getattr(tender, name).range(0, head + 1):
            out.append((name, addr(getattr(log, who)), int(log.amount)))
    return out


def assert_bonds_sound(s: Any, tender: Any, settled: bool = False) -> None:
    """From the chain alone: the tender holds exactly the deposits minus the payouts, every
    payout is one bond, no bidder's bond left twice, no more bonds left than came in; when
    ``settled``, every bond left exactly once and the tender is empty."""
    deposits, payouts = token_flows(s, tender)
    balance = int(s.token.balanceOf(tender))
    assert balance == sum(a for _, a in deposits) - sum(a for _, a in payouts)
    assert all(amount == BOND for _, amount in deposits + payouts)
    events = bond_events(tender)
    assert len(events) == len(payouts) <= len(deposits)
    per_bidder = Counter(bidder for _, bidder, _ in events)
    assert max(per_bidder.values(), default=0) <= 1, f"a bond left twice: {per_bidder}"
    # the same from the transfers: no bidder was paid twice (the buyer collects forfeits)
    paid = Counter(to for to, _ in payouts if to != addr(tender.buyer()))
    assert max(paid.values(), default=0) <= 1, f"a bidder was paid twice: {paid}"
    if settled:
        assert balance == 0 and len(events) == len(deposits)


# ============================================================================ fixtures


@pytest.fixture(scope="module")
def s(accounts, tmp_path_factory):
    """The suite as deployed for real (devnet reference consortium, 3 of 5, default
    policies), bidders funded. Each test starts from this state (Ape's chain isolation)."""
    with deployments_in(tmp_path_factory.mktemp("findings")):
        manifest = deploy_suite(accounts[0], devnet_config(), force=True)
    contracts = {name: entry["address"] for name, entry in manifest["contracts"].items()}
    ns = SimpleNamespace(
        token=typed("DemoStablecoin", contracts["Token"]),
        consortium=typed("Consortium", contracts["Consortium"]),
        registry=typed("Registry", contracts["Registry"]),
        deployer=accounts[0],
        agency=accounts[1],
        auditor=accounts[2],
        citizen=accounts[3],
        technical=accounts[4],
        legal=accounts[5],
        a=accounts[6],
        b=accounts[7],
        c=accounts[8],
        stranger=accounts[9],
    )
    for who in (ns.a, ns.b, ns.c):
        ns.token.mint(who, 10 * BOND, sender=ns.deployer)
    ns.token.mint(ns.agency, 1_000_000 * DUSD, sender=ns.deployer)
    ns.quorum = (ns.agency, ns.auditor, ns.citizen)  # a legitimate 3 of 5 with the auditor
    return ns


def publish(s: Any, method: AwardMethod = AwardMethod.LOWEST_PRICE) -> Any:
    return create_tender(s.registry, s.agency, spec_of(s, method)).tender


def spec_of(s: Any, method: AwardMethod = AwardMethod.LOWEST_PRICE, bond: int = BOND) -> Any:
    """The reference tender: 40 park benches, windows from now."""
    start = now()
    return TenderSpec(
        token=addr(s.token),
        budget=BUDGET,
        bond=bond,
        bidding_deadline=start + 2 * DAY,
        reveal_deadline=start + 3 * DAY,
        acceptance_window=2 * DAY,
        notice="40 park benches",
        plan=PLAN,
        method=method,
        retention_bps=RETENTION_BPS,
        warranty_period=90 * DAY,
        late_penalty_bps_per_day=PENALTY_BPS_PER_DAY,
        late_penalty_cap_bps=PENALTY_CAP_BPS,
    )


def salt(tender: Any, bidder: Any) -> bytes:
    return keccak(text=f"salt {addr(tender)} {addr(bidder)}")


def bid_and_reveal(s: Any, tender: Any, bids: dict[Any, int]) -> None:
    """Each bidder commits (bond pulled) and reveals; the clock ends just after the reveal."""
    for bidder, price in bids.items():
        s.token.approve(tender, BOND, sender=bidder)
        sealed = tender.commitmentOf(bidder, price, salt(tender, bidder), DOCS)
        tender.commitBid(sealed, sender=bidder)
    mine_to(int(tender.biddingDeadline()) + 1)
    for bidder, price in bids.items():
        tender.revealBid(price, salt(tender, bidder), DOCS, sender=bidder)
    mine_to(int(tender.revealDeadline()) + 1)


def three_bids(s: Any, method: AwardMethod = AwardMethod.LOWEST_PRICE) -> Any:
    tender = publish(s, method)
    bid_and_reveal(s, tender, dict(zip((s.a, s.b, s.c), PRICES, strict=True)))
    return tender


def award(s: Any, tender: Any, bidder: Any) -> Any:
    return decide(s, call_of(tender, "award", bidder, REASON), *s.quorum)


def lapse(tender: Any) -> None:
    mine_to(int(tender.awardee()[1]) + 1)
    assert tender.stage() == Stage.AWARD_LAPSED


def plan() -> list[tuple[int, int, bytes]]:
    return [m.as_tuple() for m in PLAN]


def agreement_of(tender: Any) -> Any:
    return typed("Agreement", tender.agreement())


@pytest.fixture(scope="module")
def unfunded(s):
    """Tender 1: a (40k) won and accepted; its Agreement is not funded yet."""
    tender = three_bids(s)
    award(s, tender, s.a)
    tender.acceptAward(plan(), sender=s.a)
    return SimpleNamespace(tender=tender, agreement=agreement_of(tender))


@pytest.fixture(scope="module")
def active(s):
    """Tender 2: a won; the buyer funded at once; milestone 0 accepted (retention held),
    milestone 1 submitted on time, milestone 2 pending."""
    tender = three_bids(s)
    award(s, tender, s.a)
    tender.acceptAward(plan(), sender=s.a)
    agreement = agreement_of(tender)
    s.token.approve(agreement, 45_000 * DUSD, sender=s.agency)
    agreement.fund(PRICES[0], sender=s.agency)
    agreement.submit(0, EVIDENCE, "ipfs://m0", sender=s.a)
    decide(s, call_of(agreement, "acceptMilestone", 0), *s.quorum)
    agreement.submit(1, EVIDENCE, "ipfs://m1", sender=s.a)
    return SimpleNamespace(tender=tender, agreement=agreement)


# ============================================================================ High


def test_high_withdrawn_bidder_cannot_be_awarded_and_paid_its_bond_twice(s):
    """The review's route: A < B < C reveal, A is awarded; B takes its bond back; A lets the
    window pass; recordLapse opens a ranking round; B claims, leads, is awarded, accepts and
    is paid its bond a second time (the last withdrawer then fails). Now B left the
    competition when it withdrew: it cannot claim a rank nor be awarded."""
    tender = three_bids(s)
    award(s, tender, s.a)
    tender.withdrawBond(sender=s.b)
    lapse(tender)
    receipt = tender.recordLapse(sender=s.stranger)
    assert [e.event_name for e in receipt.events] == ["AwardLapsed", "RankingOpened"]

    with reverts("TenderBidderNotEligible", bidder=s.b):
        tender.claimRank(s.b, sender=s.b)
    tender.claimRank(s.c, sender=s.c)
    mine_to(int(tender.rankingDeadline()) + 1)
    assert tender.leader() == (addr(s.c), PRICES[2])
    with reverts("TenderBidderNotEligible", bidder=s.b):
        submit(s, signed(s, call_of(tender, "award", s.b, REASON), *s.quorum))
    award(s, tender, s.c)
    tender.acceptAward(plan(), sender=s.c)
    tender.claimForfeitedBond(s.a, sender=s.stranger)
    with reverts("TenderBondAlreadySettled", bidder=s.b):
        tender.withdrawBond(sender=s.b)

    assert_bonds_sound(s, tender, settled=True)
    assert sorted(bond_events(tender)) == sorted(
        [
            ("BondWithdrawn", addr(s.b), BOND),
            ("BondReturned", addr(s.c), BOND),
            ("BondForfeited", addr(s.a), BOND),
        ]
    )


def test_high_withdrawn_bidder_cannot_return_through_disqualifying_the_awardee(s):
    """The second route: B withdraws while A holds the award, the consortium disqualifies A,
    a ranking round opens, and B would claim, win and be paid its bond again."""
    tender = three_bids(s)
    award(s, tender, s.a)
    held = int(s.token.balanceOf(s.b))
    tender.withdrawBond(sender=s.b)
    receipt = decide(s, call_of(tender, "disqualify", s.a, REASON), *s.quorum)
    assert tender.stage() == Stage.RANKING
    assert [e.event_name for e in receipt.events if e.contract_address == addr(tender)] == [
        "BidderDisqualified",
        "RankingOpened",
    ]

    with reverts("TenderBidderNotEligible", bidder=s.b):
        tender.claimRank(s.b, sender=s.stranger)
    tender.claimRank(s.c, sender=s.stranger)
    mine_to(int(tender.rankingDeadline()) + 1)
    award(s, tender, s.c)
    tender.acceptAward(plan(), sender=s.c)
    tender.withdrawBond(sender=s.a)  # disqualified, not lapsed: its bond comes back, once

    assert_bonds_sound(s, tender, settled=True)
    assert int(s.token.balanceOf(s.b)) == held + BOND  # B got its bond back exactly once


def test_high_evaluation_method_cannot_award_a_bidder_that_withdrew_its_bond(s):
    """Under the Evaluation method the consortium may award any eligible bidder: C is
    awarded, B withdraws its bond, C lapses; awarding B would then let B accept and be paid
    its bond a second time. B is no longer eligible."""
    tender = three_bids(s, AwardMethod.EVALUATION)
    award(s, tender, s.c)
    tender.withdrawBond(sender=s.b)
    lapse(tender)
    tender.recordLapse(sender=s.stranger)
    assert tender.stage() == Stage.EVALUATION  # A still leads: no ranking round

    with reverts("TenderBidderNotEligible", bidder=s.b):
        submit(s, signed(s, call_of(tender, "award", s.b, REASON), *s.quorum))
    assert tender.awardee()[0] == ZERO  # nobody holds the award
    award(s, tender, s.a)
    tender.acceptAward(plan(), sender=s.a)
    tender.claimForfeitedBond(s.c, sender=s.stranger)
    assert_bonds_sound(s, tender, settled=True)


def test_high_withdrawn_bidder_cannot_be_awarded_and_lapse_for_free(s):
    """The variant: a bidder with nothing left to forfeit is awarded and lets the award lapse,
    delaying the tender again and again for the price of one bond. Here A (the leader) and B
    withdraw while C holds the award: the leader is cleared, so C's lapse opens a ranking
    round in which neither may claim, and nobody without a bond at stake can be awarded."""
    tender = three_bids(s, AwardMethod.EVALUATION)
    award(s, tender, s.c)
    tender.withdrawBond(sender=s.a)
    tender.withdrawBond(sender=s.b)
    assert tender.leader() == (ZERO, 0)  # the leader that left was cleared
    lapse(tender)
    receipt = tender.recordLapse(sender=s.stranger)
    assert [e.event_name for e in receipt.events] == ["AwardLapsed", "RankingOpened"]
    for bidder in (s.a, s.b):
        with reverts("TenderBidderNotEligible", bidder=bidder):
            tender.claimRank(bidder, sender=bidder)
    mine_to(int(tender.rankingDeadline()) + 1)
    assert tender.stage() == Stage.FAILED
    with reverts("TenderWrongStage", expected=Stage.EVALUATION, actual=Stage.FAILED):
        submit(s, signed(s, call_of(tender, "award", s.a, REASON), *s.quorum))

    # C's lapse cost C its bond; nobody was awarded without one at stake.
    tender.claimForfeitedBond(s.c, sender=s.stranger)
    assert_bonds_sound(s, tender, settled=True)
    awarded = [addr(log.bidder) for log in tender.BidAwarded.range(0, chain.blocks.head.number + 1)]
    assert awarded == [addr(s.c)]


# ============================================================================ Medium: recusal


RECUSAL_CASES = {
    # function -> (call builder, signers other than the recused technical expert)
    "acceptMilestone": (lambda ag: call_of(ag, "acceptMilestone", 1), ("auditor", "citizen")),
    "resolveDispute": (
        lambda ag: call_of(ag, "resolveDispute", 1, BPS, REASON),
        ("auditor", "legal"),
    ),
    "claimWarranty": (lambda ag: call_of(ag, "claimWarranty", 1, REASON), ("auditor", "citizen")),
    "terminate": (lambda ag: call_of(ag, "terminate", REASON), ("auditor", "legal")),
}


@pytest.mark.parametrize("function", list(RECUSAL_CASES))
def test_medium_recusal_follows_the_conflicted_bidder_to_its_agreement(s, active, function):
    """The technical expert declared a conflict with bidder A. A won; every decision on A's
    Agreement targets a new address and never names A, so the expert used to count. Now the
    Agreement names its parties (partyAmong): the expert is refused, nothing moves, and the
    same decision passes with an uninvolved member instead."""
    agreement = active.agreement
    s.consortium.declareConflict(s.a, keccak(text="advises A"), sender=s.technical)
    if function == "resolveDispute":
        agreement.dispute(1, REASON, sender=s.a)
    build, others = RECUSAL_CASES[function]
    signers = [s.technical, *(getattr(s, name) for name in others)]
    balance = int(s.token.balanceOf(agreement))
    before = {who: credit(agreement, who) for who in (s.a, s.agency)}
    proposal = signed(s, build(agreement), *signers)

    with reverts("ConsortiumSignerRecused", signer=s.technical, subject=s.a):
        submit(s, proposal)
    assert not s.consortium.isNonceUsed(proposal.action.nonce)
    assert int(s.token.balanceOf(agreement)) == balance
    assert {who: credit(agreement, who) for who in (s.a, s.agency)} == before
    # the library agrees and names the conflict
    assert cs.status(proposal, s.consortium).recused == {addr(s.technical): addr(s.a)}

    honest = signed(s, build(agreement), s.agency, *(getattr(s, name) for name in others))
    submit(s, honest)
    assert {who: credit(agreement, who) for who in (s.a, s.agency)} != before


@pytest.mark.parametrize("party", ["tender", "buyer", "agreement"])
def test_medium_a_conflict_with_any_party_recuses_from_the_tender_and_its_agreement(
    s, active, party
):
    """A conflict declared with the tender, the buying agency or the agreement recuses the
    member on the tender (here: disqualifying C) and on the agreement (here: accepting
    milestone 1), though neither call names that party. (A conflict with a rival bidder:
    test_low_a_recused_member_cannot_sign_the_disqualification_of_a_rival.)"""
    subject = {
        "tender": active.tender,
        "buyer": s.agency,
        "agreement": active.agreement,
    }[party]
    s.consortium.declareConflict(subject, REASON, sender=s.technical)
    disqualify = call_of(active.tender, "disqualify", s.c, REASON)
    # the tender is contracted: a recusal is the first thing refused, before its own check
    with reverts("ConsortiumSignerRecused", signer=s.technical, subject=subject):
        submit(s, signed(s, disqualify, s.citizen, s.legal, s.technical))
    supplier = credit(active.agreement, s.a)
    accept = call_of(active.agreement, "acceptMilestone", 1)
    with reverts("ConsortiumSignerRecused", signer=s.technical, subject=subject):
        submit(s, signed(s, accept, s.auditor, s.citizen, s.technical))
    assert credit(active.agreement, s.a) == supplier
    assert active.agreement.milestone(1).state == 1  # still Submitted


# ====================================================================== Medium: auditor side doors


def test_medium_supplier_disputing_its_own_late_delivery_needs_the_auditor_and_pays_penalty(
    s, active
):
    """(a) The supplier delivers milestone 2 ten days late and disputes its own submission;
    three members without the auditor resolve it 100% to the supplier: paid as if accepted,
    late penalty waived. Now resolveDispute needs AUDITOR|LEGAL, and the auditor's resolution
    still takes the late penalty (for the buyer) as acceptance does."""
    agreement = active.agreement
    due = int(agreement.milestone(2).dueDate)
    mine_to(due + 9 * DAY + 1)  # ten started days late
    agreement.submit(2, EVIDENCE, "ipfs://m2-late", sender=s.a)
    agreement.dispute(2, keccak(text="the supplier disputes itself"), sender=s.a)
    supplier, buyer = credit(agreement, s.a), credit(agreement, s.agency)
    held = int(s.token.balanceOf(agreement))

    call = call_of(agreement, "resolveDispute", 2, BPS, REASON)
    with reverts(
        "ConsortiumMissingRoles", required=AUDITOR | LEGAL, present=AGENCY | CITIZEN | LEGAL
    ):
        submit(s, signed(s, call, s.agency, s.citizen, s.legal))
    assert (credit(agreement, s.a), credit(agreement, s.agency)) == (supplier, buyer)
    assert int(s.token.balanceOf(agreement)) == held

    receipt = submit(s, signed(s, call, s.auditor, s.citizen, s.legal))
    amount = PRICES[0] * 2_000 // BPS
    retention = amount * RETENTION_BPS // BPS
    penalty = amount * PENALTY_CAP_BPS // BPS  # 10 days x 100 bps, capped at 10%
    assert credit(agreement, s.a) - supplier == amount - retention - penalty
    assert credit(agreement, s.agency) - buyer == penalty
    [event] = receipt.events.filter(agreement.DisputeResolved)
    assert (event.paid, event.penalty, event.retention, event.refunded) == (
        amount - retention - penalty,
        penalty,
        retention,
        0,
    )


def test_medium_deploy_refuses_a_dispute_policy_weaker_than_acceptance(s, tmp_path):
    """A deployment whose resolveDispute does not require the auditor (the old default)
    is refused before any transaction."""
    weak = tuple(
        PolicySpec(p.function, roles=LEGAL) if p.function.startswith("resolveDispute") else p
        for p in DEFAULT_POLICIES
    )
    config = replace(devnet_config(), policies=weak)
    nonce = s.deployer.nonce
    with deployments_in(tmp_path), pytest.raises(ProcurechainError, match="must require role"):
        deploy_suite(s.deployer, config, force=True)
    assert s.deployer.nonce == nonce


def test_medium_quorum_without_the_auditor_cannot_make_itself_an_auditor(s, active):
    """(b) Three members without the auditor make the technical expert an auditor
    (setMemberRoles had no policy), then accept a milestone "with an auditor". Every action
    on the consortium itself now needs every role some policy requires (AUDITOR|LEGAL) and
    never counts the member it names first."""
    consortium = s.consortium
    governance = AUDITOR | LEGAL
    promote = call_of(consortium, "setMemberRoles", s.technical, TECHNICAL | AUDITOR)
    present = AGENCY | CITIZEN | LEGAL
    with reverts("ConsortiumMissingRoles", required=governance, present=present):
        submit(s, signed(s, promote, s.agency, s.citizen, s.legal))
    # the promoted member signing for itself, even with the auditor and the legal expert
    with reverts("ConsortiumSignerIsSubject", signer=s.technical):
        submit(s, signed(s, promote, s.auditor, s.legal, s.technical))
    # the other doors: drop acceptance's auditor rule, admit a new auditor
    drop = call_of(consortium, "setPolicy", keccak(text="acceptMilestone(uint256)")[:4], 0, 0)
    with reverts("ConsortiumMissingRoles", required=governance, present=present):
        submit(s, signed(s, drop, s.agency, s.citizen, s.legal))
    admit = call_of(consortium, "addMember", s.stranger, AUDITOR)
    with reverts("ConsortiumMissingRoles", required=governance, present=present):
        submit(s, signed(s, admit, s.agency, s.citizen, s.legal))

    assert consortium.memberInfo(s.technical) == (True, TECHNICAL, 0)
    assert consortium.roleHolders(AUDITOR) == 1
    assert consortium.governanceRoles() == governance
    supplier = credit(active.agreement, s.a)
    accept = call_of(active.agreement, "acceptMilestone", 1)
    with reverts("ConsortiumMissingRoles", required=AUDITOR, present=AGENCY | CITIZEN | TECHNICAL):
        submit(s, signed(s, accept, s.agency, s.citizen, s.technical))
    assert credit(active.agreement, s.a) == supplier


# ====================================================================== Medium: money and time


def test_medium_buyer_funding_ten_days_late_does_not_penalise_the_supplier(s, unfunded):
    """The buyer funds ten days after milestone 0 was due; the supplier delivers the moment
    it can. Due dates count from funding, so there is no penalty to collect."""
    agreement = unfunded.agreement
    scheduled = int(agreement.milestone(0).dueDate)  # as if funded at creation
    mine_to(scheduled + 10 * DAY)
    s.token.approve(agreement, PRICES[0], sender=s.agency)
    funded = agreement.fund(PRICES[0], sender=s.agency)
    receipt = agreement.submit(0, EVIDENCE, "ipfs://m0", sender=s.a)
    [submitted] = receipt.events.filter(agreement.MilestoneSubmitted)
    assert submitted.daysLate == 0

    buyer = credit(agreement, s.agency)
    receipt = decide(s, call_of(agreement, "acceptMilestone", 0), *s.quorum)
    [accepted] = receipt.events.filter(agreement.MilestoneAccepted)
    amount = PRICES[0] * 4_000 // BPS
    retention = amount * RETENTION_BPS // BPS
    assert (accepted.paid, accepted.penalty, accepted.retention) == (
        amount - retention,
        0,
        retention,
    )
    assert credit(agreement, s.a) == amount - retention
    assert credit(agreement, s.agency) == buyer  # the buyer collects nothing for its own delay
    # every due date moved by the time the buyer took to fund
    created = scheduled - PLAN[0].due_offset
    shift = int(chain.blocks[funded.block_number].timestamp) - created
    assert shift >= 10 * DAY + PLAN[0].due_offset
    for index, milestone in enumerate(PLAN):
        assert int(agreement.milestone(index).dueDate) == created + milestone.due_offset + shift


def cent_token(deployer: Any) -> Any:
    """Deploys the two-decimal token (solc-js, about a second)."""
    out = solcx.compile_standard(
        {
            "language": "Solidity",
            "sources": {"CentToken.sol": {"content": CENT_TOKEN}},
            "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}},
        },
        solc_binary=solcx.install.get_executable("0.8.28"),
    )
    compiled = out["contracts"]["CentToken.sol"]["CentToken"]
    contract_type = ContractType(
        contractName="CentToken",
        abi=compiled["abi"],
        deploymentBytecode={"bytecode": "0x" + compiled["evm"]["bytecode"]["object"]},
    )
    return deployer.deploy(ContractContainer(contract_type))


def test_medium_phase_cap_cannot_be_dodged_with_a_two_decimal_token(s):
    """The pilot cap is 100,000 dUSD = 10^11 base units. An agency publishing in its own
    2-decimal token with a budget of 10^11 base units asks for 10^9 whole tokens, 10,000x the
    cap's value. The registry now accepts only its own currency."""
    cent = cent_token(s.deployer)
    assert cent.decimals() == 2
    count = int(s.registry.tenderCount())
    start = now()
    spec = TenderSpec(
        token=addr(cent),
        budget=CAP,
        bond=100,
        bidding_deadline=start + 2 * DAY,
        reveal_deadline=start + 3 * DAY,
        acceptance_window=2 * DAY,
        notice="a billion-dollar road",
        plan=PLAN,
    )
    with reverts("RegistryTokenNotAccepted", token=cent, accepted=s.token):
        s.registry.createTender(spec.params(), spec.plan_tuples(), spec.notice, sender=s.agency)
    assert int(s.registry.tenderCount()) == count


# ============================================================================ Low


def test_low_cancelling_during_the_award_lapse_keeps_the_defaulting_awardees_bond_forfeited(s):
    """A lets its acceptance window pass; before anyone calls recordLapse the consortium
    cancels: A used to get its bond back. The lapse is now recorded first."""
    tender = three_bids(s)
    award(s, tender, s.a)
    lapse(tender)
    receipt = decide(s, call_of(tender, "cancel", REASON), *s.quorum)
    names = [e.event_name for e in receipt.events if e.contract_address == addr(tender)]
    assert names == ["AwardLapsed", "RankingOpened", "TenderCancelled"]
    assert tender.stage() == Stage.CANCELLED and tender.hasLapsed(s.a)

    with reverts("TenderBondForfeited", bidder=s.a):
        tender.withdrawBond(sender=s.a)
    buyer = int(s.token.balanceOf(s.agency))
    tender.claimForfeitedBond(s.a, sender=s.stranger)
    assert int(s.token.balanceOf(s.agency)) == buyer + BOND
    for bidder in (s.b, s.c):
        tender.withdrawBond(sender=bidder)
    assert_bonds_sound(s, tender, settled=True)


@pytest.mark.parametrize("whom", ["the awardee", "a rival"])
def test_low_disqualifying_during_the_award_lapse_keeps_the_defaulting_awardees_bond_forfeited(
    s, whom
):
    """Same with a disqualification during AwardLapsed (of the defaulting awardee itself, or
    of another bidder): the lapse is recorded first, so A's bond stays forfeited."""
    tender = three_bids(s)
    award(s, tender, s.a)
    lapse(tender)
    target = s.a if whom == "the awardee" else s.b
    receipt = decide(s, call_of(tender, "disqualify", target, REASON), *s.quorum)
    names = [e.event_name for e in receipt.events if e.contract_address == addr(tender)]
    assert names == ["AwardLapsed", "RankingOpened", "BidderDisqualified"]
    assert tender.hasLapsed(s.a) and tender.isDisqualified(target)

    with reverts("TenderBondForfeited", bidder=s.a):
        tender.withdrawBond(sender=s.a)
    tender.claimForfeitedBond(s.a, sender=s.stranger)
    tender.claimRank(s.c, sender=s.stranger)
    mine_to(int(tender.rankingDeadline()) + 1)
    award(s, tender, s.c)
    tender.acceptAward(plan(), sender=s.c)
    tender.withdrawBond(sender=s.b)
    assert_bonds_sound(s, tender, settled=True)


@pytest.mark.parametrize("decision", ["cancel", "disqualify a rival"])
def test_low_a_lapse_recorded_inside_a_decision_keeps_a_leader_that_is_not_the_awardee(s, decision):
    """Evaluation method: A leads, the consortium awards B, B lets its window pass. A cancel or
    a disqualification of C during the lapse records it first: B's bond is forfeited, and the
    lead stays with A (no ranking round opens, the lapsed awardee did not lead)."""
    tender = three_bids(s, AwardMethod.EVALUATION)
    award(s, tender, s.b)
    lapse(tender)
    call = (
        call_of(tender, "cancel", REASON)
        if decision == "cancel"
        else call_of(tender, "disqualify", s.c, REASON)
    )
    receipt = decide(s, call, *s.quorum)
    names = [e.event_name for e in receipt.events if e.contract_address == addr(tender)]
    last = "TenderCancelled" if decision == "cancel" else "BidderDisqualified"
    assert names == ["AwardLapsed", last]
    assert tender.hasLapsed(s.b) and addr(tender.leader()[0]) == addr(s.a)
    with reverts("TenderBondForfeited", bidder=s.b):
        tender.withdrawBond(sender=s.b)


@pytest.mark.parametrize(
    "window",
    [
        ("bidding", 1, 1 + DAY, DAY, "RegistryBiddingPeriodTooShort", {"period": 1}),
        ("reveal", DAY, DAY + 1, DAY, "RegistryRevealPeriodTooShort", {"period": 1}),
        ("acceptance", DAY, 2 * DAY, 1, "RegistryAcceptanceWindowTooShort", {"window": 1}),
    ],
    ids=lambda w: w[0],
)
def test_low_one_second_windows_are_refused(s, window):
    """A tender whose bidding, reveal (= every ranking round) or acceptance window lasts one
    second lets an insider bid, rank or accept before anyone else can react."""
    _, bidding, reveal, acceptance, error, args = window
    start = now() + 10
    chain.pending_timestamp = start
    spec = TenderSpec(
        token=addr(s.token),
        budget=BUDGET,
        bond=BOND,
        bidding_deadline=start + bidding,
        reveal_deadline=start + reveal,
        acceptance_window=acceptance,
        notice="blink and you miss it",
        plan=PLAN,
    )
    count = int(s.registry.tenderCount())
    with reverts(error, **args, minimum=DAY):
        s.registry.createTender(spec.params(), spec.plan_tuples(), spec.notice, sender=s.agency)
    assert int(s.registry.tenderCount()) == count


def test_low_an_evaluation_never_decided_fails_and_returns_the_bonds(s):
    """Three members declare conflicts with the bidders: only two can sign, the quorum is 3,
    nothing can ever be awarded, and the revealed bonds used to stay locked forever. After
    the evaluation period the tender fails and every bond comes back."""
    tender = three_bids(s)
    for member, bidder in ((s.citizen, s.a), (s.technical, s.b), (s.legal, s.c)):
        s.consortium.declareConflict(bidder, keccak(text="related"), sender=member)
    with reverts("ConsortiumSignerRecused", signer=s.citizen, subject=s.a):
        submit(s, signed(s, call_of(tender, "award", s.a, REASON), *s.quorum))
    with reverts("TenderBondLocked", bidder=s.a, stage=Stage.EVALUATION):
        tender.withdrawBond(sender=s.a)

    deadline = int(tender.revealDeadline()) + 60 * DAY
    mine_to(deadline)
    assert tender.stage() == Stage.EVALUATION
    mine_to(deadline + 1)
    assert tender.stage() == Stage.FAILED
    for bidder in (s.a, s.b, s.c):
        held = int(s.token.balanceOf(bidder))
        tender.withdrawBond(sender=bidder)
        assert int(s.token.balanceOf(bidder)) == held + BOND
    assert_bonds_sound(s, tender, settled=True)
    assert int(tender.evaluationDeadline()) == deadline


def create_address(creator: str, nonce: int) -> str:
    """The address ``creator`` gives the contract it creates with ``nonce`` (< 128)."""
    payload = bytes([0xD6, 0x94]) + bytes.fromhex(creator[2:]) + bytes([nonce])
    return to_checksum_address(keccak(payload)[12:])


def test_low_execute_on_a_codeless_address_is_refused_and_keeps_the_nonce(s):
    """Clone addresses are predictable: an action signed for the next tender (here: its
    cancellation) could be executed by anyone before that tender exists, "succeed" on an
    empty address and use the nonce up. Now it is refused and the nonce stays free."""
    registry = addr(s.registry)
    upcoming = create_address(registry, chain.provider.web3.eth.get_transaction_count(registry))
    assert not chain.provider.get_code(upcoming)
    data = keccak(text="cancel(bytes32)")[:4] + REASON
    proposal = signed(s, Call(target=upcoming, data=data), *s.quorum)
    with reverts("ConsortiumTargetNotContract", target=upcoming):
        submit(s, proposal)
    assert not s.consortium.isNonceUsed(proposal.action.nonce)

    tender = publish(s)
    assert addr(tender) == upcoming
    submit(s, proposal)  # the decision still works once the tender exists
    assert tender.stage() == Stage.CANCELLED


@pytest.mark.parametrize("sent", [10**18, 4], ids=["ether with a value-less action", "short"])
def test_low_execute_refuses_ether_that_does_not_match_the_action(s, sent):
    """``execute`` is payable: ether sent with an action worth something else stayed in the
    consortium, or the shortfall was paid from its treasury. Now the amounts must match
    (or nothing is sent: the action is then paid from the treasury, as signed)."""
    s.deployer.transfer(s.consortium, 10**18)  # the consortium's treasury
    value = 0 if sent == 10**18 else 5
    target = s.stranger if value else s.registry
    data = b"" if value else bytes(call_of(s.registry, "phaseCap").data)
    proposal = signed(s, Call(target=addr(target), data=data, value=value), *s.quorum)

    def balances() -> tuple[int, int]:
        return chain.provider.get_balance(addr(s.consortium)), s.stranger.balance

    before = balances()
    with reverts("ConsortiumValueMismatch", sent=sent, value=value):
        submit(s, proposal, sender=s.deployer, value=sent)
    assert balances() == before
    assert not s.consortium.isNonceUsed(proposal.action.nonce)
    submit(s, proposal, sender=s.deployer, value=value)  # exactly its value: fine
    assert balances() == (before[0], before[1] + value)


def test_low_conflict_declarations_are_capped_so_recusal_checks_stay_bounded(s):
    """Every recusal check now loops over the member's conflicts: they are capped."""
    cap = 16
    for i in range(cap):
        s.consortium.declareConflict(
            to_checksum_address(keccak(text=f"subject {i}")[12:]), REASON, sender=s.citizen
        )
    with reverts("ConsortiumTooManyConflicts", member=s.citizen, max=cap):
        s.consortium.declareConflict(s.a, REASON, sender=s.citizen)
    assert s.consortium.memberInfo(s.citizen)[2] == cap == s.consortium.MAX_CONFLICTS()


def test_low_a_recused_member_cannot_sign_the_disqualification_of_a_rival(s):
    """The technical expert, in conflict with A, helps A by disqualifying its rival B: the
    call names B, so the expert used to count. Every decision on A's tender now recuses it."""
    tender = three_bids(s)
    s.consortium.declareConflict(s.a, keccak(text="advises A"), sender=s.technical)
    call = call_of(tender, "disqualify", s.b, REASON)
    with reverts("ConsortiumSignerRecused", signer=s.technical, subject=s.a):
        submit(s, signed(s, call, s.agency, s.citizen, s.technical))
    assert not tender.isDisqualified(s.b)
    decide(s, call, s.agency, s.citizen, s.legal)  # without it, the decision is possible
    assert tender.isDisqualified(s.b)


def test_low_a_recused_member_cannot_sign_the_lifting_of_its_own_conflict(s):
    conflict = keccak(text="advises A")
    s.consortium.declareConflict(s.a, conflict, sender=s.technical)
    lift = call_of(s.consortium, "liftConflict", s.technical, s.a)
    with reverts("ConsortiumSignerIsSubject", signer=s.technical):
        submit(s, signed(s, lift, s.auditor, s.legal, s.technical))
    assert bytes(s.consortium.conflictOf(s.technical, s.a)) == conflict
    decide(s, lift, s.auditor, s.legal, s.agency)  # the others may lift it
    assert bytes(s.consortium.conflictOf(s.technical, s.a)) == bytes(32)


# ============================================================================ kept, documented


def test_kept_the_awardee_can_accept_before_a_pending_disqualification_lands(s):
    """Kept (docs/security.md): once awarded, A may accept at any moment of its window,
    including while a disqualification is being signed (or is in the mempool). The
    disqualification then fails and keeps its nonce; the remedy is the Agreement
    (terminate, disputes, warranty)."""
    tender = three_bids(s)
    award(s, tender, s.a)
    proposal = signed(s, call_of(tender, "disqualify", s.a, REASON), *s.quorum)
    tender.acceptAward(plan(), sender=s.a)  # A front-runs the execution
    with reverts("TenderWrongStage", expected=Stage.EVALUATION, actual=Stage.CONTRACTED):
        submit(s, proposal)
    assert not s.consortium.isNonceUsed(proposal.action.nonce)
    assert tender.agreement() != ZERO and not tender.isDisqualified(s.a)


def test_kept_lowering_the_threshold_or_readmitting_a_member_revives_old_signatures(s):
    """Kept: a signature is valid for its action until the nonce or deadline is used up.
    Two signatures did not reach 3 of 5; once the threshold is 2 they do. A removed member's
    signature stops counting, and counts again when the member is re-admitted."""
    raise_cap = call_of(s.registry, "raisePhaseCap", 2 * CAP)
    stale = signed(s, raise_cap, s.agency, s.citizen)
    with reverts("ConsortiumBelowThreshold", signers=2, threshold=3):
        submit(s, stale)
    lower = call_of(s.consortium, "setThreshold", 2)
    decide(s, lower, s.auditor, s.legal, s.technical, avoid=(stale.action.nonce,))
    submit(s, stale)
    assert int(s.registry.phaseCap()) == 2 * CAP

    again = signed(s, call_of(s.registry, "raisePhaseCap", 3 * CAP), s.agency, s.citizen)
    pending = (again.action.nonce,)
    remove = call_of(s.consortium, "removeMember", s.citizen)
    decide(s, remove, s.auditor, s.legal, avoid=pending)
    with reverts("ConsortiumNotMember", account=s.citizen):
        submit(s, again)
    readmit = call_of(s.consortium, "addMember", s.citizen, CITIZEN)
    decide(s, readmit, s.auditor, s.legal, avoid=pending)
    submit(s, again)
    assert int(s.registry.phaseCap()) == 3 * CAP


def test_kept_tokens_sent_to_a_tender_by_mistake_stay_there(s):
    """Kept: the Tender keeps no sweep function (it would be one more way for money to
    leave); tokens sent to it outside commitBid stay after every bond is settled."""
    tender = three_bids(s)
    s.token.transfer(tender, 7 * DUSD, sender=s.agency)
    award(s, tender, s.a)
    tender.acceptAward(plan(), sender=s.a)
    for bidder in (s.b, s.c):
        tender.withdrawBond(sender=bidder)
    assert int(s.token.balanceOf(tender)) == 7 * DUSD
    deposits, payouts = token_flows(s, tender)
    assert sum(a for _, a in deposits) - sum(a for _, a in payouts) == 7 * DUSD


# ====================================================================== second reading
# Problems the second reading found in the first fix (48f9546), fixed in db7bd36. Each test
# failed (the attack worked) at 48f9546.


def test_second_reading_a_losing_bidder_cannot_recuse_the_auditor_from_the_winner(
    s,
):
    """The auditor declared a conflict with company B (say, a former client). B bids and
    loses; A wins and delivers. Recusal follows every bidder of the tender to the winner's
    Agreement, so the only auditor is recused from A's milestones (ConsortiumSignerRecused
    (auditor, B)) and no quorum can accept them or resolve a dispute on them: A is never
    paid, the consortium can only terminate. B pays nothing: a revealed losing bid gets its
    bond back. Expected: the winner's agreement does not count the losers as parties."""
    s.consortium.declareConflict(s.b, keccak(text="former client"), sender=s.auditor)
    tender = three_bids(s)
    # the auditor is rightly recused from the award; the others award without it
    decide(s, call_of(tender, "award", s.a, REASON), s.agency, s.citizen, s.legal)
    tender.acceptAward(plan(), sender=s.a)
    tender.withdrawBond(sender=s.b)  # B's part cost it nothing
    agreement = agreement_of(tender)
    s.token.approve(agreement, PRICES[0], sender=s.agency)
    agreement.fund(PRICES[0], sender=s.agency)
    agreement.submit(0, EVIDENCE, "ipfs://m0", sender=s.a)

    decide(s, call_of(agreement, "acceptMilestone", 0), s.auditor, s.agency, s.citizen)
    amount = PRICES[0] * 4_000 // BPS
    assert credit(agreement, s.a) == amount - amount * RETENTION_BPS // BPS


def test_second_reading_a_lost_auditor_can_be_replaced_by_all_the_other_members(s):
    """Every action on the consortium needs AUDITOR|LEGAL and never counts the member it
    names. With one auditor (the reference deployment), if the auditor's key is lost even all
    four other members together cannot admit a new auditor (ConsortiumMissingRoles(18, 29)):
    governance and milestone acceptance are gone for good (before the fix a quorum could
    recover). Likewise the only auditor's own conflict can never be lifted: it does not
    count, and nobody else holds its role. Expected: all the other members can do both."""
    everyone_else = (s.agency, s.citizen, s.technical, s.legal)
    s.consortium.declareConflict(s.a, REASON, sender=s.auditor)
    decide(s, call_of(s.consortium, "liftConflict", s.auditor, s.a), *everyone_else)
    assert bytes(s.consortium.conflictOf(s.auditor, s.a)) == bytes(32)

    decide(s, call_of(s.consortium, "addMember", s.stranger, AUDITOR), *everyone_else)
    assert s.consortium.memberInfo(s.stranger) == (True, AUDITOR, 0)


def test_second_reading_terminate_cannot_release_the_retention_without_the_auditor(s, active):
    """Milestone 0 was accepted (with the auditor); its retention is held for the 90-day
    warranty, and only an auditor may claim from it. terminate needs only the legal expert
    and credits the held retention to the supplier at once: three members without the
    auditor end the warranty on the spot. Expected: terminate needs the auditor too."""
    agreement = active.agreement
    held = (int(agreement.retentionHeld()), credit(agreement, s.a))
    assert held[0] == PRICES[0] * 4_000 // BPS * RETENTION_BPS // BPS
    with reverts(
        "ConsortiumMissingRoles", required=AUDITOR | LEGAL, present=AGENCY | CITIZEN | LEGAL
    ):
        submit(s, signed(s, call_of(agreement, "terminate", REASON), s.agency, s.citizen, s.legal))
    assert (int(agreement.retentionHeld()), credit(agreement, s.a)) == held


def test_second_reading_a_member_cannot_freeze_governance_by_a_conflict_with_the_consortium(s):
    """The only auditor declares a conflict with the consortium itself: every change of the
    consortium would then recuse it, its own conflict's lifting included, and nobody else
    holds its role. Refused: ConsortiumInvalidConflictSubject (and with zero)."""
    for subject in (s.consortium, ZERO):
        with reverts("ConsortiumInvalidConflictSubject", subject=subject):
            s.consortium.declareConflict(subject, REASON, sender=s.auditor)
    assert list(s.consortium.conflictsOf(s.auditor)) == []


def test_second_reading_a_member_that_bids_cannot_be_awarded(s):
    """The citizen representative bids through its own company account (the member address)
    in an Evaluation tender and three members, itself among them, award it: it would then
    sit on the acceptance of its own milestones. Refused: TenderBidderIsMember; the consortium
    disqualifies the bid and awards the other bidder."""
    tender = publish(s, AwardMethod.EVALUATION)
    s.token.mint(s.citizen, BOND, sender=s.deployer)
    bid_and_reveal(s, tender, {s.a: PRICES[0], s.citizen: PRICES[1]})
    with reverts("TenderBidderIsMember", bidder=s.citizen):
        decide(s, call_of(tender, "award", s.citizen, REASON), s.agency, s.citizen, s.technical)
    assert tender.awardee()[0] == ZERO
    decide(s, call_of(tender, "disqualify", s.citizen, REASON), s.agency, s.auditor, s.legal)
    award(s, tender, s.a)
    assert addr(tender.awardee()[0]) == addr(s.a)


def test_second_reading_members_in_conflict_with_one_subject_cannot_lift_each_others(s):
    """The citizen and the technical expert both declared a conflict with bidder A; each
    signs the lifting of the other's conflict. Refused: liftConflict's subject (A) recuses
    whoever is in conflict with it, so neither counts."""
    s.consortium.declareConflict(s.a, REASON, sender=s.citizen)
    s.consortium.declareConflict(s.a, REASON, sender=s.technical)
    with reverts("ConsortiumSignerRecused", signer=s.technical, subject=s.a):
        decide(
            s,
            call_of(s.consortium, "liftConflict", s.citizen, s.a),
            *(s.auditor, s.technical, s.legal),
        )
    assert bytes(s.consortium.conflictOf(s.citizen, s.a)) != bytes(32)
    decide(s, call_of(s.consortium, "liftConflict", s.citizen, s.a), s.agency, s.auditor, s.legal)
    assert bytes(s.consortium.conflictOf(s.citizen, s.a)) == bytes(32)


def test_second_reading_a_tender_without_a_bond_is_refused(s):
    """A bond of zero would let an awardee lapse for free, again and again (each lapse adds an
    acceptance window and a ranking round). Refused: RegistryInvalidAmounts."""
    spec = spec_of(s, bond=0)
    count = int(s.registry.tenderCount())
    with reverts("RegistryInvalidAmounts", budget=BUDGET, bond=0):
        s.registry.createTender(spec.params(), spec.plan_tuples(), spec.notice, sender=s.agency)
    assert int(s.registry.tenderCount()) == count


def test_second_reading_a_member_in_conflict_with_an_agency_does_not_count_on_admitting_it(s):
    """addAgency/removeAgency name their agency as the policy subject: a member that declared
    a conflict with the agency does not count on its admission or removal."""
    s.consortium.declareConflict(s.stranger, REASON, sender=s.legal)
    with reverts("ConsortiumSignerRecused", signer=s.legal, subject=s.stranger):
        decide(s, call_of(s.registry, "addAgency", s.stranger), s.agency, s.auditor, s.legal)
    assert not s.registry.isAgency(s.stranger)
    decide(s, call_of(s.registry, "addAgency", s.stranger), s.agency, s.auditor, s.citizen)
    assert s.registry.isAgency(s.stranger)
