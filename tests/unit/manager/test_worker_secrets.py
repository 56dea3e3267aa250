"""Worker secret hashes: compatible with stored ones, any length; the checked-secrets cache."""

from __future__ import annotations

import bcrypt
import pytest

from flamenco.manager.services import worker_secrets
from flamenco.manager.services.worker_secrets import VerifiedSecrets


@pytest.mark.parametrize(
    "secret", ["", "do-not-tell-anyone", "x" * 72, "é" * 36], ids=("empty", "short", "72", "utf-8")
)
def test_hashes_stored_by_upstream_keep_verifying(secret: str) -> None:
    """Secrets bcrypt takes whole hash as upstream's do (and earlier versions, and migrations)."""
    stored = bcrypt.hashpw(secret.encode(), bcrypt.gensalt(rounds=4)).decode()
    assert worker_secrets.secret_matches(secret, stored)
    assert not worker_secrets.secret_matches(secret + "!", stored)
    ours = worker_secrets.hash_secret(secret)
    assert bcrypt.checkpw(secret.encode(), ours.encode())


@pytest.mark.parametrize(
    "secret", ["x" * 73, "é" * 37, "long" * 10_000], ids=("73", "utf-8", "40000")
)
def test_every_byte_of_a_long_secret_counts(secret: str) -> None:
    stored = worker_secrets.hash_secret(secret)
    assert worker_secrets.secret_matches(secret, stored)
    assert not worker_secrets.secret_matches(secret[:-1] + "?", stored)
    # What bcrypt alone would have compared.
    first_72_bytes = secret.encode()[:72].decode()
    assert not worker_secrets.secret_matches(first_72_bytes, stored)


@pytest.mark.parametrize("stored", ["", "not a hash", "$2b$04$truncated"])
def test_a_damaged_stored_hash_matches_nothing(stored: str) -> None:
    assert not worker_secrets.secret_matches("secret", stored)


def test_a_lone_surrogate_is_a_secret_like_any_other() -> None:
    secret = "half a pair: \ud800"
    assert worker_secrets.secret_matches(secret, worker_secrets.hash_secret(secret))


def test_cache_keeps_what_was_checked_and_forgets_on_request() -> None:
    cache = VerifiedSecrets()
    cache.remember("worker", "secret", checked_in=cache.generation)
    assert cache.matches("worker", "secret")
    assert not cache.matches("worker", "other")
    cache.forget("worker")
    assert not cache.matches("worker", "secret")


def test_a_check_that_began_before_a_forget_is_not_kept() -> None:
    cache = VerifiedSecrets()
    began = cache.generation
    cache.forget("deleted")
    cache.remember("deleted", "secret", checked_in=began)
    assert not cache.matches("deleted", "secret")
