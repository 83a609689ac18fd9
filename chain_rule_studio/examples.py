"""The example graphs and lessons that ship with the program (``assets/examples`` and
``assets/lessons`` in the source).

Both folders are installed as package data (see ``[tool.setuptools.package-dir]`` in
pyproject.toml), so the editor's File › Examples and the command line find the same
files after ``pip install .`` as in a checkout.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: the example the editor opens first and the command line uses without a FILE
DEFAULT_EXAMPLE = "two_layer.json"


def examples_dir() -> Path:
    """The folder holding the example ``.json`` graphs: installed package data, or
    ``assets/examples`` in a checkout that was never installed."""
    spec = importlib.util.find_spec("chain_rule_studio.example_graphs")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parent.parent / "assets" / "examples"


def example_files() -> list[Path]:
    folder = examples_dir()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def default_example() -> Path:
    return examples_dir() / DEFAULT_EXAMPLE


def lessons_dir() -> Path:
    """The folder holding the lessons (``*.json``), found as ``examples_dir`` is."""
    spec = importlib.util.find_spec("chain_rule_studio.lessons")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(__file__).resolve().parent.parent / "assets" / "lessons"


def lesson_files() -> list[Path]:
    """The lessons in the order they are taken (their file names start with a number)."""
    folder = lessons_dir()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []
