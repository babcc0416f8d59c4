"""The citizens' portal on a simulated city: index it, follow it, read it.

One plain Anvil (started here) runs ``ape run simulate --tenders N``; then, for SQLite and for a
PostgreSQL server started here:

- **full indexing**: a fresh index of the whole chain: events, blocks, seconds, events/s of the
  ingest (reading and writing the chain rows) and the derivation (every procurement's OCDS,
  summary, bids and flags), and this process's peak memory;
- **lag**: with the indexer following the chain (``Indexer.follow``), a transaction is sent and
  the time from its receipt to the index's cursor passing its block is measured, ``LAGS`` times;
- **pages**: the portal served by a process of its own (``bench.portal_server``), read by
  ``READERS`` concurrent readers on loopback (``bench.readers``): p50/p95/max per kind of page
  (home, search, a procurement page, an OCDS release package), and the server's peak memory.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import readers
from bench.city_year import _free_port, _plain_anvil
from procurechain.bulk import JsonRpc
from procurechain.simulation import SimulationConfig, simulate

READERS = 20
ROUNDS = 10
LAGS = 10
GOALS = {"events_per_s": 5_000, "lag_s": 1.0, "p95_ms": 100.0}


def _peak_mb(pid: int | None = None) -> float:
    """Peak resident memory of ``pid`` (VmHWM) or of this process, in MB."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _sample(count: int, size: int) -> list[int]:
    step = max(1, count // size)
    return list(range(1, count + 1, step))[:size]


def _pages(tenders: int, ocids: list[str]) -> dict[str, list[str]]:
    ids = _sample(tenders, 50)
    return {
        "home": ["/"],
        "search": [
            "/procurements",
            "/procurements?q=bench",
            "/procurements?stage=completed&sort=value&order=desc",
            "/procurements?page=5",
        ],
        "procurement": [f"/procurements/{i}" for i in ids],
        "ocds release package": [f"/ocds/{ocid}/releases.json" for ocid in ocids],
    }


def _publish_call(registry: str, sender: str, text: str) -> dict[str, str]:
    """``Registry.publish(text)`` from an unlocked account: an event the index must show."""
    from eth_abi import encode
    from eth_utils import keccak

    data = keccak(text="publish(string)")[:4] + encode(["string"], [text])
    return {"from": sender, "to": registry, "data": "0x" + data.hex()}


def _flags_block(index: Any) -> int:
    return int(index.meta().get("flags_block", -1))


def _lag(indexer: Any, rpc: JsonRpc, registry: str, sender: str) -> tuple[list[float], list[float]]:
    """Seconds from a mined ``Registry.publish`` transaction's receipt to the index's pages
    reflecting its block (the cursor's derived block passing it), and to its flags doing so
    (``meta['flags_block']``)."""
    stop = threading.Event()
    follower = threading.Thread(
        target=indexer.follow, kwargs={"poll_seconds": 0.05, "stop": stop}, daemon=True
    )
    follower.start()
    lags: list[float] = []
    flag_lags: list[float] = []
    try:
        for _ in range(LAGS):
            tx = rpc.request(
                "eth_sendTransaction", [{"from": sender, "to": sender, "value": "0x1"}]
            )
            while (receipt := rpc.request("eth_getTransactionReceipt", [tx])) is None:
                time.sleep(0.005)
            mined = time.perf_counter()
            block = int(receipt["blockNumber"], 16)
            while (cursor := indexer.index.cursor()) is None or cursor.derived_block < block:
                time.sleep(0.005)
            lags.append(time.perf_counter() - mined)
            while _flags_block(indexer.index) < block:
                time.sleep(0.005)
            flag_lags.append(time.perf_counter() - mined)
    finally:
        stop.set()
        follower.join(timeout=10)
    return lags, flag_lags


def _on(database: str, label: str, rpc: JsonRpc, deployment: dict[str, Any]) -> dict[str, Any]:
    from procurechain.portal.index.database import Index
    from procurechain.portal.index.indexer import Indexer

    print(f"  {label}: full index", file=sys.stderr)
    index = Index.open(database)
    indexer = Indexer(
        index, rpc, deployment["registry"], deployment["consortium"],
        first_block=deployment["first_block"], pegged_to="USD",
    )  # fmt: skip
    started = time.perf_counter()
    result = indexer.sync()
    full = time.perf_counter() - started
    figures: dict[str, Any] = {
        "events": result.events,
        "blocks": result.blocks,
        "seconds": round(full, 2),
        "ingest_seconds": round(result.ingest_seconds, 2),
        "derive_seconds": round(result.derive_seconds, 2),
        "ingest_events_per_s": round(result.events_per_second),
        "events_per_s": round(result.events / full) if full else 0,
        "indexer_peak_mb": round(_peak_mb(), 1),
    }
    print(f"  {label}: lag", file=sys.stderr)
    lags, flag_lags = _lag(indexer, rpc, deployment["registry"], deployment["sender"])
    figures["lag_s"] = {
        "median": round(statistics.median(lags), 3),
        "max": round(max(lags), 3),
        "runs": len(lags),
    }
    figures["flags_lag_s"] = {
        "median": round(statistics.median(flag_lags), 3),
        "max": round(max(flag_lags), 3),
    }
    ocids = [ocid for (ocid,) in _ocids(index, 20)]
    index.close()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.portal_server", database, str(port)],
        stdout=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(base + "/api/status")
        print(f"  {label}: {READERS} readers", file=sys.stderr)
        pages = _pages(deployment["tenders"], ocids)
        figures["cold"] = readers.first(base, pages)  # each page made for the first time
        figures["pages"] = readers.read(base, pages, readers=READERS, rounds=ROUNDS)
        figures["server_peak_mb"] = round(_peak_mb(server.pid), 1)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return figures


def _ocids(index: Any, count: int) -> list[tuple[str]]:
    from sqlalchemy import select

    from procurechain.portal.index import tables as t

    with index.engine.connect() as connection:
        rows = connection.execute(select(t.processes.c.ocid).order_by(t.processes.c.tender_id))
        found = [tuple(r) for r in rows]
    step = max(1, len(found) // count)
    return found[::step][:count]


def run(tenders: int = 2_000, bidders: int = 10, seed: int = 1) -> dict[str, Any]:
    """Simulate ``tenders`` procurements on a plain Anvil, then index and serve them on SQLite
    and on PostgreSQL."""
    from ape import networks

    from procurechain.deployments import read_manifest

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    import postgres  # tests/postgres.py: a PostgreSQL server in a temporary folder

    results: dict[str, Any] = {"tenders": tenders, "bidders": bidders, "seed": seed}
    port = _free_port()
    anvil = _plain_anvil(port)
    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROCURECHAIN_DEPLOYMENTS"] = str(Path(folder) / "deployments")
        try:
            uri = f"http://127.0.0.1:{port}"
            rpc = JsonRpc(uri)
            _wait_rpc(rpc)
            print(f"  simulating {tenders} tenders", file=sys.stderr)
            config = SimulationConfig(tenders=tenders, bidders=bidders, seed=seed, fresh=True)
            with networks.parse_network_choice(f"ethereum:local:{uri}"):
                simulated = simulate(config)
                manifest = read_manifest() or {}
            contracts = manifest.get("contracts", {})
            deployment = {
                "tenders": tenders,
                "registry": contracts["Registry"]["address"],
                "consortium": contracts["Consortium"]["address"],
                "first_block": min(int(c.get("block", 0)) for c in contracts.values()),
                "sender": rpc.request("eth_accounts", [])[-1],
            }
            results["simulation"] = {
                "transactions": simulated.transactions,
                "seconds": round(simulated.seconds, 1),
                "audit_events": simulated.audit_events,
            }
            with networks.parse_network_choice(f"ethereum:local:{uri}"):
                results["sqlite"] = _on(
                    str(Path(folder) / "index.sqlite"), "SQLite", rpc, deployment
                )
                server = postgres.PostgresServer().start()
                try:
                    results["postgresql"] = _on(server.database(), "PostgreSQL", rpc, deployment)
                finally:
                    server.stop()
        finally:
            anvil.terminate()
            anvil.wait(timeout=20)
            if saved is None:
                os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
            else:
                os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved
    # kept before any formatting, so a later failure never loses a long run's figures
    Path("out").mkdir(exist_ok=True)
    Path("out/bench-portal.json").write_text(json.dumps(results, indent=2) + "\n")
    return results


def _wait_rpc(rpc: JsonRpc, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            rpc.request("eth_chainId", [])
            return
        except (OSError, Exception):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def markdown(result: dict[str, Any]) -> list[str]:
    """The portal's section of docs/benchmarks.md."""
    lines = [
        "## The citizens' portal: `ape run portal` on a simulated city",
        "",
        f"{result['tenders']:,} procurements (`ape run simulate --tenders {result['tenders']}`, "
        f"{result['bidders']} suppliers, seed {result['seed']}: "
        f"{result['simulation']['transactions']:,} transactions) on a plain Anvil, indexed from "
        "scratch into each database; then the indexer follows the chain while",
        f"transactions are sent ({LAGS} of them), and {READERS} concurrent readers on loopback "
        f"fetch each kind of page {ROUNDS} times each (the server a process of its own).",
        "",
        "| database | events | full index | ingest | derive | events/s (ingest; whole) | "
        "lag median / max | flags lag median / max | indexer peak | server peak |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, key in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql")):
        r = result[key]
        met = "met" if r["ingest_events_per_s"] >= GOALS["events_per_s"] else "MISSED"
        lag = "met" if r["lag_s"]["max"] < GOALS["lag_s"] else "MISSED"
        lines.append(
            f"| {label} | {r['events']:,} | {r['seconds']:.1f} s | {r['ingest_seconds']:.1f} s | "
            f"{r['derive_seconds']:.1f} s | {r['ingest_events_per_s']:,} ({met}); "
            f"{r['events_per_s']:,} | {r['lag_s']['median']:.2f} s / {r['lag_s']['max']:.2f} s "
            f"({lag}) | {r['flags_lag_s']['median']:.2f} s / {r['flags_lag_s']['max']:.2f} s | "
            f"{r['indexer_peak_mb']:.0f} MB | {r['server_peak_mb']:.0f} MB |"
        )
    lines += [
        "",
        f"Page latency, {READERS} concurrent readers (goal: p95 ≤ {GOALS['p95_ms']:.0f} ms). "
        "A page is made once per block and kept (`portal/web/cache.py`): *first* is one reader",
        "asking each page once, as made afresh; the load then reads pages already made for the "
        "block, as readers of a portal mostly do between blocks.",
        "",
        "| page | SQLite first p50 / max | SQLite p50 / p95 / max | PostgreSQL first p50 / max "
        "| PostgreSQL p50 / p95 / max |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in result["sqlite"]["pages"]:
        cells = []
        for key in ("sqlite", "postgresql"):
            first = result[key]["cold"][kind]
            cells.append(f"{first['p50_ms']:.0f} / {first['max_ms']:.0f} ms")
            p = result[key]["pages"][kind]
            met = "" if p["p95_ms"] <= GOALS["p95_ms"] else " MISSED"
            failed = f", {p['failures']} failed" if p["failures"] else ""
            cells.append(
                f"{p['p50_ms']:.0f} / {p['p95_ms']:.0f}{met} / {p['max_ms']:.0f} ms{failed}"
            )
        lines.append(f"| {kind} | {' | '.join(cells)} |")
    lines.append("")
    return lines
