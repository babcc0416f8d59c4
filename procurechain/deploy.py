"""Deploying the suite: consortium, Agreement and Tender implementations, registry, token.

What to deploy comes from a small YAML file (``deploy/example.yaml`` documents every key);
on the local devnet the defaults need no file: Ape's test accounts 1-5 become the reference
scenario's consortium (agency, auditor, citizen, technical expert, legal expert; 3 of 5) and
a demo stablecoin (dUSD) is deployed. The result is recorded in the network's manifest
(:mod:`procurechain.deployments`).

Admitting the first buying agencies is a consortium decision like any other. When the
deployer holds the signing members' keys (the devnet) it is executed at once; otherwise a
proposal bundle per agency is written for the members to sign.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from eth_utils import function_signature_to_4byte_selector

from procurechain import consortium as cs
from procurechain import inputs, network
from procurechain.calls import call_of
from procurechain.deployments import is_live, manifest_path, read_manifest, write_manifest
from procurechain.devnet import DEVNET_CHAIN_ID
from procurechain.errors import ProcurechainError, describe

__all__ = [
    "DEFAULT_POLICIES",
    "MemberSpec",
    "PolicySpec",
    "SuiteConfig",
    "deploy_suite",
    "devnet_config",
    "load_config",
]

DUSD = 10**6


@dataclass(frozen=True)
class MemberSpec:
    """One consortium member."""

    name: str
    address: str
    roles: int


@dataclass(frozen=True)
class PolicySpec:
    """A role requirement (and subject argument) for a function the consortium calls."""

    function: str
    roles: int = 0
    subject_arg: int = 0

    @property
    def selector(self) -> bytes:
        return function_signature_to_4byte_selector(self.function.replace(" ", ""))


#: The reference policies: an auditor must sign milestone acceptance and warranty claims, a
#: legal expert dispute resolutions and terminations, and both of those need the auditor too
#: (a resolution pays the supplier as an acceptance does; a termination releases the retention
#: to it); the bidder named by award/disqualify and the agency named by add/removeAgency are
#: subjects, so members in conflict with them are recused. Every action on the consortium itself
#: (membership, roles, threshold, policies, lifting a conflict) needs every role these require:
#: the Consortium contract adds that rule itself.
DEFAULT_POLICIES: tuple[PolicySpec, ...] = (
    PolicySpec("acceptMilestone(uint256)", roles=cs.ROLES["auditor"]),
    PolicySpec("claimWarranty(uint256,bytes32)", roles=cs.ROLES["auditor"]),
    PolicySpec(
        "resolveDispute(uint256,uint256,bytes32)", roles=cs.ROLES["auditor"] | cs.ROLES["legal"]
    ),
    PolicySpec("terminate(bytes32)", roles=cs.ROLES["auditor"] | cs.ROLES["legal"]),
    PolicySpec("award(address,bytes32)", subject_arg=1),
    PolicySpec("disqualify(address,bytes32)", subject_arg=1),
    PolicySpec("addAgency(address)", subject_arg=1),
    PolicySpec("removeAgency(address)", subject_arg=1),
)


@dataclass(frozen=True)
class SuiteConfig:
    """Everything a deployment needs."""

    members: tuple[MemberSpec, ...]
    threshold: int
    policies: tuple[PolicySpec, ...] = DEFAULT_POLICIES
    agencies: tuple[str, ...] = ()
    phase_cap: int = 100_000 * DUSD
    ocid_prefix: str = "ocds-pcdev0"
    token: str | None = None
    proposals_dir: Path = Path("proposals")
    extra: dict[str, Any] = field(default_factory=dict)


def devnet_config() -> SuiteConfig:
    """The reference scenario's consortium on Ape's test accounts (no file needed)."""
    from ape import accounts

    test = accounts.test_accounts
    names = [
        ("City Parks Department", "agency"),
        ("Office of the Auditor", "auditor"),
        ("Citizen representative", "citizen"),
        ("Technical expert (furniture and works)", "technical"),
        ("Legal expert", "legal"),
    ]
    members = tuple(
        MemberSpec(name=name, address=str(test[i + 1].address), roles=cs.ROLES[role])
        for i, (name, role) in enumerate(names)
    )
    return SuiteConfig(members=members, threshold=3, agencies=(str(test[1].address),))


def _address(value: Any, where: str) -> str:
    return inputs.address(value, where)


def _amount(value: Any, where: str) -> int:
    return inputs.amount(value, 6, where, maximum=2**128 - 1)


def load_config(path: str | Path) -> SuiteConfig:
    """Read a deployment file (see ``deploy/example.yaml``).

    Raises:
        ProcurechainError: unreadable file or a missing / invalid key, named precisely.
    """
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as err:
        raise ProcurechainError(f"cannot read {source}: {err.strerror}") from err
    except (yaml.YAMLError, ValueError) as err:  # also a file that is not UTF-8 text
        raise ProcurechainError(f"{source} is not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise ProcurechainError(f"{source} must be a mapping with a 'consortium' section")
    try:
        section = document["consortium"]
        members = tuple(
            MemberSpec(
                name=str(m.get("name", m["address"])),
                address=_address(m["address"], f"{source}: consortium.members[{i}].address"),
                roles=cs.role_bits(m["roles"]),
            )
            for i, m in enumerate(section["members"])
        )
        threshold = int(section["threshold"])
        policies = (
            tuple(
                PolicySpec(
                    function=str(p["function"]),
                    roles=cs.role_bits(p.get("roles", [])),
                    subject_arg=int(p.get("subject_arg", 0)),
                )
                for p in section.get("policies", [])
            )
            or DEFAULT_POLICIES
        )
        registry = document.get("registry", {})
        agencies = tuple(
            _address(a, f"{source}: registry.agencies[{i}]")
            for i, a in enumerate(registry.get("agencies", []))
        )
        token = document.get("token")
        return SuiteConfig(
            members=members,
            threshold=threshold,
            policies=policies,
            agencies=agencies,
            phase_cap=_amount(registry.get("phase_cap", "100000"), f"{source}: registry.phase_cap"),
            ocid_prefix=_ocid_prefix(registry.get("ocid_prefix", "ocds-pcdev0"), source),
            token=_address(token, f"{source}: token") if token else None,
            proposals_dir=Path(str(document.get("proposals_dir", "proposals"))),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ProcurechainError(f"{source}: missing or invalid key ({err})") from err


def _ocid_prefix(value: Any, source: str) -> str:
    """An OCDS ocid prefix: ``ocds-`` and 6 lowercase letters or digits (register yours with
    the Open Contracting Partnership for production; the devnet's is ``ocds-pcdev0``)."""
    text = str(value)
    if not re.fullmatch(r"ocds-[a-z0-9]{6}", text):
        raise ProcurechainError(
            f"{source}: registry.ocid_prefix {text!r} is not an OCDS prefix (ocds- and 6 "
            "lowercase letters or digits, e.g. ocds-pcdev0; register one for production)"
        )
    return text


#: Functions that pay the supplier for delivered work as ``acceptMilestone`` does: each must
#: require at least the roles acceptance requires, or a quorum without them could pay anyway.
PAYS_LIKE_ACCEPTANCE = ("resolveDispute(uint256,uint256,bytes32)", "terminate(bytes32)")
ACCEPTANCE = "acceptMilestone(uint256)"


def _check_policies(policies: tuple[PolicySpec, ...]) -> None:
    """Every policy must name a function some procurechain contract has (a typo would
    otherwise protect nothing, silently), and no function that pays the supplier may require
    fewer roles than milestone acceptance."""
    from ape import project

    known = set()
    for name in ("Consortium", "Registry", "Tender", "Agreement"):
        for method in getattr(project, name).contract_type.mutable_methods:
            known.add(method.selector)
    for policy in policies:
        signature = policy.function.replace(" ", "")
        if signature not in known:
            raise ProcurechainError(
                f"policy function {signature} is not a function of the Consortium, Registry, "
                "Tender or Agreement; check its name and argument types"
            )
    roles = {p.function.replace(" ", ""): p.roles for p in policies}
    for function in PAYS_LIKE_ACCEPTANCE:
        lacking = roles.get(ACCEPTANCE, 0) & ~roles.get(function, 0)
        if lacking:
            names = ", ".join(cs.role_names(lacking))
            raise ProcurechainError(
                f"policy {function} must require role {names} as {ACCEPTANCE} does: it pays the "
                f"supplier too, so without it a quorum lacking {names} could pay the supplier"
            )


def _git_commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def _solc_version() -> str:
    from ape import compilers

    for compiler in compilers.registered_compilers.values():
        if compiler.name == "solidity":
            config = compiler.get_config()
            return str(config.version)
    return "unknown"


def _record(contract: Any) -> dict[str, Any]:
    """Address, creation transaction and block of a contract just deployed."""
    from ape import chain

    entry: dict[str, Any] = {"address": str(contract.address)}
    if txn_hash := getattr(contract, "txn_hash", None):
        receipt = chain.get_receipt(txn_hash)
        entry["tx"] = str(txn_hash)
        entry["block"] = int(receipt.block_number)
    return entry


def _local_signers(config: SuiteConfig) -> list[Any]:
    """Members whose keys Ape holds as test accounts (only on the devnet)."""
    from ape import accounts

    if network.chain_id() != DEVNET_CHAIN_ID:
        return []
    by_address = {str(a.address): a for a in accounts.test_accounts}
    return [by_address[m.address] for m in config.members if m.address in by_address]


def deploy_suite(deployer: Any, config: SuiteConfig, force: bool = False) -> dict[str, Any]:
    """Deploy everything, admit the agencies, write the manifest; returns the manifest.

    Raises:
        ProcurechainError: a deployment is already recorded (and ``force`` is False), or the
            configuration cannot work (threshold, token); or a transaction failed (the
            message lists what was already deployed).
    """
    try:
        existing = read_manifest()
    except ProcurechainError:
        if not force:
            raise
        existing = None  # --force replaces a corrupt manifest
    if existing and not force and is_live(existing):
        raise ProcurechainError(
            "the suite is already deployed on this network (see the manifest); nothing was "
            "done. Use --force to deploy a new one"
        )
    _check_config(config)
    chain_id = network.chain_id()
    if not config.token and chain_id != DEVNET_CHAIN_ID:
        raise ProcurechainError(
            "no payment token configured: set `token:` to the ERC-20 address in the "
            "deployment file (dUSD is deployed only on the local devnet)"
        )
    contracts: dict[str, Any] = {}
    try:
        return _deploy(deployer, config, chain_id, contracts)
    except Exception as err:
        done = [f"{n} {e['address']}" for n, e in contracts.items() if not e.get("external")]
        if not done:
            raise
        reason = str(err) if isinstance(err, ProcurechainError) else describe(err)
        raise ProcurechainError(
            f"deployment stopped: {reason}. Already on chain but not recorded (abandoned): "
            f"{', '.join(done)}; {manifest_path()} was not changed. Fix the cause and run "
            "`ape run deploy` again"
        ) from err


def _check_config(config: SuiteConfig) -> None:
    """Everything the contracts' constructors would reject, before the first transaction."""
    from ape import chain

    addresses = [m.address for m in config.members]
    if not 1 <= config.threshold <= len(config.members):
        raise ProcurechainError(
            f"threshold {config.threshold} is impossible with {len(config.members)} members"
        )
    for member in config.members:
        inputs.address(member.address, f"member {member.name}")
        if addresses.count(member.address) > 1:
            raise ProcurechainError(f"member {member.address} is listed twice")
        if not member.roles:
            raise ProcurechainError(f"member {member.name} has no role; give at least one")
    held = 0
    for member in config.members:
        held |= member.roles
    for policy in config.policies:
        if policy.roles & ~held:
            missing = ", ".join(cs.role_names(policy.roles & ~held))
            raise ProcurechainError(
                f"policy {policy.function} requires role {missing}, which no member holds"
            )
        if not 0 <= policy.subject_arg <= 16:
            raise ProcurechainError(
                f"policy {policy.function}: subject_arg {policy.subject_arg} must be 0 to 16"
            )
    _check_policies(config.policies)
    for agency in config.agencies:
        inputs.address(agency, "agency")
        if config.agencies.count(agency) > 1:
            raise ProcurechainError(f"agency {agency} is listed twice")
    if config.phase_cap > 2**128 - 1:
        raise ProcurechainError(f"phase_cap {config.phase_cap} base units is too large")
    if config.token:
        token = inputs.address(config.token, "token")
        if not chain.provider.get_code(token):
            raise ProcurechainError(
                f"token {token} has no code on chain {network.chain_id()}; give the ERC-20's "
                "address on this network"
            )


def _deploy(
    deployer: Any, config: SuiteConfig, chain_id: int, contracts: dict[str, Any]
) -> dict[str, Any]:
    """The transactions of :func:`deploy_suite`; ``contracts`` fills up as they land."""
    from ape import chain, project

    if config.token:
        contracts["Token"] = {"address": config.token, "external": True}
    else:
        token = deployer.deploy(project.DemoStablecoin, deployer)
        contracts["Token"] = _record(token)

    agreement_impl = deployer.deploy(project.Agreement)
    contracts["AgreementImplementation"] = _record(agreement_impl)
    consortium = deployer.deploy(
        project.Consortium,
        [m.address for m in config.members],
        [m.roles for m in config.members],
        config.threshold,
        [p.selector for p in config.policies],
        [(p.roles, p.subject_arg) for p in config.policies],
    )
    contracts["Consortium"] = _record(consortium)
    registry = deployer.deploy(
        project.Registry,
        consortium,
        agreement_impl,
        contracts["Token"]["address"],
        config.phase_cap,
        config.ocid_prefix,
    )
    contracts["Registry"] = _record(registry)
    contracts["TenderImplementation"] = {"address": str(registry.tenderImplementation())}

    pending: list[str] = []
    reserved: list[int] = []
    signers = _local_signers(config)
    for agency in config.agencies:
        call = call_of(registry, "addAgency", agency, description=f"admit buying agency {agency}")
        proposal = cs.propose(consortium, call, avoid_nonces=reserved)
        reserved.append(proposal.action.nonce)
        for signer in signers:
            cs.sign(proposal, consortium, signer)
        if len(signers) >= config.threshold:
            cs.execute(proposal, consortium, deployer)
        else:
            path = config.proposals_dir / f"add-agency-{agency[2:10].lower()}.json"
            proposal.save(path)
            pending.append(str(path))

    head = chain.provider.web3.eth.get_block("latest")
    manifest = {
        "network": chain.provider.network.name,
        "chainId": chain_id,
        "deployer": str(deployer.address),
        "block": int(head["number"]),
        "blockHash": head["hash"].to_0x_hex(),
        "solc": _solc_version(),
        "gitCommit": _git_commit(),
        "contracts": contracts,
        "members": [
            {"name": m.name, "address": m.address, "roles": m.roles} for m in config.members
        ],
        "threshold": config.threshold,
        "pendingProposals": pending,
    }
    write_manifest(manifest)
    return manifest
