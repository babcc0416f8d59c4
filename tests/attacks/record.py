"""Record the attack histories of ``tests/fixtures/attacks/`` on the contracts of this checkout.

Run (it is not collected by ``ape test``, whose files are ``test_*.py``)::

    PATH=$PWD/.venv/bin:$PATH .venv/bin/ape test tests/attacks/record.py

Each test deploys the suite with ``procurechain.deploy.deploy_suite`` (the devnet consortium:
agency, auditor, citizen, technical, legal; 3 of 5; an auditor for acceptMilestone, a legal
expert for resolveDispute), performs one attack through the library with real EIP-712
signatures of the members (``procurechain.consortium``), asserts that it succeeded, and dumps
the deployment's :class:`procurechain.invariants.ChainHistory` as JSON to
``tests/fixtures/attacks/<name>.json``. The fixtures in the repository were recorded on commit
c654690 (the contracts before the review's fixes), where every attack succeeds; on fixed
contracts these tests fail at the step the fix refuses, which is the point.

Attacks:

double_bond
    A < B < C reveal, the consortium awards A; B withdraws its bond while A holds the award;
    A lets the window pass; recordLapse opens ranking; B claims rank and leads; B is awarded
    and accepts: BondReturned pays B's bond a second time.
recusal_at_agreement
    The technical expert declares a conflict with bidder X; X wins and accepts; the agreement
    is funded; acceptMilestone on X's agreement is signed by the technical expert, the
    auditor and the agency.
dispute_side_door
    The supplier delivers 3 days late, then disputes its own milestone; resolveDispute(0,
    10000) signed by agency, legal and citizen (no auditor): paid in full, no penalty.
governance_side_door
    Agency, citizen and legal (no auditor) run setMemberRoles(citizen, AUDITOR|CITIZEN); then
    acceptMilestone is signed by citizen, agency and technical, without the original auditor.
late_funding_penalty
    The buyer funds 10 days after the first due date; the supplier submits at once;
    acceptance (auditor, agency, citizen) charges a late penalty.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_utils import keccak

from procurechain import agreement as ag
from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.calls import Call, call_of
from procurechain.deploy import deploy_suite, devnet_config
from procurechain.devnet import move_to
from procurechain.invariants import ChainHistory

from conftest import DUSD, deployments_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "attacks"
DAY = 24 * 3600
AUDITOR, CITIZEN = 2, 4
PLAN = (
    td.Milestone(4_000, 30 * DAY, keccak(text="first half")),
    td.Milestone(6_000, 60 * DAY, keccak(text="second half")),
)


class Attack:
    """A fresh deployment, its accounts, and the library steps the attacks are made of."""

    def __init__(self, accounts: Any, chain: Any, folder: Path) -> None:
        self.chain = chain
        self.deployer, self.agency, self.auditor, self.citizen, self.technical, self.legal = (
            accounts[0:6]
        )
        self.a, self.b, self.c = accounts[6], accounts[7], accounts[8]
        with deployments_in(folder):
            self.manifest = deploy_suite(self.deployer, devnet_config(), force=True)
        from procurechain.deployments import deployed

        with deployments_in(folder):
            self.consortium = deployed("Consortium")
            self.registry = deployed("Registry")
            self.token = deployed("Token")
        self.token.mint(self.agency, 100_000 * DUSD, sender=self.deployer)
        for bidder in (self.a, self.b, self.c):
            self.token.mint(bidder, 1_000 * DUSD, sender=self.deployer)
        self.history = ChainHistory.from_manifest(chain.provider.uri, self.manifest)

    def now(self) -> int:
        return int(self.chain.provider.web3.eth.get_block("latest")["timestamp"])

    def decide(self, call: Call, signers: list[Any]) -> Any:
        """A consortium decision signed by ``signers`` and executed (all of them must count)."""
        proposal = cs.propose(self.consortium, call)
        for signer in signers:
            cs.sign(proposal, self.consortium, signer)
        state = cs.status(proposal, self.consortium)
        assert sorted(state.counted) == sorted(str(s.address) for s in signers), state
        return cs.execute(proposal, self.consortium, self.deployer)

    def publish(self, bids: list[tuple[Any, int]]) -> None:
        """A tender (budget 50,000, bond 500, 5 % retention, 0.1 %/day late, cap 10 %), the
        bids committed and revealed; the clock ends in Evaluation."""
        now = self.now()
        spec = td.TenderSpec(
            token=str(self.token.address),
            budget=50_000 * DUSD,
            bond=500 * DUSD,
            bidding_deadline=now + 7 * DAY,
            reveal_deadline=now + 10 * DAY,
            acceptance_window=5 * DAY,
            documents_hash=keccak(text="the tender"),
            plan=PLAN,
            retention_bps=500,
            warranty_period=90 * DAY,
            late_penalty_bps_per_day=10,
            late_penalty_cap_bps=1_000,
        )
        _, self.tender, _ = td.create_tender(self.registry, self.agency, spec)
        for bidder, price in bids:
            self.token.approve(self.tender, 500 * DUSD, sender=bidder)
            td.commit_bid(self.tender, bidder, price * DUSD, keccak(text=f"bid {price}"))
        move_to(int(self.tender.biddingDeadline()) + 1)
        for bidder, price in bids:
            td.reveal_bid(self.tender, bidder, price * DUSD, keccak(text=f"bid {price}"), nonce=0)
        move_to(int(self.tender.revealDeadline()) + 1)

    def award(self, bidder: Any, signers: list[Any]) -> None:
        self.decide(td.award_call(self.tender, str(bidder.address)), signers)

    def contract(self, supplier: Any, fund_delay: int | None = None) -> None:
        """The awardee accepts; the buyer funds (after ``fund_delay`` seconds if given)."""
        td.accept_award(self.tender, supplier, PLAN)
        self.agreement = ag.agreement_at(self.tender.agreement())
        if fund_delay is not None:
            move_to(self.now() + fund_delay)
        ag.fund(self.agreement, self.agency)

    def submit(self, supplier: Any, index: int) -> None:
        ag.submit(self.agreement, supplier, index, keccak(text=f"evidence {index}"), "ipfs://e")

    def dump(self, name: str) -> ChainHistory:
        self.history.extend()
        self.history.save(FIXTURES / f"{name}.json")
        return self.history


@pytest.fixture
def attack(accounts, chain, tmp_path):
    return Attack(accounts, chain, tmp_path / "deployments")


def test_record_double_bond(attack):
    x = attack
    x.publish([(x.a, 40_000), (x.b, 42_000), (x.c, 45_000)])
    x.award(x.a, [x.agency, x.auditor, x.citizen])
    td.withdraw_bond(x.tender, x.b)  # B is not the awardee: allowed while A holds the award
    move_to(int(x.tender.awardee()[1]) + 1)  # A lets the window pass
    td.record_lapse(x.tender, x.deployer)
    td.claim_rank(x.tender, str(x.b.address), x.b)
    td.claim_rank(x.tender, str(x.c.address), x.c)
    assert x.tender.leader()[0] == x.b.address
    move_to(int(x.tender.rankingDeadline()) + 1)
    x.award(x.b, [x.agency, x.auditor, x.citizen])
    receipt = td.accept_award(x.tender, x.b, PLAN)
    returned = list(receipt.decode_logs(x.tender.BondReturned))
    assert [int(e.amount) for e in returned] == [500 * DUSD]  # B's bond, a second time
    # A's forfeited bond and C's bond are owed; one bond is left.
    assert x.token.balanceOf(x.tender) == 500 * DUSD
    x.dump("double_bond")


def test_record_recusal_at_agreement(attack):
    x = attack
    x.consortium.declareConflict(x.a, keccak(text="advised X"), sender=x.technical)
    x.publish([(x.a, 40_000), (x.b, 42_000)])
    x.award(x.a, [x.agency, x.auditor, x.citizen])
    x.contract(x.a)
    x.submit(x.a, 0)
    x.decide(ag.accept_call(x.agreement, 0), [x.technical, x.auditor, x.agency])
    assert x.agreement.creditOf(x.a) > 0
    x.dump("recusal_at_agreement")


def test_record_dispute_side_door(attack):
    x = attack
    x.publish([(x.a, 40_000), (x.b, 42_000)])
    x.award(x.a, [x.agency, x.auditor, x.citizen])
    x.contract(x.a)
    move_to(int(x.agreement.milestone(0).dueDate) + 3 * DAY)
    x.submit(x.a, 0)  # 3 days late
    ag.dispute(x.agreement, x.a, 0, keccak(text="the supplier disputes its own milestone"))
    resolve = ag.resolve_call(x.agreement, 0, 10_000, keccak(text="full pay"))
    x.decide(resolve, [x.agency, x.legal, x.citizen])
    amount = 16_000 * DUSD  # 40 % of 40,000
    assert x.agreement.creditOf(x.a) == amount - amount * 500 // 10_000  # no penalty
    x.dump("dispute_side_door")


def test_record_governance_side_door(attack):
    x = attack
    x.publish([(x.a, 40_000), (x.b, 42_000)])
    x.award(x.a, [x.agency, x.auditor, x.citizen])
    x.contract(x.a)
    x.submit(x.a, 0)
    promote = call_of(
        x.consortium,
        "setMemberRoles",
        str(x.citizen.address),
        AUDITOR | CITIZEN,
        description="make the citizen an auditor",
    )
    x.decide(promote, [x.agency, x.citizen, x.legal])
    assert x.consortium.memberInfo(x.citizen)[1] == AUDITOR | CITIZEN
    x.decide(ag.accept_call(x.agreement, 0), [x.citizen, x.agency, x.technical])
    assert x.agreement.creditOf(x.a) > 0
    x.dump("governance_side_door")


def test_record_late_funding_penalty(attack):
    x = attack
    x.publish([(x.a, 40_000), (x.b, 42_000)])
    x.award(x.a, [x.agency, x.auditor, x.citizen])
    td.accept_award(x.tender, x.a, PLAN)
    x.agreement = ag.agreement_at(x.tender.agreement())
    move_to(int(x.agreement.milestone(0).dueDate) + 10 * DAY)
    ag.fund(x.agreement, x.agency)
    x.submit(x.a, 0)  # the day of funding
    receipt = x.decide(ag.accept_call(x.agreement, 0), [x.auditor, x.agency, x.citizen])
    accepted = list(receipt.decode_logs(x.agreement.MilestoneAccepted))
    assert int(accepted[0].penalty) > 0
    x.dump("late_funding_penalty")
