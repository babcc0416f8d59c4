"""The bulk path (procurechain.bulk): the same chain state as Ape's path, failures named
precisely with what was sent, resumable, and never a silent out-of-gas."""

import pytest
from eth_account import Account
from eth_utils import keccak

from procurechain import tender as td
from procurechain.bids import commitment
from procurechain.bulk import BulkSender, BulkSendError, Tx, contract_abi, private_key_of
from procurechain.deploy import deploy_suite, devnet_config
from procurechain.errors import ProcurechainError

from conftest import deployments_in

DUSD = 10**6
DAY = 86_400
BOND = 100 * DUSD
TENDER, TOKEN, REGISTRY = (contract_abi(n) for n in ("Tender", "DemoStablecoin", "Registry"))


@pytest.fixture(scope="module")
def suite(tmp_path_factory, accounts):
    with deployments_in(tmp_path_factory.mktemp("deployments")):
        manifest = deploy_suite(accounts[0], devnet_config(), force=True)
    return {name: entry["address"] for name, entry in manifest["contracts"].items()}


@pytest.fixture(scope="module")
def keys():
    """Bidders whose keys only this process holds (not Ape accounts)."""
    return [Account.from_key(keccak(text=f"test_bulk bidder {i}")) for i in range(6)]


@pytest.fixture
def sender(accounts, keys):
    return BulkSender.connected([accounts[0], accounts[1], *keys])


def open_tenders(chain, sender, suite, agency, count):
    now = chain.provider.web3.eth.get_block("latest")["timestamp"]
    spec = td.TenderSpec(
        token=suite["Token"],
        budget=50_000 * DUSD,
        bond=BOND,
        bidding_deadline=now + 30 * DAY,
        reveal_deadline=now + 40 * DAY,
        acceptance_window=5 * DAY,
        notice="bulk test tender",
        plan=(td.Milestone(10_000, 60 * DAY, keccak(text="delivery")),),
    )
    txs = [
        REGISTRY.tx(
            agency,
            suite["Registry"],
            "createTender",
            spec.params(),
            spec.plan_tuples(),
            spec.notice,
        )
        for _ in range(count)
    ]
    topic = keccak(text="TenderCreated(uint256,address,address,bytes32,(uint16,uint32,bytes32)[])")
    return ["0x" + r.topics(topic)[0][2][-20:].hex() for r in sender.send(txs)]


def fund(sender, suite, deployer, bidders, approve):
    """ETH from the deployer, dUSD from the faucet, bond approvals for ``approve``."""
    sender.send([Tx(str(deployer.address), b, value=10**18, gas_key="eth") for b in bidders])
    sender.send([TOKEN.tx(b, suite["Token"], "faucet", b, 10 * BOND) for b in bidders])
    sender.send([TOKEN.tx(b, suite["Token"], "approve", t, BOND) for b in bidders for t in approve])


def sealed(chain, tender, bidder, n):
    salt = keccak(text=f"salt {tender} {bidder}")
    return commitment(chain.chain_id, tender, bidder, (40_000 + n) * DUSD, salt, bytes(32))


def test_signing_is_byte_identical_to_eth_account(keys):
    sender = BulkSender("http://127.0.0.1:1", keys[:1], chain_id=31337)
    tx = TOKEN.tx(keys[0].address, "0x" + "11" * 20, "transfer", "0x" + "22" * 20, 5)
    raw, tx_hash = sender._sign(tx, 7, 60_000, (3 * 10**9, 10**9))
    reference = keys[0].sign_transaction(
        {"type": 2, "chainId": 31337, "nonce": 7, "maxPriorityFeePerGas": 10**9,
         "maxFeePerGas": 3 * 10**9, "gas": 60_000, "to": tx.to, "value": 0, "data": tx.data}
    )  # fmt: skip
    assert raw == "0x" + reference.raw_transaction.hex()
    assert tx_hash == "0x" + reference.hash.hex()


def test_bulk_commits_leave_the_same_state_as_apes_path(
    chain, suite, accounts, agency, deployer, project
):
    bidders = [accounts[i] for i in range(10, 16)]
    addresses = [str(b.address) for b in bidders]
    sender = BulkSender.connected([deployer, agency, *bidders])
    by_ape, by_bulk = open_tenders(chain, sender, suite, agency, 2)
    fund(sender, suite, deployer, addresses, [by_ape, by_bulk])
    token = project.DemoStablecoin.at(suite["Token"])
    before = {a: token.balanceOf(a) for a in addresses}

    ape_tender = project.Tender.at(by_ape)
    for n, bidder in enumerate(bidders):
        ape_tender.commitBid(sealed(chain, by_ape, str(bidder.address), n), sender=bidder)
    sender.forget_nonces()  # Ape's path sent from these accounts
    receipts = sender.send(
        [TENDER.tx(b, by_bulk, "commitBid", sealed(chain, by_bulk, b, n))
         for n, b in enumerate(addresses)]
    )  # fmt: skip

    assert [r.ok for r in receipts] == [True] * len(bidders)
    bulk_tender = project.Tender.at(by_bulk)
    for address in addresses:
        ape_bid, bulk_bid = ape_tender.bidOf(address), bulk_tender.bidOf(address)
        assert ape_bid[:5] == bulk_bid[:5] == (True, False, False, False, False)
        assert ape_bid.price == bulk_bid.price == 0
        assert token.balanceOf(address) == before[address] - 2 * BOND
    assert token.balanceOf(by_ape) == token.balanceOf(by_bulk) == len(bidders) * BOND
    topic = keccak(text="BidCommitted(address,bytes32,bool)")
    logs = [r.topics(topic, by_bulk) for r in receipts]
    assert [bytes(t[0][1][-20:]).hex() for t in logs] == [a[2:].lower() for a in addresses]


def test_a_revert_names_the_transaction_stops_and_resumes(chain, suite, sender, keys, agency):
    first, second = open_tenders(chain, sender, suite, agency, 2)
    bidders = [k.address for k in keys]
    fund(sender, suite, sender_deployer(sender, suite), bidders, [first, second])
    # bidder 3 takes its approval of the first tender back: its commitment there must revert
    sender.send([TOKEN.tx(bidders[3], suite["Token"], "approve", first, 0)])
    txs = [TENDER.tx(b, first, "commitBid", sealed(chain, first, b, n), label=f"bid {n}")
           for n, b in enumerate(bidders)]  # fmt: skip
    txs += [TENDER.tx(b, second, "commitBid", sealed(chain, second, b, n), label=f"later {n}")
            for n, b in enumerate(bidders)]  # fmt: skip

    with pytest.raises(BulkSendError) as caught:
        sender.send(txs)
    error = caught.value
    assert error.failed == [3]
    assert "transaction 4 of 12 (bid 3 from" in str(error)
    assert "ERC20InsufficientAllowance" in error.reasons[3]
    assert first[2:].lower() in error.reasons[3].lower()  # the spender it names
    assert error.succeeded == [0, 1, 2, 4, 5]  # its batch was mined, the others succeeded
    assert error.unsent_indices == list(range(6, 12))  # nothing after its batch was sent
    assert [t.label for t in error.unsent] == [f"later {n}" for n in range(6)]
    tender = contract_abi("Tender")
    flags = sender.call_many([(first, tender.calldata("bidOf", b)) for b in bidders])
    assert [tender.decode_output("bidOf", f)[0] for f in flags] == [1, 1, 1, 0, 1, 1]

    # resume: fix the allowance, send the failed one again and what was never sent
    sender.send([TOKEN.tx(bidders[3], suite["Token"], "approve", first, BOND)])
    receipts = sender.send([txs[3], *error.unsent])
    assert all(r.ok for r in receipts)
    flags = sender.call_many([(second, tender.calldata("bidOf", b)) for b in bidders])
    assert all(tender.decode_output("bidOf", f)[0] for f in flags)


def sender_deployer(sender, suite):
    from ape import accounts

    return accounts.test_accounts[0]


def test_a_refused_transaction_sends_nothing_more_from_its_sender(chain, suite, sender, keys):
    broke = Account.from_key(keccak(text="test_bulk broke"))
    sender.add([broke])
    deployer = sender_deployer(sender, suite)
    token = suite["Token"]
    txs = [
        TOKEN.tx(keys[0].address, token, "faucet", keys[0].address, 1),
        TOKEN.tx(broke.address, token, "faucet", broke.address, 1),  # no ETH for gas
        TOKEN.tx(keys[1].address, token, "faucet", keys[1].address, 1),
        TOKEN.tx(broke.address, token, "faucet", broke.address, 2),  # its next nonce
    ]
    sender.send([Tx(str(deployer.address), k.address, value=10**18) for k in keys[:2]])
    with pytest.raises(BulkSendError) as caught:
        sender.send(txs)
    error = caught.value
    assert error.failed == [1]
    assert "the node refused it" in error.reasons[1]
    assert error.succeeded == [0, 2]
    assert error.unsent_indices == [1, 3]
    # funded, the very same transactions go through with the right nonces
    sender.send([Tx(str(deployer.address), broke.address, value=10**18)])
    assert all(r.ok for r in sender.send(error.unsent))
    nonce = chain.provider.web3.eth.get_transaction_count(broke.address)
    assert nonce == 2


def test_a_reused_gas_limit_that_is_too_low_is_reported_as_out_of_gas(suite, keys, accounts):
    sender = BulkSender.connected([accounts[0], *keys], gas_margin=1.1, gas_headroom=0)
    token = suite["Token"]
    # approving zero where nothing was approved changes no storage: the cheapest call there is
    cheap = TOKEN.tx(keys[0].address, token, "approve", keys[1].address, 0, gas_key="shared")
    sender.send([Tx(str(accounts[0].address), keys[0].address, value=10**18)])
    sender.send([cheap])
    limit = sender.gas_limit("shared")
    # a first mint to a fresh holder writes new slots: far more gas than the approval
    dear = TOKEN.tx(keys[0].address, token, "faucet", "0x" + "ab" * 20, 5, gas_key="shared")
    with pytest.raises(BulkSendError) as caught:
        sender.send([dear])
    reason = caught.value.reasons[0]
    assert "ran out of gas" in reason and f"of its limit {limit}" in reason
    assert "reused for shared" in reason
    assert sender.gas_limit("shared") is None  # estimated again on resume
    (receipt,) = sender.send(caught.value.unsent or [dear])
    assert receipt.ok and receipt.gas_limit > limit


def test_an_estimate_that_reverts_sends_nothing(chain, suite, sender, keys):
    fresh = TOKEN.tx(keys[2].address, suite["Token"], "transfer", keys[3].address, 10**15,
                     gas_key="transfer too much")  # fmt: skip
    with pytest.raises(BulkSendError) as caught:
        sender.send([fresh])
    assert "ERC20InsufficientBalance" in caught.value.reasons[0]
    assert "it was not sent" in caught.value.reasons[0]
    assert caught.value.unsent_indices == [0]


def test_manual_mining_puts_a_batch_in_one_block(chain, suite, accounts, keys):
    sender = BulkSender.connected([accounts[0], *keys], manual_mining=True)
    sender.send([Tx(str(accounts[0].address), k.address, value=10**18) for k in keys])
    receipts = sender.send([TOKEN.tx(k.address, suite["Token"], "faucet", k.address, 1)
                            for k in keys])  # fmt: skip
    assert len({r.block for r in receipts}) == 1
    before = chain.blocks.height
    accounts[0].transfer(accounts[1], 1)  # automine is back on: mined at once
    assert chain.blocks.height == before + 1


def test_keys_held_elsewhere_are_refused_with_the_way_out():
    class Keyfile:
        address = "0x" + "12" * 20

    with pytest.raises(ProcurechainError, match="default path"):
        private_key_of(Keyfile())


def test_manual_mining_drops_what_waits_behind_a_refused_nonce(chain, suite, accounts, keys):
    sender = BulkSender.connected([accounts[0], *keys], manual_mining=True)
    rich, other = keys[4].address, keys[5].address
    sender.send(
        [Tx(str(accounts[0].address), k, value=10**18, gas_key="eth") for k in (rich, other)]
    )
    sender.send([TOKEN.tx(other, suite["Token"], "faucet", other, 1)])  # gas key now known
    txs = [
        TOKEN.tx(rich, suite["Token"], "faucet", rich, 1, label="before it"),
        Tx(rich, other, value=5 * 10**18, gas_key="eth", label="more than it has"),
        TOKEN.tx(rich, suite["Token"], "faucet", rich, 2, label="behind it"),
        TOKEN.tx(other, suite["Token"], "faucet", other, 1, label="another sender"),
    ]
    with pytest.raises(BulkSendError) as caught:
        sender.send(txs)
    error = caught.value
    assert error.failed == [1] and "the node refused it" in error.reasons[1]
    assert error.succeeded == [0, 3]  # in one batch with it, mined
    assert error.unsent_indices == [1, 2]  # the one behind the missing nonce was taken back
    web3 = chain.provider.web3
    assert web3.eth.get_transaction_count(rich) == web3.eth.get_transaction_count(rich, "pending")
    assert web3.eth.get_transaction_count(rich) == 1  # nothing of it waits in the pool
    (receipt,) = sender.send([txs[2]])
    assert receipt.ok
    assert web3.eth.get_transaction_count(rich) == 2
