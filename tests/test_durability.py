"""Durability (issue #17): what a commit syncs, and in which order; a full disk.

Runs on hand-made posts, without the shared corpus.
"""

from __future__ import annotations

import os
from pathlib import Path

from conftest import HANDMADE

from searchkit import Index
from searchkit.storage import CURRENT


def write_posts(folder: Path, count: int, start: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (folder / f"2026-01-{i % 28 + 1:02d}-post{i}.md").write_text(
            f"---\ntitle: 降准消息{i}\ndate: 2026-01-{i % 28 + 1:02d}\n---\n"
            f"<p>央行宣布降准，第{i}篇。美联储缩表。</p>\n",
            "utf-8",
        )
    return folder


class FileOperations:
    """The fsyncs and renames a process makes, in order: ("fsync", path) and
    ("rename", old, new)."""

    def __init__(self, monkeypatch):
        self.events: list[tuple] = []
        fsync, replace, rename = os.fsync, os.replace, os.rename

        def record_fsync(fd):
            self.events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
            return fsync(fd)

        def recorder(real):
            def record_rename(old, new, *args, **kwargs):
                self.events.append(("rename", os.path.abspath(old), os.path.abspath(new)))
                return real(old, new, *args, **kwargs)

            return record_rename

        monkeypatch.setattr(os, "fsync", record_fsync)
        monkeypatch.setattr(os, "replace", recorder(replace))
        monkeypatch.setattr(os, "rename", recorder(rename))

    def rename_to(self, target: Path) -> int:
        """The position of the (last) rename onto `target`."""
        found = [i for i, e in enumerate(self.events) if e[0] == "rename" and e[2] == str(target)]
        assert found, f"nothing was renamed to {target}: {self.events}"
        return found[-1]

    def synced_before(self, path: Path, position: int) -> bool:
        """Whether `path`'s data was synced before `position`: the file itself, or the file
        renamed onto it, synced under its earlier name."""
        names = {str(path)}
        for event in reversed(self.events[: position + 1]):
            if event[0] == "rename" and event[2] in names:
                names.add(event[1])
            elif event[0] == "fsync" and event[1] in names:
                return True
        return False

    def synced_after(self, path: Path, position: int) -> bool:
        return ("fsync", str(path)) in self.events[position + 1 :]


def test_an_update_syncs_every_new_file_and_the_folder_around_the_toc_rename(tmp_path, monkeypatch):
    index = Index.create(tmp_path / "index")
    index.add(HANDMADE[:2])
    folder = (tmp_path / "index" / index._generation).resolve()
    before = set(folder.iterdir())
    operations = FileOperations(monkeypatch)
    index.add(HANDMADE[2:])
    index.close()
    monkeypatch.undo()

    tocs = sorted(folder.glob("_MAIN_*.toc"))
    assert len(tocs) == 1
    toc_rename = operations.rename_to(tocs[0])
    new_files = [f for f in folder.iterdir() if f not in before and f.name != "LOCK"]
    assert any(f.suffix == ".seg" for f in new_files), new_files
    for new_file in new_files + [folder / "vocab.txt"]:
        assert operations.synced_before(new_file, toc_rename), new_file.name
    assert operations.synced_before(folder, toc_rename)
    assert operations.synced_after(folder, toc_rename)


def test_a_rebuild_syncs_every_file_of_the_generation_before_current_names_it(
    tmp_path, monkeypatch
):
    posts = write_posts(tmp_path / "posts", 6)
    index = Index.create(tmp_path / "index")
    index.update_from(posts)
    operations = FileOperations(monkeypatch)
    index.rebuild()
    monkeypatch.undo()

    root = (tmp_path / "index").resolve()
    folder = root / index._generation
    index.close()
    current_rename = operations.rename_to(root / CURRENT)
    files = [f for f in folder.iterdir() if f.is_file() and f.name != "LOCK"]
    assert {"meta.json", "vocab.txt", "READERS"} <= {f.name for f in files}
    for path in files + [folder, root]:
        assert operations.synced_before(path, current_rename), path.name
    assert operations.synced_before(root / CURRENT, current_rename)
    assert operations.synced_after(root, current_rename)
