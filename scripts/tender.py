"""Agencies and the public: publish, list and show tenders; propose consortium decisions.

ape run tender create --account TEST::1 --budget 50000 --bond 500 \
    --notice examples/benches/notice.yaml --milestone 40:30 --milestone 40:60 --milestone 20:90
ape run tender list
ape run tender show 0xTENDER
ape run tender propose-award 0xTENDER 0xBIDDER --report report.pdf --out award.json
ape run tender propose-disqualify 0xTENDER 0xBIDDER --reason "no insurance" --out dq.json
ape run tender propose-cancel 0xTENDER --reason "budget withdrawn" --out cancel.json
ape run tender claim-rank 0xTENDER 0xBIDDER --account ...
ape run tender record-lapse 0xTENDER --account ...
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from ape.api import AccountAPI
from ape.cli import account_option
from eth_utils import keccak

from procurechain import display, inputs
from procurechain import tender as td
from procurechain.cli import (
    Command,
    Group,
    one_line_errors,
    out_option,
    parse_amount,
    quiet_for_json,
    write_proposal,
)
from procurechain.deployments import contract_at, deployed
from procurechain.record import content
from procurechain.record import notice as nt

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
quiet_for_json()  # `tender show --json`: standard output is the JSON alone
MAX_AMOUNT = 2**88 - 1  # the Registry's bound on budgets and bonds
MAX_MILESTONES = 32  # the Registry's bound on a plan
UINT32_MAX = 2**32 - 1  # acceptance window, warranty and due offsets are uint32 seconds
TEN_YEARS = 10 * 365 * 86400  # a bidding or reveal period longer than this is a typo


def _hash_of(text: str | None, path: Path | None) -> bytes:
    if path is not None:
        return keccak(path.read_bytes())
    return keccak(text=text or "")


def _number(text: str, what: str) -> Decimal:
    """A finite, non-negative decimal number."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as err:
        raise click.ClickException(f"{what} {text!r} is not a number") from err
    if not value.is_finite() or value < 0:
        raise click.ClickException(f"{what} {text!r} must be a positive number")
    return value


def _seconds(value: float, unit: int, option: str, *, limit: int, allow_zero: bool = False) -> int:
    """``value`` hours or days (``unit`` seconds each) as whole seconds, at most ``limit``."""
    seconds = _number(str(value), option) * unit
    if seconds == 0 and not allow_zero:
        raise click.ClickException(f"{option} must be more than 0")
    if seconds > limit:
        raise click.ClickException(f"{option} {value} is too long (at most {limit // unit})")
    return int(seconds)


def _notice_with_milestones(notice: nt.Notice, milestones: tuple[str, ...]) -> nt.Notice:
    """The notice with one title per ``--milestone``: the option's TITLE, else the notice's."""
    titles = [m.split(":", 2)[2].strip() if m.count(":") >= 2 else "" for m in milestones]
    if notice.milestones and len(notice.milestones) != len(milestones):
        raise click.ClickException(
            f"the notice names {len(notice.milestones)} milestones and {len(milestones)} "
            "--milestone options are given; give one --milestone per notice milestone"
        )
    for n, title in enumerate(titles):
        if not title and not notice.milestones:
            raise click.ClickException(
                f"--milestone {n + 1} has no title and the notice lists no milestones; write "
                "PERCENT:DAYS:TITLE, e.g. 40:30:benches delivered"
            )
        if title and notice.milestones and title != notice.milestones[n]:
            raise click.ClickException(
                f"--milestone {n + 1} is titled {title!r} but the notice says "
                f"{notice.milestones[n]!r}; drop the title from the option or fix the notice"
            )
    final = tuple(t or notice.milestones[n] for n, t in enumerate(titles))
    # the titles from the options pass the same checks as the file's
    return nt.parse(dataclasses.replace(notice, milestones=final).as_dict())


def _parse_milestone(text: str, index: int, title: str) -> td.Milestone:
    """``PERCENT:DAYS[:TITLE]`` -> a Milestone (share in bps, due offset in seconds, the
    title's hash)."""
    parts = text.split(":", 2)
    if len(parts) < 2:
        raise click.ClickException(
            f"--milestone {index} is {text!r}; write PERCENT:DAYS[:TITLE], e.g. 40:30:benches"
        )
    share = _number(parts[0], f"--milestone {index} percent") * 100
    if share == 0 or share != share.to_integral_value() or share > 10_000:
        raise click.ClickException(
            f"--milestone {index} percent {parts[0]!r} must be above 0 and at most 100, with at "
            "most 2 decimals"
        )
    due = _number(parts[1], f"--milestone {index} days") * 86400
    if due > UINT32_MAX:
        raise click.ClickException(
            f"--milestone {index} is due {parts[1]} days after the award; at most "
            f"{UINT32_MAX // 86400} days are possible"
        )
    return td.Milestone(int(share), int(due), keccak(text=title))


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise click.ClickException("--reason must say why (its hash is recorded on chain)")


def _proposal_inputs(consortium_address: str | None, tender_address: str, out: Path) -> tuple:
    """The consortium and the tender of a proposal, after checking ``--out`` is free."""
    if out.exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was changed)")
    tender = contract_at("Tender", tender_address, "TENDER")
    return deployed("Consortium", consortium_address), tender


@click.group(cls=Group)
def cli() -> None:
    """Tenders: publish, list, show; consortium proposals for award, disqualify, cancel."""


@cli.command(cls=Command)
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
@click.option(
    "--notice",
    "notice_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The tender notice (YAML/JSON): title, description, category, items, documents, "
    "milestone titles; see examples/benches/notice.yaml. It goes on the chain.",
)
@click.option(
    "--milestone",
    "milestones",
    multiple=True,
    required=True,
    help="PERCENT:DAYS[:TITLE] (repeat; percents sum to 100); the title defaults to the notice's.",
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
    notice_file: Path,
    milestones: tuple[str, ...],
) -> None:
    """Publish a tender as a buying agency, with its notice on the chain."""
    from ape import chain

    notice = _notice_with_milestones(nt.load(notice_file), milestones)
    plan = tuple(
        _parse_milestone(text, n + 1, notice.milestones[n]) for n, text in enumerate(milestones)
    )
    if sum(m.share_bps for m in plan) != 10_000:
        total = Decimal(sum(m.share_bps for m in plan)) / 100
        raise click.ClickException(f"the --milestone percents sum to {total}, not 100")
    if len(plan) > MAX_MILESTONES:
        raise click.ClickException(f"{len(plan)} milestones; at most {MAX_MILESTONES} are possible")
    bidding_period = _seconds(bidding_hours, 3600, "--bidding-hours", limit=TEN_YEARS)
    reveal_period = _seconds(reveal_hours, 3600, "--reveal-hours", limit=TEN_YEARS)
    acceptance = _seconds(acceptance_hours, 3600, "--acceptance-hours", limit=UINT32_MAX)
    warranty = _seconds(warranty_days, 86400, "--warranty-days", limit=UINT32_MAX, allow_zero=True)
    registry = deployed("Registry", registry_address)
    token = deployed("Token", token_address)
    decimals = int(token.decimals())
    budget_units = parse_amount(budget, decimals, "--budget", maximum=MAX_AMOUNT)
    if budget_units == 0:
        raise click.ClickException("--budget must be more than 0")
    now = int(chain.blocks.head.timestamp)
    bidding = now + bidding_period
    spec = td.TenderSpec(
        token=str(token.address),
        budget=budget_units,
        bond=parse_amount(bond, decimals, "--bond", maximum=MAX_AMOUNT),
        bidding_deadline=bidding,
        reveal_deadline=bidding + reveal_period,
        acceptance_window=acceptance,
        notice=notice.encode(),
        plan=plan,
        method=td.AwardMethod[method.upper().replace("-", "_")],
        retention_bps=retention_bps,
        warranty_period=warranty,
        late_penalty_bps_per_day=penalty_bps_per_day,
        late_penalty_cap_bps=penalty_cap_bps,
    )
    tender_id, tender, _ = td.create_tender(registry, account, spec)
    money = display.token_from(token).money
    click.echo(f"Published tender {tender_id} ({registry.ocid(tender_id)}) at {tender.address}")
    click.echo(f"  budget {money(spec.budget)}, bond {money(spec.bond)}")
    click.echo(
        f"  bids until {display.deadline(spec.bidding_deadline, now)}, reveals until "
        f"{display.deadline(spec.reveal_deadline, now)}"
    )


@cli.command(name="list", cls=Command)
@registry_option
@click.option("--agency", default=None, help="Only this agency's tenders.")
@one_line_errors
def list_(registry_address: str | None, agency: str | None) -> None:
    """List tenders, newest first."""
    agency = inputs.address(agency, "--agency") if agency is not None else None
    registry = deployed("Registry", registry_address)
    rows = td.list_tenders(registry, agency)
    if not rows:
        click.echo("No tenders yet.")
    now = display.chain_now()
    units: dict[str, display.Token] = {}
    for tender_id, ocid, tender in rows:
        stage = td.Stage(tender.stage())
        token = str(tender.token())
        unit = units.setdefault(token, display.token_of(token))
        if stage == td.Stage.BIDDING:
            closing = f"bidding closes {display.deadline(int(tender.biddingDeadline()), now)}"
        elif stage == td.Stage.REVEAL:
            closing = f"reveals close {display.deadline(int(tender.revealDeadline()), now)}"
        else:
            closing = ""
        click.echo(
            f"{tender_id:>5}  {ocid:<24} {tender.address}  {stage.label:<12} budget "
            f"{unit.money(int(tender.budget()))}" + (f", {closing}" if closing else "")
        )


@cli.command(cls=Command)
@tender_argument
@click.option(
    "--verify-documents",
    is_flag=True,
    help="Fetch each http(s) document and check its bytes against the published SHA-256.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: exact integers (base units, unix seconds), each with a *_display form.",
)
@one_line_errors
def show(tender_address: str, verify_documents: bool, as_json: bool) -> None:
    """Show what a tender says (its notice, read from the chain) and where it stands: stage,
    deadlines, bidders and lowest valid bid."""
    tender = contract_at("Tender", tender_address, "TENDER")
    status = td.show(tender)
    found = content.notice_of(tender)
    if as_json:
        click.echo(json.dumps({**status.as_json(), "notice": content.notice_json(found)}, indent=2))
        return
    click.echo("\n".join(content.notice_lines(found, verify=verify_documents)))
    click.echo("\n".join(status.lines()))


@cli.command(name="propose-award", cls=Command)
@tender_argument
@click.argument("bidder")
@click.option(
    "--reasons",
    default=None,
    help="The award's reasons in words (they go on the public record when it is executed).",
)
@click.option(
    "--report",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Or an evaluation report file (only its hash goes on the chain).",
)
@consortium_option
@out_option
@one_line_errors
def propose_award(
    tender_address: str,
    bidder: str,
    reasons: str | None,
    report: Path | None,
    consortium_address: str | None,
    out: Path,
) -> None:
    """Write a proposal to award TENDER to BIDDER, with the award's reasons (or report)."""
    if (reasons is None) == (report is None):
        raise click.ClickException("say why: give --reasons TEXT or --report FILE (one of them)")
    if reasons is not None:
        _require_reason(reasons)
    bidder = inputs.address(bidder, "BIDDER")
    consortium, tender = _proposal_inputs(consortium_address, tender_address, out)
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
    report_hash = _hash_of(reasons, report)
    texts = (reasons,) if reasons is not None else ()
    write_proposal(consortium, td.award_call(tender, bidder, report_hash), out, texts=texts)


@cli.command(name="propose-disqualify", cls=Command)
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
    bidder = inputs.address(bidder, "BIDDER")
    _require_reason(reason)
    consortium, tender = _proposal_inputs(consortium_address, tender_address, out)
    if not tender.bidOf(bidder)[0]:
        raise click.ClickException(f"{bidder} has no bid on tender {tender.address}")
    call = td.disqualify_call(tender, bidder, keccak(text=reason))
    write_proposal(consortium, call, out, texts=(reason,))


@cli.command(name="propose-cancel", cls=Command)
@tender_argument
@click.option("--reason", required=True, help="The reasons (their hash goes on chain).")
@consortium_option
@out_option
@one_line_errors
def propose_cancel(
    tender_address: str, reason: str, consortium_address: str | None, out: Path
) -> None:
    """Write a proposal to cancel TENDER."""
    _require_reason(reason)
    consortium, tender = _proposal_inputs(consortium_address, tender_address, out)
    write_proposal(consortium, td.cancel_call(tender, keccak(text=reason)), out, texts=(reason,))


@cli.command(name="claim-rank", cls=Command)
@tender_argument
@click.argument("bidder")
@account_option()
@one_line_errors
def claim_rank(tender_address: str, bidder: str, account: AccountAPI) -> None:
    """In a ranking round, put BIDDER's revealed bid back in the competition."""
    bidder = inputs.address(bidder, "BIDDER")
    tender = contract_at("Tender", tender_address, "TENDER")
    td.claim_rank(tender, bidder, account)
    leader, price = tender.leader()
    money = display.token_of(tender.token()).money
    click.echo(f"Claimed for {bidder}; the lowest is now {leader} at {money(int(price))}")


@cli.command(name="record-lapse", cls=Command)
@tender_argument
@account_option()
@one_line_errors
def record_lapse(tender_address: str, account: AccountAPI) -> None:
    """Record that the awardee missed its acceptance window."""
    tender = contract_at("Tender", tender_address, "TENDER")
    td.record_lapse(tender, account)
    click.echo(f"Recorded the lapse; the tender is now in stage {td.Stage(tender.stage()).label}")
