"""Written the way a Brownie user would, through procurechain.compat."""

import pytest

from procurechain.compat import (
    Wei,
    accounts_at,
    brownie,
    chain_mine,
    chain_sleep,
    reverts,
    tx_kwargs,
)
from procurechain.errors import ProcurechainError


def test_wei_understands_units():
    assert Wei("1 ether") == 10**18
    assert Wei("1.5 ether") == 15 * 10**17
    assert Wei("10 gwei") == 10**10
    assert Wei(5) == 5
    assert Wei("0x10") == 16
    assert Wei("2_000 wei") == 2000


@pytest.mark.parametrize("bad", ["1.5 wei", "3 dollars", "lots", "0.0000000000000000001 ether"])
def test_wei_refuses_what_is_not_an_amount(bad):
    with pytest.raises(ProcurechainError):
        Wei(bad)


def test_transfer_with_a_tx_dict(project, accounts):
    alice, bob = accounts[0], accounts[1]
    token = brownie(alice.deploy(project.DemoStablecoin, alice))
    token.mint(alice, 1_000, {"from": alice})
    tx = token.transfer(bob, 250, {"from": alice})
    assert tx.events[0].value == 250
    assert token.balanceOf(bob) == 250
    assert token.transfer.call(bob, 1, {"from": alice}) is True
    assert token.balanceOf(bob) == 250


def test_tx_dict_keys_become_ape_keywords(accounts):
    alice = accounts[0]
    assert tx_kwargs({"from": alice, "value": "0.5 ether", "gas": 100_000}) == {
        "sender": alice,
        "value": 5 * 10**17,
        "gas": 100_000,
    }
    with pytest.raises(ProcurechainError, match="unsupported tx dict keys: allow_revert"):
        tx_kwargs({"from": alice, "allow_revert": True})


def test_reverts_with_error_name_or_sentence(project, accounts):
    alice, bob = accounts[0], accounts[1]
    token = brownie(alice.deploy(project.DemoStablecoin, alice))
    with reverts("OwnableUnauthorizedAccount"):
        token.mint(bob, 1, {"from": bob})
    with reverts():
        token.transfer(alice, 1, {"from": bob})
    with pytest.raises(AssertionError, match="did not revert"), reverts():
        token.mint(bob, 1, {"from": alice})
    with pytest.raises(AssertionError, match="expected a revert with 'nope'"), reverts("nope"):
        token.mint(bob, 1, {"from": bob})


def test_chain_sleep_and_mine(chain):
    start = chain.blocks.head.timestamp
    assert chain_sleep(3600) >= start + 3600
    height = chain.blocks.head.number
    assert chain_mine(3) == height + 3


def test_accounts_at_impersonates_on_a_devnet(project, accounts):
    alice = accounts[0]
    token = brownie(alice.deploy(project.DemoStablecoin, alice))
    whale_address = "0x" + "ab" * 20
    token.mint(whale_address, 500, {"from": alice})
    with pytest.raises(ProcurechainError, match="pass force=True"):
        accounts_at(whale_address)
    whale = accounts_at(whale_address, force=True)
    alice.transfer(whale, Wei("1 ether"))
    token.transfer(alice, 200, {"from": whale})
    assert token.balanceOf(whale_address) == 300
    assert accounts_at(alice.address) == alice
