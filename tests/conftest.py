"""Shared fixtures: small real indexes built in tmp_path from ../shared/corpus posts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from corpus import FINANCE, FINEWS, SHARED

from searchkit import Document, Index

TZ = timezone(timedelta(hours=8))


def pytest_collection_modifyitems(config, items):
    if not SHARED.exists():
        skip = pytest.mark.skip(reason=f"shared corpus not found at {SHARED}")
        for item in items:
            if "needs_corpus" in item.keywords:
                item.add_marker(skip)


HANDMADE = [
    Document(
        id="a",
        title="美联储缩表",
        body="美联储开始缩表。隔夜逆回购规模创新高。",
        date=datetime(2022, 6, 7, tzinfo=TZ),
        categories=("macro",),
        tags=("美联储",),
    ),
    Document(
        id="b",
        title="回购新闻",
        body="公司宣布股份回购计划，回购金额10亿元。",
        date=datetime(2022, 6, 8, tzinfo=TZ),
        categories=("company",),
    ),
    Document(
        id="c",
        title="常备回购便利",
        body="SRF被称为国内常备回购便利。北向交易资金流入。",
        date=datetime(2021, 12, 8, tzinfo=TZ),
    ),
    Document(
        id="d",
        title="北向资金",
        body="今日北向资金净流入50亿元，市场预期降息预期升温。",
        date=datetime(2023, 1, 5, tzinfo=TZ),
        tags=("资金",),
    ),
    Document(id="e", title="縮表", body="聯準會宣佈縮表，ＭＬＦ操作。Federal Reserve 加息。"),
]


@pytest.fixture
def handmade_index(tmp_path):
    index = Index.create(tmp_path / "index")
    index.add(HANDMADE)
    yield index
    index.close()


@pytest.fixture(scope="session")
def finews_index(tmp_path_factory):
    path = tmp_path_factory.mktemp("finews") / "index"
    index = Index.create(path)
    index.update_from(FINEWS)
    yield index
    index.close()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """finews + finance: the 2,644 shared posts."""
    path = tmp_path_factory.mktemp("corpus") / "index"
    index = Index.create(path)
    index.update_from(FINEWS)
    index.update_from(FINANCE)
    yield index
    index.close()
