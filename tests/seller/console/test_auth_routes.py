"""Console login, sessions and CSRF over HTTP (TestClient against the seller node's own app)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mercato.seller.console import core
from mercato.seller.console.core import SESSION_COOKIE, safe_next

from .conftest import PASSWORD, USER, Shop, csrf_of, make_shop

PAGES = [
    "/console/",
    "/console/orders",
    "/console/orders/some-order",
    "/console/catalog",
    "/console/catalog/KETTLE",
    "/console/import",
    "/console/customers",
    "/console/customers/churn.csv",
    "/console/customers/charts/p_alive.png",
    "/console/pools",
    "/console/supply",
    "/console/supply/simulate",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_login_and_comes_back_after_it(shop: Shop, path: str) -> None:
    r = shop.client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/console/login?next={path}"
    r = shop.login(next_url=path)
    assert r.status_code == 303 and r.headers["location"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/console/orders/x/act",
        "/console/orders/x/cancel",
        "/console/orders/x/refund",
        "/console/catalog/KETTLE",
        "/console/catalog/KETTLE/stock",
        "/console/import",
        "/console/logout",
        "/console/pools/p1/clear",
        "/console/supply/production-orders/PO-1/start",
        "/console/supply/downtime",
        "/console/supply/simulate",
        "/console/catalog/new",
        "/console/pools/new",
        "/console/pools/offers/new",
        "/console/returns/r1/approve",
    ],
)
def test_every_form_post_needs_a_login(shop: Shop, path: str) -> None:
    r = shop.client.post(path, data={"action": "accept"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_login_sets_a_strict_cookie_and_shows_the_dashboard(shop: Shop) -> None:
    r = shop.login()
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    low = cookie.lower()
    assert "httponly" in low and "samesite=lax" in low and "path=/console" in low and "secure" not in low
    page = shop.client.get("/console/")
    assert page.status_code == 200 and "Orders today" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert PASSWORD not in page.text


@pytest.mark.parametrize(
    ("user", "password", "status", "message"),
    [
        (USER, "not the password", 401, "wrong user name or password"),
        ("nobody", PASSWORD, 401, "wrong user name or password"),
        ("", PASSWORD, 400, "required"),
        (USER, "", 400, "required"),
    ],
)
def test_bad_logins_say_so_next_to_the_field(
    shop: Shop, user: str, password: str, status: int, message: str
) -> None:
    r = shop.login(user=user, password=password)
    assert r.status_code == status and message in r.text
    assert SESSION_COOKIE not in r.cookies
    assert 'aria-invalid="true"' in r.text


def test_login_without_the_form_token_is_refused(shop: Shop) -> None:
    shop.client.get("/console/login")
    r = shop.client.post("/console/login", data={"user": USER, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in r.cookies
    r = shop.client.post(
        "/console/login",
        data={"user": USER, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_repeated_failures_are_throttled(shop: Shop) -> None:
    for _ in range(core.MAX_FAILURES):
        assert shop.login(password="wrong password!").status_code == 401
    r = shop.login()  # even the right password waits now
    assert r.status_code == 429 and "too many" in r.text


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/admin/orders", "javascript:alert(1)", "/console\\@x"],
)
def test_next_never_leaves_the_console(shop: Shop, target: str) -> None:
    r = shop.login(next_url=target)
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    assert safe_next(target) == "/console/"


def test_logout_ends_the_session(shop: Shop) -> None:
    shop.login()
    token = shop.csrf()
    old = shop.client.cookies.get(SESSION_COOKIE)
    assert shop.client.post("/console/logout", data={"csrf_token": "wrong"}).status_code == 403
    r = shop.client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    assert shop.client.get("/console/", follow_redirects=False).status_code == 303
    shop.client.cookies.set(SESSION_COOKIE, old or "", path="/console")  # a stolen copy is dead too
    assert shop.client.get("/console/", follow_redirects=False).status_code == 303


def test_an_expired_session_returns_to_login_with_next(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    shop.login()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + shop.node.config.console.idle_s + 5)
    r = shop.client.get("/console/orders?x=1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login?next=/console/orders%3Fx%3D1"
    monkeypatch.undo()
    page = shop.client.get(r.headers["location"])
    assert 'name="next" value="/console/orders?x=1"' in page.text  # the login form carries it on


def test_a_post_with_an_expired_session_goes_to_login_and_changes_nothing(shop: Shop) -> None:
    oid = shop.order()
    shop.login()
    token = shop.csrf(f"/console/orders/{oid}")
    shop.client.cookies.delete(SESSION_COOKIE, path="/console")
    r = shop.client.post(
        f"/console/orders/{oid}/act",
        data={"action": "accept", "csrf_token": token},
        headers={"referer": f"http://testserver/console/orders/{oid}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/console/login?next=/console/orders/{oid}"
    from mercato.seller.store import orders

    assert orders.get(shop.node.store, oid).state.value == "Created"


def test_set_password_takes_effect_on_the_running_node(shop: Shop) -> None:
    import os

    from mercato.seller.config import set_console_password
    from mercato.seller.console.passwords import hash_password

    def touch_later() -> None:  # a new mtime even on a coarse-grained file system
        st = os.stat(shop.config_path)
        os.utime(shop.config_path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))

    shop.login()
    assert shop.client.get("/console/", follow_redirects=False).status_code == 200
    set_console_password(shop.config_path, USER, hash_password("a brand new password"))
    touch_later()
    assert shop.client.get("/console/", follow_redirects=False).status_code == 303  # old session over
    assert shop.login().status_code == 401  # the old password no longer works
    assert shop.login(password="a brand new password").status_code == 303
    set_console_password(shop.config_path, "ravi", hash_password("ravi's own password"))
    touch_later()
    assert shop.login(user="ravi", password="ravi's own password").status_code == 303
    shop.config_path.write_text("not [ valid toml")  # a broken file keeps the users it had
    touch_later()
    assert shop.login(user="ravi", password="ravi's own password").status_code == 303


def test_no_user_yet_explains_how_to_make_one(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, users=False)
    page = shop.client.get("/console/login")
    assert "mercato seller set-password" in page.text
    r = shop.client.post(
        "/console/login",
        data={"user": "admin", "password": "anything at all", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 401
    shop.client.close()


def test_console_root_redirects(shop: Shop) -> None:
    r = shop.client.get("/console", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    assert shop.client.get("/console/static/console.css").status_code == 200
    assert shop.client.get("/static/mercato.css").status_code == 200
