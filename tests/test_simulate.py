"""`ape run simulate`: complete procurements through the bulk path, checked by `audit verify`."""

from procurechain.simulation import SimulationConfig, simulate

from conftest import deployments_in


def test_a_small_city_runs_every_lifecycle_to_the_end_and_the_record_verifies(tmp_path):
    with deployments_in(tmp_path / "deployments"):
        result = simulate(SimulationConfig(tenders=5, bidders=3, cohort=3, seed=7, fresh=True))
    assert result.tenders == 5
    assert [c.tenders for c in result.cohorts] == [3, 2]
    assert sum(result.outcomes.values()) == 5
    assert set(result.outcomes) <= {"completed", "failed", "cancelled"}
    assert result.outcomes.get("completed", 0) >= 3
    assert result.differences == []
    assert result.flows_matching
    assert result.stranded == 0  # every bond, escrow and retention paid out
    assert result.transactions == sum(c.transactions for c in result.cohorts) > 100
    assert result.audit_events > result.transactions  # at least one event per transaction
    # A block costs Anvil more as its state grows, so a cohort's block count must not grow
    # with its months: six tender phases, the deliveries, one block per month with late
    # deliveries, three to finish the decisions, the payouts (the first cohort also stops to
    # estimate each new kind of transaction's gas).
    assert [c.blocks <= 16 for c in result.cohorts[1:]] == [True]


def test_the_command_reuses_the_deployment_and_prints_the_figures(ape_run, tmp_path, monkeypatch):
    monkeypatch.setenv("PROCURECHAIN_DEPLOYMENTS", str(tmp_path / "deployments"))
    first = ape_run("simulate", "--tenders", "2", "--bidders", "2", "--fresh", "--seed", "3")
    assert "deployed now" in first.stdout
    second = ape_run("simulate", "--tenders", "2", "--bidders", "2", "--seed", "4")
    assert "reused" in second.stdout
    summary = second.stdout.strip().splitlines()[-1]
    assert summary.startswith("2 procurements, ")
    assert "audit verify: 0 differences, token flows match, 0.00 dUSD left in contracts" in summary


def test_a_bad_option_is_one_line(ape_run):
    result = ape_run("simulate", "--tenders", "0", expect_ok=False)
    assert "Traceback" not in result.stdout + result.stderr
    assert "Invalid value for '--tenders'" in result.stderr
