"""The examples of the docstrings and of docs/python.md run as printed (from the repository root,
where their fixture paths are)."""

from __future__ import annotations

import doctest

import padan
import padan.errors
from conftest import REPO

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_docstring_examples(in_repo):
    for module in (padan, padan.errors):
        r = doctest.testmod(module, optionflags=FLAGS, verbose=False)
        assert r.failed == 0, f"{module.__name__}: {r.failed} of {r.attempted} examples failed"
        assert r.attempted > 0, module.__name__


def test_docs_python_md_examples(in_repo):
    r = doctest.testfile(
        str(REPO / "docs" / "python.md"), module_relative=False, optionflags=FLAGS, verbose=False
    )
    assert r.failed == 0, f"docs/python.md: {r.failed} of {r.attempted} examples failed"
    assert r.attempted >= 5


def test_stubs_and_marker_ship_with_the_package():
    import pathlib

    pkg = pathlib.Path(padan.__file__).parent
    assert (pkg / "py.typed").is_file()
    assert (pkg / "_padan.pyi").is_file()
