"""The public record, for anyone: the audit log from chain events, OCDS, and verification.

ape run audit export --format jsonl|csv|ocds [--tender ID] [--from-block N] [--out FILE]
ape run audit verify      # events vs contracts, then the chain-derived invariants

Both find the Registry and the Consortium in the network's deployment manifest, or take
`--registry` / `--consortium` addresses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from procurechain import audit, inputs, invariants, ocds
from procurechain.cli import Command, Group, one_line_errors
from procurechain.deployments import deployed, read_manifest
from procurechain.errors import ProcurechainError
from procurechain.files import write_atomic

registry_option = click.option(
    "--registry", default=None, help="Registry address (default: the manifest's)."
)
consortium_option = click.option(
    "--consortium", default=None, help="Consortium address (default: the manifest's)."
)


def _read_names(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # invalid JSON, or not UTF-8 text at all
        raise click.BadParameter(f"{path} is not JSON ({err})", param_hint="--names") from err
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise click.BadParameter(
            f'{path} must map addresses to names, e.g. {{"0xABC...": "City Parks"}}',
            param_hint="--names",
        )
    try:
        return {inputs.address(k, "key", allow_zero=True): v for k, v in names.items()}
    except ProcurechainError as err:
        raise click.BadParameter(f"{path}: {err}", param_hint="--names") from err


def _first_block(registry: str | None) -> int:
    """Where the logs start: the manifest's first deployment block (0 for an address)."""
    manifest = None if registry else read_manifest()
    if manifest is None:
        return 0
    blocks = [int(c.get("block", 0)) for c in manifest["contracts"].values()]
    return min(blocks, default=0)


def _print_totals(log: audit.AuditLog) -> list[audit.Flow]:
    flows = audit.reconcile(log)
    money = log.unit.money
    for flow in flows:
        mark = "ok" if flow.matches else "MISMATCH"
        click.echo(
            f"  {flow.contract} {flow.address}: in {money(flow.inflow)}, out "
            f"{money(flow.outflow)}, held {money(flow.held)} by events, balance "
            f"{money(flow.balance)} on chain: {mark}",
            err=True,
        )
    return flows


@click.group(cls=Group)
def cli() -> None:
    """The public record: export the audit log (JSON lines, CSV, OCDS) and verify it."""


@cli.command(cls=Command)
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv", "ocds"]), default="jsonl",
    show_default=True,
)  # fmt: skip
@click.option(
    "--tender",
    type=click.IntRange(1),
    default=None,
    help="Only this tender id (and its agreement).",
)
@click.option(
    "--from-block",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="First block shown.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write to this file (default: standard output).",
)  # fmt: skip
@click.option(
    "--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help='JSON file {"0xADDRESS": "name"} naming accounts in sentences and OCDS parties.',
)  # fmt: skip
@click.option(
    "--currency", default="USD", show_default=True,
    help="ISO 4217 code for OCDS amounts (dUSD, the devnet token, is USD).",
)  # fmt: skip
@registry_option
@consortium_option
@one_line_errors
def export(
    fmt: str,
    tender: int | None,
    from_block: int,
    out: Path | None,
    registry: str | None,
    consortium: str | None,
    names: Path | None = None,
    currency: str = "USD",
) -> None:
    """Export every event of the registry, its tenders, agreements and the consortium."""
    from ape import chain

    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise click.ClickException(
            f"--currency {currency!r} is not an ISO 4217 code (three capital letters, e.g. USD)"
        )
    labels = _read_names(names)
    head = chain.blocks.height
    if from_block > head:
        raise click.ClickException(f"--from-block {from_block} is after the latest block {head}")
    registry_contract = deployed("Registry", registry)
    consortium_contract = deployed("Consortium", consortium)
    log = audit.collect(
        registry_contract,
        consortium_contract,
        tender_id=tender,
        from_block=from_block,
        scan_from=_first_block(registry),
        names=labels,
    )
    if fmt == "jsonl":
        text = audit.to_jsonl(log)
    elif fmt == "csv":
        text = audit.to_csv(log)
    else:
        package = ocds.export(log, registry_contract, names=labels, currency=currency)
        text = json.dumps(package, indent=2) + "\n"
    if out is None:
        click.echo(text, nl=False)
    else:
        write_atomic(out, text)
        click.echo(f"Wrote {len(log.entries)} entries as {fmt} to {out}", err=True)
    if from_block == 0:
        flows = _print_totals(log)
        if not all(f.matches for f in flows):
            raise click.ClickException(
                "the events do not account for every token held; run `ape run audit verify`"
            )


def _listed(items: list, summary: str) -> bool:
    """Print each item indented, then the summary line; whether there were any."""
    for item in items:
        click.echo(f"  {item}")
    click.echo(summary)
    return bool(items)


@cli.command(cls=Command)
@registry_option
@consortium_option
@one_line_errors
def verify(registry: str | None, consortium: str | None) -> None:
    """Replay every tender and agreement from its events and compare with the contracts, then
    check the chain-derived invariants (bonds, escrow, quorums, recusal, penalties)."""
    from ape import chain

    registry_contract = deployed("Registry", registry)
    consortium_contract = deployed("Consortium", consortium)
    first = _first_block(registry)
    log = audit.collect(registry_contract, consortium_contract, scan_from=first)
    differences = audit.verify(log)
    history = invariants.ChainHistory(
        chain.provider.uri,
        registry=str(registry_contract.address),
        consortium=str(consortium_contract.address),
        token=str(registry_contract.token()),
        from_block=first,
    )
    history.extend()
    violations = invariants.check(history)
    problems = []
    if _listed(
        differences,
        f"{len(log.tenders)} tenders, {len(log.agreements)} agreements, {len(log.entries)} "
        f"events: {len(differences)} differences",
    ):
        problems.append(f"{len(differences)} facts differ between the events and the contracts")
    if _listed(
        violations,
        "invariants from the chain alone (bonds, escrow, quorums, recusal, penalties): "
        f"{len(violations)} violations",
    ):
        problems.append(f"{len(violations)} invariants are violated on this chain")
    if problems:
        raise click.ClickException("; ".join(problems))
