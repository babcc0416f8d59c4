"""Facts about the connected network, read from the node itself."""

from __future__ import annotations

__all__ = ["chain_id"]


def chain_id() -> int:
    """The chain id the connected node reports.

    Ape's ``chain.chain_id`` can answer from the network's configuration (e.g. 1337 for an
    ad-hoc ``ethereum:local:http://...`` network) rather than from the node, so signatures and
    manifests use this instead.
    """
    from ape import chain

    return int(chain.provider.web3.eth.chain_id)
