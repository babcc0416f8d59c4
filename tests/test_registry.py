"""Registry: agencies, the rollout-phase cap, tender creation and the public index."""

from dataclasses import replace

import ape
import pytest
from eth_utils import keccak

from procurechain.errors import ProcurechainError, decode_revert
from procurechain.tender import Milestone, TenderSpec, create_tender, list_tenders, plan_hash

DUSD = 10**6
CAP = 100_000 * DUSD
PLAN = (
    Milestone(4_000, 30 * 86400, keccak(text="20 benches delivered")),
    Milestone(4_000, 60 * 86400, keccak(text="20 more benches delivered")),
    Milestone(2_000, 75 * 86400, keccak(text="installation and inspection")),
)
ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="session")
def consortium(accounts):
    return accounts[10]


@pytest.fixture
def agreement_impl(deployer, project):
    return deployer.deploy(project.RecordingAgreement)


@pytest.fixture
def registry(deployer, project, consortium, agency, agreement_impl, token):
    registry = deployer.deploy(
        project.Registry, consortium, agreement_impl, token, CAP, "ocds-pc0001"
    )
    registry.addAgency(agency, sender=consortium)
    return registry


@pytest.fixture
def spec(token, chain):
    now = chain.pending_timestamp
    return TenderSpec(
        token=str(token.address),
        budget=50_000 * DUSD,
        bond=500 * DUSD,
        bidding_deadline=now + 7 * 86400,
        reveal_deadline=now + 9 * 86400,
        acceptance_window=3 * 86400,
        notice="tender documents",
        plan=PLAN,
    )


def create(registry, agency, spec):
    return registry.createTender(spec.params(), spec.plan_tuples(), spec.notice, sender=agency)


def test_constructor_wires_the_implementations(
    registry, consortium, agreement_impl, token, project
):
    assert registry.consortium() == consortium.address
    assert registry.agreementImplementation() == agreement_impl.address
    assert registry.token() == token.address
    assert registry.phaseCap() == CAP
    assert registry.ocidPrefix() == "ocds-pc0001"
    implementation = project.Tender.at(registry.tenderImplementation())
    assert implementation.registry() == registry.address
    assert implementation.consortium() == consortium.address
    assert implementation.agreementImplementation() == agreement_impl.address


def test_constructor_rejects_zero_addresses(
    deployer, project, consortium, agreement_impl, token, chain
):
    # Not `ape.reverts(Registry.RegistryZeroAddress)`: after other modules ran, Ape sometimes
    # fails to decode a constructor's revert (eth_abi InvalidPointer). The deployment is
    # simulated with a raw eth_call instead, and its revert data decoded by procurechain.
    from eth_abi import encode
    from web3.exceptions import ContractLogicError

    bytecode = bytes.fromhex(project.Registry.contract_type.deployment_bytecode.bytecode[2:])
    good = (consortium.address, agreement_impl.address, token.address)
    for zero in range(3):
        addresses = [ZERO if i == zero else a for i, a in enumerate(good)]
        args = encode(
            ["address", "address", "address", "uint128", "string"], [*addresses, CAP, "ocds-x"]
        )
        with pytest.raises(ContractLogicError) as info:
            chain.provider.web3.eth.call({"from": deployer.address, "data": bytecode + args})
        assert decode_revert(bytes.fromhex(info.value.data[2:])) == ("RegistryZeroAddress", {})
        with pytest.raises(Exception):  # noqa: B017 - the same deployment, sent, fails too
            deployer.deploy(project.Registry, *addresses, CAP, "ocds-x")


def test_agencies_are_managed_by_the_consortium(registry, consortium, agency, citizen, stranger):
    with ape.reverts(registry.RegistryNotConsortium, caller=stranger):
        registry.addAgency(citizen, sender=stranger)
    with ape.reverts(registry.RegistryNotConsortium, caller=agency):
        registry.removeAgency(agency, sender=agency)
    with ape.reverts(registry.RegistryZeroAddress):
        registry.addAgency(ZERO, sender=consortium)
    with ape.reverts(registry.RegistryAgencyAlreadyAdded, agency=agency):
        registry.addAgency(agency, sender=consortium)
    receipt = registry.addAgency(citizen, sender=consortium)
    assert receipt.events == [registry.AgencyAdded(citizen)]
    assert registry.isAgency(citizen)
    receipt = registry.removeAgency(citizen, sender=consortium)
    assert receipt.events == [registry.AgencyRemoved(citizen)]
    assert not registry.isAgency(citizen)
    with ape.reverts(registry.RegistryUnknownAgency, agency=citizen):
        registry.removeAgency(citizen, sender=consortium)


def test_only_agencies_create_tenders(registry, consortium, agency, stranger, spec):
    with ape.reverts(registry.RegistryNotAgency, caller=stranger):
        create(registry, stranger, spec)
    create(registry, agency, spec)
    registry.removeAgency(agency, sender=consortium)
    with ape.reverts(registry.RegistryNotAgency, caller=agency):
        create(registry, agency, spec)
    assert registry.tendersOf(agency) == [1]  # its tenders stay in the index


def test_phase_cap(registry, consortium, agency, stranger, spec):
    big = replace(spec, budget=CAP + 1)
    with ape.reverts(registry.RegistryBudgetAboveCap, budget=CAP + 1, cap=CAP):
        create(registry, agency, big)
    with pytest.raises(ProcurechainError, match="exceeds the rollout-phase cap"):
        create_tender(registry, agency, big)  # checked before anything is sent
    with ape.reverts(registry.RegistryNotConsortium, caller=stranger):
        registry.raisePhaseCap(2 * CAP, sender=stranger)
    with ape.reverts(registry.RegistryPhaseCapNotRaised, current=CAP, requested=CAP):
        registry.raisePhaseCap(CAP, sender=consortium)
    receipt = registry.raisePhaseCap(10 * CAP, sender=consortium)
    assert receipt.events == [registry.PhaseCapRaised(CAP, 10 * CAP)]
    create(registry, agency, big)


@pytest.mark.parametrize(
    "change",
    [
        {"budget": 0},
        {"budget": 2**88},
        {"bond": 2**88},
    ],
)
def test_amounts_must_fit(registry, consortium, agency, spec, change):
    registry.raisePhaseCap(2**128 - 1, sender=consortium)
    bad = replace(spec, **change)
    with ape.reverts(registry.RegistryInvalidAmounts, budget=bad.budget, bond=bad.bond):
        create(registry, agency, bad)


def test_deadlines_must_be_ordered_and_in_the_future(registry, agency, spec, chain):
    late = replace(spec, bidding_deadline=chain.pending_timestamp - 1)
    with ape.reverts(registry.RegistryInvalidDeadlines, biddingDeadline=late.bidding_deadline):
        create(registry, agency, late)
    crossed = replace(spec, reveal_deadline=spec.bidding_deadline)
    with ape.reverts(
        registry.RegistryInvalidDeadlines,
        biddingDeadline=crossed.bidding_deadline,
        revealDeadline=crossed.reveal_deadline,
    ):
        create(registry, agency, crossed)


def test_tenders_must_use_the_registry_token(registry, agency, spec, token, deployer, project):
    """One currency per registry: the phase cap is in its units, so it caps value (a tender
    in a 2-decimal token would otherwise be admitted 10,000 times the pilot cap)."""
    other = deployer.deploy(project.DemoStablecoin, deployer)
    for wrong in (ZERO, str(other.address)):
        with ape.reverts(registry.RegistryTokenNotAccepted, token=wrong, accepted=token.address):
            create(registry, agency, replace(spec, token=wrong))
    create(registry, agency, spec)  # the registry's own token is accepted


def test_minimum_durations(registry, agency, spec, chain):
    """Bidding, reveal (and so every ranking round) and acceptance last at least a day each
    (previously any positive duration, even one second, was accepted)."""
    day = 86400
    assert registry.MIN_BIDDING_PERIOD() == day
    assert registry.MIN_REVEAL_PERIOD() == day
    assert registry.MIN_ACCEPTANCE_WINDOW() == day
    for window in (0, 1, day - 1):
        with ape.reverts(registry.RegistryAcceptanceWindowTooShort, window=window, minimum=day):
            create(registry, agency, replace(spec, acceptance_window=window))
    for period in (1, day - 1):
        short = replace(spec, reveal_deadline=spec.bidding_deadline + period)
        with ape.reverts(registry.RegistryRevealPeriodTooShort, period=period, minimum=day):
            create(registry, agency, short)
    # The bidding period counts from the block that creates the tender.
    chain.pending_timestamp = chain.pending_timestamp + 10
    now = chain.pending_timestamp
    short = replace(spec, bidding_deadline=now + day - 1, reveal_deadline=now + 3 * day)
    with ape.reverts(registry.RegistryBiddingPeriodTooShort, period=day - 1, minimum=day):
        create(registry, agency, short)
    # Exactly the minimum of each is accepted.
    now = chain.pending_timestamp
    create(
        registry,
        agency,
        replace(
            spec,
            bidding_deadline=now + day,
            reveal_deadline=now + 2 * day,
            acceptance_window=day,
        ),
    )


def test_other_parameters_are_checked(registry, agency, spec):
    with ape.reverts(registry.RegistryInvalidTerms, retentionBps=10_001, latePenaltyCapBps=0):
        create(registry, agency, replace(spec, retention_bps=10_001))
    with ape.reverts(registry.RegistryInvalidTerms, retentionBps=0, latePenaltyCapBps=10_001):
        create(registry, agency, replace(spec, late_penalty_cap_bps=10_001))


@pytest.mark.parametrize(
    "plan, length, total",
    [
        ((), 0, 0),
        ((Milestone(6_000, 1, b"\x01" * 32),), 1, 6_000),
        ((Milestone(10_000, 1, b"\x01" * 32), Milestone(0, 2, b"\x02" * 32)), 2, 10_000),
        (tuple(Milestone(250, i, b"\x01" * 32) for i in range(40)), 40, 10_000),
    ],
)
def test_the_plan_must_be_whole(registry, agency, spec, plan, length, total):
    with ape.reverts(registry.RegistryInvalidPlan, milestones=length, shareSum=total):
        create(registry, agency, replace(spec, plan=plan))


def test_index_by_id_and_by_agency(registry, consortium, agency, citizen, spec, project, chain):
    registry.addAgency(citizen, sender=consortium)
    receipt = create(registry, agency, spec)
    tender = registry.tenderOf(1)
    assert receipt.events.filter(registry.TenderCreated) == [
        registry.TenderCreated(1, tender, agency, keccak(text=spec.notice), spec.plan_tuples())
    ]
    assert project.Tender.at(tender).planHash() == plan_hash(PLAN)
    create(registry, citizen, spec)
    create(registry, agency, spec)
    assert registry.tenderCount() == 3
    assert registry.tendersOf(agency) == [3, 1]
    assert registry.tendersOf(citizen) == [2]
    assert registry.tendersOf(ZERO) == []
    # the chain id and the registry's address keep two deployments' ocids apart
    local = f"ocds-pc0001-{chain.chain_id}-{str(registry.address).lower()}"
    assert registry.ocid(3) == f"{local}-3"
    assert project.Tender.at(registry.tenderOf(3)).previousOfAgency() == 1
    assert [(i, o) for i, o, _ in list_tenders(registry)] == [
        (3, f"{local}-3"),
        (2, f"{local}-2"),
        (1, f"{local}-1"),
    ]
    assert [i for i, _, _ in list_tenders(registry, agency.address)] == [3, 1]
    for unknown in (0, 4):
        with ape.reverts(registry.RegistryUnknownTender, id=unknown):
            registry.tenderOf(unknown)
        with ape.reverts(registry.RegistryUnknownTender, id=unknown):
            registry.ocid(unknown)


def test_index_holds_past_a_one_byte_nonce(registry, agency, spec):
    """Tender 127 is the registry's nonce 128: the two-byte RLP branch of the address."""
    for _ in range(130):
        create(registry, agency, spec)  # createTender asserts the computed address
    assert registry.tendersOf(agency)[:3] == [130, 129, 128]
    assert registry.tenderOf(130) != registry.tenderOf(129)
