"""The flags' settings file, definitions and documentation, and the output shapes (pure)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from procurechain import flags
from procurechain.flags.settings import Settings, SettingsError

DOC = Path(__file__).resolve().parents[1] / "docs" / "flags.md"


def test_defaults_are_cardinals():
    s = Settings()
    assert s.enabled == frozenset(flags.CODES)
    assert s.r003.threshold == 15
    assert s.r018.procurement_methods == {"open", "selective"}
    assert (s.r024.threshold, s.r058.threshold) == (None, None)
    assert (s.r025.percentile, s.r025.threshold) == (75, None)
    assert s.r035.threshold == 1
    assert (s.r038.minimum_submitted_bids, s.r038.minimum_contracting_processes) == (2, 2)
    assert (s.r048.digits, s.r048.minimum_contracting_processes) == (2, 20)


def test_a_cardinal_settings_file_reads_whole():
    text = """currency = USD
no_price_comparison_procurement_methods = Random Selection|
[output]
info_currency_mismatches = true
[defaults]
currency = USD
[redactions]
amount = 0
[codelists.bid_status]
qualified = valid
[exclusions]
procurement_method_details = Random Selection
[R003]
threshold = 15 # default
[R003.procurement_method_details]
Cotización = 10
[R035]
threshold = 0
[P002]
margin = 0.05
"""
    s = Settings.parse(text)
    assert s.enabled == {"R003", "R035", "P002"}
    assert s.currency == "USD"
    assert s.no_price_comparison_procurement_methods == {"Random Selection"}
    assert s.r003.procurement_method_details == {"Cotización": 10}
    assert s.prepare.redact_amounts == {0.0}
    assert s.p002.margin == 0.05 and s.p002.window_days == 30
    assert s.info_currency_mismatches


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[R024]\nthreshold = abc\n", "x.ini: [R024] threshold: 'abc' is not a number"),
        ("[R048]\ndigits = -1\n", "x.ini: [R048] digits: '-1' is below 0"),
        ("[R024]\nfence = 1\n", "x.ini: [R024] fence: unknown key (this section takes threshold)"),
        ("[R999]\n", "x.ini: unknown section [R999]"),
        ("color = red\n", "x.ini: color: unknown key"),
        ("[R024]\n[R024]\n", "x.ini is not a valid settings file:"),
        ("[R024\n", "x.ini is not a valid settings file:"),
        ("[P003]\nthreshold = 2\n", "x.ini: [P003] threshold: '2' is not a share between 0 and 1"),
    ],
)
def test_bad_settings_are_one_line(text, message):
    with pytest.raises(SettingsError) as caught:
        Settings.parse(text, "x.ini")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_unreadable_settings_files_are_one_line(tmp_path):
    with pytest.raises(SettingsError, match=r"cannot read .*missing.ini"):
        Settings.load(tmp_path / "missing.ini")
    binary = tmp_path / "binary.ini"
    binary.write_bytes(b"[R024]\nthreshold = \xff\n")
    with pytest.raises(SettingsError, match="is not UTF-8 text"):
        Settings.load(binary)


def test_the_documented_settings_file_is_the_defaults():
    """docs/flags.md lists every key with its default: read, it must equal ``Settings()``."""
    text = DOC.read_text(encoding="utf-8")
    ini = re.search(r"```ini\n(.*?)```", text, re.S).group(1)
    assert Settings.parse(ini, "docs/flags.md") == Settings()


def test_every_code_is_defined_and_documented():
    text = DOC.read_text(encoding="utf-8")
    assert set(flags.DEFINITIONS) == set(flags.CODES)
    for code, definition in flags.DEFINITIONS.items():
        assert definition.title and definition.description.endswith(".")
        assert f"| {code} | {definition.title} |" in text
        assert definition.source == definition.url
        if code.startswith("R"):
            assert definition.kind == "Cardinal"
            assert definition.url == (
                f"https://cardinal.readthedocs.io/en/latest/cli/indicators/R/{code[1:]}.html"
            )
            assert definition.party_role is None
        else:
            assert definition.kind == "chain"
            anchor = code.lower()
            assert definition.url == f"docs/flags.md#{anchor}"
            assert f'<a id="{anchor}"></a>\n### {code} {definition.title}' in text


def test_cardinal_shape_and_rows_of_hand_made_flags():
    findings = flags.Findings(
        flags=[
            flags.Flag("R024", "F", None, 0.25, "close", "OCID", 7),
            flags.Flag("R024", "F", "W", 0, "winner", "Tenderer", 7),
            flags.Flag("R038", None, "B", 0.5, "many", "Buyer"),
            flags.Flag("P008", "F", "X", 500, "bond", "OCID", 7),
            flags.Flag("P008", "F", "Y", 500, "bond", "OCID", 7),
            flags.Flag("P003", None, "B", 0.8, "same", "Buyer"),
        ],
        meta={"R024": {"q1": float("nan"), "lower_fence": 0.123456}},
        maps={"ocid_buyer_r038": {"F": "B"}},
    )
    out = flags.to_cardinal(findings)
    assert out["OCID"] == {"F": {"R024": 0.25, "P008": 500.0}}
    assert out["Buyer"] == {"B": {"R038": 0.5, "P003": 0.8}}
    assert out["Tenderer"] == {"W": {"R024": 0.0}}
    assert "ProcuringEntity" not in out
    assert out["Meta"] == {"R024": {"q1": None, "lower_fence": 0.1235}}
    assert out["Maps"]["ocid_tenderer_r024"] == {"F": ["W"]}
    assert out["Maps"]["ocid_tenderer_p008"] == {"F": ["X", "Y"]}
    assert out["Maps"]["ocid_buyer_r038"] == {"F": "B"}
    assert out["Maps"]["ocid_tenderer_r030"] == {}
    json.dumps(out, allow_nan=False)
    assert flags.to_rows(findings.flags)[3] == {
        "code": "P008", "tender_id": 7, "party": "X", "value": 500.0, "evidence": "bond",
    }  # fmt: skip
    assert flags.line(findings.flags[2]) == "R038 Excessive disqualified bids — buyer B — many"
    with pytest.raises(ValueError, match="needs its ocid"):
        flags.Flag("R018", None, None, 1.0, "x")
