"""`mercato catalog import FILE --config seller.toml`: load a catalog into a seller node's database."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="A seller node's catalog.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., help="Catalog file: Mercato CSV/JSON or a Shopify product export."),
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
    fmt: str = typer.Option("auto", "--format", help="auto, csv, json or shopify."),
    provider: str = typer.Option("", help="Provider id (default: [store] provider_id of the config)."),
    location: str = typer.Option("", help="Location holding the stock (default: [store] location_id)."),
) -> None:
    """Import every item of FILE, or nothing: an error names the file, line and column (exit 2)."""
    from mercato.seller.config import ConfigError, load
    from mercato.seller.importers import CatalogImportError, import_file
    from mercato.seller.store import open_store

    try:
        cfg = load(config)
        store = open_store(cfg.database_url)
        summary = import_file(
            store,
            file,
            provider_id=provider or cfg.store.provider_id,
            location_id=location or cfg.store.location_id,
            fmt=fmt,
        )
    except (ConfigError, CatalogImportError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"imported {summary.items} items, {summary.categories} categories, {summary.stock_rows} stock "
        f"levels from {file}"
        + (f" ({summary.skipped} skipped: draft or archived)" if summary.skipped else "")
    )
