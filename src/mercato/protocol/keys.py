"""Key material: Ed25519 signing keys and X25519 encryption keys, in the formats Beckn/ONDC use.

Formats accepted:

* Ed25519 private key: the 32-byte seed (beckn-onix) or the 64-byte libsodium secret key
  ``seed || public`` (ONDC tools, beckn protocol-server), base64.
* Ed25519 public key: 32 raw bytes, base64 (what registries publish).
* X25519 keys: raw 32 bytes, or DER (PKCS#8 private, SubjectPublicKeyInfo public), base64.
  ONDC registries publish the DER SubjectPublicKeyInfo form.

The on_subscribe challenge: the registry encrypts a random string with AES-256-ECB (PKCS#7),
keyed by the raw 32-byte X25519 shared secret between the registry's and the subscriber's
encryption keys. Only the holder of the subscriber's private key can answer it. ECB is what ONDC
does; the plaintext is a single random nonce, so ECB's pattern leak does not matter here.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from functools import lru_cache

import nacl.bindings
import nacl.exceptions

try:  # optional fast path, see ed25519_verify
    from ed25519_zebra import ed_verify as _zebra_verify
except ImportError:  # pragma: no cover - the dependency is declared; this keeps a broken wheel usable
    _zebra_verify = None
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class KeyFormatError(ValueError):
    """A key could not be decoded: wrong base64, wrong length or wrong DER structure."""


def b64decode_strict(text: str, what: str) -> bytes:
    if not isinstance(text, str):
        raise KeyFormatError(f"{what} must be a base64 string, got {type(text).__name__}")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"{what} is not valid base64") from exc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- Ed25519 -----------------------------------------------------------------------------------


def load_signing_private_key(text: str) -> Ed25519PrivateKey:
    """Decode a base64 Ed25519 private key: a 32-byte seed or a 64-byte libsodium secret key."""
    raw = b64decode_strict(text, "signing private key")
    if len(raw) == 32:
        return Ed25519PrivateKey.from_private_bytes(raw)
    if len(raw) == 64:
        key = Ed25519PrivateKey.from_private_bytes(raw[:32])
        if raw_public(key.public_key()) != raw[32:]:
            raise KeyFormatError(
                "signing private key: the 64-byte libsodium key's second half is not the public key "
                "of its first half"
            )
        return key
    raise KeyFormatError(f"signing private key must be 32 or 64 bytes, got {len(raw)}")


@lru_cache(maxsize=4096)
def load_signing_public_key(text: str) -> Ed25519PublicKey:
    """Decode a base64 raw 32-byte Ed25519 public key (cached: verifying is the hot path)."""
    raw = b64decode_strict(text, "signing public key")
    if len(raw) == 32:
        return Ed25519PublicKey.from_public_bytes(raw)
    if len(raw) == 44:  # DER SubjectPublicKeyInfo, which a few tools publish
        try:
            key = serialization.load_der_public_key(raw)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError("signing public key is not a valid DER Ed25519 key") from exc
        if isinstance(key, Ed25519PublicKey):
            return key
        raise KeyFormatError("signing public key: the DER key is not an Ed25519 key")
    raise KeyFormatError(f"signing public key must be 32 raw bytes, got {len(raw)}")


@lru_cache(maxsize=4096)
def signing_public_key_raw(text: str) -> bytes:
    """The raw 32 bytes of a base64 Ed25519 public key (raw or DER), cached.

    Small-order and non-canonical points are refused: under them a signature proves nothing.
    """
    raw = raw_public(load_signing_public_key(text))
    try:
        nacl.bindings.crypto_sign_ed25519_pk_to_curve25519(raw)  # libsodium's point checks
    except (nacl.exceptions.RuntimeError, nacl.exceptions.ValueError, nacl.exceptions.TypeError):
        raise KeyFormatError("signing public key is a small-order or non-canonical point") from None
    return raw


# The group order: RFC 8032 requires the S half of a signature to be below it (no malleability).
_ED25519_L = 2**252 + 27742317777372353535851937790883648493


def ed25519_verify(public_key_b64: str, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` by this public key.

    Verification is the hot path of every protocol request. It uses ed25519-zebra (Rust) when it
    is installed, about 1.4x faster than libsodium here, and libsodium (PyNaCl) otherwise; both are
    about twice as fast as OpenSSL's verify. zebra follows ZIP-215, which accepts a few encodings
    that libsodium's stricter rules refuse; a non-canonical S, the one that would let anyone
    re-encode a valid signature, is refused here before either library is asked. Every signature an
    honest signer (ONDC's SDK, libsodium, OpenSSL, this module) makes verifies the same under both.
    Raises :class:`KeyFormatError` for an unusable key.
    """
    pk = signing_public_key_raw(public_key_b64)
    if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= _ED25519_L:
        return False
    if _zebra_verify is not None:
        return bool(_zebra_verify(signature, message, pk))
    try:
        nacl.bindings.crypto_sign_open(signature + message, pk)
    except nacl.exceptions.BadSignatureError:
        return False
    return True


def raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def raw_private(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def sign_plain(key: Ed25519PrivateKey, message: bytes) -> str:
    """Ed25519 over the message itself, no hashing (ONDC vlookup and site verification)."""
    return b64(key.sign(message))


def verify_plain(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    try:
        sig = b64decode_strict(signature_b64, "signature")
        return ed25519_verify(public_key_b64, sig, message)
    except (KeyFormatError, ValueError):
        return False


# --- X25519 ------------------------------------------------------------------------------------


def load_encryption_private_key(text: str) -> X25519PrivateKey:
    raw = b64decode_strict(text, "encryption private key")
    if len(raw) == 32:
        return X25519PrivateKey.from_private_bytes(raw)
    try:
        key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("encryption private key is neither 32 raw bytes nor PKCS#8 DER") from exc
    if not isinstance(key, X25519PrivateKey):
        raise KeyFormatError("encryption private key is not an X25519 key")
    return key


def load_encryption_public_key(text: str) -> X25519PublicKey:
    raw = b64decode_strict(text, "encryption public key")
    if len(raw) == 32:
        return X25519PublicKey.from_public_bytes(raw)
    try:
        key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("encryption public key is neither 32 raw bytes nor DER SPKI") from exc
    if not isinstance(key, X25519PublicKey):
        raise KeyFormatError("encryption public key is not an X25519 key")
    return key


def encryption_public_der_b64(key: X25519PublicKey) -> str:
    return b64(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def encryption_private_der_b64(key: X25519PrivateKey) -> str:
    return b64(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def shared_secret(private: X25519PrivateKey, peer_public: X25519PublicKey) -> bytes:
    return private.exchange(peer_public)


def aes_ecb_encrypt(key: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 - ONDC's scheme
    return enc.update(data) + enc.finalize()


def aes_ecb_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305 - ONDC's scheme
    data = dec.update(ciphertext) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(data) + unpadder.finalize()


def encrypt_challenge(own_private: X25519PrivateKey, peer_public: X25519PublicKey, plaintext: str) -> str:
    return b64(aes_ecb_encrypt(shared_secret(own_private, peer_public), plaintext.encode("utf-8")))


def decrypt_challenge(own_private: X25519PrivateKey, peer_public: X25519PublicKey, challenge_b64: str) -> str:
    """Answer an on_subscribe challenge. Raises KeyFormatError if it cannot be decrypted."""
    data = b64decode_strict(challenge_b64, "challenge")
    try:
        return aes_ecb_decrypt(shared_secret(own_private, peer_public), data).decode("utf-8")
    except ValueError as exc:  # bad padding, wrong length, not UTF-8
        raise KeyFormatError("challenge cannot be decrypted with this key") from exc


# --- a subscriber's whole key set -------------------------------------------------------------


@dataclass(frozen=True)
class KeyPair:
    """A subscriber's signing and encryption keys."""

    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def signing_public_key(self) -> str:
        """Base64 of the raw 32-byte Ed25519 public key, as registries publish it."""
        return b64(raw_public(self.signing.public_key()))

    @property
    def encryption_public_key(self) -> str:
        """Base64 DER SubjectPublicKeyInfo of the X25519 public key, as ONDC publishes it."""
        return encryption_public_der_b64(self.encryption.public_key())

    def to_dict(self) -> dict[str, str]:
        seed = raw_private(self.signing)
        return {
            "signing_private_key": b64(seed + raw_public(self.signing.public_key())),
            "signing_public_key": self.signing_public_key,
            "encryption_private_key": encryption_private_der_b64(self.encryption),
            "encryption_public_key": self.encryption_public_key,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> KeyPair:
        if not isinstance(data, dict):
            raise KeyFormatError("a key file must hold a JSON object")
        try:
            signing = load_signing_private_key(data["signing_private_key"])
            encryption = load_encryption_private_key(data["encryption_private_key"])
        except KeyError as exc:
            raise KeyFormatError(f"key file lacks {exc.args[0]!r}") from exc
        pub = data.get("signing_public_key")
        if pub is not None and pub != b64(raw_public(signing.public_key())):
            raise KeyFormatError("key file: signing_public_key does not match signing_private_key")
        return cls(signing, encryption)


def random_token(nbytes: int = 16) -> str:
    return secrets.token_hex(nbytes)
