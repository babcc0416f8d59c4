"""Deployment: the suite from the devnet defaults or a file, recorded in a manifest."""

import json
from pathlib import Path

import pytest
import yaml

from procurechain import consortium as cs
from procurechain.deploy import deploy_suite, devnet_config, load_config
from procurechain.deployments import deployed, manifest_path, read_manifest
from procurechain.errors import ProcurechainError

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "example.yaml"


@pytest.fixture(autouse=True)
def manifest_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURECHAIN_DEPLOYMENTS", str(tmp_path / "deployments"))
    return tmp_path / "deployments"


def test_devnet_defaults_deploy_the_reference_consortium(deployer, agency, auditor, technical):
    manifest = deploy_suite(deployer, devnet_config())
    consortium = deployed("Consortium")
    registry = deployed("Registry")
    assert consortium.threshold() == 3
    assert consortium.memberCount() == 5
    assert consortium.memberInfo(auditor)[1] == cs.ROLES["auditor"]
    assert registry.isAgency(agency)
    assert registry.consortium() == consortium.address
    assert (
        registry.agreementImplementation()
        == manifest["contracts"]["AgreementImplementation"]["address"]
    )
    assert deployed("Token").symbol() == "dUSD"
    recorded = json.loads(manifest_path().read_text())
    assert recorded["solc"].startswith("0.8.28")
    assert len(recorded["gitCommit"]) in (40, len("unknown"))
    assert recorded["contracts"]["Registry"]["block"] > 0
    assert recorded["pendingProposals"] == []


def test_role_policies_are_installed(deployer):
    deploy_suite(deployer, devnet_config())
    consortium = deployed("Consortium")
    from eth_utils import function_signature_to_4byte_selector as selector

    assert consortium.policyOf(selector("acceptMilestone(uint256)")) == (cs.ROLES["auditor"], 0)
    assert consortium.policyOf(selector("award(address,bytes32)")) == (0, 1)
    # a dispute resolution pays the supplier as an acceptance does: it needs the auditor too
    assert consortium.policyOf(selector("resolveDispute(uint256,uint256,bytes32)")) == (
        cs.ROLES["auditor"] | cs.ROLES["legal"],
        0,
    )
    # and every action on the consortium itself needs every role a policy requires
    assert consortium.governanceRoles() == cs.ROLES["auditor"] | cs.ROLES["legal"]


def test_redeploying_is_refused_unless_forced(deployer):
    first = deploy_suite(deployer, devnet_config())
    with pytest.raises(ProcurechainError, match="already deployed on this network"):
        deploy_suite(deployer, devnet_config())
    second = deploy_suite(deployer, devnet_config(), force=True)
    assert second["contracts"]["Registry"] != first["contracts"]["Registry"]
    assert read_manifest()["contracts"]["Registry"] == second["contracts"]["Registry"]


def test_example_file_loads(deployer):
    config = load_config(EXAMPLE)
    assert config.threshold == 3
    assert [m.roles for m in config.members] == [1, 2, 4, 8, 16]
    assert config.phase_cap == 100_000 * 10**6
    assert config.token is None
    manifest = deploy_suite(deployer, config)
    assert deployed("Registry").isAgency(config.agencies[0])
    assert manifest["members"][0]["name"] == "City Parks Department"


def test_without_member_keys_agencies_become_proposals(deployer, tmp_path, stranger):
    document = yaml.safe_load(EXAMPLE.read_text())
    for member in document["consortium"]["members"]:
        member["address"] = "0x" + f"{hash(member['name']) & (2**160 - 1):040x}"
    document["registry"]["agencies"] = [str(stranger.address)]
    document["proposals_dir"] = str(tmp_path / "proposals")
    path = tmp_path / "foreign.yaml"
    path.write_text(yaml.safe_dump(document))
    manifest = deploy_suite(deployer, load_config(path))
    assert not deployed("Registry").isAgency(stranger)
    [bundle] = manifest["pendingProposals"]
    proposal = cs.Proposal.load(bundle)
    assert proposal.action.target == manifest["contracts"]["Registry"]["address"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["consortium"].update(threshold=6), "threshold 6 is impossible"),
        (lambda d: d["consortium"]["members"][0].update(roles=["mayor"]), "unknown role 'mayor'"),
        (lambda d: d["consortium"]["members"][1].update(address="0x12"), "is not an address"),
        (
            lambda d: d["consortium"]["policies"].append({"function": "acceptMilestone(uint8)"}),
            r"acceptMilestone\(uint8\) is not a function",
        ),
        (lambda d: d["registry"].update(phase_cap="-5"), "must be a positive amount"),
        (
            lambda d: d["consortium"]["policies"][2].update(roles=["legal"]),
            r"policy resolveDispute\(uint256,uint256,bytes32\) must require role auditor",
        ),
        (lambda d: d.pop("consortium"), "missing or invalid key"),
        (lambda d: d["registry"].update(ocid_prefix="ocds-CITY"), "is not an OCDS prefix"),
        (lambda d: d["registry"].update(ocid_prefix="city-123456"), "is not an OCDS prefix"),
    ],
)
def test_bad_deployment_files_are_refused_before_anything_is_sent(
    deployer, tmp_path, change, message, chain
):
    document = yaml.safe_load(EXAMPLE.read_text())
    change(document)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(document))
    nonce = deployer.nonce
    with pytest.raises(ProcurechainError, match=message):
        deploy_suite(deployer, load_config(path))
    assert deployer.nonce == nonce
