"""Gas as tenders and agreements grow: nothing a bidder or the consortium pays may grow.

Bidders: four tenders that end with 1, 10, 100 and 500 bidders. Every bidder is a fresh
account that holds exactly the bond and commits once with a permit, so each commit pays the
same token-side costs; prices fall with every bidder, so every reveal takes the lead (the
dearer path). Each point is the gas of the *last* commit and the *last* reveal into that
tender, and of the award (a 3-of-5 consortium decision) once its bids are all revealed.

Milestones: agreements with 1, 10 and 50 milestones created through
``TestAgreementFactory`` (the Registry caps a plan at 32; the Agreement allows 50), with the
deployed consortium as their authority. Points: accepting milestone 0 (for a 1-milestone
agreement that is also the last one) and accepting the final milestone (the acceptance that
completes the agreement and starts the warranty), both as 3-of-5 decisions with the auditor.

Expects the suite deployed (``bench.lifecycle_gas.run`` leaves it in the manifest folder
given to :func:`run`).
"""

from __future__ import annotations

from typing import Any

from ape import accounts, chain, project
from eth_utils import keccak

from procurechain import agreement as ag
from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.bids import commitment
from procurechain.calls import Call
from procurechain.deployments import deployed, read_manifest
from procurechain.devnet import move_to
from procurechain.permit import sign_permit

DUSD = 10**6
DAY = 86_400
BOND = 100 * DUSD
BUDGET = 90_000 * DUSD
BIDDERS = (1, 10, 100, 500)
MILESTONES = (1, 10, 50)
PLAN = (td.Milestone(10_000, 60 * DAY, keccak(text="all of it")),)


def _decide(call: Call, signers: list[Any]) -> int:
    consortium = deployed("Consortium")
    proposal = cs.propose(consortium, call)
    for signer in signers:
        cs.sign(proposal, consortium, signer)
    return int(cs.execute(proposal, consortium, signers[0]).gas_used)


def _tender(agency: Any, token: Any) -> Any:
    now = int(chain.blocks.head.timestamp)
    spec = td.TenderSpec(
        token=str(token.address),
        budget=BUDGET,
        bond=BOND,
        bidding_deadline=now + 7 * DAY,
        reveal_deadline=now + 10 * DAY,
        acceptance_window=5 * DAY,
        notice="scaling benchmark",
        plan=PLAN,
    )
    return td.create_tender(deployed("Registry"), agency, spec).tender


def bidders_series(progress: Any = None) -> dict[str, dict[int, int]]:
    """Gas of the last commit, the last reveal and the award, per number of bidders."""
    test = accounts.test_accounts
    deployer, agency, citizen, legal = test[0], test[1], test[3], test[5]
    token = deployed("Token")
    tenders = {n: _tender(agency, token) for n in BIDDERS}
    chain_id = chain.chain_id
    openings: dict[int, list[tuple[Any, tuple[int, bytes, bytes]]]] = {n: [] for n in BIDDERS}
    commit, reveal, award = {}, {}, {}
    for n, tender in tenders.items():
        for i in range(n):
            bidder = test.generate_test_account()
            chain.set_balance(bidder.address, 10**19)
            token.mint(bidder, BOND, sender=deployer)
            price = BUDGET - i * DUSD
            salt = keccak(text=f"salt {n} {i}")
            doc = keccak(text=f"bid {n} {i}")
            sealed = commitment(chain_id, str(tender.address), bidder.address, price, salt, doc)
            deadline = int(chain.blocks.head.timestamp) + DAY
            v, r, s = sign_permit(token, bidder, str(tender.address), BOND, deadline)
            receipt = tender.commitBidWithPermit(sealed, deadline, v, r, s, sender=bidder)
            commit[n] = int(receipt.gas_used)
            openings[n].append((bidder, (price, salt, doc)))
            if progress:
                progress()
    move_to(int(tenders[BIDDERS[0]].biddingDeadline()) + 1)
    for n, tender in tenders.items():
        for bidder, opening in openings[n]:
            reveal[n] = int(tender.revealBid(*opening, sender=bidder).gas_used)
            if progress:
                progress()
    move_to(int(tenders[BIDDERS[0]].revealDeadline()) + 1)
    for n, tender in tenders.items():
        leader = str(openings[n][-1][0].address)
        call = td.award_call(tender, leader, keccak(text="lowest valid price"))
        award[n] = _decide(call, [agency, citizen, legal])
    return {"commit bid with permit": commit, "reveal bid": reveal, "award": award}


def milestones_series() -> dict[str, dict[int, int]]:
    """Gas of accepting milestone 0 and the final milestone, per plan length."""
    test = accounts.test_accounts
    deployer, agency, auditor, citizen = test[0], test[1], test[2], test[3]
    supplier = test[6]
    token = deployed("Token")
    manifest = read_manifest()
    implementation = manifest["contracts"]["AgreementImplementation"]["address"]
    factory = deployer.deploy(project.TestAgreementFactory, implementation)
    consortium = deployed("Consortium")
    first, final = {}, {}
    price = 50_000 * DUSD
    terms = (500, 90 * DAY, 10, 1_000)
    for count in MILESTONES:
        shares = [10_000 // count] * count
        shares[-1] += 10_000 - sum(shares)
        plan = [(share, (i + 1) * 30 * DAY, keccak(text=f"m{i}")) for i, share in enumerate(shares)]
        receipt = factory.create(
            consortium, agency, supplier, token, price, terms, plan, sender=deployer
        )
        agreement = ag.agreement_at(receipt.events.filter(factory.AgreementCreated)[0].agreement)
        token.mint(agency, price, sender=deployer)
        ag.fund(agreement, agency)
        trio = [auditor, agency, citizen]
        for index in range(count):
            agreement.submit(index, keccak(text=f"e{index}"), f"ipfs://e{index}", sender=supplier)
            gas = _decide(ag.accept_call(agreement, index), trio)
            if index == 0:
                first[count] = gas
            if index == count - 1:
                final[count] = gas
    return {"accept milestone 0": first, "accept the final milestone": final}


def run(progress: Any = None) -> dict[str, Any]:
    """Both series (gas units), keyed by series name, then by size."""
    return {"bidders": bidders_series(progress), "milestones": milestones_series()}


def _series(title: str, unit: str, series: dict[str, dict[int, int]]) -> list[str]:
    sizes = sorted({size for points in series.values() for size in points})
    header = " | ".join(f"{size} {unit}" for size in sizes)
    lines = [
        title,
        "",
        f"| operation | {header} | max ratio |",
        "| --- |" + " ---: |" * (len(sizes) + 1),
    ]
    for name, points in series.items():
        base = points[sizes[0]] if sizes[0] in points else points[min(points)]
        cells = [
            f"{points[size]:,} ({points[size] / base:.3f})" if size in points else "—"
            for size in sizes
        ]
        worst = max(points[size] / base for size in points)
        lines.append(f"| {name} | {' | '.join(cells)} | {worst:.3f} |")
    return [*lines, ""]


def markdown(result: dict[str, Any]) -> list[str]:
    bidders = result["bidders"]
    commits = bidders["commit bid with permit"]
    later = [gas for n, gas in commits.items() if n > 1]
    spread = max(later) / min(later)
    first_extra = commits[1] - min(later)
    return [
        "## Scaling",
        "",
        "Gas, with the ratio to the first point. Bid and award gas must stay within 1.02 of",
        "the first point; no function loops over bids, milestones or members (except the",
        "consortium, which checks one signature per signer, like Safe).",
        "",
        *_series("Bidders per tender (last commit, last reveal, award):", "bidders", bidders),
        f"The 1-bidder commit is the first into its tender: it pays {first_extra:,} gas more,",
        "for the token's new balance slot of the tender (zero to non-zero, 17,100 gas) less",
        "calldata differences. From the 10th bidder to the 500th, commits differ by a factor",
        f"of {spread:.4f}.",
        "",
        *_series(
            "Milestones per agreement (3-of-5 consortium decision with the auditor):",
            "milestones",
            result["milestones"],
        ),
        "The 1-milestone agreement's only acceptance is both milestone 0 and the final one, and",
        "writes the agreement's credit and retention slots for the first time (zero to",
        "non-zero); the 10- and 50-milestone agreements pay that at milestone 0 and complete",
        "at a later, cheaper acceptance. Between 10 and 50 milestones nothing changes.",
        "",
    ]
