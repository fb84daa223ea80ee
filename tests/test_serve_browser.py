"""The search page in a real headless browser: Debian's chromium driven by Playwright, against
`searchkit serve`'s app under uvicorn on 127.0.0.1.

Skipped when chromium or playwright is missing, unless SEARCHKIT_BROWSER_TESTS=required
(as in CI, whose .ci/run installs them): then a missing browser fails. Playwright never
downloads a browser here: it launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from webposts import PWNED, hostile_documents, write_posts

from searchkit import Index
from searchkit.web import create_app

CHROMIUM = Path(os.environ.get("SEARCHKIT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRED = os.environ.get("SEARCHKIT_BROWSER_TESTS") == "required"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium fonts-wqy-microhei)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if REQUIRED:
            pytest.fail(f"SEARCHKIT_BROWSER_TESTS=required, but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app under uvicorn in a thread, over the web posts: its base URL."""
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    with Index.create(root / "index") as index:
        index.update_from(write_posts(root / "_posts"))
        index.add(hostile_documents())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(root / "index"), host="127.0.0.1", port=port, log_level="warning"
    )
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(browser, server):
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (page.problems.append("dialog"), dialog.dismiss()))
    page.on(
        "console",
        lambda message: message.type == "error" and page.problems.append(message.text),
    )
    yield page
    context.close()


def hits(page) -> list[str]:
    return page.locator(".hit .title").all_inner_texts()


def test_type_a_query_click_a_facet_page_open_a_post_follow_a_similar_one(page):
    page.goto("/")
    page.locator("input[name=q]").press_sequentially("缩表", delay=50)
    page.wait_for_selector(".hit .title mark")  # results as you type, no submit
    assert re.search(r"/\?q=%E7%BC%A9%E8%A1%A8$", page.url)
    assert len(hits(page)) == 10
    assert page.locator(".hit .title mark").first.inner_text() == "缩表"

    page.locator(".facet-category a", has_text="eastmoney").click()
    page.wait_for_url(re.compile(r"category=eastmoney"))
    assert page.locator(".summary strong").first.inner_text() == "8"
    assert all("eastmoney" in meta for meta in page.locator(".hit .meta").all_inner_texts())

    page.locator(".facet-category a.clear").click()
    page.wait_for_url(re.compile(r"^(?!.*category=)"))
    first_page = hits(page)
    page.locator("a[rel=next]").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert hits(page) and set(hits(page)).isdisjoint(first_page)

    page.locator(".hit .title").first.click()
    page.wait_for_url(re.compile(r"/posts/"))
    post_url = page.url
    assert page.locator(".post .body mark").count() >= 1
    assert page.locator(".similar li a").count() == 5
    page.locator(".similar li a").first.click()
    page.wait_for_url(lambda url: "/posts/" in url and url != post_url)
    assert page.locator(".post h1").inner_text()
    assert page.problems == []


def test_the_timeline_filters_to_a_month(page):
    page.goto("/?q=缩表")
    bars = page.locator("svg.timeline a")
    assert bars.count() == 12
    bars.nth(2).click()
    page.wait_for_url(re.compile(r"since=2022-03&until=2022-03"))
    dates = page.locator(".hit time").all_inner_texts()
    assert dates and all(date.startswith("2022-03") for date in dates)


def test_the_form_works_without_javascript(browser, server):
    context = browser.new_context(base_url=server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/")
    page.locator("input[name=q]").fill("逆回购")
    page.locator("input[name=since]").fill("2022-05")
    page.locator("input[name=q]").press("Enter")
    page.wait_for_url(re.compile(r"q=%E9%80%86%E5%9B%9E%E8%B4%AD&since=2022-05"))
    assert page.locator(".hit .title").count() >= 1
    context.close()


@pytest.mark.parametrize(
    "url",
    [
        "/?q=缩表&since=2022-06-30&until=2022-07-01",
        "/?q=缩表&category=c%22%3E%3Cscript%3E",
        "/posts/hostile-url-0?q=缩表",
        "/posts/hostile-url-2",
        "/posts/2022-06-30-hostile.md?q=script",
    ],
)
def test_hostile_posts_render_inert(page, url):
    page.goto(url)
    for element in page.locator("a, mark, h1, .hit, .fields dd").all()[:80]:
        element.hover(timeout=2000, trial=False, force=True)  # would fire onmouseover
    assert page.evaluate(f"typeof {PWNED}") == "undefined"
    hrefs = page.eval_on_selector_all(
        "a[href]", "links => links.map(a => new URL(a.getAttribute('href'), location.href).href)"
    )
    assert not [href for href in hrefs if not href.startswith(("http://", "https://"))]
    assert page.locator("script:not([src])").count() == 0
    assert page.locator("img").count() == 0  # the hostile <img onerror> stays text
    assert page.problems == []
    if "category" not in url:
        assert "<script>" in page.locator("main").inner_text()  # shown as text
