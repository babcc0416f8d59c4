"""Where the suite is deployed on each network: a small JSON manifest per network.

``deployments/<network>-<chain id>.json`` maps contract names to addresses, with the block,
the solc version and the git commit of the deployment, so every script finds the contracts
again after a restart. The folder can be moved with ``PROCURECHAIN_DEPLOYMENTS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from procurechain import inputs, network
from procurechain.errors import ProcurechainError
from procurechain.files import write_atomic

__all__ = [
    "CONTRACT_TYPES",
    "contract_at",
    "deployed",
    "is_live",
    "manifest_path",
    "read_manifest",
    "typed",
    "write_manifest",
]


def _folder() -> Path:
    return Path(os.environ.get("PROCURECHAIN_DEPLOYMENTS", "deployments"))


def _network_name() -> str:
    from ape import networks

    return str(networks.provider.network.name)


def manifest_path() -> Path:
    """The manifest file of the connected network."""
    name = _network_name().replace(":", "-")
    return _folder() / f"{name}-{network.chain_id()}.json"


def read_manifest() -> dict[str, Any] | None:
    """The connected network's manifest, or ``None`` if nothing was deployed there."""
    path = manifest_path()
    if not path.exists():
        return None
    fix = "restore it or redeploy with `ape run deploy --force`"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ProcurechainError(
            f"deployment manifest {path} is unreadable ({err.strerror}); {fix}"
        ) from err
    except ValueError as err:  # invalid JSON, or not UTF-8 text at all
        raise ProcurechainError(
            f"deployment manifest {path} is not valid JSON (truncated or corrupt: {err}); {fix}"
        ) from err
    if not isinstance(document, dict) or not isinstance(document.get("contracts"), dict):
        raise ProcurechainError(
            f"deployment manifest {path} is corrupt (no 'contracts' table); {fix}"
        )
    for name, entry in document["contracts"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
            raise ProcurechainError(
                f"deployment manifest {path} is corrupt ({name} has no address); {fix}"
            )
    return document


def is_live(manifest: dict[str, Any]) -> bool:
    """Whether ``manifest`` describes this very chain: its deployment block has the recorded
    hash (a devnet that was reset, or another chain, has a different block there) and every
    contract has code."""
    from ape import chain

    web3 = chain.provider.web3
    block = manifest.get("block")
    if not isinstance(block, int) or not 0 <= block <= web3.eth.block_number:
        return False
    if web3.eth.get_block(block)["hash"].to_0x_hex() != manifest.get("blockHash"):
        return False
    try:
        addresses = [inputs.address(e["address"]) for e in manifest["contracts"].values()]
    except ProcurechainError:
        return False
    return all(chain.provider.get_code(address) for address in addresses)


def write_manifest(document: dict[str, Any]) -> Path:
    """Write the connected network's manifest atomically (``files.write_atomic``)."""
    return write_atomic(manifest_path(), json.dumps(document, indent=2) + "\n")


def typed(name: str, address: str) -> Any:
    """The project contract type ``name`` at ``address``, whatever Ape cached for it.

    ``project.X.at(address)`` prefers a contract type Ape cached earlier for that address; on a
    devnet that was reset (or a test chain reverted to a snapshot) another contract may have
    stood there, so the cache is replaced with the type asked for.
    """
    from ape import chain, project

    return chain.contracts.instance_at(
        to_checksum_address(address),
        contract_type=getattr(project, name).contract_type,
        replace=True,
        fetch_from_explorer=False,
        detect_proxy=False,
    )


def contract_at(name: str, address: str, what: str = "address") -> Any:
    """The project contract type ``name`` at ``address``, checking that code is there.

    Raises:
        ProcurechainError: ``address`` (named ``what`` in the message) is malformed, or no
            contract is there.
    """
    from ape import chain

    address = inputs.address(address, what)
    if not chain.provider.get_code(address):
        raise ProcurechainError(
            f"no contract at {address} on chain {network.chain_id()}; check --network, or deploy "
            "with `ape run deploy`"
        )
    return typed(name, address)


#: Manifest entries whose contract type is not their name.
CONTRACT_TYPES = {
    "Token": "DemoStablecoin",  # any ERC-20 with permit reads through the dUSD ABI
    "TenderImplementation": "Tender",
    "AgreementImplementation": "Agreement",
}


def deployed(name: str, address: str | None = None) -> Any:
    """The deployed contract ``name`` (a manifest entry such as ``Consortium``, ``Registry``,
    ``Token``): at ``address`` if given, else from the manifest."""
    contract_type = CONTRACT_TYPES.get(name, name)
    if address:
        return contract_at(contract_type, address, f"{name} address")
    manifest = read_manifest()
    path = manifest_path()
    if manifest is None:
        raise ProcurechainError(
            f"no deployment for {_network_name()} ({path} does not exist): run `ape run deploy` "
            "first, or pass the contract's address"
        )
    if name not in manifest["contracts"]:
        raise ProcurechainError(
            f"no {name} is recorded in {path}; redeploy with `ape run deploy --force` or pass "
            "its address"
        )
    from ape import chain

    try:
        address = inputs.address(manifest["contracts"][name]["address"], f"{name} in {path}")
    except ProcurechainError as err:
        raise ProcurechainError(
            f"{err}: the manifest is corrupt; restore it or redeploy with `ape run deploy --force`"
        ) from err
    if not chain.provider.get_code(address):
        raise ProcurechainError(
            f"{path} records {name} at {address}, but there is no contract there on chain "
            f"{network.chain_id()} (a reset devnet?); redeploy with `ape run deploy --force`"
        )
    return typed(contract_type, address)
