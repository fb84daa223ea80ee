"""Near-duplicates: the key each post gets at index time, and reading the keys back.

Posts with the same body, and templated notices that differ only in numbers and dates (the
daily 同花顺 "人民币兑美元中间价报6.8375，较上日调高60点" notices), share a key; a search
shows the best-ranked post of each key once, with how many more there are (`searching.py`).
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections import Counter

from .codec import bytes_column

KEY_FIELD = "dupkey"

# Every digit (ASCII, full-width, other scripts: Python's \d is Unicode) and all whitespace.
# Dates go with their digits: "5月19日" and "5月20日" both leave "月日".
_VARYING = re.compile(r"[\d\s]+")


def duplicate_key(title: str, body: str) -> bytes:
    """An 8-byte key shared by posts whose body (or, for a post without one, title) is the
    same once digits and whitespace are dropped.

    Not `analysis.normalize`: the key is never matched against typed text, and normalizing
    every body a second time would cost indexing time for the rare post that repeats
    another one in traditional characters.

    >>> duplicate_key("", "报6.8375，调高60点") == duplicate_key("", "报6.8397，调高 22 点")
    True
    """
    text = _VARYING.sub("", body) or _VARYING.sub("", title)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def document_keys(searcher) -> list[bytes] | None:
    """Every document's key by document number, read once per searcher (8 bytes a post);
    None for an index built before the keys existed, whose searches are not collapsed
    (`schema.fit_to`). A document without a key has b"", which folds with nothing."""
    if KEY_FIELD not in searcher.schema:
        return None
    keys = _KEYS.get(searcher)
    if keys is None:
        keys = []
        for reader, _offset in searcher.reader().leaf_readers():
            # One read a segment: a document at a time, 20,000 keys took 50 ms.
            keys += bytes_column(reader, KEY_FIELD)
        _KEYS[searcher] = keys
    return keys


def shared_key_documents(searcher) -> frozenset[int]:
    """The documents whose key another document shares: the only ones a search can fold,
    so it counts rows and near-duplicates among a tier's matches in these, not in every
    match (a headline matches most of 60,000 articles: ~9 ms a search). Read once per
    searcher from `document_keys`, which must not be None."""
    shared = _SHARED.get(searcher)
    if shared is None:
        keys = document_keys(searcher)
        repeated = {key for key, count in Counter(keys).items() if count > 1 and key}
        shared = frozenset(doc for doc, key in enumerate(keys) if key in repeated)
        _SHARED[searcher] = shared
    return shared
