"""Cardinal's indicators against Cardinal's own fixtures and documented examples (pure, fast)."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from procurechain import display, flags
from procurechain.flags import quantiles
from procurechain.flags.settings import Settings
from procurechain.flags.wording import Wording

FIXTURES = Path(__file__).parent / "fixtures" / "cardinal"
INDICATORS = sorted((FIXTURES / "indicators").glob("*.jsonl"))
EXAMPLES = sorted((FIXTURES / "examples").glob("*.jsonl"))


def read_lines(path: Path) -> list[dict]:
    """JSON lines as Cardinal reads them: blank and invalid lines skipped."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def settings_of(name: str) -> str:
    """The settings a fixture's name stands for (as Cardinal's build.rs reads it), plus the NPC
    and EXC settings every fixture runs with."""
    code, *parts = name.replace("+", "|").split("-")
    lines = ["no_price_comparison_procurement_methods = NPC", f"[{code}]"]
    if len(parts) == 2:
        lines.append(f"{parts[0]} = {parts[1]}")
    elif len(parts) > 2:
        lines.append(f"[{code}.{parts[0]}]")
        lines += [f"{k} = {v}" for k, v in zip(parts[1::2], parts[2::2], strict=True)]
    lines += ["[exclusions]", "procurement_method_details = EXC"]
    return "\n".join(lines) + "\n"


def run(releases: list[dict], settings: Settings, **options) -> dict:
    return flags.to_cardinal(flags.evaluate(releases, settings=settings), **options)


def test_every_indicator_has_upstream_fixtures():
    codes = {p.stem.split("-")[0] for p in INDICATORS}
    assert codes == set(flags.CARDINAL_CODES)
    assert len(INDICATORS) == 15
    assert len(EXAMPLES) == 11


@pytest.mark.parametrize("path", INDICATORS, ids=lambda p: p.stem)
def test_upstream_fixture(path):
    settings = Settings.parse(settings_of(path.stem), path.name)
    expected = json.loads(path.with_suffix(".expected").read_text())
    assert run(read_lines(path), settings, meta=False, maps=False) == expected


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_documented_example(path):
    settings = Settings.load(path.with_suffix(".ini"))
    expected = json.loads(path.with_suffix(".expected").read_text())
    assert run(read_lines(path), settings, meta=False, maps=False) == expected


@pytest.mark.parametrize(
    ("name", "meta"),
    [
        ("indicators/R024", {"R024": {"q1": 66.6667, "q3": 100.0, "lower_fence": 16.6667}}),
        ("examples/024", {"R024": {"q1": 66.3333, "q3": 99.0, "lower_fence": 17.3333}}),
        ("indicators/R058", {"R058": {"q1": 0.0, "q3": 33.3333, "upper_fence": 83.3333}}),
        ("examples/058", {"R058": {"q1": 1.0, "q3": 33.6667, "upper_fence": 82.6667}}),
        (
            "indicators/R025",
            {"R025": {"q1": 0.9333, "q3": 1.0, "upper_fence": 1.0, "lower_fence": 0.8333}},
        ),
        (
            "examples/025",
            {"R025": {"q1": 0.9306, "q3": 1.0, "upper_fence": 1.4167, "lower_fence": 0.8264}},
        ),
        (
            "indicators/R048-minimum_contracting_processes-1",
            {"R048": {"q1": 1.0, "q3": 1.3333, "upper_fence": 1.8333}},
        ),
    ],
)
def test_meta_is_cardinals_type_8_statistics(name, meta):
    """The fences in Cardinal's Meta (its docs print the R024 one), not numpy's default type 7,
    which would give Q1 = Q3 for every one of these."""
    path = FIXTURES / f"{name}.jsonl"
    ini = path.with_suffix(".ini")
    text = ini.read_text() if ini.exists() else settings_of(path.stem)
    found = run(read_lines(path), Settings.parse(text))["Meta"]
    assert {code: found[code] for code in meta} == meta


def test_r038_meta_and_maps_per_group():
    path = FIXTURES / "indicators" / "R038.jsonl"
    out = run(read_lines(path), Settings.parse(settings_of("R038")))
    assert out["Meta"]["R038"] == {
        "Buyer_q1": 0.5,
        "Buyer_q3": 0.5,
        "Buyer_upper_fence": 0.5,
        "ProcuringEntity_q1": 0.5,
        "ProcuringEntity_q3": 0.5,
        "ProcuringEntity_upper_fence": 0.5,
    }  # every tenderer made one bid: below the minimum of 2, so no Tenderer statistics
    assert out["Maps"]["ocid_buyer_r038"] == {"0": "B"}
    assert out["Maps"]["ocid_procuringentity_r038"] == {"0": "P"}
    assert set(out["Maps"]["ocid_tenderer"]) == {"0", "1", "2", "3", "4"}


def test_maps_name_the_flagged_tenderers_of_each_process():
    path = FIXTURES / "indicators" / "R024.jsonl"
    maps = run(read_lines(path), Settings.parse(settings_of("R024")))["Maps"]
    assert maps["ocid_tenderer_r024"] == {"F": ["L", "W"], "repeat tenderers": ["L", "W"]}
    assert set(maps) >= {"ocid_tenderer", "ocid_tenderer_r028", "ocid_buyer_r038"}
    assert maps["ocid_tenderer"] == {}  # Cardinal fills it only for R025, R038 or R048


def test_a_configured_threshold_replaces_the_fence_and_its_quartiles():
    releases = read_lines(FIXTURES / "examples" / "024.jsonl")  # ratios 1, 99, 99, 99, 99
    out = run(releases, Settings.parse("[R024]\nthreshold = 99 ; every ratio\n"))
    assert out["Meta"] == {"R024": {"lower_fence": 99.0}}
    assert set(out["OCID"]) == {"F", "1", "2", "3", "4"}
    none = run(releases, Settings.parse("[R024]\nthreshold = 0.5 # below every ratio\n"))
    assert "OCID" not in none


def test_evidence_names_the_figures():
    found = flags.evaluate(
        read_lines(FIXTURES / "indicators" / "R038.jsonl"),
        settings=Settings.parse(settings_of("R038")),
    ).flags
    buyer = next(f for f in found if f.group == "Buyer")
    assert (buyer.code, buyer.party, buyer.value, buyer.ocid) == ("R038", "B", 0.5, None)
    assert buyer.evidence.startswith("1 of the 2 bids received were disqualified (ratio 0.5)")
    assert "at or above 0.5 are flagged" in buyer.evidence
    r036 = flags.evaluate(
        read_lines(FIXTURES / "examples" / "036.jsonl"), settings=Settings.parse("[R036]")
    ).flags
    assert [f.evidence for f in r036] == [
        "The lowest bid, 1 USD, was disqualified, while valid bids had prices (the lowest "
        "valid bid: 2 USD)."
    ]
    token = display.Token("dUSD", 6)
    assert Wording([], token).listing(["A", "B", "C"], limit=2) == "A, B and 1 more"
    assert Wording([], token).amount(42500, "USD") == "42,500.00 dUSD"
    assert Wording([], token).amount(0.000001, "USD") == "0.000001 dUSD"


# ------------------------------------------------------------------------------ quantiles


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 10, 31, 200])
def test_quantiles_are_numpys_median_unbiased(size):
    rng = random.Random(size)
    values = [rng.choice([0.0, 1.0, rng.random() * 100]) for _ in range(size)]
    for tau in (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0):
        ours = quantiles.quantile(values, tau)
        theirs = float(numpy.quantile(values, tau, method="median_unbiased"))
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), (values, tau)


def test_quantile_edges():
    assert math.isnan(quantiles.quantile([], 0.5))
    assert math.isnan(quantiles.quantile([1.0], 1.5))
    assert quantiles.lower_quartile([0, 0, *[100] * 7]) == pytest.approx(200 / 3)
    assert quantiles.percentile([10, *[1] * 9], 75) == 1.0
    # one rounding, as Rust's mul_add (two roundings give -0.29366156584917336)
    iqr, q1 = 0.49543508709194095, 0.4494910647887381
    assert quantiles.fma(iqr, -1.5, q1) == -0.2936615658491733 != iqr * -1.5 + q1
    assert quantiles.lower_fence(q1, q1 + iqr) == quantiles.fma(iqr, -1.5, q1)
    assert quantiles.round4(0.00005) == 0.0001 and quantiles.round4(-2.5e-5) == -0.0
    assert quantiles.round4(math.nan) is None


def test_redacted_zero_amounts_do_not_count_as_the_lowest_bid():
    """Cardinal's workflow redacts placeholder amounts (prepare) before R036: a zero bid,
    disqualified by the chain, is then not "the lowest bid disqualified"."""
    release = {
        "ocid": "Z",
        "bids": {
            "details": [
                {"status": "disqualified", "value": {"amount": 0, "currency": "USD"}},
                {"status": "valid", "value": {"amount": 5, "currency": "USD"}},
            ]
        },
        "awards": [{"status": "active"}],
    }
    assert run([release], Settings.parse("[R036]"), meta=False, maps=False) == {
        "OCID": {"Z": {"R036": 1.0}}
    }
    redacted = Settings.parse("[redactions]\namount = 0\n[R036]")
    assert run([release], redacted, meta=False, maps=False) == {}
    assert release["bids"]["details"][0]["value"]["amount"] == 0  # the input is not changed


# -------------------------------------------------------------------------- hostile input

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 0, 1])
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=25,
)
statuses = st.sampled_from(["valid", "disqualified", "pending", "active", "cancelled", 1, None])


@st.composite
def odd_releases(draw):
    """Releases of the right overall shape with wrong types and values anywhere inside."""
    bid = st.fixed_dictionaries(
        {},
        optional={
            "status": statuses,
            "date": json_values,
            "tenderers": st.lists(st.fixed_dictionaries({"id": json_values}), max_size=3)
            | json_values,
            "value": st.fixed_dictionaries(
                {}, optional={"amount": json_values, "currency": json_values}
            ),
        },
    )
    award = st.fixed_dictionaries(
        {},
        optional={
            "status": statuses,
            "suppliers": st.lists(st.fixed_dictionaries({"id": json_values}), max_size=2),
            "items": st.lists(st.fixed_dictionaries({"classification": json_values}), max_size=3),
        },
    )
    return draw(
        st.fixed_dictionaries(
            {"ocid": st.text(max_size=8) | json_values},
            optional={
                "tender": st.fixed_dictionaries(
                    {},
                    optional={
                        "tenderPeriod": json_values,
                        "numberOfTenderers": json_values,
                        "procurementMethod": json_values,
                        "procurementMethodDetails": json_values,
                        "status": json_values,
                        "procuringEntity": json_values,
                    },
                ),
                "bids": st.fixed_dictionaries({"details": st.lists(bid, max_size=4)}) | json_values,
                "awards": st.lists(award, max_size=3) | json_values,
                "buyer": json_values,
                "parties": json_values,
            },
        )
    )


@given(st.lists(odd_releases() | json_values, max_size=6))
def test_no_shape_of_input_breaks_the_indicators(releases):
    out = run(releases, Settings(), meta=True, maps=True)
    json.dumps(out, allow_nan=False)
    for flag in flags.evaluate(releases).flags:
        assert "\n" not in flag.evidence and flag.code in flags.DEFINITIONS


def test_a_flood_of_identical_bids_keeps_each_evidence_short():
    bids = [
        {
            "status": "valid",
            "tenderers": [{"id": f"T{i}" + "x" * 1_000, "name": "<b>\n" * 100}],
            "value": {"amount": 1, "currency": "USD"},
        }
        for i in range(3_000)
    ]
    found = flags.evaluate(
        [{"ocid": "F", "bids": {"details": bids}}], settings=Settings.parse("[R028]")
    ).flags
    assert [f.code for f in found] == ["R028"] * 3_001
    assert max(len(f.evidence) for f in found) < 2_000
    assert "and 2,990 more" in found[0].evidence
