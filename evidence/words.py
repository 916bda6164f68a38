"""English words: the data of the proxy task for autokad's text claim.

autokad (Hacker News, 2017) reported SVMs and a tuned net on "about the 5,000 most common
English words" but never published the task or its labels. CLAIMS.md ("autokad's text claim,
on a stated proxy task") pre-registers a proxy built from the same kind of data; this module
builds it exactly as written there.

* **Words**: wordfreq 3.1.x ``top_n_list("en", 5000)``, keeping ``w.isalpha() and
  w.isascii()``: 4,911 words, in frequency order (the *word list*).
* **Labels**: the keys of lemminflect 0.2.3 ``getAllLemmas(w)``, universal POS tags.
* **Tasks** (``WORD_TASKS``):

  - ``words:noun-v-verb``: words whose key set is exactly {NOUN} (label 0) or exactly {VERB}
    (label 1): 1,862 words, 1,150 nouns and 712 verbs;
  - ``words:noun-v-rest`` (a probe): words whose key set is exactly one of {NOUN}, {VERB},
    {ADJ}, {ADV}; NOUN → 1, the other three → 0: 2,298 words, 1,150 / 1,148. A word with
    an AUX key besides one of the four (``is`` = {AUX, VERB}) is left out, as it is from
    noun-v-verb; counting "one key among the four, AUX allowed" would give 2,318 words.

* **Split**: per task, half of each class to the training pool and half to the fixed test set
  (the pool gets the smaller half of an odd class): 931/931 for noun-v-verb, 1,149/1,149 for
  noun-v-rest. The split is drawn from ``SeedSequence(split_seed, spawn_key=(WORDS_DOMAIN,
  h1, h2))``, where (h1, h2) are the first 64 bits of the sha256 of the task's name — the
  analogue of the digit pairs' ``spawn_key=(a, b)``: stable across processes and Python
  versions, different for every task name, and never equal to a digit pair's key. Within the
  pool and the test set words keep their frequency order.
* **Features** (:func:`word_features`), fixed and label-free, with vocabularies over all 4,911
  words, so every task sees the same row for the same word:

  - H: counts of the character 1-, 2- and 3-grams of ``'<' + w + '>'`` that occur in at
    least 2 of the 4,911 words (2,870 columns);
  - E ("a bit of feature engineering"): indicators of the first and last 3 letters (words
    longer than 3) and of the first and last 4 letters (words longer than 4), each value
    kept if it occurs in at least 5 words (837 columns); a one-hot length bucket (≤ 3, 4, …,
    11, ≥ 12: 10 columns); a one-hot count of vowel groups ``[aeiouy]+`` (1, 2, 3, 4, ≥ 5:
    5 columns; the 50 words without a vowel group, such as ``mr``, have none set).

  [H, E] is one CSR matrix of 3,722 non-negative integer columns; the largest count is 4.

Every problem a user can cause (an unknown task name, a bad split seed, a missing package)
raises ``DataError`` with a one-line message naming the problem and the fix.
"""
from __future__ import annotations

import functools
import hashlib
import numbers
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from evidence.data import DEFAULT_SPLIT_SEED, DataError

__all__ = [
    "WORD_COUNT",
    "WORD_TASKS",
    "WORDS_DOMAIN",
    "WordTask",
    "WordTaskData",
    "clear_caches",
    "feature_names",
    "pos_keys",
    "word_features",
    "word_list",
    "word_task",
    "word_task_data",
]

#: how many words survive the filter (CLAIMS.md); a different count means other package data
WORD_COUNT = 4911
TOP_N = 5000
PREFIX = "words:"

#: tags the split seed's spawn key so a word task can never share a digit pair's stream
WORDS_DOMAIN = 0x776F7264  # "word"

_FOUR = ("NOUN", "VERB", "ADJ", "ADV")

#: rule name → (label of each admitted key set, in CLAIMS.md's words)
WORD_TASKS = {
    "noun-v-verb": {frozenset({"NOUN"}): 0, frozenset({"VERB"}): 1},
    "noun-v-rest": {frozenset({tag}): int(tag == "NOUN") for tag in _FOUR},
}

#: the names of class 0 and class 1 of each task (messages and the report)
CLASS_NAMES = {"noun-v-verb": ("noun", "verb"), "noun-v-rest": ("verb, adjective or adverb", "noun")}

# feature settings (CLAIMS.md, "Features")
NGRAM_SIZES = (1, 2, 3)
NGRAM_MIN_WORDS = 2
AFFIX_MIN_WORDS = 5
LENGTH_BUCKETS = ("<=3", "4", "5", "6", "7", "8", "9", "10", "11", ">=12")
VOWEL_BUCKETS = ("1", "2", "3", "4", ">=5")
_VOWEL_GROUP = re.compile("[aeiouy]+")


# --------------------------------------------------------------------------- words and labels


@functools.lru_cache(maxsize=1)
def word_list() -> tuple[str, ...]:
    """The 4,911 words: wordfreq's top 5,000 English words that are alphabetic ASCII."""
    try:
        from wordfreq import top_n_list
    except ImportError:  # pragma: no cover - wordfreq is a requirement
        raise DataError("the word tasks need wordfreq, which is not installed; "
                        "pip install -r requirements.txt") from None
    words = tuple(w for w in top_n_list("en", TOP_N) if w.isalpha() and w.isascii())
    if len(words) != WORD_COUNT:
        raise DataError(
            f"wordfreq's top {TOP_N} English words give {len(words)} alphabetic ASCII words, "
            f"not the pre-registered {WORD_COUNT}; install wordfreq 3.1.x "
            "(pip install -r requirements.txt)")
    return words


@functools.lru_cache(maxsize=1)
def pos_keys() -> tuple[frozenset, ...]:
    """Per word of :func:`word_list`, the key set (universal POS tags) of lemminflect's
    ``getAllLemmas``; empty for a word lemminflect does not know."""
    try:
        from lemminflect import getAllLemmas
    except ImportError:  # pragma: no cover - lemminflect is a requirement
        raise DataError("the word tasks need lemminflect, which is not installed; "
                        "pip install -r requirements.txt") from None
    return tuple(frozenset(getAllLemmas(w).keys()) for w in word_list())


# --------------------------------------------------------------------------- tasks


def _name_words(name: str) -> tuple[int, int]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big"), int.from_bytes(digest[4:8], "big")


@dataclass(frozen=True)
class WordTask:
    """A word task: ``rule`` is a key of ``WORD_TASKS`` (e.g. "noun-v-verb")."""

    rule: str

    def __post_init__(self):
        if self.rule not in WORD_TASKS:
            raise DataError(
                f"word task {self.rule!r} is unknown; use one of "
                f"{', '.join(PREFIX + r for r in WORD_TASKS)}")

    @property
    def name(self) -> str:
        return PREFIX + self.rule

    @property
    def key(self) -> tuple[int, int, int]:
        """The seed key: (WORDS_DOMAIN, h1, h2), (h1, h2) the first 64 bits of sha256(name)."""
        return (WORDS_DOMAIN, *_name_words(self.name))

    @property
    def class_names(self) -> tuple[str, str]:
        return CLASS_NAMES[self.rule]

    #: the data-source kind its expected verdicts are recorded for (claims/registry.py)
    source_kind = "words"

    def load(self, digits=None, split_seed: int = DEFAULT_SPLIT_SEED) -> "WordTaskData":
        """The task's pool and test set (``evidence.tasks``); the run's digits are not used."""
        return word_task_data(self, split_seed=split_seed)

    def __str__(self) -> str:
        return self.name


def word_task(name) -> WordTask:
    """The task named ``"words:noun-v-verb"`` (the prefix may be left out)."""
    if isinstance(name, WordTask):
        return name
    if not isinstance(name, str):
        raise DataError(f"word task {name!r} is not a name; use one of "
                        f"{', '.join(PREFIX + r for r in WORD_TASKS)}")
    text = name.strip().lower()
    return WordTask(text[len(PREFIX):] if text.startswith(PREFIX) else text)


def _task_labels(task: WordTask) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the word list of the task's words (increasing) and their 0/1 labels."""
    admitted = WORD_TASKS[task.rule]
    positions, labels = [], []
    for i, keys in enumerate(pos_keys()):
        if keys in admitted:
            positions.append(i)
            labels.append(admitted[keys])
    return np.asarray(positions, dtype=np.int64), np.asarray(labels, dtype=np.int64)


# --------------------------------------------------------------------------- features


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _readonly_csr(X: sp.csr_matrix) -> sp.csr_matrix:
    for array in (X.data, X.indices, X.indptr):
        array.setflags(write=False)
    return X


def _ngrams(word: str) -> Counter:
    padded = "<" + word + ">"
    return Counter(padded[i:i + k] for k in NGRAM_SIZES for i in range(len(padded) - k + 1))


def _affixes(word: str) -> list[str]:
    out = []
    if len(word) > 3:
        out += ["prefix3:" + word[:3], "suffix3:" + word[-3:]]
    if len(word) > 4:
        out += ["prefix4:" + word[:4], "suffix4:" + word[-4:]]
    return out


def _length_bucket(word: str) -> str:
    return LENGTH_BUCKETS[min(max(len(word), 3), 12) - 3]


def _vowel_bucket(word: str) -> str | None:
    groups = len(_VOWEL_GROUP.findall(word))
    return None if groups == 0 else VOWEL_BUCKETS[min(groups, 5) - 1]


@functools.lru_cache(maxsize=1)
def _features() -> tuple[sp.csr_matrix, tuple[str, ...]]:
    words = word_list()
    grams = [_ngrams(w) for w in words]
    affixes = [_affixes(w) for w in words]
    gram_df = Counter(g for counts in grams for g in counts)
    affix_df = Counter(a for values in affixes for a in set(values))
    kept_grams = sorted((g for g, c in gram_df.items() if c >= NGRAM_MIN_WORDS),
                        key=lambda g: (len(g), g))
    kept_affixes = sorted(a for a, c in affix_df.items() if c >= AFFIX_MIN_WORDS)
    names = (["ngram:" + g for g in kept_grams] + kept_affixes
             + ["length:" + b for b in LENGTH_BUCKETS]
             + ["vowel_groups:" + b for b in VOWEL_BUCKETS])
    column = {name: j for j, name in enumerate(names)}
    rows, cols, vals = [], [], []
    for i, word in enumerate(words):
        entries = {column["ngram:" + g]: c for g, c in grams[i].items() if "ngram:" + g in column}
        entries.update((column[a], 1) for a in affixes[i] if a in column)
        entries[column["length:" + _length_bucket(word)]] = 1
        vowels = _vowel_bucket(word)
        if vowels is not None:
            entries[column["vowel_groups:" + vowels]] = 1
        for j, c in entries.items():
            rows.append(i)
            cols.append(j)
            vals.append(c)
    X = sp.csr_matrix((np.asarray(vals, dtype=np.int64), (rows, cols)),
                      shape=(len(words), len(names)))
    X.sum_duplicates()
    X.sort_indices()
    return _readonly_csr(X), tuple(names)


def word_features() -> sp.csr_matrix:
    """(4,911, 3,722) CSR int64 matrix [H, E] of every word of :func:`word_list` (rows in
    word-list order). Built once per process and shared: its arrays are read-only; slice it
    (``X[rows]`` copies) rather than change it."""
    return _features()[0]


def feature_names() -> tuple[str, ...]:
    """The name of each column of :func:`word_features`: ``ngram:<g`` (H), then
    ``prefix3:``/``prefix4:``/``suffix3:``/``suffix4:`` values, ``length:<bucket>`` and
    ``vowel_groups:<bucket>`` (E)."""
    return _features()[1]


# --------------------------------------------------------------------------- task data


@dataclass(frozen=True, eq=False)
class WordTaskData:
    """One word task's training pool and fixed test set.

    ``pool_X``/``test_X`` are CSR int64 rows of :func:`word_features`; ``pool_y``/``test_y``
    0/1 int64 labels; ``pool_words``/``test_words`` the words; ``pool_index``/``test_index``
    their positions in :func:`word_list` (increasing).
    """

    task: WordTask
    pool_X: sp.csr_matrix
    pool_y: np.ndarray
    pool_words: tuple[str, ...]
    test_X: sp.csr_matrix
    test_y: np.ndarray
    test_words: tuple[str, ...]
    pool_index: np.ndarray
    test_index: np.ndarray
    split_seed: int

    @property
    def pool_size(self) -> int:
        return int(len(self.pool_y))

    @property
    def test_size(self) -> int:
        return int(len(self.test_y))

    @property
    def source(self) -> str:
        """The data source, named by the packages' versions (their data is the source)."""
        return source_name()

    @property
    def source_fingerprint(self) -> str:
        """A short sha256 of the word features and both tasks' labels (for cache keys)."""
        return source_fingerprint()

    def __iter__(self):
        """Unpacks as (pool X, pool y, pool words, test X, test y, test words)."""
        return iter((self.pool_X, self.pool_y, self.pool_words,
                     self.test_X, self.test_y, self.test_words))

    def __repr__(self) -> str:
        return (f"WordTaskData(task={self.task.name}, pool={self.pool_size}, "
                f"test={self.test_size}, split_seed={self.split_seed})")


def word_task_data(task, *, split_seed: int = DEFAULT_SPLIT_SEED) -> WordTaskData:
    """The task's training pool and fixed test set (module docstring). Memoised."""
    task = word_task(task)
    if (isinstance(split_seed, (bool, np.bool_)) or not isinstance(split_seed, numbers.Integral)
            or split_seed < 0):
        raise DataError(f"split seed {split_seed!r} is not a non-negative integer; "
                        f"give a seed such as {DEFAULT_SPLIT_SEED}")
    return _word_task_data(task, int(split_seed))


@functools.lru_cache(maxsize=16)
def _word_task_data(task: WordTask, split_seed: int) -> WordTaskData:
    positions, labels = _task_labels(task)
    rng = np.random.default_rng(np.random.SeedSequence(split_seed, spawn_key=task.key))
    pool, test = [], []
    for label in (0, 1):  # class 0 first, then class 1, as the digit pairs do
        members = rng.permutation(np.flatnonzero(labels == label))
        half = len(members) // 2
        pool.append(members[:half])
        test.append(members[half:])
    pool, test = np.sort(np.concatenate(pool)), np.sort(np.concatenate(test))
    X, words = word_features(), word_list()
    pool_index, test_index = positions[pool], positions[test]
    return WordTaskData(
        task=task,
        pool_X=_readonly_csr(X[pool_index]),
        pool_y=_readonly(labels[pool]),
        pool_words=tuple(words[i] for i in pool_index),
        test_X=_readonly_csr(X[test_index]),
        test_y=_readonly(labels[test]),
        test_words=tuple(words[i] for i in test_index),
        pool_index=_readonly(pool_index),
        test_index=_readonly(test_index),
        split_seed=split_seed,
    )


def source_name() -> str:
    """``words:wordfreq-<version>+lemminflect-<version>``."""
    from importlib.metadata import version

    return f"words:wordfreq-{version('wordfreq')}+lemminflect-{version('lemminflect')}"


@functools.lru_cache(maxsize=1)
def source_fingerprint() -> str:
    X = word_features()
    h = hashlib.sha256()
    for array in (X.data, X.indices, X.indptr):
        h.update(np.ascontiguousarray(array).tobytes())
    for rule in WORD_TASKS:
        positions, labels = _task_labels(WordTask(rule))
        h.update(positions.astype(np.int64).tobytes())
        h.update(labels.astype(np.int64).tobytes())
    return h.hexdigest()[:16]


def clear_caches() -> None:
    """Forget the memoised words, labels, features and splits (for tests)."""
    word_list.cache_clear()
    pos_keys.cache_clear()
    _features.cache_clear()
    _word_task_data.cache_clear()
    source_fingerprint.cache_clear()
