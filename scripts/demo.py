"""The reference procurement, end to end: `ape run demo` (what `make demo` runs).

City Parks buys 40 park benches; every consortium decision is a signed proposal bundle.
Runs on a local devnet (Ape starts Anvil by default; `--network ethereum:devnet` uses the
persistent one).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from ape.logging import logger
from rich.console import Console
from rich.table import Table

from procurechain import display
from procurechain.cli import Command, one_line_errors
from procurechain.scenario import Step, run_reference


@click.command(cls=Command)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Folder for the proposal bundles, the scenario record, the audit log and OCDS.",
)
@one_line_errors
def cli(out: Path) -> None:
    """Run the 40-park-benches procurement and show where every token went."""
    logger.set_level("WARNING")
    console = Console()
    started = time.monotonic()
    with console.status("[bold]City Parks buys 40 park benches…") as status:

        def report(step: Step) -> None:
            gas = f"[dim]{step.gas:>9,} gas[/dim]" if step.gas else " " * 13
            console.print(f"{gas}  [cyan]{step.actor}[/cyan] {step.action}")
            status.update(f"[bold]{step.actor}[/bold] {step.action}")

        result = run_reference(out, report)

    token = display.token_of(result.addresses["Token"])
    table = Table(title=f"Where every {token.symbol} went", show_lines=False)
    table.add_column("holder")
    table.add_column(token.symbol, justify="right")
    for holder, amount in result.balances.items():
        table.add_row(holder, token.units(amount))
    total = sum(result.balances.values())
    table.add_row("[bold]total[/bold]", f"[bold]{token.units(total)}[/bold]")
    console.print(table)
    stranded = result.balances["Tender contract"] + result.balances["Agreement escrow"]
    if total != result.minted or stranded:
        raise click.ClickException(
            f"money check failed: {token.money(total)} held of {token.money(result.minted)} "
            f"minted, {token.money(stranded)} left in contracts"
        )
    console.print(
        f"[green]Nothing stranded:[/green] all {token.money(result.minted)} minted are with "
        f"people; the tender and the escrow hold {token.money(0)}."
    )
    for what, path in result.records.items():
        console.print(f"{what}: {path}")
    console.print(
        f"{len(result.steps)} steps, {result.total_gas:,} gas in all, "
        f"{time.monotonic() - started:.1f} s. Bundles and record in {out}/"
    )
