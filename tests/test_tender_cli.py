"""`ape run tender` and `ape run bid`: a tender run from the command line, against the real
Consortium, with each command in its own process (as agencies, bidders and signers would)."""

import json
import re

import pytest

from procurechain import consortium as cs
from procurechain.calls import call_of
from procurechain.display import when
from procurechain.tender import Stage

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16
DUSD = 10**6


@pytest.fixture
def ape_out(ape_run):
    """`ape run` in a new process; returns what it printed (stdout and stderr)."""

    def run(*args: str, expect_ok: bool = True) -> str:
        result = ape_run(*args, expect_ok=expect_ok)
        return result.stdout + result.stderr

    return run


@pytest.fixture
def consortium(project, deployer, agency, auditor, citizen, technical, legal):
    members = [agency, auditor, citizen, technical, legal]
    return deployer.deploy(
        project.Consortium, members, [AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL], 3, [], []
    )


def execute(consortium, call, signers, sender):
    proposal = cs.propose(consortium, call)
    for signer in signers:
        proposal = cs.sign(proposal, consortium, signer)
    return cs.execute(proposal, consortium, sender)


@pytest.fixture
def registry(project, deployer, consortium, agency, auditor, citizen, token):
    agreement = deployer.deploy(project.RecordingAgreement)
    registry = deployer.deploy(
        project.Registry, consortium, agreement, token, 100_000 * DUSD, "ocds-x"
    )
    execute(consortium, call_of(registry, "addAgency", agency), [agency, auditor, citizen], agency)
    return registry


def test_a_tender_from_the_command_line(
    ape_out, ape_run, tmp_path, chain, project, registry, consortium, token, deployer,
    agency, auditor, citizen, bidder_a, bidder_b,
):  # fmt: skip
    journal = str(tmp_path / "bids.json")
    out = ape_out(
        "tender", "create", "--registry", str(registry.address), "--token", str(token.address),
        "--budget", "50000", "--bond", "500", "--notice", "examples/benches/notice.yaml",
        "--milestone", "40:30", "--milestone", "40:60", "--milestone", "20:75",
        "--account", "TEST::1",
    )  # fmt: skip
    assert f"Published tender 1 (ocds-x-{chain.chain_id}-{str(registry.address).lower()}-1)" in out
    tender = project.Tender.at(registry.tenderOf(1))
    assert tender.budget() == 50_000 * DUSD
    bidding, reveal = tender.biddingDeadline(), tender.revealDeadline()
    assert "  budget 50,000.00 dUSD, bond 500.00 dUSD\n" in out
    assert (
        f"  bids until {when(bidding)} (in 7 days), reveals until {when(reveal)} (in 9 days)\n"
    ) in out
    listing = ape_out("tender", "list", "--registry", str(registry.address))
    assert str(tender.address) in listing
    assert re.search(
        rf"bidding +budget 50,000\.00 dUSD, bidding closes {when(bidding)} \(in 6 days 23 h\)",
        listing,
    ), listing

    for bidder in (bidder_a, bidder_b):
        token.mint(bidder, 1_000 * DUSD, sender=deployer)
    # no allowance: one sentence, nothing sent
    out = ape_out(
        "bid", "commit", str(tender.address), "--price", "45000", "--doc-hash", "0x" + "11" * 32,
        "--journal", journal, "--account", "TEST::6", expect_ok=False,
    )  # fmt: skip
    assert "approve the tender" in out and "Traceback" not in out
    assert "for the bond of 500.00 dUSD first" in out
    out = ape_out(
        "bid", "commit", str(tender.address), "--price", "60000", "--doc-hash", "0x" + "11" * 32,
        "--journal", journal, "--account", "TEST::6", "--permit", expect_ok=False,
    )  # fmt: skip
    assert "the price 60,000.00 dUSD exceeds the budget 50,000.00 dUSD" in out
    assert not tender.bidOf(bidder_a)[0]
    for index, price, shown in ((6, "45000", "45,000.00"), (7, "47000.5", "47,000.50")):
        out = ape_out(
            "bid", "commit", str(tender.address), "--price", price, "--doc-hash", "0x" + "11" * 32,
            "--journal", journal, "--account", f"TEST::{index}", "--permit",
        )  # fmt: skip
        assert f"Committed a sealed bid of {shown} dUSD on {tender.address} (nonce 0)" in out
        assert f"  reveal after {when(bidding)} (in 6 days 23 h" in out
    out = ape_out("bid", "reveal", str(tender.address), "--account", "TEST::6", expect_ok=False)
    assert "cannot reveal a bid: the tender is in stage bidding" in out

    chain.mine(timestamp=tender.biddingDeadline() + 1)
    # the journal only remembers price and documents; the salt comes from the key
    for index, shown in ((6, "45,000.00 dUSD"), (7, "47,000.50 dUSD")):
        account = f"TEST::{index}"
        out = ape_out(
            "bid", "reveal", str(tender.address), "--journal", journal, "--account", account
        )
        assert f"Revealed {shown} on {tender.address}: valid" in out
    assert tender.leader() == (bidder_a.address, 45_000 * DUSD)

    chain.mine(timestamp=tender.revealDeadline() + 1)
    out = ape_out("tender", "show", str(tender.address))
    assert "evaluation" in out and "bidders: 2" in out
    assert "           budget: 50,000.00 dUSD\n             bond: 500.00 dUSD\n" in out
    assert f"lowest valid bid: {bidder_a.address} at 45,000.00 dUSD" in out
    assert re.search(rf"  bidding until: {when(bidding)} \(2 days( \d+ h)? ago\)", out), out
    assert re.search(r"         award by: \S+Z \(in \d+ days", out), out
    shown = json.loads(ape_run("tender", "show", str(tender.address), "--json").stdout)
    # --json: the exact integers, with the human form beside each (never instead)
    assert shown["budget"] == 50_000 * DUSD and shown["budget_display"] == "50,000.00 dUSD"
    assert shown["leader_price"] == 45_000 * DUSD
    assert shown["leader_price_display"] == "45,000.00 dUSD"
    assert shown["bond"] == 500_000_000 and isinstance(shown["bond"], int)
    assert shown["bidding_deadline"] == bidding
    assert shown["bidding_deadline_display"] == when(bidding)
    assert (shown["symbol"], shown["decimals"], shown["stage"]) == ("dUSD", 6, "evaluation")
    assert shown["notice"]["notice"]["title"] == "40 park benches for Riverside Park"
    assert shown["notice"]["problems"] == []
    bundle = tmp_path / "award.json"
    out = ape_out(
        "tender", "propose-award", str(tender.address), str(bidder_b.address), "--reasons",
        "cheapest", "--consortium", str(consortium.address), "--out", str(bundle),
        expect_ok=False,
    )  # fmt: skip
    assert "is not the lowest valid bid" in out and not bundle.exists()
    out = ape_out(
        "tender", "propose-award", str(tender.address), str(bidder_a.address), "--reasons",
        "Lowest valid price: 45,000.00 dUSD.", "--consortium", str(consortium.address),
        "--out", str(bundle),
    )  # fmt: skip
    described = (
        f"award tender {tender.address} to {bidder_a.address} at 45,000.00 dUSD (who then has "
        "3 days to accept)"
    )
    assert f"Proposed: {described}" in out
    assert json.loads(bundle.read_text())["description"] == described
    for index in (1, 2, 3):
        ape_out("consortium", "sign", str(bundle), "--account", f"TEST::{index}")
    ape_out("consortium", "execute", str(bundle), "--account", "TEST::1")
    assert tender.stage() == Stage.AWARDED
    # the reasons went on the record with the award, under the hash the award names
    (awarded,) = tender.BidAwarded.query("*").to_dict("records")
    (said,) = registry.TextPublished.query("*").to_dict("records")
    assert said["event_arguments"]["text"] == "Lowest valid price: 45,000.00 dUSD."
    assert said["event_arguments"]["hash"] == awarded["event_arguments"]["reportHash"]
    shown = ape_out("tender", "show", str(tender.address))
    assert "40 park benches for Riverside Park" in shown and "CPV 39113300" in shown

    out = ape_out("bid", "withdraw-bond", str(tender.address), "--account", "TEST::7")
    assert f"Bond of 500.00 dUSD returned to {bidder_b.address}" in out
    out = ape_out("bid", "accept", str(tender.address), "--account", "TEST::6")
    assert "Accepted; the agreement is" in out
    assert tender.stage() == Stage.CONTRACTED
    assert project.RecordingAgreement.at(tender.agreement()).price() == 45_000 * DUSD
    out = ape_out("bid", "status", str(tender.address), "--account", "TEST::6")
    assert "bond paid out" in out
    assert "your bid: valid at 45,000.00 dUSD, committed in block" in out
    assert token.balanceOf(tender) == 0
