"""The persistent local devnet: `ape run devnet start|stop|status`.

Its chain lives in .devnet/state.json (written every second and on stop), so stopping it,
or the machine, loses nothing. Scripts reach it with `--network ethereum:devnet`.
"""

from __future__ import annotations

import click

from procurechain.cli import Group, LocalCommand, one_line_errors
from procurechain.devnet import Devnet


@click.group(cls=Group)
def cli() -> None:
    """Start, stop or inspect the persistent devnet."""


@cli.command(cls=LocalCommand)
@one_line_errors
def start() -> None:
    """Start the devnet (loads .devnet/state.json if it exists)."""
    devnet = Devnet()
    started = devnet.start()
    verb = "started" if started else "already running"
    click.echo(f"devnet {verb} at {devnet.uri} (state {devnet.state_file})")


@cli.command(cls=LocalCommand)
@click.option("--kill", is_flag=True, help="SIGKILL instead of a clean stop (simulates a crash).")
@one_line_errors
def stop(kill: bool) -> None:
    """Stop the devnet; a clean stop writes its state first."""
    devnet = Devnet()
    click.echo("devnet stopped" if devnet.stop(kill=kill) else "devnet was not running")


@cli.command(cls=LocalCommand)
@one_line_errors
def status() -> None:
    """Say whether the devnet runs, where, and where its state is kept."""
    devnet = Devnet()
    state = "running" if devnet.running() else "stopped"
    kept = devnet.state_file if devnet.state_file.exists() else "nothing saved yet"
    click.echo(f"devnet {state} at {devnet.uri}; state: {kept}")
