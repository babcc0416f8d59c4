"""procurechain.agreement and `ape run agreement`: guards before anything is sent, calls for the
consortium, the status report, one-line errors."""

from __future__ import annotations

import json
import re

import pytest
from eth_utils import keccak

from procurechain import agreement as escrow
from procurechain.agreement import AgreementStatus, MilestoneState
from procurechain.display import when
from procurechain.errors import ProcurechainError, describe

from conftest import load_script

DAY = 86_400
PRICE = 1_000_003
TERMS = (500, 90 * DAY, 50, 1_000)
PLAN = [(6_000, 30 * DAY, keccak(text="a")), (4_000, 60 * DAY, keccak(text="b"))]
EVIDENCE = escrow.content_hash("delivery note")
REASON = escrow.content_hash("reasons")


@pytest.fixture
def parties(accounts, agency, bidder_a):
    return accounts[10], agency, bidder_a


@pytest.fixture
def tusd(deployer, project, agency):
    token = deployer.deploy(project.DemoStablecoin, deployer)
    token.mint(agency, 10**12, sender=deployer)
    return token


@pytest.fixture
def agreement(deployer, project, parties, tusd):
    consortium, buyer, supplier = parties
    factory = deployer.deploy(project.TestAgreementFactory, deployer.deploy(project.Agreement))
    receipt = factory.create(consortium, buyer, supplier, tusd, PRICE, TERMS, PLAN, sender=deployer)
    return project.Agreement.at(receipt.events.filter(factory.AgreementCreated)[0].agreement)


def execute(call, consortium):
    """What the consortium will do with an approved call: send it to the target."""
    return consortium.transfer(call.target, call.value, data=call.data)


def test_a_whole_agreement_through_the_library(agreement, parties, tusd):
    consortium, buyer, supplier = parties
    escrow.fund(agreement, buyer)  # approves, then funds
    assert escrow.status(agreement).status == AgreementStatus.ACTIVE
    escrow.submit(agreement, supplier, 0, EVIDENCE, "ipfs://note")
    call = escrow.accept_call(agreement, 0)
    assert call.data == bytes(agreement.acceptMilestone.encode_input(0))
    # signers read token units (600,001 - 30,000 retention base units), the due date in UTC
    due = agreement.milestone(0).dueDate
    assert call.description == (
        f"accept milestone 0 of agreement {agreement.address} (due {when(due)}, delivered on "
        "time): pay the supplier 0.570001 dUSD, 0.03 dUSD held as retention, no late penalty"
    )
    execute(call, consortium)
    escrow.submit(agreement, supplier, 1, EVIDENCE, "ipfs://note")
    escrow.dispute(agreement, buyer, 1, REASON)
    resolve = escrow.resolve_call(agreement, 1, 5_000, REASON)
    assert resolve.description == (
        f"resolve the dispute on milestone 1 of agreement {agreement.address}, 50% to the "
        "supplier: pay the supplier 0.190001 dUSD, 0.01 dUSD held as retention, 0.200001 dUSD "
        "back to the buyer"
    )
    execute(resolve, consortium)
    report = escrow.status(agreement)
    first, second = report.milestones
    assert (first.state, first.paid, first.penalty, first.retention) == (
        MilestoneState.ACCEPTED,
        570_001,
        0,
        30_000,
    )
    assert (second.state, second.paid, second.retention, second.refunded) == (
        MilestoneState.RESOLVED,
        190_001,  # share 200,001 (400,002 * 50%) minus 10,000 retention
        10_000,
        200_001,
    )
    assert report.balance == report.owed == PRICE
    claim = escrow.warranty_claim_call(agreement, 5, REASON)
    assert claim.description == (
        f"pay the buyer 0.000005 dUSD of the 0.04 dUSD retention of agreement "
        f"{agreement.address} for a warranty claim (the warranty ends at "
        f"{when(agreement.warrantyEndsAt())})"
    )
    execute(claim, consortium)
    terminate = escrow.terminate_call(agreement, REASON)
    assert terminate.description == (
        f"terminate agreement {agreement.address}: the 0.039995 dUSD retention to the supplier, "
        "the 0.00 dUSD not yet earned back to the buyer"
    )
    execute(terminate, consortium)
    escrow.withdraw(agreement, supplier)
    escrow.withdraw(agreement, buyer)
    assert tusd.balanceOf(agreement) == 0


def test_fund_with_a_permit(agreement, parties):
    _, buyer, _ = parties
    escrow.fund(agreement, buyer, use_permit=True)
    assert agreement.status() == AgreementStatus.ACTIVE


def test_nothing_is_sent_on_bad_input(agreement, parties, stranger):
    _, buyer, supplier = parties
    with pytest.raises(ProcurechainError, match="no contract at"):
        escrow.status(stranger.address)
    with pytest.raises(ProcurechainError, match="is not the buyer"):
        escrow.fund(agreement, stranger)
    with pytest.raises(ProcurechainError, match="must be active"):
        escrow.submit(agreement, supplier, 0, EVIDENCE, "ipfs://x")
    escrow.fund(agreement, buyer)
    with pytest.raises(ProcurechainError, match="must be unfunded"):
        escrow.fund(agreement, buyer)
    with pytest.raises(ProcurechainError, match="no milestone 5"):
        escrow.submit(agreement, supplier, 5, EVIDENCE, "ipfs://x")
    with pytest.raises(ProcurechainError, match="non-zero 32-byte hash"):
        escrow.submit(agreement, supplier, 0, bytes(32), "ipfs://x")
    with pytest.raises(ProcurechainError, match="it is pending, it must be submitted"):
        escrow.accept_call(agreement, 0)
    with pytest.raises(ProcurechainError, match="neither the buyer nor the supplier"):
        escrow.dispute(agreement, stranger, 0, REASON)
    with pytest.raises(ProcurechainError, match="0 to 10000"):
        escrow.resolve_call(agreement, 0, 10_001, REASON)
    with pytest.raises(
        ProcurechainError,
        match=re.escape(
            "claim more than 0 and at most the 0.00 dUSD held as retention, not 0.000001 dUSD"
        ),
    ):
        escrow.warranty_claim_call(agreement, 1, REASON)
    with pytest.raises(
        ProcurechainError, match="0 of 2 milestones are settled and the warranty has not started"
    ):
        escrow.release_retention(agreement, stranger)
    with pytest.raises(ProcurechainError, match="nothing to withdraw"):
        escrow.withdraw(agreement, stranger)
    assert agreement.owed() == PRICE


def test_a_contract_error_reads_as_one_sentence(agreement, stranger):
    try:
        agreement.terminate(REASON, sender=stranger)
    except Exception as err:
        sentence = describe(err)
    assert sentence == f"only the consortium may do this, not {stranger.address}"


def test_the_script_prints_status_and_proposes_to_the_real_consortium(
    deployer, project, parties, tusd, tmp_path, capsys, auditor, citizen, technical, legal
):
    """The commands' bodies, run on the test's own chain (`--network` would start another)."""
    import click

    from procurechain import consortium as cs

    cli = load_script("agreement").cli

    _, buyer, supplier = parties
    members = [buyer, auditor, citizen, technical, legal]
    council = deployer.deploy(project.Consortium, members, [1, 2, 4, 8, 16], 3, [], [])
    factory = deployer.deploy(project.TestAgreementFactory, deployer.deploy(project.Agreement))
    receipt = factory.create(council, buyer, supplier, tusd, PRICE, TERMS, PLAN, sender=deployer)
    agreement = project.Agreement.at(receipt.events.filter(factory.AgreementCreated)[0].agreement)
    escrow.fund(agreement, buyer)
    escrow.submit(agreement, supplier, 0, EVIDENCE, "ipfs://note")
    address = str(agreement.address)
    cli.commands["status"].callback(agreement=address)
    output = capsys.readouterr().out
    assert "active" in output
    assert "submitted" in output
    assert "  price 1.000003 dUSD  escrowed 1.000003 dUSD  retention held 0.00 dUSD" in output
    assert "  milestones (amounts in dUSD):\n" in output
    due = when(agreement.milestone(0).dueDate)
    assert f"0  0.600001  {due}  submitted    0d  0.00     0.00       0.00      0.00" in output
    cli.commands["status"].callback(agreement=address, as_json=True)
    document = json.loads(capsys.readouterr().out)
    # --json keeps exact integers; the human form is beside them
    assert document["price"] == PRICE and document["price_display"] == "1.000003 dUSD"
    first = document["milestones"][0]
    assert first["amount"] == 600_001 and first["amount_display"] == "0.600001 dUSD"
    assert first["due_date"] == agreement.milestone(0).dueDate
    assert first["due_date_display"] == due and first["state"] == "submitted"
    assert document["warranty_ends_at"] == 0 and document["warranty_ends_at_display"] is None

    bundle = tmp_path / "accept.json"
    cli.commands["propose-accept"].callback(agreement=address, index=0, out=bundle)
    assert f"ape run consortium sign {bundle}" in capsys.readouterr().out
    with pytest.raises(click.ClickException, match="exists; choose another --out"):
        cli.commands["propose-accept"].callback(agreement=address, index=0, out=bundle)
    proposal = cs.Proposal.load(bundle)
    assert proposal.action.data == bytes(agreement.acceptMilestone.encode_input(0))
    assert proposal.consortium == council.address
    for signer in (auditor, citizen, legal):
        cs.sign(proposal, council, signer)
    cs.execute(proposal, council, supplier)
    assert escrow.status(agreement).milestones[0].state == MilestoneState.ACCEPTED
    with pytest.raises(click.ClickException, match="cannot accept milestone 1: it is pending"):
        cli.commands["propose-accept"].callback(
            agreement=address, index=1, out=tmp_path / "second.json"
        )
    assert not (tmp_path / "second.json").exists()
    with pytest.raises(click.ClickException, match="nothing to withdraw"):
        cli.commands["withdraw"].callback(account=technical, agreement=address)
