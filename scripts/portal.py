"""The citizens' portal: a read-only website of every procurement, kept live from the chain.

ape run portal [--network ...] [--host 127.0.0.1] [--port 8000] [--database FILE|postgresql://…]

Indexes the network's deployment (the Registry and Consortium of its manifest, or
`--registry` / `--consortium`) into a database, starts following new blocks, and serves the
portal. The index is a SQLite file under out/portal/ by default (nothing to install or start);
a shared deployment names a PostgreSQL database with `--database postgresql://user@host/db`.
A restart resumes where the index stopped.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import click

from procurechain import flags
from procurechain.bulk import connected_rpc
from procurechain.cli import (
    Command,
    check_currency,
    consortium_option,
    deployment_first_block,
    one_line_errors,
    pegged_option,
    registry_option,
)
from procurechain.cli import read_names as read_names_file
from procurechain.deployments import deployed
from procurechain.errors import ProcurechainError
from procurechain.portal.index.database import Index
from procurechain.portal.index.indexer import Indexer, SyncResult

DEFAULT_FOLDER = Path("out/portal")


def _database(database: str | None, chain_id: int, registry: str) -> str:
    """The index's location: as given, else a SQLite file named after the deployment (two
    deployments never share one)."""
    if database:
        return database
    DEFAULT_FOLDER.mkdir(parents=True, exist_ok=True)
    return str(DEFAULT_FOLDER / f"{chain_id}-{registry.lower()}.sqlite")


def _said(result: SyncResult) -> str:
    rewound = f", rewound a reorg to block {result.rewound_to:,}" if result.rewound_to else ""
    return (
        f"indexed blocks {result.from_block:,} to {result.to_block:,}: {result.events:,} events, "
        f"{result.tenders:,} new tenders, {result.derived:,} procurements updated in "
        f"{result.seconds:.1f} s{rewound}"
    )


@click.command(cls=Command)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--database", default=None,
    help="The index: a SQLite file, or postgresql://user[:password]@host[:port]/database "
    "(default: out/portal/<chain id>-<registry>.sqlite).",
)  # fmt: skip
@click.option(
    "--names", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help='JSON file {"0xADDRESS": "name"} naming agencies, suppliers and members.',
)  # fmt: skip
@pegged_option
@click.option("--token-description", default="", help="What the token is, in words.")
@click.option(
    "--poll",
    type=click.FloatRange(0.05, 60),
    default=0.25,
    show_default=True,
    help="Seconds between looks at the chain's head.",
)
@click.option(
    "--base-url",
    default=None,
    help="Where the portal is published (OCDS package URIs); default: each request's own URL.",
)
@click.option(
    "--flag-settings", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Red-flag thresholds as a Cardinal settings file (see docs/flags.md); default: "
    "Cardinal's and the chain's defaults.",
)  # fmt: skip
@click.option("--index-only", is_flag=True, help="Index up to the head and exit; serve nothing.")
@registry_option
@consortium_option
@one_line_errors
def cli(
    host: str,
    port: int,
    database: str | None,
    names: Path | None,
    pegged_to: str | None,
    token_description: str,
    poll: float,
    base_url: str | None,
    flag_settings: Path | None,
    index_only: bool,
    registry: str | None,
    consortium: str | None,
) -> None:
    """Serve the citizens' portal for this network's deployment."""
    import uvicorn

    from procurechain.portal.web.app import create_app

    check_currency(pegged_to)
    registry_contract = deployed("Registry", registry)
    consortium_contract = deployed("Consortium", consortium)
    rpc = connected_rpc()
    if rpc is None:
        raise ProcurechainError(
            "the portal reads the node over HTTP: connect with an http(s) --network, e.g. "
            "ethereum:local:http://127.0.0.1:8545"
        )
    chain_id = int(rpc.request("eth_chainId", []), 16)
    where = _database(database, chain_id, str(registry_contract.address))
    index = Index.open(where)
    indexer = Indexer(
        index,
        rpc,
        str(registry_contract.address),
        str(consortium_contract.address),
        first_block=deployment_first_block(registry),
        names=read_names_file(names),
        pegged_to=pegged_to,
        token_description=token_description,
        flag_settings=flags.Settings.load(flag_settings) if flag_settings else None,
    )
    shown = where if "://" not in where else where.split("@")[-1]
    click.echo(f"Index: {shown}")
    started = time.perf_counter()
    result = indexer.sync()
    click.echo(f"  {_said(result)} ({time.perf_counter() - started:.1f} s)")
    if index_only:
        return
    stop = threading.Event()
    follower = threading.Thread(
        target=indexer.follow,
        kwargs={"poll_seconds": poll, "stop": stop},
        name="portal-index",
        daemon=True,
    )
    follower.start()
    app = create_app(index.engine, base_url=base_url)
    click.echo(f"Portal: http://{host}:{port}/  (read only; Ctrl-C stops it)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        follower.join(timeout=5)
        index.close()
