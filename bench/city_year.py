"""A city's year (`ape run simulate`) on Anvils of its own: wall time, transactions, tx/s, peak
memory, and whether the last cohort of 50 tenders is as fast as the first.

Two nodes, one after the other, each started here on a free port:

- devnet: exactly what `ape run devnet start` runs (Anvil with ``--state``, the chain written
  to disk every second), which `ape run simulate` uses by default;
- plain: the same Anvil without a state file, which tells how much of any slowdown is the
  devnet writing its growing chain to disk.

Each node runs the simulation ``ROUNDS`` times, the two kinds alternating, each time on a new
Anvil: a cohort lasts about a second, so one stray pause on a shared machine moves a single
ratio by several percent; every run's ratio is reported and the median judged. For each cohort
the node's own CPU time is read from ``/proc`` (Linux), so a busy machine (the wall clock) can
be told apart from work that grows with the chain, and the blocks mined are counted: Anvil
recomputes its whole state root for every block, so a block's cost grows with the chain and
the blocks a cohort needs are what decides whether the last cohort keeps up with the first.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from shutil import which
from typing import Any

from procurechain.bulk import JsonRpc
from procurechain.devnet import DEVNET_CHAIN_ID, TEST_MNEMONIC, Devnet
from procurechain.simulation import Progress, SimulationConfig, simulate

TARGET = 1.10  # last 50 tenders / first 50, issue #7
ROUNDS = 3  # simulations per kind of node


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


def _empty_block_ms(rpc: JsonRpc, blocks: int = 20) -> float:
    """Milliseconds for Anvil to mine an empty block (the mean of ``blocks``): what a block
    costs the node before any transaction in it."""
    started = time.perf_counter()
    for _ in range(blocks):
        rpc.request("evm_mine", [])
    return round((time.perf_counter() - started) / blocks * 1000, 2)


def _run_on(uri: str, pid: int, config: SimulationConfig) -> dict[str, Any]:
    from ape import networks

    node_cpu: list[float] = []

    def report(step: Progress) -> None:
        if step.phase in ("ready", "warranty and payouts"):
            node_cpu.append(_cpu_seconds(pid))

    rpc = JsonRpc(uri)
    empty_before = _empty_block_ms(rpc)
    with networks.parse_network_choice(f"ethereum:local:{uri}"):
        result = simulate(config, report)
    figures = result.as_dict()
    figures["empty_block_ms"] = [empty_before, _empty_block_ms(rpc)]
    for cohort, before, after in zip(figures["cohorts"], node_cpu, node_cpu[1:], strict=False):
        cohort["node_cpu_seconds"] = round(after - before, 2)
    return figures


def _devnet_run(folder: Path, config: SimulationConfig) -> dict[str, Any]:
    devnet = Devnet(folder=folder, port=_free_port())
    devnet.start()
    try:
        figures = _run_on(devnet.uri, devnet.pid() or 0, config)
        figures["state_file_mb"] = round(devnet.state_file.stat().st_size / 2**20, 1)
        figures["state_interval_s"] = devnet.state_interval
        return figures
    finally:
        devnet.stop()


def _plain_run(folder: Path, config: SimulationConfig) -> dict[str, Any]:
    port = _free_port()
    process = _plain_anvil(port)
    try:
        probe = Devnet(folder=folder, port=port)
        deadline = time.monotonic() + 20
        while not probe.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        return _run_on(f"http://127.0.0.1:{port}", process.pid, config)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _work_ratio(figures: dict[str, Any]) -> float:
    """Last cohort over first by CPU time (this process's + the node's): the work, whatever
    else the machine was doing."""
    first, last = figures["cohorts"][0], figures["cohorts"][-1]
    work = [c["cpu_seconds"] + c.get("node_cpu_seconds", 0.0) for c in (first, last)]
    return round(work[1] / work[0], 3) if work[0] else 0.0


def run(
    tenders: int = 200, bidders: int = 10, seed: int = 1, rounds: int = ROUNDS
) -> dict[str, Any]:
    """Simulate ``tenders`` procurements ``rounds`` times on a devnet and on a plain Anvil
    (alternating, each run on a new node); the run with the median ratio is kept whole."""
    config = SimulationConfig(tenders=tenders, bidders=bidders, seed=seed, fresh=True)
    results: dict[str, Any] = {"tenders": tenders, "bidders": bidders, "seed": seed}
    runs: dict[str, list[dict[str, Any]]] = {"devnet": [], "plain": []}
    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    try:
        for n in range(rounds):
            for node, start in (("devnet", _devnet_run), ("plain", _plain_run)):
                with tempfile.TemporaryDirectory() as folder:
                    os.environ["PROCURECHAIN_DEPLOYMENTS"] = str(Path(folder) / "deployments")
                    runs[node].append(start(Path(folder) / node, config))
                ratio = runs[node][-1]["last_over_first"]
                print(f"  {node} run {n + 1}/{rounds}: last/first {ratio}", file=sys.stderr)
    finally:
        if saved is None:
            os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
        else:
            os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved
    for node, done in runs.items():
        ratios = [r["last_over_first"] for r in done]
        median = sorted(ratios)[(len(ratios) - 1) // 2]  # a run's own figure, even when even
        kept = dict(next(r for r in done if r["last_over_first"] == median))
        kept["ratios"] = ratios
        kept["median_ratio"] = median
        kept["work_ratios"] = [_work_ratio(r) for r in done]
        kept["second_ratios"] = [
            round(r["cohorts"][-1]["seconds"] / r["cohorts"][1]["seconds"], 3) for r in done
        ]
        results[node] = kept
    return results


def markdown(result: dict[str, Any]) -> list[str]:
    devnet, plain = result["devnet"], result["plain"]
    runs = len(devnet["ratios"])
    lines = [
        "## A city's year: `ape run simulate`",
        "",
        f"{result['tenders']} complete procurements, {result['bidders']} suppliers, seed "
        f"{result['seed']}, in cohorts of 50 through the bulk path, then `audit verify`, each",
        "on an Anvil of its own: the devnet as `ape run devnet start` runs it (the whole chain "
        f"written to disk every {devnet.get('state_interval_s', 1)} s)",
        f"and a plain Anvil (no state file); {runs} runs of each, alternating. A cohort lasts "
        "about a second, so",
        "one pause on a shared machine moves one run's ratio by several percent: every run's "
        "ratio is shown",
        "and the median judged; the other figures are from the median run. Node CPU is the "
        "Anvil process's",
        "own time; wall time also counts waiting for a busy machine's CPU. Peak memory is this "
        "process's.",
        "",
        "| node | transactions | lifecycles | tx/s | audit verify | peak memory | "
        "last 50 / first 50 (runs; median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for node, r in (("devnet", devnet), ("plain", plain)):
        median = r["median_ratio"]
        mark = " met" if median <= TARGET else " MISSED"
        ratios = ", ".join(f"{x:.2f}" for x in r["ratios"])
        lines.append(
            f"| {node} | {r['transactions']:,} | {r['seconds']:.1f} s | {r['tx_per_s']:.0f} | "
            f"{r['audit_seconds']:.1f} s, {r['audit_events']:,} events, "
            f"{r['differences']} differences | {r['peak_rss_mb']:.0f} MB | "
            f"{ratios}; **{median:.2f}**{mark} |"
        )
    lines += [
        "",
        "Per cohort of 50 tenders in the median run (wall s / Python CPU s / node CPU s / blocks):",
        "",
        "| tenders | devnet | plain |",
        "| --- | ---: | ---: |",
    ]
    for a, b in zip(devnet["cohorts"], plain["cohorts"], strict=True):
        cells = [
            f"{c['seconds']:.2f} / {c['cpu_seconds']:.2f} / {c.get('node_cpu_seconds', 0):.2f}"
            f" / {c.get('blocks', 0)}"
            for c in (a, b)
        ]
        span = f"{a['first_tender']}-{a['first_tender'] + a['tenders'] - 1}"
        lines.append(f"| {span} | {cells[0]} | {cells[1]} |")

    before, after = plain["empty_block_ms"]

    def listed(key: str) -> str:
        return "; ".join(
            f"{node} {', '.join(f'{x:.2f}' for x in r[key])}"
            for node, r in (("devnet", devnet), ("plain", plain))
        )

    lines += [
        "",
        f"- Last cohort over first by CPU time (Python + node), per run: {listed('work_ratios')}.",
        "- The first cohort also stops to estimate the gas of each new kind of transaction (the "
        "extra blocks above);",
        f"  last over second, per run: {listed('second_ratios')}.",
        "- Anvil recomputes its whole state root for every block, so a block costs more as the "
        "chain grows: an empty",
        f"  block took {before:.1f} ms on the new plain Anvil and {after:.1f} ms after the "
        f"{result['tenders']} tenders ({after / before:.0f}x).",
        "  The simulation therefore sends each phase of a cohort as one block and pipelines the "
        "milestones:",
        "  about 15 blocks a cohort, where four blocks a month of milestones took 30.",
        f"- The devnet's state file ended at {devnet.get('state_file_mb', 0)} MB; Anvil writes "
        "all of it beside the mining.",
        "",
    ]
    return lines
