"""`ape run consortium`: a bundle passed between separate signer processes, then executed.

Each signer is its own `ape run` process that only reads and writes the bundle file and talks
to the test's Anvil node, as members on different machines would.
"""

import json
import re

import pytest
from eth_utils import keccak

from procurechain import consortium as cs
from procurechain.calls import call_of, parse_arg
from procurechain.display import when

from conftest import DUSD

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16


@pytest.fixture
def consortium(project, deployer, agency, auditor, citizen, technical, legal):
    members = [agency, auditor, citizen, technical, legal]
    roles = [AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL]
    return deployer.deploy(project.Consortium, members, roles, 3, [], [])


def test_three_members_sign_in_separate_processes_then_execute(
    ape_run, tmp_path, consortium, token, deployer, accounts, stranger
):
    token.mint(consortium, 100 * DUSD, sender=deployer)
    bundle = tmp_path / "pay.json"
    proposed = ape_run(
        "consortium",
        "propose",
        "--consortium",
        str(consortium.address),
        "--target",
        str(token.address),
        "--function",
        "transfer(address,uint256)",
        str(stranger.address),
        str(40 * DUSD),
        "--description",
        "pay the stranger 40 dUSD",
        "--out",
        str(bundle),
    )
    assert json.loads(bundle.read_text())["signatures"] == []
    # the bundle keeps the exact deadline (unix seconds); people read it as a date in UTC
    deadline = json.loads(bundle.read_text())["action"]["deadline"]
    assert isinstance(deadline, int)
    expiry = rf"can be executed until {when(deadline)} \(in (7 days|6 days 23 h)\)"
    assert re.search(expiry, proposed.stdout), proposed.stdout

    for index in (2, 5, 1):  # auditor, legal, agency: each in its own process
        out = ape_run("consortium", "sign", str(bundle), "--account", f"TEST::{index}").stdout
        assert f"{accounts[index].address} signed" in out

    status = ape_run("consortium", "status", str(bundle)).stdout
    assert "ready to execute" in status
    assert re.search(expiry, status), status
    assert status.count("signed") == 3

    executed = ape_run("consortium", "execute", str(bundle), "--account", "TEST::9").stdout
    assert "Executed pay the stranger 40 dUSD" in executed
    assert token.balanceOf(stranger) == 40 * DUSD

    again = ape_run("consortium", "execute", str(bundle), "--account", "TEST::9", expect_ok=False)
    assert again.returncode != 0
    assert "nonce was already used" in again.stderr


def test_signing_a_tampered_bundle_is_refused_and_changes_nothing(
    ape_run, tmp_path, consortium, token, agency
):
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1, description="pay 1"))
    cs.sign(proposal, consortium, agency)
    bundle = proposal.save(tmp_path / "p.json")
    document = json.loads(bundle.read_text())
    document["action"]["data"] = document["action"]["data"][:-1] + "f"  # pay 15 instead of 1
    bundle.write_text(json.dumps(document))
    before = bundle.read_bytes()

    result = ape_run("consortium", "sign", str(bundle), "--account", "TEST::2", expect_ok=False)
    assert result.returncode != 0
    assert "was changed after it was proposed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert bundle.read_bytes() == before


def test_truncated_bundle_is_refused(ape_run, tmp_path, consortium, token, agency):
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1))
    bundle = proposal.save(tmp_path / "p.json")
    bundle.write_text(bundle.read_text()[:120])
    result = ape_run("consortium", "status", str(bundle), expect_ok=False)
    assert result.returncode != 0
    assert "not valid JSON (truncated or corrupt" in result.stderr


def test_bundle_for_another_chain_is_refused_before_signing(consortium, token, agency, auditor):
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1))
    proposal.chain_id = 5
    with pytest.raises(cs.ProcurechainError, match="is for chain 5 but you are connected to chain"):
        cs.sign(proposal, consortium, auditor)
    assert proposal.signatures == {}


def test_bundle_for_another_consortium_is_refused(project, deployer, consortium, token, agency):
    other = deployer.deploy(project.Consortium, [agency], [AGENCY], 1, [], [])
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1))
    with pytest.raises(cs.ProcurechainError, match=f"is for consortium {consortium.address}"):
        cs.sign(proposal, other, agency)


def test_duplicated_signature_in_bundle_is_refused(tmp_path, consortium, token, agency):
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1))
    cs.sign(proposal, consortium, agency)
    document = proposal.to_json()
    document["signatures"].append(dict(document["signatures"][0]))
    with pytest.raises(cs.ProcurechainError, match="two signatures of"):
        cs.Proposal.from_json(document)


def test_signature_swapped_to_another_signer_is_refused(consortium, token, agency, auditor):
    proposal = cs.propose(consortium, call_of(token, "transfer", agency, 1))
    cs.sign(proposal, consortium, agency)
    document = proposal.to_json()
    document["signatures"][0]["signer"] = str(auditor.address)
    with pytest.raises(cs.ProcurechainError, match="was made by"):
        cs.Proposal.from_json(document)


def test_non_member_cannot_sign(consortium, token, stranger):
    proposal = cs.propose(consortium, call_of(token, "transfer", stranger, 1))
    with pytest.raises(cs.ProcurechainError, match="is not a member"):
        cs.sign(proposal, consortium, stranger)


def test_declare_conflict_and_members_listing(
    ape_run, project, deployer, token, consortium, technical, bidder_a
):
    registry = deployer.deploy(
        project.Registry, consortium, deployer.deploy(project.RecordingAgreement), token, 1, "x"
    )
    out = ape_run(
        "consortium",
        "declare-conflict",
        str(bidder_a.address),
        "--reason",
        "I advised this bidder last year",
        "--consortium",
        str(consortium.address),
        "--registry",
        str(registry.address),
        "--account",
        "TEST::4",
    ).stdout
    assert "is now recused" in out
    # the declaration itself is on the record, under the hash the consortium keeps
    (published,) = registry.TextPublished.query("*").to_dict("records")
    assert published["event_arguments"]["text"] == "I advised this bidder last year"
    assert bytes(consortium.conflictOf(technical, bidder_a)) == keccak(
        text="I advised this bidder last year"
    )
    listing = ape_run("consortium", "members", "--consortium", str(consortium.address)).stdout
    assert "3 of 5" in listing
    assert "technical  (1 declared conflict(s))" in listing


def test_propose_rejects_bad_arguments_and_writes_nothing(ape_run, tmp_path, consortium):
    bundle = tmp_path / "bad.json"
    for args, message in [
        (["--function", "setThreshold(uint256)", str(2**256)], "out of range for uint256"),
        (["--function", "setThreshold(uint256)", "2.5"], "not a whole number"),
        (["--function", "addMember(address,uint8)", "0x123", "1"], "is not an address"),
        (["--function", "setThreshold(uint256)"], "takes 1 arguments, 0 given"),
    ]:
        result = ape_run(
            "consortium",
            "propose",
            "--consortium",
            str(consortium.address),
            *args,
            "--out",
            str(bundle),
            expect_ok=False,
        )
        assert result.returncode != 0
        assert message in result.stderr
        assert not bundle.exists()


@pytest.mark.parametrize(
    ("abi_type", "text", "message"),
    [
        ("uint256", "-1", "out of range"),
        ("uint8", "256", "out of range"),
        ("uint256", "1e3", "not a whole number"),
        ("bytes32", "0x1234", "is 2 bytes; bytes32 needs 32"),
        ("bytes32", "1234", "must be 0x-prefixed"),
        ("bool", "yes", "not a bool"),
        ("address", "0xZZ", "not an address"),
    ],
)
def test_command_line_arguments_are_checked(abi_type, text, message):
    with pytest.raises(cs.ProcurechainError, match=message):
        parse_arg(abi_type, text)
