"""Python driver throughput on one local Anvil: the raw JSON-RPC ceiling, Ape's default path
and the bulk path (procurechain.bulk), measured in the same run, interleaved over rounds.

- raw: ``eth_sendTransaction`` of a 1-wei transfer from an account Anvil holds, one after the
  other, over one keep-alive HTTP session (Anvil signs; nothing else happens per transaction);
- Ape: ``tender.commitBid(commitment, sender=account)``, Ape's default transaction path (gas
  estimate, nonce, fees, local signature, send, receipt) for one sealed bid;
- library: ``procurechain.tender.commit_bid`` as the CLI uses it (stage, budget, balance and
  allowance checks, the bid salt signed twice, then Ape's path);
- bulk: the same ``commitBid`` transactions through :class:`procurechain.bulk.BulkSender`
  (local signing, own nonces, reused gas limit, batched JSON-RPC, every receipt checked).

Every bidder has approved the bond before the measurement; each commitment is a first bid on
its tender, so every commitBid transaction does the same work (bond pulled, bid stored).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import requests
from eth_account import Account
from eth_utils import keccak

from procurechain import tender as td
from procurechain.bids import commitment
from procurechain.bulk import BulkSender, Tx, contract_abi

DUSD = 10**6
BOND = 100 * DUSD
DAY = 86_400
TARGET = 0.40  # bulk / raw, issue #7


def _bidder_keys(count: int, tag: str) -> list[Any]:
    return [Account.from_key(keccak(text=f"procurechain bench {tag} {i}")) for i in range(count)]


class _Bench:
    def __init__(self, n_raw: int, n_ape: int, n_library: int, n_bulk: int, rounds: int) -> None:
        from ape import accounts, chain

        from procurechain.deploy import deploy_suite, devnet_config

        self.n_raw, self.n_ape, self.n_library, self.n_bulk = n_raw, n_ape, n_library, n_bulk
        self.rounds = rounds
        test = accounts.test_accounts
        self.deployer, self.agency = test[0], test[1]
        self.ape_bidders = [test[i] for i in range(10, 30)]
        self.raw_from, self.raw_to = str(test[9].address), "0x" + "be" * 20
        self.bulk_bidders = _bidder_keys(n_bulk, "bulk")
        manifest = deploy_suite(self.deployer, devnet_config(), force=True)
        self.registry = manifest["contracts"]["Registry"]["address"]
        self.token = manifest["contracts"]["Token"]["address"]
        self.sender = BulkSender.connected([self.deployer, self.agency, *self.ape_bidders])
        self.sender.add(self.bulk_bidders)
        self.chain_id = int(chain.provider.web3.eth.chain_id)
        self.url = self.sender.rpc.url

    # ---------------------------------------------------------------- set-up (not timed)

    def _tenders(self, count: int) -> list[str]:
        """``count`` open tenders of the agency, bidding open for 30 days."""
        registry = contract_abi("Registry")
        now = int(
            self.sender.rpc.request("eth_getBlockByNumber", ["latest", False])["timestamp"], 16
        )
        spec = td.TenderSpec(
            token=self.token,
            budget=50_000 * DUSD,
            bond=BOND,
            bidding_deadline=now + 30 * DAY,
            reveal_deadline=now + 40 * DAY,
            acceptance_window=5 * DAY,
            documents_hash=keccak(text="bench tender"),
            plan=(td.Milestone(10_000, 60 * DAY, keccak(text="delivery")),),
        )
        receipts = self.sender.send(
            [
                registry.tx(
                    self.agency, self.registry, "createTender", spec.params(), spec.plan_tuples()
                )
                for _ in range(count)
            ]
        )
        created = keccak(
            text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])"
        )
        return ["0x" + r.topics(created)[0][2][-20:].hex() for r in receipts]

    def _fund(self, bidders: list[str], tenders_each: list[list[str]]) -> None:
        """ETH (Anvil's setBalance), dUSD from the faucet, and approvals of each tender."""
        self.sender.forget_nonces()  # Ape's path sent from some of these accounts meanwhile
        self.sender.rpc.batch([("anvil_setBalance", [b, hex(10**21)]) for b in bidders])
        token = contract_abi("DemoStablecoin")
        self.sender.send(
            [
                token.tx(b, self.token, "faucet", b, 10 * BOND * len(t))
                for b, t in zip(bidders, tenders_each, strict=True)
            ]
        )
        approvals = [
            token.tx(b, self.token, "approve", tender, BOND)
            for b, tenders in zip(bidders, tenders_each, strict=True)
            for tender in tenders
        ]
        self.sender.send(approvals)

    def _commitment(self, tender: str, bidder: str, i: int) -> bytes:
        salt = keccak(text=f"salt {tender} {bidder}")
        return commitment(self.chain_id, tender, bidder, (40_000 + i) * DUSD, salt, bytes(32))

    # ---------------------------------------------------------------- the paths (timed)

    def raw(self) -> float:
        session = requests.Session()
        body = {"from": self.raw_from, "to": self.raw_to, "value": "0x1"}
        hashes = []
        started = time.perf_counter()
        for n in range(self.n_raw):
            answer = session.post(
                self.url,
                json={"jsonrpc": "2.0", "id": n, "method": "eth_sendTransaction", "params": [body]},
            ).json()
            hashes.append(answer["result"])
        while self.sender.rpc.request("eth_getTransactionReceipt", [hashes[-1]]) is None:
            time.sleep(0.001)  # the clock stops when the last transfer (hence all) is mined
        elapsed = time.perf_counter() - started
        receipts = self.sender.rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        assert all(r["result"]["status"] == "0x1" for r in receipts)
        return self.n_raw / elapsed

    def _ape_jobs(self, count: int) -> list[tuple[Any, Any, bytes]]:
        per_tender = len(self.ape_bidders)
        tenders = self._tenders(-(-count // per_tender))
        pairs = [(t, b) for t in tenders for b in self.ape_bidders][:count]
        self._fund(
            [str(b.address) for b in self.ape_bidders],
            [tenders for _ in self.ape_bidders],
        )
        return [
            (td.tender_at(t), b, self._commitment(t, str(b.address), i))
            for i, (t, b) in enumerate(pairs)
        ]

    def ape(self) -> float:
        jobs = self._ape_jobs(self.n_ape)
        started = time.perf_counter()
        for tender, bidder, sealed in jobs:
            receipt = tender.commitBid(sealed, sender=bidder)
            assert not receipt.failed
        return len(jobs) / (time.perf_counter() - started)

    def library(self) -> float:
        jobs = self._ape_jobs(self.n_library)
        started = time.perf_counter()
        for i, (tender, bidder, _sealed) in enumerate(jobs):
            td.commit_bid(tender, bidder, (40_000 + i) * DUSD, bytes(32))
        return len(jobs) / (time.perf_counter() - started)

    def bulk(self) -> float:
        (tender,) = self._tenders(1)
        bidders = [str(b.address) for b in self.bulk_bidders]
        self._fund(bidders, [[tender] for _ in bidders])
        abi = contract_abi("Tender")
        txs: list[Tx] = [
            abi.tx(b, tender, "commitBid", self._commitment(tender, b, i))
            for i, b in enumerate(bidders)
        ]
        started = time.perf_counter()
        receipts = self.sender.send(txs)
        elapsed = time.perf_counter() - started
        assert all(r.ok for r in receipts)
        view = contract_abi("Tender")
        committed = self.sender.call_many(
            [(tender, view.calldata("bidOf", b)) for b in bidders[:: max(1, len(bidders) // 20)]]
        )
        assert all(view.decode_output("bidOf", c)[0] for c in committed)
        return len(txs) / elapsed


def run(
    n_raw: int = 500, n_ape: int = 150, n_library: int = 40, n_bulk: int = 500, rounds: int = 3
) -> dict[str, Any]:
    """Measure the four paths over ``rounds`` rounds (the order rotates each round); returns
    tx/s per round, the medians and the ratios of the medians."""
    import os
    import tempfile

    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROCURECHAIN_DEPLOYMENTS"] = folder
        try:
            bench = _Bench(n_raw, n_ape, n_library, n_bulk, rounds)
            paths = ["raw", "ape", "library", "bulk"]
            rates: dict[str, list[float]] = {p: [] for p in paths}
            for round_ in range(rounds):
                order = paths[round_ % len(paths) :] + paths[: round_ % len(paths)]
                for path in order:
                    rates[path].append(getattr(bench, path)())
        finally:
            if saved is None:
                os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
            else:
                os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved
    median = {p: statistics.median(r) for p, r in rates.items()}
    return {
        "n": {"raw": n_raw, "ape": n_ape, "library": n_library, "bulk": n_bulk},
        "rounds": rounds,
        "tx_per_s": {p: [round(x, 1) for x in r] for p, r in rates.items()},
        "median": {p: round(x, 1) for p, x in median.items()},
        "bulk_over_raw": median["bulk"] / median["raw"],
        "bulk_over_ape": median["bulk"] / median["ape"],
        "ape_over_raw": median["ape"] / median["raw"],
        "target_bulk_over_raw": TARGET,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    n, median, rounds = result["n"], result["median"], result["tx_per_s"]
    labels = {
        "raw": "raw ceiling: `eth_sendTransaction` of a transfer, sequential, keep-alive",
        "ape": "Ape default: `tender.commitBid(..., sender=account)`",
        "library": "library: `procurechain.tender.commit_bid` (checks + salt signature)",
        "bulk": "bulk: `BulkSender.send` of the same commitBid transactions",
    }
    lines = [
        "## Python driver throughput",
        "",
        "Transactions per second on one local Anvil (automine, one block per transaction),",
        f"{result['rounds']} rounds with the order rotated, median shown; every commitBid is a",
        "first bid that pulls its bond. See `bench/throughput.py`.",
        "",
        "| path | tx per round | tx/s (median) | rounds | / raw |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for path, label in labels.items():
        each = ", ".join(f"{x:.0f}" for x in rounds[path])
        lines.append(
            f"| {label} | {n[path]} | {median[path]:.0f} | {each} | "
            f"{median[path] / median['raw']:.0%} |"
        )
    met = "met" if result["bulk_over_raw"] >= result["target_bulk_over_raw"] else "MISSED"
    lines += [
        "",
        f"bulk / raw = {result['bulk_over_raw']:.0%} (target >= "
        f"{result['target_bulk_over_raw']:.0%}: {met}); bulk / Ape default = "
        f"{result['bulk_over_ape']:.1f}x; Ape default / raw = {result['ape_over_raw']:.0%}.",
        "",
    ]
    return lines
