"""Hostile input to every `ape run` command (issue #8).

Every command of scripts/ (consortium, tender, bid, agreement, deploy, devnet, demo, audit) is
given bad input: malformed addresses, bad amounts, unknown ids, broken proposal bundles, a
missing or corrupt deployment manifest, bad files. Each case must end with

- a non-zero exit,
- exactly one line of output, ``Error: ...``, naming the problem (no traceback, no usage text),
- no transaction (block number and every role's nonce unchanged),
- every file it was given byte-identical afterwards, and no new file.

The commands run in-process through Ape's own ``ape run`` command (``ape_run._cli``: it loads
the script, adds ``--network`` and connects to this test's node), so the same click parsing
and ``one_line_errors`` handling the user sees is exercised; ``test_each_script_as_a_process``
runs one case per script as a real ``ape run`` process to show the real exit code and stderr.
"""

import itertools
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_utils import keccak

from procurechain import consortium as cs
from procurechain import tender as td
from procurechain.calls import call_of
from procurechain.deployments import deployed, manifest_path
from procurechain.scenario import run_reference

from conftest import DUSD, PROJECT, deployments_in

# ------------------------------------------------------------------ the world under attack


@pytest.fixture(scope="module")
def world(tmp_path_factory, accounts, chain):
    """A deployed suite (manifest in a tmp folder), tender 1 awarded with an unfunded
    agreement, tender 2 open for bids, and a proposal bundle signed by the agency."""
    folder = tmp_path_factory.mktemp("hostile")
    saved_home = os.environ.get("PROCURECHAIN_HOME")
    os.environ["PROCURECHAIN_HOME"] = str(folder / "home")
    with deployments_in(folder / "deployments"):
        result = run_reference(folder / "demo", stop_after="award")
        registry, consortium, token = (
            deployed("Registry"),
            deployed("Consortium"),
            deployed("Token"),
        )
        agency = accounts[1]
        now = chain.blocks.head.timestamp
        spec = td.TenderSpec(
            token=str(token.address),
            budget=50_000 * DUSD,
            bond=500 * DUSD,
            bidding_deadline=now + 7 * 86400,
            reveal_deadline=now + 9 * 86400,
            acceptance_window=3 * 86400,
            notice="tender documents",
            plan=(td.Milestone(10_000, 30 * 86400, keccak(text="all benches")),),
        )
        open_tender = td.create_tender(registry, agency, spec).tender
        proposal = cs.propose(consortium, call_of(consortium, "setThreshold", 3))
        cs.sign(proposal, consortium, agency)
        executed = cs.propose(
            consortium, call_of(consortium, "setThreshold", 3), avoid_nonces=[proposal.action.nonce]
        )
        # an action on the consortium needs every role a policy requires: auditor and legal
        for member in (accounts[1], accounts[2], accounts[5]):
            cs.sign(executed, consortium, member)
        cs.execute(executed, consortium, agency)
        names = {
            "tender": str(result.addresses["Tender"]),
            "open_tender": str(open_tender.address),
            "agreement": str(result.addresses["Agreement"]),
            "consortium": str(consortium.address),
            "registry": str(registry.address),
            "token": str(token.address),
            "bidder": str(accounts[6].address),
            "eoa": str(accounts[9].address),
            "manifest": str(manifest_path()),
            "executed_nonce": str(executed.action.nonce),
        }
        objects = {"proposal": proposal, "executed": executed, "consortium_contract": consortium}
        yield {"folder": folder, **objects, **names}
    if saved_home is None:
        os.environ.pop("PROCURECHAIN_HOME", None)
    else:
        os.environ["PROCURECHAIN_HOME"] = saved_home


def _bad_checksum(address: str) -> str:
    """``address`` with the case of one letter flipped: a typo the checksum catches."""
    index = next(i for i, c in enumerate(address) if i > 1 and c.isalpha())
    return address[:index] + address[index].swapcase() + address[index + 1 :]


# ------------------------------------------------------------------ files the cases are given


def _bundle(world: dict, **changes) -> bytes:
    """The agency-signed bundle, re-made with ``changes`` (its hash stays consistent)."""
    proposal = world["proposal"]
    action = proposal.action
    fields = {"target": action.target, "value": action.value, "data": action.data}
    fields |= {"nonce": action.nonce, "deadline": changes.pop("deadline", action.deadline)}
    remade = cs.Proposal(
        chain_id=changes.pop("chain_id", proposal.chain_id),
        consortium=changes.pop("consortium", proposal.consortium),
        action=cs.Action(**fields),
        description=proposal.description,
    )
    return (json.dumps(remade.to_json(), indent=2) + "\n").encode()


def _edited(world: dict, edit) -> bytes:
    document = world["proposal"].to_json()
    edit(document)
    return json.dumps(document).encode()


def _tamper(document: dict) -> None:
    document["action"]["data"] = document["action"]["data"][:-1] + "4"  # threshold 4, not 3


def _duplicate(document: dict) -> None:
    document["signatures"].append(dict(document["signatures"][0]))


def _swap_signer(document: dict) -> None:
    document["signatures"][0]["signer"] = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _huge_value(document: dict) -> None:
    document["action"]["value"] = str(2**256)


FILES = {
    "bundle.json": lambda w: (json.dumps(w["proposal"].to_json(), indent=2) + "\n").encode(),
    "truncated.json": lambda w: json.dumps(w["proposal"].to_json(), indent=2).encode()[:150],
    "tampered.json": lambda w: _edited(w, _tamper),
    "duplicated.json": lambda w: _edited(w, _duplicate),
    "swapped.json": lambda w: _edited(w, _swap_signer),
    "huge-value.json": lambda w: _edited(w, _huge_value),
    "other-chain.json": lambda w: _bundle(w, chain_id=5),
    "token-consortium.json": lambda w: _bundle(w, consortium=w["token"]),
    "eoa-consortium.json": lambda w: _bundle(w, consortium=w["eoa"]),
    "expired.json": lambda w: _bundle(w, deadline=1),
    "executed.json": lambda w: (json.dumps(w["executed"].to_json()) + "\n").encode(),
    "list.json": lambda w: b"[1, 2]",
    "empty.json": lambda w: b"",
    "binary.json": lambda w: bytes(range(256)),
    "other-format.json": lambda w: json.dumps({"format": "safe-tx/1"}).encode(),
    "journal.json": lambda w: b'[{"chain_id": 31337, "tender": ',
    "journal-shape.json": lambda w: b'{"bids": []}',
    "names.json": lambda w: b'{"0x1234": "City Parks"}',
    "doc.pdf": lambda w: b"%PDF bid documents",
    "deploy.yaml": lambda w: (PROJECT / "deploy" / "example.yaml").read_bytes(),
    "out.json": lambda w: b"an earlier bundle",
    "a-file": lambda w: b"not a folder",
}

MISSING = "missing"

# ------------------------------------------------------------------ running a command


class Outcome:
    def __init__(self, exit_code: int, output: str) -> None:
        self.exit_code = exit_code
        self.lines = [line for line in output.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def ape_run_cli():
    """Ape's `ape run` command. It loads every script again each time it looks a command up;
    here the scripts are loaded once for the module (the commands themselves are unchanged)."""
    from ape_run._cli import ScriptCommand, cli

    cwd = Path.cwd()
    os.chdir(PROJECT)
    try:
        commands = cli.commands
    finally:
        os.chdir(cwd)
    original = ScriptCommand.commands
    ScriptCommand.commands = property(lambda _self: commands)
    yield cli
    ScriptCommand.commands = original


@pytest.fixture
def attack(world, chain, accounts, monkeypatch, ape_run_cli):
    """Run ``ape run <args>`` in-process against this node and check the four promises.

    ``files``: names from ``FILES`` written to the case folder first; they, the manifest and
    the folder's listing must be byte-identical afterwards."""
    monkeypatch.chdir(PROJECT)  # `ape run` finds scripts/ in the working folder
    folder = world["folder"] / "case"
    folder.mkdir(exist_ok=True)
    node = f"ethereum:local:{chain.provider.uri}"
    roles = accounts[:10]

    def snapshot() -> tuple:
        files = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        manifest = Path(world["manifest"])
        return (
            chain.provider.web3.eth.block_number,
            [chain.provider.web3.eth.get_transaction_count(a.address) for a in roles],
            files,
            manifest.read_bytes() if manifest.exists() else None,
        )

    def run(
        args: list[str],
        expected: str,
        files: tuple[str, ...] = (),
        manifest_text=None,
        *,
        network: bool = True,
    ) -> Outcome:
        for name in files:
            (folder / name).write_bytes(FILES[name](world))
        manifest = Path(world["manifest"])
        original = manifest.read_bytes()
        if manifest_text is not None:
            if manifest_text == MISSING:
                manifest.unlink()
            else:
                manifest.write_bytes(manifest_text(json.loads(original)))
        try:
            return check(args, expected, network)
        finally:
            manifest.write_bytes(original)

    def check(args: list[str], expected: str, network: bool) -> Outcome:
        before = snapshot()
        argv = [a.format(case=folder, **world) for a in args]
        if network and "--network" not in argv:
            argv += ["--network", node]
        result = CliRunner(mix_stderr=False).invoke(ape_run_cli, argv)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception  # a crash, not an error message: show its traceback
        outcome = Outcome(result.exit_code, result.stdout + result.stderr)
        after = snapshot()
        shown = "\n".join(outcome.lines)
        assert outcome.exit_code != 0, shown
        assert len(outcome.lines) == 1, shown
        assert outcome.lines[0].startswith("Error: "), shown
        assert re.search(expected, outcome.lines[0]), f"{expected!r} not in {shown!r}"
        assert after[0] == before[0], "a block was mined: a transaction was sent"
        assert after[1] == before[1], "an account's nonce moved: a transaction was sent"
        assert after[2] == before[2], "a file given to the command changed or appeared"
        assert after[3] == before[3], "the deployment manifest changed"
        return outcome

    yield run
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


# ------------------------------------------------------------------ proposal bundles

SIGNERS = {
    "sign": ["--account", "TEST::2"],
    "approve": ["--account", "TEST::2"],
    "revoke": ["--account", "TEST::1"],
    "status": [],
    "execute": ["--account", "TEST::9"],
}
BROKEN_BUNDLES = {
    "missing.json": r"cannot read proposal .*missing\.json: No such file",
    "truncated.json": r"is not valid JSON \(truncated or corrupt at line \d+\)",
    "empty.json": r"is not valid JSON",
    "binary.json": r"is not a proposal bundle \(not UTF-8 text\)",
    "list.json": r"is not a proposal bundle",
    "other-format.json": r"is not a procurechain proposal \(format 'safe-tx/1'\)",
    "tampered.json": r"was changed after it was proposed",
    "huge-value.json": r"value .* does not fit in uint256",
    "duplicated.json": r"holds two signatures of 0x",
    "swapped.json": r"the signature listed for 0x3C44.* was made by 0x7099",
    "other-chain.json": r"is for chain 5 but you are connected to chain 31337; use --network",
    "token-consortium.json": r"is not a procurechain consortium \(EIP-712 domain",
    "eoa-consortium.json": r"no contract at 0x.* on chain 31337",
}
SPENT_BUNDLES = {  # well-formed, but nothing can come of them: nobody signs or approves
    "expired.json": {"sign": "expired at 1", "approve": "expired at 1", "execute": "deadline"},
    "executed.json": {c: "already used" for c in ("sign", "approve", "execute")},
}


@pytest.mark.parametrize("bundle", sorted(BROKEN_BUNDLES))
@pytest.mark.parametrize("command", sorted(SIGNERS))
def test_broken_bundle(attack, command, bundle):
    files = () if bundle == "missing.json" else (bundle,)
    args = ["consortium", command, f"{{case}}/{bundle}", *SIGNERS[command]]
    attack(args, BROKEN_BUNDLES[bundle], files)


@pytest.mark.parametrize(
    ("bundle", "command"), [(b, c) for b, by in sorted(SPENT_BUNDLES.items()) for c in by]
)
def test_spent_bundle(attack, bundle, command):
    args = ["consortium", command, f"{{case}}/{bundle}", *SIGNERS[command]]
    attack(args, SPENT_BUNDLES[bundle][command], (bundle,))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sign", "--account", "TEST::9"], r"is not a member of consortium"),
        (["sign", "--account", "TEST::99"], r"Invalid value for '--account': Index '99'"),
        (["approve", "--account", "TEST::9"], r"is not a member of the consortium"),
        (["revoke", "--account", "TEST::1"], r"has no on-chain approval of this proposal"),
        (["execute", "--account", "TEST::9"], r"cannot execute yet: 1 of 3 required approvals"),
    ],
    ids=["sign-stranger", "sign-unknown-account", "approve-stranger", "revoke-none", "execute-1"],
)
def test_good_bundle_wrong_signer(attack, args, expected):
    attack(["consortium", args[0], "{case}/bundle.json", *args[1:]], expected, ("bundle.json",))


def test_bundle_path_is_a_folder(attack):
    attack(["consortium", "status", "{case}"], r"is a directory")


# ------------------------------------------------------------------ addresses

GARBLED = {
    "short": ("0x1234", r"is not an address: expected 0x and 40 hex digits \(4 hex digits\)"),
    "non-hex": ("0x" + "zz" * 20, r"is not an address: it has non-hex characters"),
    "no-0x": ("12" * 20, r"is not an address: expected 0x and 40 hex digits \(no 0x prefix\)"),
    "checksum": ("{bad_checksum}", r"has a wrong checksum \(a mistyped letter\?\)"),
    "zero": ("0x" + "00" * 20, r"is the zero address"),
}
NO_CODE = ("{eoa}", r"no contract at 0x[0-9a-fA-F]{40} on chain 31337")

#: A notice of one milestone, for `tender create` (the commands must fail on the address first).
NOTICE = str(Path(__file__).resolve().parent / "fixtures" / "notice-one-milestone.yaml")

# Every place a command takes an address; ADDR marks it. Contract addresses must have code.
CONTRACT_SLOTS = [
    ["consortium", "members", "--consortium", "ADDR"],
    ["consortium", "propose", "--consortium", "ADDR", "--function", "setThreshold(uint256)",
     "3", "--out", "{case}/p.json"],
    ["consortium", "propose", "--target", "ADDR", "--function", "setThreshold(uint256)", "3",
     "--out", "{case}/p.json"],
    ["consortium", "declare-conflict", "{bidder}", "--reason", "r", "--consortium", "ADDR",
     "--account", "TEST::4"],
    ["tender", "create", "--registry", "ADDR", "--budget", "1", "--bond", "1", "--milestone",
     "100:30", "--notice", NOTICE, "--account", "TEST::1"],
    ["tender", "create", "--token", "ADDR", "--budget", "1", "--bond", "1", "--milestone",
     "100:30", "--notice", NOTICE, "--account", "TEST::1"],
    ["tender", "list", "--registry", "ADDR"],
    ["tender", "show", "ADDR"],
    ["tender", "propose-award", "ADDR", "{bidder}", "--reasons", "r", "--out", "{case}/p.json"],
    ["tender", "propose-award", "{tender}", "{bidder}", "--reasons", "r", "--consortium", "ADDR",
     "--out", "{case}/p.json"],
    ["tender", "propose-disqualify", "ADDR", "{bidder}", "--reason", "r", "--out", "{case}/p.json"],
    ["tender", "propose-cancel", "ADDR", "--reason", "r", "--out", "{case}/p.json"],
    ["tender", "claim-rank", "ADDR", "{bidder}", "--account", "TEST::9"],
    ["tender", "record-lapse", "ADDR", "--account", "TEST::9"],
    ["bid", "commit", "ADDR", "--price", "1", "--doc-hash", "0x" + "11" * 32, "--account",
     "TEST::10"],
    ["bid", "reveal", "ADDR", "--account", "TEST::6"],
    ["bid", "status", "ADDR", "--account", "TEST::6"],
    ["bid", "withdraw-bond", "ADDR", "--account", "TEST::6"],
    ["bid", "claim-forfeit", "ADDR", "{bidder}", "--account", "TEST::9"],
    ["bid", "accept", "ADDR", "--account", "TEST::6"],
    ["bid", "accept", "{tender}", "--registry", "ADDR", "--account", "TEST::6"],
    ["agreement", "fund", "ADDR", "--account", "TEST::1"],
    ["agreement", "submit", "ADDR", "0", "--evidence", "e", "--uri", "u", "--account", "TEST::6"],
    ["agreement", "dispute", "ADDR", "0", "--reason", "r", "--account", "TEST::1"],
    ["agreement", "withdraw", "ADDR", "--account", "TEST::6"],
    ["agreement", "release", "ADDR", "--account", "TEST::6"],
    ["agreement", "status", "ADDR"],
    ["agreement", "propose-accept", "ADDR", "0", "--out", "{case}/p.json"],
    ["agreement", "propose-reject", "ADDR", "0", "--reason", "r", "--out", "{case}/p.json"],
    ["agreement", "propose-resolve", "ADDR", "0", "5000", "--reason", "r", "--out",
     "{case}/p.json"],
    ["agreement", "propose-terminate", "ADDR", "--reason", "r", "--out", "{case}/p.json"],
    ["agreement", "propose-warranty-claim", "ADDR", "1", "--reason", "r", "--out",
     "{case}/p.json"],
    ["audit", "export", "--registry", "ADDR"],
    ["audit", "export", "--consortium", "ADDR"],
    ["audit", "verify", "--registry", "ADDR"],
    ["audit", "verify", "--consortium", "ADDR"],
]  # fmt: skip
# Places that take any account: the zero address is refused, code is not required.
ACCOUNT_SLOTS = [
    ["consortium", "declare-conflict", "ADDR", "--reason", "r", "--account", "TEST::4"],
    ["tender", "list", "--agency", "ADDR"],
    ["tender", "propose-award", "{open_tender}", "ADDR", "--reasons", "r", "--out",
     "{case}/p.json"],
    ["tender", "propose-disqualify", "{open_tender}", "ADDR", "--reason", "r", "--out",
     "{case}/p.json"],
    ["tender", "claim-rank", "{open_tender}", "ADDR", "--account", "TEST::9"],
    ["bid", "claim-forfeit", "{open_tender}", "ADDR", "--account", "TEST::9"],
]  # fmt: skip


def _slot_id(args: list[str]) -> str:
    position = args.index("ADDR")
    option = args[position - 1]
    return f"{args[0]}-{args[1]}-{option if option.startswith('--') else f'arg{position - 1}'}"


def _fill(args: list[str], value: str) -> list[str]:
    return [value if a == "ADDR" else a for a in args]


# Each slot gets one kind of garbling, in turn (they all go through one check, which
# test_every_kind_of_garbled_address runs with every kind).
GARBLED_SLOTS = [
    pytest.param(slot, garble, id=f"{_slot_id(slot)}-{garble}")
    for slot, garble in zip(
        CONTRACT_SLOTS + ACCOUNT_SLOTS, itertools.cycle(["short", "checksum", "zero"])
    )
]


@pytest.mark.parametrize(("slot", "garble"), GARBLED_SLOTS)
def test_malformed_address(attack, world, slot, garble):
    value, expected = GARBLED[garble]
    bad = value.format(bad_checksum=_bad_checksum(world["consortium"]))
    attack(_fill(slot, bad), expected)


@pytest.mark.parametrize("slot", CONTRACT_SLOTS, ids=_slot_id)
def test_address_without_code(attack, slot):
    attack(_fill(slot, NO_CODE[0]), NO_CODE[1])


@pytest.mark.parametrize("garble", sorted(GARBLED))
def test_every_kind_of_garbled_address(attack, world, garble):
    value, expected = GARBLED[garble]
    attack(["tender", "show", value.format(bad_checksum=_bad_checksum(world["tender"]))], expected)


# ------------------------------------------------------------------ the deployment manifest


def _without_contracts(document: dict) -> bytes:
    document.pop("contracts")
    return json.dumps(document).encode()


def _entry(name: str, **entry) -> callable:
    def edit(document: dict) -> bytes:
        document["contracts"][name] = entry
        return json.dumps(document).encode()

    return edit


MANIFESTS = {
    "missing": (MISSING, r"no deployment for local \(.*\.json does not exist\): run `ape run "
                r"deploy`"),
    "truncated": (lambda d: json.dumps(d).encode()[:60], r"is not valid JSON \(truncated or "
                  r"corrupt"),
    "binary": (lambda d: bytes(range(256)), r"is not valid JSON"),
    "no-contracts": (_without_contracts, r"is corrupt \(no 'contracts' table\)"),
}  # fmt: skip
# What each command reads from the manifest, and so what a broken entry breaks.
MANIFEST_READERS = {
    "consortium-members": (["consortium", "members"], "Consortium"),
    "consortium-propose": (["consortium", "propose", "--function", "setThreshold(uint256)", "3",
                            "--out", "{case}/p.json"], "Consortium"),
    "consortium-declare-conflict": (["consortium", "declare-conflict", "{bidder}", "--reason", "r",
                                     "--account", "TEST::4"], "Consortium"),
    "tender-create": (["tender", "create", "--budget", "1", "--bond", "1", "--milestone",
                       "100:30", "--notice", NOTICE, "--account", "TEST::1"], "Registry"),
    "tender-list": (["tender", "list"], "Registry"),
    "tender-propose-cancel": (["tender", "propose-cancel", "{open_tender}", "--reason", "r",
                               "--out", "{case}/p.json"], "Consortium"),
    "audit-export": (["audit", "export"], "Registry"),
    "audit-verify": (["audit", "verify"], "Registry"),
    "deploy": (["deploy", "--account", "TEST::0"], None),
    "demo": (["demo", "--out", "{case}/demo"], None),
}  # fmt: skip


@pytest.mark.parametrize(
    ("reader", "manifest"),
    [
        (reader, manifest)
        for reader in sorted(MANIFEST_READERS)
        for manifest in sorted(MANIFESTS)
        # with no manifest, deploy and demo deploy: that is their job, not an error
        if not (manifest == "missing" and reader in ("deploy", "demo"))
    ],
)
def test_missing_or_corrupt_manifest(attack, reader, manifest):
    args, _ = MANIFEST_READERS[reader]
    content, expected = MANIFESTS[manifest]
    attack(args, expected, manifest_text=content)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({}, r"is corrupt \(\w+ has no address\)"),
        ({"address": "0x1234"}, r"\w+ in .*\.json '0x1234' is not an address.*the manifest is "
         r"corrupt"),
        ({"address": "{eoa}"}, r"records \w+ at 0x[0-9a-fA-F]{40}, but there is no contract "
         r"there on chain 31337 \(a reset devnet\?\); redeploy"),
    ],
    ids=["no-address", "bad-address", "no-code"],
)  # fmt: skip
@pytest.mark.parametrize("reader", sorted(r for r, (_, name) in MANIFEST_READERS.items() if name))
def test_manifest_entry_broken(attack, world, reader, entry, expected):
    args, name = MANIFEST_READERS[reader]
    filled = {k: v.format(**world) for k, v in entry.items()}
    attack(args, expected, manifest_text=_entry(name, **filled))


# ------------------------------------------------------------------ amounts and numbers

#: A notice without milestone titles: the --milestone options give them.
FREE_NOTICE = ["--notice", str(Path(__file__).resolve().parent / "fixtures" / "notice.yaml")]
CREATE = ["tender", "create", *FREE_NOTICE, "--account", "TEST::1"]
BUDGET = ["--budget", "50000"]
BOND = ["--bond", "500"]
PLAN = ["--milestone", "100:30:all benches"]
BAD_AMOUNTS = {
    "negative": ("-1", r"must be a positive amount"),
    "words": ("lots", r"'lots' is not a number"),
    "too-fine": ("1.0000001", r"has more than 6 decimals"),
    "nan": ("NaN", r"must be a positive amount"),
    "infinite": ("Infinity", r"must be a positive amount"),
    "huge": ("1e80", r"is too large: at most \d+"),
}


@pytest.mark.parametrize("amount", sorted(BAD_AMOUNTS))
@pytest.mark.parametrize(
    "slot",
    [
        [*CREATE, "--budget", "AMOUNT", *BOND, *PLAN],
        [*CREATE, *BUDGET, "--bond", "AMOUNT", *PLAN],
        [
            "bid",
            "commit",
            "{open_tender}",
            "--price",
            "AMOUNT",
            "--doc-hash",
            "0x" + "11" * 32,
            "--account",
            "TEST::10",
        ],
        ["bid", "reveal", "{tender}", "--price", "AMOUNT", "--account", "TEST::6"],
        ["agreement", "fund", "{agreement}", "--amount", "AMOUNT", "--account", "TEST::1"],
        [
            "agreement",
            "propose-warranty-claim",
            "{agreement}",
            "AMOUNT",
            "--reason",
            "r",
            "--out",
            "{case}/p.json",
        ],
    ],
    ids=["budget", "bond", "price", "reveal-price", "fund-amount", "warranty-claim"],
)
def test_bad_amount(attack, slot, amount):
    value, expected = BAD_AMOUNTS[amount]
    if value.startswith("-") and slot[slot.index("AMOUNT") - 1] == "{agreement}":
        expected = r"No such option: -1"  # a positional argument: click reads it as an option
    attack([value if a == "AMOUNT" else a for a in slot], expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([*CREATE, "--budget", "0", *BOND, *PLAN], r"--budget must be more than 0"),
        ([*CREATE, "--budget", "100001", *BOND, *PLAN], r"exceeds the rollout-phase cap"),
        ([*CREATE, "--budget", str(2**88), *BOND, *PLAN], r"--budget .* is too large"),
        (
            [*CREATE, *BUDGET, *BOND, *PLAN, "--bidding-hours", "-1"],
            r"--bidding-hours .* must be "
            r"a positive number",
        ),
        ([*CREATE, *BUDGET, *BOND, *PLAN, "--bidding-hours", "nan"], r"--bidding-hours"),
        (
            [*CREATE, *BUDGET, *BOND, *PLAN, "--reveal-hours", "0"],
            r"--reveal-hours must be more "
            r"than 0",
        ),
        (
            [*CREATE, *BUDGET, *BOND, *PLAN, "--acceptance-hours", "1e9"],
            r"--acceptance-hours .* "
            r"is too long",
        ),
        ([*CREATE, *BUDGET, *BOND, *PLAN, "--warranty-days", "-3"], r"--warranty-days"),
        ([*CREATE, *BUDGET, *BOND, *PLAN, "--retention-bps", "10001"], r"--retention-bps"),
        ([*CREATE, *BUDGET, *BOND, *PLAN, "--penalty-cap-bps", "-1"], r"--penalty-cap-bps"),
        ([*CREATE, *BUDGET, *BOND, *PLAN, "--method", "cheapest"], r"'cheapest' is not one of"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "100:30"], r"write PERCENT:DAYS:TITLE"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "all:30:x"], r"percent 'all' is not a number"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "0:30:x"], r"must be above 0 and at most 100"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "33.333:30:x"], r"with at most 2 decimals"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "100:-1:x"], r"days '-1' must be a positive"),
        ([*CREATE, *BUDGET, *BOND, "--milestone", "100:99999:x"], r"at most 49710 days"),
        (
            [*CREATE, *BUDGET, *BOND, "--milestone", "60:1:x", "--milestone", "30:2:y"],
            r"percents sum to 90, not 100",
        ),
        ([*CREATE, *BUDGET, *BOND], r"Missing option '--milestone'"),
        (
            ["tender", "create", *BUDGET, *BOND, *PLAN, *FREE_NOTICE, "--account", "TEST::9"],
            r"is not a buying agency; ask the consortium to add it",
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "0",
                "--doc-hash",
                "0x" + "11" * 32,
                "--account",
                "TEST::10",
            ],
            r"the price must be positive",
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "50000.01",
                "--doc-hash",
                "0x" + "11" * 32,
                "--account",
                "TEST::10",
            ],
            r"exceeds the budget",
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--doc-hash",
                "0x" + "11" * 32,
                "--nonce",
                "-1",
                "--account",
                "TEST::10",
            ],
            r"--nonce",
        ),
        (["bid", "reveal", "{tender}", "--nonce", str(2**256), "--account", "TEST::6"], r"--nonce"),
        (
            ["agreement", "fund", "{agreement}", "--amount", "1", "--account", "TEST::1"],
            r"fund at least the price",
        ),
        (
            [
                "agreement",
                "submit",
                "{agreement}",
                "3",
                "--evidence",
                "e",
                "--uri",
                "u",
                "--account",
                "TEST::6",
            ],
            r"there is no milestone 3: use an index from 0 to 2",
        ),
        (
            [
                "agreement",
                "submit",
                "{agreement}",
                "-1",
                "--evidence",
                "e",
                "--uri",
                "u",
                "--account",
                "TEST::6",
            ],
            r"No such option: -1",  # click reads it as an option; `-- -1` gets the index check
        ),
        (
            [
                "agreement",
                "submit",
                "{agreement}",
                "first",
                "--evidence",
                "e",
                "--uri",
                "u",
                "--account",
                "TEST::6",
            ],
            r"'first' is not a valid integer",
        ),
        (
            ["agreement", "propose-accept", "{agreement}", "99", "--out", "{case}/p.json"],
            r"there is no milestone 99",
        ),
        (
            [
                "agreement",
                "propose-resolve",
                "{agreement}",
                "0",
                "10001",
                "--reason",
                "r",
                "--out",
                "{case}/p.json",
            ],
            r"SUPPLIER_BPS",
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--value",
                "-1",
                "--out",
                "{case}/p.json",
            ],
            r"--value",
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--value",
                str(2**256),
                "--out",
                "{case}/p.json",
            ],
            r"--value",
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                str(2**256),
                "--out",
                "{case}/p.json",
            ],
            r"out of range for uint256",
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--nonce",
                "{executed_nonce}",
                "--out",
                "{case}/p.json",
            ],
            r"nonce \d+ is already used",
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--ttl",
                "5",
                "--out",
                "{case}/p.json",
            ],
            r"--ttl",
        ),
        (
            ["consortium", "propose", "--function", "setThreshold", "3", "--out", "{case}/p.json"],
            r"is not a function signature like name\(type,...\)",
        ),
        (["audit", "export", "--tender", "99"], r"has no tender 99"),
        (["audit", "export", "--tender", "0"], r"--tender"),
        (["audit", "export", "--tender", "one"], r"--tender"),
        (["audit", "export", "--from-block", "-5"], r"--from-block"),
        (["audit", "export", "--from-block", str(10**12)], r"is after the latest block"),
        (["audit", "export", "--format", "xml"], r"'xml' is not one of"),
        (["audit", "export", "--currency", "usd"], r"is not an ISO 4217 code"),
        (["tender", "show", "{registry}", "--network", "ethereum:nowhere"], r"--network"),
    ],
)
def test_bad_number_or_choice(attack, args, expected):
    attack(args, expected)


# ------------------------------------------------------------------ files and texts


@pytest.mark.parametrize(
    ("args", "expected", "files"),
    [
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--documents",
                "{case}/none.pdf",
                "--account",
                "TEST::10",
            ],
            r"'.*none\.pdf' does not exist",
            (),
        ),
        (
            ["bid", "commit", "{open_tender}", "--price", "1", "--account", "TEST::10"],
            r"give --documents FILE or --doc-hash HASH",
            (),
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--doc-hash",
                "0x1234",
                "--account",
                "TEST::10",
            ],
            r"--doc-hash '0x1234' is not 32 bytes",
            (),
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--doc-hash",
                "0x" + "zz" * 32,
                "--account",
                "TEST::10",
            ],
            r"is not 32 bytes as 64 hex digits",
            (),
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--documents",
                "{case}/doc.pdf",
                "--journal",
                "{case}/journal.json",
                "--account",
                "TEST::10",
            ],
            r"the bid journal .*journal\.json is not valid JSON",
            ("doc.pdf", "journal.json"),
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--documents",
                "{case}/doc.pdf",
                "--journal",
                "{case}/journal-shape.json",
                "--account",
                "TEST::10",
            ],
            r"is not a list of bids",
            ("doc.pdf", "journal-shape.json"),
        ),
        (
            [
                "bid",
                "commit",
                "{open_tender}",
                "--price",
                "1",
                "--documents",
                "{case}/doc.pdf",
                "--journal",
                "{case}/a-file/bids.json",
                "--account",
                "TEST::10",
            ],
            r"the bid journal .* cannot be written",
            ("doc.pdf", "a-file"),
        ),
        (
            [
                "bid",
                "reveal",
                "{tender}",
                "--journal",
                "{case}/journal.json",
                "--account",
                "TEST::6",
            ],
            r"cannot reveal a bid: the tender is in stage contracted",
            ("journal.json",),
        ),
        (
            [
                "agreement",
                "submit",
                "{agreement}",
                "0",
                "--evidence",
                "@{case}/none.pdf",
                "--uri",
                "u",
                "--account",
                "TEST::6",
            ],
            r"--evidence '@.*none\.pdf': .* is not a file",
            (),
        ),
        (
            [
                "agreement",
                "submit",
                "{agreement}",
                "0",
                "--evidence",
                " ",
                "--uri",
                "u",
                "--account",
                "TEST::6",
            ],
            r"--evidence is empty",
            (),
        ),
        (
            ["agreement", "dispute", "{agreement}", "0", "--reason", "", "--account", "TEST::1"],
            r"--reason is empty",
            (),
        ),
        (
            [
                "tender",
                "create",
                *BUDGET,
                *BOND,
                *PLAN,
                "--notice",
                "{case}/none.yaml",
                "--account",
                "TEST::1",
            ],
            r"notice file '.*none\.yaml' does not exist",
            (),
        ),
        (
            [
                "tender",
                "propose-cancel",
                "{open_tender}",
                "--reason",
                "  ",
                "--out",
                "{case}/p.json",
            ],
            r"--reason must say why",
            (),
        ),
        (
            [
                "tender",
                "propose-cancel",
                "{open_tender}",
                "--reason",
                "r",
                "--out",
                "{case}/out.json",
            ],
            r"out\.json exists; choose another --out",
            ("out.json",),
        ),
        (
            [
                "tender",
                "propose-disqualify",
                "{open_tender}",
                "{eoa}",
                "--reason",
                "r",
                "--out",
                "{case}/p.json",
            ],
            r"has no bid on tender",
            (),
        ),
        (
            [
                "agreement",
                "propose-terminate",
                "{agreement}",
                "--reason",
                "r",
                "--out",
                "{case}/out.json",
            ],
            r"out\.json exists",
            ("out.json",),
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--out",
                "{case}/out.json",
            ],
            r"out\.json exists",
            ("out.json",),
        ),
        (
            [
                "consortium",
                "propose",
                "--function",
                "setThreshold(uint256)",
                "3",
                "--out",
                "{case}",
            ],
            r"is a directory",
            (),
        ),
        (
            ["consortium", "declare-conflict", "{bidder}", "--reason", " ", "--account", "TEST::4"],
            r"--reason must say why",
            (),
        ),
        (
            ["audit", "export", "--names", "{case}/names.json"],
            r"--names.*'0x1234' is not an address",
            ("names.json",),
        ),
        (
            ["audit", "export", "--names", "{case}/binary.json"],
            r"--names.*is not JSON",
            ("binary.json",),
        ),
        (["audit", "export", "--names", "{case}/none.json"], r"'.*none\.json' does not exist", ()),
        (["demo", "--out", "{case}/a-file"], r"is a file", ("a-file",)),
    ],
)
def test_bad_file_or_text(attack, args, expected, files):
    attack(args, expected, files)


def test_a_second_conflict_declaration_is_refused(attack, world, accounts):
    consortium = world["consortium_contract"]
    consortium.declareConflict(accounts[7], keccak(text="advised them"), sender=accounts[4])
    args = ["consortium", "declare-conflict", str(accounts[7].address), "--reason", "again"]
    attack([*args, "--account", "TEST::4"], r"already declared a conflict with 0x")


# ------------------------------------------------------------------ deploy --config

EXAMPLE = (PROJECT / "deploy" / "example.yaml").read_text()
MEMBER_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
CONFIGS = {
    "not-yaml": ("consortium: [unclosed", r"is not valid YAML"),
    "not-a-mapping": ("- just a list", r"must be a mapping with a 'consortium' section"),
    "no-members": ("consortium:\n  threshold: 1\n", r"missing or invalid key \('members'\)"),
    "bad-address": (EXAMPLE.replace(MEMBER_1, "0x7099"), r"members\[0\]\.address '0x7099' is "
                    r"not an address"),
    "bad-checksum": (EXAMPLE.replace(MEMBER_1, _bad_checksum(MEMBER_1)), r"wrong checksum"),
    "zero-member": (EXAMPLE.replace(MEMBER_1, "0x" + "00" * 20), r"is the zero address"),
    "twice": (EXAMPLE.replace("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", MEMBER_1),
              r"member 0x7099.* is listed twice"),
    "threshold": (EXAMPLE.replace("threshold: 3", "threshold: 9"), r"threshold 9 is impossible "
                  r"with 5 members"),
    "role": (EXAMPLE.replace("roles: [legal]", "roles: [mayor]"), r"unknown role 'mayor'"),
    "no-role": (EXAMPLE.replace("roles: [legal]", "roles: []"), r"has no role"),
    "policy": (EXAMPLE.replace('"terminate(bytes32)"', '"terminat(bytes32)"'),
               r"policy function terminat\(bytes32\) is not a function"),
    "cap": (EXAMPLE.replace('phase_cap: "100000"', 'phase_cap: "-5"'), r"must be a positive"),
    "cap-huge": (EXAMPLE.replace('phase_cap: "100000"', "phase_cap: 1e40"), r"is too large"),
    "token-eoa": (EXAMPLE.replace('# token: "0x..."', f'token: "{MEMBER_1}"'),
                  r"token 0x7099.* has no code on chain 31337"),
    "binary": (bytes(range(256)), r"is not valid YAML"),
}  # fmt: skip


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_bad_deployment_file(attack, world, config, monkeypatch):
    content, expected = CONFIGS[config]
    monkeypatch.setitem(FILES, "deploy.yaml", lambda w: _as_bytes(content))
    args = ["deploy", "--config", "{case}/deploy.yaml", "--force", "--account", "TEST::0"]
    attack(args, expected, ("deploy.yaml",))


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


def test_deploy_refuses_a_second_deployment_and_a_missing_file(attack):
    attack(["deploy", "--account", "TEST::0"], r"already deployed on this network")
    attack(["deploy", "--config", "{case}/none.yaml", "--account", "TEST::0"], r"cannot read")


# ------------------------------------------------------------------ devnet


@pytest.fixture
def devnet_env(world, monkeypatch):
    folder = world["folder"] / "case" / "devnet"
    monkeypatch.setenv("PROCURECHAIN_DEVNET_DIR", str(folder))
    monkeypatch.setenv("PROCURECHAIN_DEVNET_PORT", "8")  # nothing answers there
    return folder


@pytest.mark.parametrize("command", ["start", "stop", "status"])
@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_devnet_bad_port(attack, devnet_env, monkeypatch, command, port):
    monkeypatch.setenv("PROCURECHAIN_DEVNET_PORT", port)
    attack(["devnet", command], rf"PROCURECHAIN_DEVNET_PORT='{port}' is not a port", network=False)


def test_devnet_stop_never_signals_a_process_it_did_not_start(attack, devnet_env, chain):
    """A stale or edited pid file naming another program (here a `sleep`, then this test's
    own Anvil) is refused: nothing is signalled, the file is left as it was."""
    devnet_env.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "60"])
    anvil = chain.provider.process  # the node this very test runs on
    pids = [sleeper.pid, 1] + ([anvil.pid] if anvil is not None else [])
    try:
        for pid in pids:
            (devnet_env / "anvil.pid").write_text(f"{pid}\n")
            attack(["devnet", "stop"], rf"names process {pid}, which is not this devnet's anvil",
                   network=False)  # fmt: skip
            assert sleeper.poll() is None
            assert chain.provider.web3.eth.block_number >= 0
    finally:
        sleeper.kill()
        sleeper.wait()


# ------------------------------------------------------------------ as a real process

PROCESS_CASES = {
    "consortium": (["consortium", "sign", "{case}/tampered.json", "--account", "TEST::2"],
                   "was changed after it was proposed", ("tampered.json",)),
    "tender": (["tender", "create", *BUDGET, "--bond", "-5", *PLAN, *FREE_NOTICE, "--account",
                "TEST::1"],
               "--bond '-5' must be a positive amount", ()),
    "bid": (["bid", "commit", "{open_tender}", "--price", "12.3456789", "--doc-hash",
             "0x" + "11" * 32, "--account", "TEST::10"], "has more than 6 decimals", ()),
    "agreement": (["agreement", "status", _bad_checksum(MEMBER_1)],
                  "has a wrong checksum", ()),
    "deploy": (["deploy", "--config", "{case}/deploy.yaml", "--force", "--account", "TEST::0"],
               "is not valid YAML", ("binary.json",)),
    "devnet": (["devnet", "stop"], "PROCURECHAIN_DEVNET_PORT='x' is not a port", ()),
    "demo": (["demo", "--out", "{case}/a-file"], "is a file", ("a-file",)),
    "audit": (["audit", "export", "--tender", "99"], "has no tender 99", ()),
}  # fmt: skip


def test_each_script_as_a_process(world, chain, accounts):
    """One case per script as a real `ape run` process (all at once: start-up dominates):
    exit code 1 or 2, stderr one `Error:` line, stdout empty, no transaction, files kept."""
    folder = world["folder"] / "process"
    folder.mkdir()
    (folder / "tampered.json").write_bytes(FILES["tampered.json"](world))
    (folder / "deploy.yaml").write_bytes(bytes(range(256)))
    (folder / "a-file").write_bytes(b"not a folder")
    files = {p: p.read_bytes() for p in folder.iterdir()}
    manifest = Path(world["manifest"]).read_bytes()
    block = chain.provider.web3.eth.block_number
    ape = str(Path(sys.executable).with_name("ape"))
    network = f"ethereum:local:{chain.provider.uri}"
    env = {**os.environ, "PROCURECHAIN_DEVNET_PORT": "x"}

    def run(args: list[str]) -> subprocess.CompletedProcess:
        argv = [a.format(case=folder, **world) for a in args]
        if argv[0] != "devnet":
            argv += ["--network", network]
        return subprocess.run(
            [ape, "run", *argv], cwd=PROJECT, capture_output=True, text=True, timeout=180, env=env
        )

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(
            zip(PROCESS_CASES, pool.map(run, [c[0] for c in PROCESS_CASES.values()]), strict=True)
        )
    print(f"{len(results)} `ape run` processes in {time.monotonic() - started:.1f} s")
    for script, result in results.items():
        expected = PROCESS_CASES[script][1]
        errors = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode in (1, 2), (script, result.stdout, result.stderr)
        assert errors == [errors[0]] and errors[0].startswith("Error: "), (script, result.stderr)
        assert expected in errors[0], (script, errors[0])
        assert "Traceback" not in result.stderr, script
        printed = [line for line in result.stdout.splitlines() if line.strip()]
        assert all(line.startswith("INFO:") for line in printed), (script, printed)  # Ape's own
    assert chain.provider.web3.eth.block_number == block
    assert {p: p.read_bytes() for p in folder.iterdir()} == files
    assert Path(world["manifest"]).read_bytes() == manifest
