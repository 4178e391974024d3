"""Parser accuracy, field by field, on a generated corpus against the generator's truth.

    python bench/accuracy.py [--files 20000] [--noise 0.05] [--seed 7]
    python bench/accuracy.py --corpus DIR      # a corpus written by `python -m newswh.synth`

The generator (newswh/synth.py) writes every layout variant of FORMAT.md at its own rate
(Category lines, datelines, attribution typos, early pic names, three-line pages, ...)
plus, with --noise, crawl damage; its truth.jsonl says what each page holds. A field is
right when the parse equals the truth exactly; a page parsed as a reject when it is an
article (or the reverse) counts as wrong on every field. `undamaged` is the pages the
generator did not damage; `all articles` adds the damaged pages that are still articles
(only the fields their truth states are counted).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path

from newswh.parse import parse_page
from newswh.records import ParseResult
from newswh.synth import write_corpus

FIELDS = ("title", "published_at", "attribution", "caption", "related", "lead", "body", "sign_off", "dateline", "pic_uploaded_at")
"""The issue's five (title, date, attribution, caption, related list) first, then the rest."""


def parsed_fields(result: ParseResult) -> dict[str, object]:
    article = result.article
    if article is None:
        return {}
    return {
        "title": article.title,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "attribution": article.attribution,
        "caption": article.caption,
        "related": (article.related_status, [item.news_id for item in result.related_items]),
        "lead": article.lead,
        "body": article.body,
        "sign_off": article.sign_off,
        "dateline": article.dateline,
        "pic_uploaded_at": [item.pic_uploaded_at.isoformat() if item.pic_uploaded_at else None for item in result.related_items],
    }


def expected_fields(truth: dict[str, object]) -> dict[str, object]:
    expected = {name: truth[name] for name in FIELDS if name in truth}
    if "related_news_ids" in truth:
        expected["related"] = (truth["related_status"], truth["related_news_ids"])
    if "related_uploaded_at" in truth:
        expected["pic_uploaded_at"] = truth["related_uploaded_at"]
    return expected


def score(corpus: Path) -> dict[str, dict[str, object]]:
    """Per group (`undamaged`, `all articles`): pages, and per field right/total/percent."""
    tallies = {group: (Counter(), Counter()) for group in ("undamaged", "all articles")}
    pages = Counter()
    for line in (corpus / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        truth = json.loads(line)
        if truth["status"] != "article":
            continue
        parsed = parsed_fields(parse_page((corpus / truth["file"]).read_bytes(), truth["file"]))
        groups = ["all articles"] + (["undamaged"] if truth["damage"] == "clean" else [])
        for group in groups:
            pages[group] += 1
            right, total = tallies[group]
            for name, value in expected_fields(truth).items():
                total[name] += 1
                right[name] += parsed.get(name, object()) == value
    return {
        group: {
            "pages": pages[group],
            "fields": {
                name: {"right": right[name], "total": total[name], "percent": round(100 * right[name] / total[name], 3)}
                for name in FIELDS
                if total[name]
            },
        }
        for group, (right, total) in tallies.items()
    }


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--corpus", type=Path, help="score this folder (files and truth.jsonl) instead of a new one")
    options.add_argument("--files", type=int, default=20_000, help="files to generate")
    options.add_argument("--noise", type=float, default=0.05, help="share of generated files damaged")
    options.add_argument("--seed", type=int, default=7)
    args = options.parse_args()
    if args.corpus:
        results = score(args.corpus)
    else:
        with tempfile.TemporaryDirectory() as folder:
            totals = write_corpus(Path(folder), args.files, noise=args.noise, seed=args.seed)
            results = score(Path(folder))
    for group, result in results.items():
        print(f"{group}: {result['pages']:,} pages")
        for name, row in result["fields"].items():
            print(f"  {name:16} {row['right']:>8,} / {row['total']:<8,} {row['percent']:>8.3f} %")
    corpus = str(args.corpus) if args.corpus else {"noise": args.noise, "seed": args.seed, **totals}
    print(json.dumps({"corpus": corpus, "results": results}))


if __name__ == "__main__":
    main()
