"""Tender: sealed bids, bonds, award, acceptance, ranking rounds, cancellation, every error."""

import ape
import pytest
from eth_utils import keccak

from procurechain.bids import bid_salt, commitment
from procurechain.errors import ProcurechainError
from procurechain.permit import sign_permit
from procurechain.tender import (
    AwardMethod,
    Milestone,
    Stage,
    TenderSpec,
    create_tender,
    plan_hash,
)

DUSD = 10**6
BUDGET = 50_000 * DUSD
BOND = 500 * DUSD
BIDDING = 7 * 86400
REVEAL = 2 * 86400
WINDOW = 3 * 86400
PLAN = (
    Milestone(4_000, 30 * 86400, keccak(text="20 benches delivered")),
    Milestone(4_000, 60 * 86400, keccak(text="20 more benches delivered")),
    Milestone(2_000, 75 * 86400, keccak(text="installation and inspection")),
)
DOC = keccak(text="bid documents")
ZERO = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\x00" * 32


@pytest.fixture(scope="session")
def consortium(accounts):
    """Stands in for the Consortium contract: the tender's authority."""
    return accounts[10]


@pytest.fixture
def tusd(token):
    """dUSD; the deployer owns it and mints."""
    return token


@pytest.fixture
def agreement_impl(deployer, project):
    return deployer.deploy(project.RecordingAgreement)


@pytest.fixture
def registry(deployer, project, consortium, agency, agreement_impl, token):
    registry = deployer.deploy(
        project.Registry, consortium, agreement_impl, token, 100_000 * DUSD, "ocds-pc0001"
    )
    registry.addAgency(agency, sender=consortium)
    return registry


@pytest.fixture
def make_tender(registry, agency, tusd, chain):
    def make(method=AwardMethod.LOWEST_PRICE, **overrides):
        now = chain.pending_timestamp
        spec = TenderSpec(
            token=str(tusd.address),
            budget=overrides.pop("budget", BUDGET),
            bond=overrides.pop("bond", BOND),
            bidding_deadline=now + BIDDING,
            reveal_deadline=now + BIDDING + REVEAL,
            acceptance_window=WINDOW,
            notice="tender documents",
            plan=PLAN,
            method=method,
            retention_bps=500,
            warranty_period=90 * 86400,
            late_penalty_bps_per_day=10,
            late_penalty_cap_bps=1_000,
        )
        return create_tender(registry, agency, spec)[1]

    return make


@pytest.fixture
def tender(make_tender):
    return make_tender()


@pytest.fixture
def fund(tusd, deployer):
    def fund(tender, *bidders, amount=10 * BOND):
        for bidder in bidders:
            tusd.mint(bidder, amount, sender=deployer)
            tusd.approve(tender, amount, sender=bidder)

    return fund


def opening(chain, tender, bidder, price, nonce=0, doc=DOC):
    salt = bid_salt(bidder, chain.chain_id, str(tender.address), nonce)
    return price, salt, doc


def commit(chain, tender, bidder, price, nonce=0, doc=DOC):
    price, salt, doc = opening(chain, tender, bidder, price, nonce, doc)
    sealed = commitment(chain.chain_id, str(tender.address), str(bidder.address), price, salt, doc)
    receipt = tender.commitBid(sealed, sender=bidder)
    return receipt, (price, salt, doc)


def reveal(tender, bidder, secret):
    return tender.revealBid(*secret, sender=bidder)


def to_reveal(chain, tender):
    chain.mine(timestamp=tender.biddingDeadline() + 1)


def to_evaluation(chain, tender):
    chain.mine(timestamp=tender.revealDeadline() + 1)


@pytest.fixture
def three_bids(chain, tender, fund, bidder_a, bidder_b, bidder_c):
    """a bids 45k, b 48k, c 47k; all revealed; stage Evaluation with a leading."""
    fund(tender, bidder_a, bidder_b, bidder_c)
    secrets = {}
    for bidder, price in ((bidder_a, 45_000), (bidder_b, 48_000), (bidder_c, 47_000)):
        secrets[bidder] = commit(chain, tender, bidder, price * DUSD)[1]
    to_reveal(chain, tender)
    for bidder, secret in secrets.items():
        reveal(tender, bidder, secret)
    to_evaluation(chain, tender)
    return tender


# --------------------------------------------------------------------------------------------
# The whole story
# --------------------------------------------------------------------------------------------


def test_happy_path_lowest_price(
    chain, tender, fund, tusd, agency, consortium, bidder_a, bidder_b, bidder_c, project
):
    """The reference scenario: one bid above budget, one never revealed, the lowest wins."""
    fund(tender, bidder_a, bidder_b, bidder_c)
    assert tender.stage() == Stage.BIDDING
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    b = commit(chain, tender, bidder_b, 55_000 * DUSD)[1]  # above the budget
    commit(chain, tender, bidder_c, 40_000 * DUSD)  # never revealed
    assert tusd.balanceOf(tender) == 3 * BOND

    to_reveal(chain, tender)
    assert tender.stage() == Stage.REVEAL
    receipt = reveal(tender, bidder_a, a)
    assert receipt.events == [
        tender.BidRevealed(bidder_a, 45_000 * DUSD, DOC, True, True),
    ]
    receipt = reveal(tender, bidder_b, b)
    assert receipt.events == [tender.BidRevealed(bidder_b, 55_000 * DUSD, DOC, False, False)]
    assert tender.leader() == (bidder_a.address, 45_000 * DUSD)

    to_evaluation(chain, tender)
    assert tender.stage() == Stage.EVALUATION
    report = keccak(text="evaluation report")
    receipt = tender.award(bidder_a, report, sender=consortium)
    deadline = chain.blocks.head.timestamp + WINDOW
    assert receipt.events == [tender.BidAwarded(bidder_a, 45_000 * DUSD, report, deadline)]
    assert tender.stage() == Stage.AWARDED
    assert tender.awardee() == (bidder_a.address, deadline)

    # losers: the invalid revealed bid gets its bond back, the unrevealed one forfeits it
    tender.withdrawBond(sender=bidder_b)
    before = tusd.balanceOf(agency)
    tender.claimForfeitedBond(bidder_c, sender=bidder_b)
    assert tusd.balanceOf(agency) == before + BOND

    receipt = tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_a)
    assert tender.stage() == Stage.CONTRACTED
    agreement = project.RecordingAgreement.at(tender.agreement())
    assert receipt.events.filter(tender.AwardAccepted) == [
        tender.AwardAccepted(bidder_a, agreement, 45_000 * DUSD)
    ]
    assert agreement.initialized()
    assert agreement.consortium() == consortium.address
    assert agreement.buyer() == agency.address
    assert agreement.supplier() == bidder_a.address
    assert agreement.token() == tusd.address
    assert agreement.price() == 45_000 * DUSD
    assert agreement.terms() == (500, 90 * 86400, 10, 1_000)
    assert agreement.planHash() == plan_hash(PLAN)
    assert agreement.milestoneCount() == 3
    # every bond is accounted for: nothing stays in the tender
    assert tusd.balanceOf(tender) == 0
    assert tusd.balanceOf(bidder_a) == 10 * BOND
    assert tusd.balanceOf(bidder_b) == 10 * BOND
    assert tusd.balanceOf(bidder_c) == 9 * BOND


def test_parameters_live_in_the_clone(tender, tusd, agency, consortium, registry):
    assert tender.buyer() == agency.address
    assert tender.token() == tusd.address
    assert tender.budget() == BUDGET
    assert tender.bond() == BOND
    assert tender.revealDeadline() - tender.biddingDeadline() == REVEAL
    assert tender.acceptanceWindow() == WINDOW
    assert tender.awardMethod() == AwardMethod.LOWEST_PRICE
    assert tender.terms() == (500, 90 * 86400, 10, 1_000)
    assert tender.previousOfAgency() == 0
    assert tender.planHash() == plan_hash(PLAN)
    assert tender.consortium() == consortium.address
    assert tender.registry() == registry.address
    assert tender.leader() == (ZERO, 0)


# --------------------------------------------------------------------------------------------
# Sealed bids
# --------------------------------------------------------------------------------------------


def test_python_commitment_equals_the_contracts(chain, tender, bidder_a):
    price, salt, doc = opening(chain, tender, bidder_a, 12_345 * DUSD)
    expected = commitment(chain.chain_id, str(tender.address), bidder_a.address, price, salt, doc)
    assert tender.commitmentOf(bidder_a, price, salt, doc) == expected


def test_salt_is_recomputed_from_the_key(chain, tender, bidder_a, bidder_b):
    first = bid_salt(bidder_a, chain.chain_id, str(tender.address), 0)
    assert bid_salt(bidder_a, chain.chain_id, str(tender.address), 0) == first
    assert bid_salt(bidder_a, chain.chain_id, str(tender.address), 1) != first
    assert bid_salt(bidder_b, chain.chain_id, str(tender.address), 0) != first


def test_commitment_copied_by_another_address_fails(chain, tender, fund, bidder_a, bidder_b):
    fund(tender, bidder_a, bidder_b)
    receipt, secret = commit(chain, tender, bidder_a, 45_000 * DUSD)
    copied = receipt.events.filter(tender.BidCommitted)[0].commitment
    tender.commitBid(copied, sender=bidder_b)
    to_reveal(chain, tender)
    with ape.reverts(tender.TenderCommitmentMismatch, bidder=bidder_b):
        tender.revealBid(*secret, sender=bidder_b)
    reveal(tender, bidder_a, secret)


def test_reveal_at_another_price_fails(chain, tender, fund, bidder_a):
    fund(tender, bidder_a)
    _, (price, salt, doc) = commit(chain, tender, bidder_a, 45_000 * DUSD)
    to_reveal(chain, tender)
    with ape.reverts(tender.TenderCommitmentMismatch, bidder=bidder_a):
        tender.revealBid(price - 1, salt, doc, sender=bidder_a)
    with ape.reverts(tender.TenderCommitmentMismatch, bidder=bidder_a):
        tender.revealBid(price, salt, keccak(text="other documents"), sender=bidder_a)
    tender.revealBid(price, salt, doc, sender=bidder_a)
    assert tender.bidOf(bidder_a)[6] == price


def test_replacing_a_commitment(chain, tender, fund, tusd, bidder_a):
    fund(tender, bidder_a)
    first, old = commit(chain, tender, bidder_a, 49_000 * DUSD)
    assert not first.events.filter(tender.BidCommitted)[0].replaced
    second, new = commit(chain, tender, bidder_a, 44_000 * DUSD, nonce=1)
    assert second.events == [tender.BidCommitted(bidder_a, second.events[0].commitment, True)]
    assert second.events[0].commitment != first.events[0].commitment
    assert tusd.balanceOf(tender) == BOND  # the bond is taken once
    assert tender.bidOf(bidder_a)[5] == second.block_number
    to_reveal(chain, tender)
    with ape.reverts(tender.TenderCommitmentMismatch, bidder=bidder_a):
        reveal(tender, bidder_a, old)
    reveal(tender, bidder_a, new)
    assert tender.leader() == (bidder_a.address, 44_000 * DUSD)


def test_ties_go_to_the_earlier_commitment(chain, tender, fund, bidder_a, bidder_b, bidder_c):
    fund(tender, bidder_a, bidder_b, bidder_c)
    b = commit(chain, tender, bidder_b, 45_000 * DUSD)[1]
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    c = commit(chain, tender, bidder_c, 46_000 * DUSD)[1]
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)  # a reveals first, but b committed first
    receipt = reveal(tender, bidder_b, b)
    assert receipt.events[0].leading
    reveal(tender, bidder_c, c)
    assert tender.leader() == (bidder_b.address, 45_000 * DUSD)


def test_a_replaced_commitment_counts_from_its_latest_commit(
    chain, tender, fund, bidder_a, bidder_b
):
    fund(tender, bidder_a, bidder_b)
    commit(chain, tender, bidder_a, 45_000 * DUSD)
    b = commit(chain, tender, bidder_b, 45_000 * DUSD)[1]
    a = commit(chain, tender, bidder_a, 45_000 * DUSD, nonce=1)[1]  # a replaces after b
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)
    reveal(tender, bidder_b, b)
    assert tender.leader() == (bidder_b.address, 45_000 * DUSD)


def test_zero_price_is_invalid(chain, tender, fund, bidder_a):
    fund(tender, bidder_a)
    secret = commit(chain, tender, bidder_a, 0)[1]
    to_reveal(chain, tender)
    receipt = reveal(tender, bidder_a, secret)
    assert not receipt.events[0].valid
    to_evaluation(chain, tender)
    assert tender.stage() == Stage.FAILED


def test_permit_path_needs_one_transaction(chain, tender, tusd, deployer, bidder_a):
    tusd.mint(bidder_a, BOND, sender=deployer)
    price, salt, doc = opening(chain, tender, bidder_a, 45_000 * DUSD)
    sealed = commitment(chain.chain_id, str(tender.address), bidder_a.address, price, salt, doc)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(tusd, bidder_a, str(tender.address), BOND, deadline)
    tender.commitBidWithPermit(sealed, deadline, v, r, s, sender=bidder_a)
    assert tusd.balanceOf(tender) == BOND
    assert tender.bidOf(bidder_a)[0] is True


def test_replacing_a_bid_with_a_permit_pulls_no_second_bond(
    chain, tender, tusd, deployer, bidder_a
):
    tusd.mint(bidder_a, 2 * BOND, sender=deployer)
    for nonce, price in ((0, 45_000 * DUSD), (1, 44_000 * DUSD)):
        price, salt, doc = opening(chain, tender, bidder_a, price, nonce)
        sealed = commitment(chain.chain_id, str(tender.address), bidder_a.address, price, salt, doc)
        deadline = chain.pending_timestamp + 3600
        v, r, s = sign_permit(tusd, bidder_a, str(tender.address), BOND, deadline)
        tender.commitBidWithPermit(sealed, deadline, v, r, s, sender=bidder_a)
        assert tender.bidOf(bidder_a)[0] is True
    assert tusd.balanceOf(tender) == BOND  # one bond, however many times the bid is replaced
    assert tusd.balanceOf(bidder_a) == BOND


def test_front_run_permit_does_not_grief(chain, tender, tusd, deployer, bidder_a, stranger):
    tusd.mint(bidder_a, BOND, sender=deployer)
    price, salt, doc = opening(chain, tender, bidder_a, 45_000 * DUSD)
    sealed = commitment(chain.chain_id, str(tender.address), bidder_a.address, price, salt, doc)
    deadline = chain.pending_timestamp + 3600
    v, r, s = sign_permit(tusd, bidder_a, str(tender.address), BOND, deadline)
    # someone copies the permit from the mempool and uses it first
    tusd.permit(bidder_a, tender, BOND, deadline, v, r, s, sender=stranger)
    tender.commitBidWithPermit(sealed, deadline, v, r, s, sender=bidder_a)
    assert tusd.balanceOf(tender) == BOND


# --------------------------------------------------------------------------------------------
# Bonds
# --------------------------------------------------------------------------------------------


def test_non_revealer_forfeits_its_bond(chain, tender, fund, tusd, agency, bidder_a, bidder_b):
    fund(tender, bidder_a, bidder_b)
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    commit(chain, tender, bidder_b, 44_000 * DUSD)
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)
    with ape.reverts(tender.TenderBondNotForfeitable, bidder=bidder_b):
        tender.claimForfeitedBond(bidder_b, sender=agency)  # b may still reveal
    to_evaluation(chain, tender)
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_b):
        tender.withdrawBond(sender=bidder_b)
    with ape.reverts(tender.TenderBondNotForfeitable, bidder=bidder_a):
        tender.claimForfeitedBond(bidder_a, sender=agency)
    before = tusd.balanceOf(agency)
    receipt = tender.claimForfeitedBond(bidder_b, sender=bidder_a)
    assert receipt.events.filter(tender.BondForfeited) == [
        tender.BondForfeited(bidder_b, agency, BOND)
    ]
    assert tusd.balanceOf(agency) == before + BOND
    with ape.reverts(tender.TenderBondAlreadySettled, bidder=bidder_b):
        tender.claimForfeitedBond(bidder_b, sender=agency)


def test_bonds_are_locked_until_award(three_bids, consortium, bidder_a, bidder_b, tusd):
    tender = three_bids
    with ape.reverts(tender.TenderBondLocked, bidder=bidder_b, stage=Stage.EVALUATION):
        tender.withdrawBond(sender=bidder_b)
    tender.award(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderBondLocked, bidder=bidder_a, stage=Stage.AWARDED):
        tender.withdrawBond(sender=bidder_a)  # the awardee gets it back on acceptance
    receipt = tender.withdrawBond(sender=bidder_b)
    assert receipt.events.filter(tender.BondWithdrawn) == [tender.BondWithdrawn(bidder_b, BOND)]
    with ape.reverts(tender.TenderBondAlreadySettled, bidder=bidder_b):
        tender.withdrawBond(sender=bidder_b)


def test_withdraw_without_a_bid(tender, stranger, agency):
    with ape.reverts(tender.TenderNoCommitment, bidder=stranger):
        tender.withdrawBond(sender=stranger)
    with ape.reverts(tender.TenderNoCommitment, bidder=stranger):
        tender.claimForfeitedBond(stranger, sender=agency)


def test_cancel_refunds_every_bond_before_the_reveal_deadline(
    chain, tender, fund, tusd, consortium, bidder_a, bidder_b
):
    fund(tender, bidder_a, bidder_b)
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    commit(chain, tender, bidder_b, 46_000 * DUSD)
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)
    reason = keccak(text="budget withdrawn")
    assert tender.cancelledAt() == 0
    receipt = tender.cancel(reason, sender=consortium)
    assert receipt.events == [tender.TenderCancelled(reason)]
    assert tender.stage() == Stage.CANCELLED
    assert tender.cancelledAt() == receipt.timestamp
    with ape.reverts(tender.TenderWrongStage, expected=Stage.REVEAL, actual=Stage.CANCELLED):
        tender.revealBid(1, ZERO32, ZERO32, sender=bidder_b)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.BIDDING, actual=Stage.CANCELLED):
        tender.commitBid(ZERO32, sender=bidder_b)
    tender.withdrawBond(sender=bidder_a)
    to_evaluation(chain, tender)  # b was cancelled out of its reveal window: no forfeit
    tender.withdrawBond(sender=bidder_b)
    assert tusd.balanceOf(tender) == 0


def test_cancel_after_the_reveal_deadline_keeps_forfeits(
    three_bids, chain, fund, tusd, consortium, agency, bidder_a
):
    tender = three_bids
    tender.cancel(ZERO32, sender=consortium)
    tender.withdrawBond(sender=bidder_a)
    with ape.reverts(tender.TenderNotCancellable, stage=Stage.CANCELLED):
        tender.cancel(ZERO32, sender=consortium)


def test_unrevealed_bid_forfeits_even_if_cancelled_later(
    chain, tender, fund, tusd, consortium, agency, bidder_a, bidder_b
):
    fund(tender, bidder_a, bidder_b)
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    commit(chain, tender, bidder_b, 46_000 * DUSD)
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)
    to_evaluation(chain, tender)
    tender.cancel(ZERO32, sender=consortium)
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_b):
        tender.withdrawBond(sender=bidder_b)
    tender.claimForfeitedBond(bidder_b, sender=agency)


def test_failed_tender_refunds_revealed_bonds(chain, tender, fund, tusd, consortium, bidder_a):
    fund(tender, bidder_a)
    secret = commit(chain, tender, bidder_a, BUDGET + 1)[1]
    to_reveal(chain, tender)
    reveal(tender, bidder_a, secret)
    to_evaluation(chain, tender)
    assert tender.stage() == Stage.FAILED
    with ape.reverts(tender.TenderNotCancellable, stage=Stage.FAILED):
        tender.cancel(ZERO32, sender=consortium)
    tender.withdrawBond(sender=bidder_a)
    assert tusd.balanceOf(tender) == 0


# --------------------------------------------------------------------------------------------
# Award, disqualification, ranking rounds, acceptance
# --------------------------------------------------------------------------------------------


def test_award_of_a_non_lowest_bidder_without_disqualification_fails(
    three_bids, consortium, bidder_a, bidder_c
):
    with ape.reverts(three_bids.TenderNotLowestBid, bidder=bidder_c, lowest=bidder_a):
        three_bids.award(bidder_c, ZERO32, sender=consortium)


def test_disqualifying_the_leader_opens_a_ranking_round(
    three_bids, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    tender = three_bids
    reason = keccak(text="missing insurance certificate")
    receipt = tender.disqualify(bidder_a, reason, sender=consortium)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [
        tender.BidderDisqualified(bidder_a, reason),
        tender.RankingOpened(deadline),
    ]
    assert tender.stage() == Stage.RANKING
    assert tender.isDisqualified(bidder_a)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.EVALUATION, actual=Stage.RANKING):
        tender.award(bidder_c, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_a):
        tender.claimRank(bidder_a, sender=stranger)
    # anyone may claim for anyone; the lowest claimant leads whatever the order
    receipt = tender.claimRank(bidder_b, sender=stranger)
    assert receipt.events == [tender.RankClaimed(bidder_b, 48_000 * DUSD, True)]
    receipt = tender.claimRank(bidder_c, sender=bidder_c)
    assert receipt.events == [tender.RankClaimed(bidder_c, 47_000 * DUSD, True)]
    receipt = tender.claimRank(bidder_b, sender=bidder_b)
    assert receipt.events == [tender.RankClaimed(bidder_b, 48_000 * DUSD, False)]
    assert tender.claimRank(bidder_c, sender=stranger).events == []  # the leader: no-op
    chain.mine(timestamp=deadline + 1)
    assert tender.stage() == Stage.EVALUATION
    with ape.reverts(tender.TenderWrongStage, expected=Stage.RANKING, actual=Stage.EVALUATION):
        tender.claimRank(bidder_b, sender=stranger)
    with ape.reverts(tender.TenderNotLowestBid, bidder=bidder_b, lowest=bidder_c):
        tender.award(bidder_b, ZERO32, sender=consortium)
    tender.award(bidder_c, ZERO32, sender=consortium)
    assert tender.awardee()[0] == bidder_c.address


def test_disqualifying_a_non_leader_changes_nothing_else(
    three_bids, consortium, bidder_a, bidder_b
):
    tender = three_bids
    receipt = tender.disqualify(bidder_b, ZERO32, sender=consortium)
    assert receipt.events == [tender.BidderDisqualified(bidder_b, ZERO32)]
    assert tender.stage() == Stage.EVALUATION
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_b):
        tender.disqualify(bidder_b, ZERO32, sender=consortium)
    tender.award(bidder_a, ZERO32, sender=consortium)


def test_unclaimed_ranking_round_fails_the_tender(three_bids, chain, consortium, bidder_a):
    tender = three_bids
    tender.disqualify(bidder_a, ZERO32, sender=consortium)
    chain.mine(timestamp=tender.rankingDeadline() + 1)
    assert tender.stage() == Stage.FAILED


def test_acceptance_window_expiry_and_award_to_the_next_bidder(
    three_bids, chain, tusd, agency, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.AWARD_LAPSED, actual=Stage.AWARDED):
        tender.recordLapse(sender=stranger)
    _, deadline = tender.awardee()
    chain.mine(timestamp=deadline + 1)
    assert tender.stage() == Stage.AWARD_LAPSED
    plan = [m.as_tuple() for m in PLAN]
    with ape.reverts(tender.TenderAcceptanceExpired, deadline=deadline):
        tender.acceptAward(plan, sender=bidder_a)
    receipt = tender.recordLapse(sender=stranger)
    assert receipt.events[0] == tender.AwardLapsed(bidder_a)
    assert tender.hasLapsed(bidder_a)
    assert tender.stage() == Stage.RANKING
    tender.claimRank(bidder_b, sender=bidder_b)
    tender.claimRank(bidder_c, sender=bidder_c)
    chain.mine(timestamp=tender.rankingDeadline() + 1)
    tender.award(bidder_c, ZERO32, sender=consortium)
    tender.acceptAward(plan, sender=bidder_c)
    assert tender.stage() == Stage.CONTRACTED
    # the lapsed awardee's bond went to the buyer; everybody else got theirs back
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_a):
        tender.withdrawBond(sender=bidder_a)
    before = tusd.balanceOf(agency)
    tender.claimForfeitedBond(bidder_a, sender=stranger)
    assert tusd.balanceOf(agency) == before + BOND
    tender.withdrawBond(sender=bidder_b)
    assert tusd.balanceOf(tender) == 0


def test_disqualifying_the_awardee_withdraws_the_award(
    three_bids, chain, consortium, bidder_a, bidder_b
):
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    tender.disqualify(bidder_a, ZERO32, sender=consortium)
    assert tender.awardee()[0] == ZERO
    assert tender.stage() == Stage.RANKING
    with ape.reverts(tender.TenderWrongStage, expected=Stage.AWARDED, actual=Stage.RANKING):
        tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_a)


def test_evaluation_method_awards_any_eligible_bidder(
    chain, make_tender, fund, consortium, bidder_a, bidder_b, project
):
    tender = make_tender(method=AwardMethod.EVALUATION)
    fund(tender, bidder_a, bidder_b)
    a = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    b = commit(chain, tender, bidder_b, 48_000 * DUSD)[1]
    to_reveal(chain, tender)
    reveal(tender, bidder_a, a)
    reveal(tender, bidder_b, b)
    to_evaluation(chain, tender)
    report = keccak(text="quality-price evaluation report")
    tender.award(bidder_b, report, sender=consortium)
    tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_b)
    assert project.RecordingAgreement.at(tender.agreement()).price() == 48_000 * DUSD


@pytest.fixture
def evaluation_award(chain, make_tender, fund, consortium, bidder_a, bidder_b, bidder_c):
    """Evaluation method: A leads at 45k, the consortium awards B (48k), C bid 50k."""
    tender = make_tender(method=AwardMethod.EVALUATION)
    fund(tender, bidder_a, bidder_b, bidder_c)
    secrets = [
        commit(chain, tender, bidder, price)[1]
        for bidder, price in ((bidder_a, 45_000 * DUSD), (bidder_b, 48_000 * DUSD),
                              (bidder_c, 50_000 * DUSD))
    ]  # fmt: skip
    to_reveal(chain, tender)
    for bidder, secret in zip((bidder_a, bidder_b, bidder_c), secrets, strict=True):
        reveal(tender, bidder, secret)
    to_evaluation(chain, tender)
    tender.award(bidder_b, ZERO32, sender=consortium)
    return tender


def test_disqualifying_the_leader_while_another_holds_the_award_ranks_after_a_lapse(
    evaluation_award, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """The leader excluded while the award is pending: no ranking round can run during the
    award, so none opens then; if the award lapses, the round opens at the lapse, however
    late, and the remaining bids can still win (the tender does not fail with C eligible)."""
    tender = evaluation_award
    receipt = tender.disqualify(bidder_a, ZERO32, sender=consortium)
    assert receipt.events == [tender.BidderDisqualified(bidder_a, ZERO32)]
    assert tender.leader() == (ZERO, 0)
    assert tender.stage() == Stage.AWARDED
    _, accept_deadline = tender.awardee()
    chain.mine(timestamp=accept_deadline + 10 * REVEAL)  # long past any earlier round
    receipt = tender.recordLapse(sender=stranger)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [tender.AwardLapsed(bidder_b), tender.RankingOpened(deadline)]
    assert tender.stage() == Stage.RANKING
    tender.claimRank(bidder_c, sender=stranger)
    chain.mine(timestamp=deadline + 1)
    assert tender.stage() == Stage.EVALUATION
    tender.award(bidder_c, ZERO32, sender=consortium)
    tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_c)
    assert tender.stage() == Stage.CONTRACTED


def test_disqualifying_the_awardee_after_the_leader_opens_a_ranking_round(
    evaluation_award, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """Within B's acceptance window: disqualifying the awardee withdraws the award and, the
    leader being gone, opens a ranking round; B's bond is then refundable."""
    tender = evaluation_award
    tender.disqualify(bidder_a, ZERO32, sender=consortium)
    chain.mine(timestamp=chain.blocks.head.timestamp + WINDOW // 2)
    assert tender.stage() == Stage.AWARDED
    receipt = tender.disqualify(bidder_b, ZERO32, sender=consortium)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [
        tender.BidderDisqualified(bidder_b, ZERO32),
        tender.RankingOpened(deadline),
    ]
    assert tender.awardee()[0] == ZERO
    assert tender.stage() == Stage.RANKING
    assert not tender.hasLapsed(bidder_b)
    tender.claimRank(bidder_c, sender=stranger)
    chain.mine(timestamp=deadline + 1)
    tender.award(bidder_c, ZERO32, sender=consortium)
    assert tender.awardee()[0] == bidder_c.address
    tender.withdrawBond(sender=bidder_b)  # disqualified in time: its bond comes back


def test_disqualifying_a_lapsed_awardee_records_the_lapse_first(
    evaluation_award, chain, tusd, agency, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """Past B's acceptance window (stage AwardLapsed, nobody called recordLapse), disqualifying
    B records the lapse first: B's bond stays forfeited and the disqualification only records
    the reasons. (Before the fix the disqualification made the defaulting awardee's bond
    refundable, and the events were BidderDisqualified, RankingOpened.)"""
    tender = evaluation_award
    tender.disqualify(bidder_a, ZERO32, sender=consortium)
    chain.mine(timestamp=chain.blocks.head.timestamp + 2 * REVEAL)
    assert tender.stage() == Stage.AWARD_LAPSED
    reason = keccak(text="did not sign")
    receipt = tender.disqualify(bidder_b, reason, sender=consortium)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [
        tender.AwardLapsed(bidder_b),
        tender.RankingOpened(deadline),
        tender.BidderDisqualified(bidder_b, reason),
    ]
    assert tender.awardee()[0] == ZERO
    assert tender.stage() == Stage.RANKING
    assert tender.hasLapsed(bidder_b)
    assert tender.isDisqualified(bidder_b)
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_b):
        tender.withdrawBond(sender=bidder_b)
    before = tusd.balanceOf(agency)
    tender.claimForfeitedBond(bidder_b, sender=stranger)
    assert tusd.balanceOf(agency) == before + BOND
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_b):
        tender.disqualify(bidder_b, ZERO32, sender=consortium)
    tender.claimRank(bidder_c, sender=stranger)
    chain.mine(timestamp=deadline + 1)
    tender.award(bidder_c, ZERO32, sender=consortium)
    assert tender.awardee()[0] == bidder_c.address


def test_disqualifying_a_rival_of_a_lapsed_awardee_records_the_lapse_first(
    three_bids, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """AwardLapsed, disqualifying another bidder: the lapse is recorded (A's bond forfeited,
    a ranking round opens since A led), then the rival is disqualified in that round."""
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    chain.mine(timestamp=tender.awardee()[1] + 1)
    receipt = tender.disqualify(bidder_c, ZERO32, sender=consortium)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [
        tender.AwardLapsed(bidder_a),
        tender.RankingOpened(deadline),
        tender.BidderDisqualified(bidder_c, ZERO32),
    ]
    assert tender.hasLapsed(bidder_a)
    assert tender.stage() == Stage.RANKING
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_a):
        tender.withdrawBond(sender=bidder_a)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_c):
        tender.claimRank(bidder_c, sender=stranger)
    tender.claimRank(bidder_b, sender=stranger)


def test_acceptance_checks_awardee_and_plan(three_bids, consortium, bidder_a, bidder_b):
    tender = three_bids
    plan = [m.as_tuple() for m in PLAN]
    with ape.reverts(tender.TenderWrongStage, expected=Stage.AWARDED, actual=Stage.EVALUATION):
        tender.acceptAward(plan, sender=bidder_a)
    tender.award(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderNotAwardee, caller=bidder_b, awardee=bidder_a):
        tender.acceptAward(plan, sender=bidder_b)
    other = [(5_000, 1, ZERO32), (5_000, 2, ZERO32)]
    with ape.reverts(tender.TenderPlanMismatch, expected=plan_hash(PLAN)):
        tender.acceptAward(other, sender=bidder_a)
    tender.acceptAward(plan, sender=bidder_a)
    with ape.reverts(tender.TenderNotCancellable, stage=Stage.CONTRACTED):
        tender.cancel(ZERO32, sender=consortium)


# --------------------------------------------------------------------------------------------
# A withdrawn bond leaves the competition; a lapse comes before cancel; evaluation period
# --------------------------------------------------------------------------------------------


def test_a_bidder_that_withdrew_its_bond_cannot_be_ranked_or_paid_twice(
    three_bids, chain, tusd, agency, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """The High finding's route: A (45k) is awarded, C (47k) takes its bond back during the
    award, A lets the window pass; C may no longer claim a rank or be awarded, so it can never
    be paid its bond a second time on acceptance. B (48k) wins the round instead and the
    tender pays out exactly what it took in. (Before the fix C claimed, led, was awarded and
    acceptAward paid C's bond again: the tender became insolvent.)"""
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    tender.withdrawBond(sender=bidder_c)
    chain.mine(timestamp=tender.awardee()[1] + 1)
    assert tender.stage() == Stage.AWARD_LAPSED
    tender.recordLapse(sender=stranger)
    assert tender.stage() == Stage.RANKING
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_c):
        tender.claimRank(bidder_c, sender=stranger)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_c):
        tender.disqualify(bidder_c, ZERO32, sender=consortium)
    tender.claimRank(bidder_b, sender=stranger)
    chain.mine(timestamp=tender.rankingDeadline() + 1)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_c):
        tender.award(bidder_c, ZERO32, sender=consortium)
    tender.award(bidder_b, ZERO32, sender=consortium)
    receipt = tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_b)
    assert receipt.events.filter(tender.BondReturned) == [tender.BondReturned(bidder_b, BOND)]
    with ape.reverts(tender.TenderBondAlreadySettled, bidder=bidder_c):
        tender.withdrawBond(sender=bidder_c)
    tender.claimForfeitedBond(bidder_a, sender=stranger)
    assert tusd.balanceOf(tender) == 0  # three bonds in, three out: nothing owed, nothing short


def test_a_leader_that_withdraws_during_another_award_is_cleared(
    evaluation_award, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """Evaluation method: A leads, B holds the award. A takes its bond back and leaves: the
    lead is cleared, so the lapse of B's award opens a ranking round that A cannot enter,
    and A can no longer be awarded (nor lapse for free, with nothing left to forfeit)."""
    tender = evaluation_award
    assert tender.leader()[0] == bidder_a.address
    receipt = tender.withdrawBond(sender=bidder_a)
    assert receipt.events.filter(tender.BondWithdrawn) == [tender.BondWithdrawn(bidder_a, BOND)]
    assert tender.leader() == (ZERO, 0)
    chain.mine(timestamp=tender.awardee()[1] + 1)
    receipt = tender.recordLapse(sender=stranger)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [tender.AwardLapsed(bidder_b), tender.RankingOpened(deadline)]
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_a):
        tender.claimRank(bidder_a, sender=stranger)
    tender.claimRank(bidder_c, sender=stranger)
    chain.mine(timestamp=deadline + 1)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=bidder_a):
        tender.award(bidder_a, ZERO32, sender=consortium)
    tender.award(bidder_c, ZERO32, sender=consortium)


def test_a_non_leader_that_withdraws_keeps_the_lead_where_it_is(
    evaluation_award, consortium, bidder_a, bidder_c
):
    tender = evaluation_award
    tender.withdrawBond(sender=bidder_c)
    assert tender.leader() == (bidder_a.address, 45_000 * DUSD)
    assert tender.stage() == Stage.AWARDED


def test_cancel_during_a_lapse_records_the_lapse_first(
    three_bids, chain, tusd, agency, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    """Cancelling while the awardee's window has passed (AwardLapsed, nobody called
    recordLapse) keeps its bond forfeited; the others get theirs back. (Before the fix the
    cancellation returned the defaulting awardee's bond.)"""
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    chain.mine(timestamp=tender.awardee()[1] + 1)
    assert tender.stage() == Stage.AWARD_LAPSED
    reason = keccak(text="budget withdrawn")
    receipt = tender.cancel(reason, sender=consortium)
    deadline = chain.blocks.head.timestamp + REVEAL
    assert receipt.events == [
        tender.AwardLapsed(bidder_a),
        tender.RankingOpened(deadline),
        tender.TenderCancelled(reason),
    ]
    assert tender.stage() == Stage.CANCELLED
    assert tender.hasLapsed(bidder_a)
    with ape.reverts(tender.TenderBondForfeited, bidder=bidder_a):
        tender.withdrawBond(sender=bidder_a)
    before = tusd.balanceOf(agency)
    tender.claimForfeitedBond(bidder_a, sender=stranger)
    assert tusd.balanceOf(agency) == before + BOND
    tender.withdrawBond(sender=bidder_b)
    tender.withdrawBond(sender=bidder_c)
    assert tusd.balanceOf(tender) == 0


def test_cancel_within_the_window_returns_the_awardees_bond(three_bids, consortium, bidder_a):
    tender = three_bids
    tender.award(bidder_a, ZERO32, sender=consortium)
    receipt = tender.cancel(ZERO32, sender=consortium)
    assert receipt.events == [tender.TenderCancelled(ZERO32)]
    assert not tender.hasLapsed(bidder_a)
    tender.withdrawBond(sender=bidder_a)


def test_no_award_within_the_evaluation_period_fails_the_tender(
    three_bids, chain, tusd, consortium, bidder_a, bidder_b, bidder_c
):
    """Nothing locks the bonds forever: 60 days after the reveal deadline without an award
    the tender fails and every revealed bond is withdrawable. (Before, Evaluation lasted until
    the consortium decided, which it might never do.)"""
    tender = three_bids
    assert tender.EVALUATION_PERIOD() == 60 * 86400
    deadline = tender.revealDeadline() + 60 * 86400
    assert tender.evaluationDeadline() == deadline
    with ape.reverts(tender.TenderBondLocked, bidder=bidder_a, stage=Stage.EVALUATION):
        tender.withdrawBond(sender=bidder_a)
    chain.mine(timestamp=deadline)
    assert tender.stage() == Stage.EVALUATION
    chain.mine(timestamp=deadline + 1)
    assert tender.stage() == Stage.FAILED
    with ape.reverts(tender.TenderWrongStage, expected=Stage.EVALUATION, actual=Stage.FAILED):
        tender.award(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.EVALUATION, actual=Stage.FAILED):
        tender.disqualify(bidder_b, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderNotCancellable, stage=Stage.FAILED):
        tender.cancel(ZERO32, sender=consortium)
    for bidder in (bidder_a, bidder_b, bidder_c):
        tender.withdrawBond(sender=bidder)
    assert tusd.balanceOf(tender) == 0


def test_the_evaluation_period_restarts_after_a_ranking_round_and_a_lapse(
    three_bids, chain, consortium, stranger, bidder_a, bidder_b, bidder_c
):
    tender = three_bids
    tender.disqualify(bidder_a, ZERO32, sender=consortium)
    ranking = tender.rankingDeadline()
    assert tender.evaluationDeadline() == ranking + 60 * 86400
    tender.claimRank(bidder_c, sender=stranger)
    chain.mine(timestamp=ranking + 1)
    tender.award(bidder_c, ZERO32, sender=consortium)
    accept = tender.awardee()[1]
    assert tender.evaluationDeadline() == accept + 60 * 86400
    chain.mine(timestamp=accept + 1)
    tender.recordLapse(sender=stranger)  # C led: a new round opens
    ranking = tender.rankingDeadline()
    assert tender.evaluationDeadline() == ranking + 60 * 86400
    tender.claimRank(bidder_b, sender=stranger)
    chain.mine(timestamp=ranking + 60 * 86400)
    assert tender.stage() == Stage.EVALUATION
    chain.mine(timestamp=ranking + 60 * 86400 + 1)
    assert tender.stage() == Stage.FAILED
    tender.withdrawBond(sender=bidder_b)


def test_party_among_names_the_parties_of_the_procurement(
    three_bids, chain, make_tender, fund, consortium, agency, stranger, bidder_a, bidder_b, bidder_c
):
    """What the consortium asks to follow a conflict through the procurement: the tender
    itself, its buyer, anybody who committed a bid, later the agreement; the first of the
    candidates that is one, zero if none (zero candidates are skipped)."""
    t = three_bids
    assert t.partyAmong([]) == ZERO
    assert t.partyAmong([stranger, ZERO, consortium]) == ZERO
    assert t.partyAmong([stranger, t.address]) == t.address
    assert t.partyAmong([agency, bidder_a]) == agency.address
    assert t.partyAmong([ZERO, stranger, bidder_c, bidder_b]) == bidder_c.address
    # a committed bid counts, revealed or not; another tender is not a party
    other = make_tender()
    fund(other, stranger)
    commit(chain, other, stranger, 1)
    assert other.partyAmong([stranger]) == stranger.address
    assert t.partyAmong([other.address, stranger]) == ZERO
    t.award(bidder_a, ZERO32, sender=consortium)
    t.acceptAward([m.as_tuple() for m in PLAN], sender=bidder_a)
    agreement = t.agreement()
    assert t.partyAmong([stranger, agreement]) == agreement


# --------------------------------------------------------------------------------------------
# Guards: stages, callers, initialisation
# --------------------------------------------------------------------------------------------


def test_bidding_and_reveal_deadlines(chain, tender, fund, bidder_a, bidder_b):
    fund(tender, bidder_a, bidder_b)
    secret = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    with ape.reverts(tender.TenderRevealTooEarly, biddingDeadline=tender.biddingDeadline()):
        reveal(tender, bidder_a, secret)
    to_reveal(chain, tender)
    with ape.reverts(tender.TenderBidTooLate, deadline=tender.biddingDeadline()):
        tender.commitBid(keccak(text="late"), sender=bidder_b)
    with ape.reverts(tender.TenderNoCommitment, bidder=bidder_b):
        tender.revealBid(1, ZERO32, ZERO32, sender=bidder_b)
    reveal(tender, bidder_a, secret)
    with ape.reverts(tender.TenderAlreadyRevealed, bidder=bidder_a):
        reveal(tender, bidder_a, secret)
    to_evaluation(chain, tender)
    with ape.reverts(tender.TenderRevealTooLate, revealDeadline=tender.revealDeadline()):
        tender.revealBid(1, ZERO32, ZERO32, sender=bidder_b)


def test_error_arguments_carry_the_time(chain, tender, fund, bidder_a):
    fund(tender, bidder_a)
    chain.pending_timestamp = tender.biddingDeadline() + 100
    now = chain.pending_timestamp
    with ape.reverts(tender.TenderBidTooLate, deadline=tender.biddingDeadline(), now_=now):
        tender.commitBid(keccak(text="late"), sender=bidder_a)


def test_only_the_consortium_decides(three_bids, stranger, agency, bidder_a):
    tender = three_bids
    for call, args in (
        (tender.award, (bidder_a, ZERO32)),
        (tender.disqualify, (bidder_a, ZERO32)),
        (tender.cancel, (ZERO32,)),
    ):
        for caller in (stranger, agency):
            with ape.reverts(tender.TenderNotConsortium, caller=caller):
                call(*args, sender=caller)


def test_award_and_disqualify_need_the_right_stage(
    chain, tender, fund, consortium, bidder_a, stranger
):
    fund(tender, bidder_a)
    secret = commit(chain, tender, bidder_a, 45_000 * DUSD)[1]
    with ape.reverts(tender.TenderWrongStage, expected=Stage.EVALUATION, actual=Stage.BIDDING):
        tender.award(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.EVALUATION, actual=Stage.BIDDING):
        tender.disqualify(bidder_a, ZERO32, sender=consortium)
    with ape.reverts(tender.TenderWrongStage, expected=Stage.RANKING, actual=Stage.BIDDING):
        tender.claimRank(bidder_a, sender=stranger)
    to_reveal(chain, tender)
    reveal(tender, bidder_a, secret)
    to_evaluation(chain, tender)
    with ape.reverts(tender.TenderBidderNotEligible, bidder=stranger):
        tender.award(stranger, ZERO32, sender=consortium)


def test_only_the_registry_initialises_once(tender, registry, stranger, accounts, chain):
    with ape.reverts(tender.TenderNotRegistry, caller=stranger):
        tender.initialize(sender=stranger)
    chain.set_balance(registry.address, 10**18)
    as_registry = accounts[registry.address]
    with ape.reverts(tender.TenderAlreadyInitialized):
        tender.initialize(sender=as_registry)


def test_the_implementation_is_not_a_tender(registry, project, bidder_a):
    implementation = project.Tender.at(registry.tenderImplementation())
    with ape.reverts(implementation.TenderNotInitialized):
        implementation.stage()
    with ape.reverts(implementation.TenderNotInitialized):
        implementation.commitBid(keccak(text="x"), sender=bidder_a)


def test_a_signer_that_does_not_sign_deterministically_is_refused(chain, tender, bidder_a):
    class Randomised:
        address = bidder_a.address
        calls = 0

        def sign_message(self, message):
            self.calls += 1
            return (
                bidder_a.sign_message(message)
                if self.calls == 1
                else bidder_a.sign_message(message.model_copy(update={"nonce": 99}))
            )

    with pytest.raises(ProcurechainError, match="does not sign deterministically"):
        bid_salt(Randomised(), chain.chain_id, str(tender.address), 0, check=True)
