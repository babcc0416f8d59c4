"""Agreement gas: the figures issue 5 asks for, and accepting a milestone must not grow with
the plan. Run with ``-s`` to see the table."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from procurechain.permit import sign_permit

DAY = 86_400
PRICE = 50_000 * 10**6  # the reference benches contract, in dUSD base units
TERMS = (500, 90 * DAY, 50, 1_000)
EVIDENCE = keccak(text="evidence")
REASON = keccak(text="reason")


def plan_of(count: int) -> list[tuple[int, int, bytes]]:
    shares = [10_000 // count] * count
    shares[-1] += 10_000 - sum(shares)
    return [(share, (i + 1) * 30 * DAY, keccak(text=f"m{i}")) for i, share in enumerate(shares)]


@pytest.fixture
def setup(accounts, deployer, project, agency, bidder_a):
    consortium = accounts[10]
    token = deployer.deploy(project.DemoStablecoin, deployer)
    token.mint(agency, 10**18, sender=deployer)
    factory = deployer.deploy(project.TestAgreementFactory, deployer.deploy(project.Agreement))

    def make(count: int):
        receipt = factory.create(
            consortium, agency, bidder_a, token, PRICE, TERMS, plan_of(count), sender=deployer
        )
        address = receipt.events.filter(factory.AgreementCreated)[0].agreement
        return project.Agreement.at(address), receipt.gas_used

    return make, token, consortium, agency, bidder_a


def test_gas_per_step(setup):
    make, token, consortium, buyer, supplier = setup
    gas = {}
    agreement, gas["create (clone + initialize, 3 milestones)"] = make(3)
    token.approve(agreement, PRICE, sender=buyer)
    gas["fund (after approve)"] = agreement.fund(PRICE, sender=buyer).gas_used

    other, _ = make(3)
    deadline = ape.chain.pending_timestamp + 3600
    v, r, s = sign_permit(token, buyer, other.address, PRICE, deadline)
    gas["fund with permit"] = other.fundWithPermit(PRICE, deadline, v, r, s, sender=buyer).gas_used

    gas["submit"] = agreement.submit(0, EVIDENCE, "ipfs://e0", sender=supplier).gas_used
    gas["accept milestone"] = agreement.acceptMilestone(0, sender=consortium).gas_used
    agreement.submit(1, EVIDENCE, "ipfs://e1", sender=supplier)
    gas["reject milestone"] = agreement.rejectMilestone(1, REASON, sender=consortium).gas_used
    gas["dispute"] = agreement.dispute(1, REASON, sender=supplier).gas_used
    receipt = agreement.resolveDispute(1, 5_000, REASON, sender=consortium)
    gas["resolve dispute (50/50)"] = receipt.gas_used
    agreement.submit(2, EVIDENCE, "ipfs://e2", sender=supplier)
    gas["accept last milestone"] = agreement.acceptMilestone(2, sender=consortium).gas_used
    ape.chain.mine(timestamp=agreement.warrantyEndsAt())
    gas["release retention"] = agreement.releaseRetention(sender=supplier).gas_used
    gas["withdraw"] = agreement.withdraw(sender=supplier).gas_used
    gas["terminate (other agreement)"] = other.terminate(REASON, sender=consortium).gas_used

    for step, used in gas.items():
        print(f"{step:45} {used:>8,}")
    assert gas["accept milestone"] < 130_000
    assert gas["withdraw"] < 80_000


def test_accepting_a_milestone_does_not_grow_with_the_plan(setup):
    make, token, consortium, buyer, supplier = setup
    accept = {}
    for count in (1, 10, 50):
        agreement, created = make(count)
        token.approve(agreement, PRICE, sender=buyer)
        agreement.fund(PRICE, sender=buyer)
        index = count // 2  # a middle milestone: not the last, so no completion work
        agreement.submit(index, EVIDENCE, "ipfs://e", sender=supplier)
        accept[count] = agreement.acceptMilestone(index, sender=consortium).gas_used
        print(
            f"{count:>2} milestones: create {created:>9,}  accept milestone {index}: "
            f"{accept[count]:>7,}"
        )
    # the 1-milestone agreement settles its last milestone (warranty starts): that costs extra
    assert accept[10] == accept[50]
    assert accept[1] < accept[10] + 40_000
