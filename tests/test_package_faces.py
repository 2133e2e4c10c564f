"""Each package's `__all__` is its face, and complete (as httpx locks its own).

A package either re-exports objects, and then every liveai object in its namespace is
listed, or it lists its modules (importing it loads none), and then every module is.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import liveai

# Alembic's revisions and env are no library face.
NOT_FACES = {"liveai.migrations"}
SUBPACKAGES = sorted(
    info.name
    for info in pkgutil.walk_packages(liveai.__path__, "liveai.")
    if info.ispkg and info.name not in NOT_FACES
)
PACKAGES = ["liveai", *SUBPACKAGES]


def _modules(package: ModuleType) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def _reexported(package: ModuleType) -> set[str]:
    """The liveai objects the package's namespace holds, submodules aside."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, ModuleType)
        and str(getattr(value, "__module__", "")).startswith("liveai")
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_declares_its_face_once(name: str) -> None:
    face = importlib.import_module(name).__all__  # ruff (RUF022) keeps it sorted
    assert len(set(face)) == len(face)


@pytest.mark.parametrize("name", PACKAGES)
def test_each_face_is_complete_and_resolves(name: str) -> None:
    package = importlib.import_module(name)
    face = set(package.__all__)
    modules = _modules(package)
    if face and face <= modules:
        assert face == modules, f"{name}.__all__ leaves out modules"
        return
    assert _reexported(package) <= face, f"{name}.__all__ leaves out what it re-exports"
    for member in face:
        assert getattr(package, member) is not None
