"""Command-line plumbing the ``ape run`` scripts share: one-line errors, common options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from procurechain.errors import describe

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["one_line_errors", "parse_amount"]


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
