"""Fault injection for the end-to-end tests in ``tests/test_cli.py`` (not a test module).

Load it with ``pytest -p tests.fault_plugin``. When the environment variable
``FAULT_PLUGIN_INTERRUPT_AT`` is a whole number N ≥ 1, the N-th call of
``evidence.curves.Engine._fit_cell`` in the process raises ``KeyboardInterrupt`` (as if the user
pressed Ctrl-C while that cell was being fitted); calls 1 … N-1 are passed to the real method,
so their fits are cached as usual. Unset, empty or 0: the plugin does nothing.
"""
from __future__ import annotations

import os

import pytest

ENV = "FAULT_PLUGIN_INTERRUPT_AT"


def pytest_configure(config):
    text = os.environ.get(ENV, "").strip()
    at = int(text) if text else 0
    if at <= 0:
        return

    from evidence.curves import Engine

    original = Engine._fit_cell
    calls = 0

    def interrupting_fit_cell(self, *args, **kwargs):
        nonlocal calls
        calls += 1
        if calls >= at:
            raise KeyboardInterrupt(f"fault_plugin: simulated Ctrl-C in fit cell {calls}")
        return original(self, *args, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(Engine, "_fit_cell", interrupting_fit_cell)
    config.add_cleanup(patch.undo)
