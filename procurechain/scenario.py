"""The reference scenario: City Parks buys 40 park benches, end to end, on a devnet.

Consortium of five (3 of 5, an auditor must sign milestone acceptance), the technical expert
recused from one bidder, three bidders (one above budget, one never reveals and loses its
bond), award by a signed proposal bundle, acceptance, funding by permit, three milestones
(the second late, the third disputed and resolved), retention released after the warranty,
bonds and credits withdrawn. Every consortium decision is a real bundle signed by the
members' accounts and saved under ``out/proposals``.

The scenario moves the devnet's clock, so it runs only on a local devnet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import keccak

from procurechain import agreement as ag
from procurechain import consortium as cs
from procurechain import display
from procurechain import tender as td
from procurechain.calls import Call
from procurechain.deploy import deploy_suite, devnet_config
from procurechain.deployments import deployed, is_live, read_manifest
from procurechain.devnet import move_to, require_devnet
from procurechain.errors import ProcurechainError
from procurechain.files import write_atomic
from procurechain.record import notice as nt
from procurechain.record.content import publish

__all__ = ["DAY", "DUSD", "ScenarioResult", "Step", "run_reference"]

DUSD = 10**6
DAY = 24 * 3600
#: The reference tender's notice and documents (examples/benches in the repository).
BENCHES = Path(__file__).resolve().parent.parent / "examples" / "benches"


@dataclass(frozen=True)
class Step:
    """One thing somebody did, as the demo prints it."""

    actor: str
    action: str
    gas: int = 0
    tx: str = ""


@dataclass
class ScenarioResult:
    """What the scenario produced: addresses, steps, final balances, names of accounts."""

    addresses: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)
    minted: int = 0
    names: dict[str, str] = field(default_factory=dict)
    records: dict[str, Path] = field(default_factory=dict)

    @property
    def total_gas(self) -> int:
        return sum(step.gas for step in self.steps)


class _Run:
    def __init__(self, out: Path, report: Callable[[Step], None]) -> None:
        from ape import accounts

        self.out = out
        self.report = report
        self.result = ScenarioResult()
        test = accounts.test_accounts
        self.deployer = test[0]
        self.agency, self.auditor, self.citizen, self.technical, self.legal = test[1:6]
        self.winner, self.above_budget, self.silent = test[6], test[7], test[8]
        self.names = {
            str(self.deployer.address): "deployer",
            str(self.agency.address): "City Parks (agency)",
            str(self.auditor.address): "Auditor",
            str(self.citizen.address): "Citizen rep",
            str(self.technical.address): "Technical expert",
            str(self.legal.address): "Legal expert",
            str(self.winner.address): "Benchworks Ltd",
            str(self.above_budget.address): "Luxury Seating",
            str(self.silent.address): "Quiet Bidder",
        }
        self.result.names = dict(self.names)
        self.proposals = 0

    def name(self, account: Any) -> str:
        address = str(getattr(account, "address", account))
        return self.names.get(address, address)

    def record(self, actor: Any, action: str, receipt: Any = None) -> None:
        gas = int(receipt.gas_used) if receipt is not None else 0
        tx = str(receipt.txn_hash) if receipt is not None else ""
        step = Step(self.name(actor) if not isinstance(actor, str) else actor, action, gas, tx)
        self.result.steps.append(step)
        self.report(step)

    def say(self, author: Any, text: str) -> bytes:
        """Put ``text`` on the record (once) and return its hash, for a decision to name."""
        digest, receipt = publish(self.registry, author, text)
        if receipt is not None:
            self.record(author, f"put on the record: {text}", receipt)
        return digest

    def travel_past(self, timestamp: int, extra: int = 0) -> None:
        """Move the devnet clock just past ``timestamp`` (plus ``extra`` seconds)."""
        move_to(int(timestamp) + 1 + extra)

    def decide(self, call: Call, signers: list[Any], bundle: str) -> Any:
        """A consortium decision: propose, sign one by one, save the bundle, execute."""
        consortium = self.consortium
        proposal = cs.propose(consortium, call)
        path = self.out / "proposals" / f"{bundle}.json"
        for signer in signers:
            cs.sign(proposal, consortium, signer)
            proposal.save(path)
        state = cs.status(proposal, consortium)
        for member in state.recused:
            self.record(
                self.name(member), f"is recused from '{call.description}' (declared conflict)"
            )
        receipt = cs.execute(proposal, consortium, self.agency)
        counted = ", ".join(self.name(a) for a in state.counted)
        self.record("Consortium", f"{call.description} — signed by {counted}", receipt)
        return receipt

    # ------------------------------------------------------------------ the story
    # Every stage looks at the chain first and does only what is not done yet, so a run
    # that was interrupted (or a node that was restarted) continues where the chain is.

    def deploy(self) -> None:
        manifest = read_manifest()
        if manifest is not None and is_live(manifest):
            self.record(self.deployer, "found the suite deployed on this chain; continuing")
        else:
            manifest = deploy_suite(self.deployer, devnet_config(), force=True)
            self.record(
                self.deployer, "deployed the consortium (3 of 5), registry, escrow and dUSD"
            )
        self.consortium = deployed("Consortium")
        self.registry = deployed("Registry")
        self.token = deployed("Token")
        self.result.addresses.update({k: v["address"] for k, v in manifest["contracts"].items()})
        self.result.minted = int(self.token.totalSupply())
        if self.result.minted == 0:
            for account, amount in (
                (self.agency, 60_000),
                (self.winner, 1_000),
                (self.above_budget, 1_000),
                (self.silent, 1_000),
            ):
                self.token.mint(account, amount * DUSD, sender=self.deployer)
            self.result.minted = int(self.token.totalSupply())
            self.record(self.deployer, "minted dUSD: 60,000 to City Parks, 1,000 to each bidder")

    def publish(self) -> None:
        from ape import chain

        if bytes(self.consortium.conflictOf(self.technical, self.winner)) == bytes(32):
            reason = self.say(
                self.technical,
                "I advised Benchworks Ltd on its bench designs in 2025, so I do not decide on "
                "its bids or its contract.",
            )
            receipt = self.consortium.declareConflict(self.winner, reason, sender=self.technical)
            self.record(
                self.technical, "declared a conflict of interest with Benchworks Ltd", receipt
            )
        if self.registry.tenderCount() >= 1:
            self.tender = td.tender_at(self.registry.tenderOf(1))
            self.plan = td.published_plan(self.registry, self.tender)
            self.result.addresses["Tender"] = str(self.tender.address)
            return
        now = int(chain.pending_timestamp)
        notice = nt.load(BENCHES / "notice.yaml")
        self.plan = tuple(
            td.Milestone(share, days * DAY, notice.milestone_hash(i))
            for i, (share, days) in enumerate(((4_000, 30), (4_000, 60), (2_000, 90)))
        )
        spec = td.TenderSpec(
            token=str(self.token.address),
            budget=50_000 * DUSD,
            bond=500 * DUSD,
            bidding_deadline=now + 7 * DAY,
            reveal_deadline=now + 10 * DAY,
            acceptance_window=5 * DAY,
            notice=notice.encode(),
            plan=self.plan,
            retention_bps=500,
            warranty_period=90 * DAY,
            late_penalty_bps_per_day=10,
            late_penalty_cap_bps=1_000,
        )
        tender_id, self.tender, receipt = td.create_tender(self.registry, self.agency, spec)
        self.result.addresses["Tender"] = str(self.tender.address)
        self.record(
            self.agency,
            f"published tender {self.registry.ocid(tender_id)}: 40 benches, budget 50,000 dUSD, "
            "bond 500 dUSD",
            receipt,
        )

    def stage(self) -> td.Stage:
        return td.Stage(self.tender.stage())

    def bid(self) -> None:
        from ape import chain

        bids = (
            (self.winner, 42_500, True),
            (self.above_budget, 55_000, False),
            (self.silent, 45_000, False),
        )
        if self.stage() == td.Stage.BIDDING:
            deadline = int(chain.pending_timestamp) + DAY
            for bidder, price, permit in bids:
                if self.tender.bidOf(bidder)[0]:
                    continue
                if not permit and self.token.allowance(bidder, self.tender) < 500 * DUSD:
                    self.token.approve(self.tender, 500 * DUSD, sender=bidder)
                receipt = td.commit_bid(
                    self.tender,
                    bidder,
                    price * DUSD,
                    keccak(text=f"bid documents of {self.name(bidder)}"),
                    permit_deadline=deadline if permit else None,
                    allow_above_budget=True,
                )
                how = "with a permit (one transaction)" if permit else "after an approval"
                self.record(bidder, f"committed a sealed bid and the 500 dUSD bond {how}", receipt)
            self.travel_past(self.tender.biddingDeadline())
        if self.stage() == td.Stage.REVEAL:
            for bidder, price, _ in bids[:2]:
                if self.tender.bidOf(bidder)[1]:
                    continue
                receipt = td.reveal_bid(
                    self.tender,
                    bidder,
                    price * DUSD,
                    keccak(text=f"bid documents of {self.name(bidder)}"),
                    nonce=0,
                )
                validity = "valid" if price <= 50_000 else "invalid: above the budget"
                shown = display.money(price * DUSD, 6, "dUSD")
                self.record(bidder, f"revealed {shown} ({validity})", receipt)
            self.record(self.silent, "never revealed its bid")
            self.travel_past(self.tender.revealDeadline())

    def award(self) -> None:
        if self.stage() == td.Stage.EVALUATION:
            report = self.say(
                self.agency,
                "Award report: 3 sealed bids. Benchworks Ltd bid 42,500.00 dUSD, the lowest "
                "valid price. Luxury Seating bid 55,000.00 dUSD, above the 50,000.00 dUSD "
                "budget, so its bid is invalid. Quiet Bidder never revealed its bid and "
                "forfeits its bond. Award to Benchworks Ltd at 42,500.00 dUSD.",
            )
            call = td.award_call(self.tender, str(self.winner.address), report)
            self.decide(call, [self.agency, self.technical, self.citizen, self.legal], "01-award")
        if self.stage() == td.Stage.AWARDED:
            receipt = td.accept_award(self.tender, self.winner, self.plan)
            self.record(
                self.winner, "accepted the award; the escrow agreement was created", receipt
            )
        self.agreement = ag.agreement_at(self.tender.agreement())
        self.result.addresses["Agreement"] = str(self.agreement.address)
        if not self.tender.bidOf(self.silent)[4]:
            receipt = td.claim_forfeited_bond(self.tender, str(self.silent.address), self.agency)
            self.record(self.agency, "collected the Quiet Bidder's forfeited bond", receipt)
        if not self.tender.bidOf(self.above_budget)[4]:
            receipt = td.withdraw_bond(self.tender, self.above_budget)
            self.record(self.above_budget, "withdrew its bond", receipt)

    def milestone(self, index: int) -> ag.MilestoneState:
        return ag.MilestoneState(self.agreement.milestone(index).state)

    def deliver(self) -> None:
        pending, submitted = ag.MilestoneState.PENDING, ag.MilestoneState.SUBMITTED
        if ag.AgreementStatus(self.agreement.status()) == ag.AgreementStatus.UNFUNDED:
            receipt = ag.fund(self.agreement, self.agency, use_permit=True)
            self.record(self.agency, "funded the escrow with 42,500.00 dUSD by permit", receipt)
        trio = [self.auditor, self.agency, self.citizen]

        if self.milestone(0) == pending:
            receipt = ag.submit(
                self.agreement,
                self.winner,
                0,
                self.say(self.winner, "Delivery note 1: 20 benches delivered to the park depot."),
                "",
            )
            self.record(
                self.winner, "submitted milestone 1 (20 benches delivered), on time", receipt
            )
        if self.milestone(0) == submitted:
            self.decide(ag.accept_call(self.agreement, 0), trio, "02-accept-1")

        if self.milestone(1) == pending:
            self.travel_past(self.agreement.milestone(1).dueDate, extra=2 * DAY)
            receipt = ag.submit(
                self.agreement,
                self.winner,
                1,
                self.say(self.winner, "Delivery note 2: 20 more benches delivered to the depot."),
                "",
            )
            self.record(
                self.winner, "submitted milestone 2 (20 more benches), 3 days late", receipt
            )
        if self.milestone(1) == submitted:
            self.decide(ag.accept_call(self.agreement, 1), trio, "03-accept-2")

        if self.milestone(2) == pending:
            self.travel_past(self.agreement.milestone(2).dueDate - 5 * DAY)
            receipt = ag.submit(
                self.agreement,
                self.winner,
                2,
                self.say(
                    self.winner, "Installation report: all 40 benches installed, old ones removed."
                ),
                "",
            )
            self.record(self.winner, "submitted milestone 3 (installation and inspection)", receipt)
        if self.milestone(2) == submitted:
            reason = self.say(
                self.agency,
                "4 of the 40 benches are not anchored to their footings; they can be tipped over.",
            )
            receipt = ag.dispute(self.agreement, self.agency, 2, reason)
            self.record(self.agency, "disputed milestone 3: 4 benches not anchored", receipt)
        if self.milestone(2) == ag.MilestoneState.DISPUTED:
            reason = self.say(
                self.legal,
                "Resolution: 36 of 40 benches are installed as specified; the 4 loose benches "
                "are anchored by the park's own crew. 80% of the milestone is paid.",
            )
            resolve = ag.resolve_call(self.agreement, 2, 8_000, reason)
            self.decide(resolve, [self.legal, self.auditor, self.citizen], "04-resolve-3")

    def close(self) -> None:
        if ag.AgreementStatus(self.agreement.status()) == ag.AgreementStatus.ACTIVE:
            self.travel_past(self.agreement.warrantyEndsAt())
            receipt = ag.release_retention(self.agreement, self.winner)
            self.record(self.winner, "released the retention after the 90-day warranty", receipt)
        for account in (self.winner, self.agency):
            if self.agreement.creditOf(account):
                receipt = ag.withdraw(self.agreement, account)
                self.record(account, "withdrew its credit from the escrow", receipt)
        if not self.tender.bidOf(self.winner)[4]:
            receipt = td.withdraw_bond(self.tender, self.winner)
            self.record(self.winner, "withdrew its bond", receipt)

    def balances(self) -> None:
        holders = {
            "City Parks (agency)": self.agency,
            "Benchworks Ltd": self.winner,
            "Luxury Seating": self.above_budget,
            "Quiet Bidder": self.silent,
            "Tender contract": self.tender,
            "Agreement escrow": self.agreement,
        }
        self.result.balances = {name: int(self.token.balanceOf(a)) for name, a in holders.items()}

    def publish_record(self) -> None:
        """The public record from chain events: audit log (JSON lines, CSV) and OCDS (per
        process a release package and a record package, and one release package of all)."""
        from procurechain import audit
        from procurechain.record import packages

        log = audit.collect(self.registry, self.consortium, names=self.names)
        # dUSD is the devnet's DemoStablecoin, a test token pegged to USD by design.
        ocds = packages.export(
            log,
            self.registry,
            names=self.names,
            pegged_to="USD",
            token_description="the devnet's test stablecoin",
        )
        ocid = str(self.registry.ocid(1))
        self.result.records = {
            "audit log (jsonl)": self.out / "audit.jsonl",
            "audit log (csv)": self.out / "audit.csv",
            "OCDS release package": self.out / "ocds-release-package.json",
            "OCDS releases of the benches": self.out / "ocds" / ocid / "releases.json",
            "OCDS record of the benches": self.out / "ocds" / ocid / "record.json",
        }
        paths = list(self.result.records.values())
        write_atomic(paths[0], audit.to_jsonl(log))
        write_atomic(paths[1], audit.to_csv(log))
        write_atomic(paths[2], json.dumps(ocds.combined, indent=2, ensure_ascii=False) + "\n")
        packages.write(ocds, self.out / "ocds")


STAGES = ("deploy", "publish", "bid", "award", "deliver", "close")


def run_reference(
    out: str | Path = "out/demo",
    report: Callable[[Step], None] = lambda _step: None,
    stop_after: str | None = None,
) -> ScenarioResult:
    """Run the reference scenario on the connected devnet; returns what happened.

    Re-running continues from the chain's state: each stage does only what is not done yet.

    Args:
        out: folder for the proposal bundles, ``scenario.json``, the audit log
            (``audit.jsonl``, ``audit.csv``), ``ocds-release-package.json`` and, per process,
            ``ocds/<ocid>/releases.json`` and ``record.json``.
        report: called with every step as it happens (progress display).
        stop_after: end after this stage (one of :data:`STAGES`), as an interruption would.
    """
    if stop_after is not None and stop_after not in STAGES:
        raise ProcurechainError(f"unknown stage {stop_after!r}; use one of {', '.join(STAGES)}")
    require_devnet("the reference scenario (it moves the clock)")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    run = _Run(folder, report)
    for name in STAGES:
        getattr(run, name)()
        if name == stop_after:
            return run.result
    run.balances()
    run.publish_record()
    write_atomic(
        folder / "scenario.json",
        json.dumps(
            {
                "addresses": run.result.addresses,
                "steps": [asdict(s) for s in run.result.steps],
                "balances": run.result.balances,
                "minted": run.result.minted,
            },
            indent=2,
        )
        + "\n",
    )
    return run.result
