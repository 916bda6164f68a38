"""The result cache cannot serve a stale fit (evidence/codehash.py, issue 9).

Every cached fit is keyed by the import closure of its contender's modules and of the engine
(``evidence.curves``), plus the library versions; every cached pretrained net by the closure of
``evidence.pretrain``. Checked in both directions on a copy of the repository's packages: an
edit to code a fit depends on changes its key, an edit anywhere else (the statistics, the
report, a new contender) changes no key. And whether a step was compiled follows from the key
alone, so a resumed run gives the numbers of a fresh one (the last, slow test).
"""
from __future__ import annotations

import importlib
import inspect
import shutil
from pathlib import Path

import pytest

from evidence import codehash
from evidence.codehash import (code_version, contender_modules, fit_code_version,
                               import_closure)
from models.base import Contender

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("models", "evidence", "claims")


@pytest.fixture
def repo(tmp_path) -> Path:
    """A copy of the repository's packages (no caches) to edit."""
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return tmp_path


def _model_modules(root: Path) -> list[str]:
    return sorted(f"models.{p.stem}" for p in (root / "models").glob("*.py"))


def _contender_classes() -> list[type]:
    """Every contender class defined in the repository's models/ modules."""
    out = []
    for name in _model_modules(ROOT):
        module = importlib.import_module(name)
        out += [c for _, c in inspect.getmembers(module, inspect.isclass)
                if issubclass(c, Contender) and c.__module__ == name]
    assert len(out) >= 10, out
    return out


def _versions(root: Path) -> dict[str, str]:
    """Every code version the caches use, computed on ``root``: per models/ module, per
    contender class (as the engine keys its fits) and for the pretrained nets."""
    out = {m: code_version([m], root) for m in _model_modules(root)}
    out |= {f"fit:{c.__name__}": fit_code_version(c, root) for c in _contender_classes()}
    out["pretrain"] = code_version(["evidence.pretrain"], root)
    return out


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# ------------------------------------------------------------------ the import closure

def test_closure_of_models_beam_holds_what_it_imports(repo):
    files = import_closure(["models.beam"], repo)
    assert "models/leeknet.py" in files          # standardise
    assert "evidence/minibatch.py" in files      # the Keras-style engine
    assert {"models/beam.py", "models/base.py", "models/__init__.py", "evidence/__init__.py",
            "evidence/engine.py"} <= set(files)
    assert not any(f.startswith(("evidence/stats", "evidence/report", "claims/"))
                   for f in files), files
    assert "evidence/plugin.py" not in files and "evidence/scales.py" not in files
    # the same on the repository itself
    assert import_closure(["models.beam"]) == files


def test_engine_closure_is_data_draws_and_fitting_only():
    files = set(import_closure(codehash.ENGINE_MODULES))
    assert {"evidence/curves.py", "evidence/data.py", "evidence/draws.py",
            "models/base.py"} <= files
    assert not any(f.startswith(("evidence/stats", "evidence/report", "claims/"))
                   for f in files), files
    assert not {"evidence/plugin.py", "evidence/scales.py", "evidence/published.py"} & files
    # a contender's cached fits hash the union of both closures
    from models.beam import WellTrainedLeekNet

    assert contender_modules(WellTrainedLeekNet()) == ("models.base", "models.beam")


def test_closure_follows_every_form_of_import(tmp_path):
    """``import a.b``, ``from a import b`` (b a module), ``from a.b import name``, relative
    imports, imports inside functions; a package import brings its ``__init__.py``; modules
    outside the project are left out."""
    files = {
        "pkg/__init__.py": "",
        "pkg/main.py": ("import os\nimport numpy as np\nimport pkg.sub.deep\n"
                        "from pkg import sibling\nfrom pkg.names import CONSTANT\n"
                        "from . import rel\nfrom .relfrom import thing\n"
                        "from ..other import far\n"  # beyond the top level: ignored
                        "def lazy():\n    from top import helper\n"),
        "pkg/sub/__init__.py": "",
        "pkg/sub/deep.py": "from ..cousin import x\n",
        "pkg/cousin.py": "",
        "pkg/sibling.py": "",
        "pkg/names.py": "CONSTANT = 1\n",
        "pkg/rel.py": "",
        "pkg/relfrom.py": "thing = 2\n",
        "pkg/unused.py": "import pkg.main\n",
        "top.py": "from pkg.sub import *\nhelper = 3\n",
        "notapackage/loose.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert codehash.project_packages(tmp_path) == {"pkg", "top"}
    assert import_closure(["pkg.main"], tmp_path) == tuple(sorted([
        "pkg/__init__.py", "pkg/main.py", "pkg/sub/__init__.py", "pkg/sub/deep.py",
        "pkg/cousin.py", "pkg/sibling.py", "pkg/names.py", "pkg/rel.py", "pkg/relfrom.py",
        "top.py"]))
    # a module of a package brings the package's __init__.py; unknown names bring nothing
    assert import_closure(["pkg.cousin", "numpy", "pkg.nothing"], tmp_path) == (
        "pkg/__init__.py", "pkg/cousin.py")


def test_code_version_hashes_relative_paths_bytes_and_library_versions(tmp_path, monkeypatch):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    v = code_version(["pkg.a"], tmp_path)
    assert v == code_version(["pkg.a"], tmp_path)
    (tmp_path / "pkg" / "a.py").write_text("x = 2\n")
    v2 = code_version(["pkg.a"], tmp_path)
    assert v2 != v
    # the same files elsewhere: the same version (paths are relative to the root)
    other = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "pkg", other / "pkg")
    assert code_version(["pkg.a"], other) == v2
    assert code_version(["pkg.a"], tmp_path, salt="format-2") != v2
    real = codehash.library_versions()
    assert set(real) == {"torch", "numpy", "scipy", "scikit-learn"}
    for dist in real:
        monkeypatch.setattr(codehash, "library_versions", lambda d=dist: {**real, d: "0.0"})
        assert code_version(["pkg.a"], tmp_path) != v2, dist


# ------------------------------------------------------------------ both directions

def test_editing_standardise_changes_the_well_trained_nets_version(repo):
    from models.beam import WellTrainedLeekNet
    from models.leekasso import Leekasso

    before = _versions(repo)
    _edit(repo / "models" / "leeknet.py", "sd = X.std(axis=0, ddof=1)",
          "sd = X.std(axis=0, ddof=0)")
    after = _versions(repo)
    assert code_version(["models.beam"], repo) != before["models.beam"]
    assert fit_code_version(WellTrainedLeekNet, repo) != before["fit:WellTrainedLeekNet"]
    assert after["models.leeknet"] != before["models.leeknet"]
    # ... and nothing that does not import models.leeknet
    assert after["fit:Leekasso"] == before["fit:Leekasso"] == fit_code_version(Leekasso(), repo)
    assert after["models.robinson"] == before["models.robinson"]
    assert after["pretrain"] == before["pretrain"]


def test_editing_the_engine_or_base_changes_every_fit(repo):
    before = _versions(repo)
    _edit(repo / "evidence" / "draws.py", '"""', '"""Edited. ')
    after = _versions(repo)
    fits = [k for k in before if k.startswith("fit:")]
    assert all(after[k] != before[k] for k in fits)
    assert after["pretrain"] == before["pretrain"]  # pretraining does not draw samples


def test_editing_pretraining_changes_the_nets_and_the_fine_tuned_fits_only(repo):
    before = _versions(repo)
    _edit(repo / "evidence" / "pretrain.py", "EPOCHS = 6", "EPOCHS = 7")
    after = _versions(repo)
    changed = {k for k in before if after[k] != before[k]}
    assert changed == {"pretrain", "models.kaplan", "fit:FineTunedCNN", "fit:FineTunedCNNAll",
                       "fit:FineTunedCNNCrossDomain"}


def test_a_new_contender_in_a_new_module_changes_no_existing_version(repo):
    before = _versions(repo)
    (repo / "models" / "newthing.py").write_text(
        '"""A new contender."""\nimport numpy as np\n\nfrom models.base import Contender\n\n\n'
        "class NewThing(Contender):\n    name = 'new_thing'\n\n"
        "    def _fit01(self, X, y):\n        self.mean_ = X.mean()\n\n"
        "    def _scores(self, X):\n        return np.full(len(X), 0.5)\n")
    after = _versions(repo)
    assert "models.newthing" in after and "models.newthing" not in before
    assert {k: after[k] for k in before} == before
    assert set(import_closure(["models.newthing"], repo)) == {
        "models/__init__.py", "models/base.py", "models/newthing.py", "evidence/__init__.py",
        "evidence/engine.py", "evidence/h2okernel.py"}  # the engine's C kernel, imported lazily


def _stats_and_report_files(root: Path) -> list[Path]:
    ev = root / "evidence"
    found = []
    for p in sorted(ev.iterdir()):
        if p.name.startswith(("stats", "report")):
            found += sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.suffix == ".py" else []
    return found


@pytest.mark.parametrize("which", ["stats", "report", "plugin", "claims", "scales+published"])
def test_editing_statistics_report_plugin_or_claims_changes_nothing(repo, which):
    before = _versions(repo)
    if which in ("stats", "report"):
        targets = [p for p in _stats_and_report_files(repo) if p.name.startswith(which)
                   or p.parent.name.startswith(which)]
    elif which == "plugin":
        targets = [repo / "evidence" / "plugin.py"]
    elif which == "claims":
        targets = sorted((repo / "claims").glob("*.py"))
    else:
        targets = [repo / "evidence" / "scales.py", repo / "evidence" / "published.py"]
    assert targets, which
    for path in targets:
        path.write_text(path.read_text(encoding="utf-8") + "\n# edited\nEDITED = True\n",
                        encoding="utf-8")
    assert _versions(repo) == before


# ------------------------------------------------------------------ the keys themselves

def test_engine_key_changes_with_the_code_version(monkeypatch):
    import evidence.curves as curves
    from evidence.data import digit_pair, load_source
    from models.leekasso import Leekasso

    def engine():
        return curves.Engine(load_source(), 2017, 2017, "cpu", curves.ResultCache(None))

    task = digit_pair(0, 1)
    key = engine()._key(Leekasso(), task, 10, 0)
    assert engine()._key(Leekasso(), task, 10, 0) == key
    assert curves.code_version(Leekasso()) == fit_code_version(
        Leekasso(), salt=f"cache-format-{curves.CACHE_FORMAT}")
    monkeypatch.setattr(curves, "code_version", lambda contender, root=None: "edited")
    assert engine()._key(Leekasso(), task, 10, 0) != key
    monkeypatch.undo()
    real = codehash.library_versions()
    monkeypatch.setattr(codehash, "library_versions", lambda: {**real, "numpy": "0.0"})
    assert engine()._key(Leekasso(), task, 10, 0) != key


def test_pretrained_net_key_changes_with_its_code_and_libraries_and_device(monkeypatch):
    import evidence.pretrain as pretrain
    from evidence.data import digit_pair, load_source

    source, task = load_source(), digit_pair(4, 9)
    key = pretrain._key(source, task, 3, 1, False)
    assert pretrain._key(source, task, 3, 1, False, "cpu") == key
    real_version = codehash.code_version
    monkeypatch.setattr(codehash, "code_version",
                        lambda modules, *a, **k: real_version(modules, *a, **k) + "x")
    assert pretrain._key(source, task, 3, 1, False) != key
    monkeypatch.undo()
    real = codehash.library_versions()
    monkeypatch.setattr(codehash, "library_versions", lambda: {**real, "torch": "0.0"})
    assert pretrain._key(source, task, 3, 1, False) != key
    monkeypatch.undo()
    monkeypatch.setattr(pretrain, "resolve_device", lambda name: __import__("torch").device("cuda"))
    assert pretrain._key(source, task, 3, 1, False, "cuda") != key


# ------------------------------------------------------------------ compiled or not

def test_compile_decision_depends_on_the_key_only(monkeypatch):
    """``compile="auto"`` decides from n and the fit spec, not from how many draws are fitted
    together; a forced setting is part of the fit spec."""
    import numpy as np

    import models.leeknet as leeknet
    from models.leeknet import COMPILE_MIN_STEPS, NaiveDNN, NaiveDNNArgmax

    seen = []

    class Stop(Exception):
        pass

    def fake_train(*args, use_compile, **kwargs):
        seen.append(use_compile)
        raise Stop

    monkeypatch.setattr(leeknet, "train_online_stack", fake_train)
    rng = np.random.default_rng(0)
    for net in (NaiveDNN(hidden=(4,)), NaiveDNN(hidden=(4,), early_stop=False)):
        for n in (10, 40, 80):
            decisions = set()
            for replicates in (1, 2, 4, 20):
                Xs = [rng.normal(size=(n, 5)) for _ in range(replicates)]
                ys = [np.arange(n) % 2 for _ in range(replicates)]
                with pytest.raises(Stop):
                    net._train(Xs, ys, list(range(replicates)), "cpu")
                decisions.add(seen.pop())
            assert len(decisions) == 1, (net.early_stop, n)
            epochs = 2 if net.early_stop else 20
            assert decisions == {n * epochs >= COMPILE_MIN_STEPS}
    # the threshold's intent: early-stopped nets (every claim) never compile on the grid; the
    # benchmark's 20-epoch nets do from n = 40
    assert not NaiveDNN()._use_compile(80)
    assert NaiveDNN(early_stop=False)._use_compile(40)
    assert not NaiveDNN(early_stop=False)._use_compile(30)
    # forced settings key their own fits; the argmax variant still shares its fit
    specs = {c: NaiveDNN(compile=c).fit_spec()["params"]["compile"] for c in (True, False, "auto")}
    assert specs == {True: True, False: False, "auto": "auto"}
    assert NaiveDNN(compile=True).fit_spec() != NaiveDNN(compile=False).fit_spec()
    assert NaiveDNNArgmax(compile=True).fit_spec() == NaiveDNN(compile=True).fit_spec()


# ------------------------------------------------------------------ resumed = fresh, end to end

LABEL_RULE = ["claims/test_leek.py", "-m", "small", "-k", "label_rule_artefact and not 4v9",
              "--sizes", "10,20"]
#: fields of a claim record that a resumed run must reproduce exactly (those present in both)
RESUME_FIELDS = ("verdict", "effect", "ci_low", "ci_high", "p_value", "per_size")


@pytest.mark.slow
def test_resumed_run_gives_the_numbers_of_a_fresh_run(tmp_path):
    """A fresh run of 4 draws (A) against a run of 2 draws then 4 on the same cache (B: draws
    0-1 read back, 2-3 fitted as a cell of two): the same claims.json numbers, exactly."""
    import pandas as pd

    from tests.test_cli import _accuracies, _parallel, _pytest, _report

    def run(name: str, cache: str, draws: int):
        res = _pytest([*LABEL_RULE, "--draws", str(draws), "--report-dir", str(tmp_path / name),
                       "--results-cache", str(tmp_path / cache)])
        # the claim may not hold on 4 draws (exit 1); it must run to its verdict
        assert res.rc in (0, 1) and "INTERNALERROR" not in res.both, res.describe()
        assert "Traceback (most recent call last)" not in res.both, res.describe()
        return res

    def resumed():
        return run("B2", "cache-B", 2), run("B", "cache-B", 4)

    out = _parallel({"A": lambda: run("A", "cache-A", 4), "B": resumed})
    a, (_, b) = out["A"], out["B"]
    assert len(a.fit_lines) == 2 and all("4 draw(s) fitted" in line for line in a.fit_lines), \
        a.describe()
    # the resumed run fitted only draws 2-3 of each cell: cells of two where A fitted four
    assert len(b.fit_lines) == 2 and all("2 draw(s) fitted" in line and "(4/4 done)" in line
                                         for line in b.fit_lines), b.describe()
    ra, rb = _report(tmp_path / "A"), _report(tmp_path / "B")
    assert len(ra["claims"]) == len(rb["claims"]) == 1
    ca, cb = ra["claims"][0], rb["claims"][0]
    fields = [k for k in RESUME_FIELDS if k in ca and k in cb]
    assert {"effect", "p_value", "per_size"} <= set(fields), sorted(ca)
    assert {k: ca[k] for k in fields} == {k: cb[k] for k in fields}
    pd.testing.assert_frame_equal(_accuracies(tmp_path / "A"), _accuracies(tmp_path / "B"),
                                  check_exact=True)


def test_a_word_tasks_fit_is_keyed_by_the_word_loader_and_a_digit_pairs_is_not(monkeypatch):
    """The module that loads a task's data is in its fits' keys: editing evidence/words.py
    (how the words are chosen, labelled or split) refits the text claim and nothing else."""
    import evidence.curves as curves
    from evidence.data import load_source
    from evidence.tasks import get_task
    from models.leekasso import Leekasso
    from models.text import HistogramSVM

    def keys():
        engine = curves.Engine(load_source(), 2017, 2017, "cpu", curves.ResultCache(None))
        return (engine._key(HistogramSVM(), get_task("words:noun-v-verb"), 100, 0),
                engine._key(Leekasso(), get_task("0v1"), 10, 0))

    words, digits = keys()
    real = codehash.code_version
    monkeypatch.setattr(codehash, "code_version",
                        lambda modules, *a, **k: "edited" if list(modules) == ["evidence.words"]
                        else real(modules, *a, **k))
    edited_words, edited_digits = keys()
    assert edited_words != words and edited_digits == digits
