"""Run the reference procurement scenario on the local devnet."""

import click
from ape import accounts, project
from ape.cli import ConnectedProviderCommand


@click.command(cls=ConnectedProviderCommand)
def cli() -> None:
    """Deploy the suite on the connected network and print what was deployed."""
    deployer = accounts.test_accounts[0]
    token = deployer.deploy(project.DemoStablecoin)
    click.echo(f"DemoStablecoin (dUSD, {token.decimals()} decimals) at {token.address}")
