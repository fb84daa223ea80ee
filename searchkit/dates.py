"""The archive's calendar: the UTC+08:00 zone and the naive-UTC times the index stores.

One definition each, for every stage that reads or writes a date: front matter without a
zone, `Document.date`, `since`/`until`, `date:` in a query, facets' months and what the
commands print. Whoosh's `DATETIME` field stores naive datetimes, so the index holds UTC
with the zone dropped.

>>> from datetime import datetime
>>> to_index_time(datetime(2022, 6, 7, 8, 0))        # 08:00 in UTC+08:00
datetime.datetime(2022, 6, 7, 0, 0)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

# The zone of the archives (Chinese news): a date or time without a zone is read in it.
CHINA_TIME = timezone(timedelta(hours=8))


def to_index_time(moment: datetime | date) -> datetime:
    """A date or datetime as naive UTC, the way the index stores dates. A naive datetime or
    a `date` (its midnight) is taken as UTC+08:00; a year too close to 1 or 9999 to move
    by eight hours becomes `datetime.min` or `datetime.max`."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TIME)
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if moment.year < 2 else datetime.max


def china_month(moment: datetime) -> str:
    """`YYYY-MM` of an aware datetime in UTC+08:00 (a facet's month)."""
    return f"{moment.astimezone(CHINA_TIME):%Y-%m}"


def china_day(moment: datetime) -> str:
    """`YYYY-MM-DD` of an aware datetime in UTC+08:00."""
    return f"{moment.astimezone(CHINA_TIME):%Y-%m-%d}"
