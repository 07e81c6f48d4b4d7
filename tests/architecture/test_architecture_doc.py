"""docs/architecture.md names real files and real objects: every backticked path and dotted name resolves."""

import importlib
import re

import pytest

from tests.architecture.imports import APPS, REPO

DOC = REPO / "docs" / "architecture.md"
BACKTICKED = re.compile(r"`([^`\s]+)`")


def mentioned():
    paths, dotted = set(), set()
    for name in BACKTICKED.findall(DOC.read_text()):
        if name.startswith(tuple(f"{app}/" for app in APPS)) and name.endswith((".py", "/")):
            paths.add(name)
        elif name.startswith(tuple(f"{app}." for app in APPS)) and "/" not in name:
            dotted.add(name)
    return sorted(paths), sorted(dotted)


PATHS, DOTTED = mentioned()


def resolve(dotted_name):
    """Import the longest importable prefix of `dotted_name`, then follow attributes."""
    parts = dotted_name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            target = getattr(target, attribute)
        return target
    raise ImportError(dotted_name)


def test_the_document_names_enough_to_be_checked():
    assert len(PATHS) > 20 and len(DOTTED) > 20


@pytest.mark.parametrize("path", PATHS)
def test_named_path_exists(path):
    assert (REPO / path).exists(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize("dotted_name", DOTTED)
def test_named_object_exists(dotted_name):
    resolve(dotted_name)
