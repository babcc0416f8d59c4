"""A city's year on a devnet: many complete procurements with seeded random parameters, driven
through the bulk path (:mod:`procurechain.bulk`), then checked with ``audit verify``.

Tenders run in cohorts (50 by default): every phase of a cohort's lifecycles goes out together
(all commitments of 50 tenders in one bulk send, then all reveals, ...), the milestones of
all its agreements are pipelined (a month's late deliveries share a block with the next step
of every earlier one), and each cohort starts when the previous one is closed, so every cohort
does the same work on a longer chain. A cohort takes about 16 blocks whatever its size: Anvil
recomputes its whole state root for every block, so a block costs more as the chain grows,
and fewer blocks per tender is what keeps a long history fast. Per tender, drawn from the seed:

- agency (one of the city's departments), budget (5,000-90,000 dUSD), bond (1-5%), 1-5
  milestones with random shares and due dates a month apart, retention, warranty, late
  penalty;
- bidders: each of the city's suppliers bids with probability 0.6 (at least one does), at
  60-105% of the budget (so some bids are invalid), and reveals with probability 0.85;
- 3% are cancelled by the consortium once bidding has closed (before the reveal deadline, so
  every bond comes back); a tender without a valid bid fails;
- per milestone: 25% are submitted late (penalty), 15% disputed and resolved by the
  consortium (a split), 10% rejected once and resubmitted, the rest accepted;
- retention released after the warranty, every credit withdrawn, every bond returned or
  claimed by the buyer: nothing may stay in a tender or an agreement.

Every privileged step is a consortium action: an EIP-712 bundle signed in this process with
the members' keys (recused members left out, the roles a policy requires included) and
executed by a member through the bulk path. Bids use permits (one transaction each), salts
are derived from the seed; the escrow is funded by permit.

The clock is moved with Anvil's RPC, so this runs only on a local devnet (chain 31337) whose
consortium members' keys are Ape test accounts; elsewhere it refuses with one sentence.
"""

from __future__ import annotations

import random
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address

from procurechain import catalog
from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.bulk import BulkSender, Receipt, Tx, connected_rpc, contract_abi
from procurechain.errors import ProcurechainError
from procurechain.record.notice import Notice

__all__ = [
    "CohortTiming",
    "Progress",
    "SimulationConfig",
    "SimulationResult",
    "simulate",
]

DUSD = 10**6
DAY = 86_400
FAUCET_LIMIT = 1_000_000 * DUSD
ETH = 10**18
PERMIT_TYPEHASH = keccak(
    text="Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
)
TENDER_CREATED = keccak(
    text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])"
)
AWARD_ACCEPTED = keccak(text="AwardAccepted(address,address,uint256)")
DEPARTMENTS = ("Parks", "Roads", "Schools", "Water", "Health", "Libraries", "Transport", "Housing")
PHASES = (
    "fund accounts",
    "publish",
    "bid",
    "reveal",
    "award",
    "accept and fund",
    "deliveries",
    "decisions",
    "warranty and payouts",
)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate.

    Attributes:
        tenders: how many complete procurements.
        bidders: how many supplier companies compete in the city.
        seed: seeds every random choice (same seed, same history).
        cohort: tenders whose phases are sent together.
        agencies: how many buying departments publish tenders (1-8).
        fresh: deploy a new suite even if the manifest's is live.
    """

    tenders: int = 200
    bidders: int = 10
    seed: int = 1
    cohort: int = 50
    agencies: int = 4
    fresh: bool = False

    def check(self) -> None:
        if self.tenders < 1:
            raise ProcurechainError("--tenders must be at least 1")
        if self.bidders < 1:
            raise ProcurechainError("--bidders must be at least 1")
        if self.cohort < 1:
            raise ProcurechainError("--cohort must be at least 1")
        if not 1 <= self.agencies <= len(DEPARTMENTS):
            raise ProcurechainError(f"--agencies must be between 1 and {len(DEPARTMENTS)}")


@dataclass(frozen=True)
class Progress:
    """Where the simulation is, for a progress display."""

    cohort: int
    cohorts: int
    phase: str
    step: int  # phases done in all, out of ``steps``
    steps: int
    tenders_done: int
    transactions: int


@dataclass(frozen=True)
class CohortTiming:
    """Wall time and transactions of one cohort's complete lifecycles."""

    first_tender: int
    tenders: int
    seconds: float
    transactions: int
    cpu_seconds: float = 0.0  # this process's CPU time (signing, encoding), not the node's
    blocks: int = 0  # blocks mined for it


@dataclass
class SimulationResult:
    """What happened: counts, timings, the audit's verdict."""

    tenders: int = 0
    transactions: int = 0
    seconds: float = 0.0
    setup_seconds: float = 0.0
    audit_seconds: float = 0.0
    audit_events: int = 0
    differences: list[str] = field(default_factory=list)
    flows_matching: bool = False
    stranded: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    milestones: dict[str, int] = field(default_factory=dict)
    cohorts: list[CohortTiming] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    deployed: bool = False
    registry: str = ""

    @property
    def tx_per_s(self) -> float:
        return self.transactions / self.seconds if self.seconds else 0.0

    @property
    def last_over_first(self) -> float | None:
        """Wall time of the last cohort over the first (None with fewer than two full ones)."""
        full = [c for c in self.cohorts if c.tenders == self.cohorts[0].tenders]
        if len(full) < 2:
            return None
        return full[-1].seconds / full[0].seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenders": self.tenders,
            "transactions": self.transactions,
            "seconds": round(self.seconds, 2),
            "tx_per_s": round(self.tx_per_s, 1),
            "setup_seconds": round(self.setup_seconds, 2),
            "audit_seconds": round(self.audit_seconds, 2),
            "audit_events": self.audit_events,
            "differences": len(self.differences),
            "flows_matching": self.flows_matching,
            "stranded": self.stranded,
            "outcomes": self.outcomes,
            "milestones": self.milestones,
            "cohorts": [
                {
                    "first_tender": c.first_tender,
                    "tenders": c.tenders,
                    "seconds": round(c.seconds, 2),
                    "transactions": c.transactions,
                    "cpu_seconds": round(c.cpu_seconds, 2),
                    "blocks": c.blocks,
                }
                for c in self.cohorts
            ],
            "last_over_first": (
                round(self.last_over_first, 3) if self.last_over_first is not None else None
            ),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


# ---------------------------------------------------------------------------- the plan


@dataclass
class _Bid:
    bidder: str
    price: int
    reveals: bool
    salt: bytes
    doc_hash: bytes


@dataclass
class _Milestone:
    share_bps: int
    due_offset: int
    late: bool
    outcome: str  # accept | dispute | reject
    split_bps: int = 0


@dataclass
class _Tender:
    number: int
    agency: str
    budget: int
    bond: int
    milestones: list[_Milestone]
    retention_bps: int
    warranty: int
    penalty_bps: int
    penalty_cap_bps: int
    bids: list[_Bid]
    cancel: bool
    department: str = "Parks"
    address: str = ""
    winner: _Bid | None = None
    agreement: str = ""
    outcome: str = ""

    @property
    def plan(self) -> list[tuple[int, int, bytes]]:
        return [
            (m.share_bps, m.due_offset, self.notice.milestone_hash(k))
            for k, m in enumerate(self.milestones)
        ]

    @property
    def notice(self) -> Notice:
        """What the tender's agency publishes about it (from the simulated city's catalog)."""
        return catalog.notice_for(
            self.number, f"the {self.department} department", len(self.milestones)
        )


def _draw(rng: random.Random, number: int, agencies: list[str], bidders: list[str]) -> _Tender:
    budget = rng.randrange(5_000, 90_001) * DUSD
    count = rng.randint(1, 5)
    cuts = sorted(rng.sample(range(1, 100), count - 1))
    shares = [(b - a) * 100 for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    milestones = []
    for k, share in enumerate(shares):
        roll = rng.random()
        outcome = "dispute" if roll < 0.15 else "reject" if roll < 0.25 else "accept"
        milestones.append(
            _Milestone(
                share_bps=share,
                due_offset=(k + 1) * 30 * DAY + rng.randint(0, 5) * DAY,
                late=rng.random() < 0.25,
                outcome=outcome,
                split_bps=rng.randrange(5_000, 9_501, 100),
            )
        )
    chosen = [b for b in bidders if rng.random() < 0.6] or [rng.choice(bidders)]
    bids = [
        _Bid(
            bidder=b,
            price=int(budget * rng.uniform(0.6, 1.05)),
            reveals=rng.random() < 0.85,
            salt=keccak(text=f"simulation salt {number} {b} {rng.random()}"),
            doc_hash=keccak(text=f"bid documents {number} {b}"),
        )
        for b in chosen
    ]
    return _Tender(
        number=number,
        agency=rng.choice(agencies),
        budget=budget,
        bond=budget * rng.choice((1, 2, 3, 5)) // 100,
        milestones=milestones,
        retention_bps=rng.choice((0, 250, 500, 1_000)),
        warranty=rng.choice((30, 60, 90, 180)) * DAY,
        penalty_bps=rng.choice((0, 10, 25, 50)),
        penalty_cap_bps=rng.choice((500, 1_000, 2_000)),
        bids=bids,
        cancel=rng.random() < 0.03,
    )


def _key(label: str) -> Any:
    """A devnet key of the simulation, the same in every run (accounts are reused)."""
    return Account.from_key(keccak(text=f"procurechain simulation {label}"))


# ---------------------------------------------------------------------------- the run


class _City:
    def __init__(self, config: SimulationConfig, report: Callable[[Progress], None]) -> None:
        from ape import accounts

        self.config = config
        self.report = report
        self.rng = random.Random(config.seed)
        test = accounts.test_accounts
        self.deployer = test[0]
        self.members_accounts = {str(a.address): a for a in list(test)[:10]}
        self.agencies = [str(test[1].address)]
        extra = [_key(f"agency {name}") for name in DEPARTMENTS[1 : config.agencies]]
        self.agencies += [a.address for a in extra]
        self.bidder_keys = [_key(f"supplier {i}") for i in range(config.bidders)]
        self.bidders = [k.address for k in self.bidder_keys]
        # One block per phase on Anvil (its per-block cost grows with the chain's state).
        signers = [*list(test)[:10], *extra, *self.bidder_keys]
        rpc = connected_rpc()
        anvil = rpc is not None and str(rpc.request("web3_clientVersion")).startswith("anvil")
        self.sender = BulkSender.connected(signers, manual_mining=anvil)
        self.chain_id = self.sender.chain_id
        self.cohorts = -(-config.tenders // config.cohort)
        self.step = 0
        self.done = 0
        self.next_time = 0
        self.permit_nonces: dict[str, int] = {}
        self.consortium_nonce = 0
        self.abi = {n: contract_abi(n) for n in ("Registry", "Tender", "Agreement", "Consortium")}
        self.token_abi = contract_abi("DemoStablecoin")

    # ------------------------------------------------------------------ helpers

    def progress(self, cohort: int, phase: str, advance: bool = True) -> None:
        if advance:
            self.step += 1
        self.report(
            Progress(
                cohort=cohort,
                cohorts=self.cohorts,
                phase=phase,
                step=self.step,
                steps=self.cohorts * len(PHASES),
                tenders_done=self.done,
                transactions=self.sender.mined,
            )
        )

    def send(self, txs: Sequence[Tx]) -> list[Receipt]:
        return self.sender.send(txs)

    def published(self, text: str) -> bool:
        """Whether ``text`` is on the record already (``TextPublished`` with its hash)."""
        topic = keccak(text="TextPublished(bytes32,address,string)")
        query = {
            "address": self.registry,
            "fromBlock": "0x0",
            "toBlock": "latest",
            "topics": ["0x" + topic.hex(), "0x" + keccak(text=text).hex()],
        }
        (answer,) = self.sender.rpc.batch([("eth_getLogs", [query])])
        return bool(answer.get("result"))

    def views(self, contract: str, calls: Sequence[tuple[str, str, tuple]]) -> list[tuple]:
        """Batched view calls ``(address, method, args)`` on ``contract`` type."""
        abi = contract_abi(contract)
        data = self.sender.call_many([(to, abi.calldata(m, *args)) for to, m, args in calls])
        return [abi.decode_output(m, d) for (_, m, _), d in zip(calls, data, strict=True)]

    def block_number(self) -> int:
        return int(self.sender.rpc.request("eth_blockNumber"), 16)

    def head_time(self) -> int:
        """The chain's clock: the latest block's time, or the next block's if it was set."""
        block = self.sender.rpc.request("eth_getBlockByNumber", ["latest", False])
        return max(int(block["timestamp"], 16), self.next_time)

    def move_past(self, timestamp: int) -> None:
        """The next block comes just after ``timestamp`` (devnet clock, Anvil RPC). No empty
        block is mined for it: the phase's own transactions fill that block (estimates read
        the pending block, which has the new time)."""
        self.next_time = max(int(timestamp) + 1, self.head_time() + 1)
        self.sender.rpc.request("evm_setNextBlockTimestamp", [self.next_time])

    def permit(self, owner: str, spender: str, value: int) -> tuple[int, int, bytes, bytes]:
        """An EIP-2612 permit signed with the owner's key: (deadline, v, r, s); nonces are
        counted here in the order the owner's transactions are sent."""
        nonce = self.permit_nonces[owner]
        self.permit_nonces[owner] = nonce + 1
        deadline = 2**40
        struct = keccak(
            encode(
                ["bytes32", "address", "address", "uint256", "uint256", "uint256"],
                [PERMIT_TYPEHASH, owner, spender, value, nonce, deadline],
            )
        )
        signature = self.sender.sign_digest(
            owner, keccak(b"\x19\x01" + self.domain_separator + struct)
        )
        return deadline, signature[64], signature[:32], signature[32:64]

    def decide(self, target: str, data: bytes, executor: str, label: str, subject: str = "") -> Tx:
        """A consortium action signed in-process by enough members (the roles its policy
        requires first, recused members left out); the execute transaction."""
        action = cs.Action(
            target=to_checksum_address(target),
            value=0,
            data=data,
            nonce=self.next_action_nonce(),
            deadline=2**40,
        )
        digest = action.digest(self.chain_id, self.consortium)
        required = self.policies.get(data[:4], 0)
        recused = {m for m, subjects in self.conflicts.items() if subject in subjects}
        candidates = [m for m in self.members if m not in recused]
        chosen: list[str] = []
        for role in (1 << k for k in range(5)):
            if required & role and not any(self.roles[m] & role for m in chosen):
                holder = next((m for m in candidates if self.roles[m] & role), None)
                if holder is None:
                    raise ProcurechainError(
                        f"no unrecused member holds role {cs.role_names(role)} for {label}"
                    )
                chosen.append(holder)
        for member in candidates:
            if len(chosen) >= self.threshold:
                break
            if member not in chosen:
                chosen.append(member)
        if len(chosen) < self.threshold:
            raise ProcurechainError(f"too few unrecused members to {label}")
        proposal = cs.Proposal(self.chain_id, self.consortium, action, label)
        for member in chosen:
            proposal.signatures[member] = self.sender.sign_digest(member, digest)
        packed = cs.pack_signatures(proposal, chosen)
        return self.abi["Consortium"].tx(
            executor,
            self.consortium,
            "execute",
            action.as_tuple(),
            packed,
            label=f"Consortium.execute({label})",
            gas_key=f"Consortium.execute {label.split(' ')[0]}",
        )

    def next_action_nonce(self) -> int:
        """Unused consortium nonces, counted up from the lowest free one found at start."""
        while True:
            nonce = self.consortium_nonce
            self.consortium_nonce += 1
            word, bit = divmod(nonce, 256)
            if word not in self.bitmaps:
                (bits,) = self.views("Consortium", [(self.consortium, "nonceBitmap", (word,))])[0]
                self.bitmaps[word] = int(bits)
            if not self.bitmaps[word] & (1 << bit):
                return nonce

    def executor(self, n: int) -> str:
        return self.members[n % len(self.members)]

    # ------------------------------------------------------------------ set-up

    def setup(self) -> bool:
        from procurechain.deploy import deploy_suite, devnet_config
        from procurechain.deployments import is_live, read_manifest

        manifest = read_manifest()
        deployed = False
        if self.config.fresh or manifest is None or not is_live(manifest):
            manifest = deploy_suite(self.deployer, devnet_config(), force=True)
            deployed = True
        contracts = manifest["contracts"]
        self.registry = contracts["Registry"]["address"]
        self.consortium = contracts["Consortium"]["address"]
        self.token = contracts["Token"]["address"]
        if contracts["Token"].get("external"):
            raise ProcurechainError(
                "the deployment's token is not the devnet's dUSD, so the simulation cannot "
                "mint; run it with --fresh for a suite of its own"
            )
        consortium = self.abi["Consortium"]
        (members,) = self.views("Consortium", [(self.consortium, "members", ())])[0]
        self.members = [to_checksum_address(m) for m in members]
        missing = [m for m in self.members if not self.sender.holds(m)]
        if missing:
            raise ProcurechainError(
                f"the consortium's member {missing[0]} is not a devnet test account, so its "
                "signature cannot be made here; run the simulation with --fresh"
            )
        infos = self.views(
            "Consortium", [(self.consortium, "memberInfo", (m,)) for m in self.members]
        )
        self.roles = {m: int(info[1]) for m, info in zip(self.members, infos, strict=True)}
        (threshold,) = self.views("Consortium", [(self.consortium, "threshold", ())])[0]
        self.threshold = int(threshold)
        selectors = (
            {self.abi["Tender"].method(n).selector for n in ("award", "cancel")}
            | {
                self.abi["Agreement"].method(n).selector
                for n in ("acceptMilestone", "rejectMilestone", "resolveDispute")
            }
            | {self.abi["Registry"].method("addAgency").selector}
        )
        policies = self.views(
            "Consortium", [(self.consortium, "policyOf", (s,)) for s in sorted(selectors)]
        )
        self.policies = {s: int(p[0]) for s, p in zip(sorted(selectors), policies, strict=True)}
        self.bitmaps: dict[int, int] = {}
        self.consortium_nonce = 0
        (self.domain_separator,) = self.views(
            "DemoStablecoin", [(self.token, "DOMAIN_SEPARATOR", ())]
        )[0]

        # The technical expert advised supplier 0: recused from awards to it.
        technical = next((m for m in self.members if self.roles[m] & cs.ROLES["technical"]), None)
        txs: list[Tx] = []
        reason = catalog.reason("conflict")
        # The standard reasons go on the record once; every decision names one of them.
        txs += [
            self.abi["Registry"].tx(
                str(self.deployer.address),
                self.registry,
                "publish",
                text,
                gas_key=f"publish {kind}",
                label=f"publish the {kind} reason",
            )
            for kind, text in catalog.REASONS.items()
            if not self.published(text)
        ]
        if technical is not None:
            (declared,) = self.views(
                "Consortium", [(self.consortium, "conflictOf", (technical, self.bidders[0]))]
            )[0]
            if declared == bytes(32):
                txs.append(
                    consortium.tx(
                        technical, self.consortium, "declareConflict", self.bidders[0], reason
                    )
                )
        self.conflicts: dict[str, set[str]] = {}
        if technical is not None:
            self.conflicts[technical] = {self.bidders[0]}
        # ETH for the keys the simulation made, and its departments admitted as agencies.
        balances = self.sender.rpc.batch(
            [("eth_getBalance", [a, "latest"]) for a in [*self.agencies, *self.bidders]]
        )
        for address, answer in zip([*self.agencies, *self.bidders], balances, strict=True):
            if int(answer["result"], 16) < 10 * ETH:
                txs.append(
                    Tx(
                        str(self.deployer.address),
                        address,
                        value=100 * ETH,
                        gas_key="transfer",
                        label="ETH for gas",
                    )
                )
        self.send(txs)
        flags = self.views("Registry", [(self.registry, "isAgency", (a,)) for a in self.agencies])
        registry = self.abi["Registry"]
        admit = [
            self.decide(
                self.registry,
                registry.calldata("addAgency", a),
                self.executor(n),
                f"addAgency {a}",
            )
            for n, (a, (flag,)) in enumerate(zip(self.agencies, flags, strict=True))
            if not flag
        ]
        self.send(admit)
        return deployed

    def top_up(self, cohort: list[_Tender]) -> list[Tx]:
        """dUSD from the devnet faucet: bonds for every bid, budgets for every buyer."""
        need: dict[str, int] = {}
        for t in cohort:
            need[t.agency] = need.get(t.agency, 0) + t.budget
            for bid in t.bids:
                need[bid.bidder] = need.get(bid.bidder, 0) + t.bond
        holders = sorted(need)
        balances = self.views("DemoStablecoin", [(self.token, "balanceOf", (h,)) for h in holders])
        nonces = self.views("DemoStablecoin", [(self.token, "nonces", (h,)) for h in holders])
        txs = []
        for holder, (balance,), (nonce,) in zip(holders, balances, nonces, strict=True):
            self.permit_nonces[holder] = int(nonce)
            short = need[holder] - int(balance)
            while short > 0:
                amount = min(short, FAUCET_LIMIT)
                txs.append(self.token_abi.tx(holder, self.token, "faucet", holder, amount))
                short -= amount
        return txs

    # ------------------------------------------------------------------ one cohort

    def run_cohort(self, index: int, cohort: list[_Tender]) -> None:
        tender, agreement = self.abi["Tender"], self.abi["Agreement"]
        top_up = self.top_up(cohort)  # sent with the tenders: one block for both

        start = self.head_time()
        bidding, reveal = start + 7 * DAY, start + 10 * DAY
        creates = []
        for t in cohort:
            spec = td.TenderSpec(
                token=self.token,
                budget=t.budget,
                bond=t.bond,
                bidding_deadline=bidding,
                reveal_deadline=reveal,
                acceptance_window=5 * DAY,
                notice=t.notice.encode(),
                plan=tuple(td.Milestone(*m) for m in t.plan),
                retention_bps=t.retention_bps,
                warranty_period=t.warranty,
                late_penalty_bps_per_day=t.penalty_bps,
                late_penalty_cap_bps=t.penalty_cap_bps,
            )
            creates.append(
                self.abi["Registry"].tx(
                    t.agency,
                    self.registry,
                    "createTender",
                    spec.params(),
                    spec.plan_tuples(),
                    spec.notice,
                    label=f"createTender #{t.number}",
                )
            )
        receipts = self.send([*top_up, *creates])[len(top_up) :]
        self.progress(index, "fund accounts")
        for t, receipt in zip(cohort, receipts, strict=True):
            t.address = to_checksum_address(receipt.topics(TENDER_CREATED)[0][2][-20:])
        self.progress(index, "publish")

        commits = []
        for t in cohort:
            for bid in t.bids:
                sealed = self.sealed(t, bid)
                deadline, v, r, s = self.permit(bid.bidder, t.address, t.bond)
                commits.append(
                    tender.tx(
                        bid.bidder,
                        t.address,
                        "commitBidWithPermit",
                        sealed,
                        deadline,
                        v,
                        r,
                        s,
                        label=f"commitBid #{t.number}",
                    )
                )
        self.send(commits)
        self.progress(index, "bid")

        self.move_past(bidding)
        reveals = [
            tender.tx(
                bid.bidder,
                t.address,
                "revealBid",
                bid.price,
                bid.salt,
                bid.doc_hash,
                label=f"revealBid #{t.number}",
            )
            for t in cohort
            if not t.cancel
            for bid in t.bids
            if bid.reveals
        ]
        cancels = [  # after bidding closed, before the reveal deadline: every bond comes back
            self.decide(
                t.address,
                tender.calldata("cancel", catalog.reason("cancel")),
                self.executor(n),
                f"cancel #{t.number}",
            )
            for n, t in enumerate(c for c in cohort if c.cancel)
        ]
        self.send([*reveals, *cancels])
        self.progress(index, "reveal")

        self.move_past(reveal)
        open_ = [t for t in cohort if not t.cancel]
        leaders = self.views("Tender", [(t.address, "leader", ()) for t in open_])
        awards = []
        for n, (t, (leader, _price)) in enumerate(zip(open_, leaders, strict=True)):
            leader = to_checksum_address(leader)
            if int(leader, 16) == 0:
                t.outcome = "failed"
                continue
            t.winner = next(b for b in t.bids if b.bidder == leader)
            data = tender.calldata("award", leader, catalog.reason("award"))
            awards.append(
                self.decide(t.address, data, self.executor(n), f"award #{t.number}", leader)
            )
        for t in cohort:
            if t.cancel:
                t.outcome = "cancelled"
        self.send(awards)
        self.progress(index, "award")

        awarded = [t for t in cohort if t.winner is not None]
        accepts = [
            tender.tx(
                self.supplier(t), t.address, "acceptAward", t.plan, label=f"acceptAward #{t.number}"
            )
            for t in awarded
        ]
        for t, receipt in zip(awarded, self.send(accepts), strict=True):
            t.agreement = to_checksum_address(receipt.topics(AWARD_ACCEPTED)[0][2][-20:])
            t.outcome = "completed"
        funding = []
        for t in awarded:
            price = t.winner.price if t.winner else 0
            deadline, v, r, s = self.permit(t.agency, t.agreement, price)
            funding.append(
                agreement.tx(
                    t.agency,
                    t.agreement,
                    "fundWithPermit",
                    price,
                    deadline,
                    v,
                    r,
                    s,
                    label=f"fund #{t.number}",
                )
            )
        self.send([*funding, *self.bond_settlements(cohort)])
        self.progress(index, "accept and fund")

        self.milestones(index, awarded)
        self.progress(index, "decisions")
        self.close(awarded)
        self.done += len(cohort)
        self.progress(index, "warranty and payouts")

    @staticmethod
    def supplier(t: _Tender) -> str:
        if t.winner is None:
            raise ProcurechainError(f"tender #{t.number} has no supplier")
        return t.winner.bidder

    def sealed(self, t: _Tender, bid: _Bid) -> bytes:
        from procurechain.bids import commitment

        return commitment(self.chain_id, t.address, bid.bidder, bid.price, bid.salt, bid.doc_hash)

    def bond_settlements(self, cohort: list[_Tender]) -> list[Tx]:
        """Every bond back to its bidder, or to the buyer when forfeited."""
        tender = self.abi["Tender"]
        txs = []
        for t in cohort:
            for n, bid in enumerate(t.bids):
                if t.winner is bid:
                    continue  # returned with the acceptance
                if t.cancel or bid.reveals:
                    txs.append(
                        tender.tx(
                            bid.bidder, t.address, "withdrawBond", label=f"withdrawBond #{t.number}"
                        )
                    )
                else:
                    txs.append(
                        tender.tx(
                            self.executor(n),
                            t.address,
                            "claimForfeitedBond",
                            bid.bidder,
                            label=f"claimForfeitedBond #{t.number}",
                        )
                    )
        return txs

    def milestones(self, index: int, awarded: list[_Tender]) -> None:
        """Every milestone of every agreement, pipelined (an agreement's milestones do not
        depend on each other): all on-time deliveries in one block; then, month by month, the
        clock moves past that month's latest due date plus two days and one block carries that
        month's late deliveries while every delivery made before takes its next step:
        acceptance; or rejection, resubmission and acceptance; or the buyer's dispute and the
        consortium's resolution. About eight blocks for all milestones instead of four a month:
        the node's cost per block grows with its state, so blocks are what a long history makes
        dear."""
        items = [(t, k) for t in awarded for k in range(len(t.milestones))]
        if not items:
            return
        dues = self.views("Agreement", [(t.agreement, "milestone", (k,)) for t, k in items])
        gates: dict[int, int] = {}
        for (_t, k), (m,) in zip(items, dues, strict=True):
            gates[k] = max(gates.get(k, 0), int(m[1]) + 2 * DAY)
        chains = {(t.number, k): self.decisions(t, k, n) for n, (t, k) in enumerate(items)}
        late: dict[int, list[tuple[_Tender, int]]] = {}
        for t, k in items:
            if t.milestones[k].late:
                late.setdefault(k, []).append((t, k))
        months = sorted(late)  # months with late deliveries, each behind its clock gate
        active = [(t, k) for t, k in items if not t.milestones[k].late]
        self.send([self.delivery(t, k, "delivery") for t, k in active])
        self.progress(index, "deliveries")
        while active or months:
            txs = [chains[(t.number, k)].pop(0) for t, k in active]
            active = [(t, k) for t, k in active if chains[(t.number, k)]]
            if months:
                month = months.pop(0)
                self.move_past(gates[month])
                txs += [self.delivery(t, k, "delivery") for t, k in late[month]]
                active += late[month]
            self.send(txs)

    def delivery(self, t: _Tender, k: int, note: str) -> Tx:
        """The supplier submits milestone ``k`` of ``t``'s agreement."""
        return self.abi["Agreement"].tx(
            self.supplier(t),
            t.agreement,
            "submit",
            k,
            keccak(text=f"evidence {t.number} {k} {note}"),
            f"https://city.example/tenders/{t.number}/milestone-{k + 1}/{note}.pdf",
            label=f"submit #{t.number}.{k + 1}",
        )

    def decisions(self, t: _Tender, k: int, n: int) -> list[Tx]:
        """What follows milestone ``k``'s delivery, one step per block, as drawn: acceptance;
        rejection, resubmission, acceptance; or the buyer's dispute and its resolution."""
        agreement = self.abi["Agreement"]
        m = t.milestones[k]
        reject, dispute = catalog.reason("reject"), catalog.reason("dispute")

        def decide(method: str, *args: Any) -> Tx:
            data = agreement.calldata(method, *args)
            return self.decide(t.agreement, data, self.executor(n), f"{method} #{t.number}.{k + 1}")

        if m.outcome == "reject":
            return [
                decide("rejectMilestone", k, reject),
                self.delivery(t, k, "resubmitted"),
                decide("acceptMilestone", k),
            ]
        if m.outcome == "dispute":
            return [
                agreement.tx(t.agency, t.agreement, "dispute", k, dispute,
                             label=f"dispute #{t.number}.{k + 1}"),
                decide("resolveDispute", k, m.split_bps, catalog.reason("resolve")),
            ]  # fmt: skip
        return [decide("acceptMilestone", k)]

    def close(self, awarded: list[_Tender]) -> None:
        """After the warranty: retention released (where some is held), credits withdrawn."""
        agreement = self.abi["Agreement"]
        statuses = self.views("Agreement", [(t.agreement, "status", ()) for t in awarded])
        holding = [t for t, (status,) in zip(awarded, statuses, strict=True) if status == 1]
        release: list[Tx] = []
        releasing = {t.number for t in holding}
        if holding:
            ends = self.views("Agreement", [(t.agreement, "warrantyEndsAt", ()) for t in holding])
            self.move_past(max(int(e[0]) for e in ends))
            release = [
                agreement.tx(self.supplier(t), t.agreement, "releaseRetention",
                             label=f"releaseRetention #{t.number}")
                for t in holding
            ]  # fmt: skip
        parties = [(t, p) for t in awarded for p in (t.agency, self.supplier(t))]
        credits = self.views("Agreement", [(t.agreement, "creditOf", (p,)) for t, p in parties])
        # a supplier's release goes before its withdrawal (one sender's transactions keep
        # their order), so both fit in one block
        self.send(
            [
                *release,
                *(
                    agreement.tx(p, t.agreement, "withdraw", label=f"withdraw #{t.number}")
                    for (t, p), (credit,) in zip(parties, credits, strict=True)
                    if credit or (t.number in releasing and p == self.supplier(t))
                ),
            ]
        )

    # ------------------------------------------------------------------ checks

    def stranded(self, tenders: list[_Tender]) -> int:
        holders = [t.address for t in tenders] + [t.agreement for t in tenders if t.agreement]
        found = self.views("DemoStablecoin", [(self.token, "balanceOf", (h,)) for h in holders])
        return sum(int(b) for (b,) in found)


def simulate(
    config: SimulationConfig,
    report: Callable[[Progress], None] = lambda _p: None,
    audit_check: bool = True,
) -> SimulationResult:
    """Run ``config.tenders`` complete procurements on the connected devnet, then verify the
    public record; returns counts, timings and the audit's verdict.

    Raises:
        ProcurechainError: not a local devnet, members' keys not held, or a transaction
            failed (the message names it).
    """
    from procurechain.devnet import require_devnet

    config.check()
    require_devnet("the simulation (it moves the clock)")
    started = time.perf_counter()
    city = _City(config, report)
    result = SimulationResult(deployed=city.setup())
    result.registry = city.registry
    result.setup_seconds = time.perf_counter() - started
    city.progress(0, "ready", advance=False)
    tenders = [_draw(city.rng, n + 1, city.agencies, city.bidders) for n in range(config.tenders)]
    for t in tenders:  # the agency of tender t is the department of the same index
        t.department = DEPARTMENTS[city.agencies.index(t.agency)]
    all_done: list[_Tender] = []
    run_started = time.perf_counter()
    for index in range(city.cohorts):
        cohort = tenders[index * config.cohort : (index + 1) * config.cohort]
        before, cpu, mined = time.perf_counter(), time.process_time(), city.sender.mined
        first_block = city.block_number()
        city.run_cohort(index + 1, cohort)
        result.cohorts.append(
            CohortTiming(
                first_tender=cohort[0].number,
                tenders=len(cohort),
                seconds=time.perf_counter() - before,
                transactions=city.sender.mined - mined,
                cpu_seconds=time.process_time() - cpu,
                blocks=city.block_number() - first_block,
            )
        )
        all_done.extend(cohort)
    result.seconds = time.perf_counter() - run_started
    result.transactions = sum(c.transactions for c in result.cohorts)
    result.tenders = len(all_done)
    for t in all_done:
        result.outcomes[t.outcome] = result.outcomes.get(t.outcome, 0) + 1
        if t.agreement:
            for m in t.milestones:
                key = "late" if m.late else "on time"
                result.milestones[key] = result.milestones.get(key, 0) + 1
                result.milestones[m.outcome] = result.milestones.get(m.outcome, 0) + 1
    result.stranded = city.stranded(all_done)
    if audit_check:
        _audit(city, result)
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _audit(city: _City, result: SimulationResult) -> None:
    """``audit verify`` and the token totals over the whole history of the registry."""
    from procurechain import audit
    from procurechain.deployments import read_manifest

    started = time.perf_counter()
    manifest = read_manifest() or {"contracts": {}}
    first = min((int(c.get("block", 0)) for c in manifest["contracts"].values()), default=0)
    log = audit.collect(city.registry, city.consortium, scan_from=first)
    result.differences = [str(d) for d in audit.verify(log)]
    result.flows_matching = all(f.matches for f in audit.reconcile(log))
    result.audit_events = len(log.entries)
    result.audit_seconds = time.perf_counter() - started
