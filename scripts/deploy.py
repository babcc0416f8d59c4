"""Deploy the suite: `ape run deploy [--config FILE] [--force] --network ... --account ...`.

On the devnet no file is needed (the reference consortium on Ape's test accounts, dUSD).
Elsewhere, pass a deployment file (see deploy/example.yaml). The result is recorded in
deployments/<network>-<chain id>.json, where every other script finds it.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.api import AccountAPI
from ape.cli import account_option

from procurechain import consortium as cs
from procurechain import display
from procurechain.cli import Command, one_line_errors
from procurechain.deploy import deploy_suite, devnet_config, load_config
from procurechain.deployments import manifest_path, typed
from procurechain.devnet import require_devnet


@click.command(cls=Command)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Deployment file (members, threshold, policies, agencies, token).",
)
@click.option("--force", is_flag=True, help="Deploy again although a deployment is recorded.")
@account_option()
@one_line_errors
def cli(config_path: Path | None, force: bool, account: AccountAPI) -> None:
    """Deploy consortium, implementations, registry (and dUSD on the devnet)."""
    if config_path is None:
        require_devnet("deploying without --config")
        config = devnet_config()
    else:
        config = load_config(config_path)
    manifest = deploy_suite(account, config, force=force)
    click.echo(f"Deployed on {manifest['network']} (chain {manifest['chainId']}):")
    for name, entry in manifest["contracts"].items():
        click.echo(f"  {name:<24} {entry['address']}")
    token = display.token_of(manifest["contracts"]["Token"]["address"])
    cap = int(typed("Registry", manifest["contracts"]["Registry"]["address"]).phaseCap())
    click.echo(
        f"Token: {token.symbol} ({token.decimals} decimals); budgets up to {token.money(cap)} "
        "in this rollout phase"
    )
    click.echo(f"Consortium: {manifest['threshold']} of {len(manifest['members'])}")
    for member in manifest["members"]:
        roles = ", ".join(cs.role_names(member["roles"]))
        click.echo(f"  {member['address']}  {roles:<10} {member['name']}")
    for path in manifest["pendingProposals"]:
        click.echo(f"Members must sign and execute {path} to admit that agency")
    click.echo(f"Manifest: {manifest_path()}")
