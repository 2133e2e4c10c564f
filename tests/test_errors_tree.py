"""The tree drawn in `liveai/errors.py`'s docstring is the real one: every error class,
under its parent, with its exit code."""

from __future__ import annotations

import importlib
import pkgutil
import re

import liveai
from liveai import errors
from liveai.errors import LiveAIError

NODE = re.compile(r"^    (?P<rails>[│ ]*(?:[├└]── )?)(?P<name>\w+)(?: \((?P<code>\d+)\))?")


def drawn_tree() -> dict[str, tuple[str | None, int | None]]:
    """Each class drawn: (its parent, the exit code written beside it, if any)."""
    found: dict[str, tuple[str | None, int | None]] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").splitlines():
        node = NODE.match(line)
        if node is None or not node["name"][0].isupper():
            continue
        depth = len(node["rails"]) // 4
        del parents[depth:]
        code = int(node["code"]) if node["code"] else None
        found[node["name"]] = (parents[-1] if parents else None, code)
        parents.append(node["name"])
    return found


def real_tree() -> dict[str, type[LiveAIError]]:
    for info in pkgutil.walk_packages(liveai.__path__, "liveai."):
        if not info.name.startswith("liveai.migrations"):
            importlib.import_module(info.name)
    classes: dict[str, type[LiveAIError]] = {}
    todo: list[type[LiveAIError]] = [LiveAIError]
    while todo:
        cls = todo.pop()
        classes[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return classes


def test_the_drawn_tree_names_every_error_class_under_its_parent() -> None:
    drawn, real = drawn_tree(), real_tree()
    assert sorted(drawn) == sorted(real)
    for name, (parent, code) in drawn.items():
        cls = real[name]
        assert parent == (None if cls is LiveAIError else cls.__bases__[0].__name__), name
        assert code is None or code == cls.exit_code, name
