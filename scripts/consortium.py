"""Consortium members' commands: propose, sign, approve, revoke, status, execute, conflicts.

ape run consortium members
ape run consortium propose --function "setThreshold(uint256)" 4 --out p.json
ape run consortium sign p.json --account auditor
ape run consortium sign p.json --account wallet-owner --as-contract 0xWALLET
ape run consortium status p.json
ape run consortium execute p.json --account agency
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from ape import chain
from ape.api import AccountAPI
from ape.cli import account_option

from procurechain import consortium as cs
from procurechain import display, inputs, network
from procurechain.calls import call_from_signature
from procurechain.cli import Command, Group, one_line_errors
from procurechain.deployments import contract_at, deployed
from procurechain.record import notice as nt
from procurechain.record.content import publish_text

consortium_option = click.option(
    "--consortium",
    "consortium_address",
    default=None,
    help="Consortium address (default: from the deployment manifest).",
)
MAX_TTL = 10 * 365 * 24 * 3600  # ten years: longer is a typo, not a plan
bundle_argument = click.argument(
    "bundle", type=click.Path(dir_okay=False, path_type=Path), metavar="BUNDLE"
)


def _consortium_of(proposal: cs.Proposal):
    return contract_at("Consortium", proposal.consortium, "the bundle's consortium")


def _check_open(proposal: cs.Proposal, consortium: object) -> cs.ProposalStatus:
    """Refuse to collect signatures or approvals for a proposal that can no longer be
    executed (after checking it is meant for this chain and consortium)."""
    state = cs.status(proposal, consortium)
    if state.nonce_used:
        raise click.ClickException(
            f"nonce {proposal.action.nonce} is already used: this proposal was executed or "
            "superseded; nothing to sign or approve (the bundle is unchanged)"
        )
    if state.expired:
        expired = display.deadline(proposal.action.deadline, display.chain_now())
        raise click.ClickException(
            f"the proposal expired at {expired}; propose it again (the bundle is unchanged)"
        )
    return state


@click.group(cls=Group)
def cli() -> None:
    """Consortium decisions: M-of-N signatures with roles and recusals."""


@cli.command(cls=Command)
@consortium_option
@one_line_errors
def members(consortium_address: str | None) -> None:
    """List members, their roles and open conflicts, and the threshold."""
    consortium = deployed("Consortium", consortium_address)
    click.echo(
        f"Consortium {consortium.address}: {consortium.threshold()} of {consortium.memberCount()}"
    )
    for address in consortium.members():
        _, roles, conflicts = consortium.memberInfo(address)
        note = f"  ({conflicts} declared conflict(s))" if conflicts else ""
        click.echo(f"  {address}  {', '.join(cs.role_names(roles))}{note}")


@cli.command(cls=Command)
@consortium_option
@click.option("--target", default=None, help="Contract to call (default: the consortium itself).")
@click.option("--function", "signature", required=True, help='e.g. "setThreshold(uint256)".')
@click.argument("args", nargs=-1)
@click.option(
    "--value", default=0, type=click.IntRange(0, inputs.UINT256_MAX), help="Wei sent with the call."
)
@click.option("--description", default="", help="What this decision does, for the signers.")
@click.option(
    "--nonce",
    default=None,
    type=click.IntRange(0, inputs.UINT256_MAX),
    help="Default: lowest free.",
)
@click.option(
    "--ttl", default=cs.DEFAULT_TTL, type=click.IntRange(60, MAX_TTL), help="Seconds valid."
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@one_line_errors
def propose(
    consortium_address: str | None,
    target: str | None,
    signature: str,
    args: tuple[str, ...],
    value: int,
    description: str,
    nonce: int | None,
    ttl: int,
    out: Path,
) -> None:
    """Write an unsigned proposal bundle for any contract call."""
    if out.exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was changed)")
    target_address = inputs.address(target, "--target") if target else None
    consortium = deployed("Consortium", consortium_address)
    call = call_from_signature(
        target_address or str(consortium.address),
        signature,
        list(args),
        value=value,
        description=description,
    )
    if target_address and not chain.provider.get_code(target_address):
        raise click.ClickException(
            f"no contract at {target_address} on chain {network.chain_id()}: a call to --target "
            "would do nothing; check the address and --network"
        )
    proposal = cs.propose(consortium, call, nonce=nonce, ttl=ttl)
    proposal.save(out)
    click.echo(f"Proposed {call.description} as {out}")
    click.echo(f"  action hash 0x{proposal.action_hash.hex()}  nonce {proposal.action.nonce}")
    expires = display.deadline(proposal.action.deadline, display.chain_now())
    click.echo(f"  can be executed until {expires}")


@cli.command(cls=Command)
@bundle_argument
@account_option()
@click.option(
    "--as-contract",
    "wallet",
    default=None,
    help="Sign for this member contract (EIP-1271 wallet) as its owner.",
)
@one_line_errors
def sign(bundle: Path, account: AccountAPI, wallet: str | None) -> None:
    """Add your signature to a proposal bundle (the file is rewritten atomically)."""
    wallet_address = inputs.address(wallet, "--as-contract") if wallet else None
    proposal = cs.Proposal.load(bundle)
    consortium = _consortium_of(proposal)
    _check_open(proposal, consortium)
    if wallet_address is None:
        cs.sign(proposal, consortium, account)
        who = str(account.address)
    else:
        cs.sign_as_contract(proposal, consortium, wallet_address, account)
        who = f"{wallet_address} (signed by its owner {account.address})"
    proposal.save(bundle)
    count = len(proposal.signatures) + len(proposal.contract_signatures)
    click.echo(f"{who} signed {bundle} ({count} signature(s))")


@cli.command(cls=Command)
@bundle_argument
@account_option()
@one_line_errors
def approve(bundle: Path, account: AccountAPI) -> None:
    """Approve the proposal on-chain instead of signing (hardware or contract wallets)."""
    proposal = cs.Proposal.load(bundle)
    consortium = _consortium_of(proposal)
    state = _check_open(proposal, consortium)
    if account.address in state.approved_onchain:
        raise click.ClickException(f"{account.address} has already approved this proposal")
    receipt = cs.approve(proposal, consortium, account)
    click.echo(f"{account.address} approved 0x{proposal.action_hash.hex()} (tx {receipt.txn_hash})")


@cli.command(cls=Command)
@bundle_argument
@account_option()
@one_line_errors
def revoke(bundle: Path, account: AccountAPI) -> None:
    """Withdraw your on-chain approval of a proposal before it is executed."""
    proposal = cs.Proposal.load(bundle)
    receipt = cs.revoke(proposal, _consortium_of(proposal), account)
    click.echo(f"{account.address} revoked its approval (tx {receipt.txn_hash})")


@cli.command(cls=Command)
@bundle_argument
@one_line_errors
def status(bundle: Path) -> None:
    """Who signed, who is missing, who is recused, which roles are still needed."""
    proposal = cs.Proposal.load(bundle)
    state = cs.status(proposal, _consortium_of(proposal))
    click.echo(f"{proposal.description or 'proposal'}  (nonce {proposal.action.nonce})")
    expires = display.deadline(proposal.action.deadline, display.chain_now())
    click.echo(f"  {'expired' if state.expired else 'can be executed until'} {expires}")
    for digest, text in proposal.texts.items():  # checked against the action when loaded
        click.echo(f"  in the decision's words (hash {digest[:10]}…): {nt.printable(text)}")
    required = cs.role_names(state.required_roles)
    click.echo(
        f"  needs {state.threshold} approvals; required roles: {', '.join(required) or 'none'}"
    )
    for member, roles in state.members.items():
        if member in state.recused:
            about = state.recused[member]
            why = "the action is about this member" if about == member else f"conflict with {about}"
            mark = f"recused ({why}) - does not count"
        elif member in state.signed:
            mark = "signed"
        elif member in state.approved_onchain:
            mark = "approved on-chain"
        elif member in state.signed_by_contract:
            mark = "signed as a contract wallet (EIP-1271, valid now)"
        elif member in state.left_out:
            mark = f"signature left out: {state.left_out[member]}"
        else:
            mark = "missing"
        click.echo(f"  {member}  {', '.join(cs.role_names(roles)):<22} {mark}")
    for signer, reason in state.left_out.items():
        if signer not in state.members:
            click.echo(f"  {signer}  signature left out: {reason}")
    if state.executable:
        click.echo("  ready to execute")
    else:
        click.echo("  not executable: " + "; ".join(state.blockers()))


def _registry_for(target: str) -> Any:
    """The Registry that publishes a decision's texts: the target tender's (or the target
    agreement's tender's) own registry, else the manifest's."""
    from procurechain.deployments import typed

    for tender in (
        lambda: target,
        lambda: str(typed("Agreement", target).tender()),
    ):
        try:
            return contract_at("Registry", str(typed("Tender", tender()).registry()))
        except Exception:  # not a tender (or agreement) of ours: try the next reading
            continue
    return deployed("Registry")


@cli.command(cls=Command)
@bundle_argument
@account_option()
@one_line_errors
def execute(bundle: Path, account: AccountAPI) -> None:
    """Execute a proposal that has enough signatures (anyone may send it)."""
    proposal = cs.Proposal.load(bundle)
    registry = _registry_for(proposal.action.target) if proposal.texts else None
    receipt = cs.execute(proposal, _consortium_of(proposal), account, registry)
    what = proposal.description or "proposal"
    click.echo(f"Executed {what} (tx {receipt.txn_hash}, gas {receipt.gas_used})")


@cli.command("declare-conflict", cls=Command)
@consortium_option
@click.argument("subject")
@click.option("--reason", required=True, help="The declaration; it goes on the public record.")
@click.option(
    "--registry",
    "registry_address",
    default=None,
    help="The Registry that publishes the declaration (default: the manifest's).",
)
@account_option()
@one_line_errors
def declare_conflict(
    consortium_address: str | None,
    subject: str,
    reason: str,
    registry_address: str | None,
    account: AccountAPI,
) -> None:
    """Declare your conflict of interest with a tender, agreement or bidder."""
    subject_address = inputs.address(subject, "SUBJECT")
    if not reason.strip():
        raise click.ClickException("--reason must say why (its hash is recorded on chain)")
    consortium = deployed("Consortium", consortium_address)
    if not consortium.isMember(account.address):
        raise click.ClickException(f"{account.address} is not a member of the consortium")
    if int.from_bytes(bytes(consortium.conflictOf(account.address, subject_address)), "big"):
        raise click.ClickException(
            f"{account.address} already declared a conflict with {subject_address}"
        )
    reason_hash = publish_text(deployed("Registry", registry_address), account, reason)
    consortium.declareConflict(subject_address, reason_hash, sender=account)
    click.echo(
        f"{account.address} is now recused for {subject_address} (reason 0x{reason_hash.hex()})"
    )
