"""The public record's decoder reads canonical ABI words directly (the index decodes tens of
thousands of logs a second with it): for every event of the suite's contracts, on canonical
encodings of random arguments (invalid UTF-8 included) and on corrupted ones, the direct path
gives exactly what ``eth_abi``'s strict decoding gives, value for value and type for type, or
the same error."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from procurechain import audit, display

CASES = 40  # random arguments per event
CORRUPTIONS = 40  # corrupted encodings per event


def _value(rng: random.Random, kind: str, param: Any) -> Any:
    """A random value of ABI type ``kind`` (strings as raw bytes: they may be any bytes)."""
    if kind.endswith("]"):
        inner, size = kind[:-1].rsplit("[", 1)
        return [_value(rng, inner, param) for _ in range(int(size or rng.randrange(4)))]
    if kind.startswith("("):
        return tuple(_value(rng, audit._type_string(c), c) for c in param.components)
    if kind == "address":
        return "0x" + rng.randbytes(20).hex()
    if kind == "bool":
        return rng.random() < 0.5
    if kind.startswith("uint"):
        return rng.randrange(2 ** int(kind[4:] or 256))
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        return rng.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    if kind in ("string", "bytes"):
        size = rng.choice([0, 1, 31, 32, 33, 100])
        return rng.choice([b"\xff\xfe\x00", b"plain", b"\xe2\x82"]) * size
    return rng.randbytes(int(kind[5:]))  # bytesN


def _encoded(rng: random.Random, event: Any) -> tuple[list[bytes], bytes]:
    indexed, plain = event._kinds
    topics = [keccak(text=event.name)]
    for param, kind in indexed:
        if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
            topics.append(rng.randbytes(32))  # the hash of a dynamic value
        else:
            topics.append(encode([kind], [_value(rng, kind, param)]))
    kinds = [k.replace("string", "bytes") for _, k in plain]
    data = encode(kinds, [_value(rng, k, p) for p, k in plain])
    return topics, data


def _corrupted(rng: random.Random, topics: list[bytes], data: bytes) -> tuple[list[bytes], bytes]:
    topics, data = list(topics), bytearray(data)
    choice = rng.randrange(4)
    if choice == 0 and data:  # one byte anywhere in the data (padding, offsets, lengths, bools)
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 1 and len(topics) > 1:  # one byte of an indexed argument
        n = rng.randrange(1, len(topics))
        word = bytearray(topics[n])
        word[rng.randrange(32)] = rng.randrange(1, 256)
        topics[n] = bytes(word)
    elif choice == 2:  # a word more or less
        data = data + bytes(32) if rng.random() < 0.5 or len(data) < 32 else data[:-32]
    else:  # an offset pointing elsewhere
        if len(data) >= 32:
            data[31] ^= 0x20
    return topics, bytes(data)


def _outcome(decode: Any, topics: list[bytes], data: bytes) -> tuple[str, str]:
    try:
        return "ok", repr(decode(topics, data))  # repr: True and 1 differ, so do their types
    except Exception as err:
        return "error", type(err).__name__


@pytest.fixture(scope="module")
def events() -> list[Any]:
    decoder = audit.EntryDecoder({}, display.Token("dUSD", 6))
    return [event for table in decoder.tables.values() for event in table.values()]


def test_the_direct_path_reads_every_canonical_encoding_as_eth_abi_does(events):
    rng = random.Random(15)
    direct = 0
    for event in events:
        for _ in range(CASES):
            topics, data = _encoded(rng, event)
            expected = _outcome(event.generic, topics, data)
            assert expected[0] == "ok", (event.name, expected)
            assert _outcome(event.decode, topics, data) == expected, event.name
            direct += _reads_directly(event, topics, data)
    # the check means something: nearly everything went the direct way
    assert direct > 0.9 * CASES * len(events)


def test_a_corrupted_encoding_gets_eth_abis_answer_value_or_error(events):
    rng = random.Random(16)
    errors = 0
    for event in events:
        for _ in range(CORRUPTIONS):
            topics, data = _corrupted(rng, *_encoded(rng, event))
            expected = _outcome(event.generic, topics, data)
            assert _outcome(event.decode, topics, data) == expected, (event.name, topics, data)
            errors += expected[0] == "error"
    assert errors > 0.1 * CORRUPTIONS * len(events)  # strict decoding refused many of them


def _reads_directly(event: Any, topics: list[bytes], data: bytes) -> bool:
    """Whether ``decode`` answered without falling back to ``generic``."""
    fallback = event.generic
    calls = []
    object.__setattr__(event, "generic", lambda *a: calls.append(1) or fallback(*a))
    try:
        event.decode(topics, data)
    finally:
        object.__delattr__(event, "generic")
    return not calls


def test_types_no_event_of_ours_has_yet_go_the_generic_way_with_its_answer():
    from ethpm_types.abi import EventABIType

    inputs = (
        EventABIType(name="fixed", type="uint256[3]", indexed=False),
        EventABIType(
            name="pair", type="tuple", indexed=False,
            components=[{"name": "x", "type": "uint8"}, {"name": "who", "type": "address"}],
        ),
        EventABIType(name="nested", type="uint16[][]", indexed=False),
        EventABIType(name="word", type="bytes4", indexed=True),
    )  # fmt: skip
    event = audit._EventType("Synthetic", inputs)
    rng = random.Random(17)
    for _ in range(CASES):
        topics, data = _encoded(rng, event)
        expected = _outcome(event.generic, topics, data)
        assert expected[0] == "ok" and _outcome(event.decode, topics, data) == expected
        assert not _reads_directly(event, topics, data)
