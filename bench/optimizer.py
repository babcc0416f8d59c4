"""Why via-IR with 10,000 optimizer runs: the reference lifecycle under other settings.

The project is copied to a scratch folder with only ``ape-config.yaml``'s optimizer
settings changed, compiled there with the same solc, and the reference scenario is played
on its own Anvil in a child process. Deployment is paid once per suite (implementations
are cloned for every tender and agreement); lifecycle gas is paid again for every tender.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: label -> (via_ir, optimization_runs)
ALTERNATIVES: dict[str, tuple[bool, int]] = {
    "legacy pipeline, 200 runs (solc's default)": (False, 200),
    "via-IR, 200 runs": (True, 200),
}

_CHILD = """
import json, os, sys
from ape import networks
from ape.logging import logger
logger.set_level("ERROR")
from bench import lifecycle_gas
with networks.parse_network_choice("ethereum:local:foundry"):
    result = lifecycle_gas.run()
sys.stdout.write("RESULT " + json.dumps(result) + "\\n")
"""


def _configured(text: str, via_ir: bool, runs: int) -> str:
    text = re.sub(r"(?m)^(\s*optimization_runs:).*$", rf"\g<1> {runs}", text)
    return re.sub(r"(?m)^(\s*via_ir:).*$", rf"\g<1> {'true' if via_ir else 'false'}", text)


def _lifecycle_with(via_ir: bool, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "project"
        copy.mkdir()
        shutil.copytree(ROOT / "contracts", copy / "contracts")
        (copy / "node_modules").symlink_to(ROOT / "node_modules")
        config = (ROOT / "ape-config.yaml").read_text()
        (copy / "ape-config.yaml").write_text(_configured(config, via_ir, runs))
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PROCURECHAIN_DEPLOYMENTS": str(Path(scratch) / "deployments"),
        }
        done = subprocess.run(
            [sys.executable, "-c", _CHILD],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(
                f"the lifecycle with via_ir={via_ir}, runs={runs} failed:\n{done.stderr[-3000:]}"
            )
        return json.loads(lines[-1].removeprefix("RESULT "))


def run(current: dict[str, Any]) -> dict[str, Any]:
    """``current`` is :func:`bench.lifecycle_gas.run`'s result with the project's settings."""
    results = {"via-IR, 10,000 runs (ape-config.yaml)": current}
    failed: dict[str, str] = {}
    for label, (via_ir, runs) in ALTERNATIVES.items():
        try:
            results[label] = _lifecycle_with(via_ir, runs)
        except RuntimeError as err:
            if "Stack too deep" not in str(err):
                raise
            failed[label] = "does not compile (stack too deep)"
    summary: dict[str, Any] = {
        label: {
            "lifecycle": result["lifecycle_total"],
            "deployment": sum(result["deployment"].values()),
            "per_operation": {row["operation"]: sum(row["gas"]) for row in result["operations"]},
        }
        for label, result in results.items()
    }
    return summary | {label: {"error": why} for label, why in failed.items()}


def markdown(result: dict[str, Any]) -> list[str]:
    labels = list(result)
    ours = result[labels[0]]
    lines = [
        "## Optimizer settings",
        "",
        "The reference lifecycle and the suite's deployment compiled three ways (same solc,",
        "same run otherwise); ratio to the project's setting.",
        "",
        "| settings | suite deployment (once) | ratio | lifecycle (every tender) | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label in labels:
        row = result[label]
        if "error" in row:
            lines.append(f"| {label} | {row['error']} | | | |")
            continue
        lines.append(
            f"| {label} | {row['deployment']:,} | {row['deployment'] / ours['deployment']:.3f} | "
            f"{row['lifecycle']:,} | {row['lifecycle'] / ours['lifecycle']:.3f} |"
        )
    lines.append("")
    for label in labels[1:]:
        row = result[label]
        if "error" in row:
            continue
        saved_per_tender = row["lifecycle"] - ours["lifecycle"]
        extra_once = ours["deployment"] - row["deployment"]
        if saved_per_tender > 0 and extra_once > 0:
            lines.append(
                f"- against {label}: {saved_per_tender:,} gas less per reference lifecycle "
                f"for {extra_once:,} more once; even after {extra_once // saved_per_tender:,} "
                "tenders."
            )
    lines += [
        "",
        "Implementations are deployed once per suite and cloned for every tender and",
        "agreement, so a city pays deployment once and the lifecycle gas for every purchase.",
        "The project keeps via-IR with 10,000 runs: via-IR is what puts the consortium's",
        "`execute` below Safe's `execTransaction` (legacy, 200 runs: 1.023x Safe, earlier run)",
        "and compiles `execute` with its Action struct without stack-too-deep workarounds (the",
        "legacy pipeline no longer compiles the Consortium since the governance and recusal",
        "rules of issue 13 added locals to `_authorize`); the",
        "high run count pays back after the number of tenders above, which a city's year",
        "(`ape run simulate`: 200) reaches within a few years. The cost is compile time",
        "(~30 s for the whole project with solc-js) and a larger one-off deployment.",
        "",
    ]
    return lines
