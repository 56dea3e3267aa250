"""RFC 2047 decoding of X-Shaman-Original-Filename, as Go's mime.WordDecoder does it."""

from __future__ import annotations

import base64

import pytest

from flamenco.shaman import errors
from flamenco.shaman.encoded_words import decode_header


def b_word(text: str, charset: str = "utf-8") -> str:
    return f"=?{charset}?b?{base64.b64encode(text.encode(charset)).decode()}?="


@pytest.mark.parametrize(
    ("header", "decoded"),
    [
        ("plain/name.blend", "plain/name.blend"),
        ("", ""),
        (b_word("много ликова.py"), "много ликова.py"),
        ("=?UTF-8?B?" + base64.b64encode("ránið".encode()).decode() + "?=", "ránið"),
        ("=?utf-8?q?r=C3=A1ni=C3=B0_x.blend?=", "ránið x.blend"),
        ("=?iso-8859-1?q?caf=E9?=", "café"),
        (b_word("a") + " " + b_word("b"), "ab"),
        ("prefix " + b_word("é") + " suffix", "prefix é suffix"),
        ("=?utf-8*en?q?hello?=", "hello"),
        ("not =? a word", "not =? a word"),
    ],
)
def test_decode_header(header: str, decoded: str) -> None:
    assert decode_header(header) == decoded


@pytest.mark.parametrize(
    "header",
    [
        "=?utf-8?b?not base64!?=",
        "=?utf-8?b?YQ?=",  # Missing padding: Go's decoder refuses it too.
        "=?klingon?q?abc?=",
        "=?utf-8?q?bad=G1?=",
        "=?utf-8?b?" + base64.b64encode(b"\xff\xfe").decode() + "?=",
        "raw \udcff byte",
    ],
)
def test_undecodable_headers_are_refused(header: str) -> None:
    with pytest.raises(errors.InvalidOriginalFilename, match="X-Shaman-Original-Filename"):
        decode_header(header)
