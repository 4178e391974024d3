"""One case per layout variant and per kind of crawl damage named in FORMAT.md."""

from datetime import datetime

import pytest

from newswh.parse import parse_page
from newswh.records import REJECT_REASONS
from tests.conftest import parse_fixture

TITLE = "Iran, Russia Sign S300 Missile Delivery Deal"
PUBLISHED = datetime(2013, 6, 9, 11, 25, 33)
LEAD = "Iran and Russia have signed a deal for the delivery of S300 missile systems, officials say."
LAST = "The first batch of the systems will be delivered before the end of the year, IRNA reported."


@pytest.mark.parametrize(
    ("name", "paragraphs", "caption", "sign_off", "status", "news_ids"),
    [
        ("headline_once.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343, 1757766, 1757941]),
        ("headline_twice.txt", 3, None, None, "ok", [1757343]),
        ("compact.txt", 3, None, None, "ok", [1757343]),
        ("single_newlines.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343]),
        ("many_newlines.txt", 3, None, None, "ok", [1757343]),
        ("sign_off.txt", 3, None, "S/SH 11", "ok", [1757343]),
        ("subheadings.txt", 4, None, None, "ok", [1757343]),
        ("no_trailer.txt", 3, None, None, "absent", []),
        ("bom.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343, 1757766, 1757941]),
        ("crlf.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343, 1757766, 1757941]),
        ("nul_bytes.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343, 1757766, 1757941]),
        ("utf16_bom.txt", 3, "Iranian Defense Minister Hossein Dehqan", None, "ok", [1757343, 1757766, 1757941]),
    ],
)
def test_layout_variants_yield_the_same_story(name, paragraphs, caption, sign_off, status, news_ids):
    article = parse_fixture(name).article
    assert article is not None, name
    assert (article.title, article.published_at, article.lead) == (TITLE, PUBLISHED, LEAD)
    assert article.paragraph_count == paragraphs
    assert article.caption == caption
    assert article.sign_off == sign_off
    assert article.body.endswith(LAST)
    assert sign_off is None or sign_off not in article.body
    assert article.attribution == "IRNA"
    assert article.related_status == status
    assert [item.news_id for item in parse_fixture(name).related_items] == news_ids


def test_repaired_encodings_are_named():
    assert parse_fixture("bom.txt").article.source_encoding == "utf-8-sig"
    assert parse_fixture("utf16_bom.txt").article.source_encoding == "utf-16"
    assert parse_fixture("crlf.txt").article.source_encoding == "utf-8"


def test_subheading_stays_in_the_body():
    article = parse_fixture("subheadings.txt").article
    assert "\n\nWhat Comes Next\n\n" in article.body


def test_unescaped_quotes_in_trailer_titles_are_recovered():
    result = parse_fixture("unescaped_quotes.txt")
    assert result.article.related_status == "ok"
    assert result.related_items[1].title == 'Erdogan Claimed "Safe Zone" Will Help Refugees'


def test_trailer_titles_are_unescaped_and_trimmed_and_video_is_detected():
    items = parse_fixture("headline_once.txt").related_items
    assert items[2].title == "Old Story & Friends"  # &amp; decoded, trailing spaces gone
    assert [item.media_kind for item in items] == ["image", "video", "image"]
    assert items[1].content_type_id == 22


def test_old_pic_names_leave_upload_time_null():
    item = parse_fixture("headline_once.txt").related_items[2]
    assert item.pic_path == "/news/2012/old_picture_name.gif"
    assert (item.pic_date, item.pic_uploaded_at) == (None, None)


def test_declared_trailer_length_is_kept_even_when_wrong():
    article = parse_fixture("headline_once.txt").article
    assert article.related_declared_bytes == 575
    assert article.related_actual_bytes != 575


def test_truncated_trailer_keeps_every_complete_item():
    result = parse_fixture("truncated_trailer.txt")
    assert result.article.related_status == "truncated"
    assert [item.news_id for item in result.related_items] == [1757343, 1757766]
    assert result.article.body.endswith("two sides.")


def test_empty_trailer():
    result = parse_fixture("empty_trailer.txt")
    assert result.article.related_status == "empty"
    assert result.related_items == []


def test_same_story_captured_twice_gets_one_id_and_its_own_related_list():
    http, https = parse_fixture("capture_http.txt"), parse_fixture("capture_https.txt")
    assert http.article.article_id == https.article.article_id
    assert [item.news_id for item in http.related_items] == [1757343]
    assert [item.news_id for item in https.related_items] == [1757766, 1757941]


def test_same_headline_on_another_day_is_another_story():
    page = (b"Syria Daily Update\n\nMon Jun 10, 2013 09:00:00\n\nToday in Syria, a lot happened.\n")
    other_day = page.replace(b"Mon Jun 10", b"Tue Jun 11")
    assert parse_page(page, "a").article.article_id != parse_page(other_day, "b").article.article_id


def test_html_entities_are_decoded():
    article = parse_fixture("entities.txt").article
    assert article.title == "Syria & Iraq Talks ’Positive’"
    assert article.lead == "Officials say the talks & meetings went well."


def test_windows_1252_page_is_repaired():
    article = parse_fixture("cp1252.txt").article
    assert article.source_encoding == "cp1252"
    assert article.title == "Syria’s ‘Safe Zone’ Plan — Explained"
    assert article.lead.endswith("It’s “historic”, café owners say.")


def test_multibyte_character_cut_by_the_crawl_is_dropped():
    article = parse_fixture("cut_multibyte.txt").article
    assert article.body.endswith("They said “no more")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "empty"),
        ("whitespace_only.txt", "empty"),
        ("binary.txt", "binary"),
        ("control_bytes.txt", "binary"),
        ("arabic_cp1256.txt", "foreign_language"),
        ("persian_utf8.txt", "foreign_language"),
        ("html.txt", "not_article"),
        ("no_date_no_trailer.txt", "not_article"),
        ("date_first.txt", "no_title"),
        ("headline_only.txt", "no_body"),
    ],
)
def test_unrecoverable_files_are_rejected_with_a_reason(name, reason):
    result = parse_fixture(name)
    assert result.status == "rejected" and result.article is None and result.related_items == []
    assert result.reject.reason == reason
    assert reason in REJECT_REASONS
    assert len(result.reject.detail.split()) >= 4  # a sentence a person can act on
    assert result.reject.source_path == f"pages/{name}"


def test_persian_is_told_apart_from_arabic():
    assert "Persian" in parse_fixture("persian_utf8.txt").reject.detail
    assert "Arabic" in parse_fixture("arabic_cp1256.txt").reject.detail


def test_too_large_is_rejected_before_decoding():
    result = parse_page(b"x" * 2000, "big.txt", max_bytes=1000)
    assert result.reject.reason == "too_large"
    assert result.reject.size_bytes == 2000
    assert "2,000 bytes" in result.reject.detail


def test_impossible_date_keeps_the_article_with_null_timestamp():
    page = b"Headline Here\n\nMon Feb 30, 2015 10:00:00\n\nA body paragraph that says things.\n"
    article = parse_page(page, "a").article
    assert article.published_at is None and article.title == "Headline Here"


def test_undecodable_mixture_is_rejected():
    junk = ("Headline\n\n" + "x" * 50 + "\n").encode() + bytes(range(0x80, 0x100)) * 3
    result = parse_page(junk, "junk.txt")
    assert result.reject.reason == "undecodable"
    assert "windows-1252" in result.reject.detail
