"""The pytest plugin that turns claim tests into a report.

Options (``pytest --help``, group "claims"): ``--device``, ``--seed``, ``--split-seed``,
``--draws``, ``--sizes``, ``--report-dir``, ``--mnist-dir`` (or ``CLAIMS_MNIST_DIR``),
``--pretrain-dir`` (or ``CLAIMS_PRETRAIN_DIR``), ``--results-cache`` (or
``CLAIMS_RESULTS_CACHE``), ``--no-results-cache``, ``--dask`` (or ``CLAIMS_DASK``).

Scale-out (``evidence/scaleout.py``): under ``pytest -n N`` (pytest-xdist) each worker runs its
claims and sends every record to the controller with the test's report; the controller alone
Holm-adjusts the probes and writes the report, in collection order. With ``--dask`` the run's
engine fits the cells on a Dask cluster.

Fixtures: ``scale`` (parametrised ``small``/``full``, each carrying its marker), ``probe``
(parametrised per claim: its own task, each probe pair and each variant of its registry entry)
and ``claim`` (the claim named by the test's ``@pytest.mark.claim`` marker: fits curves through
the shared engine, builds paired comparisons, records the verdict and asserts it; a probe
records its verdict whatever the direction).

At the end of a run that touched a claim it prints the verdict table and writes ``claims.json``,
``runs.csv``, ``claims.md``, ``index.html`` and ``figures/`` to the report directory.
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from claims import registry
from evidence import report as report_mod
from evidence import stats
from evidence.curves import Engine, ResultCache
from evidence.data import DataError, load_source
from evidence.engine import DeviceError, resolve_device
from evidence.published import references_for
from evidence.scaleout import DaskEngine, DaskError, LockedEngine, connect
from evidence.scales import SCALES
from evidence.tasks import get_task, is_digit_pair, source_kind

_STATE = pytest.StashKey[dict]()
ALPHA = 0.05
#: how ``Engine.curve`` begins its refusal of a contender name given twice (raised before any
#: fit; tests/test_claim_mistakes.py holds the two to each other)
DUPLICATE_NAMES = "contender names must be unique"


class ClaimNotSupported(AssertionError):
    """A claim's verdict is not SUPPORTED, as its recorded expectation says it would be (a
    strict xfail that accepts only this exception)."""


class VerdictMismatch(AssertionError):
    """A claim's verdict differs from the verdict recorded for its scale and data source."""


class NoExpectedVerdict(UserWarning):
    """A claim ran at a scale or on data with no recorded verdict: reported, not checked."""


# -- options -------------------------------------------------------------------------------------
def _whole(text: str, example: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give e.g. {example}") from None


def _nonneg_int(text: str) -> int:
    value = _whole(text, "2017")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; seeds are whole numbers ≥ 0")
    return value


def _draws(text: str) -> int:
    value = _whole(text, "10")
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"{value} draws is too few: the paired statistics need at least 2 per size")
    return value


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of whole numbers; give e.g. 10,20,40") from None
    if not sizes or min(sizes) < 2:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 2; give e.g. 10,20,40")
    return tuple(sorted(set(sizes)))


def pytest_addoption(parser):
    g = parser.getgroup("claims", "claim verification suite")
    g.addoption("--device", default="auto", help="auto (default), cpu or cuda; cuda without a GPU is an error")
    g.addoption("--seed", type=_nonneg_int, default=2017, help="root seed of the draws and fits (default 2017)")
    g.addoption("--split-seed", type=_nonneg_int, default=2017, help="seed of the pool/test split (default 2017)")
    g.addoption("--draws", type=_draws, default=None, help="draws per size, overriding the scale's")
    g.addoption("--sizes", type=_sizes, default=None, help="training-set sizes, e.g. 10,20,40, overriding the scale's")
    g.addoption("--report-dir", default="reports", help="where the report is written (default reports/)")
    g.addoption("--mnist-dir", default=os.environ.get("CLAIMS_MNIST_DIR"),
                help="directory with the four MNIST IDX files (default: the bundled 5,000 digits)")
    g.addoption("--pretrain-dir", default=os.environ.get("CLAIMS_PRETRAIN_DIR"),
                help="directory with Fashion-MNIST IDX files: runs the cross-domain pretraining "
                     "probe (default: that probe skips)")
    g.addoption("--results-cache", default=os.environ.get("CLAIMS_RESULTS_CACHE", ".claims-cache"),
                help="directory of cached fits (default .claims-cache)")
    g.addoption("--no-results-cache", action="store_true", help="fit everything afresh, cache nothing")
    g.addoption("--dask", default=os.environ.get("CLAIMS_DASK"), metavar="ADDRESS",
                help="fit the cells on a Dask cluster: a scheduler's address (tcp://host:8786) "
                     "or local:N for N local worker processes (default: in this process)")


def pytest_configure(config):
    try:
        device = resolve_device(config.getoption("--device"))
    except DeviceError as exc:
        raise pytest.UsageError(str(exc)) from None
    mnist_dir = config.getoption("--mnist-dir")
    source = None
    if mnist_dir:
        try:
            source = load_source(mnist_dir)
        except DataError as exc:
            raise pytest.UsageError(_name_the_setting(str(exc), config)) from None
    pretrain_dir = config.getoption("--pretrain-dir")
    if pretrain_dir:
        try:
            other = load_source(pretrain_dir)
        except DataError as exc:
            message = (str(exc).replace("to use the bundled digits", "to skip the cross-domain probe")
                       .replace("MNIST IDX files", "Fashion-MNIST IDX files"))
            raise pytest.UsageError(_name_the_setting(message, config, "--pretrain-dir",
                                                      "CLAIMS_PRETRAIN_DIR")) from None
        if other.fingerprint == (source or load_source()).fingerprint:
            raise pytest.UsageError(
                f"--pretrain-dir {pretrain_dir} holds the digits the claims run on; the "
                "cross-domain probe needs another data set (e.g. Fashion-MNIST's IDX files)")
    if not config.getoption("--no-results-cache"):
        cache = Path(config.getoption("--results-cache"))
        try:
            cache.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise pytest.UsageError(
                f"--results-cache {cache}: cannot use it as a directory ({exc.strerror}); give a "
                "writable directory or --no-results-cache") from None
    if config.getoption("--dask") and (getattr(config.option, "numprocesses", None)
                                       or _is_worker(config)):
        raise pytest.UsageError("--dask and -n (pytest-xdist) are two ways of spreading the "
                                "fits; use one of them")
    try:  # before anything is fitted: a report folder that cannot be written
        report_mod.check_report_dir(config.getoption("--report-dir"))
    except report_mod.ReportDirError as exc:
        raise pytest.UsageError(f"--report-dir {exc}") from None
    if config.pluginmanager.hasplugin("xdist") and not _is_worker(config):
        config.pluginmanager.register(_RecordCollector(config), "claims-record-collector")
    if _is_worker(config):
        _share_the_cores(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    config.stash[_STATE] = {
        "device": str(device), "source": source, "mnist_dir": mnist_dir,
        "source_kind": "idx" if mnist_dir else "bundled",
        "records": [], "runs": [], "started": time.time(), "engine": None, "items": {},
    }


def _name_the_setting(message: str, config, option: str = "--mnist-dir",
                      env: str = "CLAIMS_MNIST_DIR") -> str:
    """Data errors speak of --mnist-dir; name the option (or environment variable) the
    directory came from."""
    message = message.replace("--mnist-dir", option)
    given = any(a == option or a.startswith(option + "=") for a in config.invocation_params.args)
    if given or not os.environ.get(env):
        return message
    return message.replace(f"omit {option}", f"unset {env}").replace(option, env)


def _state(config) -> dict:
    return config.stash[_STATE]


def _is_worker(config) -> bool:
    """True in a pytest-xdist worker process (``pytest -n``): it fits and records its claims,
    and sends each record to the controller, which alone writes the report."""
    return hasattr(config, "workerinput")


def _portable(record: dict, nodeid: str) -> dict:
    """A claim record as plain JSON types, its runs as columns, for the trip from an xdist
    worker to the controller (floats stay bit-exact: no text round trip)."""
    out = {k: v for k, v in record.items() if k != "_runs"}
    runs = record.get("_runs")
    if runs is not None:
        out["_runs"] = {"columns": list(runs.columns),
                        "data": {c: runs[c].tolist() for c in runs.columns}}
    out["_nodeid"] = nodeid
    return report_mod.jsonable(out, f"record of {nodeid}")


def _from_portable(record: dict) -> dict:
    record = dict(record)
    runs = record.pop("_runs", None)
    if runs is not None:
        record["_runs"] = pd.DataFrame(runs["data"], columns=runs["columns"])
    return record


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """The controller learns the collection order, so that the report lists the records in the
    order a serial run would."""
    st = _state(node.config)
    st.setdefault("order", {nid: i for i, nid in enumerate(ids)})


def _share_the_cores(workers: int) -> None:
    """Each of ``workers`` xdist workers gets its share of the cores for torch and the BLAS
    libraries (measured: two workers each running two threads on two cores thrash, and the run
    takes far longer than a serial one). Thread counts change speed, never numbers: the
    engines' training loops run on one thread whatever is set here."""
    import torch
    from threadpoolctl import threadpool_limits

    share = max(1, (os.cpu_count() or 1) // max(1, workers))
    torch.set_num_threads(share)
    threadpool_limits(share)


class _RecordCollector:
    """Registered on the controller of ``pytest -n``: collects the records the workers send."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        record = getattr(report, "claims_record", None)
        if record is not None and report.when == "call":
            _state(self.config)["records"].append(_from_portable(record))


def _engine(config) -> Engine:
    st = _state(config)
    if st["engine"] is None:
        if st["source"] is None:
            st["source"] = load_source(st["mnist_dir"])
        cache_dir = None if config.getoption("--no-results-cache") else config.getoption("--results-cache")
        args = (st["source"], config.getoption("--seed"), config.getoption("--split-seed"),
                st["device"], ResultCache(cache_dir))
        dask = config.getoption("--dask")
        if dask:
            try:
                st["client"] = connect(dask)
            except DaskError as exc:
                raise pytest.UsageError(str(exc)) from None
            st["engine"] = DaskEngine(*args, progress=_progress_writer(config),
                                      client=st["client"], mnist_dir=st["mnist_dir"])
        else:
            st["engine"] = LockedEngine(*args, progress=_progress_writer(config))
    return st["engine"]


def _progress_writer(config):
    tr = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if tr is None or config.getoption("verbose") < 0 or _is_worker(config):
        return None

    def write(msg: str) -> None:
        if capman is not None:
            with capman.global_and_fixture_disabled():
                tr.write_line(f"  [fit] {msg}")
        else:  # pragma: no cover
            tr.write_line(f"  [fit] {msg}")
    return write


# -- collection: xfail from pre-registered evidence, and early checks of the design -----------
def _claim_id(item) -> str | None:
    m = item.get_closest_marker("claim")
    return m.args[0] if m and m.args else None


def _item_scale(item):
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("scale") if callspec else None
    if name not in SCALES:
        return None
    c = item.config
    scale = SCALES[name].override(sizes=c.getoption("--sizes"), draws=c.getoption("--draws"))
    cid = _claim_id(item)
    return scale.grid(registry.get(cid).grid) if cid in registry.CLAIMS else scale


def _source_kind(st: dict, spec: registry.ClaimSpec) -> str:
    """The kind of data a claim's expectation is recorded for: its task's own source
    (``"words"``), or for digit pairs the run's digits (``"bundled"`` or ``"idx"``)."""
    try:
        return source_kind(spec.tasks[0], st["source_kind"])
    except DataError as exc:
        raise pytest.UsageError(f"claim {spec.id} in claims/registry.py: {exc}") from None


def _item_probe(item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("probe") if callspec else None


def _probe_parts(spec: registry.ClaimSpec, probe: str | None) -> tuple[str | None, str | None]:
    """(probe pair, variant) of a ``probe`` parameter: (None, None) for the claim itself."""
    if probe in (None, spec.task):
        return None, None
    if probe in spec.variants:
        return None, probe
    return probe, None


def pytest_generate_tests(metafunc):
    """A claim with probes runs once on its own task, once per probe pair and once per variant."""
    if "claim" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("claim")
    cid = marker.args[0] if marker and marker.args else None
    spec = registry.CLAIMS.get(cid)
    if spec is None or not (spec.probes or spec.full_probes or spec.variants):
        return
    values = [spec.task, *spec.probes, *spec.full_probes, *spec.variants]
    metafunc.parametrize("probe", values, ids=values)


def pytest_collection_modifyitems(config, items):
    st = _state(config)
    for item in items:  # a claim id the registry does not know: one line, before anything runs
        cid = _claim_id(item)
        if cid is not None and cid not in registry.CLAIMS:
            raise pytest.UsageError(
                f"{os.path.relpath(item.path)}::{item.name}: @pytest.mark.claim({cid!r}) names no claim in "
                f"claims/registry.py; add a ClaimSpec with that id or use a known one: "
                + ", ".join(sorted(registry.CLAIMS)))
    small_only_probe = [i for i in items if _claim_id(i) in registry.CLAIMS
                        and _item_probe(i) in registry.CLAIMS[_claim_id(i)].full_probes
                        and i.callspec.params.get("scale") != "full"]
    if small_only_probe:  # full-scale-only probes do not exist at the small scale
        config.hook.pytest_deselected(items=small_only_probe)
        items[:] = [i for i in items if i not in small_only_probe]
    for item in items:
        cid = _claim_id(item)
        scale = _item_scale(item) if cid else None
        if scale is None:
            continue
        spec = registry.get(cid)
        variant = _probe_parts(spec, _item_probe(item))[1]
        option = dict(spec.variant_options).get(variant)
        if option and not config.getoption(option):
            item.add_marker(pytest.mark.skip(reason=(
                f"the {variant} probe of {cid} runs only with {option} DIR (a directory of "
                "Fashion-MNIST's IDX files: train-images-idx3-ubyte[.gz] and the other three); "
                "not given")))
        if _item_probe(item) not in (None, spec.task):
            continue  # a probe passes whenever it reaches a verdict
        expected = registry.expected(cid, spec.task, scale.name, _source_kind(st, spec))
        if expected and expected.verdict != "SUPPORTED":
            item.add_marker(pytest.mark.xfail(
                strict=True, raises=ClaimNotSupported,
                reason=f"expected {expected.verdict}: {expected.evidence}"))


def pytest_collection_finish(session):
    """Check the design against the data once, before anything is fitted: a size larger than a
    task's pool or unreadable data is a usage error, not a failing test."""
    # (an unknown claim id is already a usage error: pytest calls this hook even then)
    items = [i for i in session.items if _claim_id(i) in registry.CLAIMS and _item_scale(i)]
    if not items:
        return
    try:
        engine = _engine(session.config)
        for item in items:
            spec, scale = registry.get(_claim_id(item)), _item_scale(item)
            pair = _probe_parts(spec, _item_probe(item))[0]
            for name in ((pair,) if pair else spec.tasks):
                td = engine.task_data(get_task(name))
                too_big = [n for n in scale.sizes if n > td.pool_size]
                if too_big:
                    raise DataError(
                        f"size {max(too_big)} is larger than the training pool of {td.pool_size} "
                        f"examples for task {name} ({td.source}); use --sizes with values "
                        f"≤ {td.pool_size}")
    except DataError as exc:
        if _is_worker(session.config):  # xdist cannot take a usage error from a worker
            _state(session.config)["design_error"] = str(exc)  # each claim fails with it
            return
        raise pytest.UsageError(str(exc)) from None


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(params=[pytest.param("small", marks=pytest.mark.small, id="small"),
                        pytest.param("full", marks=pytest.mark.full, id="full")])
def scale(request):
    """The claim's scale (``small`` or ``full``), with any ``--sizes``/``--draws`` override."""
    c = request.config
    return SCALES[request.param].override(sizes=c.getoption("--sizes"), draws=c.getoption("--draws"))


@pytest.fixture(scope="session")
def claims_engine(request) -> Engine:
    """The run's engine (data source, seeds, device and result cache from the options)."""
    return _engine(request.config)


class ClaimRun:
    """One claim at one scale: fits curves, builds comparisons, records the verdict."""

    def __init__(self, item, spec: registry.ClaimSpec, scale, engine: Engine,
                 probe: str | None = None):
        self.item, self.spec, self.scale, self.engine = item, spec, scale, engine
        pair, self.variant = _probe_parts(spec, probe)
        #: the probe's name ("4v9", "all-layers"), None for the claim itself
        self.probe = pair or self.variant
        self.task = get_task(pair or spec.tasks[0])
        self.pretrain_dir = item.config.getoption("--pretrain-dir")
        self.pretraining: list[dict] = []
        self.notes: list[str] = []
        self.alpha = ALPHA
        self.runs: list[pd.DataFrame] = []
        self.train_vs_test: list[str] = []
        self.started = time.perf_counter()

    def curve(self, contenders, *, task=None, sizes=None) -> pd.DataFrame:
        """Paired runs of ``contenders`` on the claim's task at this scale (cached)."""
        refused = None
        try:
            runs = self.engine.curve(task=task or self.task, contenders=contenders,
                                     sizes=tuple(sizes or self.scale.sizes),
                                     draws=self.scale.draws)
        except ValueError as exc:  # the engine refuses a name given twice before any fit
            if not str(exc).startswith(DUPLICATE_NAMES):
                raise
            refused = str(exc)
        if refused:  # outside the handler: one line, not the chained ValueError above it
            pytest.fail(f"{self.spec.id}: claim.curve(): {refused}", pytrace=False)
        self.runs.append(runs)
        return runs

    def paired(self, runs: pd.DataFrame, *, better: str, baseline: str) -> stats.Paired:
        """The paired comparison of ``better`` (A) with ``baseline`` (B); its rules
        (``beats``, ``no_worse``, ``matches``, ``trend``) give the verdict. The minimum
        detectable effect is reported at the scale's power target."""
        try:
            return stats.paired(runs, better=better, baseline=baseline, seed=self.engine.root_seed,
                                power=getattr(self.scale, "power_target", stats.POWER))
        except ValueError as exc:  # a name not among the curve's contenders, and the like
            pytest.fail(f"{self.spec.id}: claim.paired(better={better!r}, baseline={baseline!r}): "
                        f"{exc} (the fits are cached: fixing the name refits nothing)",
                        pytrace=False)

    def all_of(self, *parts: stats.Verdict) -> stats.Verdict:
        """The claim holds if every part does (REFUTED if some part is, Holm over the parts)."""
        return stats.all_of(*parts, statement=self.spec.statement)

    def decide(self, parts, *, supported_when: stats.Event, refuted_when: stats.Event):
        """A composite verdict by the claim's own rule (see ``evidence.stats.families``)."""
        return stats.decide(parts, statement=self.spec.statement,
                            supported_when=supported_when, refuted_when=refuted_when)

    def note(self, text: str) -> None:
        """A line for the claim's section of the report (e.g. a fitted model's numbers)."""
        self.notes.append(str(text))

    def report_pretraining(self, cost: dict) -> None:
        """Put a pretrained contender's pretraining cost (``models.kaplan.pretraining_cost``) in
        the claim's record, apart from the fit seconds."""
        self.pretraining.append(cost)

    def show_train_vs_test(self, contenders) -> None:
        """Add a panel of training against test accuracy per n for these contenders to the
        claim's figure (over- or under-fitting, shown)."""
        self.train_vs_test = list(contenders)

    def check(self, verdict: stats.Verdict) -> None:
        """Record the verdict in the report, then compare it with the verdict recorded for this
        claim, scale and data source (``claims/registry.py`` EXPECTED): equal and SUPPORTED
        passes; equal and not SUPPORTED raises ClaimNotSupported (shown as a strict xfail);
        different raises VerdictMismatch (a failure). With no recorded expectation (a custom
        scale, other data) the verdict is reported and the test passes with a warning."""
        self._as_registered(verdict)
        st = _state(self.item.config)
        record = self._record(verdict)
        st["records"].append(record)
        st["items"][self.item.nodeid] = len(st["records"]) - 1
        if self.probe:  # a probe reports its verdict whatever the direction
            return
        kind = _source_kind(st, self.spec)
        expected = registry.expected(self.spec.id, self.spec.task, self.scale.name, kind)
        got = verdict.outcome.value
        if expected is None:
            warnings.warn(f"{self.spec.id}: {got} at scale {self.scale.name} on {kind} "
                          "data, which has no recorded expected verdict (claims/registry.py "
                          "EXPECTED); the verdict is reported, not checked", NoExpectedVerdict)
            return
        if got != expected.verdict:
            raise VerdictMismatch(
                f"{self.spec.id}: verdict {got}, but {expected.verdict} is recorded for scale "
                f"{self.scale.name} on {kind} data ({expected.evidence}). A verdict "
                f"that moved is a finding: check the evidence below, then record the new one.\n"
                + verdict.explain())
        if got != "SUPPORTED":
            raise ClaimNotSupported(f"{got}, as recorded: {expected.evidence}\n" + verdict.explain())

    def _as_registered(self, verdict: stats.Verdict) -> None:
        """The registry is the truth a reader trusts: what the test compared (each rule's
        statement, and the contenders in them) must be what its entry lists. A variant swaps
        a contender, so only the claim and its task probes are held to it."""
        if self.variant is not None:
            return
        done = _comparisons(verdict)
        where = f"{self.spec.id}: claims/registry.py lists"
        if sorted(done) != sorted(self.spec.compares):
            pytest.fail(f"{where} compares={tuple(self.spec.compares)!r}, but the test compared "
                        f"{tuple(done)!r}; make them agree (the fits are cached: nothing is "
                        "refitted)", pytrace=False)
        names = set(_compared(verdict))
        if names != set(self.spec.contenders):
            pytest.fail(f"{where} contenders={tuple(self.spec.contenders)!r}, but the test "
                        f"compared {tuple(sorted(names))!r}; make them agree", pytrace=False)

    # -- the report record ------------------------------------------------------------------
    def _record(self, verdict: stats.Verdict) -> dict:
        runs = pd.concat(self.runs, ignore_index=True).drop_duplicates(
            ["task", "n", "draw", "contender"])
        td = self.engine.task_data(self.task)
        contenders = list(dict.fromkeys(runs["contender"]))
        per_size = []
        several = runs["task"].nunique() > 1  # a claim over two tasks: name@task per series
        for (task_name, name, n), g in runs.groupby(["task", "contender", "n"], sort=False):
            if several:
                name = f"{name}@{task_name}"
            acc = g["test_acc"].to_numpy()
            k = len(acc)
            half = sps.t.ppf(0.975, k - 1) * acc.std(ddof=1) / np.sqrt(k) if k > 1 else np.nan
            per_size.append({
                "n": int(n), "contender": name, "mean_acc": float(acc.mean()),
                "ci_low": float(max(0.0, acc.mean() - half)),
                "ci_high": float(min(1.0, acc.mean() + half)),
                "draws": int(k),
                "se_test": float(np.mean(np.sqrt(acc * (1 - acc) / td.test_size))),
                "mean_train_acc": float(g["train_acc"].mean()),
            })
        xfail = self.item.get_closest_marker("xfail")
        expected = registry.expected(self.spec.id, self.spec.task, self.scale.name,
                                     _source_kind(_state(self.item.config), self.spec))
        d = verdict.to_dict()
        probe = {}
        explanation = verdict.explain()
        more = stats.draws_to_decide(verdict, self.scale.draws)
        if more:
            explanation += (f"\nabout {more} draws per size would decide the observed effect "
                            "(at its observed spread) with power 0.8")
        if self.probe:
            probe = {"probe": True, "probe_of": self.spec.id, "p_value_raw": d["p_value"],
                     "family_scale": self.item.callspec.params.get("scale", self.scale.name),
                     **({"variant": self.variant} if self.variant else {})}
        return {
            "id": f"{self.spec.id}@{self.probe}" if self.probe else self.spec.id,
            "statement": self.spec.statement, "source": self.spec.source,
            "rule": self.spec.rule, "task": self.task.name if self.probe else self.spec.task,
            "scale": self.scale.name,
            "contenders": contenders, "alpha": self.alpha,
            "verdict": d["outcome"],
            "expected": "PROBE" if self.probe else (expected.verdict if expected else "NONE"),
            "expected_reason": xfail.kwargs.get("reason") if xfail else None,
            "outcome": None, "explanation": explanation,
            "effect": d["effect"], "ci_low": d["ci_low"], "ci_high": d["ci_high"],
            "p_value": d["p_value"], "p_supported": d["p_supported"],
            "p_refuted": d["p_refuted"], "mde": d["mde"], "power": d["power"],
            "draws_to_decide": more, "protocol_version": stats.PROTOCOL_VERSION,
            "runtime_s": time.perf_counter() - self.started,
            "pool_size": td.pool_size, "test_size": td.test_size,
            "repro": _repro(self.item), "draws": self.scale.draws, "sizes": list(self.scale.sizes),
            "data_source": self.engine.source.name, "device": self.engine.device,
            "fit_seconds": {c: float(runs.loc[runs.contender == c, "fit_seconds"].mean()) for c in contenders},
            "redraws": int(runs.drop_duplicates(["n", "draw"])["redraws"].sum()),
            "parts": [{"statement": p["statement"], "verdict": p["outcome"], "effect": p["effect"],
                       "ci_low": p["ci_low"], "ci_high": p["ci_high"], "p_value": p["p_value"]}
                      for p in d.get("parts", [])],
            "reason": d["reason"],
            "per_size": per_size,
            # published points are per task: none on a figure that mixes two tasks
            "references": [] if several else references_for(self.spec.id, self.task.name, contenders),
            "_runs": runs,
            **({"train_vs_test": self.train_vs_test} if self.train_vs_test else {}),
            **({"notes": self.notes} if self.notes else {}),
            **({"pretraining": self.pretraining} if self.pretraining else {}),
            **probe,
            **({"effect_unit": "points per unit of log n"} if verdict.rule == "trend" else {}),
        }


def _comparisons(verdict: stats.Verdict) -> list[str]:
    """The comparisons behind a verdict, each as its rule states it (a composite's parts)."""
    if verdict.parts:
        return [c for part in verdict.parts for c in _comparisons(part)]
    return [verdict.statement]


def _compared(verdict: stats.Verdict) -> list[str]:
    """The contenders a verdict compares, in order of appearance."""
    if verdict.parts:
        return list(dict.fromkeys(c for part in verdict.parts for c in _compared(part)))
    return [verdict.better, verdict.baseline]


def _holm_probes(records: list[dict]) -> None:
    """Holm-adjust the probes' p-values within each scale over the scale's fixed family (every
    probe and variant the registry lists for it; one that did not run counts with p = 1). A
    custom design (``--sizes``/``--draws``) is a family of its own, with its base scale's
    members."""
    families: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        if r.get("probe") and r.get("verdict") != "ERROR":
            families.setdefault((r["scale"], r.get("family_scale") or r["scale"]), []).append(r)
    for (_, base), family in families.items():
        members = registry.probe_family(base)
        stats.adjust_family([r for r in family if r["id"] in members], members, alpha=ALPHA)


def _repro(item) -> str:
    c = item.config
    parts = ["pytest", item.nodeid, "--seed", str(c.getoption("--seed")),
             "--split-seed", str(c.getoption("--split-seed"))]
    if c.getoption("--device") != "auto":
        parts += ["--device", c.getoption("--device")]
    for option in ("--mnist-dir", "--pretrain-dir"):
        if c.getoption(option):
            parts += [option, c.getoption(option)]
    if c.getoption("--sizes"):
        parts += ["--sizes", ",".join(map(str, c.getoption("--sizes")))]
    if c.getoption("--draws"):
        parts += ["--draws", str(c.getoption("--draws"))]
    if c.getoption("--no-results-cache"):
        parts.append("--no-results-cache")
    elif c.getoption("--results-cache") != ".claims-cache":
        parts += ["--results-cache", str(c.getoption("--results-cache"))]
    if c.getoption("--report-dir") != "reports":
        parts += ["--report-dir", str(c.getoption("--report-dir"))]
    return shlex.join(parts)


@pytest.fixture
def probe() -> str | None:
    """What a claim runs as: its own task, a probe pair or a variant (parametrised per claim)."""
    return None


@pytest.fixture
def claim(request, scale, probe) -> ClaimRun:
    """The claim this test verifies (from its ``@pytest.mark.claim`` marker) at ``scale``: on
    its own task or, as a probe, on another pair or with a variant of its contender."""
    cid = _claim_id(request.node)
    if cid is None:
        raise pytest.UsageError(f"{request.node.nodeid} uses the claim fixture without "
                                "@pytest.mark.claim('<id>')")
    design_error = _state(request.config).get("design_error")
    if design_error:
        pytest.fail(design_error, pytrace=False)
    spec = registry.get(cid)
    return ClaimRun(request.node, spec, scale.grid(spec.grid), _engine(request.config), probe=probe)


# -- outcomes, verdict table and report ---------------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if _claim_id(item) is None or rep.when != "call":
        return
    st = _state(item.config)
    idx = st["items"].get(item.nodeid)
    if idx is None:  # the test broke before reaching a verdict
        scale = _item_scale(item)
        spec = registry.get(_claim_id(item))
        pair, variant = _probe_parts(spec, _item_probe(item))
        probe = pair or variant
        expected = registry.expected(spec.id, spec.task, scale.name, _source_kind(st, spec)) \
            if scale and not probe else None
        st["records"].append({
            "id": f"{spec.id}@{probe}" if probe else spec.id, "statement": spec.statement,
            "source": spec.source, "rule": spec.rule, "task": pair or spec.task,
            "scale": scale.name if scale else "?", "contenders": list(spec.contenders),
            "alpha": ALPHA, "verdict": "ERROR",
            "expected": "PROBE" if probe else (expected.verdict if expected else "NONE"),
            "outcome": "error",
            "explanation": str(call.excinfo.value) if call.excinfo else "no verdict was recorded",
            "effect": None, "ci_low": None, "ci_high": None, "p_value": None, "mde": None,
            "runtime_s": call.duration, "pool_size": 0, "test_size": 0, "repro": _repro(item),
            "per_size": [], "references": [],
        })
        _send(item, rep, st["records"][-1])
        return
    record = st["records"][idx]
    if hasattr(rep, "wasxfail"):
        record["outcome"] = "xfailed" if rep.skipped else "xpassed"
    else:
        record["outcome"] = rep.outcome
    _send(item, rep, record)


def _send(item, rep, record: dict) -> None:
    """In an xdist worker: the record rides to the controller on the test's report."""
    if _is_worker(item.config):
        rep.claims_record = _portable(record, item.nodeid)


def _git_sha() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def _write(config) -> Path | None:
    st = _state(config)
    if not st["records"] or _is_worker(config):
        return None
    import torch

    if st.get("order"):  # records from xdist workers, in the order a serial run gives them
        last = len(st["order"])
        st["records"].sort(key=lambda r: st["order"].get(r.get("_nodeid"), last))
    for r in st["records"]:
        r.pop("_nodeid", None)
    if st["engine"] is None:  # an xdist controller: its data for the digit pairs' figures
        _engine(config)

    runs = [r.pop("_runs") for r in st["records"] if "_runs" in r]
    st["runs"].extend(runs)
    all_runs = (pd.concat(st["runs"], ignore_index=True).drop_duplicates(["task", "n", "draw", "contender"])
                if st["runs"] else pd.DataFrame())
    keep = [c for c in report_mod.RUNS_COLUMNS if c in all_runs.columns]
    extra = [c for c in all_runs.columns if c not in keep]
    scales = sorted({r["scale"] for r in st["records"]})
    run = {
        "seed": config.getoption("--seed"), "split_seed": config.getoption("--split-seed"),
        "scale": ",".join(scales), "device": st["device"],
        "data_source": st["source"].name if st["source"] else "unknown",
        "git_sha": _git_sha(), "seconds": time.time() - st["started"],
        "started": datetime.fromtimestamp(st["started"], timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
        "pytest_args": list(config.invocation_params.args),
    }
    out = Path(config.getoption("--report-dir"))
    report_mod.write_report(out, run=run, claims=st["records"], runs=all_runs[keep + extra],
                            pairs=_pair_images(st, all_runs), merge=True,
                            protocol_version=stats.PROTOCOL_VERSION, adjust=_holm_probes)
    # the verdict table shows this run's records as written (probes adjusted over the family)
    st["table"] = [c for c in report_mod.load_report(out)["claims"] if not c.get("from_earlier_run")]
    return out


def _pair_images(st: dict, runs: pd.DataFrame) -> dict:
    """Mean image of each digit of every digit pair in the runs, over its training pool only."""
    from models.robinson import REGIONS

    engine = st.get("engine")
    if engine is None or runs.empty:
        return {}
    out: dict = {"regions": {k: [list(r) for r in v] for k, v in REGIONS.items()}}
    for name in sorted(runs["task"].unique()):
        task = get_task(name)
        if not is_digit_pair(task):
            continue
        td = engine.task_data(task)
        out[name] = {"digits": [task.a, task.b],
                     "means": [td.pool_X[td.pool_y == k].mean(axis=0).tolist() for k in (0, 1)]}
    return out


def pytest_sessionfinish(session, exitstatus):
    try:
        st = _state(session.config)
    except KeyError:  # configure failed
        return
    st["written"] = _write(session.config)


def pytest_unconfigure(config):
    """Close a Dask client (and the LocalCluster of ``--dask local:N``)."""
    st = config.stash.get(_STATE, None)
    client = st.pop("client", None) if st else None
    if client is not None:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    try:
        st = _state(config)
    except KeyError:
        return
    if not st["records"]:
        return
    terminalreporter.write_sep("=", "claim verdicts")
    for line in report_mod.verdict_table(st.get("table") or st["records"]).splitlines():
        terminalreporter.write_line(line)
    if st.get("written"):
        terminalreporter.write_line(f"report: {st['written'] / 'index.html'} (also claims.md, claims.json, runs.csv)")
