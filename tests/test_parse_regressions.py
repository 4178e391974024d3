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
        ("It was signed on Monday, al-Alam reports, and more will follow.", "al-Alam"),  # mid-paragraph (1.3.0)
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


STANDARD = '{"id":"1757343","sort":"1","contenttypeid":"21","pic":"/2015/11/08/alalam_635825855555584105_25f_4x3.jpg","title":"First"}'
SPACED = '{"id": "1757766", "sort": "2", "contenttypeid": "22", "pic": "", "title": "Second"}'
REORDERED = '{"sort":"3","id":"1757941","contenttypeid":"21","pic":"","title":"Third"}'
BRACED = '{"id":"1757999","sort":"4","contenttypeid":"21","pic":"","title":"A {bracketed} title"}'


@pytest.mark.parametrize(
    ("objects", "news_ids", "titles"),
    [
        ([SPACED], [1757766], ["Second"]),
        ([STANDARD, SPACED], [1757343, 1757766], ["First", "Second"]),
        ([SPACED, STANDARD], [1757766, 1757343], ["Second", "First"]),
        ([STANDARD, REORDERED, STANDARD], [1757343, 1757941, 1757343], ["First", "Third", "First"]),
        ([STANDARD, BRACED], [1757343, 1757999], ["First", "A {bracketed} title"]),
    ],
)
def test_a_complete_list_loses_no_object_written_another_way(objects, news_ids, titles):
    """A JSON object with spaces after its colons, or its keys in another order, among the
    site's usual ones: parser 1.x skipped the first kind (a list of them all was read as
    an empty one) and swallowed the second into the title before it, with status ok."""
    listed = "[" + " ,".join(objects) + " ]"
    head = "Headline Here\n\nMon Feb 9, 2015 10:00:00\n\nA body paragraph that says things.\n\n"
    result = parse_page(f'{head}string({len(listed)}) "{listed}"'.encode(), "t.txt")
    assert result.article.related_status == "ok"
    assert [item.news_id for item in result.related_items] == news_ids
    assert [item.title for item in result.related_items] == titles


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (r"Smile \ud83d\ude00 now", "Smile \U0001f600 now"),  # a surrogate pair: one character
        (r"Smile \uD83D\uDE00 now", "Smile \U0001f600 now"),
        (r"Half \ud83d of a pair", "Half \ufffd of a pair"),  # a lone half: no character at all
        (r"Backwards \ude00\ud83d pair", "Backwards \ufffd\ufffd pair"),
    ],
)
def test_escaped_characters_beyond_the_basic_plane_are_whole(title, expected, tmp_path):
    """A related title JSON-escaped as a surrogate pair (how JSON writes an emoji) was kept
    as two lone surrogates, which no UTF-8 holds: staging the page failed the whole run."""
    from newswh.staging import PlannedFile, stage_batch

    listed = '[{"id":"1","sort":"1","contenttypeid":"21","pic":"","title":"' + title + '"}]'
    page = f'Headline Here\n\nMon Feb 9, 2015 10:00:00\n\nA body paragraph that says things.\n\nstring(9) "{listed}"'
    assert [item.title for item in parse_page(page.encode(), "t.txt").related_items] == [expected]
    escaped_json = page.replace('","sort"', '", "sort"')  # not the usual layout: read by json.loads
    assert [item.title for item in parse_page(escaped_json.encode(), "t.txt").related_items] == [expected]
    path = tmp_path / "page.txt"
    path.write_text(page, encoding="utf-8")
    planned = [PlannedFile(str(path), path.stat().st_size, path.stat().st_mtime_ns, None, None)]
    assert stage_batch(0, planned, str(tmp_path / "staging"), 10_000).articles == 1


# Parser 1.2.0: what an adversarial pass over FORMAT.md found, one test each.

SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_HEAD = SEED_TEXT[: SEED_TEXT.index("string(")]
SEED_TITLE = "Russia Deputy FM: 160 Russians Fighting for ISIS Killed in Syria"
SEED_DATE_LINE = "Fri Nov 20, 2015 15:20:59"
SEED_LAST = "September 30; Press TV reported."


def _object(news_id: int) -> str:
    return '{"id":"%d","sort":"1","contenttypeid":"21","pic":"/2015/11/08/a.jpg","title":"Story %d"}' % (news_id, news_id)


def test_a_trailer_cut_right_after_a_separator_keeps_the_object_before_it():
    """FORMAT.md: keep every complete object before the cut. A list cut just after `} ,`
    lost the object the comma closed."""
    for cut in (" ,", " , ", ",", " ,{", ""):
        page = SEED_HEAD + 'string(999) "[' + _object(1) + " ," + _object(2) + cut
        result = parse_page(page.encode(), "t.txt")
        assert result.article.related_status == "truncated", cut
        assert [item.news_id for item in result.related_items] == [1, 2], cut


@pytest.mark.parametrize(
    ("trailer", "status", "news_ids"),
    [
        ('string(3) "[ ]"', "empty", []),
        ('string(0) ""', "empty", []),
        ('string(9) "["a","b"]"', "malformed", []),
        ('string(7) "[[1,2]]"', "malformed", []),
        ('string(9) "[' + _object(1) + ' ,]"', "malformed", [1]),
    ],
)
def test_a_closed_trailer_is_never_called_cut(trailer, status, news_ids):
    """Closed lists that are not the usual list of objects were `truncated`, as if the crawl had cut them."""
    result = parse_page((SEED_HEAD + trailer).encode(), "t.txt")
    assert result.article.related_status == status
    assert [item.news_id for item in result.related_items] == news_ids


@pytest.mark.parametrize("start", ["[VIDEO] ", "[2015] ", "{Breaking} "])
def test_a_headline_that_starts_like_json_is_a_headline(start):
    article = parse_page(SEED_TEXT.replace(SEED_TITLE, start + SEED_TITLE).encode(), "t.txt").article
    assert article is not None and article.title == start + SEED_TITLE
    assert article.published_at == datetime(2015, 11, 20, 15, 20, 59)


@pytest.mark.parametrize("data", [b'[{"id": 1}, {"id": 2}]', b'{"title": "x"}', b'[\n  "a",\n  "Fri Nov 20, 2015 15:20:59"\n]'])
def test_json_is_still_not_an_article(data):
    assert parse_page(data, "t.json").reject.detail == "JSON data, not the text of a news page"


def test_a_short_arabic_page_in_windows_1256_is_arabic():
    """An ASCII trailer outweighed three Arabic paragraphs: the page read as windows-1252,
    and was stored as an English article with a garbled headline."""
    headline = "روسيا: مقتل 160 روسيا يقاتلون في صفوف داعش بسوريا"
    paragraph = "قال نائب وزير الخارجية الروسي إن نحو 160 مواطنا روسيا قتلوا أثناء قتالهم في صفوف جماعة داعش في سوريا."
    trailer = SEED_TEXT[SEED_TEXT.index("string("):]
    page = f"{headline}\n\n{SEED_DATE_LINE}\n\n" + "\n\n".join([paragraph] * 3) + "\n\n" + trailer
    reject = parse_page(page.encode("cp1256"), "t.txt").reject
    assert (reject.reason, reject.detail) == ("foreign_language", "the page is in Arabic, from a sister site, not en.alalam.ir")


def test_an_english_page_with_a_few_accents_in_windows_1252_stays_english():
    page = SEED_TEXT.replace("A Russian deputy", "A Peña Nieto “quote” Gómez Müller deputy").encode("cp1252")
    article = parse_page(page, "t.txt").article
    assert article.source_encoding == "cp1252" and article.lead.startswith("A Peña Nieto “quote” Gómez Müller deputy")


def test_stray_windows_quotes_in_utf8_are_quotes():
    page = SEED_TEXT.replace("A Russian deputy", "A \x93Russian\x94 deputy").encode("utf-8").replace(b"\xc2\x93", b"\x93").replace(b"\xc2\x94", b"\x94")
    article = parse_page(page, "t.txt").article
    assert article.source_encoding == "utf-8-repaired" and article.lead.startswith("A “Russian” deputy")
    other = parse_page(SEED_TEXT.encode().replace(b"A Russian", b"A Ru\xe1sian"), "t.txt").article
    assert other.lead.startswith("A Ru\ufffdsian")  # windows-1252's á, windows-1256's ل: no guess at which


@pytest.mark.parametrize(("encoding", "cut"), [("utf-16", 1), ("utf-16-le", 1), ("utf-16-be", 1), ("utf-16", 2)])
def test_a_utf16_page_cut_mid_character_keeps_its_text(encoding, cut):
    text = SEED_TEXT + "😀" if cut == 2 else SEED_TEXT  # 2: half of a surrogate pair cut off
    data = text.encode(encoding)
    data = (data if encoding == "utf-16" else ("\ufeff".encode(encoding) + data))[:-cut]
    article = parse_page(data, "t.txt").article
    assert article is not None and article.source_encoding == "utf-16"
    assert (article.title, article.attribution) == (SEED_TITLE, "Press TV")


@pytest.mark.parametrize("data", [SEED.read_bytes() + b"\x00" * 4096, b"\x00\x00\x00" + SEED.read_bytes(), b"\x00" * 64 + SEED.read_bytes() + b"\x00"])
def test_a_page_padded_with_nul_bytes_is_the_page(data):
    result = parse_page(data, "t.txt")
    assert result.article is not None and result.article.title == SEED_TITLE
    assert len(result.related_items) == 16


def test_nul_bytes_alone_or_around_binary_are_rejected():
    assert parse_page(b"\x00" * 4096, "t.txt").reject.reason == "empty"
    assert parse_page(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8, "t.txt").reject.reason == "binary"


def test_a_second_headline_copy_that_differs_is_not_the_lead():
    """FORMAT.md: when repeated, the date line follows the second copy directly. A copy
    that differed ("+ VIDEO") made the date line the caption and the copy the lead."""
    page = SEED_TEXT.replace(SEED_TITLE + "\n" + SEED_DATE_LINE, SEED_TITLE + " + VIDEO\n" + SEED_DATE_LINE)
    article = parse_page(page.encode(), "t.txt").article
    assert (article.title, article.published_at) == (SEED_TITLE, datetime(2015, 11, 20, 15, 20, 59))
    assert article.lead.startswith("A Russian deputy") and SEED_DATE_LINE not in article.body + (article.caption or "")


def test_an_entity_for_a_line_break_does_not_split_the_headline():
    article = parse_page(SEED_TEXT.replace(SEED_TITLE, "Iran&#10;Russia &amp; the&#13;deal&#8203;").encode(), "t.txt").article
    assert (article.title, article.published_at) == ("Iran Russia & the deal", datetime(2015, 11, 20, 15, 20, 59))


@pytest.mark.parametrize(
    ("last", "outlet"),
    [
        ('September 30," Press TV reported.', "Press TV"),
        ("September 30, al-Alam reported.", "al-Alam"),
        ("September 30, Reuters reports.", "Reuters"),
        ("September 30, the Sana news agency reported.", "Sana"),
        ("September 30, IRNA reported on Sunday.", "IRNA"),
        ("September 30, the ministry reports.", None),
    ],
)
def test_more_attribution_forms(last, outlet):
    assert parse_page(SEED_TEXT.replace(SEED_LAST, last).encode(), "t.txt").article.attribution == outlet


@pytest.mark.parametrize("sign_off", ["NTJ/BA.", "S/ SH 11", "MKH/AS 1234"])
def test_more_sign_off_forms(sign_off):
    article = parse_page(SEED_TEXT.replace(SEED_LAST, SEED_LAST + "\n" + sign_off).encode(), "t.txt").article
    assert (article.sign_off, article.attribution) == (sign_off, "Press TV")
    assert article.body.endswith(SEED_LAST)


# Parser 1.2.1.


@pytest.mark.parametrize("category", ["Category: U.S.", "Category: Op-Ed: Iran", "NTJ/BA\nCategory: U.S."])
def test_a_category_line_of_its_own_is_chrome_whatever_it_names(category):
    """FORMAT.md: a `Category:` line is page chrome. One naming `U.S.` stayed in the body,
    as only names that could not end a sentence were taken."""
    article = parse_page(SEED_TEXT.replace(SEED_LAST, SEED_LAST + "\n" + category).encode(), "t.txt").article
    assert article.body.endswith(SEED_LAST) and article.attribution == "Press TV"
    sentence = parse_page(SEED_TEXT.replace(SEED_LAST, SEED_LAST + " Category: U.S.").encode(), "t.txt").article
    assert sentence.body.endswith(SEED_LAST + " Category: U.S.")  # the end of a line of text may be a sentence


def test_a_utf8_page_with_a_windows_1252_related_list_keeps_its_utf8():
    """The page read as windows-1252 throughout when its stray quotes outnumbered its UTF-8
    characters, and its lead's `’` became `â€™`."""
    head = SEED_HEAD.replace("A Russian deputy", "A Russian’s deputy")
    trailer = SEED_TEXT[SEED_TEXT.index("string("):]
    data = head.encode() + trailer.encode("cp1252")
    stray = sum(byte >= 0x80 for byte in trailer.encode("cp1252"))
    assert stray > sum(not char.isascii() for char in head)  # what the 0.5 % rule alone refused
    result = parse_page(data, "t.txt")
    assert result.article.source_encoding == "utf-8-repaired"
    assert result.article.lead.startswith("A Russian’s deputy")
    assert result.related_items == parse_page((head + trailer).encode(), "t.txt").related_items
    accented = parse_page(head.encode() + trailer.replace("Putin", "Poutiné").encode("cp1252"), "t.txt")
    assert accented.article.source_encoding == "utf-8-repaired"  # é in both code pages (parser 1.3.0)
    assert accented.article.lead.startswith("A Russian’s deputy") and "Poutiné" in accented.related_items[0].title
    guessed = parse_page(head.encode() + trailer.replace("Putin", "Putín").encode("cp1252"), "t.txt").article
    assert guessed.source_encoding == "cp1252"  # í is windows-1256's ي: which code page is a guess, as before


# Parser 1.3.0: a second adversarial pass over FORMAT.md's "Damage to expect from a crawl".


def test_nul_bytes_inside_a_page_are_dropped_not_taken_for_binary():
    """FORMAT.md lists NUL bytes among the damage: 300 of them inside a page (a hole the
    crawl left) rejected the readable article as binary."""
    cut = SEED.read_bytes().index(b"Oleg Syromolotov said")
    result = parse_page(SEED.read_bytes()[:cut] + b"\x00" * 300 + SEED.read_bytes()[cut:], "t.txt")
    whole = parse_page(SEED.read_bytes(), "t.txt")
    assert result.article is not None, result.reject
    assert (result.article.body, result.related_items) == (whole.article.body, whole.related_items)
    # NULs strewn between other bytes, not a run of them: binary still (`\x00\xff` is no UTF-16 text either).
    for binary in (b"text " * 100 + b"\x00\x01\x02\x03" * 100, b"ab\x00" * 300, b"\x00\xff" * 500, b"\xff\x00" * 500):
        assert parse_page(binary, "t.txt").reject.reason == "binary", binary[:12]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("cut", [0, 1])
def test_a_utf16_page_without_its_byte_order_mark_is_utf16(encoding, cut):
    """Without a byte-order mark, every other byte of a UTF-16 page is NUL: it was rejected
    as binary. A run of NULs has as many on either side of each pair, and is no UTF-16."""
    data = SEED_TEXT.encode(encoding)
    result = parse_page(data[: len(data) - cut], "t.txt")
    whole = parse_page(SEED.read_bytes(), "t.txt")
    assert result.article is not None and result.article.source_encoding == "utf-16", result.reject
    assert (result.article.body, result.related_items) == (whole.article.body, whole.related_items)
    padded = parse_page(SEED.read_bytes() + b"\x00" * 8192, "t.txt").article
    assert padded.source_encoding == "utf-8" and padded.body == whole.article.body


def test_a_windows_1252_page_with_a_byte_it_leaves_undefined_is_kept():
    """windows-1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined: one of them in a
    windows-1252 page rejected it as undecodable. A few are damage, replaced; many are
    not windows-1252."""
    page = SEED_TEXT.replace("A Russian deputy", "A Peña “quote” deputy").encode("cp1252")
    cut = page.index(b"Oleg Syromolotov said")
    article = parse_page(page[:cut] + b"\x9d" + page[cut:], "t.txt").article
    assert article is not None and article.source_encoding == "cp1252-repaired"
    assert article.lead.startswith("A Peña “quote” deputy") and "\ufffdOleg Syromolotov said" in article.body
    many = page[:cut] + b"\x9d " * 60 + page[cut:]
    assert parse_page(many, "t.txt").reject.reason == "undecodable"


def test_a_windows_letter_in_utf8_text_is_that_letter_where_both_code_pages_agree():
    """A name typed in windows-1252 into a UTF-8 page (`Olég`) became `Ol\ufffdg`, though
    windows-1252 and windows-1256 both read that byte as `é`."""
    head, trailer = SEED_HEAD.replace("Oleg", "Olég"), SEED_TEXT[SEED_TEXT.index("string("):]
    article = parse_page(head.encode("cp1252") + trailer.encode(), "t.txt").article
    assert article.source_encoding == "utf-8-repaired" and article.caption.startswith("Olég Syromolotov")


@pytest.mark.parametrize(
    ("last", "outlet"),
    [
        ("September 30, al-Alam reports, adding that more strikes are due.", "al-Alam"),
        ("September 30; Reuters reported Friday.", "Reuters"),
        ("September 30, the ministry reports, adding that more strikes are due.", None),
    ],
)
def test_an_outlet_credited_mid_paragraph_is_the_attribution(last, outlet):
    """FORMAT.md: outlets credited mid-paragraph ("…, al-Alam reports"); only a credit that
    ended the paragraph was found."""
    assert parse_page(SEED_TEXT.replace(SEED_LAST, last).encode(), "t.txt").article.attribution == outlet


@pytest.mark.parametrize("folder", ["/2015/02/30/", "/2015/13/08/"])
def test_ticks_in_a_folder_no_calendar_has_are_not_trusted(folder):
    """FORMAT.md: a decoded time whose date disagrees with the folder is not trusted; a
    folder with an impossible date was never compared, and its ticks were kept."""
    item = '{"id":"1","sort":"1","contenttypeid":"21","pic":"%s","title":"T"}'
    good = "/2015/11/08/alalam_635825855555584105_25f_4x3.jpg"
    for pic in (good.replace("/2015/11/08/", folder), good.replace("/2015/11/08/", folder).replace("_25f_4x3", "")):
        result = parse_page((SEED_HEAD + 'string(9) "[' + item % pic + ' ]"').encode(), "t.txt")
        assert (result.related_items[0].pic_date, result.related_items[0].pic_uploaded_at) == (None, None)
    result = parse_page((SEED_HEAD + 'string(9) "[' + item % good + ' ]"').encode(), "t.txt")
    assert result.related_items[0].pic_uploaded_at == datetime(2015, 11, 8, 13, 19, 15, 558410)


def test_every_category_line_is_chrome():
    """FORMAT.md: a `Category:` line is page chrome. Of two, the first stayed in the body as
    its last paragraph, and the attribution before it was lost."""
    page = SEED_TEXT.replace(SEED_LAST, SEED_LAST + "\nNTJ/BA\nCategory: Iran\nCategory: Middle East")
    article = parse_page(page.encode(), "t.txt").article
    assert article.body.endswith(SEED_LAST) and (article.attribution, article.sign_off) == ("Press TV", "NTJ/BA")


@pytest.mark.parametrize("repeat", ["date line", "headline"])
def test_a_repeated_date_line_or_headline_is_not_the_story(repeat):
    """A date line repeated became the lead; a third headline copy made the date line the
    caption and left the article undated."""
    if repeat == "date line":
        page = SEED_TEXT.replace(SEED_DATE_LINE + "\n", SEED_DATE_LINE + "\n" + SEED_DATE_LINE + "\n", 1)
    else:
        page = SEED_TEXT.replace(SEED_TITLE + "\n", SEED_TITLE + "\n" + SEED_TITLE + "\n", 1)
    assert page != SEED_TEXT
    article, whole = parse_page(page.encode(), "t.txt").article, parse_page(SEED.read_bytes(), "t.txt").article
    assert (article.title, article.published_at, article.lead, article.caption, article.body) == (
        whole.title, whole.published_at, whole.lead, whole.caption, whole.body
    )
