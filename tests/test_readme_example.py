"""The README's worked example of adding a claim runs as written (issue: "a researcher adds a
claim in ten minutes, from the README alone").

The test takes the README's own code blocks — each marked by an HTML comment
``<!-- example: ... -->`` on the line above it — and does what the README says with them, in
a copy of the project's ``claims/`` and ``evidence/`` packages: append the registry entry,
write the test file, run the pilot and append the power plan it prints (checked by
``tests/test_scales.py``), run the claim, read the verdict in the report, print the statement that records it
(``evidence.expect``), append it and run again.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: tests that read every claim of the registry, run again with the example's claim added
REGISTRY_TESTS = ("test_scales.py", "test_probes.py", "test_families.py")
MARKED = re.compile(r"<!-- example: (?P<what>[^>]+?) -->\n```(?:\w+)\n(?P<code>.*?)```", re.S)


def _examples() -> dict[str, str]:
    blocks = {m["what"]: m["code"] for m in MARKED.finditer((ROOT / "README.md").read_text())}
    assert set(blocks) == {"append to claims/registry.py", "claims/test_you.py", "pilot",
                           "append to evidence/scales.py", "run", "record",
                           "append to claims/registry.py, after the run"}, sorted(blocks)
    return blocks


def _run(project: Path, command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[:2] == [".venv/bin/python", "-m"], argv
    # this project's interpreter, a throwaway result cache, and the copy's packages first
    argv = [sys.executable, *argv[1:]]
    if argv[2] == "pytest":
        argv[3:3] = ["-p", "no:cacheprovider"]
        argv += ["--results-cache", str(project / "cache")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)


def _undated(text: str) -> str:
    return re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", text).strip()


def test_the_readme_worked_example_runs_as_written(tmp_path):
    blocks = _examples()
    project = tmp_path / "project"
    (project / "claims").mkdir(parents=True)
    for name in ("pytest.ini", "conftest.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("__init__.py", "registry.py"):
        shutil.copy(ROOT / "claims" / name, project / "claims" / name)
    shutil.copytree(ROOT / "evidence", project / "evidence",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests").mkdir()
    for name in ("__init__.py", *REGISTRY_TESTS):
        shutil.copy(ROOT / "tests" / name, project / "tests" / name)
    registry = project / "claims" / "registry.py"
    registry.write_text(registry.read_text() + "\n" + blocks["append to claims/registry.py"])
    (project / "claims" / "test_you.py").write_text(blocks["claims/test_you.py"])

    # step 4: a pilot on root seed 1 prints the power plan the README shows
    pilot_run, plan = [_run(project, line) for line in blocks["pilot"].strip().splitlines()]
    assert pilot_run.returncode == 0, (pilot_run.stdout + pilot_run.stderr)[-3000:]
    assert plan.returncode == 0, plan.stdout + plan.stderr
    printed = "\n".join(x for x in plan.stdout.splitlines() if not x.startswith("#"))
    assert _undated(printed) == _undated(blocks["append to evidence/scales.py"]), plan.stdout
    powers = [x for x in plan.stdout.splitlines() if x.startswith("# small scale")]
    assert len(powers) == 1 and "power 0.870" in powers[0], plan.stdout
    scales = project / "evidence" / "scales.py"
    scales.write_text(scales.read_text() + "\n" + blocks["append to evidence/scales.py"])
    # the tests that read the whole registry hold with one more claim (none pins how many)
    planned = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                              *(f"tests/{name}" for name in REGISTRY_TESTS)], cwd=project,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                             text=True, timeout=600)
    assert planned.returncode == 0, planned.stdout[-3000:]
    assert "test_every_claim_has_power_at_its_scale[you/leekasso-20-beats-leekasso-small]" in \
        subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                        "--collect-only", "tests/test_scales.py"], cwd=project,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
                       text=True, timeout=600).stdout

    # step 5: the claim runs and reports its verdict, with none recorded yet
    first = _run(project, blocks["run"])
    both = first.stdout + first.stderr
    assert first.returncode == 0, both[-3000:]
    assert "Traceback" not in both and "NoExpectedVerdict" in both
    (record,) = json.loads((project / "reports" / "claims.json").read_text())["claims"]
    assert record["id"] == "you/leekasso-20-beats-leekasso"
    assert record["contenders"] == ["leekasso", "leekasso(n_pixels=20)"]
    assert "you/leekasso-20-beats-leekasso" in (project / "reports" / "index.html").read_text()
    # the verdict and effect the README quotes are this run's
    row = [x for x in first.stdout.splitlines() if x.startswith("you/leekasso-20-beats")]
    readme = (ROOT / "README.md").read_text()
    assert len(row) == 1 and row[0].split()[:4] == ["you/leekasso-20-beats-leekasso", "0v1",
                                                      "small", record["verdict"]]
    assert row[0].strip() in readme, row[0]

    # step 6: evidence.expect prints the statement the README shows (dates aside), which
    # records the verdict the run gave, so the second run passes
    recorded = blocks["append to claims/registry.py, after the run"]
    printed = _run(project, blocks["record"].strip())
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert _undated(printed.stdout) == _undated(recorded), printed.stdout
    assert f'"{record["verdict"]}"' in recorded
    registry.write_text(registry.read_text() + "\n" + recorded)
    second = _run(project, blocks["run"])
    both = second.stdout + second.stderr
    assert second.returncode == 0 and "NoExpectedVerdict" not in both, both[-3000:]
    outcome = "passed" if record["verdict"] == "SUPPORTED" else "xfailed"
    assert f"{record['verdict']}/{outcome}" in second.stdout, second.stdout[-2000:]
