"""`ape run agreement ...`: the escrow for the buyer, the supplier and the consortium's signers.

Parties send their own steps (fund, submit, dispute, withdraw, release). Consortium decisions
(accept, reject, resolve, terminate, warranty-claim) are printed as a call (JSON) to put into a
signature bundle; nothing is sent for them here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand, account_option, network_option

from procurechain import agreement as escrow
from procurechain.calls import Call
from procurechain.errors import describe


def _document(value: str) -> bytes:
    """Hash a text, or the file named after an ``@``."""
    if value.startswith("@"):
        path = Path(value[1:])
        if not path.is_file():
            raise click.BadParameter(f"{path} is not a file: give text, or @ and a file path")
        return escrow.content_hash(path.read_bytes())
    return escrow.content_hash(value)


def _run(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except click.ClickException:
        raise
    except Exception as err:  # one readable line, whatever the chain or the library said
        raise click.ClickException(describe(err)) from err


def _print_call(call: Call) -> None:
    click.echo(call.description)
    payload = {
        "target": call.target,
        "value": call.value,
        "data": "0x" + call.data.hex(),
        "description": call.description,
    }
    click.echo(json.dumps(payload, indent=2))


def _when(timestamp: int) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


agreement_argument = click.argument("agreement")
reason_option = click.option(
    "--reason", required=True, help="the written reasons as text, or @FILE; its hash is recorded"
)


@click.group()
def cli() -> None:
    """The milestone escrow of one awarded contract."""


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@account_option()
@agreement_argument
@click.option("--amount", type=int, help="tokens to pull (default: the price)")
@click.option("--permit", is_flag=True, help="sign an EIP-2612 permit instead of approving")
def fund(account: Any, agreement: str, amount: int | None, permit: bool) -> None:
    """Deposit the price as the buyer."""
    receipt = _run(lambda: escrow.fund(agreement, account, amount=amount, use_permit=permit))
    click.echo(f"funded in {receipt.txn_hash}")


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@account_option()
@agreement_argument
@click.argument("index", type=int)
@click.option("--evidence", required=True, help="the evidence as text, or @FILE")
@click.option("--uri", required=True, help="where the evidence can be read")
def submit(account: Any, agreement: str, index: int, evidence: str, uri: str) -> None:
    """Deliver evidence for a milestone as the supplier."""
    digest = _document(evidence)
    receipt = _run(lambda: escrow.submit(agreement, account, index, digest, uri))
    click.echo(f"milestone {index} submitted (evidence 0x{digest.hex()}) in {receipt.txn_hash}")


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@account_option()
@agreement_argument
@click.argument("index", type=int)
@reason_option
def dispute(account: Any, agreement: str, index: int, reason: str) -> None:
    """Dispute a submitted or rejected milestone as the buyer or the supplier."""
    digest = _document(reason)
    receipt = _run(lambda: escrow.dispute(agreement, account, index, digest))
    click.echo(f"milestone {index} disputed (reasons 0x{digest.hex()}) in {receipt.txn_hash}")


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@account_option()
@agreement_argument
def withdraw(account: Any, agreement: str) -> None:
    """Withdraw everything credited to the account."""
    receipt = _run(lambda: escrow.withdraw(agreement, account))
    click.echo(f"withdrawn in {receipt.txn_hash}")


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@account_option()
@agreement_argument
def release(account: Any, agreement: str) -> None:
    """Release the retention to the supplier once the warranty has ended (anyone may)."""
    receipt = _run(lambda: escrow.release_retention(agreement, account))
    click.echo(f"retention released in {receipt.txn_hash}")


@cli.command(cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
def status(agreement: str) -> None:
    """Show the agreement and every milestone."""
    report = _run(lambda: escrow.status(agreement))
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


@cli.command("propose-accept", cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
@click.argument("index", type=int)
def propose_accept(agreement: str, index: int) -> None:
    """Print the consortium call that accepts a submitted milestone."""
    _print_call(_run(lambda: escrow.accept_call(agreement, index)))


@cli.command("propose-reject", cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
@click.argument("index", type=int)
@reason_option
def propose_reject(agreement: str, index: int, reason: str) -> None:
    """Print the consortium call that rejects a submitted milestone."""
    digest = _document(reason)
    _print_call(_run(lambda: escrow.reject_call(agreement, index, digest)))


@cli.command("propose-resolve", cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
@click.argument("index", type=int)
@click.argument("supplier_bps", type=click.IntRange(0, 10_000))
@reason_option
def propose_resolve(agreement: str, index: int, supplier_bps: int, reason: str) -> None:
    """Print the consortium call that resolves a dispute (supplier's share in bps)."""
    digest = _document(reason)
    _print_call(_run(lambda: escrow.resolve_call(agreement, index, supplier_bps, digest)))


@cli.command("propose-terminate", cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
@reason_option
def propose_terminate(agreement: str, reason: str) -> None:
    """Print the consortium call that terminates the agreement."""
    digest = _document(reason)
    _print_call(_run(lambda: escrow.terminate_call(agreement, digest)))


@cli.command("propose-warranty-claim", cls=ConnectedProviderCommand)
@network_option()
@agreement_argument
@click.argument("amount", type=click.IntRange(min=1))
@reason_option
def propose_warranty_claim(agreement: str, amount: int, reason: str) -> None:
    """Print the consortium call that draws on the retention for the buyer."""
    digest = _document(reason)
    _print_call(_run(lambda: escrow.warranty_claim_call(agreement, amount, digest)))
