"""Single sign-on's pure rules: groups to roles, the login cookie, and the `oidc` settings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from flamenco.manager.access.oidc import Pending, groups_of, role_for
from flamenco.manager.access.roles import Role
from flamenco.manager.config import ConfigError, load_config
from flamenco.manager.config.schema import OIDCConfig, OIDCRoleRule

MAPPING = OIDCConfig(
    issuer="https://sso.example.com",
    client_id="flamenco",
    role_mapping=(
        OIDCRoleRule(group="artists", role="artist"),
        OIDCRoleRule(group="leads", role="wrangler"),
    ),
)


def test_the_highest_mapped_role_counts() -> None:
    assert role_for(("artists", "leads", "other"), MAPPING) is Role.WRANGLER
    assert role_for(("artists",), MAPPING) is Role.ARTIST


def test_without_a_mapped_group_the_default_role_or_nothing() -> None:
    assert role_for(("other",), MAPPING) is None
    assert role_for((), MAPPING) is None
    with_default = OIDCConfig(role_mapping=MAPPING.role_mapping, default_role="viewer")
    assert role_for(("other",), with_default) is Role.VIEWER


def test_groups_come_as_a_list_or_one_text() -> None:
    assert groups_of({"groups": ["a", "b"]}, "groups") == ("a", "b")
    assert groups_of({"groups": "a"}, "groups") == ("a",)
    assert groups_of({"roles": ["a"]}, "groups") == ()
    assert groups_of({"groups": {"a": 1}}, "groups") == ()


def test_the_login_cookie_round_trips_and_garbage_is_no_login() -> None:
    pending = Pending(state="s", nonce="n", code_verifier="v", started_at=12)
    assert Pending.decode(pending.encode()) == pending
    for garbage in ("", "!!!", base64.urlsafe_b64encode(b"[1, 2]").decode(), "AAAA", "gA=="):
        assert Pending.decode(garbage) is None


def _load(tmp_path: Path, section: str) -> OIDCConfig:
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text("_meta:\n  version: 3\noidc:\n" + section, encoding="utf-8")
    return load_config(path).config.oidc


def test_the_oidc_section_loads(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        "  issuer: https://sso.example.com\n  client_id: flamenco\n"
        "  role_mapping:\n    - group: artists\n      role: artist\n",
    )
    assert settings.role_mapping == (OIDCRoleRule(group="artists", role="artist"),)
    assert settings.scopes == ("openid", "profile", "email")
    assert "client_secret" not in repr(settings)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("  issuer: https://sso.example.com\n", "client_id is needed with issuer"),
        (
            "  issuer: https://sso.example.com\n  client_id: x\n  scopes: [profile]\n",
            "scopes must include openid",
        ),
        ("  issuer: sso.example.com\n", r"must be empty or an http\(s\):// URL"),
        ("  default_role: boss\n", "must be viewer, artist, wrangler or admin"),
        ("  role_mapping:\n    - group: a\n      role: boss\n", "must be viewer, artist"),
    ],
)
def test_bad_oidc_settings_are_refused(tmp_path: Path, section: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        _load(tmp_path, section)
