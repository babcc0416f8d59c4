"""`ape run agreement ...`: the escrow for the buyer, the supplier and the consortium's signers.

Parties send their own steps (fund, submit, dispute, withdraw, release). Consortium decisions
(accept, reject, resolve, terminate, warranty-claim) are printed as a call (JSON) to put into a
signature bundle; nothing is sent for them here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from ape.cli import account_option, network_option

from procurechain import agreement as escrow
from procurechain import display
from procurechain import tender as td
from procurechain.calls import Call
from procurechain.cli import (
    Command,
    Group,
    one_line_errors,
    out_option,
    parse_amount,
    quiet_for_json,
    write_proposal,
)
from procurechain.deployments import contract_at
from procurechain.record.content import publish_text


def _document(value: str, option: str = "--reason") -> bytes:
    """Hash a text, or the file named after an ``@``."""
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise click.ClickException(
                f"{option} {value!r}: {path} is not a file; give text, or @ and a file path"
            )
        return escrow.content_hash(path.read_bytes())
    if not value.strip():
        raise click.ClickException(f"{option} is empty; say what it is (its hash is recorded)")
    return escrow.content_hash(value)


def _decimals(contract: Any) -> int:
    return int(contract_at("DemoStablecoin", str(contract.token())).decimals())


def _propose(agreement: Any, call_of: Callable[[Any], Call], out: Path, reason: str = "") -> None:
    """Write a bundle for the agreement's consortium (its authority, read from the chain); a
    reason given as text travels in the bundle and goes on the record when it is executed."""
    contract = escrow.agreement_at(agreement)
    consortium = contract_at("Consortium", contract.consortium())
    texts = (reason,) if reason and not reason.startswith("@") else ()
    write_proposal(consortium, call_of(contract), out, texts=texts)


def _when(timestamp: int) -> str:
    """An ISO date in UTC, or ``-`` for none (0)."""
    return display.when(timestamp) if timestamp else "-"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns as wide as their widest cell, right-aligned, two spaces apart."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]


agreement_argument = click.argument("agreement")
quiet_for_json()  # `agreement status --json`: standard output is the JSON alone
reason_option = click.option(
    "--reason", required=True, help="the written reasons as text, or @FILE; its hash is recorded"
)


@click.group(cls=Group)
def cli() -> None:
    """The milestone escrow of one awarded contract."""


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@click.option("--amount", default=None, help="tokens to pull, e.g. 42500 (default: the price)")
@click.option("--permit", is_flag=True, help="sign an EIP-2612 permit instead of approving")
@one_line_errors
def fund(account: Any, agreement: str, amount: str | None, permit: bool) -> None:
    """Deposit the price as the buyer."""
    contract = escrow.agreement_at(agreement)
    unit = display.token_of(contract.token())
    units = None if amount is None else parse_amount(amount, unit.decimals, "--amount")
    receipt = escrow.fund(contract, account, amount=units, use_permit=permit)
    funded = next(iter(receipt.events.filter(contract.AgreementFunded)), None)
    what = f" with {unit.money(int(funded.received))}" if funded is not None else ""
    click.echo(f"funded{what} in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@click.argument("index", type=int)
@click.option("--evidence", required=True, help="the evidence as text, or @FILE")
@click.option("--uri", required=True, help="where the evidence can be read")
@one_line_errors
def submit(account: Any, agreement: str, index: int, evidence: str, uri: str) -> None:
    """Deliver evidence for a milestone as the supplier."""
    digest = _document(evidence, "--evidence")
    if not uri.strip():
        raise click.ClickException("--uri is empty; say where the evidence can be read")
    receipt = escrow.submit(agreement, account, index, digest, uri)
    click.echo(f"milestone {index} submitted (evidence 0x{digest.hex()}) in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@click.argument("index", type=int)
@reason_option
@one_line_errors
def dispute(account: Any, agreement: str, index: int, reason: str) -> None:
    """Dispute a submitted or rejected milestone as the buyer or the supplier."""
    digest = _document(reason)
    if not reason.startswith("@"):  # the words go on the record, not only their hash
        contract = escrow.agreement_at(agreement)
        registry = contract_at("Registry", td.tender_at(contract.tender()).registry())
        publish_text(registry, account, reason)
    receipt = escrow.dispute(agreement, account, index, digest)
    click.echo(f"milestone {index} disputed (reasons 0x{digest.hex()}) in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@one_line_errors
def withdraw(account: Any, agreement: str) -> None:
    """Withdraw everything credited to the account."""
    contract = escrow.agreement_at(agreement)
    credit = int(contract.creditOf(account.address))
    receipt = escrow.withdraw(contract, account)
    money = display.token_of(contract.token()).money
    click.echo(f"withdrawn {money(credit)} to {account.address} in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@one_line_errors
def release(account: Any, agreement: str) -> None:
    """Release the retention to the supplier once the warranty has ended (anyone may)."""
    contract = escrow.agreement_at(agreement)
    held = int(contract.retentionHeld())
    receipt = escrow.release_retention(contract, account)
    money = display.token_of(contract.token()).money
    click.echo(f"retention of {money(held)} released to the supplier in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@agreement_argument
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: exact integers (base units, unix seconds), each with a *_display form.",
)
@one_line_errors
def status(agreement: str, as_json: bool = False) -> None:
    """Show the agreement and every milestone."""
    report = escrow.status(agreement)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    money, unit = report.money, report.unit
    click.echo(f"agreement {report.address}: {report.status.name.lower()}")
    click.echo(f"  buyer {report.buyer}  supplier {report.supplier}")
    click.echo(f"  consortium {report.consortium}  token {unit.symbol} {report.token}")
    click.echo(
        f"  price {money(report.price)}  escrowed {money(report.escrowed)}  retention held "
        f"{money(report.retention_held)}  credits {money(report.credits)}  balance "
        f"{money(report.balance)}"
    )
    if report.warranty_ends_at:
        ends = report.warranty_ends_at
        shown = display.deadline(ends, report.now) if report.now else _when(ends)
        click.echo(f"  warranty ends {shown}")
    header = ("#", "amount", "due (UTC)", "state", "late", "paid", "penalty", "retention")
    rows = [(*header, "refunded")]
    for m in report.milestones:
        rows.append(
            (
                str(m.index),
                unit.units(m.amount),
                _when(m.due_date),
                m.state.name.lower(),
                f"{m.days_late}d",
                unit.units(m.paid),
                unit.units(m.penalty),
                unit.units(m.retention),
                unit.units(m.refunded),
            )
        )
    click.echo(f"  milestones (amounts in {unit.symbol}):")
    for line in _table(rows):
        click.echo("    " + line)


@cli.command("propose-accept", cls=Command)
@network_option()
@agreement_argument
@click.argument("index", type=int)
@out_option
@one_line_errors
def propose_accept(agreement: str, index: int, out: Path) -> None:
    """Propose accepting a submitted milestone (needs an auditor among the signers)."""
    _propose(agreement, lambda a: escrow.accept_call(a, index), out)


@cli.command("propose-reject", cls=Command)
@network_option()
@agreement_argument
@click.argument("index", type=int)
@reason_option
@out_option
@one_line_errors
def propose_reject(agreement: str, index: int, reason: str, out: Path) -> None:
    """Propose rejecting a submitted milestone, with the hash of the reasons."""
    digest = _document(reason)
    _propose(agreement, lambda a: escrow.reject_call(a, index, digest), out, reason)


@cli.command("propose-resolve", cls=Command)
@network_option()
@agreement_argument
@click.argument("index", type=int)
@click.argument("supplier_bps", type=click.IntRange(0, 10_000))
@reason_option
@out_option
@one_line_errors
def propose_resolve(agreement: str, index: int, supplier_bps: int, reason: str, out: Path) -> None:
    """Propose resolving a dispute (the supplier's share in bps of the milestone)."""
    digest = _document(reason)
    _propose(agreement, lambda a: escrow.resolve_call(a, index, supplier_bps, digest), out, reason)


@cli.command("propose-terminate", cls=Command)
@network_option()
@agreement_argument
@reason_option
@out_option
@one_line_errors
def propose_terminate(agreement: str, reason: str, out: Path) -> None:
    """Propose terminating the agreement (accepted work paid, the rest back to the buyer)."""
    digest = _document(reason)
    _propose(agreement, lambda a: escrow.terminate_call(a, digest), out, reason)


@cli.command("propose-warranty-claim", cls=Command)
@network_option()
@agreement_argument
@click.argument("amount")
@reason_option
@out_option
@one_line_errors
def propose_warranty_claim(agreement: str, amount: str, reason: str, out: Path) -> None:
    """Propose drawing AMOUNT tokens (e.g. 250.5) of the retention for the buyer."""
    digest = _document(reason)
    contract = escrow.agreement_at(agreement)
    units = parse_amount(amount, _decimals(contract), "AMOUNT")
    _propose(contract, lambda a: escrow.warranty_claim_call(a, units, digest), out, reason)
