"""`make bench`: run every benchmark on one local Anvil and write docs/benchmarks.{md,json}."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from ape import networks
from ape.logging import logger

from bench import consortium_gas

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


def main() -> None:
    logger.set_level("WARNING")
    with networks.parse_network_choice("ethereum:local:foundry"):
        results = {"consortium": consortium_gas.run()}
    machine = _machine()
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` from one run; gas is deterministic for the compiler settings",
        "below. Nothing in `make test` depends on these figures.",
        "",
        *(f"- {k}: {v}" for k, v in machine.items()),
        "",
        *consortium_gas.markdown(results["consortium"]),
    ]
    OUT_MD.write_text("\n".join(lines))
    OUT_JSON.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
