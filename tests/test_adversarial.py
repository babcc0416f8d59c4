"""Adversarial contracts and signature attacks (issue 8): each attack fails, nobody else is blocked.

"Nobody else is blocked": after the attack, the other bidders still withdraw their bonds, the
supplier still gets paid, the consortium's other actions still execute.

Attack -> test, against every contract it applies to ("here" = this module):

re-entrant token (ERC-777-like receive hook)
    Tender      here: test_a_bidder_contract_that_reverts_or_reenters_blocks_only_itself,
                test_an_awardee_contract_that_reverts_or_reenters_blocks_only_itself
    Agreement   test_agreement.py: test_reentering_withdraw_from_a_receive_hook_fails (supplier);
                here: test_a_buyer_contract_that_reverts_or_reenters_cannot_block_the_supplier
    Consortium  here: test_reentering_execute_fails_and_blocks_nothing[token hook]
fee-on-transfer token
    Tender      here: test_a_fee_switched_on_mid_tender_cannot_leave_bonds_short
    Agreement   test_agreement.py: test_fee_on_transfer_token_cannot_corrupt_the_accounting
    Consortium  n/a: it keeps no token accounting; a transfer is a plain call
token returning no bool
    Tender      here: test_bonds_in_a_token_returning_no_bool
    Agreement   test_agreement.py: test_token_returning_no_bool
    Consortium  here: test_a_token_returning_no_bool_through_the_consortium
bidder / supplier / buyer contract that reverts on receive
    Tender      here: the two Tender hook tests above (a bidder; the awardee)
    Agreement   test_agreement.py: test_a_reverting_receive_hook_blocks_only_its_owner,
                test_a_blocked_supplier_cannot_block_the_buyer; here: the buyer test above
    Consortium  a payment is an executed action; if it fails it reverts alone, nonce kept
                (test_consortium.py:
                test_a_failing_call_reverts_with_its_own_error_and_keeps_the_nonce)
EIP-1271 signer that changes its answer (refuses, reverts, burns gas, writes state, re-enters)
    Consortium  here: test_a_wallet_that_changes_its_answer_is_named_and_left_out,
                test_a_gas_burning_wallet_costs_at_most_the_gas_limit
member contract that re-enters `execute`
    Consortium  here: test_reentering_execute_fails_and_blocks_nothing[member contract],
                test_a_wallet_that_changes_its_answer_is_named_and_left_out (re-enter);
                test_consortium.py: test_reentering_execute_from_an_action_fails
replay on another chain id
    Consortium  here: test_replay_on_another_chain_fails (a second Anvil, chain id 4242);
                test_consortium.py: test_signature_for_another_domain_is_rejected[other chain id]
replay on another consortium (same members)
    Consortium  here: test_replay_on_another_consortium_fails (ECDSA, approval, contract);
                test_consortium.py: test_signature_for_another_domain_is_rejected[other consortium]
replay after the signer was removed
    Consortium  here: test_signatures_of_a_removed_member_no_longer_count
replay of an executed action
    Consortium  here: test_a_contract_signature_counts_and_cannot_be_replayed;
                test_consortium.py: test_reused_nonce_is_rejected
front-run on-chain approval (defined in the tests' docstrings)
    Consortium  here: test_copying_a_pending_execute_only_runs_the_approved_action_once,
                test_a_revocation_front_running_an_execute_makes_it_fail;
                test_consortium.py: test_revoked_approval_no_longer_counts

Contract signatures also: a real Safe v1.4.1 as a member (test_a_safe_signs_as_a_member), order
and bounds of the packed entries (test_contract_signers_obey_order_and_bounds).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import ape
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from ethpm_types import ContractType
from web3 import Web3

from procurechain import consortium as cs
from procurechain.bids import commitment
from procurechain.calls import Call, call_of
from procurechain.errors import decode_revert, describe
from procurechain.tender import Milestone, TenderSpec, create_tender

from conftest import DUSD, PROJECT, load_script

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16
# ContractSigner.Mode
VALID, REFUSE, REVERT, BURN_GAS, WRITE_STATE, REENTER = range(6)
# HookRecipient.Mode
ACCEPT, REFUSE_TOKENS, REENTER_ON_RECEIVE = range(3)
OTHER_CHAIN_ID = 4242
REASON = keccak(text="reasons")
SAFE_ARTIFACTS = PROJECT / "node_modules/@safe-global/safe-contracts/build/artifacts/contracts"
ZERO = "0x" + "00" * 20


def by_address(*addresses: Any) -> list[str]:
    return sorted((str(getattr(a, "address", a)) for a in addresses), key=lambda a: int(a, 16))


def reverts_with(error_abi: Any, **inputs: Any) -> Any:
    """``ape.reverts`` for an error raised inside a nested call (matched by its ABI)."""
    return ape.reverts(error_abi.abi, **inputs)


# ============================================================================ consortium


@pytest.fixture(scope="session")
def wallet_owner(accounts):
    """Holds the key of the member contract ``wallet``."""
    return accounts[11]


@pytest.fixture
def wallet(project, deployer, wallet_owner):
    """A member that is a contract: an EIP-1271 wallet whose answer can be switched."""
    return deployer.deploy(project.ContractSigner, wallet_owner)


@pytest.fixture
def consortium(project, deployer, agency, auditor, citizen, technical, legal, wallet):
    """3 of 6: five members with keys and the contract wallet (a second citizen)."""
    members = [agency, auditor, citizen, technical, legal, wallet]
    roles = [AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL, CITIZEN]
    return deployer.deploy(project.Consortium, members, roles, 3, [], [])


@pytest.fixture
def funded(token, deployer, consortium):
    token.mint(consortium, 1_000 * DUSD, sender=deployer)
    return token


def signed(consortium, call, *signers, wallet=None, owner=None, **kwargs):
    proposal = cs.propose(consortium, call, **kwargs)
    for signer in signers:
        cs.sign(proposal, consortium, signer)
    if wallet is not None:
        cs.sign_as_contract(proposal, consortium, wallet, owner)
    return proposal


def govern(consortium, method, *args, signers, avoid=()):
    call = call_of(consortium, method, *args)
    proposal = signed(consortium, call, *signers, avoid_nonces=avoid)
    return cs.execute(proposal, consortium, signers[0])


# ---------------------------------------------------------------------------- EIP-1271


def test_a_contract_signature_counts_and_cannot_be_replayed(
    consortium, funded, wallet, wallet_owner, agency, auditor, stranger, tmp_path
):
    transfer = call_of(funded, "transfer", stranger, 5 * DUSD)
    proposal = signed(consortium, transfer, agency, auditor, wallet=wallet, owner=wallet_owner)
    # The bundle carries the contract signature through a file, typed as such.
    path = proposal.save(tmp_path / "p.json")
    proposal = cs.Proposal.load(path)
    assert proposal.contract_signatures == {
        wallet.address: cs.signature_bytes(
            wallet_owner.sign_message(cs.wallet_message(proposal, wallet.address))
        )
    }
    state = cs.status(proposal, consortium)
    assert state.signed_by_contract == [wallet.address]
    assert state.executable and state.left_out == {}

    receipt = cs.execute(proposal, consortium, stranger)
    [event] = receipt.events.filter(consortium.ActionExecuted)
    assert list(event.signers) == by_address(agency, auditor, wallet)
    assert funded.balanceOf(stranger) == 5 * DUSD

    packed = cs.pack_signatures(proposal, by_address(agency, auditor, wallet))
    with ape.reverts(consortium.ConsortiumNonceUsed, nonce=proposal.action.nonce):
        consortium.execute(proposal.action.as_tuple(), packed, sender=stranger)
    with pytest.raises(cs.ProcurechainError, match="nonce was already used"):
        cs.execute(proposal, consortium, stranger)
    assert funded.balanceOf(stranger) == 5 * DUSD


def test_only_the_wallet_owner_signs_for_it(consortium, wallet, agency, stranger, legal):
    proposal = cs.propose(consortium, call_of(consortium, "setThreshold", 2))
    with pytest.raises(cs.ProcurechainError, match="does not accept this signature now"):
        cs.sign_as_contract(proposal, consortium, wallet, stranger)
    with pytest.raises(cs.ProcurechainError, match="is not a contract"):
        cs.sign_as_contract(proposal, consortium, legal, stranger)
    with pytest.raises(cs.ProcurechainError, match="is not a member"):
        cs.add_contract_signature(proposal, consortium, stranger, b"")
    assert proposal.contract_signatures == {}


# mode -> why the library says the signature does not count now
MODES = {
    REFUSE: "the wallet does not accept the signature",
    REVERT: "the wallet reverted (the contract rejected the call: ContractSignerRefused(",
    BURN_GAS: f"the wallet's check failed within {cs.CONTRACT_CHECK_GAS:,} gas",
    WRITE_STATE: "the wallet accepts only when it may change state",
    REENTER: "the wallet accepts only when it may change state",
}


def test_a_wallet_that_changes_its_answer_is_named_and_left_out(
    consortium, funded, wallet, wallet_owner, agency, auditor, citizen, technical, stranger
):
    """Valid when signed; then the wallet refuses, reverts, burns gas, tries to write state,
    tries to re-enter `execute` with another fully signed action. Each time the contract names
    it and nothing changes; the library explains why it leaves it out, and a quorum of others
    still executes, as does the other action."""
    transfer = call_of(funded, "transfer", stranger, 7)
    proposal = signed(consortium, transfer, agency, auditor, wallet=wallet, owner=wallet_owner)
    other = signed(
        consortium,
        call_of(funded, "transfer", technical, 1),
        agency,
        auditor,
        citizen,
        avoid_nonces=[proposal.action.nonce],
    )
    inner = consortium.execute.encode_input(
        other.action.as_tuple(), cs.pack_signatures(other, other.signatures)
    )
    wallet.arm(consortium, inner, sender=wallet_owner)
    ordered = by_address(agency, auditor, wallet)
    packed = cs.pack_signatures(proposal, ordered)
    index = ordered.index(wallet.address)
    for mode, why in MODES.items():
        wallet.setMode(mode, sender=wallet_owner)
        with ape.reverts(
            consortium.ConsortiumInvalidContractSignature, index=index, signer=wallet
        ) as info:
            consortium.execute(proposal.action.as_tuple(), packed, sender=stranger)
        assert describe(info.value).startswith(f"contract wallet {wallet.address} (signature")
        assert wallet.questions() == 0  # the staticcall kept it from writing
        assert not consortium.isNonceUsed(other.action.nonce)  # nor did it re-enter
        state = cs.status(proposal, consortium)
        assert state.left_out[wallet.address].startswith(why), (mode, state.left_out)
        assert list(state.left_out) == [wallet.address]
        assert not state.executable

    with pytest.raises(cs.ProcurechainError, match=f"{wallet.address} does not count"):
        cs.execute(proposal, consortium, stranger)
    cs.sign(proposal, consortium, citizen)
    receipt = cs.execute(proposal, consortium, stranger)
    [event] = receipt.events.filter(consortium.ActionExecuted)
    assert list(event.signers) == by_address(agency, auditor, citizen)
    cs.execute(other, consortium, stranger)
    assert (funded.balanceOf(stranger), funded.balanceOf(technical)) == (7, 1)


def test_a_gas_burning_wallet_costs_at_most_the_gas_limit(
    consortium, funded, wallet, wallet_owner, agency, auditor, stranger
):
    """The wallet gets all the gas the consortium has (EIP-1271 as OpenZeppelin calls it), so
    a wallet that burns it costs the submitter at most the gas limit it set; the library's
    check is capped and the estimate refuses, so the library never sends such a transaction."""
    proposal = signed(
        consortium, call_of(funded, "transfer", stranger, 1), agency, auditor,
        wallet=wallet, owner=wallet_owner,
    )  # fmt: skip
    wallet.setMode(BURN_GAS, sender=wallet_owner)
    packed = cs.pack_signatures(proposal, by_address(agency, auditor, wallet))
    receipt = consortium.execute(
        proposal.action.as_tuple(), packed, sender=stranger, gas=1_000_000, raise_on_revert=False
    )
    assert receipt.failed
    assert 63 * 1_000_000 // 64 <= receipt.gas_used <= 1_000_000
    assert not consortium.isNonceUsed(proposal.action.nonce)
    reason = cs.status(proposal, consortium).left_out[wallet.address]
    assert f"failed within {cs.CONTRACT_CHECK_GAS:,} gas" in reason


def test_contract_signers_obey_order_and_bounds(
    consortium, funded, wallet, wallet_owner, agency, auditor, stranger
):
    proposal = signed(
        consortium, call_of(funded, "transfer", stranger, 1), agency, auditor,
        wallet=wallet, owner=wallet_owner,
    )  # fmt: skip
    action = proposal.action.as_tuple()
    data = proposal.contract_signatures[wallet.address]
    ordered = by_address(agency, auditor, wallet)

    def entries(order, lengths=None):
        head, tail = b"", b""
        for n, signer in enumerate(order):
            if signer == wallet.address:
                offset = 65 * len(order) + len(tail)
                head += bytes(12) + bytes.fromhex(signer[2:]) + offset.to_bytes(32, "big") + b"\0"
                size = len(data) if lengths is None else lengths[n]
                tail += size.to_bytes(32, "big") + data
            else:
                head += proposal.signatures[signer]
        return head + tail

    at = ordered.index(wallet.address)
    # Twice the same wallet, or the wallet out of order: refused like any signer.
    twice = [*ordered[: at + 1], wallet.address, *ordered[at + 1 :]]
    with ape.reverts(
        consortium.ConsortiumSignersNotSorted, index=at + 1, signer=wallet, previous=wallet
    ):
        consortium.execute(action, entries(twice), sender=stranger)
    low, mid, high = ordered
    with ape.reverts(consortium.ConsortiumSignersNotSorted, index=1, signer=low, previous=high):
        consortium.execute(action, entries([high, low, mid]), sender=stranger)
    # Data that claims more bytes than there are.
    lengths = [len(data)] * 3
    lengths[at] = 10_000
    packed = entries(ordered, lengths)
    with ape.reverts(
        consortium.ConsortiumContractSignatureOutOfBounds,
        index=at,
        dataOffset=195,
        length=len(packed),
    ):
        consortium.execute(action, packed, sender=stranger)
    # A whole number of entries holds no contract data: pad to 5 entries.
    aligned = entries(ordered) + bytes(-len(entries(ordered)) % 65)
    assert len(aligned) == 5 * 65
    with ape.reverts(consortium.ConsortiumContractSignatureOutOfBounds, index=at, length=325):
        consortium.execute(action, aligned, sender=stranger)
    # Trailing bytes after the data (the library's padding) are ignored.
    consortium.execute(action, entries(ordered) + b"\0", sender=stranger)
    assert funded.balanceOf(stranger) == 1


def test_the_library_pads_contract_data_off_a_multiple_of_65(consortium, wallet, agency):
    proposal = cs.propose(consortium, call_of(consortium, "setThreshold", 2))
    cs.sign(proposal, consortium, agency)
    proposal.contract_signatures[wallet.address] = b"\x07" * 33  # 2 entries + 32 + 33 = 195
    packed = cs.pack_signatures(proposal, [agency.address, wallet.address])
    assert len(packed) == 196
    entry = packed[:65] if int(wallet.address, 16) < int(agency.address, 16) else packed[65:130]
    assert (
        entry == bytes(12) + bytes.fromhex(wallet.address[2:]) + (130).to_bytes(32, "big") + b"\0"
    )
    assert packed[130:195] == (33).to_bytes(32, "big") + b"\x07" * 33


def test_the_cli_signs_for_a_wallet_and_status_explains_a_changed_answer(
    ape_run, tmp_path, capsys, consortium, wallet, wallet_owner, agency, auditor, accounts
):
    proposal = signed(consortium, call_of(consortium, "setThreshold", 2), agency, auditor)
    bundle = proposal.save(tmp_path / "p.json")
    owner = f"TEST::{[a.address for a in accounts].index(wallet_owner.address)}"
    out = ape_run(
        "consortium", "sign", str(bundle), "--account", owner, "--as-contract", wallet.address
    ).stdout
    assert f"{wallet.address} (signed by its owner {wallet_owner.address}) signed" in out
    assert list(cs.Proposal.load(bundle).contract_signatures) == [wallet.address]

    status = load_script("consortium").cli.commands["status"].callback
    capsys.readouterr()
    status(bundle=bundle)
    shown = capsys.readouterr().out
    assert f"{wallet.address}  citizen                signed as a contract wallet" in shown
    assert "ready to execute" in shown
    wallet.setMode(REVERT, sender=wallet_owner)
    status(bundle=bundle)
    shown = capsys.readouterr().out
    assert f"{wallet.address}  citizen                signature left out: the wallet reverted" in (
        shown
    )
    assert "not executable: 2 of 3 required approvals are in" in shown


# ---------------------------------------------------------------------------- a real Safe


def _safe_container(relative: str) -> Any:
    import json

    from ape.contracts import ContractContainer

    artifact = json.loads((SAFE_ARTIFACTS / relative).read_text())
    return ContractContainer(
        ContractType.model_validate(
            {
                "contractName": artifact["contractName"],
                "abi": artifact["abi"],
                "deploymentBytecode": {"bytecode": artifact["bytecode"]},
                "runtimeBytecode": {"bytecode": artifact["deployedBytecode"]},
            }
        )
    )


def test_a_safe_signs_as_a_member(
    consortium, funded, deployer, agency, auditor, citizen, accounts, stranger
):
    """Safe v1.4.1 (2 of 3 owners, CompatibilityFallbackHandler) joins the consortium and
    signs through EIP-1271 with its owners' signatures of the Safe message."""
    owners = [accounts[12], accounts[13], accounts[14]]
    singleton = deployer.deploy(_safe_container("Safe.sol/Safe.json"))
    factory = deployer.deploy(_safe_container("proxies/SafeProxyFactory.sol/SafeProxyFactory.json"))
    handler = deployer.deploy(
        _safe_container(
            "handler/CompatibilityFallbackHandler.sol/CompatibilityFallbackHandler.json"
        )
    )
    setup = singleton.setup.encode_input(
        [o.address for o in owners], 2, ZERO, b"", handler.address, ZERO, 0, ZERO
    )
    receipt = factory.createProxyWithNonce(singleton, setup, 0, sender=deployer)
    safe = receipt.events.filter(factory.ProxyCreation)[0].proxy
    govern(consortium, "addMember", safe, LEGAL, signers=[agency, auditor, citizen])

    proposal = signed(consortium, call_of(funded, "transfer", stranger, 3), agency, auditor)
    message = cs.wallet_message(proposal, safe)
    signatures = {str(o.address): cs.signature_bytes(o.sign_message(message)) for o in owners[:2]}
    with pytest.raises(cs.ProcurechainError, match="GS020"):  # one owner is not enough
        cs.add_contract_signature(proposal, consortium, safe, signatures[owners[0].address])
    data = b"".join(signatures[a] for a in by_address(*signatures))
    cs.add_contract_signature(proposal, consortium, safe, data)
    assert cs.status(proposal, consortium).signed_by_contract == [safe]
    cs.execute(proposal, consortium, stranger)
    assert funded.balanceOf(stranger) == 3


# ---------------------------------------------------------------------------- re-entry


@pytest.mark.parametrize("route", ["member contract", "token hook"])
def test_reentering_execute_fails_and_blocks_nothing(
    route, project, consortium, funded, deployer, wallet, wallet_owner, agency, auditor, citizen
):
    """A recipient of a consortium payment calls `execute` again from inside it - a member
    contract when ether arrives, or any contract from an ERC-777-like token hook."""
    inner_action = signed(
        consortium, call_of(funded, "transfer", citizen, 1), agency, auditor, citizen
    )
    inner = consortium.execute.encode_input(
        inner_action.action.as_tuple(), cs.pack_signatures(inner_action, inner_action.signatures)
    )
    if route == "member contract":
        agency.transfer(consortium, 10**18)
        wallet.arm(consortium, inner, sender=wallet_owner)
        outer_call = Call(target=wallet.address, data=b"", value=10**18)
        amount = 10**18

        def disarm():
            wallet.arm(ZERO, b"", sender=wallet_owner)

        def received():
            return wallet.balance
    else:
        hook = deployer.deploy(project.HookToken)
        hook.mint(consortium, 100, sender=deployer)
        hooked = deployer.deploy(project.HookRecipient)
        hooked.forward(hook, hook.registerHook.encode_input(), sender=deployer)
        hooked.setReentryCall(inner, sender=deployer)
        hooked.setMode(REENTER_ON_RECEIVE, sender=deployer)
        outer_call = call_of(hook, "transfer", hooked, 100)
        amount = 100

        def disarm():
            hooked.setMode(ACCEPT, sender=deployer)

        def received():
            return hook.balanceOf(hooked)

    outer = signed(
        consortium, outer_call, agency, auditor, citizen, avoid_nonces=[inner_action.action.nonce]
    )
    with reverts_with(consortium.ReentrancyGuardReentrantCall):
        cs.execute(outer, consortium, agency)
    assert received() == 0
    assert not consortium.isNonceUsed(outer.action.nonce)
    assert not consortium.isNonceUsed(inner_action.action.nonce)
    # Nobody else is blocked: the other action executes, and so does the payment once the
    # receiver stops re-entering.
    cs.execute(inner_action, consortium, agency)
    assert funded.balanceOf(citizen) == 1
    disarm()
    cs.execute(outer, consortium, agency)
    assert received() == amount


def test_a_token_returning_no_bool_through_the_consortium(
    project, consortium, deployer, agency, auditor, citizen, stranger
):
    usdt = deployer.deploy(project.NoReturnToken)
    usdt.mint(consortium, 100, sender=deployer)
    too_much = signed(
        consortium, call_of(usdt, "transfer", stranger, 101), agency, auditor, citizen
    )
    with ape.reverts(usdt.NoReturnTokenInsufficient, available=100, needed=101):
        cs.execute(too_much, consortium, agency)
    assert not consortium.isNonceUsed(too_much.action.nonce)
    cs.execute(
        signed(consortium, call_of(usdt, "transfer", stranger, 100), agency, auditor, citizen),
        consortium,
        agency,
    )
    assert usdt.balanceOf(stranger) == 100


# ---------------------------------------------------------------------------- replay


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def other_chain() -> Iterator[Web3]:
    """A second Anvil with another chain id, stopped after the test."""
    anvil = shutil.which("anvil")
    assert anvil, "anvil is not on PATH (make links it into .venv/bin)"
    port = _free_port()
    process = subprocess.Popen(
        [anvil, "--port", str(port), "--chain-id", str(OTHER_CHAIN_ID), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        web3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + 30
        while not web3.is_connected():
            assert process.poll() is None, "the second anvil exited"
            assert time.monotonic() < deadline, "the second anvil did not start"
            time.sleep(0.1)
        assert web3.eth.chain_id == OTHER_CHAIN_ID
        yield web3
    finally:
        process.terminate()
        process.wait(timeout=10)


def _call_error(web3: Web3, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The decoded custom error an ``eth_call`` reverts with."""
    response = web3.provider.make_request("eth_call", [request, "latest"])
    error = response.get("error")
    assert error, f"expected a revert, got {response}"
    decoded = decode_revert(bytes.fromhex(error["data"][2:]))
    assert decoded, error
    return decoded


def test_replay_on_another_chain_fails(
    project, chain, accounts, other_chain, agency, auditor, citizen, technical, legal
):
    """The same consortium (same deployer, same nonce, same members) on a chain with another
    id: the members' signatures recover to other addresses there."""
    members = [agency, auditor, citizen, technical, legal]
    args = ([m.address for m in members], [1, 2, 4, 8, 16], 3, [], [])
    deployer = accounts.generate_test_account()
    chain.set_balance(deployer.address, 10**20)
    here = deployer.deploy(project.Consortium, *args)

    initcode = bytes(project.Consortium.contract_type.deployment_bytecode.to_bytes()) + encode(
        ["address[]", "uint8[]", "uint256", "bytes4[]", "(uint8,uint8)[]"], args
    )
    other_chain.provider.make_request("anvil_setBalance", [deployer.address, hex(10**20)])
    key = Account.from_key(deployer.private_key)
    fees = {"maxFeePerGas": 10**11, "maxPriorityFeePerGas": 0, "chainId": OTHER_CHAIN_ID}

    def send(transaction: dict[str, Any]) -> Any:
        nonce = other_chain.eth.get_transaction_count(deployer.address)
        raw = key.sign_transaction({**fees, "nonce": nonce, **transaction}).raw_transaction
        return other_chain.eth.wait_for_transaction_receipt(
            other_chain.eth.send_raw_transaction(raw)
        )

    deployed = send({"data": initcode, "gas": 5_000_000})
    assert deployed.contractAddress == here.address  # the same address on both chains

    proposal = signed(here, call_of(here, "setThreshold", 2), agency, auditor, citizen)
    packed = cs.pack_signatures(proposal, proposal.signatures)
    data = here.execute.encode_input(proposal.action.as_tuple(), packed)
    first = packed[:65]
    seen_there = Account._recover_hash(
        proposal.action.digest(OTHER_CHAIN_ID, here.address), signature=first
    )
    name, inputs = _call_error(other_chain, {"to": here.address, "data": to_hex(data)})
    assert (name, to_checksum_address(inputs["account"])) == ("ConsortiumNotMember", seen_there)
    replay = send({"to": here.address, "data": data, "gas": 500_000})
    assert replay.status == 0
    threshold = here.threshold.encode_input()
    assert int(other_chain.eth.call({"to": here.address, "data": threshold}).hex(), 16) == 3

    cs.execute(proposal, here, agency)  # nobody is blocked where it was meant to run
    assert here.threshold() == 2


def to_hex(data: bytes) -> str:
    return "0x" + bytes(data).hex()


@pytest.mark.parametrize("kind", ["ecdsa", "on-chain approval", "contract signature"])
def test_replay_on_another_consortium_fails(
    kind, project, deployer, consortium, funded, wallet, wallet_owner, agency, auditor, citizen,
    technical, legal, stranger,
):  # fmt: skip
    """Consortium B has the same members as A. A's signature, approval or contract signature
    by one member is replayed in B next to valid signatures of two others: it does not count."""
    members = [agency, auditor, citizen, technical, legal, wallet]
    other = deployer.deploy(
        project.Consortium,
        members,
        [AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL, CITIZEN],
        3,
        [],
        [],
    )
    funded.mint(other, 1_000 * DUSD, sender=deployer)
    call = call_of(funded, "transfer", stranger, 1)  # the same action, meant for A
    mine = cs.propose(consortium, call)
    theirs = cs.propose(other, call, nonce=mine.action.nonce, deadline=mine.action.deadline)
    for signer in (agency, auditor):
        cs.sign(theirs, other, signer)
    if kind == "ecdsa":
        cs.sign(mine, consortium, citizen)
        replayed = mine.signatures[citizen.address]
        seen = Account._recover_hash(theirs.action_hash, signature=replayed)
        entries = {**theirs.signatures, seen: replayed}
        expected = (other.ConsortiumNotMember, {"account": seen})
    elif kind == "on-chain approval":
        cs.approve(mine, consortium, citizen)
        seen = citizen.address
        entries = {
            **theirs.signatures,
            seen: bytes(12) + bytes.fromhex(seen[2:]) + bytes(32) + b"\x01",
        }
        expected = (
            other.ConsortiumNotApproved,
            {"member": citizen, "actionHash": theirs.action_hash},
        )
    else:
        cs.sign_as_contract(mine, consortium, wallet, wallet_owner)
        theirs.contract_signatures[wallet.address] = mine.contract_signatures[wallet.address]
        seen = wallet.address
        entries = {**theirs.signatures, seen: None}
    order = by_address(*entries)
    if kind == "contract signature":
        packed = cs.pack_signatures(theirs, order)
        expected = (
            other.ConsortiumInvalidContractSignature,
            {"index": order.index(seen), "signer": wallet},
        )
    else:
        packed = b"".join(entries[a] for a in order)
    error, inputs = expected
    with ape.reverts(error, **inputs):
        other.execute(theirs.action.as_tuple(), packed, sender=agency)
    assert funded.balanceOf(other) == 1_000 * DUSD
    # The library does not count it for B either.
    if kind == "ecdsa":
        document = theirs.to_json()
        document["signatures"].append({"signer": citizen.address, "signature": to_hex(replayed)})
        with pytest.raises(cs.ProcurechainError, match="tampered"):
            cs.Proposal.from_json(document)
    else:
        state = cs.status(theirs, other)
        assert state.approved_onchain == [] and state.signed_by_contract == []
        assert list(state.left_out) == ([wallet.address] if kind == "contract signature" else [])
        assert len(state.counted) == 2
    cs.sign(mine, consortium, agency)
    cs.sign(mine, consortium, auditor)
    cs.execute(mine, consortium, agency)  # A is not blocked
    assert funded.balanceOf(stranger) == 1


def test_signatures_of_a_removed_member_no_longer_count(
    consortium, funded, wallet, wallet_owner, agency, auditor, citizen, technical, legal, stranger
):
    """Valid when made; the member (with a key, approving on-chain, or a contract) is removed
    before execution: each is refused by the contract and left out by the library."""
    proposal = signed(
        consortium, call_of(funded, "transfer", stranger, 2), agency, auditor, citizen,
        wallet=wallet, owner=wallet_owner,
    )  # fmt: skip
    cs.approve(proposal, consortium, technical)
    trio = [agency, auditor, legal]
    for member in (citizen, technical, wallet):
        govern(consortium, "removeMember", member, signers=trio, avoid=[proposal.action.nonce])
    for member in (citizen, technical, wallet):
        packed = cs.pack_signatures(proposal, [agency.address, member.address, auditor.address])
        with ape.reverts(consortium.ConsortiumNotMember, account=member):
            consortium.execute(proposal.action.as_tuple(), packed, sender=stranger)
    state = cs.status(proposal, consortium)
    assert state.left_out == {
        citizen.address: "not a member (any more)",
        wallet.address: "not a member (any more)",
    }
    assert state.approved_onchain == []
    assert state.counted == by_address(agency, auditor)
    cs.sign(proposal, consortium, legal)
    cs.execute(proposal, consortium, stranger)
    assert funded.balanceOf(stranger) == 2


# ---------------------------------------------------------------------------- front-running


def _raw(account, request: dict[str, Any], tip: int) -> bytes:
    """``account``'s signed transaction paying ``tip`` more: the higher tip goes first."""
    web3 = ape.chain.provider.web3
    transaction = {
        "chainId": web3.eth.chain_id,
        "nonce": web3.eth.get_transaction_count(account.address, "pending"),
        "gas": 1_000_000,
        "maxFeePerGas": 10**11 + tip,  # what Anvil orders its pool by (like a builder would)
        "maxPriorityFeePerGas": tip,
        **request,
    }
    return Account.from_key(account.private_key).sign_transaction(transaction).raw_transaction


def _mine_together(*raw: bytes) -> list[Any]:
    """Put the transactions in the mempool, mine them in one block, return their receipts."""
    provider = ape.chain.provider
    web3 = provider.web3
    provider.auto_mine = False
    try:
        hashes = [web3.eth.send_raw_transaction(r) for r in raw]
        provider.mine()
    finally:
        provider.auto_mine = True
    return [web3.eth.get_transaction_receipt(h) for h in hashes]


def test_copying_a_pending_execute_only_runs_the_approved_action_once(
    consortium, funded, agency, auditor, citizen, bidder_a, stranger
):
    """Front-running defined: an attacker who sees a pending `execute` (or the signatures and
    on-chain approvals it carries) copies its calldata into its own transaction with a higher
    tip. The attacker can only make exactly the approved action happen, once, a block
    earlier; the original sender's transaction fails with ConsortiumNonceUsed, which the
    library turns into one sentence; nothing else executes. Changing anything in the copy
    (the recipient) makes the signatures recover to non-members."""
    proposal = signed(consortium, call_of(funded, "transfer", bidder_a, 9), agency, auditor)
    cs.approve(proposal, consortium, citizen)
    packed = cs.pack_signatures(proposal, cs.status(proposal, consortium).counted)
    honest = _raw(agency, {"to": consortium.address, "data": consortium.execute.encode_input(
        proposal.action.as_tuple(), packed)}, tip=1)  # fmt: skip
    web3 = ape.chain.provider.web3
    provider = ape.chain.provider
    provider.auto_mine = False
    try:
        honest_hash = web3.eth.send_raw_transaction(honest)
        seen = web3.eth.get_transaction(honest_hash)  # the attacker reads the mempool
        copy = _raw(stranger, {"to": seen["to"], "data": bytes(seen["input"])}, tip=10**9)
        copy_hash = web3.eth.send_raw_transaction(copy)
        provider.mine()
    finally:
        provider.auto_mine = True
    copy_receipt = web3.eth.get_transaction_receipt(copy_hash)
    honest_receipt = web3.eth.get_transaction_receipt(honest_hash)
    assert copy_receipt.blockNumber == honest_receipt.blockNumber
    assert copy_receipt.transactionIndex < honest_receipt.transactionIndex
    assert (copy_receipt.status, honest_receipt.status) == (1, 0)
    assert funded.balanceOf(bidder_a) == 9  # exactly the approved transfer, once
    assert funded.balanceOf(stranger) == 0

    with ape.reverts(consortium.ConsortiumNonceUsed, nonce=proposal.action.nonce) as info:
        consortium.execute(proposal.action.as_tuple(), packed, sender=agency)
    assert describe(info.value).startswith(f"nonce {proposal.action.nonce} was already used")
    assert "\n" not in describe(info.value)
    # The same signatures on an altered action name a non-member (the recovered address).
    altered = cs.propose(
        consortium, call_of(funded, "transfer", stranger, 9), nonce=proposal.action.nonce + 1,
        deadline=proposal.action.deadline,
    )  # fmt: skip
    first = packed[:65]
    recovered = (
        Account._recover_hash(altered.action_hash, signature=first)
        if first[64] != 1
        else to_checksum_address(first[12:32])
    )
    error = consortium.ConsortiumNotMember if first[64] != 1 else consortium.ConsortiumNotApproved
    inputs = {"account": recovered} if first[64] != 1 else {"member": recovered}
    with ape.reverts(error, **inputs):
        consortium.execute(altered.action.as_tuple(), packed, sender=stranger)
    assert funded.balanceOf(stranger) == 0


def test_a_revocation_front_running_an_execute_makes_it_fail(
    consortium, funded, agency, auditor, citizen, bidder_a
):
    """A member who approved on-chain sees an `execute` that relies on the approval and
    front-runs it with `revokeApproval`: the execute fails (the contract names the member
    whose approval is gone), nothing moves, and the library, asked again, reports the
    proposal below threshold."""
    proposal = signed(consortium, call_of(funded, "transfer", bidder_a, 4), agency, auditor)
    cs.approve(proposal, consortium, citizen)
    assert cs.status(proposal, consortium).executable
    packed = cs.pack_signatures(proposal, cs.status(proposal, consortium).counted)
    execute = consortium.execute.encode_input(proposal.action.as_tuple(), packed)
    revoke = consortium.revokeApproval.encode_input(proposal.action_hash)
    executed, revoked = _mine_together(
        _raw(agency, {"to": consortium.address, "data": execute}, tip=1),
        _raw(citizen, {"to": consortium.address, "data": revoke}, tip=10**9),
    )
    assert revoked.transactionIndex < executed.transactionIndex
    assert (revoked.status, executed.status) == (1, 0)
    assert funded.balanceOf(bidder_a) == 0
    assert not consortium.isNonceUsed(proposal.action.nonce)
    with ape.reverts(
        consortium.ConsortiumNotApproved, member=citizen, actionHash=proposal.action_hash
    ):
        consortium.execute(proposal.action.as_tuple(), packed, sender=agency)
    with pytest.raises(cs.ProcurechainError, match="2 of 3 required approvals are in"):
        cs.execute(proposal, consortium, agency)


# ============================================================================ tender bonds

BOND = 500 * DUSD
BUDGET = 50_000 * DUSD
PLAN = (
    Milestone(5_000, 30 * 86400, keccak(text="first half")),
    Milestone(5_000, 60 * 86400, keccak(text="second half")),
)
DOC = keccak(text="bid documents")


@pytest.fixture
def authority(accounts):
    """Stands in for the Consortium as the tender's authority (its checks are tested above)."""
    return accounts[10]


@pytest.fixture
def registry(deployer, project, authority, agency):
    """A registry for a given token (each registry accepts one currency)."""

    def for_token(token):
        stub = deployer.deploy(project.RecordingAgreement)
        registry = deployer.deploy(
            project.Registry, authority, stub, token, 100_000 * DUSD, "ocds-adv"
        )
        registry.addAgency(agency, sender=authority)
        return registry

    return for_token


def open_tender(chain, registry, agency, token):
    now = chain.pending_timestamp
    spec = TenderSpec(
        token=str(token.address),
        budget=BUDGET,
        bond=BOND,
        bidding_deadline=now + 7 * 86400,
        reveal_deadline=now + 9 * 86400,
        acceptance_window=3 * 86400,
        notice="tender documents",
        plan=PLAN,
        retention_bps=0,
        warranty_period=0,
        late_penalty_bps_per_day=0,
        late_penalty_cap_bps=0,
    )
    return create_tender(registry(token), agency, spec)[1]


class Bidder:
    """An account or a HookRecipient contract bidding through ``forward``."""

    def __init__(self, chain, tender, token, who, operator=None, price=45_000 * DUSD) -> None:
        self.tender, self.token, self.who, self.operator = tender, token, who, operator
        self.address = str(who.address)
        self.secret = (price, keccak(text=f"salt {self.address}"), DOC)
        self.sealed = commitment(chain.chain_id, str(tender.address), self.address, *self.secret)

    def do(self, contract, method, *args):
        if self.operator is None:
            return getattr(contract, method)(*args, sender=self.who)
        data = getattr(contract, method).encode_input(*args)
        return self.who.forward(contract, data, sender=self.operator)

    def commit(self):
        self.do(self.token, "approve", self.tender.address, 10 * BOND)
        return self.do(self.tender, "commitBid", self.sealed)

    def reveal(self):
        return self.do(self.tender, "revealBid", *self.secret)

    def withdraw(self):
        return self.do(self.tender, "withdrawBond")


def test_a_fee_switched_on_mid_tender_cannot_leave_bonds_short(
    project, chain, deployer, registry, agency, authority, bidder_a, bidder_b, bidder_c
):
    """A token that starts taking a fee (as USDT may) after two bonds arrived: the third
    bidder's short bond is refused, so the tender always holds every bond it owes."""
    token = deployer.deploy(project.FeeOnTransferToken)
    token.setFee(0, sender=deployer)
    tender = open_tender(chain, registry, agency, token)
    bidders = [Bidder(chain, tender, token, b) for b in (bidder_a, bidder_b, bidder_c)]
    for bidder in bidders:
        token.mint(bidder.address, BOND, sender=deployer)
    for bidder in bidders[:2]:
        bidder.commit()
    token.setFee(100, sender=deployer)
    with ape.reverts(tender.TenderBondShort, bond=BOND, received=BOND * 99 // 100):
        bidders[2].commit()
    assert not tender.bidOf(bidder_c)[0]
    assert token.balanceOf(tender) == 2 * BOND
    tender.cancel(REASON, sender=authority)
    for bidder in bidders[:2]:  # both withdraw: the last one is not short
        bidder.withdraw()
        assert token.balanceOf(bidder.address) == BOND * 99 // 100  # the token's fee
    assert token.balanceOf(tender) == 0


def test_bonds_in_a_token_returning_no_bool(
    project, chain, deployer, registry, agency, authority, bidder_a, bidder_b, bidder_c
):
    usdt = deployer.deploy(project.NoReturnToken)
    tender = open_tender(chain, registry, agency, usdt)
    a, b, c = (Bidder(chain, tender, usdt, x) for x in (bidder_a, bidder_b, bidder_c))
    for bidder in (a, b):
        usdt.mint(bidder.address, BOND, sender=deployer)
        bidder.commit()
    usdt.mint(c.address, BOND - 1, sender=deployer)
    with ape.reverts(usdt.NoReturnTokenInsufficient, available=BOND - 1, needed=BOND):
        c.commit()  # a failed pull is noticed, not taken for a success
    chain.mine(timestamp=tender.biddingDeadline() + 1)
    a.reveal()  # b never reveals
    chain.mine(timestamp=tender.revealDeadline() + 1)
    tender.cancel(REASON, sender=authority)
    a.withdraw()
    tender.claimForfeitedBond(b.address, sender=authority)
    assert usdt.balanceOf(a.address) == usdt.balanceOf(agency) == BOND
    assert usdt.balanceOf(tender) == 0


@pytest.fixture
def hook_tender(project, chain, deployer, registry, agency):
    """A tender in an ERC-777-like token, with a contract bidder whose receive hook can
    refuse or re-enter, and two bidders with keys."""
    hook = deployer.deploy(project.HookToken)
    tender = open_tender(chain, registry, agency, hook)
    recipient = deployer.deploy(project.HookRecipient)
    recipient.forward(hook, hook.registerHook.encode_input(), sender=deployer)
    return hook, tender, recipient


def test_a_bidder_contract_that_reverts_or_reenters_blocks_only_itself(
    chain, deployer, hook_tender, authority, bidder_a, bidder_b
):
    """A contract bidder whose hook refuses its bond, then re-enters `withdrawBond` when the
    bond arrives: its withdrawal fails, the others withdraw; later it takes its bond once."""
    hook, tender, recipient = hook_tender
    attacker = Bidder(chain, tender, hook, recipient, operator=deployer, price=44_000 * DUSD)
    others = [Bidder(chain, tender, hook, b) for b in (bidder_a, bidder_b)]
    for bidder in (attacker, *others):
        hook.mint(bidder.address, BOND, sender=deployer)
        bidder.commit()
    chain.mine(timestamp=tender.biddingDeadline() + 1)
    for bidder in (attacker, *others):
        bidder.reveal()
    tender.cancel(REASON, sender=authority)
    recipient.setMode(REFUSE_TOKENS, sender=deployer)
    with reverts_with(recipient.HookRecipientRefused):
        attacker.withdraw()
    recipient.setReentryCall(tender.withdrawBond.encode_input(), sender=deployer)
    recipient.setMode(REENTER_ON_RECEIVE, sender=deployer)
    with reverts_with(tender.ReentrancyGuardReentrantCall):
        attacker.withdraw()
    for bidder in others:
        bidder.withdraw()
        assert hook.balanceOf(bidder.address) == BOND
    recipient.setMode(ACCEPT, sender=deployer)
    attacker.withdraw()
    with reverts_with(tender.TenderBondAlreadySettled, bidder=recipient.address):
        attacker.withdraw()
    assert hook.balanceOf(recipient) == BOND
    assert hook.balanceOf(tender) == 0


def test_an_awardee_contract_that_reverts_or_reenters_blocks_only_itself(
    chain, deployer, hook_tender, agency, authority, bidder_a, bidder_b
):
    """The lowest bidder is a contract whose hook re-enters, then refuses, when its bond comes
    back at acceptance: it cannot accept, its award lapses, and the next bidder is awarded,
    accepts and gets its bond back; the other bidder withdraws; the lapsed bond goes to the
    buyer."""
    hook, tender, recipient = hook_tender
    attacker = Bidder(chain, tender, hook, recipient, operator=deployer, price=40_000 * DUSD)
    second = Bidder(chain, tender, hook, bidder_a, price=42_000 * DUSD)
    third = Bidder(chain, tender, hook, bidder_b, price=43_000 * DUSD)
    for bidder in (attacker, second, third):
        hook.mint(bidder.address, BOND, sender=deployer)
        bidder.commit()
    chain.mine(timestamp=tender.biddingDeadline() + 1)
    for bidder in (attacker, second, third):
        bidder.reveal()
    chain.mine(timestamp=tender.revealDeadline() + 1)
    tender.award(recipient, REASON, sender=authority)
    plan = [m.as_tuple() for m in PLAN]

    recipient.setReentryCall(tender.withdrawBond.encode_input(), sender=deployer)
    recipient.setMode(REENTER_ON_RECEIVE, sender=deployer)
    with reverts_with(tender.ReentrancyGuardReentrantCall):
        attacker.do(tender, "acceptAward", plan)
    recipient.setMode(REFUSE_TOKENS, sender=deployer)
    with reverts_with(recipient.HookRecipientRefused):
        attacker.do(tender, "acceptAward", plan)

    third.withdraw()  # not the awardee: free to go
    chain.mine(timestamp=tender.awardee()[1] + 1)
    tender.recordLapse(sender=agency)
    tender.claimForfeitedBond(recipient, sender=agency)
    tender.claimRank(second.address, sender=agency)
    chain.mine(timestamp=tender.rankingDeadline() + 1)
    tender.award(bidder_a, REASON, sender=authority)
    tender.acceptAward(plan, sender=bidder_a)
    assert tender.agreement() != ZERO
    assert hook.balanceOf(bidder_a) == hook.balanceOf(bidder_b) == hook.balanceOf(agency) == BOND
    assert hook.balanceOf(tender) == 0


# ============================================================================ agreement


def test_a_buyer_contract_that_reverts_or_reenters_cannot_block_the_supplier(
    project, deployer, authority, bidder_a
):
    """The buyer is a contract whose hook refuses, then re-enters `withdraw`, when its refund
    arrives: its own withdrawal fails, the supplier is paid in full all the same."""
    hook = deployer.deploy(project.HookToken)
    buyer = deployer.deploy(project.HookRecipient)
    buyer.forward(hook, hook.registerHook.encode_input(), sender=deployer)
    factory = deployer.deploy(project.TestAgreementFactory, deployer.deploy(project.Agreement))
    price = 1_000 * DUSD
    plan = [(6_000, 30 * 86400, keccak(text="a")), (4_000, 60 * 86400, keccak(text="b"))]
    receipt = factory.create(
        authority, buyer, bidder_a, hook, price, (0, 0, 0, 0), plan, sender=deployer
    )
    agreement = project.Agreement.at(receipt.events.filter(factory.AgreementCreated)[0].agreement)
    hook.mint(buyer, price, sender=deployer)
    buyer.forward(hook, hook.approve.encode_input(agreement, price), sender=deployer)
    buyer.forward(agreement, agreement.fund.encode_input(price), sender=deployer)
    agreement.submit(0, REASON, "ipfs://delivery", sender=bidder_a)
    agreement.acceptMilestone(0, sender=authority)
    agreement.terminate(REASON, sender=authority)  # the unearned 40% back to the buyer

    withdraw = agreement.withdraw.encode_input()
    buyer.setMode(REFUSE_TOKENS, sender=deployer)
    with reverts_with(buyer.HookRecipientRefused):
        buyer.forward(agreement, withdraw, sender=deployer)
    buyer.setMode(REENTER_ON_RECEIVE, sender=deployer)  # re-enters `withdraw()`
    with reverts_with(agreement.ReentrancyGuardReentrantCall):
        buyer.forward(agreement, withdraw, sender=deployer)
    agreement.withdraw(sender=bidder_a)
    assert hook.balanceOf(bidder_a) == 600 * DUSD
    buyer.setMode(ACCEPT, sender=deployer)
    buyer.forward(agreement, withdraw, sender=deployer)
    assert hook.balanceOf(buyer) == 400 * DUSD
    assert hook.balanceOf(agreement) == 0
