"""`make bench`: run every benchmark on one local Anvil and write docs/benchmarks.{md,json}."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ape import networks
from ape.logging import logger

from bench import city_year, consortium_gas, lifecycle_gas, optimizer, portal, scaling, throughput

OUT_MD = Path("docs/benchmarks.md")
OUT_JSON = Path("docs/benchmarks.json")


def _machine() -> dict[str, str]:
    solc = subprocess.run(
        ["node", "-e", "console.log(require('solc').version())"], capture_output=True, text=True
    ).stdout.strip()
    anvil = subprocess.run(["anvil", "--version"], capture_output=True, text=True).stdout
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": str(os.cpu_count()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "solc": solc,
        "optimizer": "via-IR, 10,000 runs, evm cancun (ape-config.yaml)",
        "anvil": anvil.splitlines()[0] if anvil else "unknown",
    }


def _progress(total: int, what: str) -> Callable[[], None]:
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if done % 100 == 0 or done == total:
            print(f"  {what}: {done}/{total}", file=sys.stderr, flush=True)

    return step


def _previous() -> dict[str, Any]:
    """The results of the previous run (the benchmarks.json this run replaces), or empty."""
    try:
        return json.loads(OUT_JSON.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return {}


def main() -> None:
    logger.set_level("WARNING")
    previous = _previous()
    if sys.argv[1:] == ["portal"]:  # `python -m bench portal`: only the portal's figures anew
        print("==> the citizens' portal on a simulated city (SQLite, PostgreSQL)", file=sys.stderr)
        _replace_portal(portal.run())
        return
    transactions = 2 * sum(scaling.BIDDERS)
    with (
        tempfile.TemporaryDirectory() as manifests,
        networks.parse_network_choice("ethereum:local:foundry"),
    ):
        # the reference scenario deploys the suite; the scaling series reuse it
        os.environ["PROCURECHAIN_DEPLOYMENTS"] = manifests
        print("==> reference scenario, gas per operation", file=sys.stderr)
        results = {"lifecycle": lifecycle_gas.run()}
        print("==> consortium vs Safe v1.4.1", file=sys.stderr)
        results["consortium"] = consortium_gas.run()
        print("==> scaling series", file=sys.stderr)
        results["scaling"] = scaling.run(_progress(transactions, "commits and reveals"))
        print("==> driver throughput: raw JSON-RPC, Ape's path, the bulk path", file=sys.stderr)
        results["throughput"] = throughput.run()
        print("==> a city's year (ape run simulate) on its own Anvils", file=sys.stderr)
        results["city_year"] = city_year.run(tenders=200, bidders=10)
    print("==> the citizens' portal on a simulated city (SQLite, PostgreSQL)", file=sys.stderr)
    results["portal"] = portal.run()
    print("==> optimizer settings (compiles the project twice more)", file=sys.stderr)
    results["optimizer"] = optimizer.run(results["lifecycle"])
    _write(results, previous)


def _replace_portal(found: dict[str, Any]) -> None:
    """The portal's figures written into the existing benchmarks (its section of the markdown
    replaced or appended, its key of the JSON set), the other sections left as they were."""
    document = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {"results": {}}
    document["results"]["portal"] = found
    document["portal_machine"] = _machine()
    OUT_JSON.write_text(json.dumps(document, indent=2) + "\n")
    heading = "## The citizens' portal"
    text = OUT_MD.read_text() if OUT_MD.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start < 0:
        before, after = text.rstrip("\n") + "\n\n", ""
    else:
        end = text.find("\n## ", start + len(heading))
        before, after = text[:start], ("" if end < 0 else text[end + 1 :])
    section = "\n".join(portal.markdown(found))
    OUT_MD.write_text(before + section + ("\n" + after if after else ""))
    print(section)


def _write(results: dict[str, Any], previous: dict[str, Any]) -> None:
    machine = _machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` from one run on one Anvil; gas is deterministic for the",
        "compiler settings below. Nothing in `make test` depends on these figures.",
        "",
        *(f"- {k}: {v}" for k, v in machine.items()),
        "",
        *lifecycle_gas.markdown(
            results["lifecycle"], results["consortium"], previous.get("lifecycle")
        ),
        "",
        *consortium_gas.markdown(results["consortium"]),
        *scaling.markdown(results["scaling"]),
        *optimizer.markdown(results["optimizer"]),
        *throughput.markdown(results["throughput"]),
        *city_year.markdown(results["city_year"]),
        *(portal.markdown(results["portal"]) if "portal" in results else []),
    ]
    OUT_MD.write_text("\n".join(lines))
    OUT_JSON.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
