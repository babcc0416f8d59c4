"""`ape run portal` as a user runs it: a process of its own against the test chain, indexing
the reference procurement, serving it, following new blocks, resuming after a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from eth_abi import encode
from eth_utils import keccak

from procurechain.deployments import deployed
from procurechain.scenario import run_reference

from conftest import PROJECT, deployments_in, send_raw


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _status(base: str) -> dict:
    return json.loads(_get(base + "/api/status")[1])


def _until(check, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, chain):
    """The reference procurement, deployed with a manifest the command finds."""
    out = tmp_path_factory.mktemp("portal-cli")
    with deployments_in(out / "deployments"):
        run_reference(out)
        yield out


def _portal(chain, *args: str) -> list[str]:
    ape = str(Path(sys.executable).with_name("ape"))
    return [ape, "run", "portal", *args, "--network", f"ethereum:local:{chain.provider.uri}"]


def test_the_portal_serves_follows_and_resumes(deployment, chain, accounts, tmp_path):
    database = tmp_path / "index.sqlite"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        _portal(chain, "--port", str(port), "--database", str(database), "--poll", "0.1"),
        cwd=PROJECT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        status = _until(lambda: _status(base))
        assert status["block"] == chain.blocks.head.number
        code, home = _get(base + "/")
        assert code == 200 and "40 park benches for Riverside Park" in home.decode()
        assert f"block {status['block']}" in home.decode().replace("</a> ", " ")
        code, page = _get(base + "/procurements/1")
        assert code == 200 and "Benchworks Ltd" in page.decode()
        request = urllib.request.Request(base + "/procurements", data=b"x", method="POST")
        assert _get_request(request) == 405  # nothing writes

        # a new block with a new event reaches the pages by itself
        target = deployed("Registry")  # the manifest the command read
        text = "The portal follows the chain"
        send_raw(chain, accounts[3], target, keccak(text="publish(string)")[:4] + encode(
            ["string"], [text]
        ))  # fmt: skip
        head = chain.blocks.head.number
        _until(lambda: _status(base)["block"] >= head, seconds=20)
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    # Ctrl-C: uvicorn finishes the requests in flight, then exits as an interrupt does
    assert server.returncode in (130, -signal.SIGINT), output
    assert "Traceback" not in output, output
    assert f"Portal: {base}/" in output and "events" in output

    # a restart resumes where the index stopped: nothing read twice
    again = subprocess.run(
        _portal(chain, "--database", str(database), "--index-only"),
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert ": 0 events, 0 new tenders" in again.stdout, again.stdout


def _get_request(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.parametrize(
    "args, said",
    [
        (["--database", "mysql://db/index"], "is not a database the index uses"),
        (["--pegged-to", "usd"], "is not an ISO 4217 code"),
        (["--registry", "0x1234"], "0x1234"),
    ],
)
def test_bad_input_is_one_line_and_serves_nothing(deployment, chain, args, said):
    result = subprocess.run(
        _portal(chain, "--index-only", *args),
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    said_by_ape = ("INFO:",)  # Ape's own "Connecting to a node" line
    lines = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and not line.startswith(said_by_ape)
    ]
    assert len(lines) == 1 and said in lines[0], lines
