"""No query string crashes or hangs: each returns results or raises QueryError."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchkit import QueryError

QUERY_PIECES = st.sampled_from(
    [
        '"',
        "“",
        "”",
        "OR",
        "NOT",
        "AND",
        "-",
        "(",
        ")",
        ":",
        "title:",
        "tag:",
        "date:",
        "date:2022-06",
        "date:..",
        "*",
        "?",
        "缩表",
        "回购",
        "ＭＬＦ",
        " ",
        "\0",
        "🙂",
        "　",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(QUERY_PIECES, st.text(max_size=12)), max_size=8).map("".join))
def test_any_query_returns_results_or_query_error(handmade_index, query):
    started = time.monotonic()
    try:
        results = handmade_index.search(query)
        assert results.total >= len(results.hits)
    except QueryError as error:
        assert str(error) and "\n" not in str(error)
    assert time.monotonic() - started < 5.0
