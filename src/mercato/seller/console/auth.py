"""Login and logout pages of the console.

The login form has its own CSRF token (bound to a random value in a short-lived cookie), so another
site cannot log a browser into someone else's account. A wrong user or password gets one message
for both, after the same scrypt work either way; after ``MAX_FAILURES`` failures within five
minutes a client gets 429 until the window passes.
"""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .core import LOGIN_COOKIE, PREFIX, SESSION_COOKIE, Console, fields, safe_next
from .passwords import PasswordError, dummy_verify, verify_password

PW = "password"  # the form field's name


def _check(console: Console, user: str, password: str) -> bool:
    stored = console.stamp_of(user)
    if stored is None:
        dummy_verify(password)
        return False
    try:
        return verify_password(password, stored)
    except PasswordError:
        return False


def add_auth_routes(r: APIRouter, console: Console) -> None:
    def login_page(
        request: Request, next_url: str, values: dict[str, str], errors: dict[str, str], status: int = 200
    ) -> Response:
        pre = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(18)
        response = console.page(
            request,
            None,
            "login.html",
            {
                "title": "Log in",
                "next": next_url,
                "values": values,
                "errors": errors,
                "form_errors": errors,
                "login_csrf": console.sessions.csrf("login|" + pre),
                "has_users": console.has_users,
            },
            status=status,
        )
        response.set_cookie(
            LOGIN_COOKIE, pre, max_age=3600, path=PREFIX, httponly=True, samesite="lax", secure=console.secure
        )
        return response

    @r.get("/login")
    async def login_form(request: Request) -> Response:
        return login_page(request, safe_next(request.query_params.get("next")), {}, {})

    @r.post("/login")
    async def login(request: Request) -> Response:
        form = fields(await request.form())
        next_url = safe_next(form.get("next"))
        user = (form.get("user") or "").strip()
        values = {"user": user}
        client = request.client.host if request.client else "-"
        pre = request.cookies.get(LOGIN_COOKIE)
        errors: dict[str, str] = {}
        if not console.sessions.check_csrf("login|" + pre if pre else None, form.get("csrf_token")):
            errors[PW] = "the form expired; please log in again"
            return login_page(request, next_url, values, errors, 403)
        if console.too_many_failures(client):
            errors[PW] = "too many failed attempts; wait a few minutes"
            return login_page(request, next_url, values, errors, 429)
        if not user:
            errors["user"] = "required"
        password = form.get(PW) or ""
        if not password:
            errors[PW] = "required"
        if errors:
            return login_page(request, next_url, values, errors, 400)
        if not await run_in_threadpool(_check, console, user, password):
            console.failed(client)
            return login_page(request, next_url, values, {PW: "wrong user name or password"}, 401)
        console.succeeded(client)
        stamp = console.stamp_of(user) or ""
        _, cookie = console.sessions.issue(user, stamp, int(time.time()))
        response = console.redirect(None, next_url, [("ok", f"Logged in as {user}.")])
        console.set_session_cookie(response, cookie)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @r.post("/logout")
    async def logout(request: Request) -> Response:
        ctx = console.session_of(request)
        console.check_csrf(ctx, await request.form())
        console.sessions.revoke(ctx.session, int(time.time()))
        response = console.redirect(None, PREFIX + "/login", [("info", "Logged out.")])
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response
