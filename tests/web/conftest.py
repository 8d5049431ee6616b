"""Browser-test fixtures: Playwright (Python, sync API) driving Debian's Chromium.

``browser`` launches ``/usr/bin/chromium`` headless for one test (the Playwright browser download
is not used) and skips, saying why, when Chromium or Playwright is missing. ``page`` is a fresh page whose
console errors and page errors fail the test (:class:`PageWatch`). ``shoot(page, name)`` saves a
screenshot: into ``docs/images/web-<name>.png`` when ``MERCATO_SCREENSHOTS=1`` (they are committed
documentation), otherwise under the test's tmp folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.ports import free_port_block

CHROMIUM = os.environ.get("MERCATO_CHROMIUM", "/usr/bin/chromium")
DOCS_IMAGES = REPO / "docs" / "images"
VIEWPORT = {"width": 1280, "height": 860}
# a page answered with one of these is a page the server meant to show (validation errors, not found)
INTENDED_STATUSES = {400, 404, 409, 422}


class PageWatch:
    """Collects console errors, uncaught page errors and failed requests of one page."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self._console_errors: list[tuple[str, str]] = []  # (text, url)
        self._answered: set[str] = set()  # documents answered with an intended 4xx (a form error page)
        page.on("console", self._console)
        page.on("response", self._response)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("requestfailed", self._failed)

    def _console(self, msg: Any) -> None:
        if msg.type == "error":
            self._console_errors.append((msg.text, str((msg.location or {}).get("url", ""))))

    def _response(self, response: Any) -> None:
        if response.request.resource_type == "document" and response.status in INTENDED_STATUSES:
            self._answered.add(response.url)

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        # a navigation away from a page aborts its pending polls: that is not an error of the page
        if "ERR_ABORTED" not in failure:
            self.errors.append(f"request failed: {request.method} {request.url}: {failure}")

    def all_errors(self) -> list[str]:
        """Every error so far; Chromium's log line for a form page answered 400/404/409/422 is not one."""
        out = list(self.errors)
        for text, url in self._console_errors:
            if text.startswith("Failed to load resource: the server responded") and url in self._answered:
                continue
            out.append(f"console error: {text} at {url}")
        return out

    def clear(self) -> None:
        self.errors.clear()
        self._console_errors.clear()

    def assert_clean(self) -> None:
        errors = self.all_errors()
        if errors:
            pytest.fail("the page reported errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium for one test. Not shared wider: Playwright's sync API holds an event loop in this
    thread while it runs, which the asyncio tests of the same session could not start beside."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium): browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]'): browser tests skipped")
    path = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], tuple[Any, PageWatch]]]:
    """Make pages (each in its own browser context: its own cookies); their errors fail the test."""
    contexts: list[Any] = []
    watches: list[PageWatch] = []

    def make() -> tuple[Any, PageWatch]:
        ctx = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="UTC")
        ctx.set_default_timeout(20_000)
        contexts.append(ctx)
        p = ctx.new_page()
        watch = PageWatch(p)
        watches.append(watch)
        return p, watch

    yield make
    for ctx in contexts:
        ctx.close()
    for watch in watches:
        watch.assert_clean()


@pytest.fixture
def page(new_page: Callable[[], tuple[Any, PageWatch]]) -> Any:
    p, _watch = new_page()
    return p


@pytest.fixture
def shoot(tmp_path: Path) -> Callable[..., Path]:
    keep = os.environ.get("MERCATO_SCREENSHOTS") == "1"

    def save(p: Any, name: str, full_page: bool = True) -> Path:
        target = (DOCS_IMAGES if keep else tmp_path) / f"web-{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(target), full_page=full_page)
        assert target.stat().st_size > 0
        return target

    return save


class ThreadServer:
    """Serve an ASGI app with uvicorn in a thread on loopback (for pages that need no network)."""

    def __init__(self, app: Any) -> None:
        import threading

        import uvicorn

        self.port = free_port_block(1)
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
