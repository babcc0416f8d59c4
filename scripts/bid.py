"""Bidders: commit, reveal, status, withdraw-bond, accept; anyone: claim-forfeit.

ape run bid commit 0xTENDER --price 45000 --documents bid.pdf --account bidder
ape run bid reveal 0xTENDER --account bidder          # salt recomputed from your key
ape run bid status 0xTENDER --account bidder
ape run bid withdraw-bond 0xTENDER --account bidder
ape run bid accept 0xTENDER --account supplier        # the awardee creates the Agreement
ape run bid claim-forfeit 0xTENDER 0xBIDDER --account anyone
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.api import AccountAPI
from ape.cli import account_option
from eth_utils import keccak

from procurechain import display, inputs
from procurechain import tender as td
from procurechain.bids import BidJournal
from procurechain.cli import Command, Group, one_line_errors, parse_amount
from procurechain.deployments import contract_at, deployed

tender_argument = click.argument("tender_address", metavar="TENDER")
journal_option = click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Bid journal (default: ~/.procurechain/bids.json).",
)


def _doc_hash(documents: Path | None, doc_hash: str | None) -> bytes | None:
    if documents is not None:
        return keccak(documents.read_bytes())
    if doc_hash is not None:
        text = doc_hash[2:] if doc_hash.startswith("0x") else doc_hash
        try:
            digest = bytes.fromhex(text)
        except ValueError:
            digest = b""
        if len(text) != 64 or len(digest) != 32:
            raise click.ClickException(
                f"--doc-hash {doc_hash!r} is not 32 bytes as 64 hex digits (0x optional)"
            )
        return digest
    return None


def _unit(tender: object) -> display.Token:
    """The tender's token: its decimals (for --price) and how its amounts read."""
    return display.token_from(contract_at("DemoStablecoin", str(tender.token())))  # type: ignore[attr-defined]


@click.group(cls=Group)
def cli() -> None:
    """Sealed bids on a tender: commit, reveal, bonds, acceptance."""


@cli.command(cls=Command)
@tender_argument
@click.option("--price", required=True, help="Your price in tokens, e.g. 45000.")
@click.option("--documents", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--doc-hash", default=None, help="Hash of your bid documents (0x + 64 hex).")
@click.option(
    "--nonce",
    default=0,
    show_default=True,
    type=click.IntRange(0, inputs.UINT256_MAX),
    help="Use a new one to replace a bid.",
)
@click.option("--permit", is_flag=True, help="Pay the bond with an EIP-2612 permit (one tx).")
@journal_option
@account_option()
@one_line_errors
def commit(
    tender_address: str,
    price: str,
    documents: Path | None,
    doc_hash: str | None,
    nonce: int,
    permit: bool,
    journal: Path | None,
    account: AccountAPI,
) -> None:
    """Commit (or replace) a sealed bid; the first commitment pays the bond."""
    from ape import chain

    digest = _doc_hash(documents, doc_hash)
    if digest is None:
        raise click.ClickException("give --documents FILE or --doc-hash HASH")
    tender = contract_at("Tender", tender_address, "TENDER")
    unit = _unit(tender)
    amount = parse_amount(price, unit.decimals, "--price")
    deadline = int(chain.blocks.head.timestamp) + 3600 if permit else None
    td.commit_bid(
        tender,
        account,
        amount,
        digest,
        nonce=nonce,
        permit_deadline=deadline,
        journal=BidJournal(journal),
    )
    now = display.chain_now()
    click.echo(
        f"Committed a sealed bid of {unit.money(amount)} on {tender.address} (nonce {nonce})"
    )
    click.echo(
        f"  reveal after {display.deadline(int(tender.biddingDeadline()), now)} and by "
        f"{display.deadline(int(tender.revealDeadline()), now)}"
    )


@cli.command(cls=Command)
@tender_argument
@click.option("--price", default=None, help="Default: from the journal.")
@click.option("--documents", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--doc-hash", default=None, help="Default: from the journal.")
@click.option(
    "--nonce",
    default=None,
    type=click.IntRange(0, inputs.UINT256_MAX),
    help="Default: from the journal.",
)
@journal_option
@account_option()
@one_line_errors
def reveal(
    tender_address: str,
    price: str | None,
    documents: Path | None,
    doc_hash: str | None,
    nonce: int | None,
    journal: Path | None,
    account: AccountAPI,
) -> None:
    """Reveal your bid; the salt is recomputed from your key."""
    digest = _doc_hash(documents, doc_hash)
    tender = contract_at("Tender", tender_address, "TENDER")
    unit = _unit(tender)
    amount = None if price is None else parse_amount(price, unit.decimals, "--price")
    receipt = td.reveal_bid(
        tender,
        account,
        amount,
        digest,
        nonce=nonce,
        journal=BidJournal(journal),
    )
    event = next(iter(receipt.events.filter(tender.BidRevealed)))
    verdict = "valid" if event.valid else "INVALID (zero or above the budget)"
    lead = "; it is the lowest so far" if event.leading else ""
    click.echo(f"Revealed {unit.money(int(event.price))} on {tender.address}: {verdict}{lead}")


@cli.command(cls=Command)
@tender_argument
@account_option()
@one_line_errors
def status(tender_address: str, account: AccountAPI) -> None:
    """Show the tender and your bid on it."""
    tender = contract_at("Tender", tender_address, "TENDER")
    status = td.show(tender)
    click.echo("\n".join(status.lines()))
    committed, revealed, valid, excluded, settled, block, price = tender.bidOf(account)
    if not committed:
        click.echo(f"{'your bid':>17}: none")
        return
    state = "sealed" if not revealed else ("valid" if valid else "invalid")
    if excluded:
        state += ", excluded"
    bond = "paid out" if settled else "held"
    shown = f" at {status.money(int(price))}" if revealed else ""
    click.echo(f"{'your bid':>17}: {state}{shown}, committed in block {block}, bond {bond}")


@cli.command(name="withdraw-bond", cls=Command)
@tender_argument
@account_option()
@one_line_errors
def withdraw_bond(tender_address: str, account: AccountAPI) -> None:
    """Take your bond back (revealed bids, once the tender is awarded, cancelled or failed)."""
    tender = contract_at("Tender", tender_address, "TENDER")
    td.withdraw_bond(tender, account)
    bond = _unit(tender).money(int(tender.bond()))
    click.echo(f"Bond of {bond} returned to {account.address}")


@cli.command(name="claim-forfeit", cls=Command)
@tender_argument
@click.argument("bidder")
@account_option()
@one_line_errors
def claim_forfeit(tender_address: str, bidder: str, account: AccountAPI) -> None:
    """Pay BIDDER's forfeited bond (never revealed, or a lapsed award) to the buyer."""
    bidder = inputs.address(bidder, "BIDDER")
    tender = contract_at("Tender", tender_address, "TENDER")
    td.claim_forfeited_bond(tender, bidder, account)
    bond = _unit(tender).money(int(tender.bond()))
    click.echo(f"Bond of {bidder} ({bond}) paid to the buyer {tender.buyer()}")


@cli.command(cls=Command)
@tender_argument
@click.option("--registry", "registry_address", default=None, help="Default: the manifest's.")
@account_option()
@one_line_errors
def accept(tender_address: str, registry_address: str | None, account: AccountAPI) -> None:
    """Accept the award: creates the Agreement and returns your bond."""
    tender = contract_at("Tender", tender_address, "TENDER")
    registry = deployed("Registry", registry_address or str(tender.registry()))
    plan = td.published_plan(registry, tender)
    td.accept_award(tender, account, plan)
    click.echo(f"Accepted; the agreement is {tender.agreement()}")
