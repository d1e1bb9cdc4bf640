"""Human-written dates → ISO 8601 dates, generated locally (seeded).

`generate_dates(n, seed)` draws dates uniformly from 1950-01-01 to 2049-12-31
and writes each in one of `FORMATS`, with random capitalisation of the month
and weekday names. Every format has one reading: slashes are US month/day
(`3/14/98`), dots are European day.month (`14.3.1998`), and a two-digit year
`yy` means 19yy for yy >= 50 and 20yy otherwise.
"""

import datetime
import random

_START = datetime.date(1950, 1, 1)
_DAYS = (datetime.date(2049, 12, 31) - _START).days + 1
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _ordinal(day):
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th') }"


#: Format name -> function(date, month name, short month, weekday, short weekday).
FORMATS = {
    "weekday d month yyyy": lambda d, m, mo, w, wd: f"{w} {d.day} {m} {d.year}",
    "weekday, month d, yyyy": lambda d, m, mo, w, wd: f"{w}, {m} {d.day}, {d.year}",
    "wd d mon yyyy": lambda d, m, mo, w, wd: f"{wd} {d.day} {mo} {d.year}",
    "m/d/yy": lambda d, m, mo, w, wd: f"{d.month}/{d.day}/{d.year % 100:02d}",
    "mm/dd/yyyy": lambda d, m, mo, w, wd: f"{d.month:02d}/{d.day:02d}/{d.year}",
    "d.m.yyyy": lambda d, m, mo, w, wd: f"{d.day}.{d.month}.{d.year}",
    "dd.mm.yy": lambda d, m, mo, w, wd: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}",
    "month dth, yyyy": lambda d, m, mo, w, wd: f"{m} {_ordinal(d.day)}, {d.year}",
    "mon d, yyyy": lambda d, m, mo, w, wd: f"{mo} {d.day}, {d.year}",
    "d month yyyy": lambda d, m, mo, w, wd: f"{d.day} {m} {d.year}",
    "dd mon yy": lambda d, m, mo, w, wd: f"{d.day:02d} {mo} {d.year % 100:02d}",
    "dth of month yyyy": lambda d, m, mo, w, wd: f"{_ordinal(d.day)} of {m} {d.year}",
    "the dth of month, yyyy": lambda d, m, mo, w, wd: f"the {_ordinal(d.day)} of {m}, {d.year}",
    "yyyy-mm-dd": lambda d, m, mo, w, wd: d.isoformat(),
    "yyyy/mm/dd": lambda d, m, mo, w, wd: f"{d.year}/{d.month:02d}/{d.day:02d}",
    "month d yyyy": lambda d, m, mo, w, wd: f"{m} {d.day} {d.year}",
}


def _case(word, rng):
    return rng.choice((word, word.capitalize(), word.upper()))


def format_date(date, fmt, rng):
    """`date` written in format `fmt` (a key of `FORMATS`)."""
    month = _case(MONTHS[date.month - 1], rng)
    weekday = _case(WEEKDAYS[date.weekday()], rng)
    return FORMATS[fmt](date, month, month[:3], weekday, weekday[:3])


def generate_dates(n, seed=0, formats=None):
    """`n` pairs `(human_date, iso_date)`, reproducible from `seed`."""
    rng = random.Random(seed)
    formats = list(formats or FORMATS)
    pairs = []
    for _ in range(n):
        date = _START + datetime.timedelta(days=rng.randrange(_DAYS))
        pairs.append((format_date(date, rng.choice(formats), rng), date.isoformat()))
    return pairs


def split_dates(n_train, n_test, seed=0):
    """Disjoint train/test pairs: no human-written string occurs in both."""
    pairs = generate_dates(int((n_train + n_test) * 1.1) + 100, seed)
    unique = list(dict(pairs).items())
    if len(unique) < n_train + n_test:
        raise ValueError(f"Could not draw {n_train + n_test} distinct dates.")
    return unique[:n_train], unique[n_train:n_train + n_test]
