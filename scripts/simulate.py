"""A city's year on the devnet: `ape run simulate --tenders 200 --bidders 10 [--seed N]`.

Runs that many complete procurements with seeded random parameters through the bulk path
(procurechain.simulation), then `audit verify` over the whole history. The default network is
the persistent devnet (`ethereum:devnet`, started here if it is not running); any local Anvil
works (`--network ethereum:local` starts a throwaway one). Networks whose clock cannot be
moved are refused.
"""

from __future__ import annotations

import time

import click
from ape import networks
from ape.logging import logger
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from procurechain import display
from procurechain.cli import one_line_errors
from procurechain.deployments import typed
from procurechain.devnet import Devnet
from procurechain.simulation import Progress as Step
from procurechain.simulation import SimulationConfig, simulate

DEVNET = "ethereum:devnet"


@click.command()
@click.option(
    "--tenders",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Complete procurements to run.",
)
@click.option(
    "--bidders",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Supplier companies competing in the city.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seeds every random choice.")
@click.option(
    "--cohort",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Tenders whose phases are sent together.",
)
@click.option(
    "--agencies",
    type=click.IntRange(1, 8),
    default=4,
    show_default=True,
    help="Buying departments publishing tenders.",
)
@click.option("--fresh", is_flag=True, help="Deploy a new suite even if one is recorded.")
@click.option(
    "--network", default=DEVNET, show_default=True, help="A local devnet (its clock is moved)."
)
@one_line_errors
def cli(
    tenders: int, bidders: int, seed: int, cohort: int, agencies: int, fresh: bool, network: str
) -> None:
    """Simulate a city's year of procurements, then verify the public record."""
    logger.set_level("WARNING")
    console = Console()
    if network == DEVNET:
        devnet = Devnet()
        if devnet.start():
            console.print(
                f"started the devnet at {devnet.uri} (state {devnet.state_file}); "
                "`ape run devnet stop` stops it"
            )
    config = SimulationConfig(
        tenders=tenders, bidders=bidders, seed=seed, cohort=cohort, agencies=agencies, fresh=fresh
    )
    started = time.perf_counter()
    columns = (
        TextColumn("[bold]{task.description:<34}"),
        BarColumn(),
        TextColumn("{task.fields[tenders]:>4}/{task.fields[all]} tenders"),
        TextColumn("{task.fields[txs]:>7,} tx"),
        TextColumn("{task.fields[rate]:>5.0f} tx/s"),
        TimeElapsedColumn(),
    )
    with networks.parse_network_choice(network), Progress(*columns, console=console) as bar:
        task = bar.add_task("setting up", total=None, tenders=0, all=tenders, txs=0, rate=0.0)
        clock = {"since": time.perf_counter(), "base": 0}

        def report(step: Step) -> None:
            if step.phase == "ready":
                clock.update(since=time.perf_counter(), base=step.transactions)
            elapsed = time.perf_counter() - clock["since"]
            bar.update(
                task,
                description=f"cohort {step.cohort}/{step.cohorts}: {step.phase}",
                completed=step.step,
                total=step.steps,
                tenders=step.tenders_done,
                txs=step.transactions,
                rate=(step.transactions - clock["base"]) / elapsed if elapsed > 0 else 0.0,
            )

        result = simulate(config, report)
        token = display.token_of(typed("Registry", result.registry).token())

    table = Table(title=f"{result.tenders} procurements (seed {seed})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("suite", f"{'deployed now' if result.deployed else 'reused'}, {result.registry}"),
        ("outcomes", ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items()))),
        ("milestones", ", ".join(f"{k} {v}" for k, v in sorted(result.milestones.items()))),
        ("transactions", f"{result.transactions:,}"),
        ("lifecycles, wall time", f"{result.seconds:.1f} s ({result.tx_per_s:.0f} tx/s)"),
        ("set-up", f"{result.setup_seconds:.1f} s"),
        *(
            (
                f"tenders {c.first_tender}-{c.first_tender + c.tenders - 1}",
                f"{c.seconds:.1f} s ({c.cpu_seconds:.1f} s CPU here), {c.transactions:,} tx, "
                f"{c.blocks} blocks",
            )
            for c in result.cohorts
        ),
        ("last cohort / first", f"{result.last_over_first:.2f}" if result.last_over_first else "-"),
        (
            "audit verify",
            f"{result.audit_seconds:.1f} s, {result.audit_events:,} events, "
            f"{len(result.differences)} differences",
        ),
        ("token flows vs balances", "match" if result.flows_matching else "MISMATCH"),
        ("left in tenders and escrows", token.money(result.stranded)),
        ("peak memory (maxrss)", f"{result.peak_rss_mb:.0f} MB"),
        ("total", f"{time.perf_counter() - started:.1f} s"),
    ]
    for label, value in rows:
        table.add_row(label, value)
    console.print(table)
    for difference in result.differences[:20]:
        console.print(f"  {difference}")
    flows = "match" if result.flows_matching else "DO NOT MATCH"
    click.echo(
        f"{result.tenders} procurements, {result.transactions:,} transactions in "
        f"{result.seconds:.1f} s ({result.tx_per_s:.0f} tx/s); audit verify: "
        f"{len(result.differences)} differences, token flows {flows}, "
        f"{token.money(result.stranded)} left in contracts; peak memory "
        f"{result.peak_rss_mb:.0f} MB"
    )
    if result.differences or not result.flows_matching or result.stranded:
        raise click.ClickException(
            "the public record does not match the contracts (see above); nothing was hidden"
        )
