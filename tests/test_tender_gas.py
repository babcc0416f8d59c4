"""Gas per bid and per award does not grow with the number of bidders (gas is deterministic).

Run with ``-s`` to see the figures. Targets (reported, not asserted): create <= 150k,
commit <= 60k, reveal <= 45k.
"""

import pytest
from eth_utils import keccak

from procurechain.bids import bid_salt, commitment
from procurechain.permit import sign_permit
from procurechain.tender import Milestone, Stage, TenderSpec

DUSD = 10**6
BUDGET = 50_000 * DUSD
BOND = 500 * DUSD
PLAN = (
    Milestone(4_000, 30 * 86400, keccak(text="20 benches delivered")),
    Milestone(4_000, 60 * 86400, keccak(text="20 more benches delivered")),
    Milestone(2_000, 75 * 86400, keccak(text="installation and inspection")),
)
DOC = keccak(text="bid documents")
ZERO32 = b"\x00" * 32
BIDDERS = 100


@pytest.fixture(scope="module")
def consortium(accounts):
    return accounts[10]


@pytest.fixture(scope="module")
def world(accounts, project, chain, consortium):
    """A registry, a token, and ``BIDDERS`` funded fresh bidder accounts."""
    deployer, agency = accounts[0], accounts[1]
    token = deployer.deploy(project.DemoStablecoin, deployer)
    agreement = deployer.deploy(project.RecordingAgreement)
    registry = deployer.deploy(
        project.Registry, consortium, agreement, token, 100_000 * DUSD, "ocds-pc0001"
    )
    registry.addAgency(agency, sender=consortium)
    bidders = [accounts.generate_test_account() for _ in range(BIDDERS)]
    for bidder in bidders:
        chain.set_balance(bidder.address, 10**20)
    return registry, token, agency, bidders


def spec(chain, token):
    now = chain.pending_timestamp
    return TenderSpec(
        token=str(token.address),
        budget=BUDGET,
        bond=BOND,
        bidding_deadline=now + 7 * 86400,
        reveal_deadline=now + 9 * 86400,
        acceptance_window=3 * 86400,
        notice="tender documents",
        plan=PLAN,
        retention_bps=500,
        warranty_period=90 * 86400,
        late_penalty_bps_per_day=10,
        late_penalty_cap_bps=1_000,
    )


def secret(chain, tender, bidder, price):
    salt = bid_salt(bidder, chain.chain_id, str(tender.address), 0)
    sealed = commitment(chain.chain_id, str(tender.address), bidder.address, price, salt, DOC)
    return sealed, (price, salt, DOC)


def within(a, b, share=0.02):
    return abs(a - b) <= share * max(a, b)


def test_gas_does_not_grow_with_bidders(world, chain, project, consortium, deployer):
    registry, token, agency, bidders = world
    gas = {}

    tenders = []
    for label in ("create (1st tender)", "create (2nd tender)"):
        plan = [m.as_tuple() for m in PLAN]
        receipt = registry.createTender(
            spec(chain, token).params(), plan, "tender documents", sender=agency
        )
        gas[label] = receipt.gas_used
        tenders.append(project.Tender.at(receipt.events.filter(registry.TenderCreated)[0].tender))
    tender, single = tenders  # the second tender gets a single bidder
    lone = bidders[0]
    token.mint(lone, BOND, sender=deployer)
    token.approve(single, BOND, sender=lone)
    sealed, lone_opening = secret(chain, single, lone, 40_000 * DUSD)
    single.commitBid(sealed, sender=lone)

    # descending prices: every reveal becomes the new leader (the dearer path)
    secrets = {}
    commits = []
    for n, bidder in enumerate(bidders):
        price = BUDGET - n * DUSD
        sealed, secrets[bidder] = secret(chain, tender, bidder, price)
        if n in (0, 1, BIDDERS - 1):
            # a bidder with more than the bond, approving more than the bond: no gas refunds
            token.mint(bidder, 10 * BOND, sender=deployer)
            token.approve(tender, 10 * BOND, sender=bidder)
            commits.append(tender.commitBid(sealed, sender=bidder).gas_used)
        else:
            token.mint(bidder, BOND, sender=deployer)
            deadline = chain.pending_timestamp + 3600
            v, r, s = sign_permit(token, bidder, str(tender.address), BOND, deadline)
            receipt = tender.commitBidWithPermit(sealed, deadline, v, r, s, sender=bidder)
            gas.setdefault("commit with permit (3rd)", receipt.gas_used)
            gas["commit with permit (99th)"] = receipt.gas_used
    gas["commit (1st)"], gas["commit (2nd)"], gas["commit (100th)"] = commits
    replaced, secrets[bidders[1]] = secret(chain, tender, bidders[1], BUDGET)
    gas["commit replacement"] = tender.commitBid(replaced, sender=bidders[1]).gas_used

    chain.mine(timestamp=tender.biddingDeadline() + 1)
    reveals = []
    for bidder in bidders:
        receipt = tender.revealBid(*secrets[bidder], sender=bidder)
        reveals.append(receipt.gas_used)
    gas["reveal (1st, leading)"] = reveals[0]
    gas["reveal (100th, leading)"] = reveals[-1]
    assert tender.leader() == (bidders[-1].address, BUDGET - (BIDDERS - 1) * DUSD)

    single.revealBid(*lone_opening, sender=lone)

    chain.mine(timestamp=single.revealDeadline() + 1)
    assert tender.stage() == Stage.EVALUATION
    gas["award (1 bidder)"] = single.award(lone, ZERO32, sender=consortium).gas_used
    receipt = tender.award(bidders[-1], ZERO32, sender=consortium)
    gas["award (100 bidders)"] = receipt.gas_used
    receipt = tender.acceptAward([m.as_tuple() for m in PLAN], sender=bidders[-1])
    gas["accept (agreement stub)"] = receipt.gas_used
    gas["withdraw bond"] = tender.withdrawBond(sender=bidders[0]).gas_used

    print()
    for name, used in gas.items():
        print(f"    {name:<28} {used:>8,}")

    # No gas grows with the number of bidders.
    assert gas["create (1st tender)"] == gas["create (2nd tender)"]
    assert within(gas["commit (2nd)"], gas["commit (100th)"])
    assert within(gas["reveal (1st, leading)"], gas["reveal (100th, leading)"])
    assert within(gas["award (1 bidder)"], gas["award (100 bidders)"])
    assert within(gas["commit with permit (3rd)"], gas["commit with permit (99th)"])
    # The very first commitment also creates the tender's balance slot in the ERC-20
    # (zero -> non-zero SSTORE: 22,100 instead of 5,000): 17,100 more, nothing else (give or
    # take 12 gas per zero byte of calldata, since every commitment is a random hash).
    assert abs(gas["commit (1st)"] - gas["commit (2nd)"] - 17_100) <= 12 * 8
