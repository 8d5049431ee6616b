"""`mercato keys new|sign|verify`: make keys, sign a body, and find out why a signature fails.

Exit codes: 0 success (``verify``: the header is valid), 1 ``verify`` found the header invalid,
2 bad input (a missing or unreadable file, a bad key, a bad option value).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

app = typer.Typer(
    help="Make key files, sign a body, verify a signature header (Ed25519 signing, X25519 encryption).",
    no_args_is_help=True,
)

_HEADER_NAMES = ("authorization:", "x-gateway-authorization:", "proxy-authorization:")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _print_json(obj: dict[str, Any]) -> None:
    import orjson

    typer.echo(orjson.dumps(obj).decode("utf-8"))


def _read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        _fail(f"{what} file {str(path)!r} does not exist")
    except IsADirectoryError:
        _fail(f"{what} file {str(path)!r} is a directory")
    except OSError as exc:
        _fail(f"cannot read {what} file {str(path)!r}: {exc.strerror or exc}")


def _load_signing_key(path: Path) -> Ed25519PrivateKey:
    """A key file from ``keys new``, or a file holding just a base64 Ed25519 private key."""
    import orjson

    from mercato.protocol.keys import KeyFormatError, KeyPair, load_signing_private_key

    raw = _read_file(path, "key")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        _fail(f"key file {str(path)!r} is not text (expected JSON or a base64 private key)")
    if not text:
        _fail(f"key file {str(path)!r} is empty")
    try:
        if text.startswith("{"):
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                _fail(f"key file {str(path)!r} is not valid JSON: {exc}")
            if isinstance(data, dict) and "encryption_private_key" not in data:
                if "signing_private_key" not in data:
                    _fail(f"key file {str(path)!r} lacks 'signing_private_key'")
                return load_signing_private_key(data["signing_private_key"])
            return KeyPair.from_dict(data).signing
        return load_signing_private_key(text)
    except KeyFormatError as exc:
        _fail(f"key file {str(path)!r}: {exc}")


def _write_key_file(out: Path, content: bytes, force: bool) -> None:
    """Write with mode 0600 from the first byte; never clobber unless ``force`` (then atomically)."""
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        _fail(f"cannot write key file {str(out)!r}: folder {str(parent)!r} does not exist")
    if out.is_dir():
        _fail(f"cannot write key file {str(out)!r}: it is a directory")
    try:
        if not force:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            return
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{out.name}.", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except FileExistsError:
        _fail(f"key file {str(out)!r} already exists: refusing to overwrite it (use --force)")
    except OSError as exc:
        _fail(f"cannot write key file {str(out)!r}: {exc.strerror or exc}")


@app.command("new")
def new(
    out: Path = typer.Option(..., "--out", help="where to write the key file (JSON, mode 0600)"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object with the public keys"),
    force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
) -> None:
    """Make a new signing (Ed25519) and encryption (X25519) key pair and print the public keys."""
    import orjson

    from mercato.protocol.keys import KeyPair

    kp = KeyPair.generate()
    _write_key_file(out, orjson.dumps(kp.to_dict(), option=orjson.OPT_INDENT_2) + b"\n", force)
    public = {
        "signing_public_key": kp.signing_public_key,
        "encryption_public_key": kp.encryption_public_key,
    }
    if json_out:
        _print_json(public)
        return
    typer.echo(f"wrote {out} (mode 0600: it holds private keys, keep it secret)")
    for name, value in public.items():
        typer.echo(f"{name}: {value}")


@app.command("sign")
def sign(
    key: Path = typer.Option(..., "--key", help="key file from 'keys new', or a base64 private key file"),
    subscriber_id: str = typer.Option(
        ..., "--subscriber-id", help="your subscriber id, e.g. seller.example.org"
    ),
    key_id: str = typer.Option(..., "--key-id", help="the unique_key_id the registry knows your key by"),
    body: Path = typer.Option(..., "--body", help="file with the exact body bytes to sign"),
    created: int | None = typer.Option(None, "--created", help="unix time; default now"),
    expires: int | None = typer.Option(None, "--expires", help="unix time; default created + 3600"),
    json_out: bool = typer.Option(False, "--json", help="print header, digest and signing string as JSON"),
) -> None:
    """Print the Authorization header (Signature keyId=...) for exactly the bytes of the body file."""
    from mercato.protocol.signing import digest_header, parse_header, signing_string
    from mercato.protocol.signing import sign as sign_body

    signing_key = _load_signing_key(key)
    data = _read_file(body, "body")
    try:
        header = sign_body(data, signing_key, subscriber_id, key_id, created=created, expires=expires)
    except ValueError as exc:
        _fail(str(exc))
    if not json_out:
        typer.echo(header)
        return
    h = parse_header(header)
    _print_json(
        {
            "authorization": header,
            "digest": digest_header(data),
            "signing_string": signing_string(h.created, h.expires, digest_header(data)[len("BLAKE-512=") :]),
            "created": h.created,
            "expires": h.expires,
        }
    )


@app.command("verify")
def verify(
    header: str = typer.Option(
        ..., "--header", help="the Signature header value (an 'Authorization:' prefix is ok)"
    ),
    body: Path = typer.Option(..., "--body", help="file with the exact body bytes that arrived"),
    public_key: str = typer.Option(..., "--public-key", help="sender's base64 Ed25519 public key (registry)"),
    now: float | None = typer.Option(None, "--now", help="check the time window at this unix time"),
    digest_value: str | None = typer.Option(None, "--digest", help="the request's Digest header value"),
    skew: float = typer.Option(5.0, "--skew", help="seconds that 'created' may lie in the future"),
    subscriber_id: str | None = typer.Option(None, "--subscriber-id", help="expect this subscriber id"),
    key_id: str | None = typer.Option(None, "--key-id", help="expect this unique_key_id"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object with the verdict"),
) -> None:
    """Check a signature header against a body file and a public key; exit 0 if valid, 1 if not."""
    from mercato.protocol.keys import KeyFormatError, load_signing_public_key
    from mercato.protocol.signing import SignatureError, digest, parse_header, signing_string
    from mercato.protocol.signing import verify as verify_header

    if skew < 0:
        _fail("--skew must be zero or more seconds")
    try:
        load_signing_public_key(public_key.strip())
    except KeyFormatError as exc:
        _fail(f"--public-key: {exc}")
    data = _read_file(body, "body")
    value = header.strip()
    if value.lower().startswith(_HEADER_NAMES):
        value = value.split(":", 1)[1].strip()
    body_digest = digest(data)
    result: dict[str, Any] = {
        "valid": False,
        "reason": None,
        "message": "",
        "digest": f"BLAKE-512={body_digest}",
    }
    try:
        h = verify_header(
            value,
            data,
            public_key.strip(),
            now=now,
            clock_skew_s=skew,
            expected_subscriber_id=subscriber_id,
            expected_unique_key_id=key_id,
            body_digest_header=digest_value,
        )
    except SignatureError as exc:
        result.update(reason=exc.reason, message=str(exc))
        try:
            parsed = parse_header(value)
        except SignatureError:
            parsed = None
        if parsed is not None:
            result.update(
                subscriber_id=parsed.subscriber_id,
                unique_key_id=parsed.unique_key_id,
                created=parsed.created,
                expires=parsed.expires,
                signing_string=signing_string(parsed.created, parsed.expires, body_digest),
            )
        typer.echo(f"invalid ({exc.reason.replace('_', ' ')}): {exc}", err=True)
        if exc.reason == "bad_signature" and parsed is not None:
            typer.echo(
                "the signing string checked (compare it with the sender's):\n" + result["signing_string"],
                err=True,
            )
        if json_out:
            _print_json(result)
        raise typer.Exit(1) from None
    result.update(
        valid=True,
        message="valid",
        subscriber_id=h.subscriber_id,
        unique_key_id=h.unique_key_id,
        created=h.created,
        expires=h.expires,
        signing_string=signing_string(h.created, h.expires, body_digest),
    )
    if json_out:
        _print_json(result)
    else:
        typer.echo(
            f"valid: signed by {h.subscriber_id} with key {h.unique_key_id}, "
            f"created {h.created}, expires {h.expires}"
        )
