"""`searchkit serve`: the pages and the JSON API through an in-process ASGI client, the facets
in the library and on the terminal, and once the real command under uvicorn.

The browser tests are in test_serve_browser.py; the posts in webposts.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient
from webposts import HOSTILE_TITLE, POSTS, hostile_documents, write_posts

from searchkit import Index, cli
from searchkit.dates import CHINA_TIME as LOCAL_TZ
from searchkit.web import create_app
from searchkit.web.app import CONTENT_SECURITY_POLICY
from searchkit.web.pool import THREADS, IndexPool, SearchStopped, SearchTimeout, ServerBusy

HIT_KEYS = {"id", "path", "url", "title", "date", "categories", "tags", "score", "exact"}
HIT_KEYS |= {"match", "snippet", "marks", "title_marks", "duplicates"}
MATCHING = POSTS + 1 + len(hostile_documents())  # posts of web_index with 缩表


@pytest.fixture(scope="module")
def posts(tmp_path_factory):
    return write_posts(tmp_path_factory.mktemp("web") / "_posts")


@pytest.fixture(scope="module")
def web_index(tmp_path_factory, posts) -> Path:
    path = tmp_path_factory.mktemp("web-index") / "index"
    with Index.create(path) as index:
        index.update_from(posts)
        index.add(hostile_documents())
    return path


@pytest.fixture(scope="module")
def client(web_index):
    with TestClient(create_app(web_index)) as client:
        yield client


def api(client, url: str, status: int = 200) -> dict:
    response = client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- the JSON API ------------------------------------------------------------------------------


def test_api_search_gives_the_cli_json_document(client, web_index):
    document = api(client, "/api/search?q=缩表&limit=5&page=2&sort=date&category=cls")
    result = CliRunner().invoke(
        cli.cli,
        ["search", "缩表", "--index", str(web_index), "-n", "5", "--page", "2", "--sort", "date"]
        + ["--category", "cls", "--json"],
    )
    assert document == json.loads(result.stdout)
    assert document["total"] == POSTS // 3 and len(document["hits"]) == 3
    assert set(document["hits"][0]) == HIT_KEYS


def test_api_post_and_similar_give_the_cli_json_documents(client, web_index):
    doc_id = "2022-03-10-post03.md"
    document = api(client, f"/api/posts/{doc_id}?q=缩表")
    shown = CliRunner().invoke(
        cli.cli, ["show", doc_id, "--index", str(web_index), "-q", "缩表", "--json"]
    )
    assert document == json.loads(shown.stdout)
    assert document["title_marks"] and document["body_marks"]
    similar = api(client, f"/api/posts/{doc_id}/similar?limit=3")
    listed = CliRunner().invoke(
        cli.cli, ["similar", doc_id, "--index", str(web_index), "-n", "3", "--json"]
    )
    assert similar == json.loads(listed.stdout)
    assert len(similar["hits"]) == 3 and doc_id not in {hit["id"] for hit in similar["hits"]}


def test_api_stats_and_openapi(client):
    stats = api(client, "/api/stats")
    assert stats["documents"] == MATCHING
    assert dict(stats["categories"])["cls"] == POSTS // 3
    openapi = api(client, "/api/openapi.json")
    assert openapi["openapi"].startswith("3.")
    assert set(openapi["paths"]) == {
        "/api/search",
        "/api/posts/{id}",
        "/api/posts/{id}/similar",
        "/api/stats",
    }


def test_api_search_with_facets_counts_every_match(client):
    document = api(client, "/api/search?q=缩表&limit=1&facets=1")
    facets = document["facets"]
    assert facets["total"] == document["total"] > len(document["hits"])
    assert dict(facets["categories"])["eastmoney"] == POSTS // 3
    assert sum(count for _, count in facets["months"]) + facets["undated"] == facets["total"]


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/search?q=%22", 400, "nothing to search"),
        ("/api/search?q=" + "缩" * 201, 400, "longer than 200"),
        ("/api/search?q=缩表&page=0", 400, "page"),
        ("/api/search?q=缩表&page=x", 400, "whole number"),
        ("/api/search?q=缩表&limit=101", 400, "limit"),
        ("/api/search?q=缩表&sort=random", 400, "sort"),
        ("/api/search?q=缩表&since=2022-13", 400, "bad date"),
        ("/api/search?q=缩表&tag=" + "x" * 101, 400, "tag"),
        ("/api/search", 400, "give a query"),
        ("/api/posts/no-such-post.md", 404, "no post"),
        ("/api/posts/no-such-post.md/similar", 404, "no post"),
        ("/api/posts/2022-03-10-post03.md?q=a%20OR", 400, "OR"),
        ("/api/nothing", 404, "no such"),
    ],
)
def test_api_errors_are_one_line_json_with_a_status(client, url, status, words):
    document = api(client, url, status)
    assert document["status"] == status
    assert words in document["error"]
    assert "\n" not in document["error"] and "Traceback" not in document["error"]


def test_the_server_is_read_only(client):
    for method in ("post", "put", "delete", "patch"):
        response = getattr(client, method)("/api/search?q=缩表")
        assert response.status_code == 405
        assert "read-only" in response.json()["error"]


@pytest.mark.parametrize(
    "doc_id",
    [
        "../../../../etc/passwd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/etc/passwd",
        "..%5C..%5Cwin.ini",
    ],
)
def test_an_id_never_reads_a_file(client, doc_id):
    for url in (f"/api/posts/{doc_id}", f"/posts/{doc_id}"):
        response = client.get(url)
        assert response.status_code == 404
        assert "root:" not in response.text


# --- pages -------------------------------------------------------------------------------------


def test_search_page_shows_highlighted_ranked_hits(client):
    page = client.get("/?q=缩表").text
    assert re.search(r"<strong>\d+</strong> results for <strong>缩表</strong>", page)
    assert page.count('class="hit"') == 10
    assert "<mark>缩表</mark>" in page
    assert 'class="tier tier-exact">exact<' in page
    assert 'href="https://news.example/cls/1"' in page  # the original
    assert 'href="/posts/2022-' in page
    assert '<svg class="timeline"' in page and page.count('class="bar"') == 12


def test_the_url_holds_the_whole_state(client):
    page = client.get("/?q=缩表&since=2022-03&until=2022-10&sort=date&page=2").text
    dates = re.findall(r'<time datetime="(2022-\d\d)', page)
    assert dates == sorted(dates, reverse=True) and len(dates) == 10
    assert set(dates) <= {f"2022-{month:02d}" for month in range(3, 11)}
    assert 'value="2022-03"' in page and 'value="2022-10"' in page
    assert 'option value="date" selected' in page
    first = re.search(r'<a href="([^"]+)">1</a>', page).group(1)
    assert all(part in first for part in ("since=2022-03", "until=2022-10", "sort=date"))
    tagged = client.get("/?q=缩表&tag=财联社&category=cls").text
    assert f"<strong>{POSTS // 3}</strong> results" in tagged and 'value="财联社"' in tagged


def test_facet_links_filter_and_pages_link_on(client):
    page = client.get("/?q=缩表").text
    link = re.search(r'<a href="([^"]+)">eastmoney</a> <span class="count">(\d+)</span>', page)
    assert link and int(link.group(2)) == POSTS // 3
    filtered = client.get(link.group(1).replace("&amp;", "&")).text
    assert f"<strong>{POSTS // 3}</strong> results" in filtered
    assert 'class="clear"' in filtered
    next_page = re.search(r'rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "page=2" in next_page and client.get(next_page).text.count('class="hit"') >= 1


def test_did_you_mean_is_a_link(client):
    page = client.get("/?q=缩标").text
    assert re.search(r'Did you mean <a href="/\?q=[^"]+">缩表</a>\?', page)


def test_post_page_highlights_every_match_and_lists_similar_posts(client):
    page = client.get("/posts/2022-03-10-post03.md?q=缩表 资产负债表").text
    assert page.count("<mark>") >= 4
    assert "similar posts" in page
    assert len(re.findall(r'<li><a href="/posts/', page)) == 5


def test_bad_query_on_the_page_is_a_400_page(client):
    response = client.get("/?q=a OR")
    assert response.status_code == 400
    assert 'role="alert"' in response.text and "Traceback" not in response.text


@pytest.mark.parametrize("url", ["/", "/?q=缩表", "/posts/hostile-url-0", "/nope", "/api/stats"])
def test_every_response_has_the_security_headers(client, url):
    headers = client.get(url).headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "url",
    [
        "/?q=缩表&since=2022-06-30&until=2022-07-01",
        "/?q=" + HOSTILE_TITLE[:40],
        "/?q=缩表&category=" + 'c"><script>',
        "/posts/hostile-url-0?q=缩表",
        "/posts/hostile-url-3",
        "/posts/2022-06-30-hostile.md?q=" + '"><script>x</script>',
    ],
)
def test_hostile_text_is_escaped(client, url):
    page = client.get(url).text
    assert "<script>" not in page.replace('<script src="/static/search.js" defer></script>', "")
    assert re.search(r"<[^>]* on\w+=", page) is None  # no element gets an event handler
    assert re.search(r"href=[\"']?\s*(javascript|data|java\s)", page, re.I) is None
    if "category" not in url:
        assert "&lt;script&gt;" in page


def test_pages_need_no_other_origin(client):
    """Every asset is shipped: no CDN, no font service."""
    page = client.get("/?q=缩表").text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page):
        assert client.get(asset).status_code == 200
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.replace("https://news.example", ""))


# --- a live index: no index yet, rebuilds and updates while serving ------------------------


def test_503_while_there_is_no_index_then_it_is_served(tmp_path, posts):
    path = tmp_path / "index"
    with TestClient(create_app(path)) as client:
        document = api(client, "/api/search?q=缩表", 503)
        assert "no searchkit index" in document["error"]
        assert client.get("/?q=缩表").status_code == 503
        with Index.create(path) as index:
            index.update_from(posts)
        assert api(client, "/api/search?q=缩表")["total"] == POSTS + 1


def test_a_rebuild_and_an_update_are_picked_up_without_a_restart(tmp_path, posts):
    folder = tmp_path / "_posts"
    shutil.copytree(posts, folder)
    path = tmp_path / "index"
    with Index.create(path) as index:
        index.update_from(folder)
    with TestClient(create_app(path)) as client:
        assert api(client, "/api/search?q=缩表")["total"] == POSTS + 1
        (folder / "2022-12-31-new.md").write_text(
            "---\ntitle: 缩表新文\ndate: 2022-12-31\n---\n独一无二的新词甲乙丙\n", encoding="utf-8"
        )
        with Index.open(path) as writer:
            writer.rebuild()
        assert api(client, "/api/search?q=甲乙丙")["total"] == 1
        (folder / "2022-12-31-new.md").unlink()
        with Index.open(path) as writer:
            writer.update_from(folder)
        assert api(client, "/api/search?q=甲乙丙", 200)["total"] == 0


@pytest.fixture(scope="module")
def chatty_index(tmp_path_factory) -> Path:
    """300 posts full of 的: `的 的 …` 100 times takes seconds over them (a minute over the
    2,644 shared posts on 2 cores)."""
    from searchkit import Document

    path = tmp_path_factory.mktemp("chatty") / "index"
    sentence = "市场的资金的流向的变化的原因的分析，"
    with Index.create(path) as index:
        index.add(
            Document(id=f"{n}.md", title=f"第{n}篇的评论", body=sentence * (5 + n % 20))
            for n in range(300)
        )
    return path


def test_searches_over_the_time_budget_are_stopped_and_others_are_answered(chatty_index):
    """With a budget of 1 s, twice as many pathological searches (40 s each here) as the
    pool has threads are each answered 503 within about that budget, and their threads are
    free again for the next search."""
    pathological = "/api/search?q=" + "的 " * 99 + "的"
    pool = IndexPool(chatty_index, budget=1)
    with TestClient(create_app(chatty_index, pool=pool, cache_megabytes=0)) as client:
        for _ in range(2 * THREADS):
            started = time.monotonic()
            document = api(client, pathological, 503)
            assert "took longer than 1 s" in document["error"]
            assert time.monotonic() - started < 4
        started = time.monotonic()
        assert api(client, "/api/search?q=评论")["total"] == 300
        assert time.monotonic() - started < 4


def _busy(index, seconds, lose_stops=0):
    """Pure-Python work, as a search is, so that it can be stopped; the first `lose_stops`
    stops are swallowed, as Python does with an exception raised in a `__del__`."""
    end = time.monotonic() + seconds
    while True:
        try:
            while time.monotonic() < end:
                pass
            return index.count()
        except SearchStopped:
            if lose_stops == 0:
                raise
            lose_stops -= 1


@pytest.mark.parametrize("lost", [0, 2], ids=["stopped", "stops-lost-twice"])
def test_a_stopped_search_leaves_its_thread_a_fresh_index(web_index, monkeypatch, lost):
    """A call past its budget is stopped, even when the first stops are lost (they are sent
    again until the call ends), and its thread opens a fresh index for the next call."""
    original, opened = Index.open, []
    monkeypatch.setattr(Index, "open", lambda path, **o: opened.append(path) or original(path, **o))
    pool = IndexPool(web_index, threads=1, budget=1)

    async def scenario():
        with pytest.raises(SearchTimeout):
            await pool.run(_busy, 30, lost)
        return await pool.run(_busy, 0)

    started = time.monotonic()
    assert asyncio.run(scenario()) == MATCHING
    assert time.monotonic() - started < 5  # the one thread was freed, not busy for 30 s
    assert len(opened) == 2
    pool.close()


def test_the_budget_counts_a_searchs_own_time_not_its_wait_for_a_thread(web_index):
    """Three 0.6 s calls on one thread with a 1 s budget all finish (the third waits
    1.2 s; 0.4 s calls in a 0.5 s budget left too little for the first call's opening of
    the index on a busy CI machine); a call that finds no free thread within the wait
    limit is refused at once, and never runs."""
    ran = []

    def busy(index, seconds):
        time.sleep(seconds)
        ran.append(seconds)
        return index.count()

    async def queued(pool):
        return await asyncio.gather(*(pool.run(busy, 0.6) for _ in range(3)))

    async def refused(pool):
        first = asyncio.ensure_future(pool.run(busy, 1.0))
        await asyncio.sleep(0.05)
        with pytest.raises(ServerBusy, match="busy"):
            await pool.run(busy, 0.01)
        return await first

    for pool, scenario, answer in [
        (IndexPool(web_index, threads=1, budget=1), queued, [MATCHING] * 3),
        (IndexPool(web_index, threads=1, budget=2, wait=0.3), refused, MATCHING),
    ]:
        assert asyncio.run(scenario(pool)) == answer
        pool.close()
    time.sleep(0.1)
    assert ran == [0.6, 0.6, 0.6, 1.0]


def test_identical_requests_that_miss_together_run_once(web_index, monkeypatch):
    """Five identical searches at once make one search and five identical answers; errors
    are not shared: each bad query is answered by its own try."""
    import httpx2

    searches, original = [], Index.search

    def slow_search(self, query, **options):
        searches.append(query)
        time.sleep(0.2)  # all five arrive while the first is running
        return original(self, query, **options)

    monkeypatch.setattr(Index, "search", slow_search)
    app = create_app(web_index)

    async def together(url: str, times: int):
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.get(url) for _ in range(times)))

    answers = asyncio.run(together("/api/search?q=缩表&limit=3", 5))
    assert [answer.status_code for answer in answers] == [200] * 5
    assert len({answer.content for answer in answers}) == 1 and searches == ["缩表"]
    answers = asyncio.run(together("/api/search?q=a OR", 3))
    assert [answer.status_code for answer in answers] == [400] * 3
    assert searches.count("a OR") == 3


def test_searches_during_a_rebuild_are_all_answered(tmp_path, posts):
    """Twenty clients search (API, pages with facets, date-sorted and filtered searches,
    posts) while `searchkit rebuild` runs in another process, with one thread and a short
    budget, so that a wait for the thread counted against it would fail: every answer is
    200, and the answers after the rebuild come from the new generation."""
    import httpx2

    path = tmp_path / "index"
    with Index.create(path) as index:
        index.update_from(posts)
        ids = index.ids()
    app = create_app(path, pool=IndexPool(path, threads=1, budget=1))
    words = ["缩表", "加息", "美联储", "央行", "利率"]
    searchkit = str(Path(sys.executable).parent / "searchkit")

    async def scenario():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            before = (await client.get("/api/stats")).json()["generation"]
            rebuild = await asyncio.create_subprocess_exec(
                searchkit, "rebuild", "--index", str(path),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            statuses, rebuilt = Counter(), asyncio.ensure_future(rebuild.wait())

            async def searching(n):
                for request in itertools.count(n):
                    word = words[request % len(words)]
                    url = [
                        f"/api/search?q={word}",
                        f"/?q={word}",
                        f"/api/search?q={word}&sort=date&since=2022-0{request % 9 + 1}",
                        f"/api/posts/{ids[request % len(ids)]}",
                    ][request % 4]
                    statuses[(await client.get(url)).status_code] += 1
                    if rebuilt.done() and request > n + 50:
                        return

            await asyncio.gather(*(searching(n) for n in range(20)))
            after = (await client.get("/api/stats")).json()["generation"]
            return statuses, await rebuilt, before, after

    statuses, exit_code, before, after = asyncio.run(scenario())
    assert exit_code == 0 and before != after
    assert set(statuses) == {200} and statuses[200] >= 20 * 50


def test_answers_are_cached_for_one_state_of_the_index(tmp_path, posts, monkeypatch):
    path = tmp_path / "index"
    with Index.create(path) as index:
        index.update_from(posts)
    searches = []
    original = Index.search
    monkeypatch.setattr(
        Index,
        "search",
        lambda self, query, **o: searches.append(query) or original(self, query, **o),
    )
    with TestClient(create_app(path)) as client:
        first = client.get("/api/search?q=缩表").json()
        assert client.get("/api/search?q=缩表").json() == first and searches == ["缩表"]
        assert client.get("/api/search?q=缩表&limit=3").status_code == 200
        assert len(searches) == 2
        with Index.open(path) as writer:
            writer.delete(["2022-01-10-post01.md"])  # a commit: a new Whoosh TOC
        assert client.get("/api/search?q=缩表").json()["total"] == first["total"] - 1
        assert client.get("/api/search?q=a OR").status_code == 400  # errors are not kept
        assert client.get("/api/search?q=a OR").status_code == 400
        assert searches.count("a OR") == 2


def test_only_loopback_host_names_are_answered_when_asked(web_index):
    app = create_app(web_index, allowed_hosts=["127.0.0.1", "localhost"])
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/stats").status_code == 200
        assert client.get("/api/stats", headers={"host": "evil.example"}).status_code == 400


# --- facets: library and terminal ----------------------------------------------------------


def test_facets_count_every_matching_post(web_index):
    with Index.open(web_index) as index:
        hits = index.search("缩表", limit=1000, since="2022-02", collapse=False).hits
        counts = index.facets("缩表", since="2022-02")
    assert counts.total == len(hits) > 10
    assert counts.categories == sorted(
        Counter(c for hit in hits for c in hit.categories).items(), key=lambda p: (-p[1], p[0])
    )
    months = Counter(f"{hit.date.astimezone(LOCAL_TZ):%Y-%m}" for hit in hits if hit.date)
    assert dict(counts.months) == {m: months.get(m, 0) for m, _ in counts.months}
    assert counts.months[0][0] == "2022-02" and counts.months[-1][0] == "2022-12"
    assert [month for month, _ in counts.months] == sorted(month for month, _ in counts.months)


def test_facets_fill_empty_months_and_count_undated_posts(tmp_path):
    from datetime import datetime

    from searchkit import Document

    dates = [datetime(2021, 11, 5, tzinfo=LOCAL_TZ), datetime(2022, 2, 5, tzinfo=LOCAL_TZ), None]
    with Index.create(tmp_path / "index") as index:
        index.add(
            [Document(id=str(i), title="降准", body="降准", date=d) for i, d in enumerate(dates)]
        )
        counts = index.facets("降准")
    assert counts.months == [("2021-11", 1), ("2021-12", 0), ("2022-01", 0), ("2022-02", 1)]
    assert counts.undated == 1 and counts.total == 3


def test_search_facets_on_the_terminal_and_in_json(web_index):
    result = CliRunner().invoke(cli.cli, ["search", "缩表", "--index", str(web_index), "--facets"])
    assert result.exit_code == 0
    assert re.search(r"^2022-01 +\d+ █+", result.stdout, re.MULTILINE)
    assert "categories" in result.stdout and "eastmoney (8)" in result.stdout
    as_json = CliRunner().invoke(
        cli.cli, ["search", "缩表", "--index", str(web_index), "--facets", "--json"]
    )
    assert json.loads(as_json.stdout)["facets"]["total"] == MATCHING


# --- the real command ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_without_an_index_serves_the_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    served = {}
    monkeypatch.setattr(
        "searchkit.web.serve", lambda path, **options: served.update(options, path=path)
    )
    result = CliRunner().invoke(cli.cli, ["serve"])
    assert result.exit_code == 0, result.output
    assert served == {
        "path": tmp_path / "cache" / "searchkit" / "demo-index",
        "host": "127.0.0.1",
        "port": 8000,
        "workers": 1,
    }
    assert "bundled demo" in result.stderr


def test_searchkit_serve_runs_the_installed_command(web_index):
    port = _free_port()
    command = [str(Path(sys.executable).parent / "searchkit"), "serve", "--index", str(web_index)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}/api/search?q=%E7%BC%A9%E8%A1%A8"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert json.load(response)["total"] == MATCHING
                    break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        server.terminate()
        output = server.communicate(timeout=15)[0].decode()
    assert f"on http://127.0.0.1:{port}/" in output


def test_near_duplicates_show_once_with_a_link_to_every_post(tmp_path):
    from test_collapse import POSTS as NOTICES

    path = tmp_path / "index"
    with Index.create(path) as index:
        index.add(NOTICES)
    with TestClient(create_app(path)) as notices:
        page = notices.get("/?q=中间价").text
        assert page.count('class="hit"') == 4 and "4 rows, near-duplicates folded" in page
        assert '<a href="/?q=%E4%B8%AD%E9%97%B4%E4%BB%B7&amp;all=1">+4 more like this</a>' in page
        every = notices.get("/?q=中间价&all=1").text
        assert every.count('class="hit"') == 9 and "more like this" not in every
        assert 'name="all" value="1" checked' in every
        document = api(notices, "/api/search?q=中间价&all=1")
        assert (document["rows"], document["collapsed"], len(document["hits"])) == (9, 0, 9)
        assert api(notices, "/api/search?q=中间价")["collapsed"] == 5
