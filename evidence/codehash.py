"""What code a cached result depends on: the project modules a module imports, transitively.

The result cache (``evidence/curves.py``) and the pretrained-net cache (``evidence/pretrain.py``)
key every entry by a hash of the code that produced it, so that an edit to that code makes the
entry unreachable (it is refitted) and an edit to any other code leaves it usable.

``import_closure(modules, root)`` finds that code without running it: it parses each module's
file with :mod:`ast` and follows every ``import x.y`` and ``from x.y import z`` it contains —
anywhere in the file, function bodies included; ``from x import y`` follows ``x.y`` too when
``y`` is itself a module; relative imports are resolved against the importing module's package
— keeping only modules of the project (the packages and modules at the repository root:
``claims``, ``evidence``, ``models``...). A module is its file ``x/y.py`` or ``x/y/__init__.py``;
importing ``x.y`` also runs, so also depends on, ``x/__init__.py``. Imports the parser cannot see
(``importlib.import_module`` with a computed name, ``__import__``) are not followed: the
project has none, and a contender must not start using them.

``code_version(modules, root)`` hashes the closure — each file's path relative to ``root`` and
its bytes, in sorted order — together with the versions of the libraries that do the arithmetic
(``LIBRARIES``: torch, numpy, scipy, scikit-learn).

Which edits refit (the rule the caches follow): a cached fit is keyed by the closure of the
contender's own module (and of the project modules of its base classes) together with the
closure of ``evidence.curves``, the module that loads the data, draws the samples and calls the
fits (it imports ``evidence.data``, ``evidence.draws`` and ``models.base``, which imports
``evidence.engine``). Editing any file in that union — even a comment — refits that
contender's draws; editing a file outside it refits nothing: the statistics
(``evidence/stats*``), the report (``evidence/report*``), the pytest plugin, ``claims/``, the
scales and published references, another contender's module, or a new contender in a new
module. Upgrading torch, numpy, scipy or scikit-learn refits everything. A pretrained net is
keyed by the closure of ``evidence.pretrain`` (the pretraining code, ``evidence.minibatch``, the
data and device modules) and the same library versions, so editing ``models/kaplan.py``
refits the fine-tuned heads but does not pretrain the nets again. Both caches import this
module, so editing it refits everything. What the hash cannot see is not code in the project:
the data are keyed by their own fingerprint, the device by its type; settings outside the code
(the ``CLAIMS_COMPILE`` environment variable, thread counts, the CPU's instruction set) are not
in any key.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import os
from pathlib import Path
from typing import Iterable

__all__ = ["ROOT", "LIBRARIES", "project_packages", "module_file", "import_closure",
           "library_versions", "code_version", "contender_modules", "fit_code_version",
           "ENGINE_MODULES"]

#: the repository root (the folder holding ``evidence/``)
ROOT = Path(__file__).resolve().parent.parent
#: distributions whose version keys every cached result (they do the arithmetic)
LIBRARIES = ("torch", "numpy", "scipy", "scikit-learn")
#: the modules that load the data, draw the samples and run the fits for every contender
ENGINE_MODULES = ("evidence.curves",)


def project_packages(root: str | os.PathLike = ROOT) -> frozenset[str]:
    """Top-level names importable from ``root``: folders with an ``__init__.py`` and ``.py``
    files directly under it."""
    root = Path(root)
    names = set()
    for p in root.iterdir():
        if p.is_dir() and (p / "__init__.py").is_file() and p.name.isidentifier():
            names.add(p.name)
        elif p.is_file() and p.suffix == ".py" and p.stem.isidentifier():
            names.add(p.stem)
    return frozenset(names)


def module_file(name: str, root: str | os.PathLike = ROOT) -> Path | None:
    """The file of project module ``name`` under ``root`` (``x/y.py`` or ``x/y/__init__.py``),
    or None when it is not a project module."""
    parts = name.split(".")
    if not all(p.isidentifier() for p in parts):
        return None
    base = Path(root).joinpath(*parts)
    for candidate in (base.with_name(parts[-1] + ".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(name: str, path: Path) -> set[str]:
    """Every module name ``name`` (its file: ``path``) may import, as written (absolute),
    including for ``from x import y`` the candidate ``x.y``; not filtered to the project."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = name if _is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: against the importing module's package
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts):
                    continue  # beyond the top level: Python refuses it too
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not base:
                continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def _with_parents(name: str) -> list[str]:
    """``a.b.c`` → ``a``, ``a.b``, ``a.b.c`` (importing a module runs its packages first)."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(modules: Iterable[str], root: str | os.PathLike = ROOT) -> tuple[str, ...]:
    """The files (paths relative to ``root``, POSIX style, sorted) of the project modules that
    ``modules`` import, directly or not, the ``modules`` themselves and their packages'
    ``__init__.py`` included. A name that is not a project module is left out."""
    root = Path(root)
    top = project_packages(root)
    seen: set[str] = set()
    files: dict[str, Path] = {}
    todo = [m for name in modules for m in _with_parents(name)]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name.split(".")[0] not in top:
            continue
        path = module_file(name, root)
        if path is None:  # a name inside a module (``from x import function``), not a module
            continue
        files[name] = path
        for imported in _imports(name, path):
            if imported.split(".")[0] in top:
                todo.extend(m for m in _with_parents(imported) if m not in seen)
    return tuple(sorted(p.relative_to(root).as_posix() for p in files.values()))


def library_versions() -> dict[str, str]:
    """The installed version of each of ``LIBRARIES`` ("absent" when not installed)."""
    out = {}
    for dist in LIBRARIES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "absent"
    if out.get("torch") != "absent":  # the build tag (+cpu, +cu121) is in torch.__version__
        import torch

        out["torch"] = str(torch.__version__)
    return out


def code_version(modules: Iterable[str], root: str | os.PathLike = ROOT, *,
                 salt: str = "") -> str:
    """Hash of the import closure of ``modules`` (each file's relative path and bytes, in
    sorted order) and of the library versions; ``salt`` (e.g. a cache format) is hashed
    first."""
    root = Path(root)
    h = hashlib.sha256(salt.encode())
    for rel in import_closure(modules, root):
        data = (root / rel).read_bytes()
        h.update(f"{rel}\0{len(data)}\0".encode())
        h.update(data)
    for dist, version in sorted(library_versions().items()):
        h.update(f"{dist}=={version}\0".encode())
    return h.hexdigest()[:16]


def contender_modules(contender, root: str | os.PathLike = ROOT) -> tuple[str, ...]:
    """The project modules defining ``contender``'s class and its base classes (an instance
    or a class)."""
    cls = contender if isinstance(contender, type) else type(contender)
    top = project_packages(root)
    return tuple(sorted({c.__module__ for c in cls.__mro__
                         if c.__module__.split(".")[0] in top}))


def fit_code_version(contender, root: str | os.PathLike = ROOT, *, salt: str = "") -> str:
    """The code version that keys ``contender``'s cached fits: the closure of its modules
    unioned with the closure of ``ENGINE_MODULES``, and the library versions."""
    return code_version((*contender_modules(contender, root), *ENGINE_MODULES), root,
                        salt=salt)
