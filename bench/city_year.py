"""A city's year (`ape run simulate`) on Anvils of its own: wall time, transactions, tx/s, peak
memory, and whether the last cohort of 50 tenders is as fast as the first.

Two nodes, one after the other, each started here on a free port:

- devnet: exactly what `ape run devnet start` runs (Anvil with ``--state``, the chain written
  to disk every second), which `ape run simulate` uses by default;
- plain: the same Anvil without a state file, which tells how much of any slowdown is the
  devnet writing its growing chain to disk.

For each cohort the node's own CPU time is read from ``/proc`` (Linux), so a busy machine
(the wall clock) can be told apart from work that grows with the chain.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from shutil import which
from typing import Any

from procurechain.devnet import DEVNET_CHAIN_ID, TEST_MNEMONIC, Devnet
from procurechain.simulation import Progress, SimulationConfig, simulate

TARGET = 1.10  # last 50 tenders / first 50, issue #7


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _plain_anvil(port: int) -> subprocess.Popen:
    anvil = which("anvil")
    if anvil is None:
        raise RuntimeError("anvil is not on PATH")
    return subprocess.Popen(
        [anvil, "--port", str(port), "--chain-id", str(DEVNET_CHAIN_ID), "--mnemonic",
         TEST_MNEMONIC, "--accounts", "30", "--balance", "100000", "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def _run_on(uri: str, pid: int, config: SimulationConfig) -> dict[str, Any]:
    from ape import networks

    node_cpu: list[float] = []

    def report(step: Progress) -> None:
        if step.phase in ("ready", "warranty and payouts"):
            node_cpu.append(_cpu_seconds(pid))

    with networks.parse_network_choice(f"ethereum:local:{uri}"):
        result = simulate(config, report)
    figures = result.as_dict()
    for cohort, before, after in zip(figures["cohorts"], node_cpu, node_cpu[1:], strict=False):
        cohort["node_cpu_seconds"] = round(after - before, 2)
    return figures


def run(tenders: int = 200, bidders: int = 10, seed: int = 1) -> dict[str, Any]:
    """Simulate ``tenders`` procurements on a devnet and on a plain Anvil (each its own)."""
    config = SimulationConfig(tenders=tenders, bidders=bidders, seed=seed, fresh=True)
    results: dict[str, Any] = {"tenders": tenders, "bidders": bidders, "seed": seed}
    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROCURECHAIN_DEPLOYMENTS"] = str(Path(folder) / "deployments")
        try:
            devnet = Devnet(folder=Path(folder) / "devnet", port=_free_port())
            devnet.start()
            try:
                results["devnet"] = _run_on(devnet.uri, devnet.pid() or 0, config)
                results["devnet"]["state_file_mb"] = round(
                    devnet.state_file.stat().st_size / 2**20, 1
                )
            finally:
                devnet.stop()
            port = _free_port()
            process = _plain_anvil(port)
            try:
                uri = f"http://127.0.0.1:{port}"
                probe = Devnet(folder=Path(folder) / "plain", port=port)
                deadline = time.monotonic() + 20
                while not probe.running() and time.monotonic() < deadline:
                    time.sleep(0.1)
                results["plain"] = _run_on(uri, process.pid, config)
            finally:
                process.terminate()
                process.wait(timeout=20)
        finally:
            if saved is None:
                os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
            else:
                os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved
    return results


def markdown(result: dict[str, Any]) -> list[str]:
    lines = [
        "## A city's year: `ape run simulate`",
        "",
        f"{result['tenders']} complete procurements, {result['bidders']} suppliers, seed "
        f"{result['seed']}, in cohorts of 50 through the bulk path, then `audit verify`. Each on",
        "its own Anvil: the devnet as `ape run devnet start` runs it (chain written to disk every",
        "second) and a plain Anvil (no state file). Node CPU is the Anvil process's own time;",
        "wall time also counts waiting for a busy machine's CPU. Peak memory is this process's.",
        "",
        "| node | transactions | lifecycles | tx/s | audit verify | peak memory | "
        "last 50 / first 50 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for node in ("devnet", "plain"):
        r = result[node]
        ratio = r["last_over_first"]
        mark = "" if ratio is None else (" (met)" if ratio <= TARGET else " (MISSED)")
        lines.append(
            f"| {node} | {r['transactions']:,} | {r['seconds']:.1f} s | {r['tx_per_s']:.0f} | "
            f"{r['audit_seconds']:.1f} s, {r['audit_events']:,} events, "
            f"{r['differences']} differences | {r['peak_rss_mb']:.0f} MB | "
            f"{'-' if ratio is None else f'{ratio:.2f}'}{mark} |"
        )
    lines += [
        "",
        "Per cohort of 50 tenders (wall s / Python CPU s / node CPU s):",
        "",
        "| tenders | devnet | plain |",
        "| --- | ---: | ---: |",
    ]
    for a, b in zip(result["devnet"]["cohorts"], result["plain"]["cohorts"], strict=True):
        cells = [
            f"{c['seconds']:.1f} / {c['cpu_seconds']:.1f} / {c.get('node_cpu_seconds', 0):.1f}"
            for c in (a, b)
        ]
        span = f"{a['first_tender']}-{a['first_tender'] + a['tenders'] - 1}"
        lines.append(f"| {span} | {cells[0]} | {cells[1]} |")
    lines += [
        "",
        f"The devnet's state file ended at {result['devnet'].get('state_file_mb', 0)} MB; Anvil "
        "writes all of it every second.",
        "",
    ]
    return lines
