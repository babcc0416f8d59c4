"""The Slither gate of `make test` (tools/slither/run.py) fails on a new Medium finding.

Each test runs the real runner, in the Slither virtualenv, on a throw-away copy of the
project's contracts and triage file, with one file added or one triage entry changed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SLITHER_PYTHON = ROOT / ".venv-slither" / "bin" / "python"
RUNNER = ROOT / "tools" / "slither" / "run.py"
TRIAGE = Path("tools") / "slither" / "triage.yaml"

# A balance compared with `==`: anyone can send one token and keep `drained()` false forever.
SWEEPER = """\
// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

contract Sweeper {
    IERC20 private immutable _token;

    constructor(IERC20 token_) {
        _token = token_;
    }

    function drained() external view returns (bool) {
        return _token.balanceOf(address(this)) == 0;
    }
}
"""
NEW_FINDING = "incorrect-equality @ Sweeper.drained | _token.balanceOf(address(this)) == 0"


def project_copy(folder: Path, sweeper: bool) -> Path:
    """The contracts, ape-config.yaml and triage file in `folder`, OpenZeppelin linked."""
    shutil.copytree(ROOT / "contracts", folder / "contracts")
    shutil.copy(ROOT / "ape-config.yaml", folder / "ape-config.yaml")
    (folder / TRIAGE).parent.mkdir(parents=True)
    shutil.copy(ROOT / TRIAGE, folder / TRIAGE)
    (folder / "node_modules").symlink_to((ROOT / "node_modules").resolve())
    if sweeper:
        (folder / "contracts" / "Sweeper.sol").write_text(SWEEPER)
    return folder


def add_entry(folder: Path, section: str, check: str, at: str) -> None:
    triage = yaml.safe_load((folder / TRIAGE).read_text())
    triage[section].append({"check": check, "reason": "added by the gate test", "at": [at]})
    (folder / TRIAGE).write_text(yaml.safe_dump(triage, sort_keys=False))


def run_gate(folder: Path) -> subprocess.CompletedProcess[str]:
    if not SLITHER_PYTHON.exists():
        pytest.fail(
            f"{SLITHER_PYTHON.relative_to(ROOT)} is missing: run `make slither` first "
            "(it creates the Slither virtualenv)"
        )
    return subprocess.run(
        [str(SLITHER_PYTHON), str(RUNNER), "--root", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_new_medium_finding_fails_the_gate(tmp_path):
    result = run_gate(project_copy(tmp_path, sweeper=True))
    assert result.returncode == 1, result.stdout + result.stderr
    severe = result.stdout.split("new High/Medium finding(s)", 1)[1]
    assert f"[Medium] {NEW_FINDING}" in severe


def test_gate_passes_once_the_finding_is_triaged(tmp_path):
    # The control for the test above: the same copy passes when the finding is listed, so the
    # failure there is the new finding and nothing else.
    folder = project_copy(tmp_path, sweeper=True)
    check, _, at = NEW_FINDING.partition(" @ ")
    add_entry(folder, "false_positives", check, at)
    result = run_gate(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout


def test_false_positive_covers_only_its_statement(tmp_path):
    # Tender.stage already has pinned false positives for this detector; a new strict
    # equality on a balance in the same function must still fail.
    folder = project_copy(tmp_path, sweeper=False)
    tender = folder / "contracts" / "Tender.sol"
    anchor = "        Competition memory c = _competition;\n        if (c.status == Status.None)"
    source = tender.read_text()
    assert source.count(anchor) == 1
    tender.write_text(
        source.replace(
            anchor, "        if (address(this).balance == 1) return Stage.Failed;\n" + anchor
        )
    )
    result = run_gate(folder)
    assert result.returncode == 1, result.stdout + result.stderr
    severe = result.stdout.split("new High/Medium finding(s)", 1)[1]
    assert "[Medium] incorrect-equality @ Tender.stage | address(this).balance == 1" in severe


def test_stale_entry_fails_the_gate(tmp_path):
    folder = project_copy(tmp_path, sweeper=False)
    add_entry(folder, "excused", "timestamp", "Sweeper.drained")
    result = run_gate(folder)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "excused: timestamp @ Sweeper.drained" in result.stdout.split("stale", 1)[1]


def test_medium_finding_cannot_be_merely_excused(tmp_path):
    folder = project_copy(tmp_path, sweeper=True)
    check, _, at = NEW_FINDING.partition(" @ ")
    add_entry(folder, "excused", check, at.partition(" | ")[0])
    result = run_gate(folder)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "incorrect-equality is Medium: fix it" in result.stderr
