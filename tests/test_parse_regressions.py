"""The regression set of issue 15: page variants the parser once got wrong, one test each.

Every page here is hand-written after a real page's shape (see ../shared/FORMAT.md) and
has a golden record in tests/fixtures/golden/, so any change to what it parses to shows.
"""

import json
from datetime import date, datetime

import pytest

from newswh.parse import parse_page
from tests.conftest import GOLDEN, PAGES, SEED, parse_fixture

TITLE = "Iran, Russia Sign S300 Missile Delivery Deal"
PUBLISHED = datetime(2013, 6, 9, 11, 25, 33)
LEAD = "Iran and Russia have signed a deal for the delivery of S300 missile systems, officials say."
LAST = "The first batch of the systems will be delivered before the end of the year, IRNA reported."
CAPTION = "Iranian Defense Minister Hossein Dehqan"
GOLDEN_PAGES = sorted(path.stem for path in GOLDEN.glob("*.json") if (PAGES / f"{path.stem}.txt").exists())


@pytest.mark.parametrize("name", GOLDEN_PAGES)
def test_page_matches_its_golden_record(name):
    golden = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    assert parse_fixture(f"{name}.txt").to_json_dict() == golden


def test_every_regression_page_has_a_golden_record():
    assert set(GOLDEN_PAGES) >= {
        "category_after_sign_off", "category_inline", "category_empty", "dateline", "dateline_and_caption",
        "caption_two_paragraphs", "early_pic_names", "truncated_after_bracket", "truncated_in_first_object",
        "truncated_after_quote", "attribution_typo", "short_page",
    }


@pytest.mark.parametrize(
    ("name", "sign_off"),
    [("category_after_sign_off.txt", "MB/MB"), ("category_inline.txt", "MB/MB"), ("category_empty.txt", None)],
)
def test_category_line_is_chrome_not_body(name, sign_off):
    """Item 1: the sign-off before it is recognised and the attribution is kept."""
    result = parse_fixture(name)
    article = result.article
    assert (article.title, article.published_at, article.lead) == (TITLE, PUBLISHED, LEAD)
    assert article.body.endswith(LAST)
    assert "Category" not in article.body
    assert article.sign_off == sign_off
    assert article.attribution == "IRNA"
    assert article.paragraph_count == 3
    assert (article.related_status, [item.news_id for item in result.related_items]) == ("ok", [1757343])


@pytest.mark.parametrize(
    ("name", "dateline", "caption"),
    [("dateline.txt", "Alalam - Syria", None), ("dateline_and_caption.txt", "ALALAM - Syria", CAPTION)],
)
def test_dateline_line_is_not_a_caption(name, dateline, caption):
    """Item 2: the dateline gets its own column, out of the body and out of the caption."""
    article = parse_fixture(name).article
    assert article.dateline == dateline
    assert article.caption == caption
    assert dateline not in article.body
    assert (article.lead, article.paragraph_count, article.attribution) == (LEAD, 3, "IRNA")


def test_caption_after_a_one_paragraph_lead():
    """Item 3: the short line is the caption even with no third paragraph; the lead's attribution counts."""
    article = parse_fixture("caption_two_paragraphs.txt").article
    assert article.caption == CAPTION
    assert article.body == article.lead == LAST
    assert article.paragraph_count == 1
    assert article.attribution == "IRNA"


def test_early_pic_names_decode_only_when_their_date_agrees_with_the_folder():
    """Item 4: `alalam-<ticks>.jpg`; 634953479345466919 ticks are 2013-02-01 20:38:54.5466919."""
    items = parse_fixture("early_pic_names.txt").related_items
    assert [item.pic_date for item in items] == [date(2013, 2, 1), date(2013, 2, 2), date(2013, 2, 3)]
    assert [item.pic_uploaded_at for item in items] == [datetime(2013, 2, 1, 20, 38, 54, 546691), None, None]
    assert [item.media_kind for item in items] == ["image"] * 3


@pytest.mark.parametrize("name", ["truncated_after_bracket.txt", "truncated_in_first_object.txt", "truncated_after_quote.txt"])
def test_trailer_cut_before_its_first_item_is_truncated(name):
    """Item 5: there was a list and the crawl cut it: neither `empty` nor `absent`."""
    result = parse_fixture(name)
    article = result.article
    assert article.related_status == "truncated"
    assert result.related_items == []
    assert article.body.endswith(LAST) and "string(" not in article.body
    assert article.attribution == "IRNA"


def test_empty_is_only_a_complete_empty_list():
    head = b"Headline Here\n\nMon Feb 9, 2015 10:00:00\n\nA body paragraph that says things.\n\n"
    statuses = {
        trailer: parse_page(head + trailer, "t.txt").article.related_status
        for trailer in (b'string(2) "[]"', b'string(2) "[', b'string(2) "[]', b'string(2) "', b"string(2)", b"string(")
    }
    assert statuses == {
        b'string(2) "[]"': "empty",
        b'string(2) "[': "truncated",
        b'string(2) "[]': "truncated",
        b'string(2) "': "truncated",
        b"string(2)": "truncated",
        b"string(": "truncated",
    }


def test_attribution_typo_before_sign_off_and_category():
    """Item 6: `; FNA repoted.` credits FNA, with a sign-off and a Category line after it."""
    article = parse_fixture("attribution_typo.txt").article
    assert article.attribution == "FNA"
    assert article.sign_off == "NTJ/BA"
    assert article.body.endswith("; FNA repoted.")


@pytest.mark.parametrize(
    ("last", "outlet"),
    [
        ("It was signed on Monday; FNA repoted.", "FNA"),
        ("It was signed on Monday, Press TV reportd.", "Press TV"),
        ("It was signed on Monday, al-Alam reports, and more will follow.", None),
        ("It was signed on Monday.", None),
    ],
)
def test_attribution_spellings(last, outlet):
    page = f"Headline Here\n\nMon Feb 9, 2015 10:00:00\n\nA lead paragraph.\n\n{last}\n".encode()
    assert parse_page(page, "a.txt").article.attribution == outlet


def test_short_page_of_three_lines():
    article = parse_fixture("short_page.txt").article
    assert (article.title, article.published_at, article.body) == (TITLE, PUBLISHED, LEAD)
    assert (article.caption, article.dateline, article.related_status) == (None, None, "absent")


def test_every_article_names_its_language_and_site():
    for path in [SEED, *sorted(PAGES.glob("*.txt"))]:
        article = parse_page(path.read_bytes(), path.name).article
        if article is not None:
            assert (article.language, article.site) == ("en", "en.alalam.ir"), path.name


@pytest.mark.parametrize("space", [" ", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\u00a0", "\u2028", "  ", " \t "])
def test_word_count_splits_on_any_white_space(space):
    """Words are counted without splitting the body when its only white space is single
    spaces between words and blank lines between paragraphs; any other keeps them apart too."""
    page = f"Headline Here\n\nMon Feb 9, 2015 10:00:00\n\nA lead{space}paragraph here.\n\nA second, shorter one.\n".encode()
    article = parse_page(page, "a.txt").article
    assert article.word_count == len(article.body.split()) == 8
