"""Tasks as a protocol (evidence/tasks.py): digit pairs and English words through one engine.

The digit pairs' numbers must not move when tasks were generalised: the accuracies below were
produced, draw by draw, by the code before the change (commit 9e7c97d, 2026-12-01: `pytest claims
-m small -k leekasso_beats --sizes 10,20 --draws 3` and the same for `tuned_mlp and 0v1`, seed
2017, split seed 2017, bundled data, CPU), and the engine must reproduce them exactly.
"""
from __future__ import annotations

import numpy as np
import pytest

from evidence.curves import Engine, ResultCache
from evidence.data import DataError, Task, load_source
from evidence.draws import contender_seed, draw_sample
from evidence.tasks import get_task, is_digit_pair
from evidence.words import WordTask
from models.beam import BeamMLP
from models.leekasso import Leekasso
from models.leeknet import NaiveDNN

#: (task, contender) -> test accuracy at n = 10 (draws 0, 1, 2), then n = 20 (draws 0, 1, 2)
BEFORE = {
    ("0v1", "leekasso"): [0.882, 0.984, 0.958, 0.994, 0.960, 0.990],
    ("0v1", "naive_dnn"): [0.612, 0.810, 0.780, 0.912, 0.958, 0.858],
    ("4v9", "leekasso"): [0.808, 0.866, 0.636, 0.734, 0.768, 0.590],
    ("4v9", "naive_dnn"): [0.706, 0.556, 0.524, 0.660, 0.678, 0.570],
    ("0v1", "beam_mlp"): [0.990, 0.990, 0.992, 0.990, 0.990, 0.992],
}


@pytest.fixture(scope="module")
def engine():
    return Engine(load_source(), 2017, 2017, "cpu", ResultCache(None))


@pytest.mark.parametrize("task_name", ["0v1", "4v9"])
def test_digit_pairs_give_the_numbers_they_gave_before_tasks_were_generalised(engine, task_name):
    contenders = [Leekasso(), NaiveDNN()] + ([BeamMLP()] if task_name == "0v1" else [])
    runs = engine.curve(task=get_task(task_name), contenders=contenders, sizes=[10, 20], draws=3)
    for c in contenders:
        got = runs[runs.contender == c.name].sort_values(["n", "draw"])["test_acc"].tolist()
        assert got == BEFORE[(task_name, c.name)], c.name


def test_names_give_tasks_of_both_kinds():
    assert get_task("4v9") == Task(4, 9) and is_digit_pair(get_task(" 0V1 "))
    words = get_task("words:noun-v-verb")
    assert words == WordTask("noun-v-verb") and not is_digit_pair(words)
    assert get_task(words) is words
    assert get_task("0v1").key == (0, 1)  # the digit streams are keyed as before
    assert len(words.key) == 3 and words.key != get_task("words:noun-v-rest").key


@pytest.mark.parametrize("bad", ["0v0", "words:adverbs", "cats", 7, "4v"])
def test_an_unknown_task_is_a_one_line_data_error_naming_the_kinds(bad):
    with pytest.raises(DataError) as info:
        get_task(bad)
    text = str(info.value)
    assert "\n" not in text
    assert "tasks are" in text and "words:noun-v-verb" in text and "0v1" in text


def test_word_tasks_draw_and_seed_like_digit_pairs(engine):
    task = get_task("words:noun-v-verb")
    td = engine.task_data(task)
    assert (td.pool_size, td.test_size) == (931, 931)
    a = draw_sample(td.pool_y, n=100, draw=0, task=task, root_seed=2017)
    b = draw_sample(td.pool_y, n=100, draw=0, task=task, root_seed=2017)
    assert a == b and len(set(a.indices.tolist())) == 100
    other = draw_sample(td.pool_y, n=100, draw=0, task=get_task("words:noun-v-rest"),
                        root_seed=2017)
    assert not np.array_equal(a.indices, other.indices)
    s1 = contender_seed(root_seed=2017, task=task, n=100, draw=0, contender="rbf_svm")
    s2 = contender_seed(root_seed=2017, task=get_task("0v1"), n=100, draw=0, contender="rbf_svm")
    assert s1 != s2
