"""The seller node's configuration: ``seller.toml``.

```toml
[node]
subscriber_id = "shop.example.org"      # this node's id on the network
unique_key_id = "6a1f..."               # names the key pair in signatures (keyId="sub|ukId|ed25519")
keys_file = "seller.key.json"           # signing + encryption keys (mode 0600); relative to this file
public_url = "https://shop.example.org" # where buyer apps and the registry reach this node
host = "127.0.0.1"
port = 8100
database_url = "sqlite:///seller.db"    # or postgresql://user@host:5432/shop
domain = "ONDC:RET10"
cities = ["std:080"]
country = "IND"
onboard = true                          # subscribe with the registry at start

[registry]
url = "http://127.0.0.1:8000"
public_key = ""                         # pin the registry's signing key; empty: trust GET /keys

[gateway]
urls = []                               # gateways to publish the catalog to

[admin]
token = "..."                           # bearer token of /admin (keep it secret)

[store]                                 # the provider (shop) and its first location, made at start
provider_id = "shop"
name = "My shop"
currency = "INR"
location_id = "shop-main"
street = "1 Main Road"
city = "std:080"
area_code = "560001"
gps = "12.971599,77.594563"
radius_m = 10000
delivery_charge = 4000                  # minor units
free_delivery_from = 0                  # 0: never free

[support]
phone = "+91 80 1234 5678"
email = "help@shop.example.org"

[console]                               # the merchant console at /console
session_secret = "..."                  # signs session cookies; empty: derived from admin.token
idle_minutes = 120                      # a session ends after this long without a request
lifetime_hours = 12                     # ... and this long after login at the latest
secure_cookie = false                   # true when the node is reached over https

[console.users]                         # user = scrypt hash; set with `mercato seller set-password`
admin = "scrypt$n=16384,r=8,p=1$...$..."
```
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from mercato.protocol.keys import KeyFormatError, KeyPair


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class StoreConfig:
    provider_id: str = "shop"
    name: str = "My shop"
    currency: str = "INR"
    location_id: str = "shop-main"
    street: str = "1 Main Road"
    city: str = "std:080"
    area_code: str = "560001"
    gps: str = "12.971599,77.594563"
    radius_m: int | None = 10_000
    delivery_charge: int = 0
    free_delivery_from: int = 0


@dataclass(frozen=True)
class SupportConfig:
    phone: str | None = None
    email: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ConsoleConfig:
    users: tuple[tuple[str, str], ...] = ()  # (user name, password hash)
    session_secret: str = ""
    idle_s: int = 2 * 3600
    lifetime_s: int = 12 * 3600
    secure_cookie: bool = False

    def password_hash(self, user: str) -> str | None:
        return dict(self.users).get(user)

    def __repr__(self) -> str:  # never show hashes or the secret
        return f"ConsoleConfig(users={[u for u, _ in self.users]!r})"


USER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class SellerConfig:
    subscriber_id: str
    unique_key_id: str
    keys_file: Path
    public_url: str
    registry_url: str
    database_url: str
    admin_token: str
    host: str = "127.0.0.1"
    port: int = 8100
    domain: str = "ONDC:RET10"
    cities: tuple[str, ...] = ("std:080",)
    country: str = "IND"
    onboard: bool = True
    registry_public_key: str | None = None
    gateway_urls: tuple[str, ...] = ()
    store: StoreConfig = field(default_factory=StoreConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    path: Path | None = None
    console: ConsoleConfig = field(default_factory=ConsoleConfig)

    def load_keys(self) -> KeyPair:
        try:
            return KeyPair.from_dict(orjson.loads(self.keys_file.read_bytes()))
        except FileNotFoundError:
            raise ConfigError(f"{self.keys_file}: key file not found (node.keys_file)") from None
        except (orjson.JSONDecodeError, KeyFormatError) as exc:
            raise ConfigError(f"{self.keys_file}: not a key file: {exc}") from None

    def __repr__(self) -> str:  # never show the admin token
        return f"SellerConfig(subscriber_id={self.subscriber_id!r}, public_url={self.public_url!r})"


def _get(section: dict[str, Any], key: str, kind: type, where: str, default: Any = ...) -> Any:
    if key not in section:
        if default is ...:
            raise ConfigError(f"{where}.{key} is required")
        return default
    value = section[key]
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(f"{where}.{key} must be a {kind.__name__}, got {value!r}")
    return value


def load(path: str | Path) -> SellerConfig:
    """Read ``seller.toml``; raises :class:`ConfigError` naming the file and the field."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file (create one with `mercato seller init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return _parse(data, p)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None


def _parse(data: dict[str, Any], p: Path) -> SellerConfig:
    node = data.get("node", {})
    reg = data.get("registry", {})
    admin = data.get("admin", {})
    gw = data.get("gateway", {})
    st = data.get("store", {})
    sup = data.get("support", {})
    base = p.parent
    keys_file = Path(_get(node, "keys_file", str, "node"))
    cities = _get(node, "cities", list, "node", ["std:080"])
    urls = _get(gw, "urls", list, "gateway", [])
    token = os.environ.get("MERCATO_SELLER_ADMIN_TOKEN") or _get(admin, "token", str, "admin")
    if len(token) < 16:
        raise ConfigError("admin.token must be at least 16 characters")
    radius = _get(st, "radius_m", int, "store", 10_000)
    store = StoreConfig(
        provider_id=_get(st, "provider_id", str, "store", "shop"),
        name=_get(st, "name", str, "store", "My shop"),
        currency=_get(st, "currency", str, "store", "INR"),
        location_id=_get(st, "location_id", str, "store", "shop-main"),
        street=_get(st, "street", str, "store", "1 Main Road"),
        city=_get(st, "city", str, "store", "std:080"),
        area_code=_get(st, "area_code", str, "store", "560001"),
        gps=_get(st, "gps", str, "store", "12.971599,77.594563"),
        radius_m=radius or None,
        delivery_charge=_get(st, "delivery_charge", int, "store", 0),
        free_delivery_from=_get(st, "free_delivery_from", int, "store", 0),
    )
    support = SupportConfig(*(_get(sup, k, str, "support", None) for k in ("phone", "email", "url")))
    db = _get(node, "database_url", str, "node")
    if db.startswith("sqlite:///") and not db.startswith("sqlite:////") and ":memory:" not in db:
        db = f"sqlite:///{(base / db.removeprefix('sqlite:///')).resolve()}"
    return SellerConfig(
        subscriber_id=_get(node, "subscriber_id", str, "node"),
        unique_key_id=_get(node, "unique_key_id", str, "node"),
        keys_file=keys_file if keys_file.is_absolute() else (base / keys_file).resolve(),
        public_url=_get(node, "public_url", str, "node").rstrip("/"),
        registry_url=_get(reg, "url", str, "registry").rstrip("/"),
        registry_public_key=_get(reg, "public_key", str, "registry", "") or None,
        database_url=db,
        admin_token=token,
        host=_get(node, "host", str, "node", "127.0.0.1"),
        port=_get(node, "port", int, "node", 8100),
        domain=_get(node, "domain", str, "node", "ONDC:RET10"),
        cities=tuple(str(c) for c in cities),
        country=_get(node, "country", str, "node", "IND"),
        onboard=_get(node, "onboard", bool, "node", True),
        gateway_urls=tuple(str(u).rstrip("/") for u in urls),
        store=store,
        support=support,
        path=p,
        console=_console(data.get("console", {})),
    )


def _console(con: dict[str, Any]) -> ConsoleConfig:
    users = _get(con, "users", dict, "console", {})
    for name, h in users.items():
        if not USER_NAME.match(name):
            raise ConfigError(f"console.users: user name {name!r} may use only letters, digits, '_' and '-'")
        if not isinstance(h, str):
            raise ConfigError(f"console.users.{name} must be a password hash string")
    secret = _get(con, "session_secret", str, "console", "")
    if secret and len(secret) < 16:
        raise ConfigError("console.session_secret must be at least 16 characters (or empty)")
    idle = _get(con, "idle_minutes", int, "console", 120)
    life = _get(con, "lifetime_hours", int, "console", 12)
    if idle < 1 or life < 1:
        raise ConfigError("console.idle_minutes and console.lifetime_hours must be at least 1")
    return ConsoleConfig(
        users=tuple(sorted(users.items())),
        session_secret=secret,
        idle_s=idle * 60,
        lifetime_s=life * 3600,
        secure_cookie=_get(con, "secure_cookie", bool, "console", False),
    )


def set_console_password(path: str | Path, user: str, password_hash: str) -> None:
    """Write ``user = "<hash>"`` into the ``[console.users]`` table of the config file (replacing the
    user's old hash, adding the table if missing); the rest of the file is kept as it is."""
    p = Path(path)
    if not USER_NAME.match(user):
        raise ConfigError(f"user name {user!r} may use only letters, digits, '_' and '-' (at most 64)")
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file (create one with `mercato seller init`)") from None
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    con = before.get("console", {})
    if not isinstance(con, dict) or not isinstance(con.get("users", {}), dict):
        raise ConfigError(f"{p}: [console] users must be a table")
    entry = f'{user} = "{password_hash}"'
    lines = text.splitlines()
    header = next((i for i, ln in enumerate(lines) if ln.strip() == "[console.users]"), None)
    if header is None:
        if "users" in con:
            raise ConfigError(f"{p}: write console users as a [console.users] table to use set-password")
        lines += ["", "[console.users]", entry]
    else:
        end = next(
            (i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
        )
        key = re.compile(rf'^\s*("?){re.escape(user)}\1\s*=')
        at = next((i for i in range(header + 1, end) if key.match(lines[i])), None)
        if at is None:
            lines.insert(header + 1, entry)
        else:
            lines[at] = entry
    new = "\n".join(lines) + "\n"
    after = tomllib.loads(new)
    if after["console"]["users"].get(user) != password_hash:  # pragma: no cover - defensive
        raise ConfigError(f"{p}: could not write the password hash")
    tmp = p.with_name(p.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(new)
    os.replace(tmp, p)


def write_starter(
    directory: str | Path,
    *,
    subscriber_id: str = "seller.localhost",
    port: int = 8100,
    registry_url: str = "http://127.0.0.1:8000",
    database_url: str = "sqlite:///seller.db",
    gateway_urls: tuple[str, ...] = (),
    force: bool = False,
) -> tuple[Path, Path]:
    """Write ``seller.toml`` and ``seller.key.json`` (mode 0600) with fresh keys and a random admin
    token. Refuses to overwrite unless ``force``. Returns (config path, key path)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cfg, key = d / "seller.toml", d / "seller.key.json"
    for f in (cfg, key):
        if f.exists() and not force:
            raise ConfigError(f"{f} exists; use --force to overwrite")
    keys = KeyPair.generate()
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(orjson.dumps(keys.to_dict(), option=orjson.OPT_INDENT_2))
    os.chmod(key, 0o600)
    gws = ", ".join(f'"{u}"' for u in gateway_urls)
    text = f"""# Mercato seller node. Keep this file private: it holds the admin token.
[node]
subscriber_id = "{subscriber_id}"
unique_key_id = "{uuid.uuid4()}"
keys_file = "seller.key.json"
public_url = "http://127.0.0.1:{port}"
host = "127.0.0.1"
port = {port}
database_url = "{database_url}"
domain = "ONDC:RET10"
cities = ["std:080"]
country = "IND"
onboard = true

[registry]
url = "{registry_url}"
public_key = ""  # pin the registry's signing key (from GET /keys); empty: trust on first use

[gateway]
urls = [{gws}]

[admin]
token = "{secrets.token_urlsafe(32)}"

[store]
provider_id = "shop"
name = "My shop"
currency = "INR"
location_id = "shop-main"
street = "1 Main Road"
city = "std:080"
area_code = "560001"
gps = "12.971599,77.594563"
radius_m = 10000
delivery_charge = 4000
free_delivery_from = 50000

[support]
email = "help@example.org"

[console]
session_secret = "{secrets.token_urlsafe(32)}"
# add a console user with: mercato seller set-password --config <this file>
"""
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    return cfg, key
