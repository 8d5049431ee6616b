"""Running the registry as a process: key file, database, uvicorn."""

from __future__ import annotations

import os
from collections.abc import Callable

from mercato.registry.app import RegistrySettings, create_app
from mercato.registry.identity import DEFAULT_REGISTRY_ID, RegistryIdentity, load_or_create

ADMIN_TOKEN_ENV = "MERCATO_REGISTRY_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token


def serve(
    db: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    key_file: str = ".mercato/registry.key.json",
    *,
    registry_id: str = DEFAULT_REGISTRY_ID,
    admin_token: str | None = None,
    callback_timeout_s: float = 5.0,
    echo: Callable[[str], None] = print,
) -> None:
    """Start the registry and block until it is stopped (Ctrl-C).

    Creates the key file (mode 0600) if it is missing, applies migrations, prints the URL and the
    registry's public keys. The admin token comes from ``admin_token`` or the environment variable
    ``MERCATO_REGISTRY_ADMIN_TOKEN``; without one the admin routes are disabled.
    """
    import uvicorn

    identity, created = load_or_create(key_file, registry_id)
    token = admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
    settings = RegistrySettings(
        db_url=db, identity=identity, admin_token=token, callback_timeout_s=callback_timeout_s
    )
    app = create_app(settings)
    describe(identity, host, port, key_file, created, admin=token is not None, echo=echo)
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


def describe(
    identity: RegistryIdentity,
    host: str,
    port: int,
    key_file: str,
    created: bool,
    *,
    admin: bool,
    echo: Callable[[str], None],
) -> None:
    shown_host = f"[{host}]" if ":" in host else host
    echo(f"Mercato registry {identity.registry_id!r} at http://{shown_host}:{port}")
    echo(f"  key file           {key_file}{' (created)' if created else ''}")
    echo(f"  key id             {identity.key_id}")
    echo(f"  signing public key {identity.keys.signing_public_key}")
    echo(f"  encr public key    {identity.keys.encryption_public_key}")
    echo(f"  public keys as JSON: GET http://{shown_host}:{port}/keys")
    echo(f"  admin routes       {'enabled' if admin else 'disabled (no admin token)'}")
