"""`mercato seller ...`: init a node's config and keys, serve it, publish its catalog."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The seller role.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command("init")
def init_command(
    dir: Path = typer.Option(Path("."), "--dir", help="Where to write seller.toml and seller.key.json."),  # noqa: A002
    subscriber_id: str = typer.Option("seller.localhost", help="This node's subscriber id on the network."),
    port: int = typer.Option(8100, help="TCP port the node listens on."),
    registry_url: str = typer.Option("http://127.0.0.1:8000", help="The registry to subscribe with."),
    database_url: str = typer.Option(
        "sqlite:///seller.db", help="SQLite file (relative to --dir) or PostgreSQL."
    ),
    gateway: list[str] = typer.Option(
        [], "--gateway", help="A gateway URL to publish the catalog to (repeat)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files."),
) -> None:
    """Write a starter seller.toml, a key file (mode 0600) and a random admin token."""
    from mercato.seller.config import ConfigError, write_starter

    try:
        cfg, key = write_starter(
            dir,
            subscriber_id=subscriber_id,
            port=port,
            registry_url=registry_url,
            database_url=database_url,
            gateway_urls=tuple(gateway),
            force=force,
        )
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"wrote {cfg} and {key} (mode 0600)")
    typer.echo("the admin token is in [admin] token of the config; keep the file private")
    typer.echo(f"next: mercato seller serve --config {cfg}")


def serve(
    config_path: str | Path,
    *,
    workers: int = 1,
    worker_fd: int | None = None,
    parent_pid: int | None = None,
) -> int:
    """Run the seller node of ``config_path`` until stopped (blocking). Used by `mercato up` too.

    ``workers`` > 1: migrate and prepare the database here, bind the port once and supervise that
    many worker processes accepting on it; they share the database, including the replay guard (on
    SQLite they take turns writing through a lock file beside the database).
    ``worker_fd``/``parent_pid``: run as one such worker (internal). Returns the exit status."""
    import logging
    import os
    import sys

    from mercato.seller.config import ConfigError, load
    from mercato.seller.node import SellerNode
    from mercato.seller.store import open_store
    from mercato.transport.http import listen_socket, run_workers
    from mercato.transport.http import serve as run
    from mercato.transport.replay import DatabaseReplayGuard, create_table

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load(config_path)
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if worker_fd is not None:  # one worker of a pool: the supervisor migrated the database
        store = open_store(config.database_url, migrate=False)
        guard = DatabaseReplayGuard(store.engine, lock=store.locked, run=store.run)
        node = SellerNode(config, store=store, replay_guard=guard)
        run(node.asgi, host=config.host, port=config.port, lifespan="on", fd=worker_fd, parent_pid=parent_pid)
        return 0
    where = f"http://{config.host}:{config.port} (public {config.public_url})"
    if workers == 1:
        node = SellerNode(config)
        print(f"seller {config.subscriber_id} on {where}", flush=True)
        run(node.asgi, host=config.host, port=config.port, lifespan="on")
        return 0
    store = open_store(config.database_url)
    create_table(store.engine)
    SellerNode(config, store=store).ensure_store()  # once, before the workers race to do it
    store.engine.dispose()
    sock = listen_socket(config.host, config.port)
    me = [sys.executable, "-c", "from mercato.cli import main; main()", "seller", "serve"]
    me += ["--config", str(Path(config_path).resolve())]
    me += ["--worker-fd", str(sock.fileno()), "--parent-pid", str(os.getpid())]
    print(f"seller {config.subscriber_id} on {where}, {workers} worker processes", flush=True)
    return run_workers([me] * workers, sock)


@app.command("serve")
def serve_command(
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
    workers: int = typer.Option(
        1, "--workers", help="Worker processes behind the one port (about one per free core)."
    ),
    worker_fd: int | None = typer.Option(None, "--worker-fd", hidden=True),
    parent_pid: int | None = typer.Option(None, "--parent-pid", hidden=True),
) -> None:
    """Run the node: Beckn endpoints, admin API, outbox delivery, registry onboarding."""
    from mercato.protocol.keys import KeyFormatError
    from mercato.seller.config import ConfigError

    try:
        status = serve(config, workers=workers, worker_fd=worker_fd, parent_pid=parent_pid)
    except (ConfigError, KeyFormatError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:  # the port is taken, ...
        raise _fail(f"cannot serve: {exc}") from None
    if status:
        raise typer.Exit(status)


@app.command("set-password")
def set_password_command(
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
    user: str = typer.Option("admin", "--user", help="Console user name (letters, digits, '_', '-')."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin (for scripts)."
    ),
) -> None:
    """Set a merchant console user's password (stored as a salted scrypt hash in [console.users])."""
    import sys

    from mercato.seller.config import ConfigError, set_console_password
    from mercato.seller.console.passwords import PasswordError, check_new_password, hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        check_new_password(password)
        set_console_password(config, user, hash_password(password))
    except (PasswordError, ConfigError) as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"console password of {user!r} set in {config} (a running node uses it at once)")


@app.command("publish")
def publish_command(
    config: Path = typer.Option(Path("seller.toml"), "--config", help="The node's seller.toml."),
) -> None:
    """Push the whole catalog (a signed snapshot) to every gateway in [gateway] urls."""
    from mercato.seller.config import ConfigError, load
    from mercato.seller.publish import PublishError, publish

    try:
        cfg = load(config)
        results = publish(cfg)
    except (ConfigError, PublishError) as exc:
        raise _fail(str(exc)) from None
    if not results:
        raise _fail("no gateway configured: add urls to [gateway] in the config")
    failed = False
    for url, status, text in results:
        typer.echo(f"{url}: HTTP {status} {text[:200]}")
        failed = failed or status != 200
    raise typer.Exit(1 if failed else 0)
