"""The README's commands, role by role, each in its own `ape run` process against this test's
node: deployer, agency, bidders, consortium signers, supplier, auditor/citizen.

Only the devnet clock is moved in-process (the README's users wait days in real life)."""

import json
import re

import pytest

from procurechain.deployments import deployed

from conftest import DUSD

BENCHES = [
    "--notice",
    "examples/benches/notice.yaml",
    "--milestone",
    "40:30",
    "--milestone",
    "40:60",
    "--milestone",
    "20:90",
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Deployments and bid journals of this test only (the processes inherit them)."""
    monkeypatch.setenv("PROCURECHAIN_DEPLOYMENTS", str(tmp_path / "deployments"))
    monkeypatch.setenv("PROCURECHAIN_HOME", str(tmp_path / "home"))
    return tmp_path


def out_of(result):
    return result.stdout + result.stderr


def test_every_role_from_the_readme(env, ape_run, chain, accounts):
    # Deployer (a second deployment, even from a file, is refused while one is live)
    out = out_of(ape_run("deploy", "--account", "TEST::0"))
    assert "Consortium: 3 of 5" in out
    assert "Token: dUSD (6 decimals); budgets up to 100,000.00 dUSD in this rollout phase" in out
    again = ape_run(
        "deploy", "--config", "deploy/example.yaml", "--account", "TEST::0", expect_ok=False
    )
    assert "already deployed on this network" in again.stderr
    token = deployed("Token")
    for index in (6, 7):
        token.mint(accounts[index], 1_000 * DUSD, sender=accounts[0])
    token.mint(accounts[1], 60_000 * DUSD, sender=accounts[0])

    # Agency
    out = out_of(
        ape_run(
            "tender", "create", "--account", "TEST::1", "--budget", "50000", "--bond", "500",
            *BENCHES, "--retention-bps", "500", "--warranty-days", "90",
            "--penalty-bps-per-day", "10", "--penalty-cap-bps", "1000",
        )
    )  # fmt: skip
    listing = out_of(ape_run("tender", "list"))
    tender = re.search(r"(?<!-)0x[0-9a-fA-F]{40}", listing).group(0)
    assert "bidding" in listing

    # Bidders (one with a permit, one after the approval the command asks for)
    bid_pdf = env / "bid.pdf"
    bid_pdf.write_bytes(b"Benchworks Ltd: 40 benches, 42,500 dUSD")
    ape_run(
        "bid", "commit", tender, "--price", "42500", "--documents", str(bid_pdf), "--permit",
        "--account", "TEST::6",
    )  # fmt: skip
    other_bid = ("bid", "commit", tender, "--price", "47000", "--doc-hash", "0x" + "ab" * 32)
    refused = ape_run(*other_bid, "--account", "TEST::7", expect_ok=False)
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(errors) == 1
    assert "approve the tender" in errors[0]
    token.approve(tender, 500 * DUSD, sender=accounts[7])
    ape_run(*other_bid, "--account", "TEST::7")
    tender_contract = deployed("Registry").tenderOf(1)
    chain.mine(timestamp=deployed_tender(tender_contract).biddingDeadline() + 1)
    for index in (6, 7):
        out = out_of(ape_run("bid", "reveal", tender, "--account", f"TEST::{index}"))
    assert "revealed" in out.lower()
    chain.mine(timestamp=deployed_tender(tender_contract).revealDeadline() + 1)

    # Consortium signers: the award, signed by three members in three processes
    award = env / "award.json"
    winner = str(accounts[6].address)
    reasons = "Lowest valid price: 42,500.00 dUSD; one bid above the budget"
    ape_run("tender", "propose-award", tender, winner, "--reasons", reasons, "--out", str(award))
    for index in (1, 3, 5):
        ape_run("consortium", "sign", str(award), "--account", f"TEST::{index}")
    status = out_of(ape_run("consortium", "status", str(award)))
    assert "ready to execute" in status and "in the decision's words" in status
    assert reasons in status  # signers read the reasons they sign for
    ape_run("consortium", "execute", str(award), "--account", "TEST::1")

    # Supplier accepts; the agreement exists
    out = out_of(ape_run("bid", "accept", tender, "--account", "TEST::6"))
    agreement = deployed_tender(tender_contract).agreement()
    assert agreement in out or "accepted" in out.lower()
    ape_run("bid", "withdraw-bond", tender, "--account", "TEST::7")

    # Agency funds by permit; supplier delivers; the auditor's decision is a bundle
    out = out_of(ape_run("agreement", "fund", agreement, "--permit", "--account", "TEST::1"))
    assert "funded with 42,500.00 dUSD in 0x" in out
    note = env / "delivery-note.pdf"
    note.write_bytes(b"20 benches delivered")
    ape_run(
        "agreement", "submit", agreement, "0", "--evidence", f"@{note}", "--uri",
        "ipfs://delivery-1", "--account", "TEST::6",
    )  # fmt: skip
    accept = env / "accept-1.json"
    ape_run("agreement", "propose-accept", agreement, "0", "--out", str(accept))
    for index in (1, 3, 5):  # no auditor yet
        ape_run("consortium", "sign", str(accept), "--account", f"TEST::{index}")
    status = out_of(ape_run("consortium", "status", str(accept)))
    assert "still needs a signer with role auditor" in status
    # what signers read: token units, not base units (40% of 42,500 less 5% retention)
    assert "on time): pay the supplier 16,150.00 dUSD, 850.00 dUSD held as retention" in status
    ape_run("consortium", "sign", str(accept), "--account", "TEST::2")
    ape_run("consortium", "execute", str(accept), "--account", "TEST::2")

    # A disputed milestone, resolved by a bundle a hardware-wallet member approves on-chain
    ape_run(
        "agreement", "submit", agreement, "1", "--evidence", "20 more benches", "--uri",
        "ipfs://delivery-2", "--account", "TEST::6",
    )  # fmt: skip
    ape_run(
        "agreement", "dispute", agreement, "1", "--reason", "4 benches not anchored",
        "--account", "TEST::1",
    )  # fmt: skip
    resolve = env / "resolve.json"
    ape_run(
        "agreement", "propose-resolve", agreement, "1", "8000", "--reason", "80% accepted",
        "--out", str(resolve),
    )  # fmt: skip
    for index in (5, 3):
        ape_run("consortium", "sign", str(resolve), "--account", f"TEST::{index}")
    ape_run("consortium", "approve", str(resolve), "--account", "TEST::2")
    assert "approved on-chain" in out_of(ape_run("consortium", "status", str(resolve)))
    ape_run("consortium", "execute", str(resolve), "--account", "TEST::5")

    # Auditor and citizen read the public state
    status = out_of(ape_run("agreement", "status", agreement))
    assert "accepted" in status
    assert "resolved" in status
    document = json.loads(ape_run("agreement", "status", agreement, "--json").stdout)
    assert document["price"] == 42_500 * DUSD and document["price_display"] == "42,500.00 dUSD"
    assert [m["paid"] for m in document["milestones"][:2]] == [16_150 * DUSD, 12_920 * DUSD]
    assert "your bid: valid" in out_of(ape_run("bid", "status", tender, "--account", "TEST::6"))
    shown = out_of(ape_run("tender", "show", tender))
    assert "40 park benches for Riverside Park" in shown and "CPV 39113300" in shown
    out = out_of(ape_run("agreement", "withdraw", agreement, "--account", "TEST::6"))
    # 16,150 for milestone 1, then 80% of 17,000 less 5% retention for milestone 2
    assert f"withdrawn 29,070.00 dUSD to {accounts[6].address}" in out
    assert token.balanceOf(accounts[6]) > 1_000 * DUSD - 500 * DUSD

    # Citizen: the portal's index (serving is tested in test_portal_cli) and the red flags
    out = out_of(ape_run("portal", "--index-only", "--database", str(env / "portal.sqlite")))
    assert "1 new tenders" in out and "1 procurements updated" in out
    flagged = out_of(ape_run("audit", "flags", "--out", str(env / "flags.json")))
    assert "P005" in flagged and "P006" in flagged  # the late milestone and the dispute
    assert "OCID" in json.loads((env / "flags.json").read_text())


def deployed_tender(address):
    from procurechain.tender import tender_at

    return tender_at(address)
