"""Signed console sessions: forgery, expiry (idle and absolute), revocation, password change, CSRF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.seller.console.sessions import REFRESH_AFTER_S, Sessions

SECRET = b"0123456789abcdef-secret"
STAMP = "scrypt$hash-of-the-password"
users = st.text(alphabet=st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1,
                max_size=30)  # fmt: skip
T = 1_800_000_000


def stamps(user: str) -> str | None:
    return STAMP


@given(users, st.integers(0, 2 * 3600))
def test_a_session_reads_back_until_idle(user: str, later: int) -> None:
    ss = Sessions(SECRET)
    s, cookie = ss.issue(user, STAMP, T)
    got = ss.read(cookie, stamps, T + later)
    assert got == s and got is not None and got.user == user


@given(st.integers(2 * 3600 + 1, 10**6))
def test_idle_sessions_expire(later: int) -> None:
    ss = Sessions(SECRET)
    _, cookie = ss.issue("meera", STAMP, T)
    assert ss.read(cookie, stamps, T + later) is None


def test_touching_keeps_a_session_alive_but_not_past_its_lifetime() -> None:
    ss = Sessions(SECRET, idle_s=600, lifetime_s=3600)
    s, cookie = ss.issue("meera", STAMP, T)
    assert ss.touch(s, STAMP, T + REFRESH_AFTER_S - 1) is None  # too soon to re-issue
    now = T
    while now < T + 3600 - 500:
        now += 500
        s2 = ss.read(cookie, stamps, now)
        assert s2 is not None
        cookie = ss.touch(s2, STAMP, now) or cookie
    assert ss.read(cookie, stamps, T + 3601) is None  # absolute lifetime


@given(st.binary(min_size=1, max_size=40), st.integers(0, 200))
def test_any_changed_byte_is_refused(junk: bytes, pos: int) -> None:
    ss = Sessions(SECRET)
    _, cookie = ss.issue("meera", STAMP, T)
    i = pos % len(cookie)
    forged = cookie[:i] + chr((ord(cookie[i]) + 1) % 128 or 65) + cookie[i + 1 :]
    assert ss.read(forged, stamps, T + 1) is None
    assert ss.read(junk.decode("latin-1"), stamps, T + 1) is None


@pytest.mark.parametrize("token", [None, "", ".", "a.b.c", "x" * 2000, "bWVlcmE.AAAA", "!!!.???"])
def test_garbage_is_no_session(token: str | None) -> None:
    assert Sessions(SECRET).read(token, stamps, T) is None


def test_another_secret_or_a_new_password_ends_the_session() -> None:
    ss = Sessions(SECRET)
    _, cookie = ss.issue("meera", STAMP, T)
    assert Sessions(b"another secret of 16+ bytes").read(cookie, stamps, T) is None
    assert ss.read(cookie, lambda u: "scrypt$new-hash", T) is None
    assert ss.read(cookie, lambda u: None, T) is None  # user removed


def test_logout_revokes_only_that_session() -> None:
    ss = Sessions(SECRET)
    s1, c1 = ss.issue("meera", STAMP, T)
    _, c2 = ss.issue("meera", STAMP, T)
    ss.revoke(s1, T + 5)
    assert ss.read(c1, stamps, T + 6) is None
    assert ss.read(c2, stamps, T + 6) is not None


def test_a_session_from_the_future_is_refused() -> None:
    ss = Sessions(SECRET)
    _, cookie = ss.issue("meera", STAMP, T + 10_000)
    assert ss.read(cookie, stamps, T) is None


@given(st.text(min_size=1, max_size=40), st.text(max_size=60))
def test_csrf_token_matches_its_nonce_only(nonce: str, other: str) -> None:
    ss = Sessions(SECRET)
    token = ss.csrf(nonce)
    assert ss.check_csrf(nonce, token)
    assert not ss.check_csrf(nonce, other) or other == token
    assert not ss.check_csrf(nonce + "x", token)
    assert not ss.check_csrf(None, token) and not ss.check_csrf(nonce, None) and not ss.check_csrf(nonce, "")


def test_bad_construction_and_user_names() -> None:
    with pytest.raises(ValueError):
        Sessions(b"short")
    with pytest.raises(ValueError):
        Sessions(SECRET, idle_s=0)
    with pytest.raises(ValueError):
        Sessions(SECRET).issue("a|b", STAMP, T)
