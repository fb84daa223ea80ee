"""A pytest plugin that runs whoosh-reloaded's own test suite on searchkit's codec and pool.

`tests/test_codec.py::test_whoosh_suite` loads it (`-p searchkit_plugin`) in an unpacked
whoosh-reloaded sdist of the installed version. Every Whoosh index writer is then searchkit's
`codec.Writer` (its block-at-a-time segment merge), writing with `codec.Codec` and
`codec.TermPool`, as a searchkit commit does, and Whoosh's tests read the segments back
through all of Whoosh's code paths. (Whoosh's merge policy stays: its tests count segments.)

The tests of what searchkit does not use are listed in `SKIPPED`, each with its reason.
"""

from __future__ import annotations

import pytest
import whoosh.codec
import whoosh.index
import whoosh.writing

from searchkit.codec import Codec, TermPool, Writer

WHOOSH_POOL = whoosh.writing.PostingPool
whoosh.codec.default_codec = lambda *args, **kwargs: Codec()
whoosh.writing.PostingPool = lambda *args, **kwargs: TermPool()
WHOOSH_WRITER = whoosh.index.FileIndex.writer


def _writer(self, procs=1, **kwargs):
    return Writer(self, **kwargs) if procs <= 1 else WHOOSH_WRITER(self, procs, **kwargs)


whoosh.index.FileIndex.writer = _writer

# searchkit turns per-block length statistics off (Codec.length_stats): it counts every match
# and never skips a block by its best possible score, so the term records have no lengths.
NO_LENGTH_STATS = "searchkit writes no field-length statistics into term records"
SKIPPED = {
    "test_indexing.py::test_many_lengths": NO_LENGTH_STATS,
    "test_quality.py::test_term_stats": NO_LENGTH_STATS,
}
# Whoosh's multiprocess writer hands each sub-writer's pool to the parent as sorted runs on
# disk; TermPool holds a commit in memory and has no runs. searchkit never uses that writer
# (its own processes analyze posts; one SegmentWriter writes), so these tests keep Whoosh's
# pool and check searchkit's codec alone.
WHOOSH_POOL_FILES = {"test_mpwriter.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = SKIPPED.get(item.nodeid.rsplit("/", 1)[-1])
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _posting_pool(request, monkeypatch):
    if request.node.path.name in WHOOSH_POOL_FILES:
        monkeypatch.setattr(whoosh.writing, "PostingPool", WHOOSH_POOL)
    yield
