"""How long the red flags take on a simulated city: ``python -m bench.flags [TENDERS]``.

Starts a plain Anvil of its own (as ``bench.city_year`` does: no step tracing, no state
file), simulates ``TENDERS`` complete procurements
(``ape run simulate``, default 2,000, seed 1, 10 suppliers, 4 agencies), compiles their OCDS
record as ``ape run audit export-ocds`` does, then times :func:`procurechain.flags.evaluate` on
all the compiled releases with the audit log and terms: every flag (Cardinal's eleven and the
chain's eight), then Cardinal's alone and the chain's alone. Each is run ``REPEATS`` times and
the fastest and median wall times are printed as JSON, with how many flags were raised. The
portal recomputes the flags after each new block, so this is the figure that must stay well
under a block's time.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPEATS = 7


def _timed(run: Any) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return times, result


def city(tenders: int) -> dict[str, Any]:
    """Simulate ``tenders`` procurements on a new plain Anvil and compile their record: the
    compiled releases, the audit log, the terms, the phase cap, the head's time and how long
    each step took."""
    from ape import chain, networks
    from ape.logging import logger

    from bench.city_year import _free_port, _plain_anvil
    from procurechain import audit
    from procurechain.deployments import deployed
    from procurechain.devnet import Devnet
    from procurechain.record import facts as chain_facts
    from procurechain.record import packages
    from procurechain.simulation import SimulationConfig, simulate

    logger.set_level("WARNING")
    port = _free_port()
    node = _plain_anvil(port)
    try:
        with tempfile.TemporaryDirectory() as manifests:
            probe = Devnet(folder=Path(manifests), port=port)
            deadline = time.monotonic() + 20
            while not probe.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            os.environ["PROCURECHAIN_DEPLOYMENTS"] = manifests
            with networks.parse_network_choice(f"ethereum:local:http://127.0.0.1:{port}"):
                started = time.perf_counter()
                config = SimulationConfig(tenders=tenders, seed=1, fresh=True)
                simulate(config, audit_check=False)
                simulated = time.perf_counter() - started
                registry, consortium = deployed("Registry"), deployed("Consortium")
                started = time.perf_counter()
                log = audit.collect(registry, consortium)
                facts = chain_facts.read(log, registry, pegged_to="USD")
                built = packages.build(log, facts)
                return {
                    "compiled": [
                        p["records"][0]["compiledRelease"] for p in built.record_packages.values()
                    ],
                    "log": log,
                    "terms": facts.terms,
                    "phase_cap": int(registry.phaseCap()),
                    "now": int(chain.blocks.head.timestamp),
                    "simulate_s": round(simulated, 1),
                    "compile_record_s": round(time.perf_counter() - started, 1),
                }
    finally:
        node.terminate()
        node.wait(timeout=20)


def main(tenders: int = 2_000) -> dict[str, Any]:
    """Simulate, compile, time; returns (and prints) the figures."""
    from procurechain import flags

    made = city(tenders)
    compiled, log = made["compiled"], made["log"]

    def run(settings: flags.Settings) -> Any:
        return lambda: (
            flags.evaluate(
                compiled,
                log,
                made["terms"],
                settings,
                phase_cap=made["phase_cap"],
                now=made["now"],
            ).flags
        )

    everything = flags.Settings()
    cases = {
        "all": everything,
        "cardinal": replace(everything, enabled=frozenset(flags.CARDINAL_CODES)),
        "chain": replace(everything, enabled=frozenset(flags.CHAIN_CODES)),
    }
    figures: dict[str, Any] = {
        "processes": len(compiled),
        "events": len(log.entries),
        "simulate_s": made["simulate_s"],
        "compile_record_s": made["compile_record_s"],
    }
    for name, settings in cases.items():
        times, found = _timed(run(settings))
        codes: dict[str, int] = {}
        for flag in found:
            codes[flag.code] = codes.get(flag.code, 0) + 1
        figures[name] = {
            "fastest_s": round(min(times), 3),
            "median_s": round(statistics.median(times), 3),
            "flags": len(found),
            "by_code": dict(sorted(codes.items())),
        }
    print(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2_000)
