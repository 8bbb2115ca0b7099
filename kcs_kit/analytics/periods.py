"""Periods for analytics: "2020Q1:2021Q1", "2020-01:2020-06", "2020:2021", "2020Q3", "2020-03", "2020-03-15".

A period is a half-open date range ``[start, end)``; a range ``A:B`` runs from the start of A to the end of
B (both included). Buckets (``freq``) are calendar months, quarters or years.

Example::

    >>> from kcs_kit.analytics.periods import parse_period
    >>> p = parse_period("2020Q1:2021Q1")
    >>> (p.start.isoformat(), p.end.isoformat())
    ('2020-01-01', '2021-04-01')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from kcs_kit.errors import SchemaError

FREQS = ("month", "quarter", "year")
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
_TOKEN = re.compile(r"^(?P<y>\d{4})(?:[Qq](?P<q>\d)|-(?P<m>\d{1,2})(?:-(?P<d>\d{1,2}))?)?$")
_FORMS = "YYYY, YYYYQn, YYYY-MM or YYYY-MM-DD, or a range FIRST:LAST such as 2020Q1:2021Q1"


@dataclass(frozen=True)
class Period:
    """Dates ``start`` (included) to ``end`` (excluded), and the text it was parsed from."""

    start: date
    end: date
    text: str

    def __str__(self) -> str:
        return self.text


def add_months(d: date, n: int) -> date:
    """First-of-month arithmetic: ``add_months(date(2020, 11, 1), 3) == date(2021, 2, 1)``."""
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, d.day)


def check_freq(freq: str) -> str:
    if freq not in FREQS:
        raise SchemaError(f"freq {freq!r}: expected one of {', '.join(FREQS)}")
    return freq


def bucket_start(d: date, freq: str) -> date:
    """Start of the month/quarter/year that holds ``d``."""
    step = _MONTHS_PER[check_freq(freq)]
    return date(d.year, (d.month - 1) // step * step + 1, 1)


def _bad(text: str, why: str) -> SchemaError:
    return SchemaError(f"period {text!r}: {why}", hint=f"write the period as {_FORMS}")


def _token(tok: str, text: str) -> tuple[date, date]:
    m = _TOKEN.match(tok.strip())
    if not m:
        raise _bad(text, f"expected {_FORMS}, found {tok.strip()!r}")
    year = int(m["y"])
    if not 1900 <= year <= 2100:
        raise _bad(text, f"year {year} is outside 1900-2100")
    if m["q"]:
        q = int(m["q"])
        if not 1 <= q <= 4:
            raise _bad(text, f"quarter Q{q} is not Q1-Q4")
        start = date(year, 3 * q - 2, 1)
        return start, add_months(start, 3)
    if m["m"]:
        month = int(m["m"])
        if not 1 <= month <= 12:
            raise _bad(text, f"month {month} is not 1-12")
        if m["d"]:
            try:
                day = date(year, month, int(m["d"]))
            except ValueError:
                raise _bad(text, f"{tok.strip()!r} is not a calendar date") from None
            return day, date.fromordinal(day.toordinal() + 1)
        start = date(year, month, 1)
        return start, add_months(start, 1)
    return date(year, 1, 1), date(year + 1, 1, 1)


def parse_period(text: str | Period) -> Period:
    """Parse a period; raises SchemaError naming the bad part (``2020Q5``, ``2021:2020``...)."""
    if isinstance(text, Period):
        return text
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), f"expected {_FORMS}, found nothing")
    parts = text.strip().split(":")
    if len(parts) > 2:
        raise _bad(text, f"expected at most one ':' (FIRST:LAST), found {len(parts) - 1}")
    start, end = _token(parts[0], text)
    if len(parts) == 2:
        last_start, end = _token(parts[1], text)
        if last_start < start:
            raise _bad(text, f"ends ({parts[1].strip()}) before it starts ({parts[0].strip()})")
    return Period(start, end, text.strip())


def query_start(period: Period, freq: str) -> date:
    """Where to start reading so that the first bucket has a previous one for period-over-period change.

    One bucket before ``period.start`` when the period starts on a bucket boundary; else ``period.start``
    (reading earlier would put days outside the period into its first, partial bucket).
    """
    if bucket_start(period.start, freq) == period.start:
        return add_months(period.start, -_MONTHS_PER[freq])
    return period.start
