"""Collects side-by-side timings and prints one ``speedup <cell>: <ratio>x`` line each at the end."""
import pytest

SPEEDUPS: dict[str, float] = {}
NOTES: list[str] = []


@pytest.fixture(scope="session")
def speedups():
    return SPEEDUPS


@pytest.fixture(scope="session")
def bench_notes():
    return NOTES


def pytest_terminal_summary(terminalreporter):
    if not (SPEEDUPS or NOTES):
        return
    terminalreporter.write_sep("=", "side-by-side timings (engine against the naive loop, kernel against torch step)")
    for line in NOTES:
        terminalreporter.write_line(line)
    for cell, ratio in SPEEDUPS.items():
        terminalreporter.write_line(f"speedup {cell}: {ratio:.1f}x")
