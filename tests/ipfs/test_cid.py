"""CID text and binary forms: round trips, and only InvalidCID for anything malformed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wheelset.ipfs.cid import (
    CID,
    DAG_PB,
    RAW,
    SHA2_256,
    InvalidCID,
    decode_cid_bytes,
    format_cid,
    parse_cid,
)

digests = st.binary(min_size=32, max_size=32)
codecs = st.sampled_from([DAG_PB, RAW, 0x71, 0x0129]) | st.integers(0, 2**63 - 1)
other_hashes = st.tuples(
    st.integers(0, 2**63 - 1).filter(lambda code: code != SHA2_256),
    st.binary(min_size=0, max_size=64),
)


@given(digests)
def test_v0_text_round_trip(digest: bytes) -> None:
    cid = CID(0, DAG_PB, digest)
    text = format_cid(cid)
    assert text.startswith("Qm") and len(text) == 46
    assert parse_cid(text) == cid
    assert parse_cid(f"/ipfs/{text}") == cid


@given(codecs, digests)
def test_v1_sha256_text_round_trip(codec: int, digest: bytes) -> None:
    cid = CID(1, codec, digest)
    text = format_cid(cid)
    assert text.startswith("b") and text == text.lower()
    assert parse_cid(text) == cid
    assert parse_cid("B" + text[1:].upper()) == cid  # base32upper is the same CID


@given(codecs, other_hashes)
def test_v1_other_multihash_round_trip(codec: int, multihash: tuple[int, bytes]) -> None:
    cid = CID(1, codec, multihash[1], multihash[0])
    assert parse_cid(format_cid(cid)) == cid
    assert decode_cid_bytes(cid.to_bytes()) == (cid, len(cid.to_bytes()))


@given(digests)
def test_v0_and_v1_name_the_same_block(digest: bytes) -> None:
    v0 = CID(0, DAG_PB, digest)
    assert parse_cid(format_cid(v0.to_v1())) == CID(1, DAG_PB, digest)


@settings(max_examples=3000)
@given(st.text())
def test_parse_arbitrary_text_raises_only_invalid_cid(text: str) -> None:
    try:
        parse_cid(text)
    except InvalidCID as e:
        assert e.code == "CID"


_ALPHABETS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" + "234567"


@settings(max_examples=3000)
@given(
    st.sampled_from(
        [
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
            "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354",
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        ]
    ),
    st.integers(0, 60),
    st.text(alphabet=_ALPHABETS, max_size=3),
    st.integers(0, 3),
)
def test_mutated_cid_text_raises_only_invalid_cid(
    text: str, position: int, insert: str, delete: int
) -> None:
    mutated = text[:position] + insert + text[position + delete :]
    try:
        cid = parse_cid(mutated)
    except InvalidCID:
        return
    assert format_cid(cid).lower() == mutated.lower()


@settings(max_examples=3000)
@given(st.binary(max_size=80))
def test_decode_arbitrary_bytes_raises_only_invalid_cid(data: bytes) -> None:
    try:
        cid, end = decode_cid_bytes(data)
    except InvalidCID:
        return
    assert cid.to_bytes() == data[:end]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Qm",
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3N0",  # 0 is not base58
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nnn",  # 47 characters
        "zdj7WWx6fGNrNGkdpkuTAxCjKbQ1pPtarqA6VQhedhLTZu34J",  # base58btc CIDv1: not accepted
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf35",  # truncated
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf3541",  # trailing
        "bafyBEICZSSCDSBS7FFQZ55ASQDF3SMV6KLCW3GOFSZVWLYARCI47BGF354",  # mixed case
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf35!",
        "fQmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn",
        "baaaaaaaa",
    ],
)
def test_malformed_text(text: str) -> None:
    with pytest.raises(InvalidCID) as e:
        parse_cid(text)
    assert e.value.code == "CID"


def test_non_text_is_refused() -> None:
    with pytest.raises(InvalidCID):
        parse_cid(b"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn")  # type: ignore[arg-type]
