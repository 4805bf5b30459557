"""Roles, the permission matrix, site scope, password hashing and tokens (security.py)."""

from __future__ import annotations

import hashlib

import pytest

from oncotrial.errors import PermissionDenied
from oncotrial.server.security import (
    BLINDED_ROLES,
    PERMISSIONS,
    ROLES,
    Principal,
    hash_password,
    in_scope,
    needs_rehash,
    new_token,
    require,
    token_digest,
    verify_password,
)
from oncotrial.server.settings import Settings

FAST = Settings(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)


def _principal(role: str, site: int | None = None) -> Principal:
    return Principal(user_id=1, username="u", role=role,
                     site_id=site if site is not None or role != "investigator" else 1,
                     trial_id=1)


CONCEALED = ("allocation.read_arm", "list.read", "seed.read", "state.read")


@pytest.mark.parametrize("role", BLINDED_ROLES)
@pytest.mark.parametrize("action", CONCEALED)
def test_no_blinded_role_reads_concealed_information(role, action):
    with pytest.raises(PermissionDenied, match=f"the {role} role may not perform {action}"):
        require(_principal(role), action)


@pytest.mark.parametrize("action", CONCEALED)
def test_the_unblinded_statistician_reads_them(action):
    require(_principal("unblinded_statistician"), action)


@pytest.mark.parametrize("action, allowed", [
    ("randomise", {"investigator"}), ("unblind", {"investigator"}),
    ("subject.register", {"investigator"}), ("correct", {"admin"}),
    ("user.manage", {"admin"}), ("site.manage", {"admin"}), ("trial.go_live", {"admin"}),
    ("audit.export", {"admin", "monitor"}), ("notifications.read", {"admin"}),
    ("trial.read", set(ROLES)), ("subject.read", set(ROLES)),
])
def test_the_matrix(action, allowed):
    for role in ROLES:
        if role in allowed:
            require(_principal(role), action)
        else:
            with pytest.raises(PermissionDenied):
                require(_principal(role), action)


def test_every_action_names_known_roles_and_monitors_change_nothing():
    for action, roles in PERMISSIONS.items():
        assert roles <= set(ROLES), action
    changing = {"trial.go_live", "site.manage", "user.manage", "subject.register", "randomise",
                "unblind", "correct"}
    assert not any("monitor" in PERMISSIONS[a] for a in changing)
    assert not any("data_manager" in PERMISSIONS[a] for a in ("randomise", "unblind"))


def test_unknown_actions_are_programming_errors():
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        require(_principal("admin"), "fly")


def test_site_scope():
    inv = _principal("investigator", site=3)
    assert in_scope(inv, 3) and not in_scope(inv, 4) and not in_scope(inv, None)
    for role in ("admin", "monitor", "data_manager", "unblinded_statistician"):
        assert in_scope(_principal(role), 4)


def test_principals_are_validated():
    with pytest.raises(ValueError, match="unknown role"):
        Principal(user_id=1, username="u", role="root", site_id=None, trial_id=1)
    with pytest.raises(ValueError, match="site_id is required"):
        Principal(user_id=1, username="u", role="investigator", site_id=None, trial_id=1)
    assert _principal("monitor").blinded and not _principal("unblinded_statistician").blinded


def test_password_hashing():
    digest = hash_password("correct horse", FAST)
    assert digest.startswith("$argon2id$") and "correct horse" not in digest
    assert verify_password(digest, "correct horse")
    assert not verify_password(digest, "correct horse ")
    assert not verify_password("not a hash", "correct horse")
    assert hash_password("correct horse", FAST) != digest  # salted
    assert needs_rehash(digest, Settings()) and not needs_rehash(digest, FAST)
    assert needs_rehash("garbage", FAST)
    with pytest.raises(TypeError):
        hash_password(b"bytes", FAST)  # type: ignore[arg-type]


def test_tokens():
    token, digest = new_token()
    assert len(token) >= 43 and digest == hashlib.sha256(token.encode()).hexdigest()
    assert token_digest(token) == digest
    assert new_token()[0] != token
