import ape

from conftest import DUSD


def test_token_is_six_decimal_dusd_with_permit(token, deployer):
    assert token.decimals() == 6
    assert token.symbol() == "dUSD"
    assert token.nonces(deployer) == 0
    assert token.owner() == deployer


def test_owner_mints_and_nobody_else(token, deployer, stranger):
    token.mint(stranger, 5 * DUSD, sender=deployer)
    assert token.balanceOf(stranger) == 5 * DUSD
    with ape.reverts(token.OwnableUnauthorizedAccount, account=stranger):
        token.mint(stranger, 1, sender=stranger)


def test_faucet_is_capped(token, stranger):
    token.faucet(stranger, token.FAUCET_LIMIT(), sender=stranger)
    assert token.balanceOf(stranger) == token.FAUCET_LIMIT()
    with ape.reverts(token.DemoStablecoinFaucetLimit, amount=token.FAUCET_LIMIT() + 1):
        token.faucet(stranger, token.FAUCET_LIMIT() + 1, sender=stranger)


def test_faucet_refuses_outside_devnet(token, stranger, chain):
    """Anvil can pretend to be another chain: the faucet then refuses, naming the chain id."""
    chain.provider.make_request("anvil_setChainId", [5])
    try:
        with ape.reverts(token.DemoStablecoinNotDevnet, chainId=5):
            token.faucet.call(stranger, DUSD, sender=stranger)
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])
