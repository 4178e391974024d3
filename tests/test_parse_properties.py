"""Properties: generated pages round-trip; no input raises or yields anything but one outcome."""

import html
import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newswh.parse import DEFAULT_MAX_BYTES, parse_page
from newswh.records import REJECT_REASONS
from newswh.trailer import clean_title
from newswh.synth import (
    CATEGORIES,
    DATELINES,
    FILLER,
    OUTLETS,
    SIGN_OFFS,
    WORDS,
    PageSpec,
    RelatedSpec,
    pic_path_for,
    render,
    without_stray_caption,
)
from tests.conftest import PAGES, SEED

HANG_BOUND = timedelta(seconds=5)
"""No input may take longer to parse: a bound against runaway backtracking, not a speed target."""
TEXT_WORDS = (*WORDS, *FILLER, "“Quoted”", "O’Neil", "café", "—", "(CIS)", "2,719", "&", "S-300")
words = st.sampled_from(TEXT_WORDS)


def sentence(min_words: int, max_words: int) -> st.SearchStrategy[str]:
    return st.lists(words, min_size=min_words, max_size=max_words).map(lambda ws: " ".join(ws))


paragraph = sentence(3, 30).map(lambda text: text[0].upper() + text[1:] + ".")
moments = st.datetimes(min_value=datetime(2012, 1, 1), max_value=datetime(2018, 12, 31))
related_item = st.builds(
    RelatedSpec,
    news_id=st.integers(1, 10**9),
    sort_key=st.integers(0, 10**8),
    content_type_id=st.sampled_from([21, 22, 5]),
    title=sentence(1, 12) | sentence(1, 5).map(lambda text: f'Claimed "{text}" Is Safe'),
    pic_path=st.builds(pic_path_for, moments, st.booleans(), st.booleans()),
)


@st.composite
def pages(draw: st.DrawFn) -> tuple[PageSpec, str | None]:
    paragraphs = draw(st.lists(paragraph, min_size=1, max_size=8))
    outlet = draw(st.none() | st.sampled_from(OUTLETS))
    if outlet:
        paragraphs[-1] = paragraphs[-1][:-1] + f"; {outlet} reported."
    spec = PageSpec(
        title=draw(sentence(2, 14)),
        published_at=draw(moments).replace(microsecond=0),
        paragraphs=paragraphs,
        caption=draw(st.none() | sentence(2, 10)),
        sign_off=draw(st.none() | st.sampled_from(SIGN_OFFS)),
        related=draw(st.none() | st.lists(related_item, max_size=16)),
        repeat_headline=draw(st.booleans()),
        compact=draw(st.booleans()),
        newlines_before_trailer=draw(st.integers(1, 6)),
    )
    return without_stray_caption(spec), outlet


@settings(max_examples=300, deadline=None)
@given(pages())
def test_rendered_page_parses_back_to_its_fields(page):
    spec, outlet = page
    result = parse_page(render(spec), "generated.txt")
    article = result.article
    assert article is not None, result.reject
    assert article.title == spec.title
    assert article.published_at == spec.published_at
    assert article.lead == spec.paragraphs[0]
    assert article.body == "\n\n".join(spec.paragraphs)
    assert article.paragraph_count == len(spec.paragraphs)
    assert article.word_count == sum(len(paragraph.split()) for paragraph in spec.paragraphs)
    assert article.caption == spec.caption
    assert article.sign_off == spec.sign_off
    assert article.attribution == outlet
    expected_status = "absent" if spec.related is None else ("ok" if spec.related else "empty")
    assert article.related_status == expected_status
    expected = [(r.news_id, r.sort_key, r.content_type_id, r.title, r.pic_path) for r in spec.related or []]
    parsed = [(i.news_id, i.sort_key, i.content_type_id, i.title, i.pic_path) for i in result.related_items]
    assert parsed == expected
    assert all(item.pic_uploaded_at is not None for item in result.related_items)


@settings(max_examples=300, deadline=None)
@given(
    pages(),
    st.none() | st.sampled_from(CATEGORIES),
    st.booleans(),
    st.none() | st.sampled_from(SIGN_OFFS),
    st.none() | st.sampled_from(DATELINES),
)
def test_category_sign_off_and_dateline_leave_the_story_alone(page, category, inline, sign_off, dateline):
    """Issue 15: the chrome real pages add around a story changes none of its fields."""
    spec, outlet = page
    plain = parse_page(render(spec), "plain.txt")
    dressed_spec = without_stray_caption(
        replace(spec, category=category, category_inline=inline, sign_off=sign_off, dateline=dateline)
    )
    dressed = parse_page(render(dressed_spec), "dressed.txt")
    before, after = plain.article, dressed.article
    assert after is not None, dressed.reject
    assert (after.title, after.published_at, after.lead) == (before.title, before.published_at, before.lead)
    assert (after.body, after.attribution) == (before.body, outlet)
    assert (after.sign_off, after.dateline, after.caption) == (sign_off, dateline, dressed_spec.caption)
    assert after.related_status == before.related_status
    assert [(i.news_id, i.title, i.pic_path) for i in dressed.related_items] == [
        (i.news_id, i.title, i.pic_path) for i in plain.related_items
    ]


WHITE_SPACE = st.sampled_from([" ", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\xa0", "\u2028"])
spaced_titles = st.lists(st.tuples(st.sampled_from(["Iran", "S-300", "&amp;", "café"]), WHITE_SPACE), max_size=5).map(
    lambda parts: "".join(word + space for word, space in parts)
)


@settings(max_examples=500, deadline=None)
@given(spaced_titles | spaced_titles.map(str.rstrip) | st.text(max_size=40))
@example("Iran  S-300")
@example("Iran\nS-300")
@example("Iran\x0bS-300")
@example(" Iran")
@example("caf\u00e9\u2028S-300")
def test_clean_title_folds_white_space_as_split_does(title):
    assert clean_title(title) == " ".join(html.unescape(title).split())


def assert_one_outcome(data: bytes) -> None:
    result = parse_page(data, "fuzz.txt", max_bytes=1 << 20)
    assert (result.article is None) != (result.reject is None)
    if result.reject:
        assert result.reject.reason in REJECT_REASONS, result.reject
        assert result.related_items == []
    else:
        assert result.article.title and result.article.body
        assert result.article.word_count == len(result.article.body.split())
        assert all(item.article_id == result.article.article_id for item in result.related_items)
        positions = result.related_positions
        assert len(positions) == len(result.related_values) and positions == sorted(set(positions))


@settings(max_examples=500, deadline=HANG_BOUND)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_yield_exactly_one_outcome(data):
    assert_one_outcome(data)


@settings(max_examples=300, deadline=HANG_BOUND)
@given(st.text(max_size=2000))
def test_arbitrary_text_yields_exactly_one_outcome(text):
    assert_one_outcome(text.encode("utf-8", errors="surrogatepass"))


REAL_PAGES = [SEED.read_bytes(), *(path.read_bytes() for path in sorted(PAGES.glob("*.txt")))]


@settings(max_examples=500, deadline=HANG_BOUND, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REAL_PAGES), st.data())
def test_mutated_real_pages_yield_exactly_one_outcome(page, data):
    mutated = bytearray(page)
    for _ in range(data.draw(st.integers(1, 8))):
        if not mutated:
            break
        at = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        if action == "flip":
            mutated[at] = data.draw(st.integers(0, 255))
        elif action == "insert":
            mutated[at:at] = data.draw(st.sampled_from([b'"', b"} ,{", b"\n", b"string(", b"\x00", b"\xe2\x80", b"]"]))
        elif action == "delete":
            del mutated[at : at + data.draw(st.integers(1, 64))]
        elif action == "truncate":
            del mutated[at:]
        else:
            mutated[at:at] = mutated[at : at + 200]
    assert_one_outcome(bytes(mutated))


JSON_SEPARATORS = st.sampled_from([(",", ":"), (", ", ": "), (" ,", ":"), (",", ": "), (" , ", " : ")])
json_items = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.integers(1, 10**9).map(str),
            "sort": st.integers(0, 10**9).map(str),
            "contenttypeid": st.sampled_from(["21", "22"]),
            "pic": st.sampled_from(["", "/2015/11/08/alalam_635825855555584105_25f_4x3.jpg", "/news/old.gif", "/v/clip.mp4"]),
            "title": st.text(max_size=30) | sentence(1, 8),
        }
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=HANG_BOUND)
@given(json_items, st.lists(st.permutations(["id", "sort", "contenttypeid", "pic", "title"]), min_size=6, max_size=6),
       st.lists(JSON_SEPARATORS, min_size=6, max_size=6), st.booleans())
@example(
    [{"id": "5", "sort": "1", "contenttypeid": "21", "pic": "", "title": "Spaced"}],
    [["id", "sort", "contenttypeid", "pic", "title"]] * 6, [(", ", ": ")] * 6, True,
)
def test_every_object_of_a_complete_json_list_is_read(items, key_orders, separators, ascii_only):
    """Whatever the spacing and key order each object was written with, a complete list that
    is valid JSON yields every item, in order: none skipped, none swallowed into a title."""
    import json

    from newswh.trailer import parse_trailer

    objects = [
        json.dumps({key: item[key] for key in order}, separators=separator, ensure_ascii=ascii_only)
        for item, order, separator in zip(items, key_orders, separators)
    ]
    listed = "[" + " ,".join(objects) + "]"
    trailer = parse_trailer(f'string({len(listed)}) "{listed}"')
    assert trailer.status == "ok"
    assert trailer.positions == list(range(len(items)))
    assert [values[0] for values in trailer.values] == [int(item["id"]) for item in items]
    assert [values[3] for values in trailer.values] == [clean_title(item["title"]) for item in items]


@pytest.mark.parametrize("make", [
    lambda n: "x " + "string(" * n,  # one line of them: each was tried against all the text before it
    lambda n: "string(x\n" * n,
    lambda n: "string(1) \"[" + "} ,{" * n,
    lambda n: "string(1) \"[" + '{"id":"1","title":"' * n,
])
def test_a_file_of_trailer_fragments_near_the_size_cap_parses_in_bounded_time(make):
    """28 s for 1 MB of `string(` on one line, and minutes near the 5 MB cap, before
    parser 1.2.0."""
    head = SEED.read_text(encoding="utf-8").split("string(")[0]
    data = (head + make(600_000))[: DEFAULT_MAX_BYTES - 1024].encode()
    started = time.monotonic()
    result = parse_page(data, "t.txt")
    assert time.monotonic() - started < HANG_BOUND.total_seconds()
    assert result.article is not None, result.reject  # a page, whatever its trailer became

