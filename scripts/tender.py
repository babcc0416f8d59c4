"""Agencies and the public: publish, list and show tenders; propose consortium decisions.

ape run tender create --account TEST::1 --budget 50000 --bond 500 --milestone 40:30:"20 benches"
ape run tender list
ape run tender show 0xTENDER
ape run tender propose-award 0xTENDER 0xBIDDER --report report.pdf --out award.json
ape run tender propose-disqualify 0xTENDER 0xBIDDER --reason "no insurance" --out dq.json
ape run tender propose-cancel 0xTENDER --reason "budget withdrawn" --out cancel.json
ape run tender claim-rank 0xTENDER 0xBIDDER --account ...
ape run tender record-lapse 0xTENDER --account ...
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.api import AccountAPI
from ape.cli import ConnectedProviderCommand, account_option
from eth_utils import keccak

from procurechain import tender as td
from procurechain.calls import Call
from procurechain.cli import one_line_errors, out_option, parse_amount, write_proposal
from procurechain.deployments import contract_at, deployed

registry_option = click.option(
    "--registry", "registry_address", default=None, help="Registry (default: the manifest's)."
)
consortium_option = click.option(
    "--consortium",
    "consortium_address",
    default=None,
    help="Consortium (default: the manifest's).",
)
tender_argument = click.argument("tender_address", metavar="TENDER")


def _hash_of(text: str | None, path: Path | None) -> bytes:
    if path is not None:
        return keccak(path.read_bytes())
    return keccak(text=text or "")


def _parse_milestone(text: str, index: int) -> td.Milestone:
    """``PERCENT:DAYS:DESCRIPTION`` -> a Milestone (share in bps, due offset in seconds)."""
    parts = text.split(":", 2)
    if len(parts) != 3:
        raise click.BadParameter(
            f"milestone {index} is {text!r}; write PERCENT:DAYS:DESCRIPTION, e.g. 40:30:benches"
        )
    try:
        share_bps = round(float(parts[0]) * 100)
        due = int(float(parts[1]) * 86400)
    except ValueError as err:
        raise click.BadParameter(f"milestone {index}: {text!r} has a non-numeric part") from err
    return td.Milestone(share_bps, due, keccak(text=parts[2]))


def _propose(consortium_address: str | None, call: Call, out: Path) -> None:
    write_proposal(deployed("Consortium", consortium_address), call, out)


@click.group()
def cli() -> None:
    """Tenders: publish, list, show; consortium proposals for award, disqualify, cancel."""


@cli.command(cls=ConnectedProviderCommand)
@registry_option
@account_option()
@click.option("--token", "token_address", default=None, help="ERC-20 (default: dUSD).")
@click.option("--budget", required=True, help="Budget ceiling in tokens, e.g. 50000.")
@click.option("--bond", required=True, help="Bid bond in tokens, e.g. 500.")
@click.option("--bidding-hours", default=7 * 24.0, show_default=True, type=float)
@click.option("--reveal-hours", default=2 * 24.0, show_default=True, type=float)
@click.option("--acceptance-hours", default=3 * 24.0, show_default=True, type=float)
@click.option("--method", type=click.Choice(["lowest-price", "evaluation"]), default="lowest-price")
@click.option("--retention-bps", default=0, type=click.IntRange(0, 10_000))
@click.option("--warranty-days", default=0.0, type=float)
@click.option("--penalty-bps-per-day", default=0, type=click.IntRange(0, 10_000))
@click.option("--penalty-cap-bps", default=0, type=click.IntRange(0, 10_000))
@click.option("--documents", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--milestone",
    "milestones",
    multiple=True,
    required=True,
    help="PERCENT:DAYS:DESCRIPTION (repeat; percents sum to 100).",
)
@one_line_errors
def create(
    registry_address: str | None,
    account: AccountAPI,
    token_address: str | None,
    budget: str,
    bond: str,
    bidding_hours: float,
    reveal_hours: float,
    acceptance_hours: float,
    method: str,
    retention_bps: int,
    warranty_days: float,
    penalty_bps_per_day: int,
    penalty_cap_bps: int,
    documents: Path | None,
    milestones: tuple[str, ...],
) -> None:
    """Publish a tender as a buying agency."""
    from ape import chain

    registry = deployed("Registry", registry_address)
    token = deployed("Token", token_address)
    decimals = int(token.decimals())
    now = int(chain.blocks.head.timestamp)
    bidding = now + int(bidding_hours * 3600)
    plan = tuple(_parse_milestone(text, n + 1) for n, text in enumerate(milestones))
    spec = td.TenderSpec(
        token=str(token.address),
        budget=parse_amount(budget, decimals),
        bond=parse_amount(bond, decimals),
        bidding_deadline=bidding,
        reveal_deadline=bidding + int(reveal_hours * 3600),
        acceptance_window=int(acceptance_hours * 3600),
        documents_hash=_hash_of(None, documents) if documents else b"\x00" * 32,
        plan=plan,
        method=td.AwardMethod[method.upper().replace("-", "_")],
        retention_bps=retention_bps,
        warranty_period=int(warranty_days * 86400),
        late_penalty_bps_per_day=penalty_bps_per_day,
        late_penalty_cap_bps=penalty_cap_bps,
    )
    tender_id, tender, _ = td.create_tender(registry, account, spec)
    click.echo(f"Published tender {tender_id} ({registry.ocid(tender_id)}) at {tender.address}")
    click.echo(f"  bids until {spec.bidding_deadline}, reveals until {spec.reveal_deadline}")


@cli.command(name="list", cls=ConnectedProviderCommand)
@registry_option
@click.option("--agency", default=None, help="Only this agency's tenders.")
@one_line_errors
def list_(registry_address: str | None, agency: str | None) -> None:
    """List tenders, newest first."""
    registry = deployed("Registry", registry_address)
    rows = td.list_tenders(registry, agency)
    if not rows:
        click.echo("No tenders yet.")
    for tender_id, ocid, tender in rows:
        stage = td.Stage(tender.stage()).label
        click.echo(f"{tender_id:>5}  {ocid:<24} {tender.address}  {stage}")


@cli.command(cls=ConnectedProviderCommand)
@tender_argument
@one_line_errors
def show(tender_address: str) -> None:
    """Show a tender's stage, deadlines, bidders and lowest valid bid."""
    status = td.show(contract_at("Tender", tender_address))
    click.echo("\n".join(status.lines()))


@cli.command(name="propose-award", cls=ConnectedProviderCommand)
@tender_argument
@click.argument("bidder")
@click.option("--report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@consortium_option
@out_option
@one_line_errors
def propose_award(
    tender_address: str,
    bidder: str,
    report: Path | None,
    consortium_address: str | None,
    out: Path,
) -> None:
    """Write a proposal to award TENDER to BIDDER (with the evaluation report's hash)."""
    tender = contract_at("Tender", tender_address)
    if td.Stage(tender.stage()) != td.Stage.EVALUATION:
        raise click.ClickException(
            f"the tender is in stage {td.Stage(tender.stage()).label}; awards need evaluation"
        )
    leader, _ = tender.leader()
    lowest = td.AwardMethod(tender.awardMethod()) == td.AwardMethod.LOWEST_PRICE
    if lowest and leader.lower() != bidder.lower():
        raise click.ClickException(
            f"{bidder} is not the lowest valid bid; the lowest is {leader} (disqualify it first)"
        )
    report_hash = _hash_of(None, report) if report else b"\x00" * 32
    _propose(consortium_address, td.award_call(tender, bidder, report_hash), out)


@cli.command(name="propose-disqualify", cls=ConnectedProviderCommand)
@tender_argument
@click.argument("bidder")
@click.option("--reason", required=True, help="The reasons (their hash goes on chain).")
@consortium_option
@out_option
@one_line_errors
def propose_disqualify(
    tender_address: str, bidder: str, reason: str, consortium_address: str | None, out: Path
) -> None:
    """Write a proposal to disqualify BIDDER from TENDER."""
    tender = contract_at("Tender", tender_address)
    _propose(consortium_address, td.disqualify_call(tender, bidder, keccak(text=reason)), out)


@cli.command(name="propose-cancel", cls=ConnectedProviderCommand)
@tender_argument
@click.option("--reason", required=True, help="The reasons (their hash goes on chain).")
@consortium_option
@out_option
@one_line_errors
def propose_cancel(
    tender_address: str, reason: str, consortium_address: str | None, out: Path
) -> None:
    """Write a proposal to cancel TENDER."""
    tender = contract_at("Tender", tender_address)
    _propose(consortium_address, td.cancel_call(tender, keccak(text=reason)), out)


@cli.command(name="claim-rank", cls=ConnectedProviderCommand)
@tender_argument
@click.argument("bidder")
@account_option()
@one_line_errors
def claim_rank(tender_address: str, bidder: str, account: AccountAPI) -> None:
    """In a ranking round, put BIDDER's revealed bid back in the competition."""
    tender = contract_at("Tender", tender_address)
    td.claim_rank(tender, bidder, account)
    leader, price = tender.leader()
    click.echo(f"Claimed for {bidder}; the lowest is now {leader} at {price}")


@cli.command(name="record-lapse", cls=ConnectedProviderCommand)
@tender_argument
@account_option()
@one_line_errors
def record_lapse(tender_address: str, account: AccountAPI) -> None:
    """Record that the awardee missed its acceptance window."""
    tender = contract_at("Tender", tender_address)
    td.record_lapse(tender, account)
    click.echo(f"Recorded the lapse; the tender is now in stage {td.Stage(tender.stage()).label}")
