"""procurechain.display: how amounts and times read for people (pure functions, no chain)."""

from __future__ import annotations

import json

import pytest

from procurechain import display as d

DUSD = 10**6
WEI = 10**18
# 2026-12-03T14:05:00Z
T = 1_796_306_700


@pytest.mark.parametrize(
    ("amount", "decimals", "symbol", "shown"),
    [
        (50_000 * DUSD, 6, "dUSD", "50,000.00 dUSD"),
        (16_150 * DUSD, 6, "dUSD", "16,150.00 dUSD"),
        (0, 6, "dUSD", "0.00 dUSD"),
        (1, 6, "dUSD", "0.000001 dUSD"),  # one base unit is never rounded to 0.00
        (1_000_001, 6, "dUSD", "1.000001 dUSD"),
        (1_500_000, 6, "dUSD", "1.50 dUSD"),  # at least two decimals
        (1_234_500, 6, "dUSD", "1.2345 dUSD"),  # more when they are significant, no more
        (47_000_500_000, 6, "dUSD", "47,000.50 dUSD"),
        (-150, 2, "c", "-1.50 c"),
        (12, 0, "PTS", "12 PTS"),  # a token without decimals shows none
        (12_345, 1, "X", "1,234.5 X"),  # nor more than it has
        (WEI, 18, "ETH", "1.00 ETH"),
        (1, 18, "ETH", "0.000000000000000001 ETH"),
        (123_456_789 * WEI + 10**17, 18, "WETH", "123,456,789.10 WETH"),
    ],
)
def test_money_is_token_units_with_the_symbol_and_never_rounded(amount, decimals, symbol, shown):
    assert d.money(amount, decimals, symbol) == shown


def test_the_largest_amounts_are_exact_to_the_last_digit():
    largest = 2**256 - 1
    shown = d.money(largest, 18, "ETH")
    assert shown == (
        "115,792,089,237,316,195,423,570,985,008,687,907,853,269,984,665,640,564,039,457"
        ".584007913129639935 ETH"
    )
    # the digits are the integer's own: nothing went through a float
    assert int(shown.split()[0].replace(",", "").replace(".", "")) == largest
    assert d.units(10**40 * DUSD, 6) == "10,000,000,000,000,000,000,000,000,000,000,000,000,000.00"


def test_units_refuses_negative_decimals():
    with pytest.raises(ValueError, match="decimals must be 0 or more"):
        d.units(1, -1)


def test_symbols_are_one_short_line_whatever_the_token_says():
    assert d.money(DUSD, 6, "  d\nUSD\t ") == "1.00 d USD"
    assert d.money(DUSD, 6, "") == "1.00 tokens"
    assert d.money(DUSD, 6, "\x00\x1b[31m") == "1.00 [31m"
    assert d.clean_symbol("A" * 40) == "A" * d.MAX_SYMBOL_LENGTH


@pytest.mark.parametrize(
    ("timestamp", "shown"),
    [
        (T, "2026-12-03T14:05:00Z"),
        (0, "1970-01-01T00:00:00Z"),
        (253_402_300_799, "9999-12-31T23:59:59Z"),
        (253_402_300_800, "unix time 253402300800"),  # beyond year 9999
        (2**256 - 1, f"unix time {2**256 - 1}"),
        (-1, "unix time -1"),
    ],
)
def test_when_is_an_iso_date_in_utc(timestamp, shown):
    assert d.when(timestamp) == shown


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (6 * 86_400 + 21 * 3600 + 59 * 60 + 59, "in 6 days 21 h"),  # counted down, never up
        (86_400, "in 1 day"),
        (2 * 86_400, "in 2 days"),
        (3 * 3600 + 5 * 60 + 7, "in 3 h 5 min"),
        (3600, "in 1 h"),
        (5 * 60 + 3, "in 5 min 3 s"),
        (45, "in 45 s"),
        (0, "now"),
        (-1, "1 s ago"),
        (-2 * 86_400 - 3600, "2 days 1 h ago"),
        (-2 * 86_400, "2 days ago"),
        (-3650 * 86_400, "3,650 days ago"),
    ],
)
def test_time_left_and_time_ago(offset, shown):
    assert d.time_left(T + offset, T) == shown


def test_a_deadline_is_the_date_and_how_far_it_is():
    closes = T + 6 * 86_400 + 21 * 3600 + 55 * 60
    assert d.deadline(closes, T) == "2026-12-10T12:00:00Z (in 6 days 21 h)"
    assert d.deadline(T, T + 2 * 86_400) == "2026-12-03T14:05:00Z (2 days ago)"


def test_json_keeps_the_exact_integer_and_adds_the_human_form_beside_it():
    token = d.Token("dUSD", 6, "0x" + "11" * 20)
    fields = {**token.fields("budget", 50_000 * DUSD), **token.fields("leader_price", None)}
    document = json.loads(json.dumps(fields))
    assert document == {
        "budget": 50_000_000_000,
        "budget_display": "50,000.00 dUSD",
        "leader_price": None,
        "leader_price_display": None,
    }
    assert isinstance(document["budget"], int)
    # an amount too large for a double survives JSON exactly
    huge = d.Token("WETH", 18).fields("price", 2**200 + 1)
    assert json.loads(json.dumps(huge))["price"] == 2**200 + 1


def test_a_token_knows_its_amounts():
    token = d.Token(" dUSD ", 6)
    assert token.symbol == "dUSD"
    assert token.money(42_500 * DUSD) == "42,500.00 dUSD"
    assert token.units(42_500 * DUSD) == "42,500.00"
    with pytest.raises(ValueError):
        d.Token("X", -1)
