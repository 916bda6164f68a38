"""What every contender shares: a binary scikit-learn classifier that the engine can also fit
many times at once.

A contender is split into a *fit* (data → a score per image: a fitted value or p(class 1)) and a
*label rule* (scores → 0/1 labels). Two contenders that differ only in their label rule share
the fit: the engine fits once and labels twice (``NaiveDNN`` and ``NaiveDNNArgmax``).

For the engine:

* ``fit_spec()`` names what determines the fit (class and parameters); it keys the result cache
  and decides which contenders share a fit.
* ``fit_many(train_sets, X_test, seeds, device)`` fits one model per training set (each with its
  own seed) and returns, per set, the scores of its training images and of the test images.
  The default loops over ``fit``; batched contenders override it.
* ``label(train_scores, y_train, scores)`` applies the label rule; the engine calls it through
  ``label_with(train_scores, y_train, scores, info)``, which a rule that needs what the fit kept
  (h2o's threshold on an augmented training frame) overrides.
"""
from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["Contender", "BatchedContender", "FitOutput", "strictly_above", "CHECKS_ON_FEW_COLUMNS"]


#: scikit-learn estimator checks that fit on a handful of columns: a contender that reads
#: 28×28 images (784 columns) fails them with a ValueError, and declares them with this list.
CHECKS_ON_FEW_COLUMNS = (
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_supervised_y_2d",
)


@dataclass
class FitOutput:
    """What the engine keeps of one fit: scores, not a model, so label rules can be reapplied."""

    train_scores: np.ndarray   # (n,) score of each training image, in draw order
    test_scores: np.ndarray    # (m,) score of each test image
    fit_seconds: float         # wall time of this fit (a batched fit's time shared equally)
    info: dict[str, Any] = field(default_factory=dict)  # e.g. epochs trained, pixels kept


def _same(a, b) -> bool:
    """Whether a parameter equals its default (an array element by element)."""
    if a is b:
        return True
    try:
        eq = a == b
        if isinstance(eq, np.ndarray):
            return np.shape(a) == np.shape(b) and bool(eq.all())
        return bool(eq)
    except (TypeError, ValueError):
        return False


def strictly_above(scores: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Label 1 where the score exceeds the threshold (ties go to class 0, as argmax does)."""
    return (np.asarray(scores) > threshold).astype(np.int64)


class Contender(ClassifierMixin, BaseEstimator):
    """Base of every contender: a two-class scikit-learn classifier.

    Subclasses implement ``_fit01(X, y01)`` (y coded 0/1, where 1 is ``classes_[1]``) and
    ``_scores(X)``, and may override ``label``; ``source`` says where their settings come from.

    A subclass sets ``name = "leekasso"`` as a class attribute: that is the name of the
    contender with its default parameters. An instance's ``name`` — its id in runs, reports
    and ``claim.paired(better=..., baseline=...)`` — adds every parameter given another value,
    as the constructor call reads: ``Leekasso(n_pixels=20).name == "leekasso(n_pixels=20)"``,
    so two settings of one class are two contenders without a subclass. Parameters in
    ``_not_in_name`` (the device, the random state the engine sets per draw) never count.
    """

    source: ClassVar[str] = ""
    #: parameters that do not change the fitted model (left out of the cache key)
    _not_in_fit_spec: ClassVar[tuple[str, ...]] = ("device",)
    #: parameters that never appear in the name
    _not_in_name: ClassVar[tuple[str, ...]] = ("device", "random_state")
    #: parameters the name stem already says (a subclass that overrides ``_name_stem``)
    _named_by_stem: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        stem = cls.__dict__.get("name")
        if isinstance(stem, str):  # ``name = "..."`` in the class body: the stem, see above
            if not stem.isidentifier():
                raise TypeError(f"{cls.__name__}.name = {stem!r}: a contender's name must be a "
                                "Python identifier such as 'leekasso_20'")
            cls._stem = stem
            del cls.name

    @property
    def name(self) -> str:
        changed = self._changed_params()
        if not changed:
            return self._name_stem()
        return self._name_stem() + "(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"

    def _name_stem(self) -> str:
        return getattr(type(self), "_stem", "contender")

    def _changed_params(self) -> dict[str, Any]:
        """The parameters set to something other than the constructor's default, in its order."""
        defaults = {k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
                    if p.default is not inspect.Parameter.empty}
        skip = set(self._not_in_name) | set(self._named_by_stem)
        changed = {}
        for key, value in self.get_params(deep=False).items():
            if key in skip or key not in defaults:
                continue
            value = value.item() if isinstance(value, np.generic) else value
            if not _same(value, defaults[key]):
                changed[key] = value
        return changed

    # -- the scikit-learn face ----------------------------------------------------------------
    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=False)
        check_classification_targets(y)
        classes, y01 = np.unique(y, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(
                f"Only binary classification is supported. {type(self).__name__} is a two-class "
                f"model but y has {len(classes)} class(es) {list(classes)[:5]}; give it exactly "
                "two classes"
            )
        self.classes_ = classes
        self._fit01(X, y01.astype(np.int64))
        self.train_scores_ = np.asarray(self._scores(X), dtype=np.float64)
        self.y_train_ = y01.astype(np.int64)
        return self

    def decision_scores(self, X) -> np.ndarray:
        """The score the label rule thresholds (a fitted value or p(class 1))."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.asarray(self._scores(X), dtype=np.float64)

    def predict(self, X):
        scores = self.decision_scores(X)
        return self.classes_[self.label_with(self.train_scores_, self.y_train_, scores,
                                             self.fit_info())]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # every contender is a two-class model
        return tags

    def expected_failed_checks(self) -> dict[str, str]:
        """scikit-learn estimator checks this contender is known to fail, with the reason."""
        return {}

    # -- the engine's face ----------------------------------------------------------------
    def label(self, train_scores: np.ndarray, y_train: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """The label rule: 0/1 labels for ``scores`` (default: p(class 1) or fit above 0.5)."""
        return strictly_above(scores, 0.5)

    def label_with(self, train_scores: np.ndarray, y_train: np.ndarray, scores: np.ndarray,
                   info: dict) -> np.ndarray:
        """The label rule given everything the fit kept (``FitOutput.info``); by default
        ``label``, which needs only the training scores."""
        return self.label(train_scores, y_train, scores)

    def fit_spec(self) -> dict:
        """What determines the fit: the class doing the fitting and its parameters."""
        params = {k: v for k, v in self.get_params().items()
                  if k not in self._not_in_fit_spec and k != "random_state"}
        return {"fit": type(self).__name__, "params": params}

    def fit_many(self, train_sets: Sequence[tuple[np.ndarray, np.ndarray]], X_test: np.ndarray,
                 seeds: Sequence[int], device: str = "cpu") -> list[FitOutput]:
        """One fit per (X, y01) training set with its own seed; the default fits one at a time."""
        outs = []
        for (X, y), seed in zip(train_sets, seeds):
            est = clone(self)
            if "random_state" in est.get_params():
                est.set_params(random_state=int(seed))
            if "device" in est.get_params():
                est.set_params(device=device)
            t0 = time.perf_counter()
            est.fit(X, y)
            seconds = time.perf_counter() - t0
            outs.append(FitOutput(est.train_scores_, est.decision_scores(X_test), seconds,
                                  est.fit_info()))
        return outs

    def fit_group_size(self, device: str) -> int | None:
        """How many draws of a cell to fit per ``fit_many`` call on ``device`` (None: all)."""
        return None

    def fit_info(self) -> dict:
        """Facts about the last fit worth reporting (epochs, pixels kept...)."""
        return {}

    # -- to implement -------------------------------------------------------------------------
    def _fit01(self, X: np.ndarray, y: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scores(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class BatchedContender(Contender):
    """A contender that fits many draws at once (the nets). Subclasses implement
    ``_train(Xs, ys, seeds, device) -> (fitted, info)`` (``info``: arrays with one entry per
    draw), ``_proba(fitted, X_list, device) -> (R, m)`` p(class 1), and ``_draw_info(info, r)``;
    the scikit-learn face is the same code with one draw."""

    #: draws fitted together on the CPU (None: the whole cell). The CNNs are compute-bound there
    #: and large stacks only add memory traffic; on a GPU every cell is one stack.
    cpu_chunk: ClassVar[int | None] = None

    def fit_group_size(self, device: str) -> int | None:
        from evidence.engine import resolve_device

        return self.cpu_chunk if resolve_device(device).type == "cpu" else None

    def fit_many(self, train_sets, X_test, seeds, device="cpu"):
        Xs = [np.asarray(X, dtype=np.float64) for X, _ in train_sets]
        ys = [np.asarray(y, dtype=np.int64) for _, y in train_sets]
        t0 = time.perf_counter()
        fitted, info = self._train(Xs, ys, list(seeds), device)
        seconds = (time.perf_counter() - t0) / len(Xs)
        X_test = np.asarray(X_test, dtype=np.float64)
        p_train = self._proba(fitted, Xs, device)
        p_test = self._proba(fitted, [X_test] * len(Xs), device)
        return [FitOutput(p_train[r].astype(np.float64), p_test[r].astype(np.float64), seconds,
                          self._draw_info(info, r))
                for r in range(len(Xs))]

    def _fit01(self, X, y):
        seed = 0 if self.random_state is None else int(self.random_state)
        self.fitted_, info = self._train([X], [y], [seed], self.device)
        self.info_ = self._draw_info(info, 0)
        self.epochs_ = self.info_.get("epochs")

    def _scores(self, X):
        return self._proba(self.fitted_, [X], self.device)[0].astype(np.float64)

    def fit_info(self) -> dict:
        return dict(self.info_)

    # -- to implement -------------------------------------------------------------------------
    def _train(self, Xs, ys, seeds, device):  # pragma: no cover - abstract
        raise NotImplementedError

    def _proba(self, fitted, X_list, device) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _draw_info(self, info: dict, r: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError
