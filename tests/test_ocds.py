"""The OCDS export of the reference scenario and of a small simulated city.

What a reviewer checks with libcoveocds and ocdskit, checked here against the audit log (an
independent reading of the chain): every release is its process as of its own date (no date
in it later than its own, no price before its reveal, dates strictly increasing, none empty,
tags that say what changed); money is told once (transactions are payments to the supplier,
never more than the contract); words come from the chain, or say they cannot be shown; the
token is declared; release and record packages validate offline.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer
from itertools import pairwise
from typing import Any, ClassVar

import click
import pytest

from procurechain import audit, ocds
from procurechain.deployments import deployed
from procurechain.record import facts as chain_facts
from procurechain.record import notice as nt
from procurechain.record import packages, schema
from procurechain.record.content import OnChainNotice
from procurechain.record.money import iso
from procurechain.record.texts import DocumentChecker
from procurechain.scenario import BENCHES, run_reference
from procurechain.simulation import SimulationConfig, simulate

from conftest import deployments_in, load_script

#: Date fields that say when something happened: never later than their release.
PAST = {"date", "dateSigned", "dateMet", "dateModified", "datePublished", "publishedDate"}
#: Deadlines, legitimately later than the release that announces them.
FUTURE = {"endDate", "dueDate"}
#: ``tenderPeriod.startDate`` is the publication (any other ``startDate`` is held to it too).
STARTS = {"startDate"}


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The reference scenario, its audit log and the facts read from the chain."""
    out = tmp_path_factory.mktemp("demo")
    with deployments_in(out / "deployments"):
        result = run_reference(out)
        registry = deployed("Registry")
        log = audit.collect(registry, deployed("Consortium"), names=result.names)
        facts = chain_facts.read(
            log, registry, pegged_to="USD", token_description="the devnet's test stablecoin"
        )
        yield result, registry, log, facts


@pytest.fixture(scope="module")
def demo_export(demo):
    result, _, log, facts = demo
    return packages.build(log, facts, names=result.names)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Twelve simulated procurements (a cancellation, a failure, disputes, rejections,
    unrevealed bids), exported with no names and no declared currency."""
    out = tmp_path_factory.mktemp("city")
    with deployments_in(out / "deployments"):
        simulate(SimulationConfig(tenders=12, bidders=4, cohort=6, seed=7, fresh=True))
        registry = deployed("Registry")
        log = audit.collect(registry, deployed("Consortium"))
        facts = chain_facts.read(log, registry)
        yield log, facts, packages.build(log, facts)


@pytest.fixture(params=["demo", "city"])
def case(request, demo, demo_export, city) -> tuple[audit.AuditLog, Any, packages.Export]:
    """Each check runs on both histories."""
    if request.param == "demo":
        return demo[2], demo[3], demo_export
    return city


def _final(export: packages.Export) -> dict[str, Any]:
    (found,) = export.releases.values()
    return found[-1]


# ---------------------------------------------------------------------------- time


def _dates(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Every field whose name says it is a date: (path, name, value)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str) and (key.lower().startswith("date") or key.endswith("Date")):
                yield f"{path}/{key}", key, value
            else:
                yield from _dates(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _dates(value, f"{path}/{i}")


def late_dates(releases_of: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Past-facing dates later than their release, and date fields nobody classified."""
    problems = []
    for found in releases_of.values():
        for release in found:
            for path, key, value in _dates({k: v for k, v in release.items() if k != "date"}):
                if key not in PAST | FUTURE | STARTS:
                    problems.append(f"{release['id']}{path}: a date field nobody classified")
                elif key not in FUTURE and value > release["date"]:
                    problems.append(f"{release['id']}{path} {value} > {release['date']}")
    return problems


def test_no_date_in_a_release_is_later_than_the_release(case):
    _, _, export = case
    assert late_dates(export.releases) == []


def test_releases_of_an_ocid_have_strictly_increasing_dates_and_unique_ids(case):
    log, _, export = case
    times = {e.block: e.timestamp for e in log.entries}
    for ocid, found in export.releases.items():
        dates = [r["date"] for r in found]
        assert dates == sorted(set(dates)), ocid
        for release in found:
            assert release["ocid"] == ocid
            block = int(release["id"].rsplit("-", 1)[1])  # <ocid>-<last block of the group>
            assert release["id"] == f"{ocid}-{block}"
            assert iso(times[block]) == release["date"]


def test_no_release_repeats_the_previous_one(case):
    _, _, export = case
    for found in export.releases.values():
        bodies = [{k: v for k, v in r.items() if k not in ("id", "date", "tag")} for r in found]
        assert all(a != b for a, b in pairwise(bodies))


def test_a_bid_shows_its_price_only_from_its_reveal(case):
    log, facts, export = case
    tenders = {ocid: log.tenders[i] for i, ocid in facts.ocids.items()}
    for ocid, found in export.releases.items():
        revealed = {
            e.args["bidder"]: (iso(e.timestamp), e.args["price"])
            for e in log.at(tenders[ocid])
            if e.event == "BidRevealed"
        }
        for release in found:
            for bid in release.get("bids", {}).get("details", []):
                bidder = bid["tenderers"][0]["id"]
                opened = bidder in revealed and revealed[bidder][0] <= release["date"]
                assert ("value" in bid) == opened, (release["id"], bid["id"])
                assert bid["status"] != "pending" or not opened


def _changed(before: dict[str, Any], after: dict[str, Any], section: str) -> set[str]:
    old = {x["id"]: x for x in before.get(section, [])}
    return {x["id"] for x in after.get(section, []) if old.get(x["id"], x) != x}


def test_each_tag_says_what_changed_and_each_change_has_its_tag(case):
    log, facts, export = case
    needs = {
        "BidAwarded": "award",
        "TenderCancelled": "tenderCancellation",
        "AwardAccepted": "contract",
        "AgreementCompleted": "contractTermination",
        "AgreementTerminated": "contractTermination",
        "AgreementFunded": "implementation",
    }
    tenders = {ocid: log.tenders[i] for i, ocid in facts.ocids.items()}
    for ocid, found in export.releases.items():
        assert found[0]["tag"] == ["tender"]
        own = [*log.at(tenders[ocid]), *log.at(log.agreements.get(tenders[ocid], ""))]
        for before, after in pairwise(found):
            tags = set(after["tag"])
            happened = {e.event for e in own if before["date"] < iso(e.timestamp)}
            happened &= {e.event for e in own if iso(e.timestamp) <= after["date"]}
            for event, tag in needs.items():
                assert event not in happened or tag in tags, (after["id"], event, tags)
            tender_changed = before["tender"] != after["tender"] or before.get("bids") != after.get(
                "bids"
            )
            assert tender_changed == bool(tags & {"tenderUpdate", "tenderCancellation"})
            new_awards = {a["id"] for a in after.get("awards", [])} - {
                a["id"] for a in before.get("awards", [])
            }
            assert bool(new_awards) == ("award" in tags)
            changed = _changed(before, after, "awards")
            assert bool(changed) == bool(tags & {"awardUpdate", "awardCancellation"})
            assert ("contract" in tags) == (
                len(after.get("contracts", [])) > len(before.get("contracts", []))
            )
            contract = (after.get("contracts") or [{}])[0]
            was = (before.get("contracts") or [{}])[0]
            if "contractTermination" in tags:
                assert contract["status"] == "terminated" != was["status"]
            if "contractUpdate" in tags:
                strip = lambda c: {k: v for k, v in c.items() if k != "implementation"}  # noqa: E731
                assert strip(contract) != strip(was)
            assert ("implementation" in tags) == (
                "implementation" in contract and "implementation" not in was
            )
            if "implementationUpdate" in tags:
                assert was.get("implementation") != contract["implementation"]
            if "tenderCancellation" in tags:
                assert after["tender"]["status"] == "cancelled" != before["tender"]["status"]


# ---------------------------------------------------------------------------- money


def test_transactions_are_payments_to_the_supplier_never_more_than_the_contract(case):
    log, facts, export = case
    agreements = set(log.agreements.values())
    for found in export.releases.values():
        final = found[-1]
        assert not {p["id"] for p in final["parties"]} & agreements  # the escrow is no party
        roles = {p["id"]: set(p["roles"]) for p in final["parties"]}
        for contract in final.get("contracts", []):
            award = next(a for a in final["awards"] if a["id"] == contract["awardID"])
            supplier = award["suppliers"][0]["id"]
            paid = contract.get("implementation", {}).get("transactions", [])
            assert sum(t["value"]["amount"] for t in paid) <= contract["value"]["amount"]
            withdrawn = sum(
                e.args["amount"]
                for e in log.at(contract["id"])
                if e.event == "Withdrawn" and e.args["account"] == supplier
            )
            scale = 10**facts.currency.decimals
            assert round(sum(t["value"]["amount"] for t in paid) * scale) == withdrawn
            for t in paid:
                assert (
                    t["payer"]["id"] == final["buyer"]["id"] and "payer" in roles[t["payer"]["id"]]
                )
                assert t["payee"]["id"] == supplier and "payee" in roles[supplier]
            deposits = [
                d
                for d in contract.get("implementation", {}).get("documents", [])
                if "deposited in the escrow" in d["description"]
            ]
            assert len(deposits) == (contract["status"] != "pending")
            assert all(d["documentType"] == "financialProgressReport" for d in deposits)


def test_the_demo_money_reads_as_it_moved(demo_export):
    (contract,) = _final(demo_export)["contracts"]
    (payment,) = contract["implementation"]["transactions"]
    assert payment["value"] == {"amount": 40_749, "currency": "USD"}
    assert (payment["payer"]["name"], payment["payee"]["name"]) == (
        "City Parks (agency)",
        "Benchworks Ltd",
    )
    statements = [
        d["description"]
        for d in contract["implementation"]["documents"]
        if d["documentType"] == "financialProgressReport"
    ]
    assert statements[0].startswith(
        f"42,500.00 dUSD deposited in the escrow (smart contract {contract['id']}) by City Parks"
    )
    assert any("51.00 dUSD of the escrow credited back to City Parks" in s for s in statements)
    assert any("1,700.00 dUSD of the escrow credited back to City Parks" in s for s in statements)
    assert any(
        "City Parks (agency) withdrew 1,751.00 dUSD from the escrow" in s for s in statements
    )


# ---------------------------------------------------------------------------- words


def test_the_demo_tender_reads_from_its_notice_on_the_chain(demo_export):
    notice = nt.load(BENCHES / "notice.yaml")
    first = next(iter(demo_export.releases.values()))[0]
    tender = first["tender"]
    assert (tender["title"], tender["description"]) == (notice.title, notice.description)
    assert tender["mainProcurementCategory"] == "goods"
    assert tender["items"][0] == {
        "id": "item-1",
        "description": notice.items[0].description,
        "classification": {"scheme": "CPV", "id": "39113300", "description": "Park benches"},
        "quantity": 40,
        "unit": {"name": "bench"},
    }
    (spec,) = [d for d in tender["documents"] if d["documentType"] == "technicalSpecifications"]
    assert spec["url"] == notice.documents[0].url and spec["format"] == "text/markdown"
    assert notice.documents[0].sha256 in spec["description"]
    assert "not verified by this export" in spec["description"]
    assert [m["title"] for m in tender["milestones"]] == list(notice.milestones)
    assert "bond of 500.00 dUSD" in tender["procurementMethodDetails"]
    budget = first["planning"]["budget"]
    assert budget["amount"] == {"amount": 50_000, "currency": "USD"}
    assert "Amounts are dUSD (ERC-20 token 0x" in budget["description"]
    assert (
        "on chain 31337, 6 decimals), the devnet's test stablecoin, pegged 1:1 to USD"
        in (budget["description"])
    )


def test_the_demo_decisions_carry_their_published_words(demo_export, demo):
    final = _final(demo_export)
    (award,) = final["awards"]
    assert award["description"].startswith("Award report: 3 sealed bids.")
    assert "signed by City Parks (agency), Citizen rep and Legal expert" in award["description"]
    assert award["documents"][0]["documentType"] == "evaluationReports"
    bids = {b["tenderers"][0]["name"]: b for b in final["bids"]["details"]}
    assert award["relatedBid"] == bids["Benchworks Ltd"]["id"]
    assert "relatedBids" not in award
    quiet = bids["Quiet Bidder"]
    assert quiet["status"] == "withdrawn" and "value" not in quiet
    (bond,) = [d for d in quiet["documents"] if d["documentType"] == "contractGuarantees"]
    assert "Forfeited on" in bond["description"] and "never revealed" in bond["description"]
    assert bids["Luxury Seating"]["status"] == "disqualified"
    (conflict,) = [
        d for d in final["tender"]["documents"] if d["documentType"] == "conflictOfInterest"
    ]
    assert "Technical expert" in conflict["title"]
    assert "I advised Benchworks Ltd on its bench designs" in conflict["description"]
    first, second, third = final["contracts"][0]["milestones"]
    assert first["status"] == "met" and "on time" in first["description"]
    assert "3 days late" in second["description"]
    assert "late penalty 51.00 dUSD" in second["description"]
    assert "retention 850.00 dUSD held until the warranty ends" in second["description"]
    assert third["status"] == "partiallyMet" and "80% of the milestone" in third["description"]
    complaints = [
        d["description"]
        for d in final["contracts"][0]["implementation"]["documents"]
        if d["documentType"] == "complaints"
    ]
    assert any("4 of the 40 benches are not anchored" in c for c in complaints)
    assert any("80% of the milestone is paid" in c for c in complaints)
    roles = {p["name"]: set(p["roles"]) for p in final["parties"]}
    assert roles == {
        "City Parks (agency)": {"buyer", "procuringEntity", "payer"},
        "Consortium": {"reviewBody"},
        "Benchworks Ltd": {"tenderer", "supplier", "payee"},
        "Luxury Seating": {"tenderer"},
        "Quiet Bidder": {"tenderer"},
    }


def test_a_reason_nobody_published_is_named_by_its_hash_never_invented(demo):
    result, _, log, facts = demo
    silent = packages.build(replace(log, texts={}), facts, names=result.names)
    final = _final(silent)
    report = next(e for e in log.entries if e.event == "BidAwarded").args["reportHash"]
    assert final["awards"][0]["description"].startswith(
        f"The award report was not published on the chain (keccak-256 {report}); it cannot be "
        "shown."
    )
    assert "I advised" not in json.dumps(final)


def test_a_notice_that_cannot_be_read_shows_no_text(demo):
    result, _, log, facts = demo
    (tender,) = facts.notices
    unusable = nt.read(b'{"title": 1}')
    for notice, problem in (
        (OnChainNotice("0x01", None, "the node has no traces"), "the node has no traces"),
        (OnChainNotice("0x01", unusable, ""), unusable.problems[0]),
    ):
        broken = replace(facts, notices={tender: notice})
        first = next(iter(packages.build(log, broken, names=result.names).releases.values()))[0]
        assert first["tender"]["title"].startswith("Tender 1 (its notice could not be read: ")
        assert problem in first["tender"]["title"]
        assert "items" not in first["tender"] and "description" not in first["tender"]
        assert first["tender"]["milestones"][0]["title"].startswith("Milestone 1 (its title was")
    benches = nt.load(BENCHES / "notice.yaml")
    flawed = nt.Reading(benches.encode(), benches, ("the notice is not valid UTF-8",))
    broken = replace(facts, notices={tender: OnChainNotice("0x01", flawed, "")})
    first = next(iter(packages.build(log, broken, names=result.names).releases.values()))[0]
    assert first["tender"]["title"] == benches.title  # usable, and what was wrong is said
    assert first["tender"]["description"].endswith(
        "[Read with problems: the notice is not valid UTF-8]"
    )


# ---------------------------------------------------------------------------- packages


def test_release_and_record_packages_validate_offline(case):
    _, _, export = case
    assert schema.validate(export.combined) == []
    for ocid, found in export.releases.items():
        assert schema.validate(export.release_packages[ocid]) == []
        record = export.record_packages[ocid]
        assert schema.validate(record) == []
        (compiled,) = [r["compiledRelease"] for r in record["records"]]
        strip = {"id", "date", "tag"}
        assert {k: v for k, v in compiled.items() if k not in strip} == {
            k: v for k, v in found[-1].items() if k not in strip
        }  # ocdsmerge, given full snapshots, compiles the last one
        assert [r["url"].rsplit("#", 1)[1] for r in record["records"][0]["releases"]] == [
            r["id"] for r in found
        ]


def test_libcoveocds_reports_no_error_and_no_warning(case):
    """The community's Data Review Tool library, offline (``procurechain.record.cove``)."""
    from procurechain.record import cove

    _, _, export = case
    for package in (
        export.combined,
        *export.release_packages.values(),
        *export.record_packages.values(),
    ):
        review = cove.review(package)
        assert (review.errors, review.warnings) == ([], []), package["uri"]


def test_the_packages_declare_who_publishes_where_and_under_which_licence(demo_export, demo):
    facts = demo[3]
    (ocid,) = demo_export.releases
    package = demo_export.release_packages[ocid]
    assert package["uri"] == f"http://localhost:8000/ocds/{ocid}/releases.json"
    assert demo_export.record_packages[ocid]["uri"].endswith(f"/ocds/{ocid}/record.json")
    assert package["publisher"] == {
        "name": "procurechain devnet",
        "scheme": "CAIP-10",
        "uid": f"eip155:31337:{facts.consortium}",
        "uri": "http://localhost:8000",
    }
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert package["extensions"] == [ocds.BID_EXTENSION]
    assert package["version"] == "1.1"
    used = json.dumps(package)
    assert "relatedBids" not in used and "urn:" not in used


def test_without_a_declared_peg_amounts_carry_xxx_and_say_so(city):
    _, _, export = city
    for found in export.releases.values():
        budget = found[0]["planning"]["budget"]
        assert budget["amount"]["currency"] == "XXX"
        assert "No currency is declared" in budget["description"]
        assert '"USD"' not in json.dumps(found)


def test_validation_catches_a_broken_package(demo_export):
    broken = json.loads(json.dumps(demo_export.combined))
    broken["releases"][0]["tag"] = ["signed"]
    del broken["releases"][1]["initiationType"]
    broken["releases"][-1]["bids"]["details"][0]["status"] = "winning"
    errors = ocds.validate(broken)
    assert any(e.startswith("releases/0/tag/0") for e in errors), errors
    assert any("initiationType" in e for e in errors), errors
    assert any("bids/details/0/status" in e for e in errors), errors


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    patch = {"a": "z", "c": {"f": None}, "n": [1]}
    assert ocds.merge_patch(target, patch) == {"a": "z", "c": {"d": "e"}, "n": [1]}
    assert target == {"a": "b", "c": {"d": "e", "f": "g"}}


def test_a_missing_schema_folder_is_named(tmp_path, demo_export):
    from procurechain.errors import ProcurechainError

    with pytest.raises(ProcurechainError, match="PROCURECHAIN_OCDS_DIR"):
        ocds.validate(demo_export.combined, tmp_path)


def test_the_command_writes_a_release_and_a_record_package_per_process(demo, tmp_path):
    _, registry, log, _ = demo
    command = load_script("audit").cli.commands["export-ocds"].callback
    options = {
        "tender": None,
        "names": None,
        "token_description": "",
        "base_url": "https://procure.example.org",
        "publisher_name": "City of Example",
        "license_": packages.CC_BY_4,
        "publication_policy": None,
        "verify_documents": False,
        "ipfs_gateway": None,
        "registry": str(registry.address),
        "consortium": log.consortium,
    }
    command(out=tmp_path, pegged_to="USD", **options)
    (ocid,) = [p.name for p in tmp_path.iterdir() if p.is_dir()]
    record = json.loads((tmp_path / ocid / "record.json").read_text())
    assert record["uri"] == f"https://procure.example.org/ocds/{ocid}/record.json"
    assert record["publisher"]["name"] == "City of Example"
    assert json.loads((tmp_path / "releases.json").read_text())["releases"]
    assert schema.validate(json.loads((tmp_path / ocid / "releases.json").read_text())) == []
    with pytest.raises(click.ClickException, match="ISO 4217"):
        command(out=tmp_path, pegged_to="dUSD", **options)


def test_the_command_in_its_own_process(demo, ape_run, tmp_path):
    """`ape run audit export-ocds` as a citizen runs it, with the README's options."""
    _, registry, log, _ = demo
    done = ape_run("audit", "export-ocds", "--out", str(tmp_path), "--currency", "USD",
                   "--registry", str(registry.address), "--consortium", log.consortium)  # fmt: skip
    assert re.search(r"Wrote 1 process \(\d+ releases\) as 3 files", done.stdout)
    (package,) = [json.loads(p.read_text()) for p in tmp_path.glob("*/releases.json")]
    assert package["releases"][0]["tender"]["value"]["currency"] == "USD"


# ---------------------------------------------------------------------------- documents


class _Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def served() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_documents_are_verified_only_when_asked_and_say_what_was_found(served, monkeypatch):
    import hashlib

    from procurechain.record import content

    monkeypatch.setattr(content, "MAX_DOCUMENT_BYTES", 2**20)
    data = b"# Technical specification\n"
    digest = hashlib.sha256(data).hexdigest()
    big = b"x" * (2**20 + 1)
    _Files.files = {"/spec.md": data, "/big": big, f"/{nt.ipfs_url(data)[7:]}": data}

    def doc(url: str, sha: str = digest) -> nt.Document:
        return nt.Document("Spec", "technicalSpecifications", "text/markdown", url, sha)

    assert "not verified by this export" in DocumentChecker().check(doc(f"{served}/spec.md"))
    checker = DocumentChecker(verify=True)
    found = checker.check(doc(f"{served}/spec.md"))
    assert re.fullmatch(r"Fetched by this export on \S+Z from \S+/spec\.md: verified: .*\.", found)
    assert "does NOT match" in checker.check(doc(f"{served}/spec.md", "0" * 64))
    assert "could not be fetched" in checker.check(doc(f"{served}/missing"))
    assert "larger than 1 MiB" in checker.check(doc(f"{served}/big"))
    ipfs = doc(nt.ipfs_url(data))
    assert "ipfs:// is not fetched" in checker.check(ipfs)
    assert "names the same SHA-256" in checker.describe(ipfs)
    through = DocumentChecker(verify=True, ipfs_gateway=served)
    assert ": verified: " in through.check(ipfs)
