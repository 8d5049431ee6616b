"""`mercato buyer ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The buyer role.", no_args_is_help=True)

TOKEN_ENV = "MERCATO_BUYER_API_TOKEN"  # noqa: S105 - the variable's name, not a token


def token_file_for(key_file: str) -> str:
    return key_file.removesuffix(".json") + ".api-token"


def serve(
    db: str,
    registry: str,
    gateway: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8300,
    key_file: str = ".mercato/buyer.key.json",
    subscriber_id: str = "buyer.mercato.local",
    api_token: str | None = None,
    public_url: str | None = None,
    domain: str = "ONDC:RET10",
    city: str = "std:080",
) -> None:
    """Start the buyer node and block until stopped (importable: ``mercato up`` calls it).

    Without ``api_token`` the local API token is read from (or created in) the file next to the key
    file, ``<key file without .json>.api-token`` (mode 0600); its path is printed, never the token."""
    import asyncio

    from mercato.buyer.identity import load_or_create_token
    from mercato.buyer.server import Settings, run

    shown = ""
    if not api_token:
        path = token_file_for(key_file)
        api_token, created = load_or_create_token(path)
        shown = f"  API token file  {path}{' (created)' if created else ''}"
    settings = Settings(
        db=db,
        host=host,
        port=port,
        registry=registry,
        gateway=gateway,
        key_file=key_file,
        subscriber_id=subscriber_id,
        api_token=api_token,
        public_url=public_url,
        domain=domain,
        city=city,
    )

    def echo(line: str) -> None:
        typer.echo(line)
        if shown and line.lstrip().startswith("local API"):
            typer.echo(shown)

    from mercato.buyer.onboarding import OnboardingFailed
    from mercato.protocol.keys import KeyFormatError

    try:
        asyncio.run(run(settings, echo=echo))
    except KeyboardInterrupt:
        pass
    except (OnboardingFailed, KeyFormatError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("serve")
def serve_command(
    db: str = typer.Option(
        "sqlite:///.mercato/buyer.db", help="Database URL: sqlite:///FILE or postgresql://..."
    ),
    port: int = typer.Option(8300, help="TCP port."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    registry: str = typer.Option(..., help="The registry's URL, e.g. http://127.0.0.1:8000."),
    gateway: str = typer.Option("", help="The gateway's URL (search goes there); empty: no search."),
    key_file: str = typer.Option(
        ".mercato/buyer.key.json", help="The node's key file; created (mode 0600) if missing."
    ),
    subscriber_id: str = typer.Option("buyer.mercato.local", help="This node's subscriber id."),
    api_token: str = typer.Option(
        "",
        envvar=TOKEN_ENV,
        show_default=False,
        show_envvar=True,
        help="Bearer token of the local API (default: kept in a file next to the key file).",
    ),
    public_url: str = typer.Option("", help="The URL sellers call back (default http://HOST:PORT)."),
    domain: str = typer.Option("ONDC:RET10", help="Beckn domain of the searches and orders."),
    city: str = typer.Option("std:080", help="Default city code of searches."),
) -> None:
    """Run the buyer node (BAP): Beckn callbacks, the buyer's orders, and the local API for the SDK."""
    serve(
        db=db,
        registry=registry,
        gateway=gateway or None,
        host=host,
        port=port,
        key_file=key_file,
        subscriber_id=subscriber_id,
        api_token=api_token or None,
        public_url=public_url or None,
        domain=domain,
        city=city,
    )
