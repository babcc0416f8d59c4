"""The reference scenario end to end: every contract, every role, the real consortium."""

import json

import pytest

from procurechain.scenario import DUSD, run_reference

from conftest import deployments_in


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    steps = []
    with deployments_in(out / "deployments"):
        result = run_reference(out, steps.append)
    return result, steps, out


def test_nothing_is_stranded_and_no_token_is_created_or_lost(outcome):
    result, _, _ = outcome
    assert result.balances["Tender contract"] == 0
    assert result.balances["Agreement escrow"] == 0
    assert sum(result.balances.values()) == result.minted == 63_000 * DUSD


def test_where_the_money_went(outcome):
    result, _, _ = outcome
    price = 42_500 * DUSD
    # Milestone 2 is 3 started days late: 0.1 %/day of 17,000 = 51 dUSD back to the buyer.
    penalty = 51 * DUSD
    # Milestone 3 (8,500) resolved 80 % to the supplier: 1,700 back to the buyer.
    refund = 1_700 * DUSD
    supplier_income = price - penalty - refund
    assert result.balances["Benchworks Ltd"] == 1_000 * DUSD + supplier_income
    # The buyer paid the price, got penalty and refund back, and the forfeited bond.
    assert result.balances["City Parks (agency)"] == (
        60_000 * DUSD - price + penalty + refund + 500 * DUSD
    )
    assert result.balances["Luxury Seating"] == 1_000 * DUSD  # bond returned
    assert result.balances["Quiet Bidder"] == 500 * DUSD  # bond forfeited


def test_signers_read_decisions_in_dusd(outcome):
    _, steps, _ = outcome
    decisions = [s.action for s in steps if s.actor == "Consortium"]
    award, _, late, resolve = decisions
    assert " at 42,500.00 dUSD (who then has 5 days to accept) — signed by " in award
    assert "delivered 3 days late): pay the supplier 16,099.00 dUSD, 850.00 dUSD held as " in late
    assert late.split(" — ")[0].endswith("retention, 51.00 dUSD late penalty to the buyer")
    assert resolve.split(" — ")[0].endswith(
        "80% to the supplier: pay the supplier 6,460.00 dUSD, 340.00 dUSD held as retention, "
        "1,700.00 dUSD back to the buyer"
    )
    assert "revealed 42,500.00 dUSD (valid)" in [s.action for s in steps]


def test_the_recused_expert_did_not_count_for_the_award(outcome):
    _, steps, _ = outcome
    recusals = [s for s in steps if "is recused from 'award" in s.action]
    assert [s.actor for s in recusals] == ["Technical expert"]
    award = next(s for s in steps if s.actor == "Consortium" and "award tender" in s.action)
    assert "Technical expert" not in award.action


def test_every_decision_is_a_saved_signed_bundle(outcome):
    _, _, out = outcome
    bundles = sorted((out / "proposals").glob("*.json"))
    assert [b.name for b in bundles] == [
        "01-award.json",
        "02-accept-1.json",
        "03-accept-2.json",
        "04-resolve-3.json",
    ]
    for bundle in bundles:
        assert len(json.loads(bundle.read_text())["signatures"]) >= 3
    record = json.loads((out / "scenario.json").read_text())
    assert record["minted"] == 63_000 * DUSD


@pytest.mark.parametrize("interrupted_after", ["deploy", "publish", "bid", "award", "deliver"])
def test_an_interrupted_run_continues_from_the_chain(interrupted_after, tmp_path, monkeypatch):
    """Stop after a stage (as a crash would), run again: it completes with no step repeated
    and the same end balances as an uninterrupted run."""
    monkeypatch.setenv("PROCURECHAIN_DEPLOYMENTS", str(tmp_path / "deployments"))
    first_steps, second_steps = [], []
    run_reference(tmp_path / "out", first_steps.append, stop_after=interrupted_after)
    result = run_reference(tmp_path / "out", second_steps.append)
    assert second_steps[0].action == "found the suite deployed on this chain; continuing"
    done_first = {s.action for s in first_steps if s.tx}
    done_again = {s.action for s in second_steps if s.tx}
    assert not done_first & done_again, "a transaction was repeated"
    assert result.balances["Tender contract"] == result.balances["Agreement escrow"] == 0
    assert sum(result.balances.values()) == result.minted == 63_000 * DUSD
    assert result.balances["Quiet Bidder"] == 500 * DUSD


def test_unknown_stage_is_refused(tmp_path):
    from procurechain.errors import ProcurechainError

    with pytest.raises(ProcurechainError, match="unknown stage 'lunch'"):
        run_reference(tmp_path, stop_after="lunch")
