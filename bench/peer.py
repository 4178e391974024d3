"""The peer pipeline newswh is compared with (`bench/run.py --compare`): what a competent
team would write in an afternoon with dlt, doing less than newswh does.

    python bench/peer.py SOURCE_FOLDER PIPELINES_DIR      (needs: pip install -e '.[bench]')

A regex parse of each raw file (headline, date line, body, and the trailer's related
items by a regex over `{...}` objects: no decoding repairs, no rejects, no captions, no
attribution, no dedup of captures beyond a merge on the file name) yielded as nested
dicts into dlt, which normalizes the related list into a child table and merges into
DuckDB. Prints one JSON line: files, articles, seconds.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

DATE_LINE = re.compile(rb"^\w{3} \w{3} \d{1,2}, \d{4} \d{2}:\d{2}:\d{2}$", re.MULTILINE)
TRAILER = re.compile(rb'string\(\d+\) "(.*)', re.DOTALL)
RELATED = re.compile(rb'\{"id":"(\d+)","sort":"(\d+)","contenttypeid":"(\d+)","pic":"([^"]*)","title":"(.*?)"\}')


def parse(path: str) -> dict[str, object] | None:
    """One raw file as a nested dict, or None when no date line is found."""
    with open(path, "rb") as handle:
        raw = handle.read()
    date = DATE_LINE.search(raw)
    if date is None:
        return None
    trailer = TRAILER.search(raw, date.end())
    body = raw[date.end() : trailer.start() if trailer else len(raw)].decode("utf-8", "replace").strip()
    related = [
        {"news_id": int(item[0]), "sort": int(item[1]), "content_type": int(item[2]),
         "pic": item[3].decode("utf-8", "replace"), "title": item[4].decode("utf-8", "replace").strip()}
        for item in RELATED.findall(trailer.group(1))
    ] if trailer else []
    return {
        "source_path": path,
        "title": raw[: date.start()].decode("utf-8", "replace").strip().splitlines()[0],
        "published_at": datetime.strptime(date.group().decode(), "%a %b %d, %Y %H:%M:%S"),
        "body": body,
        "related": related,
    }


def pages(source: Path) -> Iterator[dict[str, object]]:
    for folder, _, names in os.walk(source):
        for name in sorted(names):
            if name.endswith(".txt"):
                page = parse(os.path.join(folder, name))
                if page is not None:
                    yield page


def main() -> None:
    import dlt

    source, pipelines = Path(sys.argv[1]), Path(sys.argv[2])
    started = time.perf_counter()
    resource = dlt.resource(pages(source), name="articles", write_disposition="merge", primary_key="source_path")
    pipeline = dlt.pipeline(
        pipeline_name="peer", pipelines_dir=str(pipelines), destination=dlt.destinations.duckdb(str(pipelines / "peer.duckdb")),
        dataset_name="news",
    )
    pipeline.run(resource)
    seconds = time.perf_counter() - started
    import duckdb

    with duckdb.connect(str(pipelines / "peer.duckdb"), read_only=True) as con:
        [(articles,)] = con.execute("select count(*) from news.articles").fetchall()
    files = sum(1 for _, _, names in os.walk(source) for name in names if name.endswith(".txt"))
    print(json.dumps({"files": files, "articles": articles, "seconds": seconds}))


if __name__ == "__main__":
    main()
