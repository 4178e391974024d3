"""Generate realistic raw pages, optionally damaged the ways a crawl damages them.

`render` is pure (a spec in, the page's bytes out) so property tests can round-trip it
through the parser; `write_corpus` writes many files plus `truth.jsonl`, the expected
outcome of each file, for end-to-end tests and benchmarks.

    python -m newswh.synth OUT N [--noise 0.05] [--large-pages 0.01] [--seed 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

TICKS_PER_MICROSECOND = 10
_TICKS_AT_UNIX_EPOCH = 621355968000000000
WORDS = (
    "Syria Iran Russia Yemen Iraq Lebanon Tehran Damascus Moscow Baghdad Sanaa Beirut army forces "
    "government minister president talks ceasefire sanctions deal nuclear oil border security "
    "officials militants operation troops city province region report statement meeting visit "
    "agreement attack strikes aid refugees election parliament economy trade protest court"
).split()
FILLER = "the of and in on for with to from by said has have was were will over after new".split()
OUTLETS = ("Press TV", "Sana", "FNA", "IRNA", "Al-Alam", "Reuters", "Tasnim")
REPORTED = ("reported", "repoted")
"""How an attribution ends: the verb, and the typo real pages carry."""
SIGN_OFFS = ("S/SH 11", "NTJ/BA", "MA/MA", "HGH/HMV 5", "MB/MB")
DATELINES = ("Alalam - Syria", "ALALAM - Syria", "Alalam - Iraq", "Alalam - Yemen", "Al-Alam - Lebanon")
CATEGORIES = ("", " Middle East", " Politics", " Syria")
"""What follows `Category:` on a page (often nothing)."""
VARIANT_SHARES = {
    "category": 0.3, "dateline": 0.15, "attribution_typo": 0.05, "early_pic": 0.15,
    "early_pic_off_folder": 0.1, "short_page": 0.03,
}
"""How often each real-page variant of FORMAT.md appears in a generated page (shares of
pages, of attributions, of pic names, and of early pic names whose folder disagrees)."""
DAMAGE_KINDS = (
    "empty", "binary", "bom", "crlf", "cp1252", "entities", "nul_bytes", "truncated_trailer",
    "no_trailer", "unescaped_quotes", "arabic_page", "html_page", "cut_utf8", "duplicate_capture",
)
"""Each kind of damage the generator can apply; `truth.jsonl` names the one applied."""
LARGE_PAGE_BYTES = (1_000_000, 3_000_000)
"""How big a large page is: a crawl accident hundreds of times a real story, yet under the
default --max-bytes, so it must be ingested as an article (and the load must fit it)."""
_ARABIC_WORDS = "الحكومة السورية الجيش العراق إيران مجلس الأمن الرئيس وزير الخارجية".split()


@dataclass(slots=True)
class RelatedSpec:
    news_id: int
    sort_key: int
    content_type_id: int
    title: str
    pic_path: str
    uploaded_at: datetime | None = None
    """The upload time the parser should decode from `pic_path`; None where it should not trust one."""


@dataclass(slots=True)
class PageSpec:
    """Everything that decides a page's text; the parser should recover each field."""

    title: str
    published_at: datetime
    paragraphs: list[str]
    caption: str | None = None
    sign_off: str | None = None
    related: list[RelatedSpec] | None = field(default_factory=list)  # None: no trailer
    repeat_headline: bool = False
    compact: bool = False  # no blank lines anywhere
    newlines_before_trailer: int = 2
    dateline: str | None = None  # a desk and country line under the lead
    category: str | None = None  # the text after `Category:`; None: no Category line
    category_inline: bool = False  # `Category:` on the sign-off's line, the trailer straight after it


def render(spec: PageSpec) -> bytes:
    """The raw page the crawl would have saved for `spec`, as UTF-8 bytes."""
    gap = "\n" if spec.compact else "\n\n"
    head = [spec.title]
    if spec.repeat_headline:
        head += ["", spec.title] if not spec.compact else [spec.title]
        date_block = [format_date_line(spec.published_at)]
    else:
        date_block = [format_date_line(spec.published_at)] if spec.compact else ["", format_date_line(spec.published_at)]
    blocks = [spec.paragraphs[0]]
    if spec.dateline is not None:
        blocks.append(spec.dateline)
    if spec.caption is not None:
        blocks.append(spec.caption)
    blocks.extend(spec.paragraphs[1:])
    if spec.sign_off is not None:
        blocks.append(spec.sign_off)
    text = "\n".join(head + date_block) + gap + gap.join(blocks)
    trailer = "" if spec.related is None else render_trailer(spec.related)
    if spec.category is None:
        return (text + "\n" * spec.newlines_before_trailer * bool(trailer) + trailer).encode("utf-8")
    # The Category line comes with no blank line before the trailer: on a line of its own,
    # or, inline, on the sign-off's line with the trailer right after its colon.
    if spec.category_inline and trailer:
        text += (" " if spec.sign_off is not None else "\n") + f"Category:{spec.category}" + trailer
    else:
        text += f"\nCategory:{spec.category}" + ("\n" + trailer if trailer else "")
    return text.encode("utf-8")


def render_trailer(related: list[RelatedSpec]) -> str:
    """The PHP var_dump of the related list: inner quotes unescaped, `} ,{` separators."""
    if not related:
        payload = "[]"
    else:
        objects = [
            f'{{"id":"{item.news_id}","sort":"{item.sort_key}","contenttypeid":"{item.content_type_id}",'
            f'"pic":"{item.pic_path}","title":"{item.title}"'
            for item in related
        ]
        payload = "[" + "} ,".join(objects) + "} ]"
    return f'string({len(payload.encode("utf-8"))}) "{payload}"'


def format_date_line(moment: datetime) -> str:
    return moment.strftime("%a %b ") + f"{moment.day}, {moment.year} " + moment.strftime("%H:%M:%S")


def pic_path_for(uploaded_at: datetime, video: bool = False, early: bool = False, folder_days_off: int = 0) -> str:
    """A pic path whose folder and .NET ticks both encode `uploaded_at`: the usual
    `alalam_<ticks>_25f_4x3` name, or an early `alalam-<ticks>` one, whose folder may be
    `folder_days_off` days off the ticks' date."""
    delta = uploaded_at - datetime(1970, 1, 1)
    ticks = _TICKS_AT_UNIX_EPOCH + (delta // timedelta(microseconds=1)) * TICKS_PER_MICROSECOND
    extension = "mp4" if video else "jpg"
    if early:
        return f"/{uploaded_at + timedelta(days=folder_days_off):%Y/%m/%d}/alalam-{ticks}.{extension}"
    return f"/{uploaded_at:%Y/%m/%d}/alalam_{ticks}_25f_4x3.{extension}"


class PageFactory:
    """Random but plausible pages, reproducible from a seed.

    Like the real site, stories appear in time order, each has a site news id and a
    picture uploaded shortly before publication, and related lists point mostly at
    recent stories of the same corpus (so related items repeat across pages).
    """

    RECENT_STORIES = 400
    SHARE_FROM_CORPUS = 0.7

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.next_news_id = 1_200_000
        self.clock = datetime(2012, 1, 1, 8, 0, 0)
        self.recent: list[RelatedSpec] = []

    def sentence(self, words: int) -> str:
        rng = self.rng
        chosen = [rng.choice(WORDS) if rng.random() < 0.6 else rng.choice(FILLER) for _ in range(words)]
        text = " ".join(chosen)
        return text[0].upper() + text[1:]

    def page(self, story_number: int) -> PageSpec:
        rng = self.rng
        self.clock += timedelta(seconds=rng.randrange(60, 1800))
        published = self.clock
        paragraphs = [self.sentence(rng.randint(8, 40)) + "." for _ in range(rng.randint(1, 9))]
        if rng.random() < 0.7:
            outlet = rng.choice(OUTLETS)
            separator = "; " if rng.random() < 0.7 else ", "
            verb = REPORTED[rng.random() < VARIANT_SHARES["attribution_typo"]]
            paragraphs[-1] = paragraphs[-1][:-1] + f"{separator}{outlet} {verb}."
        if rng.random() < 0.2 and len(paragraphs) > 3:
            paragraphs.insert(len(paragraphs) // 2, self.sentence(rng.randint(2, 6)))  # a sub-heading
        title = f"{self.sentence(rng.randint(4, 12))} {story_number}"
        if rng.random() < VARIANT_SHARES["short_page"]:  # headline, date line, one lead, nothing else
            spec = PageSpec(title=title, published_at=published, paragraphs=paragraphs[:1], related=None, compact=True)
        else:
            related = self.related(published, rng.randint(0, 16))
            sign_off = rng.choice(SIGN_OFFS) if rng.random() < 0.15 else None
            category = rng.choice(CATEGORIES) if rng.random() < VARIANT_SHARES["category"] else None
            spec = PageSpec(
                title=title,
                published_at=published,
                paragraphs=paragraphs,
                caption=self.sentence(rng.randint(3, 9)) if rng.random() < 0.4 else None,
                sign_off=sign_off,
                related=related,
                repeat_headline=rng.random() < 0.4,
                compact=rng.random() < 0.1,
                newlines_before_trailer=rng.randint(1, 6),
                dateline=rng.choice(DATELINES) if rng.random() < VARIANT_SHARES["dateline"] else None,
                category=category,
                category_inline=category == "" and rng.random() < 0.5,
            )
            spec = without_stray_caption(spec)
        uploaded = published - timedelta(seconds=rng.randrange(60, 5400), microseconds=rng.randrange(10**6))
        self.recent.append(self._story_link(title, uploaded))
        del self.recent[: -self.RECENT_STORIES]
        return spec

    def lengthen(self, spec: PageSpec, size: int) -> PageSpec:
        """`spec` with its body run on to about `size` bytes: still one valid article (same
        title, date, lead, caption, attribution and trailer), only very long. Paragraphs are
        drawn from a small pool of sentences, so a 3 MB page takes milliseconds to make."""
        rng = self.rng
        pool = [self.sentence(rng.randint(8, 40)) + "." for _ in range(64)]
        extra: list[str] = []
        missing = size - len(render(spec))
        while missing > 0:
            paragraph = " ".join(rng.choices(pool, k=rng.randint(3, 12)))
            extra.append(paragraph)
            missing -= len(paragraph) + 2
        return replace(spec, paragraphs=[spec.paragraphs[0], *extra, *spec.paragraphs[1:]])

    def related(self, around: datetime, count: int) -> list[RelatedSpec]:
        """`count` related stories: mostly recent corpus stories, some from outside it."""
        rng = self.rng
        from_corpus = min(len(self.recent), round(count * self.SHARE_FROM_CORPUS))
        items = rng.sample(self.recent, from_corpus)
        for _ in range(count - from_corpus):
            uploaded = around - timedelta(seconds=rng.randrange(0, 20 * 86400), microseconds=rng.randrange(10**6))
            title = self.sentence(rng.randint(3, 10))
            if rng.random() < 0.1:
                title = title.replace(" ", " “", 1) + "”"
            items.append(self._story_link(title, uploaded))
        return sorted(items, key=lambda item: item.news_id)

    def _story_link(self, title: str, uploaded: datetime) -> RelatedSpec:
        rng = self.rng
        self.next_news_id += rng.randint(1, 50)
        video = rng.random() < 0.1
        early = not video and rng.random() < VARIANT_SHARES["early_pic"]
        days_off = rng.choice((-1, 1)) if early and rng.random() < VARIANT_SHARES["early_pic_off_folder"] else 0
        return RelatedSpec(
            news_id=self.next_news_id,
            sort_key=rng.randint(3_000_000, 3_500_000),
            content_type_id=rng.choice((21, 21, 21, 22)),
            title=title,
            pic_path=pic_path_for(uploaded, video=video, early=early, folder_days_off=days_off),
            uploaded_at=None if days_off else uploaded,
        )


def without_stray_caption(spec: PageSpec) -> PageSpec:
    """`spec`, minus a caption that would be the page's last line: a short line that ends
    the file may be a paragraph the crawl cut, so no reader can call it a caption."""
    goes_on = len(spec.paragraphs) >= 2 or spec.related is not None or spec.sign_off is not None or spec.category is not None
    return spec if goes_on else replace(spec, caption=None)


def expected_fields(spec: PageSpec) -> dict[str, object]:
    """What the parser must report for a clean render of `spec` (the ground truth)."""
    return {
        "title": spec.title,
        "published_at": spec.published_at.isoformat(),
        "lead": spec.paragraphs[0],
        "body": "\n\n".join(spec.paragraphs),
        "caption": spec.caption,
        "sign_off": spec.sign_off,
        "dateline": spec.dateline,
        "attribution": next(
            (o for o in OUTLETS for verb in REPORTED if spec.paragraphs[-1].endswith(f" {o} {verb}.")), None
        ),
        "paragraph_count": len(spec.paragraphs),
        "related_status": "absent" if spec.related is None else ("ok" if spec.related else "empty"),
        "related_news_ids": [item.news_id for item in spec.related or []],
        "related_uploaded_at": [
            item.uploaded_at.isoformat() if item.uploaded_at else None for item in spec.related or []
        ],
    }


def damage(spec: PageSpec, kind: str, factory: PageFactory) -> tuple[bytes, dict[str, object]]:
    """Bytes of `spec` damaged in one known way, and how the parser should respond."""
    truth = expected_fields(spec)
    rng = factory.rng
    data = render(spec)
    if kind == "empty":
        return b"", {"status": "rejected", "reason": "empty"}
    if kind == "binary":
        return b"\x89PNG\r\n\x1a\n" + rng.randbytes(2000), {"status": "rejected", "reason": "binary"}
    if kind == "html_page":
        return b"<!DOCTYPE html><html><body>404 Not Found</body></html>", {"status": "rejected", "reason": "not_article"}
    if kind == "arabic_page":
        words = " ".join(rng.choice(_ARABIC_WORDS) for _ in range(12))
        page = f"{words}\n\n{format_date_line(spec.published_at)}\n\n{words} {words}.\n"
        encoding = rng.choice(("utf-8", "cp1256"))
        return page.encode(encoding), {"status": "rejected", "reason": "foreign_language"}
    if kind == "bom":
        return b"\xef\xbb\xbf" + data, {"status": "article", **truth}
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n"), {"status": "article", **truth}
    if kind == "nul_bytes":
        return data.replace(b"\n", b"\n\x00\x00", 3), {"status": "article", **truth}
    if kind == "cp1252":
        spec.paragraphs[0] = f"‘{spec.paragraphs[0]}’ — he said."
        return render(spec).decode("utf-8").encode("cp1252"), {"status": "article", **expected_fields(spec)}
    if kind == "entities":
        title = spec.title.replace(" ", " &amp; ", 1)
        encoded = replace(spec, title=title)
        truth = expected_fields(replace(spec, title=spec.title.replace(" ", " & ", 1)))
        return render(encoded), {"status": "article", **truth}
    if kind == "truncated_trailer" and spec.related:
        trailer_start = data.rfind(b"string(")
        objects_start = [i for i in range(trailer_start, len(data)) if data.startswith(b'{"id"', i)]
        keep = rng.randrange(len(objects_start))
        cut = objects_start[keep] + rng.randint(3, 20)
        truth["related_status"] = "truncated"
        truth["related_news_ids"] = truth["related_news_ids"][:keep]  # type: ignore[index]
        truth["related_uploaded_at"] = truth["related_uploaded_at"][:keep]  # type: ignore[index]
        return data[:cut], {"status": "article", **truth}
    if kind == "no_trailer":
        bare = without_stray_caption(replace(spec, related=None))
        return render(bare), {"status": "article", **expected_fields(bare)}
    if kind == "unescaped_quotes" and spec.related:
        spec.related[0] = replace(spec.related[0], title='Erdogan Claimed "Safe Zone" Will Help Refugees')
        truth = expected_fields(spec)
        return render(spec), {"status": "article", **truth}
    if kind == "cut_utf8":  # the crawl cut the page's last line, the last paragraph, in a character
        spec.related, spec.sign_off, spec.category = None, None, None
        if len(spec.paragraphs) == 1:
            spec.caption, spec.dateline = None, None
        spec.paragraphs[-1] = spec.paragraphs[-1][:-1] + " — and more…"
        truth = expected_fields(spec)
        truth["body"] = truth["body"][:-1]  # type: ignore[index]
        return render(spec)[:-1], {"status": "article", **{k: truth[k] for k in ("title", "published_at", "body")}}
    return data, {"status": "article", **truth}


def write_corpus(out: Path, count: int, noise: float = 0.0, seed: int = 7, large_pages: float = 0.0) -> dict[str, int]:
    """Write `count` files plus `truth.jsonl` into `out`; returns counts by outcome.

    With `duplicate_capture`, a file repeats an earlier story with another related
    list, so its truth names the same `story` as the original. A share `large_pages` of
    the clean pages is lengthened to LARGE_PAGE_BYTES; their truth gives the body's
    SHA-256 (`body_sha256`) instead of the body, or truth.jsonl would be as big as the
    corpus. With `large_pages=0` the corpus is byte for byte what it was before the option.
    """
    out.mkdir(parents=True, exist_ok=True)
    factory = PageFactory(seed)
    rng = factory.rng
    totals = {"files": 0, "articles": 0, "rejected": 0, "stories": 0}
    clean_originals: list[tuple[int, PageSpec]] = []
    with open(out / "truth.jsonl", "w", encoding="utf-8") as truth_file:
        for number in range(count):
            kind = rng.choice(DAMAGE_KINDS) if rng.random() < noise else "clean"
            story = number
            if kind == "duplicate_capture" and clean_originals:
                story, original = rng.choice(clean_originals)
                spec = replace(original, related=factory.related(original.published_at, rng.randint(0, 16)))
                data, truth = render(spec), {"status": "article", **expected_fields(spec)}
            else:
                kind = "clean" if kind == "duplicate_capture" else kind
                spec = factory.page(number)
                if kind == "clean" and large_pages and rng.random() < large_pages:
                    spec = factory.lengthen(spec, rng.randint(*LARGE_PAGE_BYTES))
                data, truth = damage(spec, kind, factory)
                if kind == "clean":
                    clean_originals.append((number, spec))
            if truth["status"] == "article" and story == number:
                totals["stories"] += 1
            if len(data) >= LARGE_PAGE_BYTES[0] and "body" in truth:
                truth["body_sha256"] = hashlib.sha256(str(truth.pop("body")).encode()).hexdigest()
            name = f"{number:06d}_{rng.getrandbits(64):016x}.txt"
            (out / name).write_bytes(data)
            truth_file.write(json.dumps({"file": name, "damage": kind, "story": story, **truth}) + "\n")
            totals["files"] += 1
            totals["articles" if truth["status"] == "article" else "rejected"] += 1
    return totals


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m newswh.synth", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the files and truth.jsonl into")
    parser.add_argument("count", type=int, help="how many files")
    parser.add_argument("--noise", type=float, default=0.0, help="share of files damaged (0 to 1)")
    parser.add_argument("--large-pages", type=float, default=0.0, help="share of clean pages made 1-3 MB long (0 to 1)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    totals = write_corpus(args.out, args.count, args.noise, args.seed, args.large_pages)
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
