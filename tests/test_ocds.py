"""The OCDS export: the reference scenario as an OCDS 1.1 release package with bids."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from procurechain import audit, ocds
from procurechain.deployments import deployed
from procurechain.scenario import run_reference

from conftest import deployments_in


@pytest.fixture(scope="module")
def schemas():
    """The OCDS schema folder the project ships (a clone alone runs every test)."""
    folder = ocds.schema_dir()
    assert (folder / "release-package-schema.json").exists(), f"no OCDS schemas in {folder}"
    return folder


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    with deployments_in(out / "deployments"):
        result = run_reference(out)
        registry, consortium = deployed("Registry"), deployed("Consortium")
        log = audit.collect(registry, consortium, names=result.names)
        yield result, registry, log


@pytest.fixture(scope="module")
def package(scenario):
    result, registry, log = scenario
    return ocds.export(log, registry, names=result.names)


def test_the_package_validates_against_ocds_with_the_bid_extension(package, schemas):
    assert ocds.validate(package, schemas) == []
    assert package["version"] == "1.1"
    assert package["extensions"] == [ocds.BID_EXTENSION]
    json.dumps(package)  # serialisable as is


def test_validation_catches_a_broken_package(package, schemas):
    broken = json.loads(json.dumps(package))
    broken["releases"][0]["tag"] = ["signed"]
    del broken["releases"][1]["initiationType"]
    broken["releases"][-1]["bids"]["details"][0]["status"] = "winning"
    errors = ocds.validate(broken, schemas)
    assert any(e.startswith("releases/0/tag/0") for e in errors), errors
    assert any("initiationType" in e for e in errors), errors
    assert any("bids/details/0/status" in e for e in errors), errors


def test_one_release_per_lifecycle_change_with_its_tag(package, scenario):
    _, registry, log = scenario
    releases = package["releases"]
    assert {r["ocid"] for r in releases} == {registry.ocid(1)}
    assert len({r["id"] for r in releases}) == len(releases)
    tags = [tuple(r["tag"]) for r in releases]
    assert tags[0] == ("tender",)
    assert Counter(tags)[("tenderUpdate",)] == 7  # 3 commits, 2 reveals, 2 bond settlements
    assert ("award",) in tags
    assert ("awardUpdate", "contract") in tags
    assert ("contractUpdate", "implementation") in tags  # funding
    assert any("contractTermination" in t for t in tags)
    dates = [r["date"] for r in releases]
    assert dates == sorted(dates)
    # one release per transaction that touched the process
    txs = {
        e.tx
        for e in log.entries
        if e.contract in ("Tender", "Agreement") or e.event == "TenderCreated"
    }
    assert len(releases) == len(txs)


def test_parties_bids_award_and_contract(package):
    final = package["releases"][-1]
    roles = {p["name"]: set(p["roles"]) for p in final["parties"]}
    assert roles["City Parks (agency)"] >= {"buyer", "procuringEntity", "payer"}
    assert roles["Benchworks Ltd"] == {"tenderer", "supplier", "payee"}
    assert roles["Quiet Bidder"] == {"tenderer"}
    assert roles["Consortium"] == {"reviewBody"}
    bids = {b["tenderers"][0]["name"]: b for b in final["bids"]["details"]}
    assert bids["Benchworks Ltd"]["status"] == "valid"
    assert bids["Benchworks Ltd"]["value"] == {"amount": 42_500, "currency": "USD"}
    assert bids["Luxury Seating"]["status"] == "disqualified"  # above the budget
    assert bids["Quiet Bidder"]["status"] == "withdrawn"  # never revealed, bond forfeited
    assert "value" not in bids["Quiet Bidder"]
    (award,) = final["awards"]
    assert award["status"] == "active"
    assert award["relatedBids"] == [bids["Benchworks Ltd"]["id"]]
    (contract,) = final["contracts"]
    assert contract["status"] == "terminated"  # OCDS 1.1: closed, here completed
    assert [m["status"] for m in contract["milestones"]] == ["met", "met", "partiallyMet"]
    assert final["tender"]["value"] == {"amount": 50_000, "currency": "USD"}


def test_every_payment_is_a_transaction(package, scenario):
    _, _, log = scenario
    (contract,) = package["releases"][-1]["contracts"]
    transactions = contract["implementation"]["transactions"]
    withdrawals = log.of("Withdrawn")
    assert len(transactions) == 1 + len(withdrawals)
    funding, *paid = transactions
    assert funding["payer"]["name"] == "City Parks (agency)"
    assert funding["value"] == {"amount": 42_500, "currency": "USD"}
    out = sum(t["value"]["amount"] for t in paid)
    assert out == 42_500  # everything deposited left the escrow again
    assert {t["payee"]["name"] for t in paid} == {"Benchworks Ltd", "City Parks (agency)"}


def test_currency_is_an_argument(scenario, schemas):
    result, registry, log = scenario
    package = ocds.export(log, registry, names=result.names, currency="EUR")
    assert package["releases"][-1]["tender"]["value"]["currency"] == "EUR"
    assert ocds.validate(package, schemas) == []


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    patch = {"a": "z", "c": {"f": None}, "n": [1]}
    assert ocds.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "n": [1]}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}


def test_a_missing_schema_folder_is_named(tmp_path, package):
    from procurechain.errors import ProcurechainError

    with pytest.raises(ProcurechainError, match="PROCURECHAIN_OCDS_DIR"):
        ocds.validate(package, tmp_path)
