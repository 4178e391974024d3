"""The parser's fast paths against the plain forms they replaced, on adversarial inputs.

Each fast path (bench/staging.py measures why it exists) must give exactly what the plain
form gives: the plain forms are kept here as the oracles.
"""

import re
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from newswh.parse import clean_lines
from newswh.trailer import _STANDARD_FIELDS, _STANDARD_OBJECT, pic_times

PLAIN_STANDARD_OBJECT = re.compile(
    r'\{"id":"([^"]*)","sort":"([^"]*)","contenttypeid":"([^"]*)","pic":"([^"]*)","title":"(.*?)"\}'
    r'(?=\s*(?:,\s*\{"id"|\]$))',
    re.DOTALL,
)
"""The title matched a character at a time: slower, obviously the shortest title."""

title_text = st.text(alphabet=st.sampled_from(['"', "}", "{", ",", "]", " ", "\n", "a", "Z", "\\", "'", "”"]), max_size=12)
field_text = st.text(alphabet=st.sampled_from(['"', "1", "9", " ", "/", "x"]), max_size=4)


@st.composite
def trailer_bodies(draw: st.DrawFn) -> str:
    objects = [
        '{"id":"%s","sort":"%s","contenttypeid":"%s","pic":"%s","title":"%s"}'
        % (draw(field_text), draw(field_text), draw(field_text), draw(field_text), draw(title_text))
        for _ in range(draw(st.integers(0, 4)))
    ]
    separators = [draw(st.sampled_from([",", " ,", "\n,\n", ",,", ""])) for _ in objects]
    body = "[" + "".join(sep + obj if index else obj for index, (sep, obj) in enumerate(zip(separators, objects)))
    return body + draw(st.sampled_from(["]", " ]", "", "]\n", "}]"]))


@settings(max_examples=500, deadline=None)
@given(trailer_bodies())
def test_standard_object_regex_finds_what_the_plain_one_does(body: str) -> None:
    """The objects found in their list, then their values read from each object's text alone."""
    values = [_STANDARD_FIELDS.fullmatch(text).groups() for text in _STANDARD_OBJECT.findall(body)]
    assert values == PLAIN_STANDARD_OBJECT.findall(body)


def plain_uploaded_at(ticks: str, folder_date: date | None, tolerance_days: int) -> datetime | None:
    """The upload time as first written: a datetime built, then compared as dates."""
    uploaded = datetime(1, 1, 1) + timedelta(microseconds=int(ticks) // 10)
    if uploaded.year not in range(2000, 2031):
        return None
    if folder_date and abs((uploaded.date() - folder_date).days) > tolerance_days:
        return None
    return uploaded


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(min_value=datetime(1999, 12, 29), max_value=datetime(2031, 1, 3)),
    st.integers(-3, 3),
    st.integers(0, 9),
    st.booleans(),
)
def test_pic_times_checks_day_numbers_as_the_dates_would(moment: datetime, days_off: int, sub_tick: int, early: bool) -> None:
    ticks = str(((moment - datetime(1, 1, 1)) // timedelta(microseconds=1)) * 10 + sub_tick).zfill(18)
    folder = (moment + timedelta(days=days_off)).date()
    name = f"alalam-{ticks}.jpg" if early else f"alalam_{ticks}_25f_4x3.jpg"
    path = f"/{folder:%Y/%m/%d}/{name}"
    if not 1900 <= folder.year <= 2099:
        return
    assert pic_times(path) == (folder, plain_uploaded_at(ticks, folder, 0 if early else 2))


def plain_clean_lines(page: str) -> list[str]:
    """Every line folded or stripped on its own, as before the whole-page fast path."""
    lines = []
    for line in page.split("\n"):
        line = " ".join(line.split()) if "  " in line or "\t" in line or not line.isascii() else line.strip()
        if line:
            lines.append(line)
    return lines


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(["a", "B", ".", " ", "\n", "\t", "\x0b", "\x0c", "\x1f", "\xa0", "é", "\u2003"]), max_size=40))
def test_clean_lines_fast_path_matches_folding_each_line(page: str) -> None:
    assert clean_lines(page) == plain_clean_lines(page)
