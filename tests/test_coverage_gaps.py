"""Branch outcomes no other test reached (found by `make coverage`, see docs/coverage.md):
recusal checks that let an unconcerned signer through, an action too short to name its
subject, a role still held by another member, a zero share before the last milestone, and
a lapsed award that did not go to the leader."""

import ape
import pytest
from eth_utils import keccak

from procurechain import consortium as cs
from procurechain.bids import bid_salt, commitment
from procurechain.calls import Call, call_of
from procurechain.tender import AwardMethod, Milestone, Stage, TenderSpec, create_tender

from conftest import DUSD

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16
APPROVE = keccak(text="approve(address,uint256)")[:4]
REASON = keccak(text="I advise one of the bidders")
PLAN = (
    Milestone(4_000, 30 * 86400, keccak(text="20 benches delivered")),
    Milestone(4_000, 60 * 86400, keccak(text="20 more benches delivered")),
    Milestone(2_000, 75 * 86400, keccak(text="installation and inspection")),
)
BOND = 500 * DUSD
DOC = keccak(text="bid documents")

# ------------------------------------------------------------------------------- consortium


@pytest.fixture
def council(project, deployer, agency, auditor, citizen, technical, legal):
    """3-of-5 with one role each; ERC-20 `approve` needs an AUDITOR and names its spender as
    the subject (as in tests/test_consortium.py)."""
    members = {agency: AGENCY, auditor: AUDITOR, citizen: CITIZEN, technical: TECHNICAL}
    members[legal] = LEGAL
    return deployer.deploy(
        project.Consortium, list(members), list(members.values()), 3, [APPROVE], [(AUDITOR, 1)]
    )


@pytest.fixture
def treasury(token, deployer, council):
    token.mint(council, 1_000 * DUSD, sender=deployer)
    return token


def run(council, call, *signers):
    """Sign ``call`` by ``signers`` and execute it with exactly their signatures."""
    proposal = cs.propose(council, call)
    for signer in signers:
        cs.sign(proposal, council, signer)
    signatures = cs.pack_signatures(proposal, [str(s.address) for s in signers])
    return council.execute(proposal.action.as_tuple(), signatures, sender=signers[0])


def test_a_recused_member_still_signs_what_does_not_concern_it(
    council, treasury, agency, auditor, technical, legal, stranger, bidder_a
):
    council.declareConflict(bidder_a, REASON, sender=technical)
    # A transfer has no subject argument: only the target (the token) is checked.
    run(council, call_of(treasury, "transfer", stranger, 3), agency, technical, legal)
    assert treasury.balanceOf(stranger) == 3
    # `approve` names its spender: a spender other than bidder_a does not recuse technical.
    run(council, call_of(treasury, "approve", stranger, 5), agency, auditor, technical)
    assert treasury.allowance(council, stranger) == 5
    with ape.reverts(council.ConsortiumSignerRecused, signer=technical, subject=bidder_a):
        run(council, call_of(treasury, "approve", bidder_a, 5), agency, auditor, technical)


#: A contract whose code is a single STOP: any call to it succeeds and returns nothing.
ACCEPT_ANYTHING = "0x000000000000000000000000000000000000C0DE"


def test_an_action_too_short_to_name_its_subject_has_none(
    council, chain, agency, auditor, technical, bidder_a, stranger
):
    council.declareConflict(bidder_a, REASON, sender=technical)
    # The bare `approve` selector sent to a contract that accepts any call: the policy's
    # subject argument is not there, so there is no subject and technical is not recused.
    # (This used to target an account without code; execute now refuses that, below.)
    chain.provider.set_code(ACCEPT_ANYTHING, b"\x00")
    short = Call(target=ACCEPT_ANYTHING, data=APPROVE, description="bare selector")
    receipt = run(council, short, agency, auditor, technical)
    executed = receipt.events.filter(council.ActionExecuted)
    assert [e.selector for e in executed] == [APPROVE]
    # The same call to an account without code would "succeed" and burn the nonce.
    nowhere = Call(target=str(stranger.address), data=APPROVE, description="bare selector")
    with ape.reverts(council.ConsortiumTargetNotContract, target=stranger):
        run(council, nowhere, agency, auditor, technical)


def test_a_role_another_member_still_holds_can_leave(
    council, agency, auditor, citizen, legal, stranger
):
    """Membership changes need every role a policy requires (here AUDITOR), and the member a
    change names does not count for it. (This test used to add and remove an auditor with a
    quorum of agency, citizen and legal only: the side door of issue 13.)"""
    trio = (agency, citizen, legal)
    with ape.reverts(
        council.ConsortiumMissingRoles, required=AUDITOR, present=AGENCY | CITIZEN | LEGAL
    ):
        run(council, call_of(council, "addMember", stranger, AUDITOR), *trio)
    run(council, call_of(council, "addMember", stranger, AUDITOR), agency, auditor, citizen)
    assert council.roleHolders(AUDITOR) == 2
    with ape.reverts(council.ConsortiumSignerIsSubject, signer=auditor):
        run(council, call_of(council, "removeMember", auditor), agency, auditor, citizen)
    receipt = run(council, call_of(council, "removeMember", auditor), agency, citizen, stranger)
    assert council.MemberRemoved(member=auditor) in receipt.events
    assert council.roleHolders(AUDITOR) == 1


# ---------------------------------------------------------------------- registry and tender


@pytest.fixture(scope="session")
def authority(accounts):
    """Stands in for the Consortium contract: the registry's and the tenders' authority."""
    return accounts[10]


@pytest.fixture
def registry(deployer, project, authority, agency, token):
    agreement = deployer.deploy(project.RecordingAgreement)
    registry = deployer.deploy(
        project.Registry, authority, agreement, token, 100_000 * DUSD, "ocds-pc0001"
    )
    registry.addAgency(agency, sender=authority)
    return registry


def spec(token, chain, **changes):
    now = chain.pending_timestamp
    fields = {
        "token": str(token.address),
        "budget": 50_000 * DUSD,
        "bond": BOND,
        "bidding_deadline": now + 7 * 86400,
        "reveal_deadline": now + 9 * 86400,
        "acceptance_window": 3 * 86400,
        "notice": "tender documents",
        "plan": PLAN,
    }
    return TenderSpec(**{**fields, **changes})


def test_a_zero_share_before_the_last_milestone_is_refused(registry, agency, token, chain):
    plan = (
        Milestone(0, 1, b"\x01" * 32),
        Milestone(6_000, 2, b"\x02" * 32),
        Milestone(4_000, 3, b"\x03" * 32),
    )
    bad = spec(token, chain, plan=plan)
    with ape.reverts(registry.RegistryInvalidPlan, milestones=3, shareSum=10_000):
        registry.createTender(bad.params(), bad.plan_tuples(), bad.notice, sender=agency)


def test_a_lapsed_award_to_a_bidder_who_did_not_lead_keeps_the_leader(
    registry, agency, token, deployer, chain, authority, stranger, bidder_a, bidder_b
):
    tender = create_tender(registry, agency, spec(token, chain, method=AwardMethod.EVALUATION))[1]
    sealed = {}
    for bidder, price in ((bidder_a, 45_000 * DUSD), (bidder_b, 48_000 * DUSD)):
        token.mint(bidder, BOND, sender=deployer)
        token.approve(tender, BOND, sender=bidder)
        salt = bid_salt(bidder, chain.chain_id, str(tender.address), 0)
        address = str(tender.address)
        hidden = commitment(chain.chain_id, address, str(bidder.address), price, salt, DOC)
        tender.commitBid(hidden, sender=bidder)
        sealed[bidder] = (price, salt, DOC)
    chain.mine(timestamp=tender.biddingDeadline() + 1)
    for bidder, opening in sealed.items():
        tender.revealBid(*opening, sender=bidder)
    chain.mine(timestamp=tender.revealDeadline() + 1)
    # The evaluation awards b, who does not lead on price, and b lets the window pass.
    tender.award(bidder_b, keccak(text="evaluation report"), sender=authority)
    chain.mine(timestamp=tender.awardee()[1] + 1)
    receipt = tender.recordLapse(sender=stranger)
    assert [e.event_name for e in receipt.events if e.contract_address == tender.address] == [
        "AwardLapsed"
    ]
    assert tender.hasLapsed(bidder_b)
    assert tender.stage() == Stage.EVALUATION  # no ranking round: the leader is still a
    tender.award(bidder_a, keccak(text="second evaluation"), sender=authority)
    assert tender.awardee()[0] == bidder_a.address
