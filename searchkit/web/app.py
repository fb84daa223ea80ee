"""The ASGI app of `searchkit serve`: a search page, a post page and a JSON API over `Index`.

A thin skin, like the CLI: each handler reads the request (`views.SearchForm`), calls
`Index` in the pool's threads exactly as the commands do, and renders a Jinja2 template
(autoescaped) or the JSON document the commands print with `--json` (the `to_dict()`s).
Read-only: every route is GET (HEAD); nothing writes to the index.

Errors are one line, never a traceback: JSON `{"error": ..., "status": ...}` under `/api/`,
an HTML page elsewhere; 400 bad query or parameter, 404 unknown id or path, 503 while there is
no usable index or when a search outlives its time budget.
"""

from __future__ import annotations

import logging
import os
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__, render
from ..errors import IncompatibleIndexError, IndexNotFoundError, QueryError, SearchkitError
from ..highlight import find_marks
from ..query import parse
from ..results import MarkedPost
from . import cache, views
from .openapi import openapi_document
from .pool import IndexPool, SearchTimeout, ServerBusy

HERE = Path(__file__).parent
INDEX_ENV = "SEARCHKIT_SERVE_INDEX"
HOSTS_ENV = "SEARCHKIT_SERVE_HOSTS"
CACHE_ENV = "SEARCHKIT_SERVE_CACHE"  # megabytes of answers kept a process; 0: no cache
SIMILAR_ON_POST_PAGE = 5
LOOPBACK_HOSTS = ["127.0.0.1", "localhost"]

# No inline script or style, no other origin: a post's text that slipped past escaping
# could still run nothing. `form-action 'self'` keeps the search form on this server.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # a query is nobody else's business
    (b"x-frame-options", b"DENY"),
]

log = logging.getLogger("searchkit.web")


class NotFound(LookupError):
    """No post with this id (HTTP 404)."""


def create_app(
    index_path: Path | str,
    allowed_hosts: list[str] | None = None,
    pool: IndexPool | None = None,
    cache_megabytes: float = cache.MEGABYTES,
):
    """The ASGI app serving the index at `index_path` (which may not exist yet: the app then
    answers 503 until it does). `allowed_hosts` limits the Host header (None: any);
    up to `cache_megabytes` of answers are kept for the current index state (0: none)."""
    pool = pool or IndexPool(Path(index_path))
    templates = Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,
        )
    )
    templates.env.globals.update(
        marked=views.marked,
        safe_link=views.safe_link,
        post_url=views.post_url,
        local_minute=render.local_minute,
        version=__version__,
    )

    def page(request: Request, name: str, context: dict, status: int = 200) -> Response:
        return templates.TemplateResponse(request, name, context, status_code=status)

    # --- pages ---------------------------------------------------------------------------
    # Each handler hands the pool one function that calls `Index` and renders the answer:
    # snippets and marks are made as the template or JSON reads them, so that work too runs
    # in a pool thread, within the time budget, and never holds up the event loop.

    async def search_page(request: Request) -> Response:
        form = views.SearchForm.from_params(request.query_params)
        if not form.q:
            count = await pool.run(lambda index: index.count())
            return page(request, "home.html", {"form": form, "count": count})

        def search(index) -> Response:
            results = index.search(form.q, **form.search_args())
            facets = index.facets(form.q, **form.filters())
            context = {
                "form": form,
                "results": results,
                "facets": facets,
                "error": None,
                "pages": views.page_numbers(form.page, results.rows),
                "bars": views.timeline_bars(facets.months),
                "first_rank": (form.page - 1) * form.limit + 1,
            }
            return page(request, "search.html", context)

        try:
            return await pool.run(search)
        except QueryError as error:
            return page(request, "search.html", _empty(form, str(error)), status=400)

    async def post_page(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        query = request.query_params.get("q", "")[: views.MAX_QUERY_CHARS]
        terms = _terms(query)

        def read(index) -> Response:
            post = _get(index, doc_id)
            context = {
                "form": views.SearchForm(q=query),
                "post": post,
                "title_marks": find_marks(post.title, terms),
                "body_marks": find_marks(post.body, terms),
                "similar": index.similar(doc_id, limit=SIMILAR_ON_POST_PAGE),
            }
            return page(request, "post.html", context)

        return await pool.run(read)

    # --- the JSON API --------------------------------------------------------------------

    async def api_search(request: Request) -> Response:
        form = views.SearchForm.from_params(request.query_params, views.MAX_API_LIMIT)
        if not form.q:
            raise views.BadRequest("give a query: /api/search?q=缩表")
        with_facets = request.query_params.get("facets", "") in ("1", "true", "yes")

        def search(index) -> Response:
            document = index.search(form.q, **form.search_args()).to_dict()
            if with_facets:
                document["facets"] = index.facets(form.q, **form.filters()).to_dict()
            return JSONResponse(document)

        return await pool.run(search)

    async def api_post(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        terms = _terms(request.query_params.get("q", "")[: views.MAX_QUERY_CHARS], strict=True)

        def read(index) -> Response:
            post = _get(index, doc_id)
            return JSONResponse(MarkedPost(post, tuple(terms)).to_dict())

        return await pool.run(read)

    async def api_similar(request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        limit = views.SearchForm.from_params(request.query_params, views.MAX_API_LIMIT).limit

        def similar(index) -> Response:
            try:
                results = index.similar(doc_id, limit=max(limit, 1))
            except KeyError:
                raise NotFound(doc_id) from None
            return JSONResponse(results.to_dict())

        return await pool.run(similar)

    async def api_stats(request: Request) -> Response:
        figures = await pool.run(lambda index: index.stats())
        return JSONResponse(figures.to_dict())

    async def api_openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(__version__))

    # --- errors --------------------------------------------------------------------------

    def error(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        form = views.SearchForm(q=request.query_params.get("q", "")[: views.MAX_QUERY_CHARS])
        context = {"form": form, "status": status, "message": message}
        return page(request, "error.html", context, status=status)

    async def on_bad_request(request, exc):
        return error(request, 400, str(exc))

    async def on_not_found(request, exc):
        return error(request, 404, f"no post with id {exc.args[0]!r} in this index")

    async def on_no_index(request, exc):
        return error(request, 503, str(exc))

    async def on_library_error(request, exc):
        log.warning("searchkit error on %s: %s", request.url.path, exc)
        return error(request, 503, str(exc))

    async def on_http_error(request, exc: HTTPException):
        message = {404: "no such page", 405: "this server is read-only: GET only"}
        return error(request, exc.status_code, message.get(exc.status_code, str(exc.detail)))

    async def on_bug(request, exc):
        log.exception("internal error on %s", request.url.path)
        return error(request, 500, "internal error; the server log has the details")

    @asynccontextmanager
    async def lifespan(app):
        try:  # load jieba and the index once before the first visitor waits for it
            await pool.run(lambda index: index.count())
        except SearchkitError as problem:
            log.warning("%s", problem)
        yield
        pool.close()

    routes = [
        Route("/", search_page, name="search"),
        Route("/posts/{doc_id:path}", post_page, name="post"),
        Route("/api/search", api_search),
        Route("/api/stats", api_stats),
        Route("/api/openapi.json", api_openapi),
        Route("/api/posts/{doc_id:path}/similar", api_similar),
        Route("/api/posts/{doc_id:path}", api_post),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            views.BadRequest: on_bad_request,
            QueryError: on_bad_request,
            NotFound: on_not_found,
            IndexNotFoundError: on_no_index,
            IncompatibleIndexError: on_no_index,
            SearchTimeout: on_no_index,
            ServerBusy: on_no_index,
            SearchkitError: on_library_error,
            HTTPException: on_http_error,
            Exception: on_bug,
        },
    )
    app = cache.AnswerCache(app, Path(index_path), cache_megabytes)
    if allowed_hosts:
        # Outside the cache: a page on another site cannot read a loopback server through
        # DNS rebinding, not even an answer cached for this machine.
        app = TrustedHostMiddleware(app, allowed_hosts=allowed_hosts)
    return SecurityHeaders(app)


def _get(index, doc_id: str):
    """`index.get(doc_id)`, a `NotFound` for an unknown id. Ids are looked up in the index
    (a stored field), never used as a file path."""
    try:
        return index.get(doc_id)
    except KeyError:
        raise NotFound(doc_id) from None


def _terms(query: str, strict: bool = False) -> list[str]:
    """The texts of `query` to highlight in a post (as `searchkit show --query`); a malformed
    query highlights nothing on a page and is a 400 in the API."""
    if not query.strip():
        return []
    try:
        return parse(query).text_terms()
    except QueryError:
        if strict:
            raise
        return []


def _empty(form: views.SearchForm, message: str) -> dict:
    return {
        "form": form,
        "results": None,
        "facets": None,
        "error": message,
        "pages": [],
        "bars": [],
        "first_rank": 1,
    }


class SecurityHeaders:
    """Adds the security headers to every response, errors and static files included (an
    outer ASGI wrapper: Starlette's own error middleware answers before user middleware)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def app_from_environment():
    """The app for uvicorn's `--factory` (each worker process builds its own): the index in
    `$SEARCHKIT_SERVE_INDEX`, the Host names allowed in `$SEARCHKIT_SERVE_HOSTS`, the
    megabytes of the answer cache in `$SEARCHKIT_SERVE_CACHE`."""
    hosts = [host for host in os.environ.get(HOSTS_ENV, "").split(",") if host]
    megabytes = float(os.environ.get(CACHE_ENV) or cache.MEGABYTES)
    return create_app(os.environ[INDEX_ENV], hosts or None, cache_megabytes=megabytes)


def serve(index_path: Path, host: str = "127.0.0.1", port: int = 8000, workers: int = 1):
    """Run the app under uvicorn until interrupted; `workers` processes share the port."""
    import uvicorn

    os.environ[INDEX_ENV] = str(Path(index_path).absolute())
    # Only for IPv4 names: Starlette's host check cannot parse "[::1]:8000".
    loopback = host in ("127.0.0.1", "localhost")
    os.environ[HOSTS_ENV] = ",".join(LOOPBACK_HOSTS) if loopback else ""
    uvicorn.run(
        "searchkit.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # a log line per request: not what a local search page needs
        log_level="info",
    )
