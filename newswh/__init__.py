"""newswh: raw scraped news pages to a DuckDB warehouse and a Parquet lake, with Prefect flows.

The command is `newswh` (newswh.cli); the flow is newswh.ingest.ingest; the parser is the
pure function newswh.parse.parse_page.
"""


def __getattr__(name: str) -> str:
    """`newswh.__version__`, looked up when asked for: importlib.metadata and the lookup cost
    0.05 s in every process that imports newswh, the walk child and each parse worker
    included, where nothing asks for it."""
    if name != "__version__":
        raise AttributeError(f"module 'newswh' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newswh")
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "0+unknown"


def parser_build() -> str:
    """How the parser runs here: `compiled` (mypyc's C extensions and Cython's related-list
    reader, which `pip install .` builds where a C compiler is) or `pure Python` (an editable
    install, or no compiler). Both give the same records; the compiled one is faster, so
    benchmarks say which ran."""
    from importlib.util import find_spec

    from newswh import parse

    if parse.__file__.endswith(".py"):
        return "pure Python"
    # The related-list reader (Cython) is built beside the mypyc modules; a build without it
    # (no Cython) reads lists with the regex, slower.
    return "compiled" if find_spec("newswh._standard_list") is not None else "compiled, lists by regex"
