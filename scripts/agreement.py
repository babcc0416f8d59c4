"""`ape run agreement ...`: the escrow for the buyer, the supplier and the consortium's signers.

Parties send their own steps (fund, submit, dispute, withdraw, release). Consortium decisions
(accept, reject, resolve, terminate, warranty-claim) are printed as a call (JSON) to put into a
signature bundle; nothing is sent for them here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from ape.cli import account_option, network_option

from procurechain import agreement as escrow
from procurechain import tender as td
from procurechain.calls import Call
from procurechain.cli import (
    Command,
    Group,
    one_line_errors,
    out_option,
    parse_amount,
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
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


agreement_argument = click.argument("agreement")
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
    units = None if amount is None else parse_amount(amount, _decimals(contract), "--amount")
    receipt = escrow.fund(contract, account, amount=units, use_permit=permit)
    click.echo(f"funded in {receipt.txn_hash}")


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
    receipt = escrow.withdraw(agreement, account)
    click.echo(f"withdrawn in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@account_option()
@agreement_argument
@one_line_errors
def release(account: Any, agreement: str) -> None:
    """Release the retention to the supplier once the warranty has ended (anyone may)."""
    receipt = escrow.release_retention(agreement, account)
    click.echo(f"retention released in {receipt.txn_hash}")


@cli.command(cls=Command)
@network_option()
@agreement_argument
@one_line_errors
def status(agreement: str) -> None:
    """Show the agreement and every milestone."""
    report = escrow.status(agreement)
    click.echo(f"agreement {report.address}: {report.status.name.lower()}")
    click.echo(f"  buyer {report.buyer}  supplier {report.supplier}")
    click.echo(f"  consortium {report.consortium}  token {report.token}")
    click.echo(
        f"  price {report.price}  escrowed {report.escrowed}  retention held "
        f"{report.retention_held}  credits {report.credits}  balance {report.balance}"
    )
    if report.warranty_ends_at:
        click.echo(f"  warranty ends {_when(report.warranty_ends_at)}")
    header = ("#", "amount", "due", "state", "late", "paid", "penalty", "retention", "refunded")
    click.echo("  " + " ".join(f"{h:>16}" for h in header))
    for m in report.milestones:
        row = (
            m.index,
            m.amount,
            _when(m.due_date),
            m.state.name.lower(),
            f"{m.days_late}d",
            m.paid,
            m.penalty,
            m.retention,
            m.refunded,
        )
        click.echo("  " + " ".join(f"{v!s:>16}" for v in row))


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
