"""Tests for evidence.words: the word list, the two word tasks, their split and the features,
against the pre-registered numbers of CLAIMS.md ("autokad's text claim, on a stated proxy
task")."""
from __future__ import annotations

import hashlib
import re
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

from evidence import words
from evidence.data import DataError
from evidence.words import (WORD_TASKS, WORDS_DOMAIN, feature_names, pos_keys, word_features,
                            word_list, word_task, word_task_data)

# ------------------------------------------------------------------ words and labels


def test_word_list_is_the_pre_registered_4911_words_in_frequency_order():
    from wordfreq import top_n_list

    w = word_list()
    assert len(w) == 4911
    assert all(x.isalpha() and x.isascii() for x in w)
    top = top_n_list("en", 5000)
    positions = [top.index(x) for x in w]
    assert positions == sorted(positions)  # frequency order kept
    assert w[:4] == ("the", "to", "and", "of")


@pytest.mark.parametrize("rule, size, zeros, ones", [
    ("noun-v-verb", 1862, 1150, 712),   # 1,150 nouns (0), 712 verbs (1)
    ("noun-v-rest", 2298, 1148, 1150),  # the rest (0), nouns (1)
])
def test_task_sizes_and_class_balance(rule, size, zeros, ones):
    positions, labels = words._task_labels(word_task(rule))
    assert len(positions) == size
    assert np.count_nonzero(labels == 0) == zeros and np.count_nonzero(labels == 1) == ones
    if rule == "noun-v-verb":
        assert round(zeros / size, 3) == 0.618  # the majority class


def test_labels_follow_the_key_sets():
    keys = pos_keys()
    four = {frozenset({t}) for t in ("NOUN", "VERB", "ADJ", "ADV")}
    for rule, admitted in WORD_TASKS.items():
        positions, labels = words._task_labels(word_task(rule))
        for i, label in zip(positions, labels):
            assert keys[i] in admitted
            if rule == "noun-v-verb":
                assert label == (keys[i] == frozenset({"VERB"}))
            else:
                assert keys[i] in four and label == (keys[i] == frozenset({"NOUN"}))
    # a word with AUX besides VERB belongs to neither task
    index = word_list().index("is")
    assert keys[index] == frozenset({"AUX", "VERB"})
    for rule in WORD_TASKS:
        assert index not in words._task_labels(word_task(rule))[0]


# ------------------------------------------------------------------ tasks and split


def test_task_names_and_seed_keys():
    assert word_task("words:noun-v-verb") == word_task("noun-v-verb") == word_task(" Noun-V-Verb ")
    task = word_task("noun-v-verb")
    assert task.name == "words:noun-v-verb" and str(task) == task.name
    digest = hashlib.sha256(b"words:noun-v-verb").digest()
    assert task.key == (WORDS_DOMAIN, int.from_bytes(digest[:4], "big"),
                        int.from_bytes(digest[4:8], "big"))
    assert word_task("noun-v-rest").key != task.key


@pytest.mark.parametrize("bad", ["noun-v-adj", "4v9", "", 3])
def test_unknown_task_is_a_one_line_data_error(bad):
    with pytest.raises(DataError, match="unknown|not a name") as info:
        word_task(bad)
    assert "\n" not in str(info.value) and "words:noun-v-verb" in str(info.value)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "7"])
def test_bad_split_seed_is_a_data_error(seed):
    with pytest.raises(DataError, match="split seed"):
        word_task_data("noun-v-verb", split_seed=seed)


@pytest.mark.parametrize("rule, pool, pool_ones", [("noun-v-verb", 931, 356),
                                                   ("noun-v-rest", 1149, 575)])
def test_split_is_a_stratified_half(rule, pool, pool_ones):
    td = word_task_data(rule)
    assert td.pool_size == td.test_size == pool
    assert int(td.pool_y.sum()) == int(td.test_y.sum()) == pool_ones
    positions, labels = words._task_labels(word_task(rule))
    assert set(td.pool_index).isdisjoint(td.test_index)
    assert np.array_equal(np.sort(np.concatenate([td.pool_index, td.test_index])), positions)
    label_of = dict(zip(positions, labels))
    assert [label_of[i] for i in td.pool_index] == list(td.pool_y)
    assert [label_of[i] for i in td.test_index] == list(td.test_y)
    # frequency order within pool and test set; words and rows match the positions
    assert np.all(np.diff(td.pool_index) > 0) and np.all(np.diff(td.test_index) > 0)
    assert td.pool_words == tuple(word_list()[i] for i in td.pool_index)
    assert td.test_words == tuple(word_list()[i] for i in td.test_index)


def test_split_is_deterministic_and_depends_on_seed_and_task():
    first = word_task_data("noun-v-verb", split_seed=2017)
    words.clear_caches()
    again = word_task_data("noun-v-verb", split_seed=2017)
    assert again is not first
    assert np.array_equal(first.pool_index, again.pool_index)
    assert (first.pool_X != again.pool_X).nnz == 0
    # pinned: the first pool words of the default split (a change here changes every verdict)
    assert first.pool_words[:5] == ("that", "it", "this", "we", "all")
    other = word_task_data("noun-v-verb", split_seed=2018)
    assert not np.array_equal(first.pool_index, other.pool_index)
    assert other.pool_size == 931 and int(other.pool_y.sum()) == 356
    # the split is drawn from the task's own key, not a stream shared with another task
    key = word_task("noun-v-verb").key
    rng = np.random.default_rng(np.random.SeedSequence(2017, spawn_key=key))
    _, labels = words._task_labels(word_task("noun-v-verb"))
    expected = np.sort(rng.permutation(np.flatnonzero(labels == 0))[:575])
    positions = words._task_labels(word_task("noun-v-verb"))[0]
    assert np.array_equal(np.intersect1d(first.pool_index, positions[labels == 0]),
                          positions[expected])


def test_task_data_unpacks_and_is_read_only():
    pool_X, pool_y, pool_words, test_X, test_y, test_words = word_task_data("noun-v-verb")
    assert sp.isspmatrix_csr(pool_X) and pool_X.shape == (931, 3722)
    assert test_X.shape == (931, 3722) and len(pool_words) == len(test_words) == 931
    for array in (pool_y, test_y, pool_X.data, test_X.data):
        with pytest.raises(ValueError):
            array[0] = 1


# ------------------------------------------------------------------ features


def test_feature_matrix_shape_type_and_counts():
    X = word_features()
    names = feature_names()
    assert sp.isspmatrix_csr(X) and X.shape == (4911, 3722) and len(names) == 3722
    assert len(set(names)) == len(names)
    assert np.issubdtype(X.dtype, np.integer)
    assert X.data.min() >= 1 and X.max() == 4
    assert sum(n.startswith("ngram:") for n in names) == 2870
    assert [n for n in names if n.startswith("length:")] == [
        "length:" + b for b in ("<=3", "4", "5", "6", "7", "8", "9", "10", "11", ">=12")]
    assert [n for n in names if n.startswith("vowel_groups:")] == [
        "vowel_groups:" + b for b in ("1", "2", "3", "4", ">=5")]
    with pytest.raises(ValueError):
        X.data[0] = 0


def test_feature_vocabularies_keep_values_by_document_frequency():
    X = word_features().tocsc()
    names = feature_names()
    df = np.diff(X.indptr)  # words holding each column
    ngram = np.array([n.startswith("ngram:") for n in names])
    affix = np.array([n.split(":")[0] in {"prefix3", "prefix4", "suffix3", "suffix4"}
                      for n in names])
    assert df[ngram].min() >= 2 and df[affix].min() >= 5
    # every n-gram occurring in 2+ words is a column: recount from the words
    grams = Counter(g for w in word_list() for g in set(words._ngrams(w)))
    assert {n[6:] for n in np.array(names)[ngram]} == {g for g, c in grams.items() if c >= 2}
    # one length bucket per word; at most one vowel bucket (none for words like "mr")
    dense = word_features()
    length = dense[:, [i for i, n in enumerate(names) if n.startswith("length:")]]
    vowels = dense[:, [i for i, n in enumerate(names) if n.startswith("vowel_groups:")]]
    assert np.all(length.sum(axis=1) == 1)
    no_vowel = np.array([not re.search("[aeiouy]", w) for w in word_list()])
    assert np.array_equal(np.asarray(vowels.sum(axis=1)).ravel(), (~no_vowel).astype(int))
    assert no_vowel.sum() == 50


def _row(word: str) -> dict[str, int]:
    X, names = word_features(), feature_names()
    row = X[word_list().index(word)]
    return {names[j]: int(v) for j, v in zip(row.indices, row.data)}


def test_feature_rows_of_known_words():
    assert _row("the") == {
        "ngram:<": 1, "ngram:>": 1, "ngram:t": 1, "ngram:h": 1, "ngram:e": 1,
        "ngram:<t": 1, "ngram:th": 1, "ngram:he": 1, "ngram:e>": 1,
        "ngram:<th": 1, "ngram:the": 1, "ngram:he>": 1,
        "length:<=3": 1, "vowel_groups:1": 1}
    row = _row("information")  # 11 letters, vowel groups i-o-a-io: 4
    assert row["ngram:n"] == 2 and row["ngram:o"] == 2 and row["ngram:i"] == 2
    assert row["prefix3:inf"] == row["suffix3:ion"] == row["suffix4:tion"] == 1
    # "info…" starts fewer than 5 words longer than 4 letters, so it is no column
    assert sum(w.startswith("info") and len(w) > 4 for w in word_list()) < 5
    assert "prefix4:info" not in row and "prefix4:info" not in feature_names()
    assert row["length:11"] == 1 and row["vowel_groups:4"] == 1


def test_features_are_label_free_and_shared_by_both_tasks():
    X = word_features()
    for rule in WORD_TASKS:
        td = word_task_data(rule)
        assert (td.pool_X != X[td.pool_index]).nnz == 0
        assert (td.test_X != X[td.test_index]).nnz == 0
    a, b = word_task_data("noun-v-verb"), word_task_data("noun-v-rest")
    rows_a = dict(zip(np.concatenate([a.pool_index, a.test_index]),
                      sp.vstack([a.pool_X, a.test_X]).toarray()))
    rows_b = dict(zip(np.concatenate([b.pool_index, b.test_index]),
                      sp.vstack([b.pool_X, b.test_X]).toarray()))
    shared = set(rows_a) & set(rows_b)
    assert shared == set(rows_a)  # every noun and verb is in both tasks
    assert len(shared) == 1862
    for i in shared:
        assert np.array_equal(rows_a[i], rows_b[i])
