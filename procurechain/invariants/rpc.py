"""Batched JSON-RPC over HTTP."""

from __future__ import annotations

from typing import Any

import requests

#: One call: the method and its parameters.
Call = tuple[str, list[Any]]


def batch(session: requests.Session, url: str | None, calls: list[Call]) -> list[Any]:
    """The results of ``calls``, sent as one JSON-RPC batch, in the order of the calls.

    Args:
        session: the HTTP session to post with.
        url: the node's endpoint (None: nothing can be fetched).
        calls: ``(method, params)`` pairs; none sends no request.

    Returns:
        Each call's ``result``.

    Raises:
        ValueError: when there are calls but no ``url``.
        RuntimeError: when a call fails (naming its method and the node's error).
    """
    if not calls:
        return []
    if url is None:
        raise ValueError("this history has no rpc_url to fetch from")
    payload = [
        {"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
    ]
    replies = session.post(url, json=payload, timeout=60).json()
    by_id = {r["id"]: r for r in replies}
    results = []
    for i, (method, _) in enumerate(calls):
        reply = by_id[i]
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        results.append(reply["result"])
    return results
