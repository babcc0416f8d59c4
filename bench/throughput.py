"""Python driver throughput on one local Anvil: the raw JSON-RPC ceiling, Ape's default path
and the bulk path (procurechain.bulk), measured in the same run, interleaved over rounds.

- raw: ``eth_sendTransaction`` of a 1-wei transfer from an account Anvil holds, one after the
  other, over one keep-alive HTTP session (Anvil signs; the clock stops when the last one is
  mined);
- Ape: ``tender.commitBid(commitment, sender=account)``, Ape's default transaction path (gas
  estimate, nonce, fees, local signature, send, receipt) for one sealed bid;
- library: ``procurechain.tender.commit_bid`` as the CLI uses it (stage, budget, balance and
  allowance checks, the bid salt signed twice, then Ape's path);
- bulk: the same ``commitBid`` transactions through :class:`procurechain.bulk.BulkSender`
  (local signing, own nonces, reused gas limit, batched JSON-RPC, every receipt checked), on
  automine (one block per transaction, like the others);
- bulk, manual mining: the same, each batch mined into as few blocks as fit (what the
  simulation does on a devnet).

Anvil's cost per block grows with the chain (a raw transfer measured 600 tx/s on a new chain
and 40-170 tx/s after 4,000 more), so every path is measured in every round, the order
rotated, and the ratios are taken within a round, then the median over rounds. Everything the
rounds need (tenders, dUSD, approvals) is set up first, mined in few blocks, so the rounds add
only the transactions they measure. Every commitBid is a first bid that pulls its bond.
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
PATHS = ("raw", "ape", "library", "bulk", "bulk_blocks")
CREATED = keccak(text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])")


class _Bench:
    def __init__(self, n: dict[str, int], rounds: int) -> None:
        from ape import accounts, chain

        from procurechain.deploy import deploy_suite, devnet_config

        self.n, self.rounds = n, rounds
        test = accounts.test_accounts
        self.deployer, self.agency = test[0], test[1]
        self.ape_bidders = [test[i] for i in range(10, 30)]
        self.raw_from, self.raw_to = str(test[9].address), "0x" + "be" * 20
        count = max(n["bulk"], n["bulk_blocks"])
        self.bulk_bidders = [
            Account.from_key(keccak(text=f"procurechain bench bidder {i}")) for i in range(count)
        ]
        manifest = deploy_suite(self.deployer, devnet_config(), force=True)
        self.registry = manifest["contracts"]["Registry"]["address"]
        self.token = manifest["contracts"]["Token"]["address"]
        signers = [self.deployer, self.agency, *self.ape_bidders, *self.bulk_bidders]
        self.sender = BulkSender.connected(signers)
        self.url = self.sender.rpc.url
        self.manual = BulkSender(self.url, signers, manual_mining=True)
        self.chain_id = int(chain.provider.web3.eth.chain_id)
        self.raw_on_new_chain = self.raw(0)  # a reference: before the set-up grows the chain
        self.jobs = [self._prepare() for _ in range(rounds)]
        self.manual.forget_nonces()

    # ---------------------------------------------------------------- set-up (not timed)

    def _tenders(self, count: int) -> list[str]:
        registry = contract_abi("Registry")
        block = self.manual.rpc.request("eth_getBlockByNumber", ["latest", False])
        now = int(block["timestamp"], 16)
        spec = td.TenderSpec(
            token=self.token,
            budget=50_000 * DUSD,
            bond=BOND,
            bidding_deadline=now + 30 * DAY,
            reveal_deadline=now + 40 * DAY,
            acceptance_window=5 * DAY,
            notice="bench tender",
            plan=(td.Milestone(10_000, 60 * DAY, keccak(text="delivery")),),
        )
        call = (spec.params(), spec.plan_tuples(), spec.notice)
        txs = [registry.tx(self.agency, self.registry, "createTender", *call) for _ in range(count)]
        return ["0x" + r.topics(CREATED)[0][2][-20:].hex() for r in self.manual.send(txs)]

    def _commitment(self, tender: str, bidder: str, i: int) -> bytes:
        salt = keccak(text=f"salt {tender} {bidder}")
        return commitment(self.chain_id, tender, bidder, (40_000 + i) * DUSD, salt, bytes(32))

    def _prepare(self) -> dict[str, Any]:
        """One round's tenders, each bidder's dUSD and approvals (manual mining: few blocks)."""
        per_tender = len(self.ape_bidders)
        ape_tenders = self._tenders(-(-self.n["ape"] // per_tender))
        library_tenders = self._tenders(-(-self.n["library"] // per_tender))
        bulk_tender, blocks_tender = self._tenders(2)
        token = contract_abi("DemoStablecoin")
        approvals: dict[str, list[str]] = {str(b.address): [] for b in self.ape_bidders}
        for tender in ape_tenders + library_tenders:
            for bidder in approvals:
                approvals[bidder].append(tender)
        for count, tender in (
            (self.n["bulk"], bulk_tender),
            (self.n["bulk_blocks"], blocks_tender),
        ):
            for bidder in self.bulk_bidders[:count]:
                approvals.setdefault(bidder.address, []).append(tender)
        self.manual.rpc.batch([("anvil_setBalance", [b, hex(10**21)]) for b in approvals])
        self.manual.send(
            [token.tx(b, self.token, "faucet", b, BOND * len(t)) for b, t in approvals.items()]
        )
        self.manual.send(
            [token.tx(b, self.token, "approve", t, BOND) for b, ts in approvals.items() for t in ts]
        )

        def ape_jobs(tenders: list[str], count: int) -> list[tuple[Any, Any, bytes]]:
            pairs = [(t, b) for t in tenders for b in self.ape_bidders][:count]
            return [
                (td.tender_at(t), b, self._commitment(t, str(b.address), i))
                for i, (t, b) in enumerate(pairs)
            ]

        def bulk_jobs(tender: str, count: int) -> list[Tx]:
            abi = contract_abi("Tender")
            bidders = [b.address for b in self.bulk_bidders[:count]]
            return [
                abi.tx(b, tender, "commitBid", self._commitment(tender, b, i))
                for i, b in enumerate(bidders)
            ]

        return {
            "ape": ape_jobs(ape_tenders, self.n["ape"]),
            "library": ape_jobs(library_tenders, self.n["library"]),
            "bulk": (bulk_tender, bulk_jobs(bulk_tender, self.n["bulk"])),
            "bulk_blocks": (blocks_tender, bulk_jobs(blocks_tender, self.n["bulk_blocks"])),
        }

    # ---------------------------------------------------------------- the paths (timed)

    def raw(self, _round: int) -> float:
        session = requests.Session()
        body = {"from": self.raw_from, "to": self.raw_to, "value": "0x1"}
        hashes = []
        started = time.perf_counter()
        for n in range(self.n["raw"]):
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
        return len(hashes) / elapsed

    def ape(self, round_: int) -> float:
        jobs = self.jobs[round_]["ape"]
        started = time.perf_counter()
        for tender, bidder, sealed in jobs:
            assert not tender.commitBid(sealed, sender=bidder).failed
        return len(jobs) / (time.perf_counter() - started)

    def library(self, round_: int) -> float:
        jobs = self.jobs[round_]["library"]
        started = time.perf_counter()
        for i, (tender, bidder, _sealed) in enumerate(jobs):
            td.commit_bid(tender, bidder, (40_000 + i) * DUSD, bytes(32))
        return len(jobs) / (time.perf_counter() - started)

    def _bulk(self, sender: BulkSender, tender: str, txs: list[Tx]) -> float:
        sender.forget_nonces()  # the other senders used these keys too: read them again
        started = time.perf_counter()
        receipts = sender.send(txs)
        elapsed = time.perf_counter() - started
        assert all(r.ok for r in receipts)
        view = contract_abi("Tender")
        bids = sender.call_many([(tender, view.calldata("bidOf", t.sender)) for t in txs[::25]])
        assert all(view.decode_output("bidOf", b)[0] for b in bids)
        return len(txs) / elapsed

    def bulk(self, round_: int) -> float:
        return self._bulk(self.sender, *self.jobs[round_]["bulk"])

    def bulk_blocks(self, round_: int) -> float:
        return self._bulk(self.manual, *self.jobs[round_]["bulk_blocks"])


def run(
    n_raw: int = 200,
    n_ape: int = 60,
    n_library: int = 20,
    n_bulk: int = 200,
    rounds: int = 5,
) -> dict[str, Any]:
    """Measure every path in every round (order rotated); returns tx/s per round, the
    per-round ratios and their medians."""
    import os
    import tempfile

    n = {"raw": n_raw, "ape": n_ape, "library": n_library, "bulk": n_bulk, "bulk_blocks": n_bulk}
    saved = os.environ.get("PROCURECHAIN_DEPLOYMENTS")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["PROCURECHAIN_DEPLOYMENTS"] = folder
        try:
            bench = _Bench(n, rounds)
            first_block = bench.sender.rpc.request("eth_blockNumber")
            rates: dict[str, list[float]] = {p: [] for p in PATHS}
            for round_ in range(rounds):
                shift = round_ % len(PATHS)
                for path in PATHS[shift:] + PATHS[:shift]:
                    rates[path].append(getattr(bench, path)(round_))
            last_block = bench.sender.rpc.request("eth_blockNumber")
        finally:
            if saved is None:
                os.environ.pop("PROCURECHAIN_DEPLOYMENTS", None)
            else:
                os.environ["PROCURECHAIN_DEPLOYMENTS"] = saved
    ratios = {
        "bulk_over_raw": [b / r for b, r in zip(rates["bulk"], rates["raw"], strict=True)],
        "bulk_over_ape": [b / a for b, a in zip(rates["bulk"], rates["ape"], strict=True)],
        "ape_over_raw": [a / r for a, r in zip(rates["ape"], rates["raw"], strict=True)],
        "bulk_blocks_over_raw": [
            b / r for b, r in zip(rates["bulk_blocks"], rates["raw"], strict=True)
        ],
    }
    return {
        "n": n,
        "rounds": rounds,
        "blocks": [int(first_block, 16), int(last_block, 16)],
        "raw_on_new_chain": round(bench.raw_on_new_chain, 1),
        "tx_per_s": {p: [round(x, 1) for x in r] for p, r in rates.items()},
        "median": {p: round(statistics.median(r), 1) for p, r in rates.items()},
        "ratios": {k: [round(x, 3) for x in v] for k, v in ratios.items()},
        **{k: statistics.median(v) for k, v in ratios.items()},
        "target_bulk_over_raw": TARGET,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    n, median, rounds = result["n"], result["median"], result["tx_per_s"]
    labels = {
        "raw": "raw ceiling: `eth_sendTransaction` of a transfer, sequential, keep-alive",
        "ape": "Ape default: `tender.commitBid(..., sender=account)`",
        "library": "library: `procurechain.tender.commit_bid` (checks + salt signature)",
        "bulk": "bulk: `BulkSender.send`, same commitBid transactions, automine",
        "bulk_blocks": "bulk, manual mining (a batch per block, as the simulation)",
    }
    first, last = result["blocks"]
    lines = [
        "## Python driver throughput",
        "",
        "Transactions per second on the Anvil Ape starts (automine: one block per transaction),",
        f"{result['rounds']} rounds, every path in each round with the order rotated. Anvil's",
        "cost per block grows with the chain, so ratios are taken within each round and the",
        f"median of them is shown (the chain went from block {first:,} to {last:,} during the",
        "rounds). Every commitBid is a first bid that pulls its bond. Wall-clock figures on a",
        "shared 2-core machine vary from run to run. `bench/throughput.py`.",
        "",
        "| path | tx per round | tx/s per round | median tx/s |",
        "| --- | ---: | --- | ---: |",
    ]
    for path, label in labels.items():
        each = ", ".join(f"{x:.0f}" for x in rounds[path])
        lines.append(f"| {label} | {n[path]} | {each} | {median[path]:.0f} |")
    met = "met" if result["bulk_over_raw"] >= result["target_bulk_over_raw"] else "MISSED"
    per_round = ", ".join(f"{x:.0%}" for x in result["ratios"]["bulk_over_raw"])
    lines += [
        "",
        f"- bulk / raw: {result['bulk_over_raw']:.0%} (rounds: {per_round}; target >= "
        f"{result['target_bulk_over_raw']:.0%}: {met})",
        f"- bulk / Ape default: {result['bulk_over_ape']:.1f}x",
        f"- Ape default / raw: {result['ape_over_raw']:.0%}",
        f"- bulk with manual mining / raw: {result['bulk_blocks_over_raw']:.0%}",
        f"- raw on the new chain, before the set-up ({n['raw']} transfers): "
        f"{result['raw_on_new_chain']:.0f} tx/s; median bulk / that: "
        f"{median['bulk'] / result['raw_on_new_chain']:.0%}",
        "",
    ]
    return lines
