"""The generator's corpus, damaged in every known way, parses to its ground truth."""

import json
from collections import Counter

from newswh.parse import parse_page
from newswh.synth import DAMAGE_KINDS, write_corpus

COMPARED = ("title", "lead", "body", "caption", "sign_off", "dateline", "attribution", "paragraph_count", "related_status")


def test_damaged_corpus_matches_ground_truth(tmp_path):
    totals = write_corpus(tmp_path, 1500, noise=0.5, seed=11)
    truths = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    assert totals["files"] == len(truths) == 1500
    assert set(DAMAGE_KINDS) <= {truth["damage"] for truth in truths}
    assert_every_variant_occurs(tmp_path, truths)
    ids_by_story: dict[int, set[str]] = {}
    outcomes = Counter()
    for truth in truths:
        result = parse_page((tmp_path / truth["file"]).read_bytes(), truth["file"])
        outcomes[result.status] += 1
        assert result.status == truth["status"], (truth["damage"], result.reject)
        if result.reject:
            assert result.reject.reason == truth["reason"], truth["damage"]
            continue
        article = result.article
        for field in COMPARED:
            if field in truth:
                assert getattr(article, field) == truth[field], (truth["damage"], field)
        assert article.published_at.isoformat() == truth["published_at"]
        if "related_news_ids" in truth:
            assert [item.news_id for item in result.related_items] == truth["related_news_ids"]
            uploaded = [item.pic_uploaded_at.isoformat() if item.pic_uploaded_at else None for item in result.related_items]
            assert uploaded == truth["related_uploaded_at"]
        ids_by_story.setdefault(truth["story"], set()).add(article.article_id)
    assert outcomes == {"article": totals["articles"], "rejected": totals["rejected"]}
    assert all(len(ids) == 1 for ids in ids_by_story.values())  # duplicates share an id
    assert len({next(iter(ids)) for ids in ids_by_story.values()}) == totals["stories"]


def test_generator_is_reproducible(tmp_path):
    write_corpus(tmp_path / "a", 50, noise=0.3, seed=5)
    write_corpus(tmp_path / "b", 50, noise=0.3, seed=5)
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes()


def test_large_pages_are_articles_of_one_to_three_megabytes(tmp_path):
    """The benchmark's large pages: far bigger than any real story, under the default
    --max-bytes, and still articles the parser reads back whole (their truth keeps the
    body's digest, not the body)."""
    import hashlib

    from newswh.parse import DEFAULT_MAX_BYTES
    from newswh.synth import LARGE_PAGE_BYTES

    write_corpus(tmp_path, 8, seed=13, large_pages=1.0)
    truths = [json.loads(line) for line in (tmp_path / "truth.jsonl").read_text().splitlines()]
    for truth in truths:
        data = (tmp_path / truth["file"]).read_bytes()
        assert LARGE_PAGE_BYTES[0] <= len(data) <= LARGE_PAGE_BYTES[1] + 10_000 < DEFAULT_MAX_BYTES
        result = parse_page(data, truth["file"])
        assert result.status == "article", result.reject
        assert hashlib.sha256(result.article.body.encode()).hexdigest() == truth["body_sha256"]
        for field in COMPARED:
            if field in truth:
                assert getattr(result.article, field) == truth[field], field


def assert_every_variant_occurs(folder, truths):
    """The variants of FORMAT.md are in the corpus, so the comparison above covers them."""
    pages = [(folder / truth["file"]).read_bytes() for truth in truths if truth["damage"] == "clean"]
    assert any(truth.get("dateline") for truth in truths)
    assert any(truth.get("attribution") and "repoted." in truth.get("body", "") for truth in truths)
    assert any(b"\nCategory:\n" in page or b"\nCategory:string(" in page for page in pages)
    assert any(b" Category:string(" in page for page in pages)
    assert any(b"Category: " in page for page in pages)
    assert any(b"/alalam-" in page for page in pages)
    assert any(None in truth.get("related_uploaded_at", []) for truth in truths)  # early names off their folder
    assert any(page.count(b"\n") == 2 and b"string(" not in page for page in pages)  # three-line pages
    assert any(truth.get("caption") and truth.get("paragraph_count") == 1 for truth in truths)
