"""Quantiles and fences exactly as Cardinal computes them.

Cardinal (cardinal-rs 0.0.8) takes its quartiles and percentiles from the Rust crate ``statrs``
0.16, whose ``quantile`` is Hyndman and Fan's type 8 ("median-unbiased", numpy's
``method="median_unbiased"``): with the ``n`` values sorted, ``h = (n + 1/3)·τ + 1/3``; below
the first value the minimum, from the last the maximum, otherwise linear interpolation between
the ``⌊h⌋``-th and the next value. The quantile of no values is NaN, and every comparison with
NaN is false, so an empty set flags nothing.

The fences are ``Q1 - 1.5·IQR`` and ``Q3 + 1.5·IQR``, which Cardinal evaluates with a fused
multiply-add (one rounding); :func:`fma` reproduces that exactly, so a value that sits right on
a fence is judged as Cardinal judges it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction

__all__ = [
    "fma",
    "lower_fence",
    "lower_quartile",
    "percentile",
    "quantile",
    "round4",
    "upper_fence",
    "upper_quartile",
]

_THIRD = 1.0 / 3.0


def quantile(values: Iterable[float], tau: float) -> float:
    """The type-8 quantile ``tau`` (0 to 1) of ``values``; NaN when there are none or when
    ``tau`` is outside 0-1 (as statrs answers).

    Computed with statrs' own arithmetic (``a + (h - ⌊h⌋)·(b - a)``), so the result is the same
    double Cardinal gets, not merely a close one.
    """
    data = sorted(float(v) for v in values)
    n = len(data)
    if n == 0 or not 0.0 <= tau <= 1.0 or math.isnan(tau):
        return math.nan
    h = (n + _THIRD) * tau + _THIRD
    whole = int(h)  # h >= 1/3 > 0: truncation is the floor
    if whole <= 0 or tau == 0.0:
        return data[0]
    if whole >= n or tau == 1.0:
        return data[-1]
    low, high = data[whole - 1], data[whole]
    return low + (h - whole) * (high - low)


def lower_quartile(values: Iterable[float]) -> float:
    """Q1 (type 8)."""
    return quantile(values, 0.25)


def upper_quartile(values: Iterable[float]) -> float:
    """Q3 (type 8)."""
    return quantile(values, 0.75)


def percentile(values: Iterable[float], p: int) -> float:
    """The ``p``-th percentile (type 8), ``p`` a whole number of percent as Cardinal's
    settings give it."""
    return quantile(values, p / 100.0)


def fma(a: float, b: float, c: float) -> float:
    """``a·b + c`` rounded once, as Rust's ``f64::mul_add`` (Python has ``math.fma`` only from
    3.13): exact rational arithmetic, then one correctly rounded conversion."""
    if not all(math.isfinite(x) for x in (a, b, c)):
        return a * b + c
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def lower_fence(q1: float, q3: float) -> float:
    """``Q1 - 1.5·(Q3 - Q1)``, rounded as Cardinal rounds it."""
    return fma(q3 - q1, -1.5, q1)


def upper_fence(q1: float, q3: float) -> float:
    """``Q3 + 1.5·(Q3 - Q1)``, rounded as Cardinal rounds it."""
    return fma(q3 - q1, 1.5, q3)


def round4(value: float) -> float | None:
    """A statistic as Cardinal's ``Meta`` shows it: rounded to 4 decimals, halves away from
    zero (Rust's ``round``); None for NaN (``null`` in JSON, as serde_json writes it)."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return value
    scaled = value * 10_000.0
    whole = math.trunc(scaled)
    if abs(scaled - whole) >= 0.5:
        whole += 1 if scaled > 0 else -1
    return whole / 10_000.0
