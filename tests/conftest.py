"""Fixtures shared by every test module: accounts named by role, the devnet token."""

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
# `make fuzz`: many more examples (FUZZ_EXAMPLES, default 1,000), a new seed every run.
settings.register_profile(
    "fuzz",
    deadline=None,
    derandomize=False,
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1000")),
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DUSD = 10**6  # one dUSD in base units (6 decimals)
DAY = 86_400
#: The reference plan's shares (bps) and due days: 40% at 30, 40% at 60, 20% at 90.
BENCH_SHARES = ((4_000, 30), (4_000, 60), (2_000, 90))


def send_raw(chain, sender, to, data: bytes) -> dict:
    """Send raw calldata from an unlocked devnet account and wait until it is mined and
    succeeded (a loaded machine otherwise reads the chain before the block exists)."""
    web3 = chain.provider.web3
    sent = web3.eth.send_transaction(
        {
            "from": str(sender.address),
            "to": str(getattr(to, "address", to)),
            "data": "0x" + data.hex(),
        }
    )
    receipt = web3.eth.wait_for_transaction_receipt(sent)
    assert receipt["status"] == 1, receipt
    return receipt


def notice_spec(chain, token, notice: str, titles, budget: int = 50_000 * DUSD):
    """A tender spec with ``notice`` and the reference plan, milestone ``i`` titled
    ``titles[i]`` (the notice is not read here: it may be hostile)."""
    from eth_utils import keccak

    from procurechain.tender import Milestone, TenderSpec

    now = chain.pending_timestamp
    return TenderSpec(
        token=str(token.address),
        budget=budget,
        bond=500 * DUSD,
        bidding_deadline=now + 7 * DAY,
        reveal_deadline=now + 10 * DAY,
        acceptance_window=5 * DAY,
        notice=notice,
        plan=tuple(
            Milestone(share, days * DAY, keccak(text=title))
            for (share, days), title in zip(BENCH_SHARES, titles, strict=True)
        ),
    )


PROJECT = Path(__file__).resolve().parents[1]


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


@pytest.fixture
def ape_run(chain):
    """Run `ape run <args>` in a new process against this test's node, as a user on another
    machine would; asserts the exit status is what ``expect_ok`` says."""
    network = f"ethereum:local:{chain.provider.uri}"
    ape = str(Path(sys.executable).with_name("ape"))

    def run(*args: str, expect_ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [ape, "run", *args, "--network", network],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (result.returncode == 0) == expect_ok, result.stdout + result.stderr
        return result

    return run


def load_script(name: str):
    """Import ``scripts/<name>.py`` (not a package) to call its commands' bodies in-process."""
    spec = importlib.util.spec_from_file_location(
        f"procurechain_script_{name}", PROJECT / "scripts" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def deployments_in(folder: Path) -> Iterator[None]:
    """Deployment manifests go to ``folder`` while the block runs (for module-scoped fixtures,
    where ``monkeypatch`` is not available); the previous setting is restored after."""
    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    os.environ["PROCURECHAIN_DEPLOYMENTS"] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
        else:
            os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server (Debian's binaries) for the whole run, started on first use
    and stopped at the end; fails in one line naming tools/check-system.sh when the server
    binaries are missing."""
    from postgres import PostgresServer, PostgresUnavailableError

    try:
        server = PostgresServer()
    except PostgresUnavailableError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        server.start()
    except PostgresUnavailableError as err:
        server.stop()
        pytest.fail(str(err), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
