"""The console's plumbing: who is logged in, CSRF checks, rendering with the shared web layout.

Every page goes through :meth:`Console.session_of`: no valid session sends the browser to the login
page with ``next`` set to where it was going, so it comes back there after logging in. Every POST
form carries ``csrf_token``; a missing or wrong one answers 403 and changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from mercato.seller.config import ConfigError, ConsoleConfig, SellerConfig, load
from mercato.seller.handlers import Env
from mercato.seller.store import Store
from mercato.web.render import Renderer, environment

from .sessions import Session, Sessions

log = logging.getLogger("mercato.seller.console")
PREFIX = "/console"
SESSION_COOKIE = "mercato_console"
LOGIN_COOKIE = "mercato_console_login"
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "console" / "templates"
STATIC = Path(__file__).resolve().parents[2] / "web" / "console" / "static"
NAV = (
    ("dashboard", "/console/", "Dashboard"),
    ("orders", "/console/orders", "Orders"),
    ("catalog", "/console/catalog", "Catalog"),
    ("import", "/console/import", "Import"),
    ("customers", "/console/customers", "Customers"),
    ("pools", "/console/pools", "Pools"),
    ("supply", "/console/supply", "Supply"),
)
MAX_FAILURES = 10  # failed logins per client per window before answering 429
FAILURE_WINDOW_S = 300


class ConsoleHost(Protocol):
    """What the console needs from the node (the same things the admin API needs)."""

    config: SellerConfig
    store: Store
    env: Env

    def wake(self) -> None: ...

    def catalog_changed(self) -> None: ...


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRejected(Exception):
    pass


@dataclass
class Ctx:
    """One request's logged-in merchant: the session, its CSRF token, a refreshed cookie to set."""

    session: Session
    csrf: str
    cookie: str | None = None

    @property
    def user(self) -> str:
        return self.session.user


def safe_next(url: str | None) -> str:
    """Only a path inside the console may be a redirect target (no other site, no scheme)."""
    if not url:
        return PREFIX + "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX) or url.startswith("//"):
        return PREFIX + "/"
    if "\\" in url or any(ord(c) < 32 for c in url):
        return PREFIX + "/"
    return url


class Console:
    def __init__(self, host: ConsoleHost) -> None:
        self.host = host
        con = host.config.console
        secret = con.session_secret.encode() if con.session_secret else b""
        if not secret:  # derived from the admin token: stable across restarts and workers, still secret
            secret = hmac.new(host.config.admin_token.encode(), b"mercato console", hashlib.sha256).digest()
        self.secret = secret
        self.sessions = Sessions(secret, idle_s=con.idle_s, lifetime_s=con.lifetime_s)
        self.secure = con.secure_cookie
        self.renderer = Renderer(
            environment(
                TEMPLATES, globals_={"console_css": asset("console.css"), "console_js": asset("console.js")}
            ),
            secret,
            f"{host.config.store.name} · console",
            PREFIX + "/",
        )
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self._users = con
        self._users_stamp: int | None = None
        if host.config.path is not None:
            with contextlib.suppress(OSError):
                self._users_stamp = host.config.path.stat().st_mtime_ns

    # -- users ------------------------------------------------------------------------------------
    def users(self) -> ConsoleConfig:
        """The console users as the config file says now: ``mercato seller set-password`` takes effect
        on a running node (the file is re-read when it changes; an unreadable file keeps the last)."""
        path = self.host.config.path
        if path is None:
            return self._users
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return self._users
        with self._lock:
            if stamp != self._users_stamp:
                self._users_stamp = stamp
                try:
                    self._users = load(path).console
                except ConfigError as exc:
                    log.warning("console users not re-read: %s", exc)
            return self._users

    def stamp_of(self, user: str) -> str | None:
        return self.users().password_hash(user)

    @property
    def has_users(self) -> bool:
        return bool(self.users().users)

    def too_many_failures(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < FAILURE_WINDOW_S]
            self._failures[client] = recent
            return len(recent) >= MAX_FAILURES

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(time.monotonic())
            if len(self._failures) > 10_000:  # bounded memory under a spray of clients
                self._failures.clear()

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    # -- sessions ---------------------------------------------------------------------------------
    def session_of(self, request: Request) -> Ctx:
        now = int(time.time())
        s = self.sessions.read(request.cookies.get(SESSION_COOKIE), self.stamp_of, now)
        if s is None:
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            else:
                ref = request.headers.get("referer", "")
                target = urlsplit(ref).path if urlsplit(ref).netloc == request.url.netloc else ""
            raise LoginRequired(safe_next(target))
        stamp = self.stamp_of(s.user) or ""
        return Ctx(s, self.sessions.csrf(s.nonce), self.sessions.touch(s, stamp, now))

    def set_session_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=self.sessions.lifetime_s,
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def check_csrf(self, ctx: Ctx, form: FormData) -> None:
        token = form.get("csrf_token")
        if not self.sessions.check_csrf(ctx.session.nonce, token if isinstance(token, str) else None):
            raise CsrfRejected()

    # -- responses --------------------------------------------------------------------------------
    def nav(self, current: str) -> list[dict[str, Any]]:
        return [{"href": href, "label": label, "current": key == current} for key, href, label in NAV]

    def page(
        self,
        request: Request,
        ctx: Ctx | None,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        current: str = "",
        status: int = 200,
    ) -> Response:
        full = {
            "nav_items": self.nav(current) if ctx else [],
            "csrf_token": ctx.csrf if ctx else "",
            "user": ctx.user if ctx else None,
            "currency": self.host.config.store.currency,
            **(context or {}),
        }
        response = self.renderer.page(request, template, full, status=status)
        response.headers["Cache-Control"] = "no-store"  # shop data: not kept by the browser or proxies
        if ctx is not None and ctx.cookie:
            self.set_session_cookie(response, ctx.cookie)
        return response

    def redirect(self, ctx: Ctx | None, url: str, messages: Iterable[tuple[str, str]] = ()) -> Response:
        response = self.renderer.redirect(url, messages)
        if ctx is not None and ctx.cookie:
            self.set_session_cookie(response, ctx.cookie)
        return response


def asset(name: str) -> str:
    """``/console/static/<name>?v=<content hash>``: cacheable, and still fresh after an upgrade."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"{PREFIX}/static/{name}?v={digest}"


def fields(form: FormData) -> dict[str, str]:
    """The text fields of a submitted form (files left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}


def upload_of(form: FormData, name: str) -> UploadFile | None:
    v = form.get(name)
    return v if isinstance(v, UploadFile) else None


def upload_name(upload: UploadFile | None) -> str:
    """The uploaded file's own name (no folders), shortened for messages when it is very long."""
    name = Path(upload.filename or "").name if upload is not None else ""
    return name if len(name) <= 120 else f"{name[:60]}…{name[-40:]}"


def safe_filename(name: str, default: str = "upload") -> str:
    """A name fit for a private temporary folder (the user's own name is kept for messages)."""
    path = Path(name)
    if path.name in ("", ".", ".."):
        return default
    suffix = re.sub(r"[^A-Za-z0-9.]", "", path.suffix)[:10]
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", path.stem)[:80]
    return f"{stem}{suffix}" if stem else default


def login_url(next_url: str) -> str:
    return f"{PREFIX}/login?next={quote(next_url, safe='/')}"
