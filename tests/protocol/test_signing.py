"""BECKN-006 / ONDC signature headers: published vectors byte for byte, every failure its own error."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mercato.protocol import signing
from mercato.protocol.keys import (
    KeyPair,
    load_signing_private_key,
    sign_plain,
    verify_plain,
)
from mercato.protocol.signing import (
    BadSignature,
    DigestMismatch,
    Expired,
    KeyIdMismatch,
    MalformedHeader,
    NotYetValid,
    SignatureError,
    digest,
    digest_header,
    parse_header,
    sign,
    verify,
)

# The folder that tests/conftest.py calls SPECS. Not imported from there: a test folder with its own
# conftest.py would shadow the module name "conftest".
SPECS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "specs" / "beckn"

VECTOR: dict[str, Any] = json.loads((SPECS / "ondc-crypto-vector.json").read_text(encoding="utf-8"))
KEYS = VECTOR["keys"]
BODY = VECTOR["body"].encode("utf-8")
CREATED = int(VECTOR["created"])
EXPIRES = int(VECTOR["expires"])
PUB = KEYS["signing_public_key_b64"]
SUB = VECTOR["subscriber_id"]
UKID = VECTOR["unique_key_id"]
KEY = load_signing_private_key(KEYS["signing_private_key_b64_libsodium_64byte"])
OTHER = KeyPair.generate()


def _valid_header(body: bytes = BODY, **kw: Any) -> str:
    return sign(body, KEY, SUB, UKID, created=CREATED, expires=EXPIRES, **kw)


# --- the ONDC SDK vector ------------------------------------------------------------------------


def test_vector_digest_and_signing_string() -> None:
    assert digest(BODY) == VECTOR["digest_blake2b512_b64"]
    assert digest_header(BODY) == "BLAKE-512=" + VECTOR["digest_blake2b512_b64"]
    assert signing.signing_string(CREATED, EXPIRES, digest(BODY)) == VECTOR["signing_string"]


@pytest.mark.parametrize("key_field", ["signing_private_key_b64_libsodium_64byte", "signing_seed_b64_32byte"])
def test_vector_header_byte_for_byte(key_field: str) -> None:
    key = load_signing_private_key(KEYS[key_field])
    header = sign(BODY, key, SUB, UKID, created=CREATED, expires=EXPIRES)
    assert header == VECTOR["authorization_header"]
    assert parse_header(header).signature == VECTOR["signature_b64"]


def test_vector_header_verifies_in_its_window_only() -> None:
    h = verify(VECTOR["authorization_header"], BODY, PUB, now=CREATED + 10)
    assert (h.subscriber_id, h.unique_key_id, h.created, h.expires) == (SUB, UKID, CREATED, EXPIRES)
    assert h.key_id == f"{SUB}|{UKID}|ed25519"
    # ONDC's SDK still accepts it today (checks.expired_header_still_valid_per_sdk); we do not.
    assert VECTOR["checks"]["expired_header_still_valid_per_sdk"] is True
    with pytest.raises(Expired):
        verify(VECTOR["authorization_header"], BODY, PUB)


def test_vector_vlookup_signature() -> None:
    v = VECTOR["vlookup"]
    text = signing.vlookup_signing_string("IND", "ONDC:RET10", "buyerApp", "std:080", SUB)
    assert text == v["signing_string"]
    assert sign_plain(KEY, text.encode()) == v["signature_b64"]
    assert verify_plain(PUB, text.encode(), v["signature_b64"])
    assert not verify_plain(PUB, (text + "x").encode(), v["signature_b64"])


def test_beckn006_spec_vector() -> None:
    v = VECTOR["beckn006_spec_vector"]
    body = v["body"].encode()
    assert digest(body) == v["digest"]
    key = load_signing_private_key(v["signing_private_key"])
    m = re.search(r'keyId="([^|]+)\|([^|]+)\|', v["expected_header"])
    assert m is not None
    header = sign(body, key, m.group(1), m.group(2), created=int(v["created"]), expires=int(v["expires"]))
    assert header == v["expected_header"]
    verify(header, body, v["signing_public_key"], now=int(v["created"]))


def test_other_published_vectors() -> None:
    others = {o["what"].split(" ")[0]: o for o in VECTOR["other_published_vectors_verified_here"]}
    minified = others["auth"]
    body = json.dumps(json.loads(VECTOR["beckn006_spec_vector"]["body"]), separators=(",", ":")).encode()
    key = load_signing_private_key(minified["signing_private_key"])
    header = sign(body, key, "buyer-app.ondc.org", "207", created=1641287875, expires=1641291475)
    assert header == minified["header"]
    verify(header, body, minified["signing_public_key"], now=1641287875)
    pretty = json.dumps(json.loads(body), indent=2).encode()
    with pytest.raises(BadSignature):
        verify(header, pretty, minified["signing_public_key"], now=1641287875)

    site = others["ondc-site-verification.html"]
    site_key = load_signing_private_key(site["signing_private_key"])
    assert sign_plain(site_key, site["message"].encode()) == site["signature"]
    assert verify_plain(site["signing_public_key"], site["message"].encode(), site["signature"])

    blake = others["BLAKE2b-512"]
    assert digest(blake["input"].encode()) == blake["digest_b64"]


# --- failures, each its own error ---------------------------------------------------------------


def test_every_failure_has_its_own_class_and_reason() -> None:
    classes = [MalformedHeader, BadSignature, DigestMismatch, Expired, NotYetValid, KeyIdMismatch]
    assert len({c.reason for c in classes}) == len(classes)
    assert all(issubclass(c, SignatureError) for c in classes)
    for a in classes:
        for b in classes:
            assert a is b or not issubclass(a, b)


def test_tampered_body() -> None:
    tampered = BODY.replace(b"atta", b"atTa")
    assert tampered != BODY
    with pytest.raises(BadSignature):
        verify(_valid_header(), tampered, PUB, now=CREATED)


def test_another_key() -> None:
    with pytest.raises(BadSignature):
        verify(_valid_header(), BODY, OTHER.signing_public_key, now=CREATED)
    forged = sign(BODY, OTHER.signing, SUB, UKID, created=CREATED, expires=EXPIRES)
    with pytest.raises(BadSignature):
        verify(forged, BODY, PUB, now=CREATED)


def test_unusable_public_key_is_a_bad_signature() -> None:
    for pub in ["not base64!", base64.b64encode(b"short").decode(), ""]:
        with pytest.raises(BadSignature, match="unusable"):
            verify(_valid_header(), BODY, pub, now=CREATED)


def test_expired_header() -> None:
    header = _valid_header()
    verify(header, BODY, PUB, now=EXPIRES)  # the last valid second
    with pytest.raises(Expired):
        verify(header, BODY, PUB, now=EXPIRES + 1)
    with pytest.raises(Expired):
        verify(header, BODY, PUB, now=EXPIRES + 0.5)


@pytest.mark.parametrize("skew", [0, 5, 30])
def test_future_header_and_clock_skew(skew: int) -> None:
    header = _valid_header()
    verify(header, BODY, PUB, now=CREATED - skew, clock_skew_s=skew)  # within skew: accepted
    with pytest.raises(NotYetValid):
        verify(header, BODY, PUB, now=CREATED - skew - 1, clock_skew_s=skew)


def test_default_skew_is_five_seconds() -> None:
    header = _valid_header()
    verify(header, BODY, PUB, now=CREATED - 5)
    with pytest.raises(NotYetValid):
        verify(header, BODY, PUB, now=CREATED - 5.01)


def test_stale_header_is_rejected_before_the_signature_is_checked() -> None:
    # Wrong key AND expired: the cheap time check answers first.
    with pytest.raises(Expired):
        verify(_valid_header(), BODY, OTHER.signing_public_key, now=EXPIRES + 100)


def test_reserialised_body_without_and_with_digest_header() -> None:
    reserialised = json.dumps(json.loads(BODY)).encode()  # same JSON, other bytes (", " and ": ")
    assert reserialised != BODY and json.loads(reserialised) == json.loads(BODY)
    header = _valid_header()
    with pytest.raises(BadSignature):
        verify(header, reserialised, PUB, now=CREATED)
    with pytest.raises(DigestMismatch):
        verify(header, reserialised, PUB, now=CREATED, body_digest_header=digest_header(BODY))
    # The Digest header of the real body passes, in any case and with other algorithms listed too.
    verify(header, BODY, PUB, now=CREATED, body_digest_header=digest_header(BODY))
    verify(header, BODY, PUB, now=CREATED, body_digest_header="blake-512=" + digest(BODY))
    verify(header, BODY, PUB, now=CREATED, body_digest_header=f"SHA-256=abc, BLAKE-512={digest(BODY)}")
    # A Digest header without BLAKE-512 says nothing we can check: the signature decides.
    verify(header, BODY, PUB, now=CREATED, body_digest_header="SHA-256=abc")
    with pytest.raises(BadSignature):
        verify(header, reserialised, PUB, now=CREATED, body_digest_header="SHA-256=abc")


def test_digest_header_that_lies_about_the_body() -> None:
    # Digest matches the tampered body, but the signature covers the original bytes.
    tampered = BODY + b" "
    with pytest.raises(BadSignature):
        verify(_valid_header(), tampered, PUB, now=CREATED, body_digest_header=digest_header(tampered))


def test_key_id_mismatch() -> None:
    header = _valid_header()
    verify(header, BODY, PUB, now=CREATED, expected_subscriber_id=SUB, expected_unique_key_id=UKID)
    with pytest.raises(KeyIdMismatch, match="signed by"):
        verify(header, BODY, PUB, now=CREATED, expected_subscriber_id="someone.else.org")
    with pytest.raises(KeyIdMismatch, match="key"):
        verify(header, BODY, PUB, now=CREATED, expected_unique_key_id="k2")


_SIG = VECTOR["signature_b64"]
_GOOD = VECTOR["authorization_header"]


def _without(param: str) -> str:
    return re.sub(rf',?{param}="[^"]*"', "", _GOOD).replace("Signature ,", "Signature ")


MALFORMED = {
    "empty": "",
    "blank": "   ",
    "no scheme": _GOOD[len("Signature ") :],
    "other scheme": _GOOD.replace("Signature ", "Bearer ", 1),
    "scheme only": "Signature",
    "scheme and space": "Signature   ",
    "missing keyId": _without("keyId"),
    "missing created": _without("created"),
    "missing expires": _without("expires"),
    "missing signature": _without("signature"),
    "created not a number": _GOOD.replace(f'created="{CREATED}"', 'created="soon"'),
    "expires float": _GOOD.replace(f'expires="{EXPIRES}"', f'expires="{EXPIRES}.5"'),
    "created negative": _GOOD.replace(f'created="{CREATED}"', f'created="-{CREATED}"'),
    "created plus sign": _GOOD.replace(f'created="{CREATED}"', f'created="+{CREATED}"'),
    "created leading zero": _GOOD.replace(f'created="{CREATED}"', f'created="0{CREATED}"'),
    "created underscore": _GOOD.replace(f'created="{CREATED}"', 'created="1_735_689_600"'),
    "created arabic-indic digits": _GOOD.replace(f'created="{CREATED}"', 'created="١٧٣٥٦٨٩٦٠٠"'),
    "created empty": _GOOD.replace(f'created="{CREATED}"', 'created=""'),
    "created huge": _GOOD.replace(f'created="{CREATED}"', 'created="' + "9" * 40 + '"'),
    "expires before created": _GOOD.replace(f'expires="{EXPIRES}"', f'expires="{CREATED - 1}"'),
    "algorithm rsa": _GOOD.replace('algorithm="ed25519"', 'algorithm="rsa-sha256"'),
    "algorithm hs2019": _GOOD.replace('algorithm="ed25519"', 'algorithm="hs2019"'),
    "keyId algorithm differs": _GOOD.replace("|ed25519", "|rsa"),
    "keyId two parts": _GOOD.replace(f"|{UKID}|", "|"),
    "keyId four parts": _GOOD.replace(f"|{UKID}|", f"|{UKID}|x|"),
    "keyId empty subscriber": _GOOD.replace(f'keyId="{SUB}', 'keyId="'),
    "keyId empty key id": _GOOD.replace(f"|{UKID}|", "||"),
    "keyId with space": _GOOD.replace(SUB, "seller example.org"),
    "keyId empty": re.sub(r'keyId="[^"]*"', 'keyId=""', _GOOD),
    "headers other": _GOOD.replace(
        'headers="(created) (expires) digest"', 'headers="(request-target) digest"'
    ),
    "headers missing digest": _GOOD.replace('headers="(created) (expires) digest"', 'headers="(created)"'),
    "signature not base64": _GOOD.replace(_SIG, "!!!" + _SIG[3:]),
    "signature bad padding": _GOOD.replace(_SIG, _SIG.rstrip("=")),
    "signature 63 bytes": _GOOD.replace(_SIG, base64.b64encode(b"\0" * 63).decode()),
    "signature 65 bytes": _GOOD.replace(_SIG, base64.b64encode(b"\0" * 65).decode()),
    "signature empty": _GOOD.replace(_SIG, ""),
    "duplicate created": _GOOD + f',created="{CREATED}"',
    "duplicate signature": _GOOD + f',signature="{_SIG}"',
    "unterminated quote": _GOOD[:-1],
    "missing comma": _GOOD.replace('",algorithm', '" algorithm'),
    "double comma": _GOOD.replace(",algorithm", ",,algorithm"),
    "garbage tail": _GOOD + " trailing garbage",
    "garbage": "Signature ###",
    "json": '{"keyId": "a|b|ed25519"}',
    "param without value": _GOOD + ",foo",
    "value with bad quote": _GOOD.replace('keyId="', "keyId='"),
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_headers(header: str) -> None:
    with pytest.raises(MalformedHeader):
        parse_header(header)
    with pytest.raises(MalformedHeader):
        verify(header, BODY, PUB, now=CREATED)


def test_parse_header_rejects_non_strings() -> None:
    with pytest.raises(MalformedHeader):
        parse_header(None)  # type: ignore[arg-type]
    with pytest.raises(MalformedHeader):
        parse_header(b"Signature keyId=..")  # type: ignore[arg-type]


# --- what real peers send -----------------------------------------------------------------------


def _variants() -> dict[str, str]:
    g = _GOOD
    return {
        "canonical": g,
        "spaces after commas (BECKN-006 gateway example)": g.replace('",', '", '),
        "spaces around commas and equals": re.sub(r'([A-Za-z]+)="', r'\1 = "', g.replace('",', '" , ')),
        "headers without spaces": g.replace("(created) (expires) digest", "(created)(expires)digest"),
        "unquoted created/expires (draft-cavage)": g.replace(
            f'created="{CREATED}"', f"created={CREATED}"
        ).replace(f'expires="{EXPIRES}"', f"expires={EXPIRES}"),
        "lower-case scheme": "signature" + g[len("Signature") :],
        "surrounding whitespace": f"  {g}  ",
        "tab after scheme": g.replace("Signature ", "Signature\t", 1),
        "trailing comma": g + ",",
        "unknown parameter": g + ',realm="example"',
        "upper-case algorithm": g.replace('algorithm="ed25519"', 'algorithm="ED25519"'),
        "no algorithm parameter": g.replace('algorithm="ed25519",', ""),
        "no headers parameter": g.replace('headers="(created) (expires) digest",', ""),
        "other parameter order": (
            f'Signature signature="{_SIG}",headers="(created) (expires) digest",expires="{EXPIRES}",'
            f'created="{CREATED}",algorithm="ed25519",keyId="{SUB}|{UKID}|ed25519"'
        ),
    }


@pytest.mark.parametrize("name", list(_variants()))
def test_tolerated_header_forms_verify(name: str) -> None:
    header = _variants()[name]
    h = verify(header, BODY, PUB, now=CREATED)
    assert (h.subscriber_id, h.unique_key_id, h.created, h.expires, h.signature) == (
        SUB,
        UKID,
        CREATED,
        EXPIRES,
        _SIG,
    )
    assert h.render() == _GOOD


def test_tolerated_form_still_fails_on_a_changed_body() -> None:
    header = _variants()["spaces after commas (BECKN-006 gateway example)"]
    with pytest.raises(BadSignature):
        verify(header, BODY + b"\n", PUB, now=CREATED)


def test_parsed_header_can_be_verified_directly() -> None:
    h = parse_header(_GOOD)
    assert verify(h, BODY, PUB, now=CREATED) == h


# --- signing ------------------------------------------------------------------------------------


def test_sign_defaults_created_now_and_one_hour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing.time, "time", lambda: 1_800_000_000.7)
    h = parse_header(sign(BODY, KEY, SUB, UKID))
    assert (h.created, h.expires) == (1_800_000_000, 1_800_003_600)
    h = parse_header(sign(BODY, KEY, SUB, UKID, validity_s=30))
    assert h.expires - h.created == 30
    verify(sign(BODY, KEY, SUB, UKID), BODY, PUB)


@pytest.mark.parametrize(
    ("sub", "ukid"),
    [
        ("a|b", "k"),
        ("a", "k|2"),
        ('a"b', "k"),
        ("", "k"),
        ("a", ""),
        ("a b", "k"),
        ("a\nb", "k"),
        ("é.org", "k"),
    ],
)
def test_sign_rejects_ids_that_cannot_travel_in_a_key_id(sub: str, ukid: str) -> None:
    with pytest.raises(ValueError):
        sign(BODY, KEY, sub, ukid)


def test_sign_rejects_expires_before_created() -> None:
    with pytest.raises(ValueError):
        sign(BODY, KEY, SUB, UKID, created=100, expires=99)
    with pytest.raises(ValueError):
        sign(BODY, KEY, SUB, UKID, created=-1, expires=99)


# --- properties ---------------------------------------------------------------------------------

ID_ALPHABET = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"|')
ids = st.text(alphabet=ID_ALPHABET, min_size=1, max_size=40)
bodies = st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(lambda s: s.encode("utf-8")))


@settings(max_examples=150, deadline=None)
@given(body=bodies, sub=ids, ukid=ids, created=st.integers(0, 2**40), validity=st.integers(0, 10**6))
def test_round_trip(body: bytes, sub: str, ukid: str, created: int, validity: int) -> None:
    header = sign(body, KEY, sub, ukid, created=created, validity_s=validity)
    h = verify(header, body, PUB, now=created, expected_subscriber_id=sub, expected_unique_key_id=ukid)
    assert (h.subscriber_id, h.unique_key_id, h.created, h.expires) == (
        sub,
        ukid,
        created,
        created + validity,
    )
    assert parse_header(header).render() == header


@settings(max_examples=150, deadline=None)
@given(body=st.binary(min_size=1, max_size=1024), data=st.data())
def test_any_single_byte_change_fails(body: bytes, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(body) - 1), label="index")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != body[i]), label="byte")
    changed = body[:i] + bytes([new]) + body[i + 1 :]
    header = _valid_header(body)
    with pytest.raises(BadSignature):
        verify(header, changed, PUB, now=CREATED)
    with pytest.raises(DigestMismatch):
        verify(header, changed, PUB, now=CREATED, body_digest_header=digest_header(body))


HEADERISH = st.lists(
    st.sampled_from(
        ["Signature ", "signature", " ", ",", "=", '"', "keyId", "created", "expires", "signature",
         "algorithm", "headers", "ed25519", "|", "1735689600", "-1", "0", _SIG, "==", "(created)", "\t", "é"]
    )
    | st.text(max_size=8),
    max_size=30,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=300), HEADERISH))
def test_parse_header_raises_only_malformed(text: str) -> None:
    try:
        h = parse_header(text)
    except MalformedHeader:
        return
    assert h.algorithm == "ed25519" and h.expires >= h.created >= 0
    assert len(base64.b64decode(h.signature)) == 64


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=300), HEADERISH))
def test_verify_on_random_text_raises_only_signature_errors(text: str) -> None:
    with pytest.raises(SignatureError):
        verify(text, BODY, PUB, now=CREATED)
