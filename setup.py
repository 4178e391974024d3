"""The parser, compiled with mypyc when it can be; pure Python when it cannot.

Everything else about the package is in pyproject.toml. The parser's modules (bytes in,
records out: the work of every parse worker) compile to C extension modules with mypyc and
the machine's C compiler, which makes parsing faster (README: bench/parser.py's figures). The
`.py` files ship beside them and are what runs whenever the extension is absent:

- an editable install (`pip install -e .`) stays pure Python, so an edit to the parser takes
  effect at once instead of hiding behind a stale compiled module;
- NEWSWH_PURE_PYTHON=1 at install time skips compiling;
- a machine without a C compiler (or Python headers) gets a warning and the pure modules.

tests/test_compiled_parser.py builds a wheel this way and runs the parser's tests on it.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

COMPILED_MODULES = ["newswh/records.py", "newswh/decode.py", "newswh/trailer.py", "newswh/parse.py"]
"""The parser: pure, typed, and the hot path of a parse worker. Nothing else is worth it,
but for its hottest loop, which Cython compiles from newswh/_standard_list.pyx."""


METADATA_ONLY = {"egg_info", "dist_info", "sdist"}
"""The commands that finalize build_ext without building an extension."""


class OptionalBuildExt(build_ext):
    """Compiles the parser if it can, and installs the pure modules if it cannot.

    mypyc runs here, when extensions are built, not as setup.py is read: setup.py is read
    for every step of an install, and mypyc takes seconds each time. The metadata steps
    (egg_info, dist_info, sdist) finalize this command too, to list its sources, so it
    compiles nothing for them: the metadata step of `pip install .` ran mypyc for nothing."""

    def finalize_options(self) -> None:
        # An editable install runs the source files.
        building = not self.editable_mode and not set(self.distribution.commands) <= METADATA_ONLY
        compiled = compiled_parser() if building and compiler_works() else []
        if compiled:
            self.distribution.ext_modules = compiled
        super().finalize_options()
        if not compiled:
            self.extensions = []  # the stand-in stays declared, so the wheel's layout does not change

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # noqa: BLE001 - no compiler, no headers: fall back, loudly
            self._fall_back(error)

    def build_extension(self, ext) -> None:  # type: ignore[no-untyped-def]
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001
            self._fall_back(error)

    def _fall_back(self, error: BaseException) -> None:
        if self.extensions:
            print(f"newswh: the parser stays pure Python (compiling it failed: {error})", file=sys.stderr)
        self.extensions = []


def compiler_works() -> bool:
    """Whether this machine's C compiler builds against Python's headers: asked first, since
    mypyc type-checks the parser for seconds before the compiler is first called."""
    import sysconfig
    import tempfile
    from distutils.ccompiler import new_compiler  # setuptools' own, as its build_ext uses
    from distutils.sysconfig import customize_compiler

    compiler = new_compiler()
    customize_compiler(compiler)
    with tempfile.TemporaryDirectory() as folder:
        probe = os.path.join(folder, "probe.c")
        with open(probe, "w") as source:
            source.write("#include <Python.h>\nint main(void) { return 0; }\n")
        try:
            compiler.compile([probe], output_dir=folder, include_dirs=[sysconfig.get_paths()["include"]])
        except Exception as error:  # noqa: BLE001 - no compiler, no headers: say so, stay pure
            print(f"newswh: the parser stays pure Python (compiling it failed: {error})", file=sys.stderr)
            return False
    return True


def compiled_parser() -> list[Extension]:
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("newswh: mypyc is not installed; the parser stays pure Python", file=sys.stderr)
        return []
    try:
        compiled = mypycify(COMPILED_MODULES, opt_level="3", group_name="newswh.parser")
    except (Exception, SystemExit) as error:  # noqa: BLE001 - mypy found a type error: say so, stay pure
        print(f"newswh: the parser stays pure Python (mypyc: {error})", file=sys.stderr)
        return []
    return compiled + standard_list_reader()


def standard_list_reader() -> list[Extension]:
    """The related list's reader in C (newswh/_standard_list.pyx, with Cython): without it
    the compiled parser reads lists with its regex, as the pure one does."""
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("newswh: Cython is not installed; related lists are read by the regex", file=sys.stderr)
        return []
    extension = Extension("newswh._standard_list", ["newswh/_standard_list.pyx"], extra_compile_args=["-O2"])
    return list(cythonize([extension], quiet=True, compiler_directives={"language_level": 3}))


# A stand-in until build_ext knows what it builds: with no extension at all, setuptools
# would not run build_ext. NEWSWH_PURE_PYTHON=1 declares none: a pure wheel.
STAND_IN = [] if os.environ.get("NEWSWH_PURE_PYTHON") else [Extension("newswh.parser__mypyc", [])]
setup(ext_modules=STAND_IN, cmdclass={"build_ext": OptionalBuildExt})
