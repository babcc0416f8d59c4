"""Command-line plumbing the ``ape run`` scripts share: one-line errors, common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from ape.cli import ConnectedProviderCommand

from procurechain import display, inputs
from procurechain.calls import Call
from procurechain.errors import describe

F = TypeVar("F", bound=Callable[..., Any])

__all__ = [
    "Command",
    "Group",
    "LocalCommand",
    "check_currency",
    "consortium_option",
    "deployment_first_block",
    "one_line_errors",
    "out_option",
    "parse_amount",
    "pegged_option",
    "read_names",
    "registry_option",
    "write_proposal",
]


out_option = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the unsigned proposal bundle.",
)


registry_option = click.option(
    "--registry", default=None, help="Registry address (default: the manifest's)."
)
consortium_option = click.option(
    "--consortium", default=None, help="Consortium address (default: the manifest's)."
)
pegged_option = click.option(
    "--pegged-to", "--currency", "pegged_to", default=None,
    help="ISO 4217 currency the token is pegged to 1:1 (USD for the devnet's dUSD); "
    "without it OCDS amounts carry XXX (no currency) and say so.",
)  # fmt: skip


def _one_line_usage(err: click.UsageError) -> click.UsageError:
    """A usage error without the usage text: ``Error: <what> (see `<command> --help`)``."""
    if err.ctx is not None:
        command = err.ctx.command_path
        first, *rest = err.format_message().splitlines() or [""]
        text = " ".join([first, ", ".join(line.strip() for line in rest if line.strip())]).strip()
        err.message = f"{text} (see `{command} --help`)"
        if isinstance(err, click.BadParameter):  # its format_message would add the prefix again
            err = click.UsageError(err.message)
        err.ctx = None
    return err


class _OneLineUsage(click.Command):
    """A bad argument or option reads as one line, like every other error, not as the usage."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as err:
            raise _one_line_usage(err) from None


class Command(_OneLineUsage, ConnectedProviderCommand):
    """An ``ape run`` command that connects to ``--network`` and errs in one line."""


class LocalCommand(_OneLineUsage):
    """A command that needs no network (the devnet's start/stop/status)."""


class Group(_OneLineUsage, click.Group):
    """A group of commands whose bad arguments err in one line."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as err:  # an unknown subcommand
            raise _one_line_usage(err) from None


def write_proposal(consortium: Any, call: Call, out: Path, texts: tuple[str, ...] = ()) -> None:
    """Write an unsigned proposal bundle for ``call`` (carrying ``texts``, the reasons its
    hashes name, for signers to read and the executor to publish) and say what signers do next.

    Raises:
        click.ClickException: ``out`` exists (nothing is overwritten).
    """
    from procurechain import consortium as cs

    if out.exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was changed)")
    proposal = cs.propose(consortium, call)
    for text in texts:
        proposal.add_text(text)
    proposal.save(out)
    click.echo(f"Proposed: {call.description}")
    click.echo(f"  bundle {out}  action hash 0x{proposal.action_hash.hex()}")
    click.echo(f"  target {call.target}  calldata 0x{call.data.hex()}")
    deadline = proposal.action.deadline
    click.echo(f"  can be executed until {display.deadline(deadline, display.chain_now())}")
    click.echo(f"  next: each signer runs `ape run consortium sign {out} --account ...`")


def one_line_errors(func: F) -> F:
    """Turn any failure into one ``Error: ...`` line and a non-zero exit (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.UsageError as err:  # click would add the usage text: one line instead
            raise click.ClickException(" ".join(err.format_message().split())) from err
        except click.ClickException as err:
            err.message = " ".join(err.message.split())
            raise
        except Exception as err:  # every other failure becomes one readable sentence
            raise click.ClickException(" ".join(describe(err).split())) from err

    return wrapper  # type: ignore[return-value]


def parse_amount(
    text: str, decimals: int, what: str = "amount", *, maximum: int = inputs.UINT256_MAX
) -> int:
    """A human amount (``"12.5"``) in base units of a token with ``decimals``.

    Raises:
        ProcurechainError: negative, not a number, finer than the token's decimals, or above
            ``maximum`` base units (one line naming ``what``).
    """
    return inputs.amount(text, decimals, what, maximum=maximum)


def quiet_for_json() -> None:
    """Keep standard output for the JSON alone when ``--json`` is on the command line: Ape
    prints its own INFO lines there (``Connecting to ...``) as it connects, which is after a
    script is loaded and before its command runs. Call it when the script is loaded (Ape reads
    its ``-v`` from ``sys.argv`` the same way, ahead of click)."""
    import sys

    from ape.logging import logger

    if "--json" in sys.argv[1:]:
        logger.set_level("WARNING")


def read_names(path: Path | None) -> dict[str, str]:
    """A names file (JSON ``{"0xADDRESS": "name"}``) as checksummed address -> name; empty
    without one.

    Raises:
        click.BadParameter: the file is not JSON of that shape (``--names``).
    """
    import json

    from procurechain.errors import ProcurechainError

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


def check_currency(code: str | None) -> None:
    """Refuse a ``--pegged-to`` that is not an ISO 4217 code."""
    import re

    if code is not None and not re.fullmatch(r"[A-Z]{3}", code):
        raise click.BadParameter(
            f"{code!r} is not an ISO 4217 code (three capital letters, e.g. USD)",
            param_hint="--pegged-to",
        )


def deployment_first_block(registry: str | None) -> int:
    """Where the logs start: the manifest's first deployment block (0 when an address is
    given instead of the manifest's)."""
    from procurechain.deployments import read_manifest

    manifest = None if registry else read_manifest()
    if manifest is None:
        return 0
    blocks = [int(c.get("block", 0)) for c in manifest["contracts"].values()]
    return min(blocks, default=0)
