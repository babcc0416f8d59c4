"""Concurrent readers on loopback: each reader is a thread with one keep-alive HTTP connection
that fetches its pages one after the other; the latency of every response is kept.

The server runs in a process of its own, so the readers' Python does not share its GIL; on a
2-core machine both still share the CPUs, which the figures include (as a real host's would).
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def read(
    base_url: str,
    pages: Mapping[str, Sequence[str]],
    *,
    readers: int = 20,
    rounds: int = 10,
) -> dict[str, dict[str, Any]]:
    """Latency per kind of page, ``readers`` at once, each fetching every page of every kind
    ``rounds`` times in turn (kinds interleaved, so each kind meets the same load).

    Returns:
        Per kind: requests, p50, p95 and max in milliseconds, and the failures (non-200).
    """
    where = urlsplit(base_url)
    timings: dict[str, list[float]] = {kind: [] for kind in pages}
    failures: dict[str, int] = dict.fromkeys(pages, 0)
    lock = threading.Lock()
    start = threading.Barrier(readers)

    def reader(number: int) -> None:
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
        start.wait()
        for round_ in range(rounds):
            for kind, paths in pages.items():
                path = paths[(number + round_) % len(paths)]
                began = time.perf_counter()
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                took = (time.perf_counter() - began) * 1000
                with lock:
                    timings[kind].append(took)
                    failures[kind] += response.status != 200
        connection.close()

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        kind: {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(_percentile(values, 0.95), 1),
            "max_ms": round(max(values), 1),
            "failures": failures[kind],
        }
        for kind, values in timings.items()
    }


def first(base_url: str, pages: Mapping[str, Sequence[str]]) -> dict[str, dict[str, Any]]:
    """One reader asking every page once, in turn: each is made for the first time."""
    where = urlsplit(base_url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    found: dict[str, dict[str, Any]] = {}
    for kind, paths in pages.items():
        values = []
        for path in paths:
            began = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            values.append((time.perf_counter() - began) * 1000)
        found[kind] = {
            "requests": len(values),
            "p50_ms": round(statistics.median(values), 1),
            "max_ms": round(max(values), 1),
        }
    connection.close()
    return found
