"""The HMAC-SHA256 signature of a webhook request, and its check on the receiving end.

The signed message is `<timestamp>.<body>`: the timestamp header travels with
it, so a receiver can refuse replays of old requests.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Flamenco-Signature"
TIMESTAMP_HEADER = "X-Flamenco-Timestamp"
EVENT_HEADER = "X-Flamenco-Event"
DELIVERY_HEADER = "X-Flamenco-Delivery"
SIGNATURE_PREFIX = "sha256="


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header: `sha256=` and the hex HMAC-SHA256 digest."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header_value: str) -> bool:
    """Whether `header_value` is the signature of this timestamp and body (constant time)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header_value)
