def test_token_has_six_decimals_and_permit_domain(accounts, project):
    token = accounts[0].deploy(project.DemoStablecoin)
    assert token.decimals() == 6
    assert token.symbol() == "dUSD"
    assert token.nonces(accounts[0]) == 0
