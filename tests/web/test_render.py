"""The shared web foundation: money and date filters, signing and CSRF, the layout in a browser."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mercato.web import render, security
from tests.web.conftest import ThreadServer

SECRET = b"k" * 32


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_money_round_trips_through_its_text(minor: int) -> None:
    text = render.format_money(minor, "INR")
    digits = re.sub(r"[^0-9]", "", text)
    assert int(digits) == abs(minor)
    assert text.startswith("-₹") if minor < 0 else text.startswith("₹")
    assert re.search(r"\.\d\d$", text)


def test_money_exponents_and_unknown_currency() -> None:
    assert render.format_money(123456, "INR") == "₹1,234.56"
    assert render.format_money(1234, "JPY") == "¥1,234"
    assert render.format_money(1234, "KWD") == "1.234 KWD"
    assert render.format_money(5, "XYZ") == "0.05 XYZ"
    assert render.format_money(None, "INR") == "—"
    assert render.format_money(True, "INR") == "—"  # type: ignore[arg-type]


def test_dates_are_shown_in_utc_and_bad_text_is_kept() -> None:
    assert render.format_date("2026-11-25T23:30:00-02:00") == "Thu 26 Nov 2026"
    assert render.format_date("2026-11-25") == "Wed 25 Nov 2026"
    assert render.format_date("soon") == "soon"
    assert render.format_date(None) == "—"
    assert render.format_datetime("2026-11-25T10:05:00Z") == "25 Nov 2026 10:05 UTC"


@given(st.text(max_size=200), st.sampled_from(["flash", "session", "x"]))
def test_sign_round_trip_and_purpose_binding(value: str, purpose: str) -> None:
    signed = security.sign(SECRET, value, purpose)
    assert security.unsign(SECRET, signed, purpose) == value
    assert security.unsign(SECRET, signed, purpose + "!") is None
    assert security.unsign(b"other" * 8, signed, purpose) is None


@pytest.mark.parametrize("bad", [None, "", "no-dot", "a.b.c", "!!!.abc", "YWJj.wrongmac"])
def test_unsign_refuses_tampered_text(bad: str | None) -> None:
    assert security.unsign(SECRET, bad) is None


def test_csrf_tokens_are_bound_to_the_session() -> None:
    token = security.csrf_token(SECRET, "s1")
    assert security.csrf_ok(SECRET, "s1", token)
    assert not security.csrf_ok(SECRET, "s2", token)
    assert not security.csrf_ok(SECRET, None, token)
    assert not security.csrf_ok(SECRET, "s1", "")
    assert not security.csrf_ok(SECRET, "s1", 42)


def test_static_url_names_existing_files_only() -> None:
    assert re.fullmatch(r"/static/mercato\.css\?v=[0-9a-f]{10}", render.static_url("mercato.css"))
    with pytest.raises(Exception, match="no static file"):
        render.static_url("../render.py")
    with pytest.raises(Exception, match="no static file"):
        render.static_url("missing.css")


def demo_app(tmp_path: Any) -> Starlette:
    (tmp_path / "demo.html").write_text(
        '{% extends "base.html" %}{% import "forms.html" as forms %}'
        "{% block content %}<h1>Demo</h1><form method=post action=/ data-once>"
        '{{ forms.input("city", "City", values, errors, hint="Where to deliver") }}'
        '{{ forms.select("sort", "Sort by", [("price", "Price"), ("rating", "Rating")], values, errors) }}'
        "<button>Send</button></form>{% endblock %}"
    )
    renderer = render.Renderer(render.environment(tmp_path), SECRET, "Demo shop")

    async def home(request: Request) -> Response:
        if request.method == "POST":
            form = await request.form()
            city = str(form.get("city", "")).strip()
            if not city:
                values = {"city": city, "sort": form.get("sort")}
                errors = {"city": "Enter a city"}
                return renderer.page(request, "demo.html", {"values": values, "errors": errors}, 422)
            return renderer.redirect("/", [("ok", f"Saved {city}")])
        nav = [{"href": "/", "label": "Home", "current": True, "badge": 2}]
        return renderer.page(request, "demo.html", {"values": {}, "errors": {}, "nav_items": nav})

    return Starlette(routes=[Route("/", home, methods=["GET", "POST"]), render.static_mount()])


def client(app: Starlette, cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", cookies=cookies)


async def test_layout_and_flash_without_a_browser(tmp_path: Any) -> None:
    async with client(demo_app(tmp_path)) as c:
        await check_layout_and_flash(c, tmp_path)


async def check_layout_and_flash(client: httpx.AsyncClient, tmp_path: Any) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'href="#main"' in page.text and 'for="f-city"' in page.text
    bad = await client.post("/", data={"city": " ", "sort": "rating"})
    assert bad.status_code == 422
    assert 'id="e-city"' in bad.text and 'aria-invalid="true"' in bad.text
    assert '<option value="rating" selected>' in bad.text
    ok = await client.post("/", data={"city": "Pune<b>"})
    assert ok.status_code == 303
    shown = await client.get("/")
    assert "Saved Pune&lt;b&gt;" in shown.text  # escaped, once
    assert "Saved Pune" not in (await client.get("/")).text
    forged_flash = security.sign(b"x" * 32, '[{"kind": "ok", "text": "forged"}]', "flash")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=demo_app(tmp_path)),
        base_url="http://t",
        cookies={render.FLASH_COOKIE: forged_flash},
    ) as forged:
        assert "forged" not in (await forged.get("/")).text
    css = await client.get(render.static_url("mercato.css"))
    assert css.status_code == 200 and "focus-visible" in css.text
    assert (await client.get("/static/nothing.css")).status_code == 404


def test_layout_in_chromium_has_no_errors_and_is_keyboard_usable(tmp_path: Any, page: Any) -> None:
    with ThreadServer(demo_app(tmp_path)) as server:
        page.goto(server.url + "/")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.get_by_label("City").fill("")
        page.get_by_role("button", name="Send").click()
        page.wait_for_selector("#e-city")
        assert page.get_by_text("Enter a city").count() == 2  # summary and next to the field
        page.get_by_label("City").fill("Pune")
        page.get_by_role("button", name="Send").click()
        page.wait_for_selector("text=Saved Pune")
        css_ok = page.evaluate("getComputedStyle(document.querySelector('.site-header')).backgroundColor")
        assert css_ok == "rgb(26, 31, 36)"  # the stylesheet was served and applied


def test_page_watch_catches_console_and_page_errors(tmp_path: Any, new_page: Any) -> None:
    p, watch = new_page()
    with ThreadServer(demo_app(tmp_path)) as server:
        p.goto(server.url + "/")
        assert watch.all_errors() == []
        p.evaluate("console.error('boom')")
        p.evaluate("setTimeout(() => { throw new Error('kaput') }, 0)")
        p.wait_for_timeout(200)
        found = "\n".join(watch.all_errors())
        assert "boom" in found and "kaput" in found
        watch.clear()
