"""Coverage-guided fuzzing of the parser with atheris (libFuzzer), run by tests/test_fuzz.py.

    python tests/fuzz_parser.py CORPUS_DIR -runs=20000 -timeout=5

Any exception, any result that is not exactly one article or one reject with a known
reason, or any input that takes over -timeout seconds, stops the fuzzer with a crash
file and a non-zero exit.
"""

import sys

import atheris

with atheris.instrument_imports():
    from newswh.parse import parse_page
    from newswh.records import REJECT_REASONS


def check_one_input(data: bytes) -> None:
    result = parse_page(data, "fuzz.txt", max_bytes=1 << 20)
    if (result.article is None) == (result.reject is None):
        raise AssertionError(f"not exactly one outcome: {result!r}")
    if result.reject is not None and result.reject.reason not in REJECT_REASONS:
        raise AssertionError(f"unknown reject reason {result.reject.reason!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()
