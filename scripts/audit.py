"""The public record, for anyone: the audit log from chain events, OCDS, and verification.

ape run audit export --format jsonl|csv|ocds [--tender ID] [--from-block N] [--out FILE]
ape run audit export-ocds [--out FOLDER] [--pegged-to USD] [--base-url URL] ...
ape run audit verify      # events vs contracts, then the chain-derived invariants
ape run audit flags [--settings FILE] [--out FILE]   # red flags, in words and as Cardinal's JSON

Both find the Registry and the Consortium in the network's deployment manifest, or take
`--registry` / `--consortium` addresses.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from procurechain import audit, invariants
from procurechain import flags as red_flags
from procurechain.cli import (
    Command,
    Group,
    check_currency,
    consortium_option,
    deployment_first_block,
    one_line_errors,
    pegged_option,
    read_names,
    registry_option,
)
from procurechain.deployments import deployed
from procurechain.files import write_atomic
from procurechain.record import facts as chain_facts
from procurechain.record import packages


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
@pegged_option
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
    pegged_to: str | None = None,
) -> None:
    """Export every event of the registry, its tenders, agreements and the consortium."""
    from ape import chain

    check_currency(pegged_to)
    labels = read_names(names)
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
        scan_from=deployment_first_block(registry),
        names=labels,
    )
    if fmt == "jsonl":
        text = audit.to_jsonl(log)
    elif fmt == "csv":
        text = audit.to_csv(log)
    else:
        package = packages.export(log, registry_contract, names=labels, pegged_to=pegged_to)
        text = json.dumps(package.combined, indent=2, ensure_ascii=False) + "\n"
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


@cli.command("export-ocds", cls=Command)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/ocds"),
    show_default=True, help="Folder for <ocid>/releases.json, <ocid>/record.json, releases.json.",
)  # fmt: skip
@click.option("--tender", type=click.IntRange(1), default=None, help="Only this tender id.")
@click.option(
    "--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help='JSON file {"0xADDRESS": "name"} naming the parties.',
)  # fmt: skip
@pegged_option
@click.option(
    "--token-description", default="", help='What the token is, e.g. "a test stablecoin".'
)
@click.option(
    "--base-url", default=packages.Publication.base_url, show_default=True,
    help="Where the packages are served: their uri start with it.",
)  # fmt: skip
@click.option("--publisher-name", default=packages.Publication.publisher_name, show_default=True)
@click.option(
    "--license", "license_", default=packages.CC_BY_4, show_default=True,
    help="URL of the data licence.",
)  # fmt: skip
@click.option("--publication-policy", default=None, help="URL of the publication policy.")
@click.option(
    "--verify-documents", is_flag=True,
    help="Fetch every notice document (http/https; ipfs through --ipfs-gateway) and compare "
    "its SHA-256.",
)  # fmt: skip
@click.option("--ipfs-gateway", default=None, help="e.g. https://ipfs.io/ipfs/")
@registry_option
@consortium_option
@one_line_errors
def export_ocds(
    out: Path,
    tender: int | None,
    names: Path | None,
    pegged_to: str | None,
    token_description: str,
    base_url: str,
    publisher_name: str,
    license_: str,
    publication_policy: str | None,
    verify_documents: bool,
    ipfs_gateway: str | None,
    registry: str | None,
    consortium: str | None,
) -> None:
    """OCDS per contracting process: a release package and a record package each."""
    check_currency(pegged_to)
    registry_contract = deployed("Registry", registry)
    log = audit.collect(
        registry_contract,
        deployed("Consortium", consortium),
        tender_id=tender,
        scan_from=deployment_first_block(registry),
    )
    publication = packages.Publication(
        base_url=base_url,
        publisher_name=publisher_name,
        license=license_,
        publication_policy=publication_policy,
    )
    result = packages.export(
        log,
        registry_contract,
        names=read_names(names),
        pegged_to=pegged_to,
        token_description=token_description,
        publication=publication,
        verify_documents=verify_documents,
        ipfs_gateway=ipfs_gateway,
    )
    written = packages.write(result, out)
    releases = sum(len(found) for found in result.releases.values())
    count = len(result.releases)
    click.echo(
        f"Wrote {count} process{'es' * (count != 1)} ({releases} releases) as {len(written)} "
        f"files under {out}/"
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
    first = deployment_first_block(registry)
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


@cli.command("flags", cls=Command)
@click.option(
    "--settings", "settings_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Cardinal-style INI settings; only the flags whose sections it has run (default: every "
    "flag with its default thresholds).",
)  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the flags as Cardinal's JSON output (OCID, Buyer, ProcuringEntity, "
    "Tenderer, Meta, Maps) to this file.",
)  # fmt: skip
@click.option(
    "--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help='JSON file {"0xADDRESS": "name"} naming the parties in the evidence.',
)  # fmt: skip
@pegged_option
@registry_option
@consortium_option
@one_line_errors
def flags_command(
    settings_file: Path | None,
    out: Path | None,
    names: Path | None,
    pegged_to: str | None,
    registry: str | None,
    consortium: str | None,
) -> None:
    """Red flags: OCP Cardinal's indicators on the OCDS record and this chain's own, one line
    each (code, title, process, evidence); docs/flags.md defines them."""
    from ape import chain

    check_currency(pegged_to)
    settings = red_flags.Settings.load(settings_file) if settings_file else red_flags.Settings()
    labels = read_names(names)
    registry_contract = deployed("Registry", registry)
    log = audit.collect(
        registry_contract,
        deployed("Consortium", consortium),
        scan_from=deployment_first_block(registry),
        names=labels,
    )
    compiled = []
    facts = chain_facts.read(log, registry_contract, pegged_to=pegged_to)
    if log.tenders:
        exported = packages.build(log, facts, names=labels)
        compiled = [p["records"][0]["compiledRelease"] for p in exported.record_packages.values()]
    findings = red_flags.evaluate(
        compiled,
        log,
        facts.terms,
        settings,
        phase_cap=int(registry_contract.phaseCap()),
        now=int(chain.blocks.head.timestamp),
        names=labels,
    )
    for flag in findings.flags:
        click.echo(red_flags.line(flag))
    processes = {f.ocid for f in findings.flags if f.ocid is not None}
    click.echo(
        f"{len(findings.flags)} flag{'s' * (len(findings.flags) != 1)} on {len(processes)} of "
        f"{len(compiled)} processes ({', '.join(sorted(settings.enabled)) or 'no flag'} computed)"
    )
    if out is not None:
        document = red_flags.to_cardinal(findings)
        write_atomic(
            out, json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        )
        click.echo(f"Wrote Cardinal's output to {out}", err=True)
