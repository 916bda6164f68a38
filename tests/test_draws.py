"""Tests for evidence.draws: the paired design's samples and per-contender seeds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.data import DataError, digit_pair
from evidence.draws import Draw, contender_seed, draw_sample

REPO = Path(__file__).resolve().parents[1]
TASK = digit_pair(0, 1)
ROOT = 2017


def _pool(size: int, ones: int, seed: int = 0) -> np.ndarray:
    """A 0/1 label array with ``ones`` positives at random positions."""
    y = np.zeros(size, dtype=np.int64)
    y[np.random.default_rng(seed).choice(size, ones, replace=False)] = 1
    return y


def _protocol_sample(pool_size, *, n, draw, attempt, task=TASK, root=ROOT):
    """The sample the protocol prescribes for one attempt (CLAIMS.md, "Design")."""
    seq = np.random.SeedSequence(root, spawn_key=(task.a, task.b, n, draw, attempt))
    return np.random.default_rng(seq).choice(pool_size, size=n, replace=False)


POOL = _pool(500, 250)


# --------------------------------------------------------------------------- draw_sample


def test_draw_is_deterministic():
    first = draw_sample(POOL, n=40, draw=3, task=TASK, root_seed=ROOT)
    second = draw_sample(POOL.copy(), n=40, draw=3, task=TASK, root_seed=ROOT)
    assert first == second
    assert hash(first) == hash(second)
    assert first.task == TASK and first.n == 40 and first.draw == 3
    assert first.indices.dtype == np.int64 and first.indices.shape == (40,)


def test_draw_is_the_protocol_sample_in_sample_order():
    d = draw_sample(POOL, n=50, draw=2, task=TASK, root_seed=ROOT)
    assert d.redraws == 0
    expected = _protocol_sample(500, n=50, draw=2, attempt=0)
    assert np.array_equal(d.indices, expected)  # same elements, same order
    assert not np.all(np.diff(d.indices) > 0)  # not sorted: the sample order is kept
    with pytest.raises(ValueError):
        d.indices[0] = 0  # read-only: a contender cannot reorder the shared draw


def test_draws_differ_by_draw_size_task_and_root_seed():
    base = draw_sample(POOL, n=30, draw=0, task=TASK, root_seed=ROOT).indices
    others = [
        draw_sample(POOL, n=30, draw=1, task=TASK, root_seed=ROOT).indices,
        draw_sample(POOL, n=30, draw=0, task=digit_pair(4, 9), root_seed=ROOT).indices,
        draw_sample(POOL, n=30, draw=0, task=TASK, root_seed=ROOT + 1).indices,
        draw_sample(POOL, n=31, draw=0, task=TASK, root_seed=ROOT).indices[:30],
    ]
    for other in others:
        assert not np.array_equal(base, other)
    assert draw_sample(POOL, n=30, draw=1, task=TASK, root_seed=ROOT) != Draw(
        TASK, 30, 0, base, 0
    )


def test_redraw_when_a_class_is_missing_is_counted():
    pool = _pool(20, 1, seed=5)  # one positive: most samples of 3 miss it
    draws = [draw_sample(pool, n=3, draw=d, task=TASK, root_seed=ROOT) for d in range(20)]
    assert any(d.redraws > 0 for d in draws)
    for d in draws:
        assert set(pool[d.indices]) == {0, 1}
        # it is the first attempt holding both classes, and `redraws` counts the others
        assert np.array_equal(
            d.indices, _protocol_sample(20, n=3, draw=d.draw, attempt=d.redraws)
        )
        for attempt in range(d.redraws):
            rejected = _protocol_sample(20, n=3, draw=d.draw, attempt=attempt)
            assert set(pool[rejected]) == {0}


def test_redraw_gives_up_with_a_data_error():
    pool = _pool(1_000_000, 1)
    with pytest.raises(DataError) as info:
        draw_sample(pool, n=2, draw=0, task=TASK, root_seed=ROOT, max_redraws=5)
    message = str(info.value)
    assert "no sample held both classes in 5 redraws" in message
    assert "use larger --sizes" in message and "\n" not in message


def test_size_larger_than_pool_is_a_data_error():
    with pytest.raises(DataError) as info:
        draw_sample(POOL, n=600, draw=0, task=TASK, root_seed=ROOT)
    assert str(info.value) == (
        "size 600 is larger than the training pool of 500 images for task 0v1; "
        "use --sizes with values ≤ 500"
    )
    # the whole pool is a valid sample
    whole = draw_sample(POOL, n=500, draw=0, task=TASK, root_seed=ROOT)
    assert np.array_equal(np.sort(whole.indices), np.arange(500))


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        (dict(n=1), "use --sizes with values >= 2"),
        (dict(n=0), "use --sizes with values >= 2"),
        (dict(n=2.0), "not an integer"),
        (dict(n=True), "not an integer"),
        (dict(draw=-1), "draw -1 is not a non-negative integer"),
        (dict(draw=1.5), "draw 1.5 is not a non-negative integer"),
        (dict(root_seed=-3), "root seed -3"),
    ],
)
def test_bad_arguments_are_data_errors(kwargs, needle):
    args = dict(n=10, draw=0, task=TASK, root_seed=ROOT) | kwargs
    with pytest.raises(DataError) as info:
        draw_sample(POOL, **args)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_pool_is_a_data_error(label):
    pool = np.full(100, label, dtype=np.int64)
    with pytest.raises(DataError) as info:
        draw_sample(pool, n=10, draw=0, task=digit_pair(4, 9), root_seed=ROOT)
    missing = 4 if label == 1 else 9
    assert f"task 4v9: the training pool has no examples of digit {missing}" in str(info.value)


def test_labels_must_be_zero_or_one():
    with pytest.raises(DataError, match="not all 0 or 1"):
        draw_sample(np.array([0, 1, 4, 9]), n=2, draw=0, task=TASK, root_seed=ROOT)


@settings(max_examples=150, deadline=None, database=None)
@given(
    st.data(),
    st.integers(min_value=2, max_value=300),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=2**32),
)
def test_property_draw_has_n_unique_indices_in_range_and_both_classes(data, size, draw, root):
    # the minority class is at least a tenth of the pool, so a redraw limit is never hit
    ones = data.draw(st.integers(min_value=max(1, size // 10), max_value=size - max(1, size // 10)))
    pool = _pool(size, ones, seed=draw)
    n = data.draw(st.integers(min_value=2, max_value=size))
    d = draw_sample(pool, n=n, draw=draw, task=TASK, root_seed=root)
    assert d.n == n and len(d.indices) == n
    assert len(np.unique(d.indices)) == n
    assert d.indices.min() >= 0 and d.indices.max() < size
    assert set(pool[d.indices]) == {0, 1}
    assert d.redraws >= 0


# --------------------------------------------------------------------------- contender_seed


def _seed(contender="leekasso", **kwargs):
    args = dict(root_seed=ROOT, task=TASK, n=10, draw=0, contender=contender) | kwargs
    return contender_seed(**args)


def test_contender_seed_is_stable_across_processes():
    # Literal values computed once; a change here changes every published number.
    assert _seed("leekasso") == 6427592904453415430
    assert _seed("cnn") == 7343212154224455515
    code = (
        "from evidence.data import digit_pair; from evidence.draws import contender_seed; "
        "print(contender_seed(root_seed=2017, task=digit_pair(0, 1), n=10, draw=0, "
        "contender='leekasso'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, check=True,
        cwd=REPO,
        env=os.environ | {"PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)},
    )
    assert int(out.stdout) == 6427592904453415430


def test_contender_seed_differs_by_contender_and_by_draw():
    names = ["leekasso", "cnn", "mlp", "naive-dnn", "centre-edge", "Leekasso", "cnn "]
    seeds = [_seed(name) for name in names]
    assert len(set(seeds)) == len(names)
    varied = {
        _seed(),
        _seed(n=11),
        _seed(draw=1),
        _seed(root_seed=ROOT + 1),
        _seed(task=digit_pair(1, 0)),
        _seed(task=digit_pair(4, 9)),
    }
    assert len(varied) == 6


def test_contender_seed_range_and_type():
    for draw in range(50):
        seed = _seed(draw=draw)
        assert type(seed) is int
        assert 0 <= seed < 2**63
    np.random.default_rng(_seed())  # usable as a numpy seed


def test_contender_seed_is_not_the_sampling_stream():
    # The draw does not depend on the contender; and no contender's stream is the draw's.
    seq = np.random.SeedSequence(ROOT, spawn_key=(0, 1, 10, 0, 0))
    sampling = int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert sampling not in {_seed(name) for name in ("leekasso", "cnn", "mlp")}


@pytest.mark.parametrize("contender", ["", None, 3])
def test_contender_seed_rejects_bad_contender(contender):
    with pytest.raises(ValueError):
        _seed(contender)
