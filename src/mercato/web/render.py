"""Rendering pages for the storefront (buyer node) and the merchant console (seller nodes).

One Jinja2 environment per role (:func:`environment`), looking first in the role's own template
folders and then in ``mercato/web/templates`` (``base.html`` and the ``forms.html`` macros);
:func:`static_mount` serves ``mercato/web/static`` under ``/static`` (CSS, JS, icon: everything local).
:class:`Renderer` turns a template and a context into an HTML response with the security headers
and one-shot flash messages carried in a signed cookie across a POST → redirect → GET.
This module imports no role.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from mercato.web.security import SECURITY_HEADERS, sign, unsign

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PATH = "/static"
FLASH_COOKIE = "mercato_flash"
FLASH_KINDS = ("ok", "info", "warn", "error")

_EXPONENTS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}
_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def format_money(minor: int | None, currency: str | None = "INR") -> str:
    """``12050, "INR"`` -> ``"₹120.50"``; integer arithmetic only, thousands separated."""
    if minor is None or isinstance(minor, bool) or not isinstance(minor, int):
        return "—"
    code = (currency or "").upper()
    exp = _EXPONENTS.get(code, 2)
    whole, frac = divmod(abs(minor), 10**exp)
    text = f"{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
    symbol = _SYMBOLS.get(code)
    sign_ = "-" if minor < 0 else ""
    return f"{sign_}{symbol}{text}" if symbol else f"{sign_}{text} {code}".rstrip()


def _parse_when(value: Any) -> datetime | date | None:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None


def format_date(value: Any) -> str:
    """An RFC 3339 time or a date -> ``"Wed 25 Nov 2026"`` (UTC); the text itself if unparsable."""
    when = _parse_when(value)
    if when is None:
        return "—" if not value else str(value)
    if isinstance(when, datetime):
        when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date()
    return when.strftime("%a %d %b %Y")


def format_datetime(value: Any) -> str:
    when = _parse_when(value)
    if not isinstance(when, datetime):
        return format_date(value)
    when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
    return when.strftime("%d %b %Y %H:%M UTC")


@cache
def _static_version(name: str) -> str:
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise jinja2.TemplateError(f"no static file {name!r}")
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>`` so browsers may cache it and still see new versions."""
    return f"{STATIC_PATH}/{name}?v={_static_version(name)}"


def environment(*template_dirs: str | Path, globals_: Mapping[str, Any] | None = None) -> jinja2.Environment:
    """A Jinja2 environment: the role's template folders first, then the shared ones; autoescaped."""
    dirs = [str(d) for d in template_dirs] + [str(TEMPLATES_DIR)]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    env.filters["date"] = format_date
    env.filters["datetime"] = format_datetime
    env.globals["static_url"] = static_url
    env.globals.update(globals_ or {})
    return env


def static_mount(path: str = STATIC_PATH) -> Mount:
    """The shared static files (``url_for("static", path=...)`` works too)."""
    return Mount(path, app=StaticFiles(directory=STATIC_DIR), name="static")


class Renderer:
    """Pages of one role: ``page()`` renders, ``redirect()`` redirects with a flash message."""

    def __init__(self, env: jinja2.Environment, secret: bytes, site_name: str, home_url: str = "/") -> None:
        self.env = env
        self.secret = secret
        self.site_name = site_name
        self.home_url = home_url

    def html(self, template: str, context: Mapping[str, Any] | None = None) -> str:
        ctx = {"site_name": self.site_name, "home_url": self.home_url, **(context or {})}
        return self.env.get_template(template).render(ctx)

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        flashes = self.take_flashes(request)
        ctx = dict(context or {})
        ctx["messages"] = [*flashes, *ctx.get("messages", [])]
        ctx.setdefault("request", request)
        body = self.html(template, ctx)
        response = HTMLResponse(body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
        if FLASH_COOKIE in request.cookies:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(
        self, url: str, messages: Iterable[tuple[str, str]] = (), status: int = 303
    ) -> RedirectResponse:
        """Redirect (303 after a POST) carrying flash messages ``(kind, text)`` to the next page."""
        response = RedirectResponse(url, status_code=status, headers=SECURITY_HEADERS)
        items = [{"kind": k if k in FLASH_KINDS else "info", "text": t} for k, t in messages]
        if items:
            response.set_cookie(
                FLASH_COOKIE,
                sign(self.secret, json.dumps(items), "flash"),
                max_age=60,
                path="/",
                httponly=True,
                samesite="lax",
            )
        return response

    def take_flashes(self, request: Request) -> list[dict[str, str]]:
        value = unsign(self.secret, request.cookies.get(FLASH_COOKIE), "flash")
        if value is None:
            return []
        try:
            data = json.loads(value)
        except ValueError:
            return []
        return [
            {"kind": str(m.get("kind", "info")), "text": str(m.get("text", ""))}
            for m in data
            if isinstance(m, dict)
        ]


def with_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response
