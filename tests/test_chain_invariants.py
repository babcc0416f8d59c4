"""The chain-derived invariants (procurechain/invariants/) catch the recorded attacks and pass
the reference scenario.

The fixtures in ``tests/fixtures/attacks/`` are chain histories recorded by
``tests/attacks/record.py`` on the contracts of commit c654690, where each attack succeeds;
checking them is pure Python. The live test runs the reference scenario (what ``ape run demo``
runs) on Anvil and checks the history after it: no violation.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from procurechain import invariants as inv
from procurechain.deployments import read_manifest
from procurechain.scenario import run_reference

from conftest import PROJECT, deployments_in

FIXTURES = Path(__file__).parent / "fixtures" / "attacks"
DAY = 24 * 3600


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def rules(violations: list[inv.Violation]) -> list[str]:
    return [v.rule for v in violations]


DUSD = 10**6
BOND = 500 * DUSD
AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16


# ------------------------------------------------------------------ recorded attacks (pure)


def test_double_bond_is_caught_as_a_second_settlement_and_a_tender_short_of_one_bond():
    history = load("double_bond")
    violations = inv.check(history)
    assert rules(violations) == ["b.double", "b.overpaid", "a.balance", "a.balance"]
    double, overpaid, by_transfers, by_read = violations
    assert double.amounts == {"amount": BOND, "first_amount": BOND, "settlements": 2}
    assert "BondReturned" in double.message and "after BondWithdrawn" in double.message
    assert overpaid.amounts == {"paid": 2 * BOND, "bond": BOND}
    # A (lapsed, forfeit not yet claimed) and C are still owed: 2 bonds; 1 is left.
    owed = {"balance": BOND, "expected": 2 * BOND, "held": 2, "bond": BOND}
    assert by_transfers.amounts == owed and by_transfers.tx == double.tx
    assert by_read.amounts == owed and by_read.tx == ""
    assert by_read.block == history["toBlock"]
    # people read token units with the symbol and the block's date; the figures stay exact
    tender = "Tender #1 0x6D544390Eb535d61e196c87d6B9c80dCD8628Acd"
    assert str(by_read) == (
        f"[a.balance] {tender} (balance read at block 30 at 2026-12-21T09:06:35Z): the token "
        "says it holds 500.00 dUSD but it owes 1,000.00 dUSD (2 bonds of 500.00 dUSD still held)"
    )
    assert str(overpaid).endswith(
        "sent 0x14dC79964da2C08b23698B3D3cc7Ca32193d9955 1,000.00 dUSD in all, more than its one "
        "bond of 500.00 dUSD"
    )
    assert "(BondReturned of 500.00 dUSD) after BondWithdrawn of 500.00 dUSD" in double.message


def test_a_history_whose_token_did_not_say_its_units_shows_base_units():
    history = load("double_bond")
    del history["tokenSymbol"], history["tokenDecimals"]  # as recorded before they were read
    by_read = inv.check(history)[-1]
    assert by_read.message.endswith(
        "the token says it holds 500,000,000 base units but it owes 1,000,000,000 base units "
        "(2 bonds of 500,000,000 base units still held)"
    )
    assert by_read.amounts == {"balance": BOND, "expected": 2 * BOND, "held": 2, "bond": BOND}


def test_a_payment_signed_by_a_member_recused_from_the_supplier_is_caught():
    violations = inv.check(load("recusal_at_agreement"))
    assert rules(violations) == ["d.recused"]
    (recused,) = violations
    amount = 16_000 * DUSD  # milestone 0: 40 % of 40,000; 5 % retention
    assert recused.amounts == {"paid": amount * 95 // 100}
    assert "MilestoneAccepted" in recused.message and "the supplier" in recused.message


def test_a_dispute_resolved_without_the_auditor_is_caught_and_its_full_pay_shown():
    violations = inv.check(load("dispute_side_door"))
    assert rules(violations) == ["d.roles"]
    amount = 16_000 * DUSD
    assert violations[0].amounts == {
        "paid": amount * 95 // 100,  # all but retention: the late penalty was waived
        "held": AGENCY | CITIZEN | LEGAL,
        "required": AUDITOR,
    }
    assert "DisputeResolved" in violations[0].message


def test_a_quorum_without_the_auditor_cannot_make_an_auditor():
    violations = inv.check(load("governance_side_door"))
    assert rules(violations) == ["e.roles", "e.self", "d.roles"]
    roles, self_named, payment = violations
    assert roles.amounts == {
        "held": AGENCY | CITIZEN | LEGAL,
        "required": AUDITOR | LEGAL,
        "missing": AUDITOR,
    }
    assert "setMemberRoles" in roles.message
    assert roles.tx == self_named.tx
    # The promotion is not recognised, so the citizen's signature brings no auditor role.
    assert payment.amounts == {
        "paid": 16_000 * DUSD * 95 // 100,
        "held": AGENCY | CITIZEN | TECHNICAL,
        "required": AUDITOR,
    }
    assert payment.block > roles.block


def test_a_penalty_for_the_buyers_delay_in_funding_is_caught():
    violations = inv.check(load("late_funding_penalty"))
    assert rules(violations) == ["f.days-late", "f.penalty"]
    days, penalty = violations
    assert days.amounts["days_late"] == 10 and days.amounts["expected_days_late"] == 0
    amounts = penalty.amounts
    assert amounts["penalty"] == 16_000 * DUSD * 10 * 10 // 10_000  # 10 days at 0.1 %/day
    assert amounts["funding_delay"] == 40 * DAY  # funded 10 days after the 30-day due date
    assert amounts["effective_due"] == amounts["scheduled_due"] + 40 * DAY
    assert amounts["scheduled_due"] < amounts["submitted"] <= amounts["effective_due"]
    assert penalty.message.endswith(
        "charged a late penalty of 160.00 dUSD on milestone 0 submitted at 2027-01-22T09:06:32Z, "
        "not after its due date counted from funding 2027-02-21T09:06:32Z (scheduled "
        "2027-01-12T09:06:32Z, funded 40 days after creation)"
    )
    assert "(block 25 at 2027-01-22T09:06:32Z, tx 0x" in penalty.message


def test_only_the_broken_rule_fires_and_pay_roles_is_a_real_parameter():
    # Without a role requirement to pay, the dispute side door breaks nothing else.
    assert inv.check(load("dispute_side_door"), pay_roles=0) == []
    # Requiring the legal expert too flags the recused-expert payment for roles as well.
    flagged = rules(inv.check(load("recusal_at_agreement"), pay_roles=AUDITOR | LEGAL))
    assert flagged == ["d.roles", "d.recused"]


def test_a_history_survives_json_and_every_sentence_names_contract_block_and_tx():
    for name in sorted(p.stem for p in FIXTURES.glob("*.json")):
        document = load(name)
        again = inv.ChainHistory.from_json(json.loads(json.dumps(document)))
        violations = inv.check(again)
        assert violations == inv.check(document) and violations, name
        for v in violations:
            assert v.rule in inv.RULES
            assert v.contract in v.message and f"block {v.block}" in v.message
            assert v.tx in v.message and "\n" not in v.message


def test_a_tampered_log_is_noticed():
    """The checker reads the events, not a model: change one amount and it says so."""
    history = load("recusal_at_agreement")
    credited = next(s.topic for s in inv.EVENTS if s.name == "Credited")
    log = next(g for g in history["logs"] if g["topics"][0] == credited)
    amount = int(log["data"][2:66], 16)
    log["data"] = "0x" + f"{amount + 1:064x}" + log["data"][66:]
    assert rules(inv.check(history)) == ["d.recused", "c.credit-balance"]


# ------------------------------------------------------------------ live, on Anvil


@pytest.fixture(scope="module")
def reference(chain, tmp_path_factory):
    """The reference scenario, its history extended after every step (as a state machine
    would), and checked after every step; the time of both is measured."""
    out = tmp_path_factory.mktemp("reference")
    state: dict = {"history": None, "extend": [], "check": [], "violations": []}

    def after_step(_step) -> None:
        if state["history"] is None:
            state["history"] = inv.ChainHistory.from_manifest(chain.provider.uri, read_manifest())
        started = time.perf_counter()
        state["history"].extend()
        state["extend"].append(time.perf_counter() - started)
        started = time.perf_counter()
        state["violations"] += inv.check(state["history"])
        state["check"].append(time.perf_counter() - started)

    with deployments_in(out / "deployments"):
        run_reference(out, after_step)
        state["manifest"] = read_manifest()
    return state


def test_the_reference_scenario_breaks_no_invariant_at_any_step(reference):
    history = reference["history"]
    assert reference["violations"] == [], "\n".join(map(str, reference["violations"]))
    assert len(reference["extend"]) >= 25  # one extend and one check per step
    events = inv.decode_events(history)
    names = {e.name for e in events}
    # The checker saw the whole procurement, so "no violation" means something.
    assert {"TenderCreated", "BondForfeited", "MilestoneAccepted", "DisputeResolved"} <= names
    assert {"Withdrawn", "ActionExecuted", "ConflictDeclared", "Transfer"} <= names
    assert len(history.to_json()["balances"]) == 2  # one tender, one agreement
    # the token's own units, read once from the chain, for the sentences
    assert (history.to_json()["tokenSymbol"], history.to_json()["tokenDecimals"]) == ("dUSD", 6)


def test_extending_step_by_step_gives_the_history_fetched_at_once(reference, chain):
    at_once = inv.ChainHistory.from_manifest(chain.provider.uri, reference["manifest"])
    at_once.extend(reference["history"].to_block)
    step_by_step = reference["history"].to_json()
    assert at_once.to_json()["logs"] == step_by_step["logs"]
    assert at_once.to_json()["transactions"] == step_by_step["transactions"]
    assert at_once.to_json()["balances"] == step_by_step["balances"]


def test_a_donation_to_the_tender_is_seen_live_and_a_reverted_chain_is_rewound(
    reference, chain, project, accounts
):
    """Tokens sent to a tender outside a bid are stuck there (nothing pays them out)."""
    history = reference["history"]
    token = project.DemoStablecoin.at(reference["manifest"]["contracts"]["Token"]["address"])
    (tender,) = [e.args["tender"] for e in inv.decode_events(history) if e.name == "TenderCreated"]
    logs_before = list(history.to_json()["logs"])
    snapshot = chain.snapshot()
    token.mint(tender, 7, sender=accounts[0])
    history.extend()
    (donation, read) = [v for v in inv.check(history) if v.rule == "a.balance"]
    assert donation.amounts == {"balance": 7, "expected": 0, "held": 0, "bond": 500 * DUSD}
    assert read.amounts == donation.amounts and read.tx == ""
    assert "the token says it holds 0.000007 dUSD but it owes 0.00 dUSD" in read.message
    chain.restore(snapshot)
    history.extend()  # the donation's block is gone: rewound, nothing is left of it
    assert history.to_json()["logs"] == logs_before
    assert history.to_json()["balances"][tender]["balance"] == 0
    assert inv.check(history) == []


def test_every_hard_coded_event_signature_is_declared_in_the_sources():
    """Read from contracts/*.sol (not from the compiled ABI): a renamed or retyped event
    would silently blind the checker. DisputeResolved is known in two shapes (without and
    with the late penalty); at least one must be declared."""
    structs = {"MilestonePlan": "(uint16,uint32,bytes32)"}
    declared = set()
    for source in (PROJECT / "contracts").glob("*.sol"):
        text = re.sub(r"//[^\n]*", "", source.read_text())
        for name, params in re.findall(r"\bevent\s+(\w+)\s*\(([^)]*)\)", text):
            types = [p.split()[0] for p in params.split(",") if p.strip()]
            types = [
                structs.get(t.removesuffix("[]"), t.removesuffix("[]"))
                + t[len(t.removesuffix("[]")) :]
                for t in types
            ]
            declared.add(f"{name}({','.join(types)})")
    declared.add("Transfer(address,address,uint256)")  # ERC-20, from OpenZeppelin
    ours = [spec.signature for spec in inv.EVENTS]
    missing = [s for s in ours if s not in declared and not s.startswith("DisputeResolved(")]
    assert missing == []
    assert any(s in declared for s in ours if s.startswith("DisputeResolved("))
