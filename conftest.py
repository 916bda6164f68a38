"""Root conftest: loads the claim suite's pytest plugin (options, fixtures, report).

Its options (``pytest --help``, group "claims"; evidence/plugin.py): ``--device``, ``--seed``,
``--split-seed``, ``--draws``, ``--sizes``, ``--report-dir``, ``--mnist-dir``,
``--pretrain-dir``, ``--results-cache``, ``--no-results-cache`` and ``--dask``; with
pytest-xdist installed (requirements.txt), ``-n N`` too. Its fixtures: ``scale``, ``probe``,
``claim`` and ``claims_engine``.
"""
pytest_plugins = ["evidence.plugin"]
