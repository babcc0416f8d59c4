"""Command-line plumbing the ``ape run`` scripts share: one-line errors, common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from procurechain.calls import Call
from procurechain.errors import describe

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["one_line_errors", "out_option", "parse_amount", "write_proposal"]


out_option = click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the unsigned proposal bundle.",
)


def write_proposal(consortium: Any, call: Call, out: Path) -> None:
    """Write an unsigned proposal bundle for ``call`` and say what signers do next.

    Raises:
        click.ClickException: ``out`` exists (nothing is overwritten).
    """
    from procurechain import consortium as cs

    if out.exists():
        raise click.ClickException(f"{out} exists; choose another --out (nothing was changed)")
    proposal = cs.propose(consortium, call)
    proposal.save(out)
    click.echo(f"Proposed: {call.description}")
    click.echo(f"  bundle {out}  action hash 0x{proposal.action_hash.hex()}")
    click.echo(f"  target {call.target}  calldata 0x{call.data.hex()}")
    click.echo(f"  next: each signer runs `ape run consortium sign {out} --account ...`")


def one_line_errors(func: F) -> F:
    """Turn any failure into one ``Error: ...`` line and a non-zero exit (no traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:  # every other failure becomes one readable sentence
            raise click.ClickException(describe(err)) from err

    return wrapper  # type: ignore[return-value]


def parse_amount(text: str, decimals: int) -> int:
    """A human amount (``"12.5"``) in base units of a token with ``decimals``.

    Raises:
        click.BadParameter: negative, not a number, or finer than the token's decimals.
    """
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.replace("_", ""))
    except InvalidOperation as err:
        raise click.BadParameter(f"{text!r} is not a number") from err
    if not value.is_finite() or value < 0:
        raise click.BadParameter(f"{text!r} must be a positive amount")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise click.BadParameter(f"{text!r} has more than {decimals} decimals")
    return int(scaled)
