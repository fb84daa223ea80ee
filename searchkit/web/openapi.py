"""The OpenAPI 3.1 description of the JSON API, served at `/api/openapi.json`.

Written out rather than generated: four read-only endpoints whose documents are the CLI's
`--json` ones (`SearchResults`, `MarkedPost`, `SimilarPosts` and `Facets.to_dict()`).
"""

from __future__ import annotations

_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_MARKS = {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}}
_COUNTS = {"type": "array", "items": {"type": "array", "prefixItems": [_TEXT, {"type": "integer"}]}}

_POST = {
    "id": _TEXT,
    "path": _NULLABLE_TEXT,
    "url": _NULLABLE_TEXT,
    "title": _TEXT,
    "date": {"type": ["string", "null"], "format": "date-time"},
    "categories": {"type": "array", "items": _TEXT},
    "tags": {"type": "array", "items": _TEXT},
}
_HIT = {
    "type": "object",
    "properties": {
        **_POST,
        "score": {"type": "number"},
        "exact": {"type": "boolean"},
        "match": {"enum": ["exact", "synonym", "relaxed"]},
        "snippet": _TEXT,
        "marks": _MARKS,
        "title_marks": _MARKS,
        "duplicates": {
            "type": "integer",
            "description": "More matching posts folded into this row as near-duplicates.",
        },
    },
}
_ERROR = {
    "type": "object",
    "properties": {"error": _TEXT, "status": {"type": "integer"}},
    "required": ["error", "status"],
}


def _param(name: str, description: str, schema: dict | None = None, where: str = "query"):
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or _TEXT,
    }


def _answers(schema: dict, *errors: int) -> dict:
    reasons = {
        400: "A malformed query or parameter.",
        404: "No post with this id.",
        503: "No usable index yet, or the search outlived its time budget.",
    }
    answers = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    for status in errors:
        answers[str(status)] = {
            "description": reasons[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
    return answers


_FILTERS = [
    _param("since", "Posts from this date on: YYYY, YYYY-MM or YYYY-MM-DD (UTC+08:00)."),
    _param("until", "Posts up to the end of this date."),
    _param("category", "Only posts in this category."),
    _param("tag", "Only posts with this tag."),
]
_ID = _param("id", "A post id, as search hits give it.", where="path")


def openapi_document(version: str) -> dict:
    """The API's OpenAPI document."""
    search_schema = {
        "type": "object",
        "properties": {
            "query": _TEXT,
            "total": {"type": "integer"},
            "exact_total": {"type": "integer"},
            "synonym_total": {"type": "integer"},
            "suggestion": _NULLABLE_TEXT,
            "rows": {
                "type": "integer",
                "description": "Rows the pages hold (total less collapsed).",
            },
            "collapsed": {"type": "integer", "description": "Posts folded into another's row."},
            "hits": {"type": "array", "items": _HIT},
            "facets": {
                "type": "object",
                "description": "Only with facets=1: counts over every matching post.",
                "properties": {
                    "total": {"type": "integer"},
                    "categories": _COUNTS,
                    "tags": _COUNTS,
                    "months": _COUNTS,
                    "undated": {"type": "integer"},
                },
            },
        },
    }
    post_schema = {
        "type": "object",
        "properties": {**_POST, "body": _TEXT, "title_marks": _MARKS, "body_marks": _MARKS},
    }
    similar_schema = {
        "type": "object",
        "properties": {
            "id": _TEXT,
            "words": {"type": "array", "items": _TEXT},
            "hits": {"type": "array", "items": _HIT},
        },
    }
    limit = {"type": "integer", "minimum": 0, "maximum": 100, "default": 10}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "searchkit",
            "version": version,
            "description": "Read-only search over a Jekyll news archive. Documents are those "
            "of `searchkit search/show/similar/stats --json`.",
        },
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search: ranked hits with snippets and marks.",
                    "parameters": [
                        _param("q", "The query (at most 200 characters), as `searchkit search`."),
                        *_FILTERS,
                        _param("sort", "relevance or date.", {"enum": ["relevance", "date"]}),
                        _param("page", "1-based page.", {"type": "integer", "minimum": 1}),
                        _param("limit", "Hits a page.", limit),
                        _param("all", "1 to show every post: no folding of near-duplicates."),
                        _param("facets", "1 to add category, tag and month counts."),
                    ],
                    "responses": _answers(search_schema, 400, 503),
                }
            },
            "/api/posts/{id}": {
                "get": {
                    "summary": "One post, whole, with the marks of an optional query.",
                    "parameters": [_ID, _param("q", "A query whose matches to mark.")],
                    "responses": _answers(post_schema, 400, 404, 503),
                }
            },
            "/api/posts/{id}/similar": {
                "get": {
                    "summary": "The posts most like this one.",
                    "parameters": [_ID, _param("limit", "How many.", limit)],
                    "responses": _answers(similar_schema, 400, 404, 503),
                }
            },
            "/api/stats": {
                "get": {
                    "summary": "Figures about the index, as `searchkit stats --json`.",
                    "responses": _answers({"type": "object"}, 503),
                }
            },
        },
    }
