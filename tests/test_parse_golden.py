"""The real sample page, field by field: the contract everything downstream relies on."""

import json
from datetime import date, datetime

from tests.conftest import GOLDEN


def test_sample_matches_golden_record_exactly(seed_result):
    golden = json.loads((GOLDEN / "000_d0dfd935ff761f50.json").read_text(encoding="utf-8"))
    assert seed_result.to_json_dict() == golden


def test_sample_article_fields(seed_result):
    article = seed_result.article
    assert seed_result.status == "article"
    assert article.title == "Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria"
    assert article.published_at == datetime(2015, 11, 20, 15, 20, 59)
    assert article.lead.startswith("A Russian deputy foreign minister says some 160")
    assert article.caption == "Oleg Syromolotov Russian deputy foreign minister"
    assert article.caption not in article.body
    assert article.title not in article.body
    assert "string(" not in article.body
    assert article.body.endswith("upon the request of Damascus on September 30; Press TV reported.")
    assert "ranks of ISIS" in article.body  # the no-break space folded
    assert article.attribution == "Press TV"
    assert article.paragraph_count == 8
    assert article.word_count == len(article.body.split()) == 235
    assert article.related_status == "ok"
    assert (article.related_declared_bytes, article.related_actual_bytes) == (3069, 3066)
    assert article.content_hash == "d4fda3ea2a74a834aa452e964788407a7e744777621148067a74b1f1ea4fba26"
    assert len(article.article_id) == 16 and int(article.article_id, 16) >= 0


def test_sample_related_items(seed_result):
    items = seed_result.related_items
    assert [item.position for item in items] == list(range(16))
    first = items[0]
    assert first.news_id == 1757343
    assert first.sort_key == 3445658
    assert first.content_type_id == 21
    assert first.title == "Russia’s Next Target Libya and Yemen ‘to Protect Interests’: Putin"
    assert first.pic_path == "/2015/11/08/alalam_635825855555584105_25f_4x3.jpg"
    assert first.media_kind == "image"
    assert first.pic_date == date(2015, 11, 8)
    # 635825855555584105 ticks = 2015-11-08 13:19:15.5584105, truncated to microseconds
    assert first.pic_uploaded_at == datetime(2015, 11, 8, 13, 19, 15, 558410)
    assert items[-1].news_id == 1761452
    assert items[-1].title == "Tu-160 Bomber: Russia Terrifying Weapon against Terrorists in Syria + VIDEO"
    assert all(item.article_id == seed_result.article.article_id for item in items)
    assert all(item.pic_uploaded_at.date() == item.pic_date for item in items)


def test_parsing_twice_gives_the_same_record(seed_result):
    from tests.conftest import SEED
    from newswh.parse import parse_page

    again = parse_page(SEED.read_bytes(), "elsewhere/copy.txt")
    assert again.article.article_id == seed_result.article.article_id
    assert again.article.source_path == "elsewhere/copy.txt"
