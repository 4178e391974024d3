"""The compiled related-list reader (newswh/_standard_list.pyx) against the Python one.

It may decline a list (None: the Python reader then decides), but whatever it returns must
be what `read_standard_here` returns for the same text, value for value. Only a compiled
install has it: tests/test_compiled_parser.py runs this file on one, and an editable
install skips it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswh.trailer import find_trailer_start, read_standard_here
from tests.conftest import SEED

standard_list = pytest.importorskip("newswh._standard_list")

LAYOUT = '{"id":"%s","sort":"%s","contenttypeid":"%s","pic":"%s","title":"%s"}'
TICKS_EPOCH = datetime(1, 1, 1)


def ticks_of(moment: datetime) -> str:
    return str((moment - TICKS_EPOCH) // timedelta(microseconds=1) * 10 + 7).zfill(18)


numbers = st.sampled_from(["", "0", "7", "1757343", "007", "123456789012345678", "1234567890123456789", " 12", "12 ",
                           "-3", "+4", "\u0661\u0662", "\uff11\uff12", "12a", "1.5"]) | st.integers(0, 10**18).map(str)
moments = st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2035, 12, 31))


@st.composite
def pic_paths(draw: st.DrawFn) -> str:
    moment = draw(moments)
    folder = moment + timedelta(days=draw(st.integers(-3, 3)))
    year, month, day = draw(st.sampled_from([
        (f"{folder:%Y}", f"{folder:%m}", f"{folder:%d}"), (f"{folder:%Y}", "13", "01"), (f"{folder:%Y}", "02", "30"),
        ("1899", "01", "01"), ("2016", "00", "10"),
    ]))
    name = draw(st.sampled_from([
        f"alalam_{ticks_of(moment)}_25f_4x3.jpg", f"alalam_{ticks_of(moment)}.png", f"alalam-{ticks_of(moment)}.jpg",
        f"alalam-{ticks_of(moment)}_x.jpg", f"alalam_{ticks_of(moment)[:17]}_25f.jpg", f"alalam_{'9' * 18}_a.mp4",
        "old_picture_name.gif", f"x_{ticks_of(moment)}_y.JPG", "clip.MP4", "noextension", "caf\u00e9.webp",
    ]))
    path = draw(st.sampled_from([f"/{year}/{month}/{day}/{name}", f"/news/{year}/{month}/{day}/{name}", f"/{name}", ""]))
    return draw(st.sampled_from(["", " ", "\u00a0", "\\/"])) + path + draw(st.sampled_from(["", " ", "\t"]))


title_parts = st.sampled_from([
    "Iran", "S-300", "Russia\u2019s", "\u201cSafe Zone\u201d", '"Safe Zone"', "&amp;", "&", "{", "}", '"}', '"} ,{"id"',
    "\\u00e9", "\\ud83d\\ude00", "\\ud83d", "\\\\", "\u00a0", "\t", "\n", "\u2028", "\x1c", "\x01", "caf\u00e9", "\ud83d",
])
titles = st.lists(st.tuples(title_parts, st.sampled_from([" ", "", "  "])), max_size=6).map(
    lambda parts: "".join(word + space for word, space in parts)
) | st.text(max_size=20)


@st.composite
def list_bodies(draw: st.DrawFn) -> str:
    objects = []
    for _ in range(draw(st.integers(0, 5))):
        values = (draw(numbers), draw(numbers), draw(numbers), draw(pic_paths()), draw(titles))
        written = LAYOUT % values
        kind = draw(st.sampled_from(["usual"] * 6 + ["spaced", "reordered"]))
        if kind == "spaced":
            written = written.replace('":"', '": "')
        elif kind == "reordered":
            written = written.replace('{"id":"%s","sort":"%s"' % values[:2], '{"sort":"%s","id":"%s"' % values[1::-1])
        objects.append(written)
    body = draw(st.sampled_from(["[", "[ ", "[\n"]))
    for index, written in enumerate(objects):
        if index:
            body += draw(st.sampled_from([",", " ,", ", ", " , ", ",\n", "\t,", "\u2028,\u00a0", ";"]))
        body += written
    return body + draw(st.sampled_from(["]", " ]", "\n]", "] ", "}]", ""]))


@settings(max_examples=1500, deadline=None)
@given(list_bodies())
@example("[]")
@example('[{"id":"1","sort":"2","contenttypeid":"21","pic":"","title":"A"} ]')
def test_the_compiled_reader_returns_what_the_python_reader_returns(body):
    compiled = standard_list.read_standard(body)
    assert compiled is None or compiled == read_standard_here(body)


@settings(max_examples=1500, deadline=None)
@given(moments, st.integers(-3, 3), st.booleans(), st.sampled_from(["_25f_4x3.jpg", ".png", "_x.mp4"]))
def test_picture_times_agree_to_the_microsecond(moment, days_off, early, tail):
    """The upload time from ticks (ordinal days and time of day worked out in C) and the
    folder date, for the two names with ticks: equal to pic_times' dates and datetimes."""
    folder = moment + timedelta(days=days_off)
    name = f"alalam-{ticks_of(moment)}.jpg" if early else f"alalam_{ticks_of(moment)}{tail}"
    body = "[" + LAYOUT % ("5", "1", "21", f"/{folder:%Y/%m/%d}/{name}", "Title") + "]"
    compiled = standard_list.read_standard(body)
    assert compiled is not None  # a plain list: the compiled reader must answer it
    assert compiled == read_standard_here(body)


def list_body(page: str) -> str:
    trailer = page[find_trailer_start(page):]
    return trailer[trailer.index('"') + 1 :].rstrip().removesuffix('"').strip()


def test_the_compiled_reader_answers_the_usual_lists():
    """Not a reader that declines everything: the real page's list of 16 items, typographic
    quotes and all, and the regression pages' usual lists are read here, not handed back."""
    seed_body = list_body(SEED.read_text(encoding="utf-8"))
    compiled = standard_list.read_standard(seed_body)
    assert compiled is not None and len(compiled) == 16
    assert compiled == read_standard_here(seed_body)
    plain = "[" + " ,".join(LAYOUT % (str(n), "1", "21", "", f"Story {n}") for n in range(12)) + " ]"
    assert standard_list.read_standard(plain) == read_standard_here(plain) != None  # noqa: E711


def test_the_compiled_reader_declines_what_it_leaves_to_python():
    for body in (
        '[{"id":"1","sort":"2","contenttypeid":"21","pic":"","title":"Smile \\ud83d\\ude00"}]',  # an escape
        '[{"id": "1", "sort": "2", "contenttypeid": "21", "pic": "", "title": "Spaced"}]',  # not the layout
        '[{"id":"1","sort":"2","contenttypeid":"21","pic":"","title":"A {brace}"}]',  # a brace in a title
    ):
        assert standard_list.read_standard(body) is None


def test_an_object_read_before_is_read_as_its_whole_text_says():
    """The compiled reader keeps items by their object's text: objects one character apart,
    anywhere in it, are never taken for one another, on first reading or again."""
    written = [
        LAYOUT % values for values in (
            ("5", "1", "21", "/2016/03/01/a.jpg", "Story A"), ("5", "1", "21", "/2016/03/01/a.jpg", "Story B"),
            ("5", "1", "21", "/2016/03/01/a.mp4", "Story A"), ("5", "2", "21", "/2016/03/01/a.jpg", "Story A"),
            ("6", "1", "21", "/2016/03/01/a.jpg", "Story A"), ("5", "1", "22", "/2016/03/01/a.jpg", "Story A"),
        )
    ]
    for _ in range(2):
        for body in ["[" + text + "]" for text in written] + ["[" + ",".join(written) + "]"]:
            assert standard_list.read_standard(body) == read_standard_here(body)
