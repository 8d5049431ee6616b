"""Console password hashing: scrypt with a salt per hash, parameters carried in the hash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.seller.console.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    PasswordError,
    check_new_password,
    hash_password,
    parse_hash,
    verify_password,
)

FAST = {"n": 16, "r": 1, "p": 1}  # cheap parameters so hypothesis can try many passwords
passwords = st.text(min_size=MIN_LENGTH, max_size=60).filter(lambda s: s.strip() == s)


@settings(max_examples=40, deadline=None)
@given(passwords, passwords)
def test_a_hash_verifies_its_password_and_no_other(pw: str, other: str) -> None:
    h = hash_password(pw, **FAST)
    assert verify_password(pw, h)
    assert verify_password(other, h) is (other == pw)
    assert pw not in h


def test_same_password_gets_a_new_salt_each_time() -> None:
    a, b = hash_password("a long enough secret", **FAST), hash_password("a long enough secret", **FAST)
    assert a != b and parse_hash(a)[3] != parse_hash(b)[3]
    assert verify_password("a long enough secret", a) and verify_password("a long enough secret", b)


def test_default_parameters_are_memory_hard() -> None:
    n, r, p, salt, key = parse_hash(hash_password("a long enough secret"))
    assert (n, r, p) == (2**14, 8, 1) and len(salt) == 16 and len(key) == 32


@pytest.mark.parametrize(
    "bad",
    ["", "short", " leading space ok?", "trailing space ok? ", "x" * (MAX_LENGTH + 1)],
)
def test_unfit_new_passwords_are_refused(bad: str) -> None:
    with pytest.raises(PasswordError):
        check_new_password(bad)
    with pytest.raises(PasswordError):
        hash_password(bad, **FAST)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text password",
        "bcrypt$2b$12$abc",
        "scrypt$n=16,r=1,p=1$c2FsdHNhbHQ=",  # no key
        "scrypt$n=15,r=1,p=1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5",  # n not a power of two
        "scrypt$n=16,r=0,p=1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5",
        "scrypt$n=16,r=1,p=99$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5",
        f"scrypt$n={2**21},r=1,p=1$c2FsdHNhbHQ=$a2V5a2V5a2V5a2V5a2V5a2V5",  # would take gigabytes
        "scrypt$n=16,r=1,p=1$c2Fs$a2V5a2V5a2V5a2V5a2V5a2V5",  # salt too short
        "scrypt$n=16,r=1,p=1$c2FsdHNhbHQ=$a2V5",  # key too short
        "scrypt$n=16,r=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",  # bad padding
    ],
)
def test_malformed_hashes_raise(stored: str) -> None:
    with pytest.raises(PasswordError):
        verify_password("whatever password", stored)


def test_an_overlong_attempt_is_false_not_an_error() -> None:
    h = hash_password("a long enough secret", **FAST)
    assert verify_password("y" * (MAX_LENGTH + 5), h) is False
