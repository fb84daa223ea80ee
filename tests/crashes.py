"""What a power cut can leave of a commit, and whether the index then opens as it was before
the commit or as after it (issue #17, point 6). `tests/test_durability.py` runs a short
version; `python tests/crashes.py` a longer one with its figures.

`record(commit, index)` runs `commit()` in this process with `os.fsync`, `os.rename`,
`os.replace`, `os.unlink` and `os.remove` wrapped: after each call it takes a snapshot of
the index folder (every file's bytes), and after an fsync it notes the synced file's
content as durable. A crash after the k-th of those calls can leave (the model):

* the folder as it was after the call: the renames and deletions up to there, in order (a
  journaling file system such as ext4 commits metadata in order: a later rename on disk
  implies the earlier ones are), with every file written by then;
* except that a file whose content was never synced (under any name) may have lost its
  data: each such file whole, empty, or cut to half its length (all at once).

`crash_states` yields every such state once; `outcome` opens a copy of one and compares its
answers with those before and after the commit: "old", "new", or what else happened.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from searchkit import Index, SearchkitError

QUERIES = ["降准", "美联储", "缩表", "央行", "降息"]


def snapshot(index: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under `index`, by relative path."""
    found = {}
    for entry in sorted(index.rglob("*")):
        relative = str(entry.relative_to(index))
        found[relative] = entry.read_bytes() if entry.is_file() else None
    return found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Recording:
    """The snapshots taken after each file-system call of a commit, and the contents
    durable at each point."""

    def __init__(self, before: dict):
        self.calls: list[str] = []
        self.snapshots: list[dict] = [before]
        durable = {digest(data) for data in before.values() if data is not None}
        self.durable: list[set[str]] = [durable]


@contextmanager
def recording(index: Path) -> Iterator[Recording]:
    """Record the file-system calls made inside the block (see the module docstring)."""
    record = Recording(snapshot(index))
    real = {name: getattr(os, name) for name in ("fsync", "rename", "replace", "unlink", "remove")}

    def after(name: str, synced: bytes | None = None) -> None:
        durable = set(record.durable[-1])
        if synced is not None:
            durable.add(digest(synced))
        record.calls.append(name)
        record.snapshots.append(snapshot(index))
        record.durable.append(durable)

    def fsync(fd):
        real["fsync"](fd)
        target = os.readlink(f"/proc/self/fd/{fd}")
        synced = Path(target).read_bytes() if os.path.isfile(target) else None
        after("fsync", synced)

    def wrapped(name):
        def call(*args, **kwargs):
            result = real[name](*args, **kwargs)
            after(name)
            return result

        return call

    os.fsync = fsync
    for name in ("rename", "replace", "unlink", "remove"):
        setattr(os, name, wrapped(name))
    try:
        yield record
    finally:
        for name, function in real.items():
            setattr(os, name, function)
    after("end")


def crash_states(record: Recording) -> Iterator[tuple[int, str, dict]]:
    """(calls done, how un-synced data fared, the folder's files) for every distinct state a
    crash can leave: un-synced files all kept, all emptied, all cut to half, or one of them
    emptied and the others kept."""
    seen = set()
    for k, (files, durable) in enumerate(zip(record.snapshots, record.durable, strict=True)):
        unsynced = [
            name for name, data in files.items() if data is not None and digest(data) not in durable
        ]
        fates = [("kept", {})]
        if unsynced:
            fates.append(("emptied", {name: b"" for name in unsynced}))
            fates.append(
                ("halved", {name: files[name][: len(files[name]) // 2] for name in unsynced})
            )
        if len(unsynced) > 1:
            fates += [(f"{name} emptied", {name: b""}) for name in unsynced]
        for fate, lost in fates:
            state = {**files, **lost}
            key = digest(
                b"".join(n.encode() + b"\0" + (d or b"") for n, d in sorted(state.items()))
            )
            if key not in seen:
                seen.add(key)
                yield k, fate, state


def answers(index: Path) -> tuple:
    """What the index answers: its count and each query's hit ids."""
    with Index.open(index) as opened:
        return opened.count(), tuple(
            tuple(hit.id for hit in opened.search(query, limit=1000, collapse=False))
            for query in QUERIES
        )


def outcome(state: dict, old: tuple, new: tuple) -> str:
    """ "old", "new", "refused: <error>" (an `IndexCorruptError`: detected, not wrong), or
    "WRONG ..." for a copy of `state` that answers anything else."""
    with tempfile.TemporaryDirectory(prefix="searchkit-crash-") as scratch:
        copy = Path(scratch) / "index"
        copy.mkdir()
        for name, data in sorted(state.items()):
            if data is None:
                (copy / name).mkdir(parents=True, exist_ok=True)
            else:
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                (copy / name).write_bytes(data)
        try:
            got = answers(copy)
        except SearchkitError as error:
            return f"refused: {type(error).__name__}"
        except Exception as error:  # noqa: BLE001 - what the test is looking for
            return f"WRONG: {type(error).__name__}: {error}"
    if got == new:
        return "new"
    return "old" if got == old else "WRONG answers"


def replay(index: Path, commit: Callable[[], None]) -> Counter:
    """Run `commit` on `index` recording it, then open every crash state; the outcomes
    counted ("old", "new", ...), with "states" and "calls" as their numbers."""
    old = answers(index)
    with recording(index) as record:
        commit()
    new = answers(index)
    assert new != old, "the commit must change the answers"
    counts = Counter()
    for _, fate, state in crash_states(record):
        counts[outcome(state, old, new)] += 1
        counts["with data lost"] += fate != "kept"
    counts["states"] = sum(v for k, v in counts.items() if k != "with data lost")
    counts["calls"] = len(record.calls)
    return counts


def write_posts(folder: Path, count: int, start: int = 0, word: str = "降准") -> Path:
    """`count` small posts about `word` in `folder` (the durability and integrity tests use
    them too)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (folder / f"2026-01-{i % 28 + 1:02d}-post{i}.md").write_text(
            f"---\ntitle: {word}消息{i}\ndate: 2026-01-{i % 28 + 1:02d}\n---\n"
            f"<p>央行宣布{word}，第{i}篇。美联储缩表。</p>\n",
            "utf-8",
        )
    return folder


def scenarios(root: Path, posts: int) -> Iterator[tuple[str, Path, Callable[[], None]]]:
    """(name, index, commit) for an update (3 new posts, 1 edited, 1 removed; it folds the
    new segment into the old one, as `codec.fold_into_largest` does with small ones), a
    deletion by id and a rebuild, each on an index of `posts` posts."""
    for name in ("update", "delete", "rebuild"):
        folder = write_posts(root / name / "posts", posts)
        index = root / name / "index"
        with Index.create(index) as opened:
            opened.update_from(folder)
        write_posts(folder, 3, start=posts, word="降息")
        (folder / "2026-01-01-post0.md").unlink()
        edited = folder / "2026-01-02-post1.md"
        edited.write_text(edited.read_text("utf-8").replace("美联储", "缩表"), "utf-8")

        def commit(index=index, folder=folder, name=name):
            with Index.open(index) as opened:
                if name == "update":
                    opened.update_from(folder)
                elif name == "delete":
                    opened.delete(["2026-01-03-post2.md", "2026-01-04-post3.md"])
                else:
                    opened.rebuild()

        yield name, index, commit


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=200, help="posts in each index")
    args = parser.parse_args()
    wrong = 0
    with tempfile.TemporaryDirectory(prefix="searchkit-crashes-") as scratch:
        for name, index, commit in scenarios(Path(scratch), args.posts):
            counts = replay(index, commit)
            wrong += sum(v for k, v in counts.items() if k.startswith("WRONG"))
            print(f"{name}: {dict(sorted(counts.items()))}")
    return 1 if wrong else 0


if __name__ == "__main__":
    raise SystemExit(main())
