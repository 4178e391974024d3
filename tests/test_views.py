"""Each analysis view on the hand-written corpus in tests/fixtures/corpus, with exact expected rows.

The corpus: the real sample (Nov 20, 2015, 16 related items, trailer declared 3 bytes
long) plus hand-written pages it links to or that link to it: the Putin story (referred to
three times, once with straight quotes and a trailing space), the S300 deal (captured
twice, once with a truncated trailer), the airstrikes story (claimed by two news ids), an
Aleppo story with a video and a sign-off, an undated editorial, a page without trailer,
and three rejects (empty, PNG, HTML error page).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.helpers import query, run_ingest

PUTIN = "Russia’s Next Target Libya and Yemen ‘to Protect Interests’: Putin"
S300 = "Russia, Iran Sign S300 Missile Delivery Deal"
STRIKES = "Russia Expands Airstrike against ISIS by Destroying 448 Targets in 3 Days"
ALEPPO = "Syrian Army Retakes Key Town Near Aleppo"
RAMADI = "Iraqi Forces Advance on Ramadi"
SEED = "Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria"
EDITORIAL = "Editorial: What the Vienna Talks Can Achieve"
NOVEMBER = date(2015, 11, 1)


def test_article_facts(example_data):
    rows = query(
        example_data,
        "select title, published_at, year, month, weekday, word_count, attribution, related_count, has_video "
        "from article_facts order by published_at nulls last, title",
    )
    assert rows == [
        (PUTIN, datetime(2015, 11, 8, 13, 30, 2), 2015, 11, "Sunday", 47, "Press TV", 0, False),
        (S300, datetime(2015, 11, 9, 19, 5, 41), 2015, 11, "Monday", 50, "FNA", 2, True),
        (STRIKES, datetime(2015, 11, 10, 12, 40, 10), 2015, 11, "Tuesday", 50, "Sana", 1, False),
        (ALEPPO, datetime(2015, 11, 16, 9, 10), 2015, 11, "Monday", 53, None, 3, True),
        (RAMADI, datetime(2015, 11, 19, 8, 0), 2015, 11, "Thursday", 41, "Press TV", 0, False),
        (SEED, datetime(2015, 11, 20, 15, 20, 59), 2015, 11, "Friday", 235, "Press TV", 16, False),
        (EDITORIAL, None, None, None, None, 29, None, 1, False),
    ]
    leads = dict(query(example_data, "select title, lead from article_facts"))
    assert leads[RAMADI] == "Iraqi government forces have advanced on the western city of Ramadi, the capital of Anbar province."


def test_daily_volume_fills_empty_days_and_rolls_over_seven(example_data):
    rows = query(example_data, "select * from daily_volume")
    per_day = [1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1]  # Nov 8 to Nov 20; the editorial has no date
    means = [1, 1, 1, 3 / 4, 3 / 5, 3 / 6, 3 / 7, 2 / 7, 2 / 7, 1 / 7, 1 / 7, 2 / 7, 3 / 7]
    assert [row[0] for row in rows] == [date(2015, 11, day) for day in range(8, 21)]
    assert [row[1] for row in rows] == per_day
    assert [row[2] for row in rows] == pytest.approx(means)


def test_story_ids_match_titles_and_times_and_flag_conflicts(example_data):
    rows = query(
        example_data, "select title, news_id, agreeing_references, candidate_ids, is_conflict from story_ids order by title"
    )
    assert rows == [
        # referred to by the seed (1757941, uploaded 8 minutes before) and by the Aleppo page (1760000)
        (STRIKES, 1757941, 1, 2, True),
        # the seed and the Aleppo page; the truncated https capture is not the article's best
        (S300, 1757766, 2, 1, False),
        # the seed, the S300 page (straight quotes, trailing space) and the airstrikes page
        (PUTIN, 1757343, 3, 1, False),
    ]


def test_story_ids_ignore_a_title_match_far_from_publication(example_data, tmp_path):
    data = tmp_path / "data"
    source = tmp_path / "raw"
    source.mkdir()
    from newswh.dictionary import EXAMPLE_CORPUS

    for name in ("000_d0dfd935ff761f50.txt", "102_s300_deal.txt"):
        (source / name).write_bytes((EXAMPLE_CORPUS / name).read_bytes())
    page = (EXAMPLE_CORPUS / "102_s300_deal.txt").read_text(encoding="utf-8")
    (source / "102_s300_deal.txt").write_text(page.replace("Mon Nov 9, 2015", "Mon Nov 16, 2015"), encoding="utf-8")
    run_ingest(source, data)
    assert query(data, "select title from story_ids") == []


def test_related_links_resolve_unambiguous_corpus_stories(example_data):
    assert query(example_data, "select count(*) from related_links") == [(23,)]
    rows = query(
        example_data,
        "select article_title, position, news_id, related_title, media_kind, related_article_title "
        "from related_links where related_article_id is not null order by article_title, position",
    )
    assert rows == [
        (SEED, 0, 1757343, PUTIN, "image", PUTIN),
        (SEED, 1, 1757766, S300, "image", S300),
        (SEED, 2, 1757941, STRIKES, "image", STRIKES),
        (STRIKES, 0, 1757343, PUTIN, "image", PUTIN),
        (S300, 0, 1757343, "Russia's Next Target Libya and Yemen 'to Protect Interests': Putin", "image", PUTIN),
        (ALEPPO, 2, 1757766, S300, "image", S300),
    ]
    video = query(
        example_data,
        "select related_title, media_kind, pic_uploaded_at, related_article_id from related_links where news_id = 1760100",
    )
    assert video == [("Footage Shows Aleppo Battle from the Air", "video", datetime(2015, 11, 15, 18, 0), None)]


def test_most_related_ranks_links_per_month(example_data):
    rows = query(example_data, "select month, rank, news_id, title, media_kind, links from most_related")
    assert rows[:2] == [(NOVEMBER, 1, 1757343, PUTIN, "image", 3), (NOVEMBER, 2, 1757766, S300, "image", 2)]
    assert len(rows) == 19  # the 22 dated links point at 19 distinct stories
    assert {(row[1], row[5]) for row in rows[2:]} == {(3, 1)}
    assert [row[2] for row in rows[2:]] == sorted(row[2] for row in rows[2:])


def test_media_mix(example_data):
    assert query(example_data, "select * from media_mix") == [(NOVEMBER, 22, 20, 2, 0, 20 / 22, 2 / 22, 0.0)]


def test_outlets(example_data):
    assert query(example_data, "select * from outlets") == [
        ("Press TV", 3, datetime(2015, 11, 8, 13, 30, 2), datetime(2015, 11, 20, 15, 20, 59)),
        ("FNA", 1, datetime(2015, 11, 9, 19, 5, 41), datetime(2015, 11, 9, 19, 5, 41)),
        ("Sana", 1, datetime(2015, 11, 10, 12, 40, 10), datetime(2015, 11, 10, 12, 40, 10)),
    ]


def test_crawl_quality(example_data):
    rows = query(example_data, "select aspect, category, count, unit, share from crawl_quality")
    assert [row[:4] for row in rows] == [
        ("duplicate_captures", "extra files of those stories", 1, "article files"),
        ("duplicate_captures", "stories captured more than once", 1, "stories"),
        ("rejects", "binary", 1, "files"),
        ("rejects", "empty", 1, "files"),
        ("rejects", "not_article", 1, "files"),
        ("related_status", "absent", 1, "article files"),
        ("related_status", "empty", 1, "article files"),
        ("related_status", "ok", 5, "article files"),
        ("related_status", "truncated", 1, "article files"),
        ("trailer_length", "declared <> actual", 1, "complete trailers"),  # the real sample: 3069 declared, 3066 real
        ("trailer_length", "declared = actual", 5, "complete trailers"),
    ]
    assert [row[4] for row in rows] == pytest.approx([1 / 8, 1 / 7, 1 / 11, 1 / 11, 1 / 11, 1 / 8, 1 / 8, 5 / 8, 1 / 8, 1 / 6, 5 / 6])


def test_search_articles_ranks_by_occurrences_with_snippets(example_data):
    rows = query(example_data, "select rank, title, hits, snippet from search_articles('aleppo')")
    assert rows == [
        (
            1,
            ALEPPO,
            4,
            "The Syrian army has retaken the town of al-Hader south of Aleppo from Takfiri militants. "
            "Army units backed by allied fighte…",
        ),
        (
            2,
            STRIKES,
            1,
            "…s, ammunition depots and training camps in the provinces of Aleppo, Idlib and Raqqa. "
            "Syrian army units advanced under the cov…",
        ),
    ]
    assert query(example_data, "select title from search_articles('ALEPPO')") == [(ALEPPO,), (STRIKES,)]


def test_search_articles_takes_the_term_literally(example_data):
    assert query(example_data, "select * from search_articles('')") == []
    assert query(example_data, "select * from search_articles('%')") == []
    assert query(example_data, "select * from search_articles(?)", ["'); drop table articles; --"]) == []
    # a title-only match shows the lead
    assert query(example_data, "select hits, snippet from search_articles('vienna talks')") == [
        (1, "Foreign ministers meeting in Vienna have agreed on a timetable for talks between the Syrian government and the opposition.")
    ]


def test_views_on_an_empty_warehouse_return_no_rows(prefect_harness, tmp_path):
    source = tmp_path / "raw"
    source.mkdir()
    data = tmp_path / "data"
    run_ingest(source, data)
    for view in ("article_facts", "daily_volume", "story_ids", "related_links", "most_related", "media_mix", "outlets"):
        assert query(data, f"select * from {view}") == [], view
    assert query(data, "select * from search_articles('x')") == []
    assert query(data, "select aspect, category, count from crawl_quality") == [
        ("duplicate_captures", "extra files of those stories", 0),
        ("duplicate_captures", "stories captured more than once", 0),
    ]
