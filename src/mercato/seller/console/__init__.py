"""The merchant console: server-rendered pages under ``/console`` on every seller node.

``mount_console(app, node)`` adds the pages (login, dashboard, orders board, catalog and stock editor,
catalog import, customers and retention, demand pools, supply), the console's and the shared static
files, and the handlers that send a browser without a session to the login page. Templates live in
``mercato/web/console/templates`` and extend the shared ``base.html``.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from mercato.web.render import STATIC_PATH, static_mount

from .auth import add_auth_routes
from .catalog import add_catalog_routes
from .core import PREFIX, STATIC, Console, ConsoleHost, CsrfRejected, LoginRequired, login_url
from .customers import add_customer_routes
from .orders import add_order_routes
from .pool_pages import add_pool_routes
from .supply_pages import add_supply_routes
from .whatif import add_whatif_routes


def console_router(console: Console) -> APIRouter:
    r = APIRouter(prefix=PREFIX, include_in_schema=False)
    add_auth_routes(r, console)
    add_order_routes(r, console)
    add_catalog_routes(r, console)
    add_customer_routes(r, console)
    add_pool_routes(r, console)
    add_supply_routes(r, console)
    add_whatif_routes(r, console)
    return r


def mount_console(app: FastAPI, host: ConsoleHost) -> Console:
    console = Console(host)

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return console.redirect(None, login_url(exc.next_url), [("info", "Please log in to continue.")])

    async def csrf_refused(request: Request, exc: Exception) -> Response:
        return console.page(
            request,
            None,
            "error.html",
            {
                "title": "Form expired",
                "text": "The form was too old or did not come from this console. Go back, reload the "
                "page and try again; nothing was changed.",
            },
            status=403,
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(CsrfRejected, csrf_refused)
    app.include_router(console_router(console))
    app.mount(PREFIX + "/static", StaticFiles(directory=STATIC), name="console-static")
    if not any(getattr(rt, "path", None) == STATIC_PATH for rt in app.routes):
        app.router.routes.append(static_mount())

    @app.get(PREFIX, include_in_schema=False)
    async def console_home() -> Response:
        return console.redirect(None, PREFIX + "/")

    return console


__all__ = ["Console", "ConsoleHost", "console_router", "mount_console"]
