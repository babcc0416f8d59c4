"""The audit log and `audit verify`: the reference scenario read back from chain events alone."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import replace

import click
import pytest

from procurechain import audit, display, ocds
from procurechain.deployments import deployed
from procurechain.errors import ProcurechainError
from procurechain.scenario import DUSD, run_reference

from conftest import deployments_in, load_script


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """The reference scenario played once on this module's chain; its manifest in a tmp dir."""
    out = tmp_path_factory.mktemp("demo")
    with deployments_in(out / "deployments"):
        result = run_reference(out)
        yield result, deployed("Registry"), deployed("Consortium"), deployed("Token")


@pytest.fixture(scope="module")
def log(scenario):
    result, registry, consortium, _ = scenario
    return audit.collect(registry, consortium, names=result.names)


@pytest.fixture
def by_name(scenario):
    """Address of a scenario participant by its display name."""
    result = scenario[0]
    return {name: address for address, name in result.names.items()}


@pytest.fixture
def isolated(chain):
    """Undo whatever the test does to the module's chain."""
    snapshot = chain.snapshot()
    yield
    chain.restore(snapshot)


def test_entries_are_in_block_and_log_order_with_block_timestamps(log, chain):
    keys = [(e.block, e.log_index) for e in log.entries]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for entry in log.entries[::7]:
        assert entry.timestamp == chain.provider.web3.eth.get_block(entry.block)["timestamp"]


def test_every_event_of_every_contract_is_there(log, scenario, chain):
    """Each transaction's receipt, read independently, has exactly the logs the export has."""
    result = scenario[0]
    watched = {log.registry, log.consortium, *log.tenders.values(), *log.agreements.values()}
    web3 = chain.provider.web3
    txs = {step.tx for step in result.steps if step.tx}
    assert len(txs) >= 20
    for tx in txs:
        receipt = web3.eth.get_transaction_receipt(tx)
        expected = [(int(x["logIndex"])) for x in receipt["logs"] if x["address"] in watched]
        found = [e.log_index for e in log.entries if e.tx == tx]
        assert found == expected, tx
    counts = Counter(e.event for e in log.entries)
    assert counts["TenderCreated"] == 1
    assert counts["BidCommitted"] == 3
    assert counts["BidRevealed"] == 2
    assert counts["MilestoneScheduled"] == 3
    assert counts["MilestoneSubmitted"] == 3
    assert counts["MilestoneAccepted"] == 2
    assert counts["DisputeResolved"] == 1
    assert counts["ActionExecuted"] == 5  # addAgency, award, accept x2, resolve
    assert counts["Withdrawn"] == 2


def test_actors_are_senders_or_the_consortium_with_its_signers(log, by_name):
    commits = log.of("BidCommitted")
    assert {e.actor for e in commits} == {
        by_name["Benchworks Ltd"],
        by_name["Luxury Seating"],
        by_name["Quiet Bidder"],
    }
    award = log.of("BidAwarded")[0]
    assert award.actor == "consortium"
    assert award.sender == by_name["City Parks (agency)"]
    assert by_name["Technical expert"] not in award.signers  # recused from Benchworks
    assert len(award.signers) == 3
    executed = next(e for e in log.of("ActionExecuted") if e.tx == award.tx)
    assert executed.log_index < award.log_index
    assert executed.args["target"] == award.address
    accepted = log.of("MilestoneAccepted")
    assert all(by_name["Auditor"] in e.signers for e in accepted)
    assert log.of("MilestoneDisputed")[0].actor == by_name["City Parks (agency)"]


def test_sentences_name_people_and_amounts(log):
    award = log.of("BidAwarded")[0]
    assert award.sentence == ("The consortium awarded tender 1 to Benchworks Ltd at 42,500.00 dUSD")
    late = log.of("MilestoneAccepted")[1]
    assert late.amounts == {"paid": 16_099 * DUSD, "penalty": 51 * DUSD, "retention": 850 * DUSD}
    assert "51.00 dUSD penalty" in late.sentence
    forfeited = log.of("BondForfeited")[0]
    assert forfeited.sentence.startswith("The bond of Quiet Bidder (500.00 dUSD) was forfeited")
    # the token's own symbol and decimals, read from the chain; times as ISO dates in UTC
    assert (log.unit.symbol, log.unit.decimals) == ("dUSD", 6)
    scheduled = log.of("MilestoneScheduled")[0]
    due = scheduled.args["dueDate"]
    assert scheduled.sentence == (
        f"Milestone 1: 17,000.00 dUSD due at {display.when(due)} (plus the time the buyer takes "
        "to fund)"
    )
    assert display.when(due).endswith("Z") and str(due) not in scheduled.sentence
    completed = log.of("WorkCompleted")[0]
    ends = completed.args["warrantyEndsAt"]
    assert completed.sentence == (
        f"Every milestone is settled; the warranty runs until {display.when(ends)}"
    )


def test_sentences_use_the_symbol_and_decimals_they_are_given(scenario):
    result, registry, consortium, _ = scenario
    cents = audit.collect(registry, consortium, names=result.names, symbol="EURc", decimals=2)
    award = cents.of("BidAwarded")[0]
    assert (
        award.sentence == "The consortium awarded tender 1 to Benchworks Ltd at 425,000,000.00 EURc"
    )
    assert award.amounts == {"price": 42_500 * DUSD}  # the exact integer is unchanged


def test_totals_match_the_token_balances_on_chain(log, scenario):
    token = scenario[3]
    flows = {f.contract: f for f in audit.reconcile(log)}
    assert set(flows) == {"Tender", "Agreement"}
    assert flows["Tender"].inflow == 3 * 500 * DUSD
    assert flows["Agreement"].inflow == 42_500 * DUSD
    for flow in flows.values():
        assert flow.matches
        assert flow.balance == token.balanceOf(flow.address) == 0
        assert flow.outflow == flow.inflow


def test_totals_expose_tokens_the_events_do_not_explain(log, scenario, deployer, isolated):
    _, _, _, token = scenario
    agreement = next(iter(log.agreements.values()))
    token.mint(agreement, 7 * DUSD, sender=deployer)
    flows = {f.contract: f for f in audit.reconcile(log)}
    assert not flows["Agreement"].matches
    assert flows["Agreement"].balance - flows["Agreement"].held == 7 * DUSD


def test_jsonl_and_csv_hold_one_record_per_entry(log):
    lines = audit.to_jsonl(log).splitlines()
    assert len(lines) == len(log.entries)
    first = json.loads(lines[0])
    assert set(first) >= {"block", "tx", "timestamp", "actor", "event", "amounts", "sentence"}
    assert [json.loads(x)["log_index"] for x in lines] == [e.log_index for e in log.entries]
    rows = list(csv.DictReader(io.StringIO(audit.to_csv(log))))
    assert len(rows) == len(log.entries)
    funded = next(r for r in rows if r["event"] == "AgreementFunded")
    assert f"received={42_500 * DUSD}" in funded["amounts"]
    assert funded["actor"] == log.of("AgreementFunded")[0].actor
    # machine-readable: exact integers (token base units, unix seconds), never display text
    record = next(json.loads(x) for x in lines if json.loads(x)["event"] == "AgreementFunded")
    assert record["amounts"]["received"] == 42_500_000_000
    assert isinstance(record["timestamp"], int)
    assert "42,500.00 dUSD" in record["sentence"]


def test_one_tender_keeps_its_events_and_the_consortium_actions_on_it(scenario, log):
    result, registry, consortium, _ = scenario
    only = audit.collect(registry, consortium, tender_id=1, names=result.names)
    events = Counter(e.event for e in only.entries)
    assert "MemberAdded" not in events and "AgencyAdded" not in events
    assert events["ActionExecuted"] == 4  # award, accept x2, resolve
    assert events["ConflictDeclared"] == 1  # the expert's conflict with a bidder
    kept = {(e.tx, e.log_index) for e in only.entries}
    assert kept <= {(e.tx, e.log_index) for e in log.entries}
    with pytest.raises(ProcurechainError, match="has no tender 2"):
        audit.collect(registry, consortium, tender_id=2)


def test_from_block_leaves_out_earlier_entries_only(scenario, log):
    _, registry, consortium, _ = scenario
    start = log.of("AgreementFunded")[0].block
    later = audit.collect(registry, consortium, from_block=start)
    assert later.entries
    assert [(e.tx, e.log_index) for e in later.entries] == [
        (e.tx, e.log_index) for e in log.entries if e.block >= start
    ]


def test_verify_finds_nothing_on_a_clean_chain(log, scenario):
    assert audit.verify(log) == []
    _, registry, consortium, _ = scenario
    filtered = audit.collect(registry, consortium, tender_id=1)
    with pytest.raises(ProcurechainError, match="verify needs every event"):
        audit.verify(filtered)


def test_verify_checks_the_registry_and_the_consortium(log):
    """A member's admission missing, an agency's admission read as its removal."""
    added = log.of("AgencyAdded")[0]
    member = log.of("MemberAdded")[-1]
    entries = [
        replace(e, event="AgencyRemoved") if e is added else e
        for e in log.entries
        if e is not member
    ]
    differences = audit.verify(replace(log, entries=entries))
    assert {(d.contract, d.fact) for d in differences} == {
        ("Registry", f"isAgency({added.args['agency']})"),
        ("Consortium", "members"),
    }


def test_verify_reports_tokens_sent_around_the_escrow(log, scenario, deployer, isolated):
    _, registry, consortium, token = scenario
    agreement = next(iter(log.agreements.values()))
    tender = next(iter(log.tenders.values()))
    token.mint(agreement, 5 * DUSD, sender=deployer)
    token.mint(tender, 3 * DUSD, sender=deployer)
    fresh = audit.collect(registry, consortium)
    facts = {(d.address, d.fact): d for d in audit.verify(fresh)}
    assert set(facts) == {
        (agreement, "token balance"),
        (agreement, "token balance against owed"),
        (tender, "bonds held (token balance)"),
    }
    assert facts[(agreement, "token balance")].on_chain == 5 * DUSD
    assert facts[(tender, "bonds held (token balance)")].from_events == 0


def test_verify_reports_a_record_that_disagrees_with_the_contracts(log):
    """A log with one withdrawal missing (as if an event were lost) contradicts the views."""
    withdrawal = log.of("Withdrawn")[0]
    doctored = replace(log, entries=[e for e in log.entries if e is not withdrawal])
    facts = {d.fact for d in audit.verify(doctored)}
    assert {"totalCredits", "owed", "token balance", f"credit of {withdrawal.actor}"} <= facts
    bid = log.of("BidRevealed")[0]
    wrong = replace(bid, args={**bid.args, "price": bid.args["price"] + 1})
    doctored = replace(log, entries=[wrong if e is bid else e for e in log.entries])
    assert any("bid of" in d.fact for d in audit.verify(doctored))


def test_the_script_exports_every_format_and_verifies(scenario, tmp_path, capsys):
    _, registry, consortium, _ = scenario
    cli = load_script("audit").cli
    addresses = {"registry": str(registry.address), "consortium": str(consortium.address)}
    export = cli.commands["export"].callback
    names = tmp_path / "names.json"
    names.write_text(json.dumps(scenario[0].names))
    for fmt in ("jsonl", "csv", "ocds"):
        out = tmp_path / f"audit.{fmt}"
        export(fmt=fmt, tender=None, from_block=0, out=out, names=names, **addresses)
        assert out.read_text()
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) > 40
    assert "Benchworks Ltd" in (tmp_path / "audit.csv").read_text()
    package = json.loads((tmp_path / "audit.ocds").read_text())
    assert package["releases"][0]["ocid"].endswith("-1")
    # no --pegged-to: the token is not relabelled as a currency
    assert package["releases"][0]["tender"]["value"]["currency"] == "XXX"
    names.write_text("[1, 2]")
    with pytest.raises(click.ClickException, match="must map addresses to names"):
        export(fmt="csv", tender=None, from_block=0, out=None, names=names, **addresses)
    capsys.readouterr()
    cli.commands["verify"].callback(**addresses)
    assert "0 differences" in capsys.readouterr().out


def test_the_script_verify_fails_on_a_difference(scenario, deployer, isolated):
    _, registry, consortium, token = scenario
    cli = load_script("audit").cli
    log = audit.collect(registry, consortium)
    token.mint(next(iter(log.agreements.values())), 1, sender=deployer)
    with pytest.raises(click.ClickException, match="differ"):
        cli.commands["verify"].callback(
            registry=str(registry.address), consortium=str(consortium.address)
        )


def test_the_scenario_writes_the_public_record(scenario, log):
    result = scenario[0]
    jsonl = result.records["audit log (jsonl)"].read_text().splitlines()
    assert [json.loads(x)["sentence"] for x in jsonl] == [e.sentence for e in log.entries]
    assert result.records["audit log (csv)"].read_text().startswith("block,timestamp,tx,")
    package = json.loads(result.records["OCDS release package"].read_text())
    assert package["releases"][-1]["contracts"][0]["status"] == "terminated"
    assert package["publishedDate"] == package["releases"][-1]["date"]
    releases = json.loads(result.records["OCDS releases of the benches"].read_text())
    record = json.loads(result.records["OCDS record of the benches"].read_text())
    assert releases["releases"] == package["releases"]  # one process in the demo
    assert record["packages"] == [releases["uri"]]
    assert ocds.validate(releases) == ocds.validate(record) == []


def test_the_commands_in_their_own_process(scenario, ape_run, tmp_path):
    """`ape run audit` as a citizen would run it, against this test's node."""
    _, registry, consortium, _ = scenario
    addresses = ("--registry", str(registry.address), "--consortium", str(consortium.address))
    out = tmp_path / "tender-1.csv"
    exported = ape_run("audit", "export", "--format", "csv", "--tender", "1", "--out", str(out),
                       *addresses)  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert rows[0]["event"] == "ConflictDeclared"
    assert exported.stderr.count(": ok") == 2  # the tender's and the agreement's totals
    assert (
        ": in 1,500.00 dUSD, out 1,500.00 dUSD, held 0.00 dUSD by events, balance 0.00 dUSD on "
        "chain: ok"
    ) in exported.stderr
    verified = ape_run("audit", "verify", *addresses)
    assert "0 differences" in verified.stdout
    assert "(bonds, escrow, quorums, recusal, penalties): 0 violations" in verified.stdout


def test_verify_fails_on_a_chain_that_breaks_an_invariant(scenario, ape_run, isolated, deployer):
    """Tokens that reach a finished tender outside its rules make `audit verify` fail, naming
    the tender and the amounts (the chain-derived invariants see it, as the replay does)."""
    _, registry, consortium, token = scenario
    tender = registry.tenderOf(1)
    token.mint(tender, 7 * 10**6, sender=deployer)
    addresses = ("--registry", str(registry.address), "--consortium", str(consortium.address))
    verified = ape_run("audit", "verify", *addresses, expect_ok=False)
    violations = [line for line in verified.stdout.splitlines() if "a.balance" in line]
    assert violations and str(tender).lower()[:10] in violations[0].lower(), verified.stdout
    assert "the token says it holds 7.00 dUSD but it owes 0.00 dUSD" in violations[-1]
    assert "invariants are violated on this chain" in verified.stderr + verified.stdout
