"""dates.py: one zone (UTC+08:00) and one conversion to the naive UTC the index stores, the
same for front matter, `Document.date`, `since`/`until` and the facets' months."""

from datetime import date, datetime, timedelta, timezone

import pytest
from corpus import REFERENCE_POST

from searchkit import Document, Index
from searchkit.dates import CHINA_TIME, china_day, china_month, to_index_time
from searchkit.documents import read_post


def test_the_archive_zone_is_eight_hours_east_of_utc():
    assert CHINA_TIME.utcoffset(None) == timedelta(hours=8)


@pytest.mark.parametrize(
    ("moment", "stored"),
    [
        (datetime(2022, 6, 7, 8, 0), datetime(2022, 6, 7, 0, 0)),  # naive: UTC+08:00
        (date(2022, 6, 7), datetime(2022, 6, 6, 16, 0)),  # a date: its midnight there
        (datetime(2022, 6, 7, 8, 0, tzinfo=timezone.utc), datetime(2022, 6, 7, 8, 0)),
        (datetime(2022, 6, 7, 1, tzinfo=timezone(timedelta(hours=-5))), datetime(2022, 6, 7, 6)),
    ],
)
def test_index_time_is_naive_utc(moment, stored):
    converted = to_index_time(moment)
    assert converted == stored and converted.tzinfo is None


def test_a_year_too_close_to_the_ends_is_clamped_not_an_overflow():
    assert to_index_time(datetime(1, 1, 1, 3)) == datetime.min
    far_west = timezone(timedelta(hours=-8))
    assert to_index_time(datetime(9999, 12, 31, 23, tzinfo=far_west)) == datetime.max


def test_days_and_months_are_those_of_the_archive_calendar():
    evening_utc = datetime(2022, 5, 31, 17, 0, tzinfo=timezone.utc)  # 01:00 on 1 June there
    assert china_day(evening_utc) == "2022-06-01"
    assert china_month(evening_utc) == "2022-06"


@pytest.mark.needs_corpus
def test_a_front_matter_date_is_read_and_stored_in_the_archive_zone(tmp_path):
    post = read_post(REFERENCE_POST)  # date: 2022-06-07 13:59:10 +0800
    assert post.date == datetime(2022, 6, 7, 13, 59, 10, tzinfo=CHINA_TIME)
    with Index.create(tmp_path / "index") as index:
        index.update_from(REFERENCE_POST)
        assert index.stats().first_date == datetime(2022, 6, 7, 5, 59, 10, tzinfo=timezone.utc)
        assert index.search("缩表", since="2022-06-07", until="2022-06-07").total == 1
        assert index.search("缩表", until="2022-06-06").total == 0


def test_since_until_and_facets_share_the_rule_for_dates_without_a_zone(tmp_path):
    # 00:30 on 1 June in UTC+08:00 is 31 May in UTC: every stage must say June.
    just_after_midnight = datetime(2022, 6, 1, 0, 30)
    with Index.create(tmp_path / "index") as index:
        index.add(Document(id="p", title="降准", body="央行降准", date=just_after_midnight))
        assert index.get("p").date == just_after_midnight.replace(tzinfo=CHINA_TIME)
        assert index.search("降准", since=date(2022, 6, 1)).total == 1
        assert index.search("降准", since="2022-06-01").total == 1
        assert index.search("降准", until="2022-05-31").total == 0
        assert index.search("降准 date:2022-06").total == 1
        assert index.facets("降准").months == [("2022-06", 1)]
