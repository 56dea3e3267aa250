"""Worker secrets: bcrypt hashes of secrets of any length, and a cache of checked ones."""

from __future__ import annotations

import base64
import hashlib
import hmac

import bcrypt

# Cheap on purpose, as upstream: Worker secrets are long random strings, and
# every Worker request is checked against one.
BCRYPT_ROUNDS = 4
# bcrypt reads no further; the bcrypt package refuses longer passwords outright.
BCRYPT_MAX_BYTES = 72


def _encoded(secret: str) -> bytes:
    # A JSON string may hold a lone surrogate, which strict UTF-8 cannot encode.
    return secret.encode("utf-8", "surrogatepass")


def _bcrypt_input(secret: str) -> bytes:
    """What bcrypt is given for a secret: the secret itself, or a digest when it is too long.

    Secrets bcrypt can take are given as they are, as upstream does, so hashes that
    upstream, earlier versions or a migrated SQLite database stored keep verifying.
    Longer ones are given as their SHA-256 in base64 (44 bytes, no NUL), so that every
    byte of them counts; which of the two applies follows from the secret's length alone.
    """
    raw = _encoded(secret)
    if len(raw) <= BCRYPT_MAX_BYTES:
        return raw
    return base64.b64encode(hashlib.sha256(raw).digest())


def hash_secret(secret: str) -> str:
    """The bcrypt hash to store for a Worker's secret; slow, so call it off the event loop."""
    return bcrypt.hashpw(_bcrypt_input(secret), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def secret_matches(secret: str, secret_hash: str) -> bool:
    """Whether the secret is the one the stored hash was made from; slow, as hash_secret()."""
    try:
        return bcrypt.checkpw(_bcrypt_input(secret), secret_hash.encode())
    except ValueError:
        # A stored hash that bcrypt cannot read (damaged, or never bcrypt) matches nothing.
        return False


class VerifiedSecrets:
    """Secrets that passed the bcrypt check, so that a Worker pays for it only once.

    Forgetting a Worker also starts a new generation: a check that began before
    (its database read may predate a deletion) must not put the Worker back.
    """

    def __init__(self) -> None:
        # Worker UUID -> SHA-256 of its verified secret.
        self._digests: dict[str, bytes] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Read before looking a Worker up, and pass to remember() with the outcome."""
        return self._generation

    def matches(self, worker_uuid: str, secret: str) -> bool:
        known = self._digests.get(worker_uuid)
        return known is not None and hmac.compare_digest(known, _digest(secret))

    def remember(self, worker_uuid: str, secret: str, *, checked_in: int) -> None:
        """Keep a verified secret, unless a Worker was forgotten since the check began."""
        if checked_in == self._generation:
            self._digests[worker_uuid] = _digest(secret)

    def forget(self, worker_uuid: str) -> None:
        self._digests.pop(worker_uuid, None)
        self._generation += 1


def _digest(secret: str) -> bytes:
    return hashlib.sha256(_encoded(secret)).digest()
