"""Fault injection for the end-to-end tests in ``tests/test_cli.py`` (not a test module).

Load it with ``pytest -p tests.fault_plugin``. It reads three environment variables; unset,
empty or 0, each does nothing:

* ``FAULT_PLUGIN_INTERRUPT_AT=N`` (N ≥ 1): the N-th call of ``evidence.curves.Engine._fit_cell``
  in the process raises ``KeyboardInterrupt`` (as if the user pressed Ctrl-C while that cell was
  being fitted); calls 1 … N-1 are passed to the real method, so their fits are cached as usual.
* ``FAULT_PLUGIN_RAISE_AT=N``: the same, but the N-th call raises ``RuntimeError`` (a bug in a
  contender or the engine).
* ``FAULT_PLUGIN_EXPECT=VERDICT``: every claim, at every scale and on every data source, has
  ``VERDICT`` recorded as its expected verdict (``claims.registry.expected`` is replaced), so a
  tiny custom design can show how an expectation is checked.
"""
from __future__ import annotations

import os

import pytest

ENV = "FAULT_PLUGIN_INTERRUPT_AT"
RAISE_ENV = "FAULT_PLUGIN_RAISE_AT"
EXPECT_ENV = "FAULT_PLUGIN_EXPECT"
ALL_ENV = (ENV, RAISE_ENV, EXPECT_ENV)


def _at(name: str) -> int:
    text = os.environ.get(name, "").strip()
    return int(text) if text else 0


def pytest_configure(config):
    patch = pytest.MonkeyPatch()
    config.add_cleanup(patch.undo)
    faults = [(at, error) for at, error in ((_at(ENV), KeyboardInterrupt),
                                            (_at(RAISE_ENV), RuntimeError)) if at > 0]
    if faults:
        from evidence.curves import Engine

        original = Engine._fit_cell
        calls = 0

        def failing_fit_cell(self, *args, **kwargs):
            nonlocal calls
            calls += 1
            for at, error in faults:
                if calls >= at:
                    raise error(f"fault_plugin: simulated {error.__name__} in fit cell {calls}")
            return original(self, *args, **kwargs)

        patch.setattr(Engine, "_fit_cell", failing_fit_cell)

    verdict = os.environ.get(EXPECT_ENV, "").strip()
    if verdict and verdict != "0":
        from claims import registry

        recorded = registry.Expected(verdict, "fault_plugin: recorded for this test")
        patch.setattr(registry, "expected", lambda *args, **kwargs: recorded)
