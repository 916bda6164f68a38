"""Fixtures shared by the test modules."""
import pytest

from evidence.data import digit_pair, load_source, task_data


@pytest.fixture(scope="module")
def td():
    """The bundled data's 0 vs 1 task (pool and test split at the default split seed); one
    per module, so a test that changed its arrays could not reach another module."""
    return task_data(load_source(), digit_pair(0, 1))
