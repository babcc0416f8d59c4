"""procurechain.record.cove: libcoveocds (the OCDS Data Review Tool's library), offline."""

from __future__ import annotations

import copy
import json
import socket
import zipfile
from typing import Any

import ocdsmerge
import pytest
import requests
from ocdsextensionregistry.util import session as extension_session
from ocdskit.combine import merge

from procurechain.record import cove

BID = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/"
    "v1.1.5/extension.json"
)
BUYER = {"id": "US-CITY-PARKS", "name": "City Parks Department"}
SUPPLIER = {"id": "US-EIN-123456789", "name": "Benchworks Ltd"}
OCID = "ocds-213czf-benches-1"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any lookup or connection beyond this machine fails the test (Anvil is on loopback)."""
    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise AssertionError(f"network connection to {address} in an offline review")
        return connect(self, address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host not in LOOPBACK and host is not None:
            raise AssertionError(f"DNS lookup of {host} in an offline review")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)


def releases() -> list[dict[str, Any]]:
    """A tender, then its award to the one valid bid (bid extension v1.1.5)."""
    tender = {
        "ocid": OCID,
        "id": f"{OCID}-tender",
        "date": "2024-03-01T09:00:00Z",
        "tag": ["tender"],
        "initiationType": "tender",
        "language": "en",
        "parties": [
            {**BUYER, "roles": ["buyer", "procuringEntity"]},
            {**SUPPLIER, "roles": ["tenderer"]},
        ],
        "buyer": BUYER,
        "tender": {
            "id": "benches-1",
            "title": "40 park benches",
            "status": "active",
            "procuringEntity": BUYER,
            "value": {"amount": 50000, "currency": "USD"},
            "procurementMethod": "open",
            "mainProcurementCategory": "goods",
            "items": [
                {"id": "1", "description": "Park bench", "quantity": 40, "unit": {"name": "bench"}}
            ],
            "tenderPeriod": {
                "startDate": "2024-03-01T09:00:00Z",
                "endDate": "2024-03-08T09:00:00Z",
            },
        },
    }
    award = copy.deepcopy(tender)
    award.update(id=f"{OCID}-award", date="2024-03-09T09:00:00Z", tag=["award"])
    award["parties"][1]["roles"] = ["tenderer", "supplier"]
    award["tender"]["status"] = "complete"
    award["bids"] = {
        "statistics": [{"id": "1", "measure": "validBids", "value": 1}],
        "details": [
            {
                "id": "bid-1",
                "date": "2024-03-05T09:00:00Z",
                "status": "valid",
                "tenderers": [SUPPLIER],
                "value": {"amount": 42500, "currency": "USD"},
            }
        ],
    }
    award["awards"] = [
        {
            "id": "award-1",
            "status": "active",
            "date": "2024-03-09T09:00:00Z",
            "value": {"amount": 42500, "currency": "USD"},
            "suppliers": [SUPPLIER],
            "relatedBid": "bid-1",
        }
    ]
    return [tender, award]


def release_package() -> dict[str, Any]:
    """A small, fully valid OCDS 1.1 release package using the bid extension v1.1.5."""
    return {
        "uri": "https://example.org/benches/releases.json",
        "version": "1.1",
        "extensions": [BID],
        "publishedDate": "2024-03-09T09:00:00Z",
        "publisher": {"name": "City Parks Department"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "releases": releases(),
    }


def changed(change) -> dict[str, Any]:
    package = release_package()
    change(package)
    return package


# ---------------------------------------------------------------------------- release packages


def test_a_valid_release_package_with_the_bid_extension_is_clean():
    result = cove.review(release_package())
    assert result.errors == []
    assert result.warnings == []
    assert result.clean
    assert result.raw["version_used"] == "1.1"
    assert result.raw["schema_url"].endswith("/release-package-schema.json")
    assert result.raw["extensions"]["is_extended_schema"] is True
    assert result.raw["extensions"]["invalid_extensions"] == []
    assert result.raw["count"] == 2


def test_an_unknown_field_is_a_warning_naming_it():
    # relatedBids (plural) is the bid extension's 1.2 name; v1.1.5 has relatedBid
    result = cove.review(changed(lambda p: p["releases"][1]["awards"][0].update(relatedBids=["x"])))
    assert result.errors == []
    assert result.warnings == [
        "releases/awards/relatedBids: additional field, not in the schema or its extensions (1 use)"
    ]


def test_an_unknown_object_is_one_warning_for_its_outermost_field():
    block = {"number": 1, "hash": {"algorithm": "keccak-256"}}
    result = cove.review(changed(lambda p: [r.update(block=block) for r in p["releases"]]))
    assert result.errors == []
    assert result.warnings == [
        "releases/block: additional field, not in the schema or its extensions (2 uses)"
    ]


def test_a_wrong_type_is_an_error():
    result = cove.review(changed(lambda p: p["releases"][0]["tender"]["value"].update(amount="5")))
    assert result.warnings == []
    [error] = result.errors
    assert error.startswith("releases/0/tender/value/amount: 'amount' is not a number."), error
    assert error.endswith('(value: "5")'), error


def _set(path: str, value: Any):
    """A change setting ``value`` at ``path`` (``a/0/b``) in the package."""

    def change(package: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split("/")]
        target: Any = package
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _dup_award(package: dict[str, Any]) -> None:
    awards = package["releases"][1]["awards"]
    awards.append(copy.deepcopy(awards[0]))


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param(
            _set("releases/0/tender/status", "open"),
            "releases/tender/status: 'open' not in the closed codelist tenderStatus.csv",
            id="closed-codelist",
        ),
        pytest.param(
            _set("releases/1/bids/details/0/status", "winning"),
            "releases/bids/details/status: 'winning' not in the closed codelist bidStatus.csv",
            id="closed-codelist-of-the-extension",
        ),
        pytest.param(
            _set("releases/0/tender/value/currency", "dUSD"),
            "releases/tender/value/currency: 'dUSD' not in the closed codelist currency.csv",
            id="currency",
        ),
        pytest.param(
            _set("releases/1/id", f"{OCID}-tender"),
            f'releases: Non-unique combination of ocid, id values (value: "{OCID}, {OCID}-tender")',
            id="duplicate-release-id",
        ),
        pytest.param(
            _dup_award,
            'releases/1/awards: Non-unique id values (value: "award-1")',
            id="duplicate-award-id",
        ),
        pytest.param(
            lambda p: p.pop("uri"), "(package): 'uri' is missing but required", id="no-uri"
        ),
        pytest.param(
            _set("releases/0/date", "yesterday"),
            'releases/0/date: Date is not in the correct format (value: "yesterday")',
            id="date",
        ),
        pytest.param(
            _set("version", "1.0"),
            "version: The version in the data is not one of 1.1",
            id="version",
        ),
    ],
)
def test_errors(change, error):
    result = cove.review(changed(change))
    assert result.errors == [error]
    assert result.warnings == []


@pytest.mark.parametrize(
    ("change", "warning"),
    [
        pytest.param(
            _set("releases/0/tender/submissionMethod", ["blockchain"]),
            "releases/tender/submissionMethod: 'blockchain' not in the open codelist "
            "submissionMethod.csv",
            id="open-codelist",
        ),
        pytest.param(
            _set("releases/1/bids/statistics/0/measure", "revealedBids"),
            "releases/bids/statistics/measure: 'revealedBids' not in the open codelist "
            "bidStatistics.csv",
            id="open-codelist-of-the-extension",
        ),
        pytest.param(
            _set("releases/0/tender/description", " "),
            "releases/0/tender/description: empty (set to an empty or blank value)",
            id="blank-string",
        ),
        pytest.param(
            _set("releases/0/tender/milestones", []),
            "releases/0/tender/milestones: empty (set to an empty or blank value)",
            id="empty-array",
        ),
        pytest.param(
            lambda p: [r.update(ocid="benches-1") for r in p["releases"]],
            "releases/0/ocid: ocid 'benches-1' does not start with a prefix ('ocds-' and 6 of "
            "[a-z0-9])",
            id="ocid-prefix",
        ),
        pytest.param(
            _set("releases/0/tender/amendment", {"rationale": "budget"}),
            "releases/0/tender/amendment: deprecated in OCDS 1.1: The single amendment object "
            "has been deprecated in favour of including amendments in an amendments (plural) "
            "array.",
            id="deprecated",
        ),
        pytest.param(
            lambda p: p["releases"][0]["parties"][1].pop("id"),
            "releases/0/parties/1/id: missing (an object in an array needs an id to be merged)",
            id="missing-id",
        ),
    ],
)
def test_warnings(change, warning):
    result = cove.review(changed(change))
    assert result.errors == []
    assert result.warnings[0] == warning


def test_duplicate_bid_ids_pass_unnoticed():
    # bids.details has no uniqueItems in the bid extension v1.1.5 (core arrays have it), so
    # libcoveocds does not look for duplicate ids there
    def duplicate_bid(package: dict[str, Any]) -> None:
        details = package["releases"][1]["bids"]["details"]
        details.append(copy.deepcopy(details[0]))

    assert cove.review(changed(duplicate_bid)).clean


def test_an_unregistered_but_well_formed_ocid_prefix_passes():
    # libcoveocds checks the prefix's format only; whether it is registered is not checked
    result = cove.review(changed(lambda p: [r.update(ocid="ocds-zzzzzz-1") for r in p["releases"]]))
    assert result.clean, result


# ---------------------------------------------------------------------------- record packages


def _record_with_ocdsmerge(package: dict[str, Any]) -> dict[str, Any]:
    """A record package as ocdsmerge compiles it, with linked releases."""
    merger = ocdsmerge.Merger(cove.release_schema(package["extensions"]))
    record = {
        "ocid": OCID,
        "releases": [
            {"url": f"{package['uri']}#{r['id']}", "date": r["date"], "tag": r["tag"]}
            for r in package["releases"]
        ],
        "compiledRelease": merger.create_compiled_release(package["releases"]),
        "versionedRelease": merger.create_versioned_release(package["releases"]),
    }
    metadata = {k: v for k, v in package.items() if k != "releases"}
    return {**metadata, "uri": "https://example.org/benches/records.json", "records": [record]}


def _record_with_ocdskit(package: dict[str, Any]) -> dict[str, Any]:
    """A record package as ocdskit packages it, with embedded releases."""
    return next(
        merge(
            [package],
            uri="https://example.org/benches/records.json",
            publisher=package["publisher"],
            published_date=package["publishedDate"],
            schema=cove.release_schema(package["extensions"]),
            return_package=True,
            return_versioned_release=True,
        )
    )


@pytest.fixture(params=[_record_with_ocdsmerge, _record_with_ocdskit], ids=["ocdsmerge", "ocdskit"])
def record_package(request):
    return request.param(release_package())


def test_a_record_package_with_compiled_and_versioned_releases_is_clean(record_package):
    record = record_package["records"][0]
    assert record["compiledRelease"]["awards"][0]["relatedBid"] == "bid-1"
    assert record["versionedRelease"]["bids"]["details"][0]["status"][0]["value"] == "valid"
    result = cove.review(record_package)
    assert (result.errors, result.warnings) == ([], [])
    assert result.raw["schema_url"].endswith("/record-package-schema.json")


def test_a_record_package_reports_unknown_and_invalid_fields(record_package):
    record = record_package["records"][0]
    record["compiledRelease"]["awards"][0]["relatedBids"] = ["bid-1"]
    record["versionedRelease"]["block"] = [{"releaseID": "x", "value": 1}]
    record["compiledRelease"]["tender"]["value"]["amount"] = "many"
    result = cove.review(record_package)
    assert result.errors == [
        "records/0/compiledRelease/tender/value/amount: 'amount' is not a number. Check that "
        "the value doesn\u2019t contain any characters other than 0-9 and dot ('.'). Number values "
        'should not be in quotes. (value: "many")'
    ]
    assert result.warnings == [
        "records/compiledRelease/awards/relatedBids: additional field, not in the schema or its "
        "extensions (1 use)",
        "records/versionedRelease/block: additional field, not in the schema or its extensions "
        "(1 use)",
    ]


def test_kind_can_be_forced():
    result = cove.review(release_package(), kind="record")
    assert "(package): 'records' is missing but required" in result.errors


# ---------------------------------------------------------------------------- offline


def test_an_extension_not_served_locally_raises_instead_of_fetching():
    lots = BID.replace("ocds_bid_extension", "ocds_lots_extension")
    with pytest.raises(cove.OfflineError, match=r"ocds_lots_extension.*not served offline"):
        cove.review(changed(lambda p: p["extensions"].append(lots)))
    with pytest.raises(cove.OfflineError, match="ocds_lots_extension"):
        cove.release_schema([BID, lots])


def test_the_session_refuses_unmapped_urls_and_is_restored_afterwards():
    with cove.offline(), pytest.raises(cove.OfflineError, match=r"example\.org/x\.json"):
        extension_session.get("https://example.org/x.json")
    with cove.offline():
        served = extension_session.get(BID.replace("extension.json", "codelists/bidStatus.csv"))
        missing = extension_session.get(BID.replace("extension.json", "no-such-file.json"))
    assert served.status_code == 200 and served.text.startswith("Code,Title,Description")
    assert missing.status_code == 404
    assert isinstance(extension_session.get_adapter(BID), requests.adapters.HTTPAdapter)


def test_more_extension_folders_can_be_served():
    """An extension published elsewhere than GitHub is fetched file by file, not as an archive."""
    elsewhere = "https://example.org/ocds/bids/"
    package = changed(lambda p: p.update(extensions=[f"{elsewhere}extension.json"]))
    folder = cove.SCHEMA_DIR / "extensions" / "bids"
    result = cove.review(package, extensions={elsewhere: folder})
    assert result.clean, result
    assert result.raw["extensions"]["is_extended_schema"] is True


def test_every_vendored_extension_folder_has_its_url():
    folders = {p for p in (cove.SCHEMA_DIR / "extensions").iterdir() if p.is_dir()}
    mapped = cove.extension_folders()
    assert set(mapped.values()) == folders
    assert mapped[BID.removesuffix("extension.json")] == cove.SCHEMA_DIR / "extensions" / "bids"


def test_the_standard_zip_is_laid_out_like_the_standards_archive_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = cove.standard_zip()
    assert path.parent == tmp_path / "procurechain" / "cove"
    names = zipfile.ZipFile(path).namelist()
    assert names[0] == "standard-1__1__5/"
    schema = "standard-1__1__5/schema/"
    for name in (
        "release-schema.json",
        "release-package-schema.json",
        "record-package-schema.json",
        "versioned-release-validation-schema.json",
        "codelists/tenderStatus.csv",
    ):
        assert schema + name in names
    versioned = json.loads(
        zipfile.ZipFile(path).read(f"{schema}versioned-release-validation-schema.json")
    )
    assert versioned["id"].endswith("/1__1__5/versioned-release-validation-schema.json")
    built = path.stat().st_mtime_ns
    assert cove.standard_zip() == path and path.stat().st_mtime_ns == built
