"""Where a searchkit index's bytes and a query's time go (issue #15, point 1).

`index_parts(folder)` splits the files of an index into the parts a format change would
cut: stored fields (each field's share), each field's term keys and records in the term
table (`searchkit.terms`), postings (in blocks of the postings file, or inlined in the term
record) and, for the word fields, the positions inside those postings; each join field's
records and postings in the join table (`searchkit.joins`); the columns; the vocabulary
file and its suffix array; the term table's block headers, offsets and index.

`stage_times(index, queries)` runs each query once under cProfile (its first run: the
index is opened fresh for it) and adds up each function's own time by pipeline stage,
from the module and function it belongs to. A builtin's time (str.find, zlib, unpickling)
goes to the stage of its callers, shared by how long each call took. cProfile slows Python
code more than C code, so read the stages as shares of a query's time, not as timings.
"""

from __future__ import annotations

import cProfile
import pickle
import pstats
from collections import defaultdict
from pathlib import Path

from searchkit import Index, QueryError, blocks
from searchkit.codec import _WHOOSH, STORED_EXT, TERMS_EXT, _term_info, join_fields, join_table
from searchkit.joins import RECORD_BYTES, encode_postings
from searchkit.stored import PICKLE_PROTOCOL, StoredReader
from searchkit.terms import _offsets
from searchkit.vocabulary import SUFFIX_FILE, VOCAB_FILE

WORD_FIELDS = ("title", "body")

# (path fragment, function names or None for all) -> stage; the first match wins.
STAGES = [
    ("searchkit/vocabulary.py", None, "vocabulary scans"),
    ("searchkit/plan.py", None, "vocabulary scans"),
    ("searchkit/joins.py", None, "posting reads"),
    ("searchkit/stored.py", None, "stored fields"),
    ("searchkit/matching.py", {"_bm25", "_scoring", "score", "weight"}, "scoring"),
    ("searchkit/scoring.py", None, "scoring"),
    ("whoosh/scoring.py", None, "scoring"),
    ("searchkit/matching.py", None, "posting reads"),
    ("searchkit/codec.py", None, "posting reads"),
    ("whoosh/formats.py", None, "positions decoding"),
    ("whoosh/codec/", None, "posting reads"),
    ("whoosh/util/", None, "posting reads"),
    ("whoosh/filedb/", None, "posting reads"),
    ("whoosh/matching/", None, "posting reads"),
    ("whoosh/reading.py", None, "posting reads"),
    ("whoosh/query/", None, "posting reads"),
    ("whoosh/columns.py", None, "stored fields"),
    ("searchkit/highlight.py", None, "snippets"),
    ("searchkit/results.py", None, "stored fields"),
    ("searchkit/searching.py", {"stored_document", "_hit"}, "stored fields"),
    ("searchkit/searching.py", None, "tiers and collection"),
    ("searchkit/collapse.py", None, "tiers and collection"),
    ("whoosh/collectors.py", None, "tiers and collection"),
    ("whoosh/searching.py", None, "tiers and collection"),
    ("/heapq.py", None, "tiers and collection"),
    ("/re/", None, "regular expressions (compiling)"),
    ("importlib", None, "imports on first use"),
    ("searchkit/suggest.py", None, "suggestion (no hits)"),
    ("searchkit/query.py", None, "planning"),
    ("searchkit/synonyms.py", None, "planning"),
    (
        "searchkit/analysis.py",
        {"normalize", "normalize_with_offsets", "_fold", "_fold_offsets", "_places", "__missing__"},
        "normalizing (stored texts, snippets)",
    ),
    ("searchkit/analysis.py", None, "planning (jieba)"),
    ("searchkit/dictionary.py", None, "planning (jieba)"),
    ("jieba/", None, "planning (jieba)"),
    ("searchkit/schema.py", None, "planning"),
    ("searchkit/index.py", None, "index (searcher, generation check)"),
]


def stage_of(filename: str, function: str) -> str:
    """The pipeline stage a profiled function belongs to ("other" if none)."""
    filename = filename.replace("\\", "/")
    for fragment, names, stage in STAGES:
        if fragment in filename and (names is None or function in names):
            return stage
    return "other"


def stage_times(folder: Path, queries: list[str], snippets: bool = True) -> dict[str, float]:
    """Seconds per stage over the first run of each of `queries` on a freshly opened index
    (with cProfile on), plus "total" (the profiled time) and "queries" (how many)."""
    index = Index.open(folder)
    index.search("指数", limit=1)  # opens the searcher and the vocabulary: not a query's cost
    profile = cProfile.Profile()
    profile.enable()
    for query in queries:
        try:
            for hit in index.search(query, limit=10):
                if snippets:
                    hit.marks, hit.title_marks  # noqa: B018
        except QueryError:
            pass
    profile.disable()
    index.close()
    stats = pstats.Stats(profile).stats
    own: dict = {}
    for function in stats:
        filename, _, name = function
        if filename != "~":
            own[function] = stage_of(filename, name)
    times: dict[str, float] = defaultdict(float)
    for function, (_, _, tottime, _, callers) in stats.items():
        if function in own:
            times[own[function]] += tottime
            continue
        # A builtin: its time goes to its callers' stages, in proportion to each caller's share.
        shares = {caller: figures[2] for caller, figures in callers.items()}
        whole = sum(shares.values())
        for caller, share in shares.items():
            stage = own.get(caller, "other")
            times[stage] += tottime * (share / whole if whole else 1 / len(shares))
    times["total"] = sum(times.values())
    times["queries"] = len(queries)
    return dict(times)


# --- bytes ---------------------------------------------------------------------------------


def index_parts(folder: Path) -> list[tuple[str, int]]:
    """(part, bytes) for every part of the index in `folder`, largest first; they add up to
    the size of the files under it."""
    parts: dict[str, int] = defaultdict(int)
    index = Index.open(folder)
    reader = index._whoosh.reader()
    try:
        for leaf in reader.leaf_readers():
            leaf = leaf[0] if isinstance(leaf, tuple) else leaf
            _term_parts(leaf, parts)
            _join_parts(leaf, parts)
            _column_parts(leaf, parts)
    finally:
        reader.close()
        index.close()
    total = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    for name, part in ((VOCAB_FILE, "vocabulary file"), (SUFFIX_FILE, "its suffix array")):
        parts[f"{part} ({name})"] += sum(path.stat().st_size for path in folder.rglob(name))
    parts["other (headers, tables of contents, metadata)"] += total - sum(parts.values())
    return sorted(parts.items(), key=lambda item: -item[1])


def _term_parts(leaf, parts: dict[str, int]) -> None:
    """The term table's and postings file's bytes, by field and kind: each term's key as
    stored (front-coded in its block; a block's first key whole), its record (statistics,
    or the start of an inlined record), its inlined postings, and its blocks in the postings
    file; the table's block headers and offsets, block index and trailer."""
    terms = leaf._terms
    table = terms._table
    postfile = terms._postfile
    counted = 0
    for field, _, record in table.items():  # (reads the block index, for the keys below)
        counted += len(record)
        info = _term_info(record)
        if info.is_inlined() and record[:1] != _WHOOSH:
            text = str(record, "utf-8", "surrogatepass")
            head = len(text[:4].encode("utf-8", "surrogatepass"))  # kind, lengths, count
            values = info.inlined_postings()[2]
            positions = len(values[0].encode("utf-8", "surrogatepass")) if values else 0
            parts[f"{field}: term records"] += head
            if field in WORD_FIELDS:
                parts[f"{field}: inlined postings, positions"] += positions
                ids_and_counts = len(record) - head - positions
                parts[f"{field}: inlined postings, ids and counts"] += ids_and_counts
            else:
                parts[f"{field}: inlined postings"] += len(record) - head
            continue
        parts[f"{field}: term records"] += len(record)
        if info.is_inlined():  # Whoosh's own record (not in searchkit's fields)
            continue
        offset, length = info.extent()
        if field in WORD_FIELDS:
            positions = _block_positions(postfile, offset, length)
            parts[f"{field}: postings blocks, positions"] += positions
            parts[f"{field}: postings blocks, ids and counts"] += length - positions
        else:
            parts[f"{field}: postings blocks"] += length
    for field, (first, end) in table._fields.items():
        for number in range(first, end):
            count, offsets = _offsets(table._block(number))
            keys = offsets[count] - offsets[0] + len(table._firsts[number])
            parts[f"{field}: term keys"] += keys
            counted += keys
    storage = leaf._storage
    segment = leaf._segment
    parts["term table overhead (block headers and offsets, index)"] += (
        storage.file_length(segment.make_filename(TERMS_EXT)) - counted
    )


def _join_parts(leaf, parts: dict[str, int]) -> None:
    """The join table's bytes, by field: a record per join, and its postings (encoded again:
    the encoding is deterministic); its header goes to "other"."""
    if not join_fields(leaf.schema):
        return
    for field, _, documents, counts in join_table(leaf).items():
        parts[f"{field}: join table records"] += RECORD_BYTES
        parts[f"{field}: join table postings"] += len(encode_postings(documents, counts))


def _block_positions(postfile, offset: int, length: int) -> int:
    """How many of a term's postings bytes are positions: each block's second part, stored
    apart from its documents and counts (`searchkit.blocks`)."""
    positions, position, end = 0, offset + 4, offset + length  # 4: the postings' magic
    while position < end:
        size = abs(blocks.LENGTH.unpack(postfile.get(position, blocks.LENGTH.size))[0])
        header = blocks.header_of(postfile.get(position + blocks.LENGTH.size, blocks.HEADER.size))
        positions += size - blocks.HEADER.size - header.first_part
        position += blocks.LENGTH.size + size
    return positions


def _column_parts(leaf, parts: dict[str, int]) -> None:
    """The per-document columns; the stored fields' dictionary and offsets, and their
    documents split by each field's share of the uncompressed values (they are compressed
    together, a document at a time: `searchkit.stored`)."""
    storage, segment = leaf._storage, leaf._segment
    prefix = segment.make_filename(".")
    stored_name = segment.make_filename(STORED_EXT)
    for name in storage.list():
        if name.startswith(prefix) and name.endswith(".col") and name != stored_name:
            column = name[len(prefix) : -len(".col")]
            parts[f"column {column}"] += storage.file_length(name)
    length = storage.file_length(stored_name)
    handle = storage.open_file(stored_name)
    try:
        overhead = StoredReader(handle.read(), 0, length).overhead
    finally:
        handle.close()
    parts["stored fields: dictionary and offsets"] += overhead
    sizes: dict[str, int] = defaultdict(int)
    for docnum in range(leaf.doc_count_all()):
        for field, value in leaf.stored_fields(docnum).items():
            sizes[field] += len(pickle.dumps(value, PICKLE_PROTOCOL))
    whole = sum(sizes.values()) or 1
    for field, size in sizes.items():
        parts[f"stored {field}"] += round((length - overhead) * size / whole)
