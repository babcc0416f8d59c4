"""The persistent local devnet: an Anvil that keeps its chain on disk, and devnet-only helpers.

ape-foundry starts a throwaway Anvil for every ``ape test`` / ``ape run`` and cannot pass
Anvil's ``--state`` option, so the devnet that must survive restarts is started here
instead: ``anvil --state .devnet/state.json --state-interval 1`` (the chain is written to disk
every second and on exit, and loaded on start), with Ape's test mnemonic so ``TEST::N``
accounts are funded. Ape reaches it as the custom network ``ethereum:devnet``
(``ape-config.yaml``).

Time travel and the faucet are devnet-only: they refuse to run on any other chain.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from shutil import which

from procurechain.errors import ProcurechainError

__all__ = ["DEVNET_CHAIN_ID", "Devnet", "mine", "move_to", "require_devnet", "time_travel"]

DEVNET_CHAIN_ID = 31337
TEST_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True)
class Devnet:
    """Where the devnet lives: its port and its folder (state, pid, log)."""

    folder: Path = field(
        default_factory=lambda: Path(os.environ.get("PROCURECHAIN_DEVNET_DIR", ".devnet"))
    )
    port: int = field(default_factory=lambda: _port_from_environment())
    accounts: int = 30
    #: Seconds between two writes of the whole chain to ``state.json``. Each write costs
    #: time in proportion to the chain's history (about 7 KB per transaction), so a long
    #: history wants a longer interval; a crash loses at most this much, a clean stop nothing.
    state_interval: int = field(default_factory=lambda: _state_interval_from_environment())

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    @property
    def pid_file(self) -> Path:
        return self.folder / "anvil.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / "anvil.log"

    def _rpc(self, method: str, params: list | None = None, timeout: float = 2.0) -> object:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
        request = urllib.request.Request(
            self.uri, body.encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response).get("result")

    def running(self) -> bool:
        """Whether a node answers on the devnet port."""
        try:
            self._rpc("eth_chainId", timeout=0.5)
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return True

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self, timeout: float = 20.0) -> bool:
        """Start the devnet unless it already runs; returns True if it was started now."""
        if self.running():
            chain_id = int(str(self._rpc("eth_chainId")), 16)
            if chain_id != DEVNET_CHAIN_ID:
                raise ProcurechainError(
                    f"port {self.port} is taken by a node with chain id {chain_id}; stop it or "
                    "set PROCURECHAIN_DEVNET_PORT"
                )
            return False
        anvil = which("anvil")
        if anvil is None:
            raise ProcurechainError(
                "anvil is not on PATH; run `make setup` first (it links .venv/bin/anvil)"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            anvil,
            "--port",
            str(self.port),
            "--chain-id",
            str(DEVNET_CHAIN_ID),
            "--mnemonic",
            TEST_MNEMONIC,
            "--accounts",
            str(self.accounts),
            "--balance",
            "100000",
            "--state",
            str(self.state_file),
            "--state-interval",
            str(self.state_interval),
        ]
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ProcurechainError(
                    f"anvil exited at start (code {process.returncode}); see {self.log_file}"
                )
            if self.running():
                self._restore_clock()
                return True
            time.sleep(0.1)
        process.terminate()
        raise ProcurechainError(f"anvil did not answer on {self.uri} within {timeout:.0f}s")

    def _restore_clock(self) -> None:
        """Anvil reloads the chain but not its clock offset: a devnet whose clock was moved
        forward would mine new blocks in the past. Continue from the latest block instead."""
        latest = self._rpc("eth_getBlockByNumber", ["latest", False])
        head = int(latest["timestamp"], 16) if isinstance(latest, dict) else 0
        if head >= int(time.time()):
            self._rpc("evm_setTime", [head + 1])

    def stop(self, kill: bool = False, timeout: float = 20.0) -> bool:
        """Stop the devnet (SIGTERM lets Anvil write its state; ``kill`` simulates a crash).

        Returns:
            True if a running devnet was stopped.
        """
        pid = self.pid()
        if pid is None:
            if self.running():
                raise ProcurechainError(
                    f"a node answers on {self.uri} but {self.pid_file} is missing or unreadable, "
                    "so it was not started here; stop it where it was started"
                )
            return False
        if pid <= 1 or (_alive(pid) and not _is_anvil_on(pid, self.port)):
            raise ProcurechainError(
                f"{self.pid_file} names process {pid}, which is not this devnet's anvil (port "
                f"{self.port}); nothing was stopped. Remove that file if the devnet is not running"
            )
        try:
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            self.pid_file.unlink(missing_ok=True)
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True


def _state_interval_from_environment() -> int:
    text = os.environ.get("PROCURECHAIN_DEVNET_STATE_INTERVAL", "1")
    try:
        seconds = int(text)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise ProcurechainError(
            f"PROCURECHAIN_DEVNET_STATE_INTERVAL={text!r} is not a whole number of seconds "
            "(1 or more); fix or unset it"
        )
    return seconds


def _port_from_environment() -> int:
    text = os.environ.get("PROCURECHAIN_DEVNET_PORT", "8545")
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise ProcurechainError(
            f"PROCURECHAIN_DEVNET_PORT={text!r} is not a port (1-65535); fix or unset it"
        )
    return port


def _is_anvil_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` is an anvil listening on ``port`` (by its command line), so a
    stale or edited pid file never makes ``stop`` signal another program."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:  # no /proc (macOS): ask ps
        result = subprocess.run(
            ["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
        args = result.stdout.split()
    if not args or Path(args[0]).name != "anvil":
        return False
    return any(a == "--port" and b == str(port) for a, b in itertools.pairwise(args))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (reaping it if it is our own exited child)."""
    try:
        reaped, _status = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: probe it instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def require_devnet(what: str) -> None:
    """Refuse a devnet-only helper (``what``) on any chain but the local devnet."""
    from procurechain import network

    chain_id = network.chain_id()
    if chain_id != DEVNET_CHAIN_ID:
        raise ProcurechainError(
            f"{what} exists only on the local devnet (chain {DEVNET_CHAIN_ID}); this is chain "
            f"{chain_id}"
        )


def mine(blocks: int = 1, timestamp: int | None = None) -> None:
    """Mine blocks on the devnet, the first at ``timestamp`` if given.

    Uses Anvil's RPC directly (``evm_setNextBlockTimestamp``, ``evm_mine``): Ape's generic node
    provider, which reaches the persistent devnet, does not implement mining.
    """
    from ape import chain

    require_devnet("mining")
    if timestamp is not None:
        chain.provider.make_request("evm_setNextBlockTimestamp", [int(timestamp)])
    for _ in range(blocks):
        chain.provider.make_request("evm_mine", [])


def move_to(timestamp: int) -> int:
    """Mine a block at ``timestamp`` (or just after the head, if that is later); returns the
    new head's timestamp. Measured from the head block, never from Ape's "pending" block,
    whose time can still carry an override a reverted test set."""
    from ape import chain

    require_devnet("time travel")
    head = int(chain.provider.web3.eth.get_block("latest")["timestamp"])
    mine(timestamp=max(int(timestamp), head + 1))
    return int(chain.provider.web3.eth.get_block("latest")["timestamp"])


def time_travel(seconds: int) -> int:
    """Move the devnet's clock forward and mine a block; returns the new block timestamp."""
    from ape import chain

    require_devnet("time travel")
    if seconds < 0:
        raise ProcurechainError("time only moves forward: give a positive number of seconds")
    head = int(chain.provider.web3.eth.get_block("latest")["timestamp"])
    mine(timestamp=head + max(seconds, 1))
    return int(chain.provider.web3.eth.get_block("latest")["timestamp"])
