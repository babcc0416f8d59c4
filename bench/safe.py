"""Safe v1.4.1 from its shipped npm artifacts: singleton + proxy factory, the multisig to beat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ape.contracts import ContractContainer
from eth_account import Account
from ethpm_types import ContractType

ARTIFACTS = Path("node_modules/@safe-global/safe-contracts/build/artifacts/contracts")
ZERO = "0x" + "00" * 20


def _container(relative: str) -> ContractContainer:
    artifact = json.loads((ARTIFACTS / relative).read_text())
    contract_type = ContractType.model_validate(
        {
            "contractName": artifact["contractName"],
            "abi": artifact["abi"],
            "deploymentBytecode": {"bytecode": artifact["bytecode"]},
            "runtimeBytecode": {"bytecode": artifact["deployedBytecode"]},
        }
    )
    return ContractContainer(contract_type)


def deploy_safe(deployer: Any, owners: list[Any], threshold: int) -> Any:
    """A Safe proxy with ``owners`` and ``threshold``, created through the proxy factory."""
    singleton = deployer.deploy(_container("Safe.sol/Safe.json"))
    factory = deployer.deploy(_container("proxies/SafeProxyFactory.sol/SafeProxyFactory.json"))
    safe_type = _container("Safe.sol/Safe.json")
    initializer = singleton.setup.encode_input(
        [o.address for o in owners], threshold, ZERO, b"", ZERO, ZERO, 0, ZERO
    )
    receipt = factory.createProxyWithNonce(singleton, initializer, 0, sender=deployer)
    proxy = receipt.events.filter(factory.ProxyCreation)[0].proxy
    return safe_type.at(proxy)


def exec_transaction(safe: Any, signers: list[Any], to: str, data: bytes, sender: Any) -> Any:
    """Safe's ``execTransaction`` (CALL, no refund) signed by ``signers``' ECDSA keys."""
    nonce = safe.call_view_method("nonce")  # `.nonce` is the account nonce in Ape
    tx_hash = safe.getTransactionHash(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, nonce)
    ordered = sorted(signers, key=lambda a: int(str(a.address), 16))
    signatures = b""
    for signer in ordered:
        signed = Account._sign_hash(bytes(tx_hash), signer.private_key)
        signatures += (
            signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])
        )
    return safe.execTransaction(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, signatures, sender=sender)
