# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The parser's hottest loop in C: a related list in the site's usual layout, read in one pass.

`newswh.trailer._read_standard` reads such a list with a regex, a memo and a call per value;
on the 2-core machine that was a quarter of a parse worker's time. This module reads the
same lists the same way, at C speed, and is compiled with Cython at install time
(setup.py); an install without it (editable, or no compiler) runs the Python reader.

It only ever answers for what it is sure of: `read_standard` returns the items exactly as the
Python reader would, or None, and on None the Python reader decides. So every rule with
more than one case (escapes, white space to strip, a title to fold, a number with a sign or
a non-ASCII digit, a picture path of another form) goes back to the Python function that
holds it (`configure` hands them over), and this file keeps only the common case of each.
tests/test_standard_list.py checks it against the Python reader on generated lists.
"""

from cpython.datetime cimport date_new, datetime_new, import_datetime
from cpython.unicode cimport Py_UNICODE_ISSPACE


cdef extern from "Python.h":
    # Characters are read straight from the text's buffer, at its width (1, 2 or 4 bytes):
    # Cython's text[i] is a function call with bounds checks, and str.find(str) converts its
    # argument to the text's width at every call when the text is not ASCII (most lists
    # hold a typographic quote or dash).
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil
    Py_ssize_t PyUnicode_FindChar(object text, Py_UCS4 code, Py_ssize_t start, Py_ssize_t end, int direction) except -2


cdef struct Text:
    int kind
    void* data
    Py_ssize_t length

import_datetime()

cdef object _to_int = None
cdef object _title_value = None
cdef object _pic_value = None
cdef object _pic_times = None
cdef object _image_extensions = None
cdef object _video_extensions = None
cdef long long _first_plausible_day = 0
cdef long long _last_plausible_day = 0
cdef long long _epoch_ordinal = 0
cdef long long _day_microseconds = 0
cdef long long _tolerance_days = 0
cdef long long _early_tolerance_days = 0

cdef dict _memo = {}
cdef Py_ssize_t _MEMO_LIMIT = 4096
"""Items by their object's whole text, as the Python reader's memo keeps them: a site's
related lists keep pointing at the same few hundred recent stories (more than half the
objects of a generated corpus were seen before), and hashing an object's text costs a
fraction of reading its values. Emptied when full: no eviction order to keep."""

# The layout's keys after `{"id":"`, each with the quote and comma that end the value before
# it: `","sort":"`, then contenttypeid, pic, and title, whose value is read otherwise.
cdef const char* _NEXT_KEYS[4]
_NEXT_KEYS[:] = [b'","sort":"', b'","contenttypeid":"', b'","pic":"', b'","title":"']
cdef Py_ssize_t[4] _NEXT_KEY_LENGTHS = [10, 19, 9, 11]
cdef enum:
    _PLAIN_VALUES = 4  # id, sort, contenttypeid, pic

cdef int[13] _DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
cdef int[13] _DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


def configure(
    to_int, title_value, pic_value, pic_times, image_extensions, video_extensions, plausible_days, epoch_ordinal,
    day_microseconds, tolerance_days, early_tolerance_days,
):
    """The Python reader's rules, for every case this module leaves to them."""
    global _to_int, _title_value, _pic_value, _pic_times, _image_extensions, _video_extensions
    global _first_plausible_day, _last_plausible_day, _epoch_ordinal, _day_microseconds
    global _tolerance_days, _early_tolerance_days
    if plausible_days.step != 1 or len(plausible_days) == 0:
        raise ValueError("plausible days must be a range of consecutive day numbers")
    _to_int, _title_value, _pic_value, _pic_times = to_int, title_value, pic_value, pic_times
    _image_extensions, _video_extensions = frozenset(image_extensions), frozenset(video_extensions)
    _first_plausible_day, _last_plausible_day = plausible_days[0], plausible_days[len(plausible_days) - 1]
    _epoch_ordinal, _day_microseconds = epoch_ordinal, day_microseconds
    _tolerance_days, _early_tolerance_days = tolerance_days, early_tolerance_days


cdef inline Text _text(str text):
    cdef Text view
    view.kind = PyUnicode_KIND(text)
    view.data = PyUnicode_DATA(text)
    view.length = len(text)
    return view


cdef inline Py_UCS4 _char(Text text, Py_ssize_t index) nogil:
    return PyUnicode_READ(text.kind, text.data, index)


def read_standard(str body):
    """Every item of a list body (`[...]`), as `_read_standard` reads it, or None: not in
    the usual layout, or a case left to the Python reader."""
    if _to_int is None:
        raise RuntimeError("newswh._standard_list is not configured")
    cdef Text text = _text(body)
    cdef Py_ssize_t n = text.length
    cdef Py_ssize_t position = 0, start, field, quote
    cdef Py_ssize_t[_PLAIN_VALUES + 1] starts  # each plain value's, then the title's
    cdef Py_ssize_t[_PLAIN_VALUES] ends
    cdef list items = []
    cdef object values
    cdef str key
    while True:
        start = _object_start(body, text, position)
        if start == -1:
            break
        # The layout's four plain values: anything up to the next quote, then the next key.
        starts[0] = start + 7
        for field in range(_PLAIN_VALUES):
            ends[field] = _value_end(body, text, starts[field], _NEXT_KEYS[field], _NEXT_KEY_LENGTHS[field])
            if ends[field] == -1:
                return None
            starts[field + 1] = ends[field] + _NEXT_KEY_LENGTHS[field]
        # The title: up to the first `"}` that the next object or the list's end follows.
        quote = starts[_PLAIN_VALUES]
        while True:
            quote = PyUnicode_FindChar(body, 34, quote, n, 1)  # '"'
            if quote == -1:
                return None
            if quote + 1 < n and _char(text, quote + 1) == 125 and _object_follows(text, quote + 2):  # '}'
                break
            quote += 1
        position = quote + 2
        key = body[start:position]
        values = _memo.get(key)
        if values is None:
            values = _values(body, text, starts, ends, quote)
            if values is None:
                return None
            if len(_memo) >= _MEMO_LIMIT:
                _memo.clear()
            _memo[key] = values
        items.append(values)
    if _count_braces(body, n) != len(items):  # an object not in the layout, or one inside a title
        return None
    return items


cdef inline bint _at(Text text, Py_ssize_t at, const char* literal, Py_ssize_t length):
    """text.startswith(literal, at), for an ASCII literal."""
    cdef Py_ssize_t index
    if at < 0 or at + length > text.length:
        return False
    for index in range(length):
        if _char(text, at + index) != <Py_UCS4>literal[index]:
            return False
    return True


cdef inline Py_ssize_t _value_end(str body, Text text, Py_ssize_t start, const char* next_key, Py_ssize_t length):
    """Where a plain value ends (its closing quote), if the layout's next key follows it."""
    cdef Py_ssize_t quote = PyUnicode_FindChar(body, 34, start, text.length, 1)  # '"'
    if quote == -1 or not _at(text, quote, next_key, length):
        return -1
    return quote


cdef inline Py_ssize_t _object_start(str body, Text text, Py_ssize_t start):
    """body.find('{"id":"', start)."""
    while True:
        start = PyUnicode_FindChar(body, 123, start, text.length, 1)  # '{'
        if start == -1 or _at(text, start, b'{"id":"', 7):
            return start
        start += 1


cdef inline Py_ssize_t _count_braces(str body, Py_ssize_t n):
    cdef Py_ssize_t count = 0, at = 0
    while True:
        at = PyUnicode_FindChar(body, 123, at, n, 1)  # '{'
        if at == -1:
            return count
        count += 1
        at += 1


cdef inline bint _object_follows(Text text, Py_ssize_t at):
    """The regex's lookahead after an object: `\\s*(?:,\\s*\\{"id"|\\]$)`."""
    cdef Py_ssize_t n = text.length
    while at < n and Py_UNICODE_ISSPACE(_char(text, at)):
        at += 1
    if at >= n:
        return False
    if _char(text, at) == 44:  # ','
        at += 1
        while at < n and Py_UNICODE_ISSPACE(_char(text, at)):
            at += 1
        return _at(text, at, b'{"id"', 5)
    if _char(text, at) == 93:  # ']'
        return at + 1 == n or (at + 2 == n and _char(text, n - 1) == 10)
    return False


cdef object _values(str body, Text text, Py_ssize_t* starts, Py_ssize_t* ends, Py_ssize_t title_end):
    """One object's values from where read_standard found them: `starts` and `ends` of id,
    sort, contenttypeid and pic, then the title's start; the title ends at `title_end`."""
    if _holds(text, starts[3], ends[3], 92) or _holds(text, starts[4], title_end, 92):
        return None  # an escape (a backslash): the Python reader unescapes
    parsed_id = _int_value(body, text, starts[0], ends[0])
    if parsed_id is None:
        return None
    cdef object pic_path = _plain_pic(body, text, starts[3], ends[3])
    cdef object pic_date = None, uploaded_at = None
    if pic_path is not None:
        pic_date, uploaded_at = _times(pic_path)
    return (
        parsed_id,
        _int_value(body, text, starts[1], ends[1]),
        _int_value(body, text, starts[2], ends[2]),
        _plain_title(body, text, starts[4], title_end),
        pic_path,
        _media_kind(pic_path),
        pic_date,
        uploaded_at,
    )


cdef inline bint _holds(Text text, Py_ssize_t start, Py_ssize_t end, Py_UCS4 wanted):
    cdef Py_ssize_t index
    for index in range(start, end):
        if _char(text, index) == wanted:
            return True
    return False


cdef object _int_value(str body, Text text, Py_ssize_t start, Py_ssize_t end):
    """_to_int: up to 18 ASCII digits here, anything else (white space, signs, other
    digits, too many) by the Python rule."""
    cdef Py_ssize_t index
    cdef long long value = 0
    cdef Py_UCS4 code
    if end == start:
        return None
    if end - start > 18:
        return _to_int(body[start:end])
    for index in range(start, end):
        code = _char(text, index)
        if code < 48 or code > 57:  # not 0-9
            return _to_int(body[start:end])
        value = value * 10 + (<long long>code - 48)
    return value


cdef object _plain_pic(str body, Text text, Py_ssize_t start, Py_ssize_t end):
    """The picture path, if it has nothing to strip or replace; else the Python rule."""
    cdef Py_ssize_t index
    cdef Py_UCS4 code
    if end == start:
        return None
    for index in range(start, end):
        code = _char(text, index)
        if 0xD800 <= code <= 0xDFFF:
            return _pic_value(body[start:end])
    if Py_UNICODE_ISSPACE(_char(text, start)) or Py_UNICODE_ISSPACE(_char(text, end - 1)):
        return _pic_value(body[start:end])
    return body[start:end]


cdef object _plain_title(str body, Text text, Py_ssize_t start, Py_ssize_t end):
    """The title as it is, when clean_title would keep it so: no entity, no half of a
    surrogate pair, and no white space but single spaces between words (so split() and a
    join give it back); else the Python rule."""
    cdef Py_ssize_t index
    cdef Py_UCS4 code
    cdef bint after_space = True  # a space first is one to strip
    for index in range(start, end):
        code = _char(text, index)
        if code == 38 or 0xD800 <= code <= 0xDFFF:  # '&': an entity to decode
            return _title_value(body[start:end])
        if code == 32:  # ' '
            if after_space:
                return _title_value(body[start:end])
            after_space = True
        elif Py_UNICODE_ISSPACE(code):
            return _title_value(body[start:end])
        else:
            after_space = False
    if after_space and end > start:  # a space last
        return _title_value(body[start:end])
    return body[start:end]


cdef object _media_kind(object pic_path):
    """media_kind: the extension after the last dot, lower-cased, looked up."""
    if pic_path is None:
        return "other"
    cdef str path = pic_path
    cdef Py_ssize_t dot = PyUnicode_FindChar(path, 46, 0, len(path), -1)  # '.'
    extension = (path[dot + 1:] if dot != -1 else path).lower()
    if extension in _image_extensions:
        return "image"
    if extension in _video_extensions:
        return "video"
    return "other"


cdef tuple _times(str path):
    """pic_times for the two names with ticks in ASCII digits, `/YYYY/MM/DD/alalam_<18
    digits>[_.]…` and the early `/YYYY/MM/DD/alalam-<18 digits>.…` (YYYY from 19xx or
    20xx); any other path by the Python rule."""
    cdef Text text = _text(path)
    cdef Py_ssize_t n = text.length
    cdef Py_ssize_t slash = PyUnicode_FindChar(path, 47, 0, n, -1)  # '/'
    cdef int year, month, day
    cdef long long ticks, microseconds, day_number, folder_day, time_of_day, tolerance
    cdef Py_UCS4 after
    if slash < 11 or n < slash + 27:
        return _pic_times(path)
    if _char(text, slash - 11) != 47 or _char(text, slash - 6) != 47 or _char(text, slash - 3) != 47:
        return _pic_times(path)
    if not (_at(text, slash - 10, b"19", 2) or _at(text, slash - 10, b"20", 2)):
        return _pic_times(path)
    after = _char(text, slash + 26)
    if _at(text, slash + 1, b"alalam_", 7) and (after == 95 or after == 46):  # '_' or '.'
        tolerance = _tolerance_days
    elif _at(text, slash + 1, b"alalam-", 7) and after == 46:
        tolerance = _early_tolerance_days
    else:
        return _pic_times(path)
    if not (_digits(text, slash - 10, 4) and _digits(text, slash - 5, 2) and _digits(text, slash - 2, 2) and _digits(text, slash + 8, 18)):
        return _pic_times(path)
    year = <int>_number(text, slash - 10, 4)
    month = <int>_number(text, slash - 5, 2)
    day = <int>_number(text, slash - 2, 2)
    ticks = _number(text, slash + 8, 18)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return (None, None)  # a folder no calendar has (02/30): no date for the ticks to agree with
    folder_date = date_new(year, month, day)
    folder_day = _ordinal(year, month, day)
    microseconds = ticks // 10
    day_number = microseconds // _day_microseconds + _epoch_ordinal
    if day_number < _first_plausible_day or day_number > _last_plausible_day:
        return (folder_date, None)
    if day_number - folder_day > tolerance or folder_day - day_number > tolerance:
        return (folder_date, None)
    _from_ordinal(day_number, &year, &month, &day)
    time_of_day = microseconds % _day_microseconds
    return (
        folder_date,
        datetime_new(
            year, month, day, <int>(time_of_day // 3_600_000_000), <int>(time_of_day // 60_000_000 % 60),
            <int>(time_of_day // 1_000_000 % 60), <int>(time_of_day % 1_000_000), None,
        ),
    )


cdef inline bint _digits(Text text, Py_ssize_t start, Py_ssize_t count):
    cdef Py_ssize_t index
    cdef Py_UCS4 code
    for index in range(start, start + count):
        code = _char(text, index)
        if code < 48 or code > 57:  # not 0-9
            return False
    return True


cdef inline long long _number(Text text, Py_ssize_t start, Py_ssize_t count):
    cdef long long value = 0
    cdef Py_ssize_t index
    for index in range(start, start + count):
        value = value * 10 + (<long long>_char(text, index) - 48)
    return value


cdef inline bint _leap(int year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


cdef inline int _days_in_month(int year, int month):
    if month == 2 and _leap(year):
        return 29
    return _DAYS_IN_MONTH[month]


cdef inline long long _days_before_year(int year):
    cdef long long y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400


cdef inline long long _ordinal(int year, int month, int day):
    """date(year, month, day).toordinal(), as CPython's datetime computes it."""
    return _days_before_year(year) + _DAYS_BEFORE_MONTH[month] + (1 if month > 2 and _leap(year) else 0) + day


cdef void _from_ordinal(long long ordinal, int* year, int* month, int* day):
    """date.fromordinal(ordinal), as CPython's datetime computes it (_ord2ymd)."""
    cdef long long n = ordinal - 1, n400, n100, n4, n1, preceding
    n400 = n // 146097
    n = n % 146097
    year[0] = <int>(n400 * 400 + 1)
    n100 = n // 36524
    n = n % 36524
    n4 = n // 1461
    n = n % 1461
    n1 = n // 365
    n = n % 365
    year[0] += <int>(n100 * 100 + n4 * 4 + n1)
    if n1 == 4 or n100 == 4:
        year[0] -= 1
        month[0] = 12
        day[0] = 31
        return
    cdef bint leap = n1 == 3 and (n4 != 24 or n100 == 3)
    month[0] = <int>((n + 50) >> 5)
    preceding = _DAYS_BEFORE_MONTH[month[0]] + (1 if month[0] > 2 and leap else 0)
    if preceding > n:
        month[0] -= 1
        preceding -= _DAYS_IN_MONTH[month[0]] + (1 if month[0] == 2 and leap else 0)
    n -= preceding
    day[0] = <int>(n + 1)
