"""This chain's own flags (P001-P008) on real lifecycles on Anvil, and `ape run audit flags`.

Two deployments on this module's chain: a "troubled" one where each P flag has a reason to
fire (a bare-quorum award with a recused member, two tenders just under the cap, one winner
for every contract, a price near the budget, a late and disputed milestone, a lapsed award,
forfeited bonds), each next to a near miss that must not fire; and a "clean" one where none
has.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from eth_utils import keccak

from procurechain import agreement as ag
from procurechain import audit, catalog, flags
from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.calls import call_of
from procurechain.deploy import deploy_suite, devnet_config
from procurechain.deployments import deployed
from procurechain.devnet import move_to
from procurechain.flags.settings import P003
from procurechain.record import facts as chain_facts
from procurechain.record import packages
from procurechain.record.content import publish_text

from conftest import deployments_in

DUSD = 10**6
DAY = 86_400
HOSTILE = "Evil\nCorp \u202e<script>alert(1)</script>\x00"


class World:
    """One deployment of the suite and the lifecycles played on it."""

    def __init__(self, accounts, folder: Path) -> None:
        self.deployer = accounts[0]
        self.agency, self.auditor, self.citizen, self.technical, self.legal = accounts[1:6]
        self.a, self.b, self.c = accounts[6:9]
        with deployments_in(folder):
            deploy_suite(self.deployer, devnet_config(), force=True)
            self.registry = deployed("Registry")
            self.consortium = deployed("Consortium")
            self.token = deployed("Token")
        for account in (self.agency, self.a, self.b, self.c):
            self.token.mint(account, 500_000 * DUSD, sender=self.deployer)
        self.plans: dict[str, tuple[td.Milestone, ...]] = {}
        self.count = 0

    def now(self) -> int:
        from ape import chain

        return int(chain.pending_timestamp)

    def publish(self, budget: int, notice: str | None = None) -> object:
        """A tender of one milestone due 10 days after funding; 0.1%/day late penalty."""
        self.count += 1
        readable = catalog.notice_for(self.count, "the Parks department", 1)
        plan = (td.Milestone(10_000, 10 * DAY, readable.milestone_hash(0)),)
        now = self.now()
        spec = td.TenderSpec(
            token=str(self.token.address),
            budget=budget * DUSD,
            bond=500 * DUSD,
            bidding_deadline=now + 7 * DAY,
            reveal_deadline=now + 10 * DAY,
            acceptance_window=2 * DAY,
            notice=notice if notice is not None else readable.encode(),
            plan=plan,
            late_penalty_bps_per_day=10,
            late_penalty_cap_bps=1_000,
        )
        _, tender, _ = td.create_tender(self.registry, self.agency, spec)
        self.plans[str(tender.address)] = plan
        return tender

    def bid(self, tender, bidder, price: int) -> None:
        docs = keccak(text=f"bid of {bidder.address}")
        td.commit_bid(tender, bidder, price * DUSD, docs, permit_deadline=self.now() + DAY)

    def reveal(self, tender, bidder, price: int) -> None:
        td.reveal_bid(
            tender, bidder, price * DUSD, keccak(text=f"bid of {bidder.address}"), nonce=0
        )

    def decide(self, call, signers) -> None:
        proposal = cs.propose(self.consortium, call)
        for signer in signers:
            cs.sign(proposal, self.consortium, signer)
        cs.execute(proposal, self.consortium, signers[0])

    def award(self, tender, bidder, signers) -> None:
        self.decide(td.award_call(tender, str(bidder.address)), signers)

    def accept(self, tender, bidder) -> object:
        td.accept_award(tender, bidder, self.plans[str(tender.address)])
        agreement = ag.agreement_at(tender.agreement())
        ag.fund(agreement, self.agency)
        return agreement

    def declare_conflict(self, member, subject) -> None:
        reason = publish_text(self.registry, member, f"I advised {subject.address} last year.")
        self.consortium.declareConflict(subject, reason, sender=member)

    def findings(self, settings: flags.Settings | None = None, names=None) -> flags.Findings:
        """The flags of this deployment, computed as the portal computes them."""
        from ape import chain

        log = audit.collect(self.registry, self.consortium, names=names)
        facts = chain_facts.read(log, self.registry, pegged_to="USD")
        built = packages.build(log, facts, names=names)
        compiled = [p["records"][0]["compiledRelease"] for p in built.record_packages.values()]
        return flags.evaluate(
            compiled,
            log,
            facts.terms,
            settings,
            phase_cap=int(self.registry.phaseCap()),
            now=int(chain.blocks.head.timestamp),
            names=names,
        )


def move_past(timestamp: int, extra: int = 0) -> None:
    move_to(int(timestamp) + 1 + extra)


@pytest.fixture(scope="module")
def troubled(accounts, tmp_path_factory):
    """T1: 99,000 budget (cap 100,000), A at 98,000 awarded by exactly 3 signers while the
    technical expert is recused (conflict with A), C never reveals; A delivers 2 days late, the
    agency disputes, the consortium resolves. T2: 95,000 budget the same day, A at 90,000
    (94.7%: under P004's 95%) awarded by 4 signers, never accepted: the award lapses. T3: 10,000
    budget, A wins again (by 4 signers), and never delivers. Then the phase cap is raised to
    200,000 and T4 is published at 190,000, 31 days after T1 and T2: alone in its window."""
    w = World(accounts, tmp_path_factory.mktemp("troubled"))
    agency, citizen, legal, auditor = w.agency, w.citizen, w.legal, w.auditor
    w.declare_conflict(w.technical, w.a)
    t1, t2 = w.publish(99_000, notice=HOSTILE), w.publish(95_000)
    t3 = w.publish(10_000)
    w.bid(t1, w.a, 98_000)
    w.bid(t1, w.c, 97_000)
    w.bid(t2, w.a, 90_000)
    w.bid(t3, w.a, 6_000)
    move_past(t3.biddingDeadline())
    w.reveal(t1, w.a, 98_000)
    w.reveal(t2, w.a, 90_000)
    w.reveal(t3, w.a, 6_000)
    move_past(t3.revealDeadline())
    w.award(t1, w.a, [agency, citizen, legal])
    w.award(t2, w.a, [agency, citizen, legal, auditor])
    w.award(t3, w.a, [agency, citizen, legal, auditor])
    first = w.accept(t1, w.a)
    w.accept(t3, w.a)
    td.claim_forfeited_bond(t1, str(w.c.address), agency)
    move_past(t2.awardee()[1])
    td.record_lapse(t2, agency)
    td.claim_forfeited_bond(t2, str(w.a.address), agency)
    move_past(first.milestone(0).dueDate, extra=DAY)  # 2 started days late
    ag.submit(first, w.a, 0, keccak(text="delivery"), "")
    ag.dispute(first, agency, 0, publish_text(w.registry, agency, "Half is missing."))
    resolve = ag.resolve_call(first, 0, 8_000, publish_text(w.registry, legal, "80% paid."))
    w.decide(resolve, [auditor, legal, citizen])
    # the cap rises to 200,000: T1 and T2 stay judged against the 100,000 of their day, and
    # T4 at 190,000, published 31 days after them, is alone near the new cap in its window
    w.decide(call_of(w.registry, "raisePhaseCap", 200_000 * DUSD), [agency, citizen, legal])
    move_past(t2.biddingDeadline() - 7 * DAY + 31 * DAY)
    t4 = w.publish(190_000)
    return w, {"T1": t1, "T2": t2, "T3": t3, "T4": t4}


@pytest.fixture(scope="module")
def clean(accounts, tmp_path_factory):
    """T4: 40,000, A at 30,000 and B at 32,000, awarded to A by 4 signers (the technical
    expert, in conflict with A, stands aside, but the decision did not rest on a bare quorum),
    delivered on time and accepted. T5: 92,000 (the only tender near the cap), B at 50,000 and
    C at 55,000, awarded to B by exactly 3 signers with nobody recused."""
    w = World(accounts, tmp_path_factory.mktemp("clean"))
    agency, citizen, legal, auditor = w.agency, w.citizen, w.legal, w.auditor
    w.declare_conflict(w.technical, w.a)
    t4, t5 = w.publish(40_000), w.publish(92_000)
    w.bid(t4, w.a, 30_000)
    w.bid(t4, w.b, 32_000)
    w.bid(t5, w.b, 50_000)
    w.bid(t5, w.c, 55_000)
    move_past(t5.biddingDeadline())
    for tender, bidder, price in ((t4, w.a, 30_000), (t4, w.b, 32_000), (t5, w.b, 50_000),
                                  (t5, w.c, 55_000)):  # fmt: skip
        w.reveal(tender, bidder, price)
    move_past(t5.revealDeadline())
    w.award(t4, w.a, [agency, citizen, legal, auditor])
    w.award(t5, w.b, [agency, citizen, legal])
    fourth = w.accept(t4, w.a)
    w.accept(t5, w.b)
    for tender, bidder in ((t4, w.b), (t5, w.c)):
        td.withdraw_bond(tender, bidder)
    ag.submit(fourth, w.a, 0, keccak(text="on time"), "")
    w.decide(ag.accept_call(fourth, 0), [auditor, agency, citizen])
    return w, {"T4": t4, "T5": t5}


def chain_flags(findings: flags.Findings) -> list[flags.Flag]:
    return [f for f in findings.flags if f.code.startswith("P")]


def test_each_chain_flag_fires_where_it_should_and_only_there(troubled):
    w, _ = troubled
    settings = replace(flags.Settings(), p003=P003(minimum_awards=2))
    found = chain_flags(w.findings(settings))
    ids = {name: i + 1 for i, name in enumerate(("T1", "T2", "T3"))}
    a, c, agency = str(w.a.address), str(w.c.address), str(w.agency.address)
    assert sorted((f.code, f.tender_id, f.party) for f in found) == [
        ("P001", ids["T1"], a),
        ("P002", ids["T1"], agency),
        ("P002", ids["T2"], agency),
        ("P003", None, agency),
        ("P004", ids["T1"], a),
        ("P005", ids["T1"], a),
        ("P005", ids["T3"], a),  # funded, never delivered: overdue
        ("P006", ids["T1"], a),
        ("P007", ids["T2"], a),
        ("P008", ids["T1"], c),
        ("P008", ids["T2"], a),
    ]
    by = {(f.code, f.tender_id): f for f in found}
    assert by[("P001", 1)].value == 1.0  # one member recused
    assert by[("P002", 1)].value == pytest.approx(0.99)
    assert by[("P002", 2)].value == pytest.approx(0.95)
    assert by[("P003", None)].value == 1.0  # A won both contracts
    assert by[("P004", 1)].value == pytest.approx(98 / 99)
    assert (by[("P005", 1)].value, by[("P006", 1)].value, by[("P007", 2)].value) == (1, 1, 1)
    assert by[("P008", 2)].value == 500.0  # dUSD forfeited in that process


def test_the_evidence_states_the_figures_in_words(troubled):
    w, _ = troubled
    found = {f.code: f for f in chain_flags(w.findings(None)) if f.tender_id in (1, None)}
    assert "was signed by exactly 3, the fewest the consortium accepts" in found["P001"].evidence
    assert "1 member had to stand aside for a declared conflict" in found["P001"].evidence
    assert "99,000.00 dUSD, is 99% of the phase cap (100,000.00 dUSD)" in found["P002"].evidence
    assert "is at 98,000.00 dUSD, 98.9899% of the budget (99,000.00 dUSD)" in found["P004"].evidence
    assert "milestone 1 was delivered 2 started days late" in found["P005"].evidence
    assert "late penalty of 156.80 dUSD" in found["P005"].evidence  # 0.2% of 80% of 98,000
    overdue = next(f for f in w.findings(None).flags if (f.code, f.tender_id) == ("P005", 3))
    assert " overdue (due " in overdue.evidence and "not delivered as of" in overdue.evidence
    assert "80% of it to the supplier" in found["P006"].evidence
    assert "forfeited its bond of 500.00 dUSD" in found["P008"].evidence
    assert "it never revealed its bid" in found["P008"].evidence
    assert all(f.evidence.endswith(".") for f in found.values())


def test_p003_needs_enough_contracts_and_a_dominant_share(troubled):
    w, _ = troubled
    assert not [f for f in w.findings(None).flags if f.code == "P003"]  # 2 < the default 5
    lenient = replace(flags.Settings(), p003=P003(minimum_awards=2, threshold=1.0))
    assert [f.value for f in w.findings(lenient).flags if f.code == "P003"] == [1.0]


def test_nothing_fires_on_a_clean_history(clean):
    w, _ = clean
    settings = replace(flags.Settings(), p003=P003(minimum_awards=2))
    assert chain_flags(w.findings(settings)) == []


def test_hostile_names_and_notices_stay_inert(troubled):
    w, _ = troubled
    names = {str(w.a.address): HOSTILE, str(w.agency.address): "A" * 10_000}
    for flag in w.findings(None, names=names).flags:
        assert "\n" not in flag.evidence and "\u202e" not in flag.evidence
        assert "\x00" not in flag.evidence and len(flag.evidence) < 2_000
    rows = flags.to_rows(w.findings(None, names=names).flags)
    assert all(set(r) == {"code", "tender_id", "party", "value", "evidence"} for r in rows)


def test_the_command_prints_the_flags_and_writes_cardinals_shape(troubled, ape_run, tmp_path):
    w, _ = troubled
    settings = tmp_path / "flags.ini"
    settings.write_text("[R018]\n[R058]\n[P001]\n[P007]\n[P008]\n")
    out = tmp_path / "flags.json"
    result = ape_run(
        "audit", "flags", "--registry", str(w.registry.address), "--consortium",
        str(w.consortium.address), "--settings", str(settings), "--out", str(out),
    )  # fmt: skip
    lines = [line for line in result.stdout.splitlines() if not line.startswith("INFO")]
    first, second = str(w.registry.ocid(1)), str(w.registry.ocid(2))
    assert f"P001 Award by a bare quorum with recusals — {first} — The award to " in lines[2]
    assert lines[0].startswith(f"R018 Single bid received — {second} — Only one tenderer took")
    assert f"P007 Lapsed award — {second} — " in result.stdout
    assert lines[-1] == "6 flags on 3 of 4 processes (P001, P007, P008, R018, R058 computed)"
    document = json.loads(out.read_text())
    assert set(document) == {"OCID", "Meta", "Maps"}
    assert document["OCID"][first] == {"P001": 1.0, "P008": 500.0}
    assert document["OCID"][second] == {"R018": 1.0, "P007": 1.0, "P008": 500.0}
    assert document["Maps"]["ocid_tenderer_p008"] == {
        first: [str(w.c.address)],
        second: [str(w.a.address)],
    }
    # no process has two valid bids and a final award: no ratio, statistics of nothing
    assert document["Meta"] == {"R058": {"q1": None, "q3": None, "upper_fence": None}}


def test_the_command_refuses_bad_settings_in_one_line(troubled, ape_run, tmp_path):
    w, _ = troubled
    bad = tmp_path / "bad.ini"
    bad.write_text("[R024]\nthreshold = lots\n")
    result = ape_run(
        "audit", "flags", "--registry", str(w.registry.address), "--consortium",
        str(w.consortium.address), "--settings", str(bad), expect_ok=False,
    )  # fmt: skip
    assert "Traceback" not in result.stdout + result.stderr
    assert f"Error: {bad}: [R024] threshold: 'lots' is not a number" in result.stderr
