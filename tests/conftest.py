"""Fixtures shared by every test module: accounts named by role, the devnet token."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DUSD = 10**6  # one dUSD in base units (6 decimals)


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def agency(accounts):
    """City Parks Department: the buyer and a consortium member (AGENCY)."""
    return accounts[1]


@pytest.fixture(scope="session")
def auditor(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def citizen(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def technical(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def legal(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def bidder_a(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def bidder_b(accounts):
    return accounts[7]


@pytest.fixture(scope="session")
def bidder_c(accounts):
    return accounts[8]


@pytest.fixture(scope="session")
def stranger(accounts):
    """Someone with no role anywhere."""
    return accounts[9]


@pytest.fixture
def token(deployer, project):
    """dUSD: 6 decimals, EIP-2612 permit."""
    return deployer.deploy(project.DemoStablecoin, deployer)
