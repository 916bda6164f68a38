"""The README's worked example of adding a claim runs as written (issue: "a researcher adds a
claim in ten minutes, from the README alone").

The test takes the README's own code blocks — each marked by an HTML comment
``<!-- example: ... -->`` on the line above it — and does what the README says with them, in
a copy of the project's ``claims/`` package: append the registry entry, write the test file,
run the command, read the verdict in the report, append the recorded verdict and run again.
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
MARKED = re.compile(r"<!-- example: (?P<what>[^>]+?) -->\n```(?:\w+)\n(?P<code>.*?)```", re.S)


def _examples() -> dict[str, str]:
    blocks = {m["what"]: m["code"] for m in MARKED.finditer((ROOT / "README.md").read_text())}
    assert set(blocks) == {"append to claims/registry.py", "claims/test_you.py", "run",
                           "append to claims/registry.py, after the run"}, sorted(blocks)
    return blocks


def _run(project: Path, command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[:3] == [".venv/bin/python", "-m", "pytest"], argv
    # this project's interpreter, a throwaway result cache, and the copy's claims/ first
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[3:],
            "--results-cache", str(project / "cache")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_readme_worked_example_runs_as_written(tmp_path):
    blocks = _examples()
    project = tmp_path / "project"
    (project / "claims").mkdir(parents=True)
    for name in ("pytest.ini", "conftest.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("__init__.py", "registry.py"):
        shutil.copy(ROOT / "claims" / name, project / "claims" / name)
    registry = project / "claims" / "registry.py"
    registry.write_text(registry.read_text() + "\n" + blocks["append to claims/registry.py"])
    (project / "claims" / "test_you.py").write_text(blocks["claims/test_you.py"])

    # step 4: the claim runs and reports its verdict, with none recorded yet
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

    # step 5: the recorded verdict is the one the run gives, so the second run passes
    recorded = blocks["append to claims/registry.py, after the run"]
    assert f'"{record["verdict"]}"' in recorded
    registry.write_text(registry.read_text() + "\n" + recorded)
    second = _run(project, blocks["run"])
    both = second.stdout + second.stderr
    assert second.returncode == 0 and "NoExpectedVerdict" not in both, both[-3000:]
    outcome = "passed" if record["verdict"] == "SUPPORTED" else "xfailed"
    assert f"{record['verdict']}/{outcome}" in second.stdout, second.stdout[-2000:]
