"""Tender notices and published texts: what the agency writes is checked before anything is
sent, goes on the chain exactly, and is read back from the chain alone (calldata or logs)
against the hash the contracts logged; hostile bytes never stop the reader."""

import hashlib
import json
import shutil
from pathlib import Path

import ape
import pytest
import yaml
from eth_abi import encode
from eth_utils import keccak

from procurechain import tender as td
from procurechain.audit import collect
from procurechain.calls import call_of
from procurechain.record import content
from procurechain.record import notice as nt
from procurechain.tender import TenderSpec, create_tender

from conftest import DUSD, notice_spec, send_raw

BENCHES = Path(__file__).resolve().parent.parent / "examples" / "benches"


@pytest.fixture
def consortium(project, deployer, agency, auditor, citizen, technical, legal):
    members = [agency, auditor, citizen, technical, legal]
    return deployer.deploy(project.Consortium, members, [1, 2, 4, 8, 16], 3, [], [])


@pytest.fixture
def registry(project, deployer, consortium, agency, auditor, citizen, token):
    from procurechain import consortium as cs

    agreement = deployer.deploy(project.RecordingAgreement)
    registry = deployer.deploy(
        project.Registry, consortium, agreement, token, 100_000 * DUSD, "ocds-x"
    )
    proposal = cs.propose(consortium, call_of(registry, "addAgency", agency))
    for signer in (agency, auditor, citizen):
        proposal = cs.sign(proposal, consortium, signer)
    cs.execute(proposal, consortium, agency)
    return registry


def benches_spec(chain, token, notice: str) -> TenderSpec:
    reading = nt.read(notice)
    titles = reading.notice.milestones if reading.notice else ("a", "b", "c")
    return notice_spec(chain, token, notice, titles)


def write_notice(folder: Path, **changes) -> Path:
    data = yaml.safe_load((BENCHES / "notice.yaml").read_text())
    data.update(changes)
    shutil.copy(BENCHES / "specification.md", folder / "specification.md")
    path = folder / "notice.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


# ---------------------------------------------------------------------------- the file


def test_the_benches_notice_binds_its_document_by_sha256_and_ipfs_cid():
    notice = nt.load(BENCHES / "notice.yaml")
    (spec,) = notice.documents
    data = (BENCHES / "specification.md").read_bytes()
    assert spec.sha256 == hashlib.sha256(data).hexdigest()
    # the URL is the CIDv1 (raw, sha2-256) of the very bytes: anyone can serve and check it
    assert spec.url == nt.ipfs_url(data)
    assert [i.classification.id for i in notice.items] == ["39113300", "45233293"]
    assert notice.category == "goods" and len(notice.milestones) == 3
    text = notice.encode()
    assert json.loads(text)["title"] == "40 park benches for Riverside Park"
    assert nt.read(text).notice == notice  # what goes on the chain reads back the same


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"description": "x" * 9_000}, "the chain takes at most 8,192"),
        (
            {"documents": [{"title": "Spec", "type": "technicalSpecifications",
                            "file": "specification.md", "url": "https://a.example/s.md",
                            "sha256": "00" * 32}]},
            "has SHA-256 7dd11050",
        ),
        (
            {"documents": [{"title": "Spec", "type": "technicalSpecifications",
                            "file": "specification.md", "url": "javascript:alert(1)"}]},
            "documents must be at an https://, http:// or ipfs:// URL",
        ),
        (
            {"documents": [{"title": "Spec", "type": "technicalSpecifications",
                            "file": "specification.md", "url": "data:text/html,hi"}]},
            "uses data: scheme",
        ),
        ({"category": "weapons"}, "is not one of goods, works, services"),
        ({"title": "bench\u202eevil"}, "invisible character U+202E"),
        ({"items": []}, "list at least one item"),
        (
            {"items": [{"description": "b", "quantity": -1, "unit": "u",
                        "classification": {"scheme": "CPV", "id": "1"}}]},
            "is not a positive number",
        ),
        (
            {"items": [{"description": "b", "quantity": 1, "unit": "u",
                        "classification": {"scheme": "MADEUP", "id": "1"}}]},
            "itemClassificationScheme codelist",
        ),
        ({"colour": "red"}, "unknown field(s) colour"),
    ],
)  # fmt: skip
def test_a_bad_notice_is_one_sentence(tmp_path, change, message):
    with pytest.raises(nt.NoticeError) as err:
        nt.load(write_notice(tmp_path, **change))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_notices_from_the_command_line_send_nothing(tmp_path, ape_run, registry, token, agency):
    nonce = agency.nonce
    for change, message in (
        ({"description": "x" * 9_000}, "the chain takes at most 8,192"),
        (
            {"documents": [{"title": "Spec", "type": "technicalSpecifications",
                            "file": "specification.md", "url": "ftp://a.example/s.md"}]},
            "documents must be at an https://, http:// or ipfs:// URL",
        ),
        (
            {"documents": [{"title": "Spec", "type": "technicalSpecifications",
                            "file": "specification.md", "url": "https://a.example/s.md",
                            "sha256": "ab" * 32}]},
            "not the abababab",
        ),
    ):  # fmt: skip
        result = ape_run(
            "tender", "create", "--registry", str(registry.address), "--token",
            str(token.address), "--budget", "50000", "--bond", "500", "--notice",
            str(write_notice(tmp_path, **change)), "--milestone", "40:30", "--milestone",
            "40:60", "--milestone", "20:90", "--account", "TEST::1", expect_ok=False,
        )  # fmt: skip
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], result.stderr
        assert "Traceback" not in result.stderr
    assert agency.nonce == nonce and registry.tenderCount() == 0


# ---------------------------------------------------------------------------- the chain


def test_the_notice_goes_on_the_chain_and_reads_back_from_calldata(
    chain, registry, token, agency, consortium
):
    text = nt.load(BENCHES / "notice.yaml").encode()
    _, tender, receipt = create_tender(registry, agency, benches_spec(chain, token, text))
    (event,) = receipt.events.filter(registry.TenderCreated)
    assert bytes(event.noticeHash) == keccak(text.encode())
    log = collect(registry, consortium)
    found = content.notices(log)[str(tender.address)]
    assert found.reading is not None and found.reading.text == text
    assert found.reading.notice == nt.load(BENCHES / "notice.yaml")
    assert found.hash == "0x" + keccak(text.encode()).hex()


def test_a_notice_sent_through_a_contract_is_found_in_the_call_trace(
    chain, registry, token, agency, consortium
):
    """An agency that is a contract (here the consortium itself, admitted as an agency)
    still publishes a readable notice: the reader finds it in the call trace."""
    from procurechain import consortium as cs
    from procurechain.calls import Call

    text = nt.load(BENCHES / "notice.yaml").encode()
    spec = benches_spec(chain, token, text)
    data = registry.createTender.encode_input(spec.params(), spec.plan_tuples(), text)

    admit = call_of(registry, "addAgency", consortium.address)
    create = Call(str(registry.address), bytes(data), 0, "create a tender through the consortium")
    for call in (admit, create):
        proposal = cs.propose(consortium, call)
        for signer in cs_signers(consortium):
            proposal = cs.sign(proposal, consortium, signer)
        cs.execute(proposal, consortium, agency)
    log = collect(registry, consortium)
    (tender,) = log.tenders.values()
    found = content.notices(log)[tender]
    assert found.reading is not None, found.problem
    assert found.reading.text == text


def cs_signers(consortium):
    from ape import accounts

    return [accounts.test_accounts[i] for i in (1, 2, 3)]


def test_hostile_notice_bytes_are_read_not_trusted(chain, registry, token, agency, consortium):
    for text in ("not json at all <script>alert(1)</script>", '{"title": "x"}'):
        create_tender(registry, agency, benches_spec(chain, token, text))
    # invalid UTF-8 cannot be sent through Ape's string encoder: send raw calldata
    spec = benches_spec(chain, token, "placeholder")
    types = [t for t in content._ARGS]  # params, plan, the notice as bytes (same encoding)
    raw = content._SELECTOR + encode(types, [spec.params(), spec.plan_tuples(), b"\xff\xfe\xfd"])
    send_raw(chain, agency, registry, raw)
    log = collect(registry, consortium)
    readings = [content.notices(log)[t].reading for t in log.tenders.values()]
    assert [r.notice for r in readings] == [None, None, None]
    assert "the notice is not JSON" in readings[0].problems
    assert any("list at least one item" in p for p in readings[1].problems)
    assert "the notice is not valid UTF-8" in readings[2].problems
    assert "\ufffd" in readings[2].text


def test_texts_are_published_once_and_found_by_hash(chain, registry, consortium, agency, citizen):
    reason = "4 of the 40 benches are not anchored to their footings."
    digest = content.publish_text(registry, agency, reason)
    assert digest == keccak(text=reason)
    nonce = citizen.nonce
    assert content.publish_text(registry, citizen, reason) == digest  # already there: no tx
    assert citizen.nonce == nonce
    log = collect(registry, consortium)
    assert content.text_of(log.texts, "0x" + digest.hex()) == reason
    assert content.text_of(log.texts, "0x" + keccak(text="never said").hex()) is None
    with pytest.raises(Exception, match="the text is empty"):
        content.publish_text(registry, agency, "   ")
    with pytest.raises(Exception, match="the chain takes at most 8,192"):
        content.publish_text(registry, agency, "x" * 8_193)


def test_the_registry_refuses_empty_and_oversize_text(chain, registry, token, agency):
    with ape.reverts(registry.RegistryTextEmpty):
        registry.publish("", sender=agency)
    with ape.reverts(registry.RegistryTextTooLong, length=8_193, maximum=8_192):
        registry.publish("x" * 8_193, sender=agency)
    receipt = registry.publish("x" * 8_192, sender=agency)
    (event,) = receipt.events.filter(registry.TextPublished)
    assert event.text == "x" * 8_192 and event.author == agency.address
    spec = benches_spec(chain, token, "x")
    with ape.reverts(registry.RegistryTextEmpty):
        registry.createTender(spec.params(), spec.plan_tuples(), "", sender=agency)
    with ape.reverts(registry.RegistryTextTooLong, length=8_193, maximum=8_192):
        registry.createTender(spec.params(), spec.plan_tuples(), "x" * 8_193, sender=agency)
    # the library says it before sending
    with pytest.raises(Exception, match="the chain takes 1 to 8,192"):
        create_tender(registry, agency, benches_spec(chain, token, "x" * 8_193))
    assert td.MAX_NOTICE_BYTES == registry.MAX_TEXT_BYTES() == nt.MAX_NOTICE_BYTES


def test_a_document_is_checked_against_its_sha256_at_its_url(tmp_path):
    """A reader fetches the document and compares its bytes; a changed file is called out,
    an unreachable one and an ipfs:// one are named as not checked, never as verified."""
    import functools
    import http.server
    import threading

    (tmp_path / "spec.md").write_bytes(b"the specification")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:

        def document(url: str, data: bytes = b"the specification") -> nt.Document:
            digest = hashlib.sha256(data).hexdigest()
            return nt.Document("Spec", "technicalSpecifications", "text/markdown", url, digest)

        assert content.check_document(document(f"{base}/spec.md")).startswith(
            "verified: the 17 bytes at the URL have the published SHA-256"
        )
        changed = content.check_document(document(f"{base}/spec.md", b"what was published"))
        assert changed.startswith("does NOT match")
        assert content.check_document(document(f"{base}/gone.md")).startswith(
            "not checked: could not be fetched"
        )
        assert content.check_document(document("ipfs://bafkrei")).startswith("not checked")
    finally:
        server.shutdown()


@pytest.mark.parametrize(
    "bad, said",
    [
        ('https://example.org/spec"><script>alert(1)</script>', "'\"'"),
        ("https://example.org/plan é.pdf", "no host or holds spaces"),
        ("https://example.org/plané.pdf", "'é'"),
        ("https://example.org/%zz", "a % not followed by two hex digits"),
        ("https://example.org/" + "a" * 3_000, "at most 2,048"),
    ],
    ids=["quote-and-script", "space", "non-ascii", "bad-percent", "3000-characters"],
)
def test_a_document_url_must_be_a_valid_uri(bad, said):
    """What the reader lets through becomes an OCDS ``uri`` and a link on the portal: a URL
    holding characters a URI cannot (quotes, angle brackets, non-ASCII) or 100 KB of text is
    a problem named, never a document."""
    notice = nt.load(BENCHES / "notice.yaml").as_dict()
    notice["documents"][0]["url"] = bad
    reading = nt.read(json.dumps(notice))
    assert reading.notice is None
    assert any(said in p for p in reading.problems), reading.problems
    notice["documents"][0]["url"] = "https://example.org/spec%3Cv1%3E.md"
    assert nt.read(json.dumps(notice)).notice is not None
