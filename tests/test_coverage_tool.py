"""The coverage tool (tools/solcov) on a contract of known shape: what ran is reported hit,
what did not is reported missed, so `make coverage` cannot report 100% by accident."""

import subprocess
import sys
from pathlib import Path

import ape
import pytest
from eth_abi import encode

from solcov import collect
from solcov.analysis import FileResult
from solcov.build import compile_project
from solcov.report import make_report

from conftest import PROJECT

PROBE = "contracts/test/CoverageProbe.sol"
# EIP-1167 minimal proxy creation code around the implementation address.
CLONE_PREFIX = "3d602d80600a3d3981f3363d3d373d3d3d363d73"
CLONE_SUFFIX = "5af43d82803e903d91602b57fd5bf3"


@pytest.fixture(scope="module")
def build(project):
    assert project.CoverageProbe  # Ape compiles it, so its settings are in .build/
    return compile_project(PROJECT, [PROBE])


def line_of(text: str) -> int:
    """The line of the probe that contains ``text``."""
    lines = (PROJECT / PROBE).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def probe_result(build, hits) -> FileResult:
    report = make_report(PROJECT, hits, [PROBE], [], build=build)
    return report.results[PROBE]


def outcomes(result: FileResult, text: str) -> dict[str, bool]:
    return next(b.covered for b in result.branches if b.point.line == line_of(text))


def clone_of(deployer, chain, implementation) -> str:
    """An EIP-1167 clone of ``implementation``, deployed from raw creation code."""
    code = CLONE_PREFIX + implementation.address[2:].lower() + CLONE_SUFFIX
    web3 = chain.provider.web3
    tx_hash = web3.eth.send_transaction({"from": deployer.address, "data": "0x" + code})
    return web3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"]


def failed_deployment(deployer, chain, project, initial: int) -> dict:
    """Deploy the probe with ``initial`` above its limit, mined (explicit gas) and reverted."""
    creation = project.CoverageProbe.contract_type.deployment_bytecode.bytecode
    data = creation + encode(["uint256"], [initial]).hex()
    web3 = chain.provider.web3
    tx = {"from": deployer.address, "data": data, "gas": 1_000_000}
    return web3.eth.wait_for_transaction_receipt(web3.eth.send_transaction(tx))


def test_ran_lines_and_outcomes_are_hit_the_rest_missed(build, deployer, project):
    with collect.recording() as recorder:
        probe = deployer.deploy(project.CoverageProbe, 1)  # constructor: outcome "false" only
        probe.store(5, sender=deployer)  # the check passes: outcome "false" only
        assert probe.step(4) == 2  # an eth_call, even value: the if body only
    assert not recorder.errors
    result = probe_result(build, recorder.hits)

    assert result.lines[line_of("_value = value;")] is True
    assert result.lines[line_of("emit Stored(value);")] is True
    assert result.lines[line_of("return value / 2;")] is True
    assert result.lines[line_of("return 3 * value + 1;")] is False
    assert result.lines[line_of("return _value;")] is False  # value() never called
    assert result.lines[line_of("emit Stored(initial);")] is True  # the constructor

    assert outcomes(result, "if (value > LIMIT)") == {"true": False, "false": True}
    assert outcomes(result, "if (value % 2 == 0)") == {"true": True, "false": False}
    assert outcomes(result, "if (initial > LIMIT)") == {"true": False, "false": True}
    hit, total = result.branch_figures
    assert (hit, total) == (3, 6)
    hit, total = result.line_figures
    assert 0 < hit < total


def test_reverts_and_a_clone_count_for_the_implementation(build, deployer, chain, project):
    probe = deployer.deploy(project.CoverageProbe, 0)
    with collect.recording() as recorder:
        # A deployment that reverts deploys nothing: the tool names it by its init code.
        assert failed_deployment(deployer, chain, project, 101)["status"] == 0
        clone = project.CoverageProbe.at(clone_of(deployer, chain, probe))
        with ape.reverts(clone.CoverageProbeTooLarge, value=101, limit=100):
            clone.store(101, sender=deployer)
        assert clone.step(3) == 10
        assert clone.value() == 0
    assert not recorder.errors
    result = probe_result(build, recorder.hits)

    assert outcomes(result, "if (initial > LIMIT)") == {"true": True, "false": False}
    assert result.lines[line_of("emit Stored(initial);")] is False
    # Only the clone ran: its delegated code is the probe's.
    assert outcomes(result, "if (value > LIMIT)") == {"true": True, "false": False}
    assert outcomes(result, "if (value % 2 == 0)") == {"true": False, "false": True}
    assert result.lines[line_of("return 3 * value + 1;")] is True
    assert result.lines[line_of("return _value;")] is True
    assert result.lines[line_of("_value = value;")] is False


SEND_FROM_ANOTHER_PROCESS = """
import json, sys, urllib.request
uri, sender, to, data = sys.argv[1:]
tx = {"from": sender, "to": to, "data": data, "gas": hex(200_000)}
body = {"jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction", "params": [tx]}
headers = {"Content-Type": "application/json"}
request = urllib.request.Request(uri, json.dumps(body).encode(), headers)
print(json.load(urllib.request.urlopen(request))["result"])
"""


def test_a_transaction_from_another_process_is_traced_before_the_chain_rewinds(
    build, deployer, chain, project
):
    probe = deployer.deploy(project.CoverageProbe, 0)
    with collect.recording() as recorder:
        snapshot = chain.snapshot()
        data = probe.store.encode_input(7).hex()
        args = [chain.provider.uri, deployer.address, probe.address, "0x" + data.removeprefix("0x")]
        sent = subprocess.run(
            [sys.executable, "-c", SEND_FROM_ANOTHER_PROCESS, *args],
            capture_output=True,
            text=True,
            check=True,
        )
        assert sent.stdout.startswith("0x")
        assert probe.value() == 7
        chain.restore(snapshot)  # evm_revert: what the other process mined is traced first
    assert not recorder.errors
    result = probe_result(build, recorder.hits)
    assert result.lines[line_of("emit Stored(value);")] is True
    assert outcomes(result, "if (value > LIMIT)") == {"true": False, "false": True}


def test_the_report_names_every_gap_without_a_reason(build, deployer, project, tmp_path: Path):
    with collect.recording() as recorder:
        probe = deployer.deploy(project.CoverageProbe, 2)
        probe.store(7, sender=deployer)
    report = make_report(PROJECT, recorder.hits, [PROBE], [], build=build)
    problems = report.problems(min_lines=100, min_branches=95)
    assert any("lines" in p and "< 100%" in p for p in problems)
    gaps = {(g.line, g.outcome) for g in report.gaps[PROBE]}
    assert (line_of("if (value > LIMIT)"), "true") in gaps
    assert (line_of("if (value % 2 == 0)"), "true") in gaps
    assert all(g.reason is None for g in report.gaps[PROBE])
