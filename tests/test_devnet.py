"""The persistent devnet: a node killed mid-lifecycle comes back from disk and the lifecycle
finishes; devnet-only helpers refuse other chains."""

import socket
import time

import pytest
from ape import networks

from procurechain.devnet import Devnet, time_travel
from procurechain.errors import ProcurechainError
from procurechain.scenario import _Run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def devnet(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURECHAIN_DEPLOYMENTS", str(tmp_path / "deployments"))
    node = Devnet(folder=tmp_path / "devnet", port=_free_port())
    node.start()
    yield node
    node.stop()


def test_a_node_killed_mid_lifecycle_loses_nothing(devnet, tmp_path):
    with networks.parse_network_choice(f"ethereum:local:{devnet.uri}"):
        run = _Run(tmp_path / "out", lambda _step: None)
        run.deploy()
        run.publish()
        run.bid()
        tender = str(run.tender.address)
        time.sleep(2.5)  # the state is written every second
        assert devnet.stop(kill=True)  # SIGKILL: no chance to write anything more
        assert not devnet.running()

        assert devnet.start()  # loads .../state.json
        assert str(run.registry.tenderOf(1)) == tender
        assert run.tender.bidOf(run.winner)[1]  # the revealed bid is still there
        run.award()
        run.deliver()
        run.close()
        run.balances()
    balances = run.result.balances
    assert balances["Tender contract"] == balances["Agreement escrow"] == 0
    assert sum(balances.values()) == run.result.minted
    assert devnet.state_file.exists()


def test_a_clean_stop_writes_the_state_and_start_is_idempotent(devnet):
    assert devnet.start() is False  # already running: nothing started
    with networks.parse_network_choice(f"ethereum:local:{devnet.uri}") as provider:
        before = time_travel(3600)
        height = provider.web3.eth.block_number
    devnet.stop()
    devnet.start()
    with networks.parse_network_choice(f"ethereum:local:{devnet.uri}") as provider:
        assert provider.web3.eth.block_number == height
        assert provider.web3.eth.get_block("latest")["timestamp"] >= before


def test_devnet_helpers_refuse_other_chains(chain):
    chain.provider.make_request("anvil_setChainId", [5])
    try:
        with pytest.raises(ProcurechainError, match="only on the local devnet"):
            time_travel(10)
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])


def test_a_busy_port_with_another_chain_is_refused(tmp_path, chain):
    port = int(chain.provider.uri.rsplit(":", 1)[1])
    chain.provider.make_request("anvil_setChainId", [5])
    try:
        with pytest.raises(ProcurechainError, match="is taken by a node with chain id 5"):
            Devnet(folder=tmp_path, port=port).start()
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])


def test_devnet_commands_start_report_and_stop(tmp_path, monkeypatch):
    """`ape run devnet start|status|stop` as the README shows them (no provider needed)."""
    import subprocess
    import sys
    from pathlib import Path

    monkeypatch.setenv("PROCURECHAIN_DEVNET_DIR", str(tmp_path / "devnet"))
    monkeypatch.setenv("PROCURECHAIN_DEVNET_PORT", str(_free_port()))
    ape = str(Path(sys.executable).with_name("ape"))
    root = Path(__file__).resolve().parents[1]

    def run(command: str) -> str:
        done = subprocess.run(
            [ape, "run", "devnet", command], cwd=root, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        assert "devnet started at http://127.0.0.1:" in run("start")
        assert "already running" in run("start")
        assert "devnet running" in run("status")
    finally:
        assert "devnet stopped" in run("stop")
    assert "devnet stopped at" in run("status")
    assert (tmp_path / "devnet" / "state.json").exists()
