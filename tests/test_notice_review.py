"""The outside review of on-chain notices and published texts (commits 5b7e302..f2c937c),
kept as regression tests: each attack, and the safe behaviour it must meet.

Each test asserts the SAFE behaviour. On f2c937c, 12 of them failed (the attack worked):
nested or duplicate-keyed notices, unbounded quantities, YAML aliases, milestone titles not
checked against the plan, texts shown for a hash they do not match, non-canonical calldata,
deep call traces, unnamed texts in a bundle, unchecked titles from the command line. See
docs/security.md, "Notices and texts".
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from eth_utils import keccak

from procurechain import consortium as cs
from procurechain.audit import collect
from procurechain.calls import Call, call_of
from procurechain.record import content
from procurechain.record import notice as nt
from procurechain.tender import TenderSpec, create_tender

from conftest import DUSD, notice_spec, send_raw

PROJECT = Path(__file__).resolve().parents[1]
BENCHES = PROJECT / "examples" / "benches"
TITLES = ("benches delivered", "benches installed", "warranty")


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def consortium(project, deployer, agency, auditor, citizen, technical, legal):
    members = [agency, auditor, citizen, technical, legal]
    return deployer.deploy(project.Consortium, members, [1, 2, 4, 8, 16], 3, [], [])


def _signed(consortium, call):
    from ape import accounts

    proposal = cs.propose(consortium, call)
    for i in (1, 2, 3):
        proposal = cs.sign(proposal, consortium, accounts.test_accounts[i])
    return proposal


def _admit(registry, consortium, who, executor):
    cs.execute(_signed(consortium, call_of(registry, "addAgency", who)), consortium, executor)


def _registry(project, deployer, consortium, token, prefix="ocds-x"):
    agreement = deployer.deploy(project.RecordingAgreement)
    return deployer.deploy(project.Registry, consortium, agreement, token, 100_000 * DUSD, prefix)


@pytest.fixture
def registry(project, deployer, consortium, agency, token):
    registry = _registry(project, deployer, consortium, token)
    _admit(registry, consortium, agency, agency)
    return registry


@pytest.fixture
def poc(project, deployer, registry, consortium, agency):
    """An agency that is a contract: anyone may make it call anything."""
    contract = deployer.deploy(project.PocAgency)
    _admit(registry, consortium, contract.address, agency)
    return contract


def spec_of(chain, token, notice: str, titles=TITLES, budget=50_000 * DUSD) -> TenderSpec:
    """A tender spec for ``notice`` (not read back first: the notice may be hostile)."""
    return notice_spec(chain, token, notice, titles, budget)


def assert_found_at_the_default_recursion_limit(log, tender: str, text: str) -> None:
    """The notice is read in this process (Ape's 100,000 limit, a side effect of importing
    py_ecc) and at Python's default limit of 1,000, where a deep trace no longer parses."""
    found = content.notices(log)[tender]
    assert found.reading is not None and found.reading.text == text, found.problem
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    try:
        found = content.notices(log)[tender]
    finally:
        sys.setrecursionlimit(saved)
    assert found.reading is not None and found.reading.text == text, found.problem


def create_data(registry, spec: TenderSpec) -> bytes:
    return bytes(registry.createTender.encode_input(spec.params(), spec.plan_tuples(), spec.notice))


def benches_text() -> str:
    return nt.load(BENCHES / "notice.yaml").encode()


def notice_with(**changes) -> str:
    data = json.loads(benches_text())
    data.update(changes)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def run_python(code: str, timeout: float, memory_bytes: int | None = None):
    """Run ``code`` in a fresh interpreter of this venv; None when it did not finish in time."""
    if memory_bytes is not None:
        code = (
            "import resource\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({memory_bytes}, {memory_bytes}))\n" + code
        )
    try:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None


# ---------------------------------------------------------------------------- reader crashes


def test_deeply_nested_notice_does_not_crash_the_reader():
    """F1. ``notice.read`` promises never to raise on chain content, but a notice of 2,000
    '[' (2 KB, within MAX_TEXT_BYTES) makes ``json.loads`` raise RecursionError (not
    ValueError) under Python's default recursion limit (1000), e.g. in a reader that uses
    procurechain.record.notice without Ape (Ape processes import py_ecc, which raises the
    limit to 100,000 as a side effect, and then the same input is held)."""
    code = textwrap.dedent(
        """
        import sys
        from procurechain.record import notice as nt
        print("limit", sys.getrecursionlimit())
        reading = nt.read("[" * 2000)
        print("problems", reading.problems)
        """
    )
    result = run_python(code, timeout=60)
    assert result is not None
    assert "problems" in result.stdout, result.stderr[-400:]


def test_one_deeply_nested_notice_does_not_stop_the_reading_of_every_notice(
    chain, registry, consortium, token, agency
):
    """F1, on the chain: ``content.notices`` has no per-tender guard, so under the default
    recursion limit one hostile notice from one agency loses the notices of all tenders."""
    _, honest, _ = create_tender(registry, agency, spec_of(chain, token, benches_text()))
    create_tender(registry, agency, spec_of(chain, token, "[" * 2_000))
    log = collect(registry, consortium)
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)  # Python's default (a process that did not import py_ecc)
    try:
        found = content.notices(log)  # attack works: RecursionError escapes here
    finally:
        sys.setrecursionlimit(saved)
    assert found[str(honest.address)].reading.notice is not None


def test_a_notice_read_back_as_well_formed_can_be_used_without_hanging():
    """F2a. A quantity given as the JSON string "1E+999999999" is a finite positive Decimal:
    ``read`` accepts the notice with no problem, but ``as_dict``/``encode``/``hash`` turn it
    into a billion-digit int (int(Decimal('1E+1000000')) alone takes ~40 s): any reader that
    uses the notice it was handed hangs."""
    hostile = notice_with(
        items=[
            {
                "description": "benches",
                "quantity": "1E+999999999",
                "unit": "piece",
                "classification": {"scheme": "CPV", "id": "39113300"},
            }
        ]
    )
    code = textwrap.dedent(
        f"""
        from procurechain.record import notice as nt
        reading = nt.read({hostile!r})
        print("accepted" if reading.notice is not None else "rejected", reading.problems)
        if reading.notice is not None:
            reading.notice.as_dict()
        print("done")
        """
    )
    result = run_python(code, timeout=30)
    assert result is not None, "the reader hung on a notice it had accepted as well-formed"
    assert "done" in result.stdout, result.stderr


def test_a_huge_exponent_quantity_in_the_notice_file_is_one_sentence(tmp_path):
    """F2b. The same quantity in the agency's notice file: ``nt.load`` (the first thing
    ``ape run tender create --notice`` does) hangs in ``encode`` instead of saying one
    sentence."""
    data = yaml.safe_load((BENCHES / "notice.yaml").read_text())
    data["items"][0]["quantity"] = "1E+999999999"
    for name in ("specification.md",):
        (tmp_path / name).write_bytes((BENCHES / name).read_bytes())
    path = tmp_path / "notice.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from procurechain.record import notice as nt
        try:
            nt.load(Path({str(path)!r}))
            print("LOADED")
        except nt.NoticeError as err:
            print("NoticeError:", err)
        """
    )
    result = run_python(code, timeout=30)
    assert result is not None, "nt.load hung on a 12-character quantity"
    assert "NoticeError:" in result.stdout, result.stdout + result.stderr


def test_a_yaml_alias_bomb_in_the_notice_file_is_one_sentence(tmp_path):
    """F3. Billion laughs: items ignore unknown keys, so anchors fit in an ignored key, and
    ``_quantity`` calls ``str(value)`` (and its error ``repr(value)``) on the aliased nest:
    a 1 KB notice file expands to 10^9 elements (memory error or hang, no one sentence)."""
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for n in range(1, 9):
        levels.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]")
    bomb = "\n".join("      " + line for line in levels)
    text = textwrap.dedent(
        """\
        title: 40 park benches
        description: Benches for the park.
        category: goods
        items:
          - description: benches
            unit: piece
            classification: {scheme: CPV, id: "39113300"}
            lol:
        """
    )
    text += bomb + "\n    quantity: *l8\n"
    path = tmp_path / "notice.yaml"
    path.write_text(text)
    assert len(text) < 1_500
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from procurechain.record import notice as nt
        try:
            nt.load(Path({str(path)!r}))
            print("LOADED")
        except nt.NoticeError as err:
            print("NoticeError:", err)
        """
    )
    result = run_python(code, timeout=30, memory_bytes=2 * 2**30)
    assert result is not None, "nt.load hung on a 1 KB YAML alias bomb"
    assert "NoticeError:" in result.stdout, result.stdout + result.stderr[-500:]


# ---------------------------------------------------------------------------- what is shown


def test_a_notice_with_duplicate_keys_is_not_read_as_clean():
    """F4. The hash binds bytes, not meaning: ``{"title":"Benches",...,"title":"Tanks"}``
    reads as "Tanks" with no problem here, while a first-wins or strict JSON reader (or a
    person reading the raw text) sees "Benches"."""
    base = json.loads(benches_text())
    text = json.dumps(base, ensure_ascii=False, separators=(",", ":"))
    text = text[:-1] + ',"title":"40 armoured vehicles"}'
    reading = nt.read(text)
    assert reading.notice is None or reading.problems, (
        f"read as {reading.notice.title!r} with no problem; the raw text's first title is "
        f"{base['title']!r}"
    )


def test_notice_milestone_titles_are_checked_against_the_plan(
    chain, registry, consortium, token, agency
):
    """F5. The plan's ``descriptionHash`` (in TenderCreated) is what the contracts commit
    to; the notice's milestone titles are free text. The reader shows titles that hash to
    nothing in the plan, with no problem."""
    text = benches_text()  # milestone titles: the benches notice's
    decided = ("1 bench delivered", "paid in full", "nothing")
    _, tender, _ = create_tender(registry, agency, spec_of(chain, token, text, titles=decided))
    found = content.notices(collect(registry, consortium))[str(tender.address)]
    assert found.reading is not None and found.reading.notice is not None
    assert found.reading.problems, (
        f"notice titles {found.reading.notice.milestones} shown with no problem, the plan "
        f"commits to {decided}"
    )


def test_text_of_shows_only_the_exact_published_bytes(chain, registry, consortium, agency):
    """F6. ``publish`` takes any bytes; the audit decoder replaces invalid UTF-8 with U+FFFD
    and ``text_of`` returns that as THE text for the hash, unflagged. Different published
    bytes (\\xff vs \\xfe) show as the same reason, and the shown text does not hash to the
    hash it is shown for."""
    data = bytes(registry.publish.encode_input("Bid late#!"))
    hashes = []
    for tail in (b"\xff", b"\xfe"):
        raw = data.replace(b"Bid late#!", b"Bid late" + tail + b"!")
        send_raw(chain, agency, registry, raw)
        hashes.append("0x" + keccak(b"Bid late" + tail + b"!").hex())
    log = collect(registry, consortium)
    shown = [content.text_of(log.texts, h) for h in hashes]
    for text, digest in zip(shown, hashes, strict=True):
        assert text is None or "0x" + keccak(text.encode("utf-8")).hex() == digest, (
            f"{text!r} is shown as the text of {digest}, which it does not hash to"
        )


# ---------------------------------------------------------------------------- hiding a notice


def test_non_canonical_calldata_does_not_hide_the_notice(
    chain, registry, consortium, token, agency
):
    """F7. Solidity accepts a ``string calldata`` whose padding bytes are not zero;
    eth_abi's strict ``decode`` does not, so the reader says "no call in the transaction
    carries a notice" for a notice that is in the calldata and matches the logged hash."""
    text = benches_text()
    assert len(text.encode()) % 32, "the notice needs padding for this PoC"
    data = bytearray(create_data(registry, spec_of(chain, token, text)))
    data[-1] = 0x01  # a padding byte
    send_raw(chain, agency, registry, bytes(data))
    log = collect(registry, consortium)
    (tender,) = log.tenders.values()
    (event,) = log.of("TenderCreated")
    assert event.args["noticeHash"] == "0x" + keccak(text.encode()).hex()  # on chain, bound
    found = content.notices(log)[tender]
    assert found.reading is not None and found.reading.text == text, found.problem


def test_a_deep_call_trace_does_not_hide_a_contract_agencys_notice(
    chain, project, deployer, registry, consortium, token, poc, bidder_a
):
    """F8a. A contract agency's notice is read from ``debug_traceTransaction``. Recursing
    516 frames deep in the same transaction (235k gas in all) makes the callTracer JSON nest
    ~1,030 levels; under Python's default recursion limit web3's json.loads raises
    RecursionError, which ``_find`` reports as "the node has no traces". In an Ape process
    the limit is 100,000 (a side effect of importing py_ecc) and the notice is found: the
    first assertion passes, the second (default limit) fails."""
    recursor = deployer.deploy(project.PocRecursor)
    text = benches_text()
    data = create_data(registry, spec_of(chain, token, text))
    poc.deepThenCall(recursor, registry, data, sender=bidder_a, gas=29_000_000)
    log = collect(registry, consortium)
    (tender,) = log.tenders.values()
    assert_found_at_the_default_recursion_limit(log, tender, text)


def test_a_third_party_executor_cannot_hide_the_consortium_agencys_notice(
    chain, project, deployer, registry, consortium, token, agency, bidder_a
):
    """F8b. The same, done by an outsider: the consortium is an agency (as in
    tests/test_notice.py) and ``Consortium.execute`` may be sent by anyone holding the signed
    bundle; the outsider sends it from a contract that first recurses deep."""
    _admit(registry, consortium, consortium.address, agency)
    recursor = deployer.deploy(project.PocRecursor)
    wrapper = deployer.deploy(project.PocAgency)  # not an agency: just the outsider's relay
    text = benches_text()
    create = Call(str(registry.address), create_data(registry, spec_of(chain, token, text)), 0, "")
    proposal = _signed(consortium, create)
    current = cs.status(proposal, consortium)
    signatures = cs.pack_signatures(proposal, current.counted, current.signed_by_contract)
    execute = consortium.execute.encode_input(proposal.action.as_tuple(), signatures)
    wrapper.deepThenCall(recursor, consortium, execute, sender=bidder_a, gas=29_000_000)
    log = collect(registry, consortium)
    (tender,) = log.tenders.values()
    assert_found_at_the_default_recursion_limit(log, tender, text)


# ---------------------------------------------------------------------------- held


def test_decoy_calls_in_a_contract_agencys_trace_do_not_spoof_its_notices(
    chain, project, deployer, registry, consortium, token, agency, poc
):
    """HELD. One transaction of a contract agency: a decoy createTender to another registry
    (where it is an agency too, so it succeeds), a reverted decoy to this registry, and two
    real tenders with different notices. Each tender reads its own notice."""
    other = _registry(project, deployer, consortium, token, prefix="ocds-x")
    _admit(other, consortium, poc.address, agency)
    real_a = benches_text()
    real_b = notice_with(title="20 picnic tables")
    decoy = notice_with(title="DECOY: 40 armoured vehicles")
    too_big = spec_of(chain, token, decoy, budget=10**30)  # reverts: budget above the cap
    calls = [
        (other, create_data(other, spec_of(chain, token, decoy)), False),
        (registry, create_data(registry, too_big), True),
        (registry, create_data(registry, spec_of(chain, token, real_a)), False),
        (registry, create_data(registry, spec_of(chain, token, real_b)), False),
    ]
    poc.run(
        [str(c[0].address) for c in calls],
        [c[1] for c in calls],
        [c[2] for c in calls],
        sender=agency,
    )
    log = collect(registry, consortium)
    found = content.notices(log)
    texts = [found[log.tenders[i]].reading.text for i in sorted(log.tenders)]
    assert texts == [real_a, real_b]


def test_ocids_are_well_formed_and_unique_across_registries(
    chain, project, deployer, registry, consortium, token, agency
):
    """HELD. ``<prefix>-<chain id>-<registry, lower-case hex>-<id>``: two registries with
    one prefix on one chain mint different ocids; the prefix is kept as given."""
    other = _registry(project, deployer, consortium, token, prefix="ocds-x")
    _admit(other, consortium, agency, agency)
    for r in (registry, other):
        create_tender(r, agency, spec_of(chain, token, benches_text()))
    a, b = str(registry.ocid(1)), str(other.ocid(1))
    assert a == f"ocds-x-{chain.chain_id}-{str(registry.address).lower()}-1"
    assert a != b and b.endswith(f"{str(other.address).lower()}-1")


def test_create_tender_gas_grows_only_with_the_bounded_notice(chain, registry, token, agency):
    """HELD. At MAX_TEXT_BYTES the extra gas over a 1-byte notice stays under the EIP-7623
    calldata floor (40 gas a byte, Prague, anvil's default hardfork) plus a constant."""
    small = create_tender(registry, agency, spec_of(chain, token, "x")).receipt.gas_used
    full = create_tender(registry, agency, spec_of(chain, token, "x" * 8_192)).receipt.gas_used
    assert full - small < 8_192 * 40 + 5_000


# ---------------------------------------------------------------------------- bundles


def test_bundle_texts_must_be_the_ones_the_action_names(tmp_path, registry, consortium, agency):
    """F9. Bundle texts are checked against their own hash only, and are outside the action
    hash the members sign: anyone passing the bundle on can add a text the action does not
    name (signers read it as the reason), or drop the real one; ``execute`` then publishes
    whatever texts the bundle carries, from the executor's account, one tx each."""
    action = call_of(registry, "addAgency", agency)  # names no text at all
    proposal = _signed(consortium, action)
    smear = "Bidder 0xABCD colluded with the city engineer; see the police report."
    with pytest.raises(Exception, match="does not name the text"):
        proposal.add_text(smear)  # the library refuses to carry it
    # written into the file by hand, the bundle no longer loads
    path = proposal.save(tmp_path / "bundle.json")
    document = json.loads(path.read_text())
    document["texts"] = [{"hash": "0x" + keccak(text=smear).hex(), "text": smear}]
    path.write_text(json.dumps(document))
    with pytest.raises(Exception, match="does not name the text"):
        cs.Proposal.load(path)


# ---------------------------------------------------------------------------- command line


def test_a_milestone_title_from_the_command_line_is_checked_like_the_notice(
    tmp_path, ape_run, registry, token, agency
):
    """F10. ``--milestone 40:30:TITLE`` replaces the notice's title after ``nt.load`` checked
    the file: the option's title is never checked (invisible characters, 200-character
    limit), so the CLI publishes a notice the reader then rejects."""
    (tmp_path / "specification.md").write_bytes((BENCHES / "specification.md").read_bytes())
    data = yaml.safe_load((BENCHES / "notice.yaml").read_text())
    del data["milestones"]  # the titles come from the options
    (tmp_path / "notice.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    nonce = agency.nonce
    result = ape_run(
        "tender", "create", "--registry", str(registry.address), "--token",
        str(token.address), "--budget", "50000", "--bond", "500", "--notice",
        str(tmp_path / "notice.yaml"), "--milestone", "40:30:benches\u202e delivered",
        "--milestone", "40:60:installed", "--milestone", "20:90:warranty", "--account", "TEST::1",
        expect_ok=False,
    )  # fmt: skip
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "U+202E" in lines[0], result.stderr
    assert agency.nonce == nonce and registry.tenderCount() == 0
