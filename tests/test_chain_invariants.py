"""The chain-derived invariants (procurechain/invariants.py) catch the recorded attacks and pass
the reference scenario.

The fixtures in ``tests/fixtures/attacks/`` are chain histories recorded by
``tests/attacks/record.py`` on the contracts of commit c654690, where each attack succeeds;
checking them is pure Python. The live test runs the reference scenario (what ``ape run demo``
runs) on Anvil and checks the history after it: no violation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from procurechain import invariants as inv
from procurechain.deployments import read_manifest
from procurechain.scenario import run_reference

from conftest import deployments_in

FIXTURES = Path(__file__).parent / "fixtures" / "attacks"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def rules(violations: list[inv.Violation]) -> list[str]:
    return [v.rule for v in violations]


@pytest.fixture(scope="module")
def reference(chain, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    with deployments_in(out / "deployments"):
        run_reference(out)
        manifest = read_manifest()
    history = inv.ChainHistory.from_manifest(chain.provider.uri, manifest)
    history.extend()
    return history


def test_the_reference_scenario_breaks_no_invariant(reference):
    violations = inv.check(reference)
    assert violations == [], "\n".join(map(str, violations))
    events = inv.decode_events(reference)
    names = {e.name for e in events}
    # The checker saw the whole procurement, so "no violation" means something.
    assert {"TenderCreated", "BondForfeited", "MilestoneAccepted", "DisputeResolved"} <= names
    assert {"Withdrawn", "ActionExecuted", "ConflictDeclared", "Transfer"} <= names
    assert len(reference.to_json()["balances"]) == 2  # one tender, one agreement
