"""`searchkit serve`: the search page and JSON API over an index (see docs/serve.md).

>>> from searchkit.web import create_app
>>> app = create_app("index")          # an ASGI app: uvicorn, or httpx/Starlette's TestClient
"""

from .app import create_app, serve

__all__ = ["create_app", "serve"]
