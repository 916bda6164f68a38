"""Root conftest: loads the claim suite's pytest plugin (options, fixtures, report).

See evidence/plugin.py for the options (--device, --seed, --split-seed, --draws, --sizes,
--report-dir, --mnist-dir, --results-cache) and the ``scale`` and ``claim`` fixtures.
"""
pytest_plugins = ["evidence.plugin"]
