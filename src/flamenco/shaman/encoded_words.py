"""Decoding RFC 2047 encoded-words: how the add-on sends non-ASCII names of uploaded files."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

from flamenco.shaman import errors

# =?charset?encoding?text?= ; the charset may carry an RFC 2231 language (`utf-8*en`).
_ENCODED_WORD = re.compile(r"=\?([^?*]+)(?:\*[^?]*)?\?([BbQq])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_header(value: str) -> str:
    """Decode every encoded-word in a header value; plain text passes unchanged.

    Like Go's mime.WordDecoder.DecodeHeader, which upstream uses: text that only
    looks like the start of an encoded-word stays as it is, whitespace between
    two encoded-words disappears, and an unknown charset or a word that does not
    decode is an error (InvalidOriginalFilename).
    """
    if any("\udc80" <= character <= "\udcff" for character in value):
        # Raw bytes that were not UTF-8 reached us as surrogate escapes.
        raise errors.InvalidOriginalFilename(
            f"invalid X-Shaman-Original-Filename header: {value!r} is not valid UTF-8"
        )
    pieces: list[str] = []
    position = 0
    previous_was_word = False
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if not (previous_was_word and between.strip() == ""):
            pieces.append(between)
        pieces.append(_decode_word(value, *match.groups()))
        position = match.end()
        previous_was_word = True
    pieces.append(value[position:])
    return "".join(pieces)


def _decode_word(header: str, charset: str, encoding: str, text: str) -> str:
    def invalid(reason: str) -> errors.InvalidOriginalFilename:
        return errors.InvalidOriginalFilename(
            f"invalid X-Shaman-Original-Filename header {header!r}: {reason}"
        )

    try:
        codecs.lookup(charset)
    except LookupError:
        raise invalid(f"unknown charset {charset!r}") from None
    if encoding in "Bb":
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("bad base64 in encoded-word") from None
    else:
        if not text.isascii():
            raise invalid("encoded-word is not ASCII")
        encoded = text.replace("_", " ").encode("ascii")
        if re.search(rb"=(?![0-9A-Fa-f]{2})", encoded):
            raise invalid("bad quoted-printable in encoded-word")
        raw = _Q_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), encoded)
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        raise invalid(f"encoded-word is not valid {charset}") from None
