"""Consortium: M-of-N with roles, EIP-712 signatures, on-chain approvals, recusal, governance."""

import ape
import pytest
from eth_account import Account
from eth_utils import keccak

from procurechain import consortium as cs
from procurechain.calls import Call, call_of

from conftest import DUSD

AGENCY, AUDITOR, CITIZEN, TECHNICAL, LEGAL = 1, 2, 4, 8, 16
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
APPROVE = keccak(text="approve(address,uint256)")[:4]
REASON = keccak(text="I advise one of the bidders")


@pytest.fixture
def members(agency, auditor, citizen, technical, legal):
    return {agency: AGENCY, auditor: AUDITOR, citizen: CITIZEN, technical: TECHNICAL, legal: LEGAL}


@pytest.fixture
def consortium(project, deployer, members):
    """3-of-5; ERC-20 `approve` needs an AUDITOR and treats its spender as a subject."""
    return deployer.deploy(
        project.Consortium,
        list(members),
        list(members.values()),
        3,
        [APPROVE],
        [(AUDITOR, 1)],
    )


@pytest.fixture
def funded(token, deployer, consortium):
    token.mint(consortium, 1_000 * DUSD, sender=deployer)
    return token


def transfer(token, to, amount):
    return call_of(token, "transfer", to, amount, description=f"pay {amount} to {to}")


def proposal_for(consortium, call, **kwargs):
    return cs.propose(consortium, call, **kwargs)


def signed(consortium, call, *signers, **kwargs):
    proposal = proposal_for(consortium, call, **kwargs)
    for signer in signers:
        cs.sign(proposal, consortium, signer)
    return proposal


def packed(proposal, *signers):
    """Signatures in exactly the given order (no sorting), to test the contract's checks."""
    return b"".join(proposal.signatures[str(s.address)] for s in signers)


def by_address(*accounts):
    return sorted(accounts, key=lambda a: int(str(a.address), 16))


# ---------------------------------------------------------------- construction and views


def test_constructor_sets_members_roles_threshold_and_policies(consortium, members, auditor):
    assert consortium.threshold() == 3
    assert consortium.memberCount() == 5
    assert set(consortium.members()) == {str(m.address) for m in members}
    for member, roles in members.items():
        assert consortium.memberInfo(member) == (True, roles, 0)
    assert consortium.policyOf(APPROVE) == (AUDITOR, 1)
    assert consortium.roleHolders(AUDITOR) == 1
    with ape.reverts(consortium.ConsortiumInvalidRoles, roles=3):
        consortium.roleHolders(3)


def test_constructor_rejects_mismatched_lists(project, deployer, agency, auditor):
    with ape.reverts(project.Consortium.ConsortiumLengthMismatch, members=2, roles=1):
        deployer.deploy(project.Consortium, [agency, auditor], [AGENCY], 1, [], [])
    with ape.reverts(project.Consortium.ConsortiumLengthMismatch, members=1, roles=0):
        deployer.deploy(project.Consortium, [agency], [AGENCY], 1, [APPROVE], [])


def test_eip712_domain_names_chain_and_contract(consortium, chain):
    domain = consortium.eip712Domain()
    assert domain[1:5] == (cs.DOMAIN_NAME, cs.DOMAIN_VERSION, chain.chain_id, consortium.address)


def test_python_digest_equals_contract_digest(consortium, funded, stranger):
    proposal = proposal_for(consortium, transfer(funded, stranger, 7))
    assert bytes(consortium.hashAction(proposal.action.as_tuple())) == proposal.action_hash


# ---------------------------------------------------------------- execute: success


def test_three_of_five_transfer_executes(consortium, funded, agency, citizen, legal, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 25 * DUSD), agency, citizen, legal)
    receipt = cs.execute(proposal, consortium, stranger)
    assert funded.balanceOf(stranger) == 25 * DUSD
    assert consortium.isNonceUsed(proposal.action.nonce)
    [event] = receipt.events.filter(consortium.ActionExecuted)
    assert bytes(event.actionHash) == proposal.action_hash
    assert event.target == funded.address
    assert bytes(event.selector) == keccak(text="transfer(address,uint256)")[:4]
    assert list(event.signers) == [str(a.address) for a in by_address(agency, citizen, legal)]


def test_more_than_threshold_signatures_are_accepted(consortium, funded, members, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), *members)
    cs.execute(proposal, consortium, stranger)
    assert funded.balanceOf(stranger) == 1


@pytest.mark.parametrize("order", ["first-then-second", "second-then-first"])
def test_unordered_nonces_let_decisions_execute_in_either_order(
    order, consortium, funded, agency, auditor, citizen, bidder_a, bidder_b
):
    first = signed(consortium, transfer(funded, bidder_a, 1), agency, auditor, citizen)
    second = signed(
        consortium,
        transfer(funded, bidder_b, 2),
        agency,
        auditor,
        citizen,
        avoid_nonces=[first.action.nonce],
    )
    assert first.action.nonce != second.action.nonce
    sequence = [first, second] if order == "first-then-second" else [second, first]
    for proposal in sequence:
        cs.execute(proposal, consortium, agency)
    assert (funded.balanceOf(bidder_a), funded.balanceOf(bidder_b)) == (1, 2)


def test_a_failing_call_reverts_with_its_own_error_and_keeps_the_nonce(
    consortium, funded, agency, auditor, citizen, stranger
):
    proposal = signed(consortium, transfer(funded, stranger, 10**30), agency, auditor, citizen)
    with ape.reverts(funded.ERC20InsufficientBalance):
        cs.execute(proposal, consortium, stranger)
    assert not consortium.isNonceUsed(proposal.action.nonce)


# ---------------------------------------------------------------- execute: every rejection


def test_non_member_signature_is_rejected(consortium, funded, agency, auditor, stranger):
    proposal = proposal_for(consortium, transfer(funded, stranger, 1))
    for signer in (agency, auditor):
        cs.sign(proposal, consortium, signer)
    message = proposal.action.signable(proposal.chain_id, proposal.consortium)
    proposal.signatures[str(stranger.address)] = cs.signature_bytes(stranger.sign_message(message))
    ordered = by_address(agency, auditor, stranger)
    with ape.reverts(consortium.ConsortiumNotMember, account=stranger):
        consortium.execute(proposal.action.as_tuple(), packed(proposal, *ordered), sender=stranger)


def test_duplicate_signer_is_rejected(consortium, funded, agency, auditor, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor)
    first, second = by_address(agency, auditor)
    with ape.reverts(
        consortium.ConsortiumSignersNotSorted, index=2, signer=second, previous=second
    ):
        consortium.execute(
            proposal.action.as_tuple(), packed(proposal, first, second, second), sender=stranger
        )


def test_unsorted_signers_are_rejected(consortium, funded, agency, auditor, citizen, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor, citizen)
    low, mid, high = by_address(agency, auditor, citizen)
    with ape.reverts(consortium.ConsortiumSignersNotSorted, index=1, signer=low, previous=high):
        consortium.execute(
            proposal.action.as_tuple(), packed(proposal, high, low, mid), sender=stranger
        )


def test_below_threshold_is_rejected(consortium, funded, agency, auditor, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor)
    with ape.reverts(consortium.ConsortiumBelowThreshold, signers=2, threshold=3):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor)),
            sender=stranger,
        )
    with pytest.raises(cs.ProcurechainError, match="2 of 3 required approvals"):
        cs.execute(proposal, consortium, stranger)


def test_missing_required_role_is_rejected(consortium, funded, agency, citizen, legal, stranger):
    call = call_of(funded, "approve", stranger, 5)
    proposal = signed(consortium, call, agency, citizen, legal)
    present = AGENCY | CITIZEN | LEGAL
    with ape.reverts(consortium.ConsortiumMissingRoles, required=AUDITOR, present=present):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, citizen, legal)),
            sender=stranger,
        )
    with pytest.raises(cs.ProcurechainError, match="still needs a signer with role auditor"):
        cs.execute(proposal, consortium, stranger)


def test_required_role_present_executes(consortium, funded, agency, auditor, legal, stranger):
    proposal = signed(consortium, call_of(funded, "approve", stranger, 5), agency, auditor, legal)
    cs.execute(proposal, consortium, stranger)
    assert funded.allowance(consortium, stranger) == 5


def test_signer_recused_for_the_target_is_rejected(
    consortium, funded, agency, auditor, technical, stranger
):
    consortium.declareConflict(funded, REASON, sender=technical)
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor, technical)
    with ape.reverts(consortium.ConsortiumSignerRecused, signer=technical, subject=funded):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor, technical)),
            sender=stranger,
        )
    status = cs.status(proposal, consortium)
    assert status.recused == {str(technical.address): funded.address}
    assert str(technical.address) not in status.counted
    assert not status.executable


def test_signer_recused_for_a_subject_argument_is_rejected(
    consortium, funded, agency, auditor, technical, bidder_a
):
    """`approve(spender, ...)` names its spender as a subject (policy subjectArg = 1)."""
    receipt = consortium.declareConflict(bidder_a, REASON, sender=technical)
    assert receipt.events == [
        consortium.ConflictDeclared(member=technical, subject=bidder_a, reasonHash=REASON)
    ]
    proposal = signed(
        consortium, call_of(funded, "approve", bidder_a, 9), agency, auditor, technical
    )
    with ape.reverts(consortium.ConsortiumSignerRecused, signer=technical, subject=bidder_a):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor, technical)),
            sender=agency,
        )
    # The recused member's signature is left out by the library; three others carry it.
    cs.sign(proposal, consortium, agency)
    with pytest.raises(cs.ProcurechainError, match="2 of 3"):
        cs.execute(proposal, consortium, agency)


def test_expired_deadline_is_rejected(consortium, funded, agency, auditor, citizen, chain):
    proposal = signed(consortium, transfer(funded, agency, 1), agency, auditor, citizen, ttl=60)
    chain.pending_timestamp = proposal.action.deadline + 1
    with ape.reverts(
        consortium.ConsortiumActionExpired,
        deadline=proposal.action.deadline,
        now_=proposal.action.deadline + 1,
    ):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor, citizen)),
            sender=agency,
        )


def test_reused_nonce_is_rejected(consortium, funded, agency, auditor, citizen):
    proposal = signed(consortium, transfer(funded, agency, 1), agency, auditor, citizen)
    cs.execute(proposal, consortium, agency)
    with ape.reverts(consortium.ConsortiumNonceUsed, nonce=proposal.action.nonce):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor, citizen)),
            sender=agency,
        )
    with pytest.raises(cs.ProcurechainError, match="nonce 0 is already used"):
        cs.propose(consortium, transfer(funded, agency, 1), nonce=proposal.action.nonce)


def _foreign_signature(proposal, account, chain_id, verifying_contract):
    message = proposal.action.signable(chain_id, verifying_contract)
    return cs.signature_bytes(account.sign_message(message))


@pytest.mark.parametrize("domain", ["other chain id", "other consortium"])
def test_signature_for_another_domain_is_rejected(
    domain, consortium, funded, agency, auditor, citizen, stranger
):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor)
    if domain == "other chain id":
        foreign = _foreign_signature(proposal, citizen, 1, proposal.consortium)
    else:
        foreign = _foreign_signature(proposal, citizen, proposal.chain_id, str(funded.address))
    recovered = Account._recover_hash(proposal.action_hash, signature=foreign)
    assert recovered != citizen.address
    entries = dict(proposal.signatures)
    entries[recovered] = foreign
    signatures = b"".join(entries[a] for a in sorted(entries, key=lambda a: int(a, 16)))
    with ape.reverts(consortium.ConsortiumNotMember, account=recovered):
        consortium.execute(proposal.action.as_tuple(), signatures, sender=stranger)


def test_high_s_signature_is_rejected(consortium, funded, agency, auditor, citizen, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor, citizen)
    ordered = by_address(agency, auditor, citizen)
    original = proposal.signatures[str(ordered[0].address)]
    r, s, v = original[:32], int.from_bytes(original[32:64], "big"), original[64]
    flipped_s = (SECP256K1_N - s).to_bytes(32, "big")
    # Same signer, other half of the curve: a valid but malleable signature.
    malleable = r + flipped_s + bytes([55 - v])
    assert Account._recover_hash(proposal.action_hash, vrs=(55 - v, r, flipped_s)) == ordered[0]
    proposal.signatures[str(ordered[0].address)] = malleable
    with ape.reverts(consortium.ConsortiumMalleableSignature, index=0, s=flipped_s):
        consortium.execute(proposal.action.as_tuple(), packed(proposal, *ordered), sender=stranger)


@pytest.mark.parametrize("length", [0, 64, 66, 131])
def test_wrong_signature_length_is_rejected(consortium, funded, stranger, length):
    proposal = proposal_for(consortium, transfer(funded, stranger, 1))
    with ape.reverts(consortium.ConsortiumSignatureLength, length=length):
        consortium.execute(proposal.action.as_tuple(), b"\x01" * length, sender=stranger)


def test_garbage_signature_is_rejected(consortium, funded, agency, auditor, citizen, stranger):
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor, citizen)
    ordered = by_address(agency, auditor, citizen)
    bad_v = proposal.signatures[str(ordered[1].address)][:64] + bytes([30])
    proposal.signatures[str(ordered[1].address)] = bad_v
    with ape.reverts(consortium.ConsortiumInvalidSignature, index=1):
        consortium.execute(proposal.action.as_tuple(), packed(proposal, *ordered), sender=stranger)


# ---------------------------------------------------------------- on-chain approvals


def test_onchain_approvals_count_like_signatures(consortium, funded, agency, auditor, citizen):
    proposal = signed(consortium, transfer(funded, citizen, 3), agency)
    receipt = cs.approve(proposal, consortium, auditor)
    assert receipt.events == [
        consortium.ActionApproved(actionHash=proposal.action_hash, member=auditor)
    ]
    cs.approve(proposal, consortium, citizen)
    status = cs.status(proposal, consortium)
    assert set(status.approved_onchain) == {auditor.address, citizen.address}
    assert status.executable
    cs.execute(proposal, consortium, agency)
    assert funded.balanceOf(citizen) == 3


def test_revoked_approval_no_longer_counts(consortium, funded, agency, auditor, citizen):
    proposal = signed(consortium, transfer(funded, citizen, 3), agency, auditor)
    cs.approve(proposal, consortium, citizen)
    signatures = cs.pack_signatures(proposal, [agency.address, auditor.address, citizen.address])
    receipt = cs.revoke(proposal, consortium, citizen)
    assert receipt.events == [
        consortium.ApprovalRevoked(actionHash=proposal.action_hash, member=citizen)
    ]
    with ape.reverts(
        consortium.ConsortiumNotApproved, member=citizen, actionHash=proposal.action_hash
    ):
        consortium.execute(proposal.action.as_tuple(), signatures, sender=agency)
    with ape.reverts(
        consortium.ConsortiumNotApproved, member=citizen, actionHash=proposal.action_hash
    ):
        consortium.revokeApproval(proposal.action_hash, sender=citizen)


def test_only_members_approve_on_chain(consortium, stranger):
    with ape.reverts(consortium.ConsortiumNotMember, account=stranger):
        consortium.approveHash(b"\x11" * 32, sender=stranger)


# ---------------------------------------------------------------- conflicts of interest


def test_conflict_declaration_rules(consortium, technical, stranger, bidder_a):
    with ape.reverts(consortium.ConsortiumNotMember, account=stranger):
        consortium.declareConflict(bidder_a, REASON, sender=stranger)
    with ape.reverts(consortium.ConsortiumEmptyReason):
        consortium.declareConflict(bidder_a, b"\x00" * 32, sender=technical)
    consortium.declareConflict(bidder_a, REASON, sender=technical)
    assert bytes(consortium.conflictOf(technical, bidder_a)) == REASON
    assert consortium.memberInfo(technical)[2] == 1
    with ape.reverts(
        consortium.ConsortiumConflictAlreadyDeclared, member=technical, subject=bidder_a
    ):
        consortium.declareConflict(bidder_a, REASON, sender=technical)


def governance(consortium, method, *args, signers):
    proposal = signed(consortium, call_of(consortium, method, *args), *signers)
    return cs.execute(proposal, consortium, signers[0])


def governance_exactly(consortium, method, *args, signers):
    """Like ``governance`` but sends exactly these signatures, without the library's checks
    (which refuse what the contract would refuse), so the contract's own error shows."""
    proposal = signed(consortium, call_of(consortium, method, *args), *signers)
    signatures = cs.pack_signatures(proposal, proposal.signatures)
    return consortium.execute(proposal.action.as_tuple(), signatures, sender=signers[0])


def test_only_the_consortium_lifts_a_recusal(
    consortium, funded, agency, auditor, citizen, technical
):
    consortium.declareConflict(funded, REASON, sender=technical)
    with ape.reverts(consortium.ConsortiumNotSelf, caller=technical):
        consortium.liftConflict(technical, funded, sender=technical)
    receipt = governance(
        consortium, "liftConflict", technical, funded, signers=[agency, auditor, citizen]
    )
    assert consortium.ConflictLifted(member=technical, subject=funded) in receipt.events
    assert consortium.memberInfo(technical)[2] == 0
    proposal = signed(consortium, transfer(funded, agency, 1), agency, auditor, technical)
    cs.execute(proposal, consortium, agency)
    with ape.reverts(consortium.ConsortiumNoConflict, member=technical, subject=funded):
        governance(
            consortium, "liftConflict", technical, funded, signers=[agency, auditor, citizen]
        )


def test_recusal_survives_removal_and_readmission(
    consortium, funded, agency, auditor, citizen, technical
):
    trio = [agency, auditor, citizen]
    consortium.declareConflict(funded, REASON, sender=technical)
    governance(consortium, "removeMember", technical, signers=trio)
    governance(consortium, "addMember", technical, TECHNICAL, signers=trio)
    proposal = signed(consortium, transfer(funded, agency, 1), agency, auditor, technical)
    with ape.reverts(consortium.ConsortiumSignerRecused, signer=technical, subject=funded):
        consortium.execute(
            proposal.action.as_tuple(),
            packed(proposal, *by_address(agency, auditor, technical)),
            sender=agency,
        )


# ---------------------------------------------------------------- self-governance


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("addMember", ("0x" + "11" * 20, CITIZEN)),
        ("removeMember", ("0x" + "11" * 20,)),
        ("setMemberRoles", ("0x" + "11" * 20, CITIZEN)),
        ("setThreshold", (2,)),
        ("setPolicy", (APPROVE, 0, 0)),
    ],
)
def test_governance_only_through_execute(consortium, agency, method, args):
    with ape.reverts(consortium.ConsortiumNotSelf, caller=agency):
        getattr(consortium, method)(*args, sender=agency)


def test_add_member_and_change_threshold(consortium, agency, auditor, citizen, stranger):
    trio = [agency, auditor, citizen]
    receipt = governance(consortium, "addMember", stranger, CITIZEN | LEGAL, signers=trio)
    assert consortium.MemberAdded(member=stranger, roles=CITIZEN | LEGAL) in receipt.events
    assert consortium.memberCount() == 6
    receipt = governance(consortium, "setThreshold", 4, signers=trio)
    assert consortium.ThresholdChanged(previousThreshold=3, threshold=4) in receipt.events
    assert consortium.threshold() == 4


def test_add_member_rejections(consortium, agency, auditor, citizen, legal):
    trio = [agency, auditor, citizen]
    with ape.reverts(consortium.ConsortiumAlreadyMember, account=legal):
        governance(consortium, "addMember", legal, LEGAL, signers=trio)
    zero = "0x" + "00" * 20
    with ape.reverts(consortium.ConsortiumInvalidMember, account=zero):
        governance(consortium, "addMember", zero, LEGAL, signers=trio)
    for roles in (0, 32):
        with ape.reverts(consortium.ConsortiumInvalidRoles, roles=roles):
            governance(consortium, "addMember", "0x" + "22" * 20, roles, signers=trio)


@pytest.mark.parametrize("threshold", [0, 6])
def test_threshold_must_stay_within_member_count(consortium, agency, auditor, citizen, threshold):
    with ape.reverts(consortium.ConsortiumInvalidThreshold, threshold=threshold, memberCount=5):
        governance(consortium, "setThreshold", threshold, signers=[agency, auditor, citizen])


@pytest.fixture
def as_itself(consortium, accounts, chain):
    """The consortium's own address as a sender: the self-only functions' own checks, which
    ``execute`` can no longer reach (see below), are still there."""
    chain.provider.set_balance(consortium.address, 10**18)
    return accounts[consortium.address]


def test_removal_that_would_break_the_threshold_reverts(
    consortium, as_itself, agency, auditor, citizen, technical, legal
):
    """At 5 of 5 a member cannot be removed: it does not count for its own removal, so only 4
    can sign. (This test used to have legal sign its own removal and reach the contract's
    ConsortiumThresholdUnreachable; that check is now only reachable by a direct self-call.)"""
    trio = [agency, auditor, citizen]
    governance(consortium, "setThreshold", 5, signers=trio)
    everyone = [agency, auditor, citizen, technical, legal]
    with pytest.raises(cs.ProcurechainError, match="4 of 5 required approvals are in"):
        governance(consortium, "removeMember", legal, signers=everyone)  # legal left out
    with ape.reverts(consortium.ConsortiumSignerIsSubject, signer=legal):
        governance_exactly(consortium, "removeMember", legal, signers=everyone)
    with ape.reverts(consortium.ConsortiumBelowThreshold, count=4, threshold=5):
        governance_exactly(consortium, "removeMember", legal, signers=everyone[:4])
    with ape.reverts(consortium.ConsortiumThresholdUnreachable, threshold=5, memberCountAfter=4):
        consortium.removeMember(legal, sender=as_itself)
    governance(consortium, "setThreshold", 4, signers=everyone)
    receipt = governance(consortium, "removeMember", legal, signers=everyone[:4])
    assert consortium.MemberRemoved(member=legal) in receipt.events


def test_removing_the_last_holder_of_a_required_role_reverts(
    consortium, as_itself, agency, auditor, citizen, legal
):
    """The last auditor cannot be removed or lose its role while a policy requires one: an
    action on the consortium needs an auditor, and the auditor does not count for an action
    about itself. (This test used to remove the auditor with agency, citizen and legal: any
    quorum could change who counts as an auditor; now that is ConsortiumMissingRoles.)"""
    trio = [agency, citizen, legal]
    for method, args in (("removeMember", (auditor,)), ("setMemberRoles", (auditor, CITIZEN))):
        with pytest.raises(cs.ProcurechainError, match="needs a signer with role auditor"):
            governance(consortium, method, *args, signers=trio)
        with ape.reverts(
            consortium.ConsortiumMissingRoles, required=AUDITOR, present=AGENCY | CITIZEN | LEGAL
        ):
            governance_exactly(consortium, method, *args, signers=trio)
        with ape.reverts(consortium.ConsortiumSignerIsSubject, signer=auditor):
            governance_exactly(consortium, method, *args, signers=[agency, auditor, citizen])
    # The functions' own check stays behind it.
    with ape.reverts(consortium.ConsortiumRoleStillRequired, role=AUDITOR):
        consortium.removeMember(auditor, sender=as_itself)
    with ape.reverts(consortium.ConsortiumRoleStillRequired, role=AUDITOR):
        consortium.setMemberRoles(auditor, CITIZEN, sender=as_itself)
    # Once the policy no longer needs an auditor (the auditor signing that), it may leave.
    governance(consortium, "setPolicy", APPROVE, 0, 1, signers=[agency, auditor, citizen])
    assert consortium.governanceRoles() == 0
    receipt = governance(consortium, "removeMember", auditor, signers=trio)
    assert consortium.MemberRemoved(member=auditor) in receipt.events
    assert not consortium.isMember(auditor)


def test_member_role_changes(consortium, agency, auditor, citizen, legal, stranger):
    trio = [agency, auditor, citizen]
    receipt = governance(consortium, "setMemberRoles", legal, LEGAL | AUDITOR, signers=trio)
    assert (
        consortium.MemberRolesChanged(member=legal, previousRoles=LEGAL, roles=LEGAL | AUDITOR)
        in receipt.events
    )
    assert consortium.roleHolders(AUDITOR) == 2
    with ape.reverts(consortium.ConsortiumNotMember, account=stranger):
        governance(consortium, "setMemberRoles", stranger, LEGAL, signers=trio)
    with ape.reverts(consortium.ConsortiumInvalidRoles, roles=64):
        governance(consortium, "setMemberRoles", legal, 64, signers=trio)
    with ape.reverts(consortium.ConsortiumNotMember, account=stranger):
        governance(consortium, "removeMember", stranger, signers=trio)


def test_policy_that_no_member_could_satisfy_reverts(consortium, agency, auditor, citizen, legal):
    trio = [agency, auditor, citizen]
    governance(consortium, "setMemberRoles", legal, CITIZEN, signers=trio)
    with ape.reverts(consortium.ConsortiumRoleUnfilled, role=LEGAL):
        governance(consortium, "setPolicy", APPROVE, AUDITOR | LEGAL, 1, signers=trio)
    with ape.reverts(consortium.ConsortiumInvalidRoles, roles=64):
        governance(consortium, "setPolicy", APPROVE, 64, 1, signers=trio)
    with ape.reverts(consortium.ConsortiumInvalidSubjectArg, subjectArg=17):
        governance(consortium, "setPolicy", APPROVE, AUDITOR, 17, signers=trio)
    receipt = governance(consortium, "setPolicy", APPROVE, AUDITOR | CITIZEN, 1, signers=trio)
    assert (
        consortium.PolicySet(selector=APPROVE, requiredRoles=AUDITOR | CITIZEN, subjectArg=1)
        in receipt.events
    )


def test_consortium_holds_and_sends_ether(consortium, agency, auditor, citizen, stranger):
    receipt = agency.transfer(consortium, 10**18)
    assert consortium.FundsReceived(sender=agency, amount=10**18) in receipt.events
    before = stranger.balance
    proposal = signed(
        consortium,
        Call(target=str(stranger.address), data=b"", value=10**17),
        agency,
        auditor,
        citizen,
    )
    cs.execute(proposal, consortium, agency)
    assert stranger.balance == before + 10**17


def test_reentering_execute_from_an_action_fails(consortium, agency, auditor, citizen):
    inner = signed(consortium, call_of(consortium, "setThreshold", 2), agency, auditor, citizen)
    signatures = cs.pack_signatures(inner, inner.signatures)
    outer_call = call_of(consortium, "execute", inner.action.as_tuple(), signatures)
    outer = signed(
        consortium, outer_call, agency, auditor, citizen, avoid_nonces=[inner.action.nonce]
    )
    with ape.reverts(consortium.ReentrancyGuardReentrantCall):
        cs.execute(outer, consortium, agency)
    assert consortium.threshold() == 3


# ---------------------------------------------------------------- issue 13: the new guards


def test_a_member_has_at_most_max_conflicts(consortium, agency, auditor, citizen, technical):
    """ConsortiumTooManyConflicts: recusal checks loop over a member's declarations, so they
    are bounded; lifting one makes room again."""
    assert consortium.MAX_CONFLICTS() == 16
    subjects = ["0x" + f"{i + 1:040x}" for i in range(16)]
    for subject in subjects:
        consortium.declareConflict(subject, REASON, sender=technical)
    assert {a.lower() for a in consortium.conflictsOf(technical)} == set(subjects)
    assert consortium.memberInfo(technical)[2] == 16
    assert consortium.conflictsOf(agency) == []
    extra = "0x" + "ee" * 20
    with ape.reverts(consortium.ConsortiumTooManyConflicts, member=technical, max=16):
        consortium.declareConflict(extra, REASON, sender=technical)
    governance(
        consortium, "liftConflict", technical, subjects[3], signers=[agency, auditor, citizen]
    )
    assert len(consortium.conflictsOf(technical)) == 15
    assert subjects[3] not in {a.lower() for a in consortium.conflictsOf(technical)}
    consortium.declareConflict(extra, REASON, sender=technical)
    assert len(consortium.conflictsOf(technical)) == 16


def test_a_member_does_not_count_for_lifting_its_own_conflict(
    consortium, funded, agency, auditor, citizen, technical
):
    """ConsortiumSignerIsSubject: an action on the consortium never counts the member it
    names first (issue 13: a recused member could sign the lifting of its own conflict)."""
    consortium.declareConflict(funded, REASON, sender=technical)
    call = call_of(consortium, "liftConflict", technical, funded)
    proposal = signed(consortium, call, agency, auditor, technical)
    assert cs.status(proposal, consortium).recused == {technical.address: technical.address}
    with ape.reverts(consortium.ConsortiumSignerIsSubject, signer=technical):
        governance_exactly(
            consortium, "liftConflict", technical, funded, signers=[agency, auditor, technical]
        )
    governance(consortium, "liftConflict", technical, funded, signers=[agency, auditor, citizen])


def test_governance_needs_every_role_a_policy_requires(
    consortium, agency, citizen, technical, legal
):
    """Issue 13, side door (b): no quorum without the auditor can make one of its own an
    auditor (and then accept milestones)."""
    assert consortium.governanceRoles() == AUDITOR
    for method, args in (
        ("setMemberRoles", (technical, TECHNICAL | AUDITOR)),
        ("addMember", ("0x" + "11" * 20, AUDITOR)),
        ("setPolicy", (APPROVE, 0, 0)),
        ("setThreshold", (2,)),
    ):
        with ape.reverts(
            consortium.ConsortiumMissingRoles, required=AUDITOR, present=AGENCY | CITIZEN | LEGAL
        ):
            governance_exactly(consortium, method, *args, signers=[agency, citizen, legal])


def test_execute_refuses_a_target_without_code(consortium, agency, auditor, citizen, stranger):
    """ConsortiumTargetNotContract: a call with data to an address without code would succeed
    and burn the nonce (clone addresses are predictable); nothing is consumed."""
    call = Call(target=str(stranger.address), data=APPROVE + bytes(64), description="no code")
    proposal = signed(consortium, call, agency, auditor, citizen)
    signatures = cs.pack_signatures(proposal, proposal.signatures)
    with ape.reverts(consortium.ConsortiumTargetNotContract, target=stranger):
        consortium.execute(proposal.action.as_tuple(), signatures, sender=agency)
    assert not consortium.isNonceUsed(proposal.action.nonce)


def test_execute_takes_exactly_the_actions_value_or_none(
    consortium, agency, auditor, citizen, stranger
):
    """ConsortiumValueMismatch: ether sent along must be the action's value (or none, then
    the consortium pays from its balance); stray ether is refused, not kept."""
    value = 10**17
    call = Call(target=str(stranger.address), data=b"", value=value)
    proposal = signed(consortium, call, agency, auditor, citizen)
    signatures = cs.pack_signatures(proposal, proposal.signatures)
    for sent in (1, value - 1, value + 1):
        with ape.reverts(consortium.ConsortiumValueMismatch, sent=sent, value=value):
            consortium.execute(proposal.action.as_tuple(), signatures, sender=agency, value=sent)
    before = stranger.balance
    consortium.execute(proposal.action.as_tuple(), signatures, sender=agency, value=value)
    assert stranger.balance == before + value
    assert consortium.balance == 0  # the sent ether went through, none stayed behind
    # an action worth nothing takes no ether either
    nothing = signed(
        consortium,
        Call(target=str(stranger.address), data=b"", value=0),
        agency,
        auditor,
        citizen,
        avoid_nonces=[proposal.action.nonce],
    )
    packed_nothing = cs.pack_signatures(nothing, nothing.signatures)
    with ape.reverts(consortium.ConsortiumValueMismatch, sent=5, value=0):
        consortium.execute(nothing.action.as_tuple(), packed_nothing, sender=agency, value=5)


def test_the_recusal_query_needs_its_gas(
    consortium, funded, agency, auditor, technical, bidder_a, stranger
):
    """ConsortiumInsufficientGas: a submitter who starves the partyAmong query must not make
    a recused member look unconcerned; the execution reverts instead."""
    consortium.declareConflict(bidder_a, REASON, sender=technical)
    proposal = signed(consortium, transfer(funded, stranger, 1), agency, auditor, technical)
    signatures = cs.pack_signatures(proposal, proposal.signatures)
    needed = 150_000 + 150_000 // 63 + 5_000
    with ape.reverts(consortium.ConsortiumInsufficientGas, needed=needed) as info:
        consortium.execute(proposal.action.as_tuple(), signatures, sender=agency, gas=200_000)
    assert info.value.inputs["gasLeft"] < needed
    assert not consortium.isNonceUsed(proposal.action.nonce)
    # with enough gas the same signatures execute (the token has no parties: no recusal)
    consortium.execute(proposal.action.as_tuple(), signatures, sender=agency)
    assert funded.balanceOf(stranger) == 1


def test_recusal_follows_its_subject_through_the_procurement(
    project, deployer, accounts, chain, token, consortium, agency, auditor, citizen, technical,
    legal, bidder_a, bidder_b, stranger
):  # fmt: skip
    """Issue 13: a member that declared a conflict with bidder B is recused from every
    decision on B's tender, though those actions never name B (the consortium asks the
    target's partyAmong); a conflict with the supplier A recuses from every decision on the
    agreement, which targets a new address and never names A. A conflict with the losing
    bidder B does not reach the agreement (second reading: anyone could otherwise bid, lose,
    take its bond back and recuse the only auditor from paying the winner)."""
    from procurechain.bids import bid_salt, commitment
    from procurechain.tender import Milestone, TenderSpec, create_tender

    authority = accounts[10]  # the tender's authority here; the recusal is the consortium's
    registry = deployer.deploy(
        project.Registry, authority, deployer.deploy(project.Agreement), token, 10**12, "ocds-r"
    )
    registry.addAgency(agency, sender=authority)
    now = chain.pending_timestamp
    plan = (Milestone(10_000, 30 * 86400, keccak(text="all")),)
    spec = TenderSpec(
        token=str(token.address),
        budget=50_000 * DUSD,
        bond=DUSD,
        bidding_deadline=now + 2 * 86400,
        reveal_deadline=now + 4 * 86400,
        acceptance_window=86400,
        notice="documents",
        plan=plan,
    )
    tender = create_tender(registry, agency, spec)[1]
    openings = {}
    for bidder, price in ((bidder_a, 40_000 * DUSD), (bidder_b, 45_000 * DUSD)):
        token.mint(bidder, DUSD, sender=deployer)
        token.approve(tender, DUSD, sender=bidder)
        salt = bid_salt(bidder, chain.chain_id, str(tender.address), 0)
        sealed = commitment(
            chain.chain_id, str(tender.address), bidder.address, price, salt, REASON
        )
        tender.commitBid(sealed, sender=bidder)
        openings[bidder] = (price, salt, REASON)
    chain.mine(timestamp=tender.biddingDeadline() + 1)
    for bidder, opening in openings.items():
        tender.revealBid(*opening, sender=bidder)
    chain.mine(timestamp=tender.revealDeadline() + 1)
    tender.award(bidder_a, REASON, sender=authority)
    tender.acceptAward([m.as_tuple() for m in plan], sender=bidder_a)
    agreement = project.Agreement.at(tender.agreement())
    assert agreement.tender() == tender.address
    # B lost: a party of the competition (its tender), not of the contract (the agreement)
    assert agreement.partyAmong([stranger, bidder_b]) == "0x" + "00" * 20
    assert tender.partyAmong([stranger, bidder_b]) == bidder_b.address
    assert agreement.partyAmong([stranger, bidder_a]) == bidder_a.address

    consortium.declareConflict(bidder_b, REASON, sender=technical)
    consortium.declareConflict(bidder_a, REASON, sender=legal)
    for call, member, party in (
        (call_of(tender, "claimForfeitedBond", bidder_a), technical, bidder_b),
        (call_of(agreement, "withdraw"), legal, bidder_a),
    ):
        proposal = signed(consortium, call, agency, auditor, member)
        assert cs.status(proposal, consortium).recused[member.address] == party.address
        with ape.reverts(consortium.ConsortiumSignerRecused, signer=member, subject=party):
            consortium.execute(
                proposal.action.as_tuple(),
                cs.pack_signatures(proposal, proposal.signatures),
                sender=agency,
            )
    # the member in conflict with the loser counts on the winner's agreement
    proposal = signed(consortium, call_of(agreement, "withdraw"), agency, auditor, technical)
    assert cs.status(proposal, consortium).recused == {legal.address: bidder_a.address}
    # a conflict with the buying agency recuses too; an unrelated one does not
    consortium.declareConflict(agency, REASON, sender=citizen)
    proposal = signed(consortium, call_of(agreement, "withdraw"), auditor, citizen, legal)
    assert cs.status(proposal, consortium).recused == {
        legal.address: bidder_a.address,
        citizen.address: agency.address,
    }
    consortium.declareConflict(stranger, REASON, sender=auditor)
    proposal = signed(consortium, call_of(agreement, "withdraw"), agency, auditor)
    assert auditor.address not in cs.status(proposal, consortium).recused
