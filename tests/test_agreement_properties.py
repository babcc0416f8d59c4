"""Agreement under random sequences of every step: the money is conserved, nothing is stranded.

A Python model predicts each step's outcome (success or revert) and every credit; after every
step the contract must agree with it, hold exactly what it owes, and no party may ever have been
credited more than the model says it is owed. Each example runs on a fresh clone with random
price, terms and plan, so no chain snapshot is needed: a reverted call is refused at gas
estimation and leaves the chain as it was.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import ape
from eth_utils import keccak
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from web3.exceptions import ContractCustomError

from procurechain.agreement import AgreementStatus as Status
from procurechain.agreement import MilestoneState as State
from procurechain.errors import decode_revert

BPS = 10_000
DAY = 86_400
EVIDENCE = keccak(text="evidence")
REASON = keccak(text="reason")

SUCCEEDED: Counter[str] = Counter()  # successful calls by function, over the whole run
SETTINGS = settings(max_examples=20, stateful_step_count=30, deadline=None)


@dataclass
class Model:
    """What the agreement should hold, computed independently of the contract."""

    price: int
    retention_bps: int
    warranty: int
    rate: int
    cap: int
    amounts: list[int]
    dues: list[int]  # from creation until funded, then moved by the funding delay
    created: int
    status: Status = Status.UNFUNDED
    funded: bool = False
    states: list[State] = field(default_factory=list)
    submitted_at: list[int] = field(default_factory=list)
    escrowed: int = 0
    retention: int = 0
    settled: int = 0
    warranty_ends: int = 0
    entitled: dict[str, int] = field(default_factory=dict)  # credited in total, per account
    withdrawn: dict[str, int] = field(default_factory=dict)
    earned: int = 0  # the supplier's share of settled work (accepted / resolved), before claims

    def credit(self, who: str, amount: int) -> None:
        self.entitled[who] = self.entitled.get(who, 0) + amount

    def split(self, base: int, index: int) -> tuple[int, int, int]:
        """(paid, penalty, retention) of ``base`` (an accepted amount or a dispute's supplier
        share): retention, and the late penalty of the latest submission, both rounded down;
        the penalty never exceeds what is left after the retention."""
        late = max(0, self.submitted_at[index] - self.dues[index])
        days = -(-late // DAY)
        retention = base * self.retention_bps // BPS
        penalty = min(base * min(days * self.rate, self.cap) // BPS, base - retention)
        return base - retention - penalty, penalty, retention


def test_money_is_conserved_under_random_steps(
    accounts, deployer, project, agency, bidder_a, stranger
):
    consortium = accounts[10]
    buyer, supplier = agency, bidder_a
    token = deployer.deploy(project.DemoStablecoin, deployer)
    token.mint(buyer, 10**30, sender=deployer)
    implementation = deployer.deploy(project.Agreement)
    factory = deployer.deploy(project.TestAgreementFactory, implementation)
    parties = {"buyer": buyer, "supplier": supplier, "stranger": stranger}

    class AgreementMachine(RuleBasedStateMachine):
        @initialize(
            price=st.integers(1, 10**12),
            retention_bps=st.sampled_from([0, 1, 500, 777, 10_000]),
            warranty=st.sampled_from([0, DAY, 90 * DAY]),
            rate=st.sampled_from([0, 50, 333, 10_000]),
            cap=st.sampled_from([0, 1_000, 9_999, 10_000]),
            shares=st.lists(st.integers(1, 100), min_size=1, max_size=4),
            fund=st.sampled_from([True, True, True, False]),
        )
        def create(self, price, retention_bps, warranty, rate, cap, shares, fund):
            bps = [s * BPS // sum(shares) for s in shares]
            bps[-1] += BPS - sum(bps)
            plan = [(b, (i + 1) * 10 * DAY, keccak(text=f"m{i}")) for i, b in enumerate(bps)]
            terms = (retention_bps, warranty, rate, cap)
            receipt = factory.create(
                consortium, buyer, supplier, token, price, terms, plan, sender=deployer
            )
            address = receipt.events.filter(factory.AgreementCreated)[0].agreement
            self.agreement = project.Agreement.at(address)
            amounts = [price * b // BPS for b in bps[:-1]]
            amounts.append(price - sum(amounts))
            created = self.agreement.createdAt()
            self.model = Model(
                price=price,
                retention_bps=retention_bps,
                warranty=warranty,
                rate=rate,
                cap=cap,
                amounts=amounts,
                dues=[created + offset for _, offset, _ in plan],
                created=created,
                states=[State.PENDING] * len(plan),
                submitted_at=[0] * len(plan),
            )
            self.start = {name: token.balanceOf(a) for name, a in parties.items()}
            self.steps = 0
            if fund:  # most examples start funded, so the steps reach the milestones
                self.fund()

        # ---------------------------------------------------------------- helpers

        def attempt(self, ok, method, *args, sender):
            """Send the call if the model expects success; else check it reverts with an
            Agreement error (a plain eth_call: a reverted transaction leaves nothing behind)."""
            if ok:
                event(f"{method.abis[0].name} succeeds")
                SUCCEEDED[method.abis[0].name] += 1
                return method(*args, sender=sender)
            request = {"to": method.contract.address, "from": sender.address}
            request["data"] = method.encode_input(*args)
            try:
                ape.chain.provider.web3.eth.call(request)
            except ContractCustomError as err:
                decoded = decode_revert(bytes.fromhex(err.data[2:]))
                assert decoded and decoded[0].startswith("Agreement"), decoded
                return None
            raise AssertionError(f"{method} {args} succeeded; the model expected a revert")

        def pick(self, data, *states):
            """Mostly a milestone in one of ``states``; sometimes any index, even one too far."""
            m = self.model
            fitting = [i for i, state in enumerate(m.states) if state in states]
            if fitting and data.draw(st.sampled_from([True, True, True, True, False]), label="aim"):
                return data.draw(st.sampled_from(fitting), label="index")
            return data.draw(st.integers(0, len(m.amounts)), label="index")

        def can(self, *states):
            return self.active() and any(state in states for state in self.model.states)

        def active(self):
            return self.model.status == Status.ACTIVE

        def settle(self, receipt):
            m = self.model
            m.settled += 1
            if m.settled == len(m.amounts):
                m.warranty_ends = receipt.timestamp + m.warranty
                if m.retention == 0:
                    m.status = Status.COMPLETED

        # ---------------------------------------------------------------- rules

        @precondition(lambda self: self.model.status == Status.UNFUNDED)
        @rule()
        def fund(self):
            m = self.model
            ok = m.status == Status.UNFUNDED
            token.approve(self.agreement, m.price, sender=buyer)
            receipt = self.attempt(ok, self.agreement.fund, m.price, sender=buyer)
            if receipt:
                m.status = Status.ACTIVE
                m.escrowed = m.price
                m.funded = True
                # due dates count from funding: the buyer's delay is not the supplier's
                m.dues = [due + receipt.timestamp - m.created for due in m.dues]

        @precondition(lambda self: self.can(State.PENDING, State.REJECTED))
        @rule(data=st.data())
        def submit(self, data):
            m = self.model
            index = self.pick(data, State.PENDING, State.REJECTED)
            ok = (
                self.active()
                and index < len(m.amounts)
                and m.states[index] in (State.PENDING, State.REJECTED)
            )
            receipt = self.attempt(
                ok, self.agreement.submit, index, EVIDENCE, "ipfs://e", sender=supplier
            )
            if receipt:
                m.states[index] = State.SUBMITTED
                m.submitted_at[index] = receipt.timestamp

        @precondition(lambda self: self.can(State.SUBMITTED))
        @rule(data=st.data())
        def accept(self, data):
            m = self.model
            index = self.pick(data, State.SUBMITTED)
            ok = self.active() and index < len(m.amounts) and m.states[index] == State.SUBMITTED
            receipt = self.attempt(ok, self.agreement.acceptMilestone, index, sender=consortium)
            if not receipt:
                return
            amount = m.amounts[index]
            paid, penalty, retention = m.split(amount, index)
            event = receipt.events.filter(self.agreement.MilestoneAccepted)[0]
            assert (event.paid, event.penalty, event.retention) == (paid, penalty, retention)
            m.states[index] = State.ACCEPTED
            m.escrowed -= amount
            m.retention += retention
            m.earned += amount - penalty
            m.credit("supplier", paid)
            m.credit("buyer", penalty)
            self.settle(receipt)

        @precondition(lambda self: self.can(State.SUBMITTED))
        @rule(data=st.data())
        def reject(self, data):
            m = self.model
            index = self.pick(data, State.SUBMITTED)
            ok = self.active() and index < len(m.amounts) and m.states[index] == State.SUBMITTED
            if self.attempt(ok, self.agreement.rejectMilestone, index, REASON, sender=consortium):
                m.states[index] = State.REJECTED

        @precondition(lambda self: self.can(State.SUBMITTED, State.REJECTED))
        @rule(data=st.data(), by=st.sampled_from(["buyer", "supplier", "buyer", "stranger"]))
        def dispute(self, data, by):
            m = self.model
            index = self.pick(data, State.SUBMITTED, State.REJECTED)
            ok = (
                self.active()
                and by != "stranger"
                and index < len(m.amounts)
                and m.states[index] in (State.SUBMITTED, State.REJECTED)
            )
            if self.attempt(ok, self.agreement.dispute, index, REASON, sender=parties[by]):
                m.states[index] = State.DISPUTED

        @precondition(lambda self: self.can(State.DISPUTED))
        @rule(
            data=st.data(),
            bps=st.one_of(st.sampled_from([0, 5_000, 10_000, 10_001]), st.integers(0, BPS)),
        )
        def resolve(self, data, bps):
            m = self.model
            index = self.pick(data, State.DISPUTED)
            ok = (
                self.active()
                and bps <= BPS
                and index < len(m.amounts)
                and m.states[index] == State.DISPUTED
            )
            receipt = self.attempt(
                ok, self.agreement.resolveDispute, index, bps, REASON, sender=consortium
            )
            if not receipt:
                return
            amount = m.amounts[index]
            share = amount * bps // BPS
            # a dispute cannot waive the late penalty: it applies to the supplier's share
            paid, penalty, retention = m.split(share, index)
            event = receipt.events.filter(self.agreement.DisputeResolved)[0]
            assert (event.paid, event.penalty, event.retention, event.refunded) == (
                paid,
                penalty,
                retention,
                amount - share,
            )
            m.states[index] = State.RESOLVED
            m.escrowed -= amount
            m.retention += retention
            m.earned += share - penalty
            m.credit("supplier", paid)
            m.credit("buyer", penalty + amount - share)
            self.settle(receipt)

        @precondition(lambda self: self.active() and self.model.retention > 0)
        @rule(fraction=st.sampled_from([0, 1, 2, 4]))
        def claim_warranty(self, fraction):
            m = self.model
            amount = m.retention * fraction // 4 if fraction else 0
            now = ape.chain.pending_timestamp
            over = m.settled == len(m.amounts) and now >= m.warranty_ends
            ok = self.active() and not over and 0 < amount <= m.retention
            if self.attempt(ok, self.agreement.claimWarranty, amount, REASON, sender=consortium):
                m.retention -= amount
                m.credit("buyer", amount)
                if m.settled == len(m.amounts) and m.retention == 0:
                    m.status = Status.COMPLETED

        @precondition(lambda self: self.active() and self.model.settled == len(self.model.amounts))
        @rule()
        def release_retention(self):
            m = self.model
            now = ape.chain.pending_timestamp
            ok = self.active() and m.settled == len(m.amounts) and now >= m.warranty_ends
            if self.attempt(ok, self.agreement.releaseRetention, sender=stranger):
                m.credit("supplier", m.retention)
                m.retention = 0
                m.status = Status.COMPLETED

        # late in the story only, so most examples get far before they may be cut short
        @precondition(
            lambda self: self.steps >= 12 and self.model.status in (Status.UNFUNDED, Status.ACTIVE)
        )
        @rule()
        def terminate(self):
            m = self.model
            ok = m.status in (Status.UNFUNDED, Status.ACTIVE)
            if self.attempt(ok, self.agreement.terminate, REASON, sender=consortium):
                m.credit("supplier", m.retention)
                m.credit("buyer", m.escrowed)
                m.retention = m.escrowed = 0
                m.status = Status.TERMINATED

        @precondition(lambda self: any(self.model.entitled.values()))
        @rule(who=st.sampled_from(["buyer", "supplier", "stranger"]))
        def withdraw(self, who):
            m = self.model
            owed = m.entitled.get(who, 0) - m.withdrawn.get(who, 0)
            if self.attempt(owed > 0, self.agreement.withdraw, sender=parties[who]):
                m.withdrawn[who] = m.withdrawn.get(who, 0) + owed

        # in any status (before funding, a late funding moves the due dates; after a
        # termination before funding it is the only step left)
        @rule(seconds=st.sampled_from([1, 3_600, DAY - 1, DAY, 7 * DAY, 45 * DAY, 100 * DAY]))
        def time_passes(self, seconds):
            ape.chain.mine(timestamp=ape.chain.pending_timestamp + seconds)

        # ---------------------------------------------------------------- invariants

        @invariant()
        def money_is_conserved(self):
            if not hasattr(self, "model"):
                return
            self.steps += 1
            m, a = self.model, self.agreement
            escrowed, retention = a.escrowed(), a.retentionHeld()
            owed = escrowed + retention + a.totalCredits()
            assert token.balanceOf(a) == owed == a.owed()
            assert (escrowed, retention) == (m.escrowed, m.retention)
            assert Status(a.status()) == m.status
            assert [State(a.milestone(i).state) for i in range(len(m.amounts))] == m.states
            assert [a.milestone(i).dueDate for i in range(len(m.amounts))] == m.dues
            # every unit of the price is escrowed, retained, or credited to a party
            credited = sum(m.entitled.values())
            assert m.escrowed + m.retention + credited == (m.price if m.funded else 0)

        @invariant()
        def nobody_receives_more_than_owed(self):
            if not hasattr(self, "model"):
                return
            m, a = self.model, self.agreement
            deposit = {"buyer": m.price if m.funded else 0}
            for name, account in parties.items():
                entitled, withdrawn = m.entitled.get(name, 0), m.withdrawn.get(name, 0)
                assert a.creditOf(account) == entitled - withdrawn
                received = token.balanceOf(account) - self.start[name] + deposit.get(name, 0)
                assert received == withdrawn <= entitled
            # the supplier is never paid for work that was not accepted or awarded in a dispute
            assert m.entitled.get("supplier", 0) <= m.earned
            assert m.entitled.get("stranger", 0) == 0

    run_state_machine_as_test(AgreementMachine, settings=SETTINGS)
    print(dict(SUCCEEDED))
