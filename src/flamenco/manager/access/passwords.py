"""Password hashes for web interface users: bcrypt, slow on purpose."""

from __future__ import annotations

import base64
import hashlib

import bcrypt

BCRYPT_ROUNDS = 12
MIN_PASSWORD_LENGTH = 8
# A hash to check against when there is no such user, so that the answer takes as
# long as for a wrong password and does not tell which user names exist.
_NOBODY = bcrypt.hashpw(b"nobody", bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def _bcrypt_input(password: str) -> bytes:
    # bcrypt reads 72 bytes at most: hash longer passwords first so every byte counts.
    raw = password.encode("utf-8", "surrogatepass")
    return raw if len(raw) <= 72 else base64.b64encode(hashlib.sha256(raw).digest())


def hash_password(password: str) -> str:
    return bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def password_matches(password: str, password_hash: str | None) -> bool:
    try:
        matches = bcrypt.checkpw(_bcrypt_input(password), (password_hash or _NOBODY).encode())
    except ValueError:
        return False
    return matches and password_hash is not None


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    return None
