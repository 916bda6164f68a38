"""Published and anchor numbers of the debate, as data (transcribed from CLAIMS.md).

``LEEK_2017``
    Leek's saved results: mean test accuracy over 5 repetitions per training-set size,
    n = 10, 15, ..., 85, for his Leekasso and his h2o deep net (his label rule).
``ANCHORS``
    The originals re-run on this suite's bundled data with the suite's draws: Leek's R/h2o
    code (10 draws per n) and Beam's Keras code (5 draws per n); mean and standard deviation
    across draws per n, plus fit seconds where CLAIMS.md gives them.

``H2O_REDDIT``
    h2o 3.46.0.12 itself with each of Reddit's one-change variants of Leek's call, on the
    suite's bundled 0-vs-1 pool/test protocol (10 draws per n, the same draws for every
    variant): mean test accuracy per n, labelled by argmax and by h2o's max-F1 rule, keyed by
    the suite's contender names. CLAIMS.md gives no per-cell spreads for these runs.

``references_for`` turns these into the ``references`` entries of a claim record, which the
report overlays on the claim's learning-curve figure.
"""

from __future__ import annotations

__all__ = [
    "LEEK_2017",
    "LEEK_2017_SOURCE",
    "LEEK_ANCHOR_SOURCE",
    "BEAM_ANCHOR_SOURCE",
    "ANCHORS",
    "H2O_REDDIT",
    "H2O_REDDIT_SOURCE",
    "references_for",
]

LEEK_2017_SOURCE = "Leek 2017, simplystatistics.org, saved results (mean of 5 reps)"

_LEEK_N = list(range(10, 90, 5))  # 10, 15, ..., 85

LEEK_2017: dict[str, dict[int, float]] = {
    "leekasso": dict(zip(_LEEK_N, [
        0.893, 0.886, 0.943, 0.981, 0.979, 0.978, 0.966, 0.985,
        0.954, 0.985, 0.985, 0.986, 0.982, 0.984, 0.985, 0.987,
    ])),
    "deep net": dict(zip(_LEEK_N, [
        0.798, 0.798, 0.891, 0.855, 0.915, 0.931, 0.952, 0.916,
        0.943, 0.932, 0.963, 0.957, 0.957, 0.958, 0.971, 0.965,
    ])),
}

LEEK_ANCHOR_SOURCE = (
    "Leek's experiment re-run on the suite's bundled data (h2o 3.46; Leek's R logic for the "
    "Leekasso), 10 draws per n, same draws for all models (CLAIMS.md anchor)"
)
BEAM_ANCHOR_SOURCE = (
    "Beam's code (github beamandrew/deep_learning_works) re-run on the suite's bundled data "
    "(Keras 3 on TensorFlow 2.21, CPU; old Keras decay emulated), 5 draws per n, same draws "
    "as Leek's anchor (CLAIMS.md anchor)"
)

_ANCHOR_N = [10, 20, 40, 60, 80]


def _anchor(draws, mean, sd, source, label, fit_seconds=None) -> dict:
    entry = {"draws": draws, "n": list(_ANCHOR_N), "mean": list(mean), "sd": list(sd),
             "source": source, "label": label}
    if fit_seconds is not None:
        entry["fit_seconds"] = list(fit_seconds)
    return entry


ANCHORS: dict[str, dict] = {
    "leekasso": _anchor(
        10, [0.922, 0.962, 0.974, 0.988, 0.989], [0.080, 0.047, 0.048, 0.004, 0.003],
        LEEK_ANCHOR_SOURCE, "Leekasso (Leek's R logic)"),
    "naive_dnn": _anchor(
        10, [0.740, 0.898, 0.931, 0.965, 0.965], [0.114, 0.082, 0.025, 0.013, 0.014],
        LEEK_ANCHOR_SOURCE, "h2o deep net, Leek's label rule",
        fit_seconds=[0.39, 0.38, 0.48, 0.50, 0.52]),
    "naive_dnn_argmax": _anchor(
        10, [0.881, 0.943, 0.944, 0.964, 0.971], [0.081, 0.032, 0.033, 0.013, 0.013],
        LEEK_ANCHOR_SOURCE, "the same h2o nets, argmax",
        fit_seconds=[0.39, 0.38, 0.48, 0.50, 0.52]),
    "beam_cnn": _anchor(
        5, [0.990, 0.993, 0.994, 0.995, 0.995], [0.006, 0.008, 0.004, 0.004, 0.002],
        BEAM_ANCHOR_SOURCE, "Beam's CNN", fit_seconds=[6.8, 7.1, 7.8, 9.0, 10.6]),
    "beam_mlp": _anchor(
        5, [0.973, 0.993, 0.990, 0.994, 0.996], [0.028, 0.003, 0.009, 0.002, 0.002],
        BEAM_ANCHOR_SOURCE, "Beam's MLP", fit_seconds=[4.3, 4.3, 5.3, 4.8, 5.2]),
    "beam_leek_net": _anchor(
        5, [0.857, 0.856, 0.866, 0.916, 0.915], [0.037, 0.054, 0.049, 0.020, 0.045],
        BEAM_ANCHOR_SOURCE, "Beam's recreation of Leek's net"),
    "beam_leekasso": _anchor(
        5, [0.903, 0.981, 0.972, 0.987, 0.985], [0.110, 0.009, 0.018, 0.005, 0.012],
        BEAM_ANCHOR_SOURCE, "Beam's Leekasso (liblinear)"),
}

H2O_REDDIT_SOURCE = (
    "h2o 3.46.0.12 with one change to Leek's call, on the suite's bundled 0-vs-1 protocol "
    "(test set: the 1,000 - n other images), 10 draws per n, the same draws for every variant "
    "(CLAIMS.md, Reddit's critiques)")

#: h2o's variant -> the suite's contender (labelled by argmax; without "_argmax": h2o's rule)
_REDDIT_NAMES = {"leek": "naive_dnn", "relu": "naive_dnn_relu",
                 "dropout": "naive_dnn_dropout_in20", "small": "naive_dnn_h32",
                 "augment": "naive_dnn_aug", "modern": "naive_dnn_relu_dropout_in20_aug"}
_H2O_ARGMAX = {
    "leek": [0.875, 0.920, 0.951, 0.968, 0.973],
    "relu": [0.733, 0.910, 0.942, 0.966, 0.981],
    "dropout": [0.914, 0.985, 0.983, 0.980, 0.989],
    "small": [0.783, 0.869, 0.920, 0.937, 0.946],
    "augment": [0.972, 0.985, 0.987, 0.985, 0.993],
    "modern": [0.673, 0.599, 0.838, 0.985, 0.991],
}
_H2O_RULE = {
    "leek": [0.694, 0.923, 0.918, 0.956, 0.963],
    "relu": [0.714, 0.867, 0.929, 0.961, 0.965],
    "dropout": [0.665, 0.894, 0.949, 0.961, 0.977],
    "small": [0.708, 0.870, 0.924, 0.948, 0.964],
    "augment": [0.979, 0.987, 0.990, 0.987, 0.993],
    "modern": [0.971, 0.985, 0.989, 0.991, 0.993],
}

#: contender name -> {"draws", "n", "mean", "sd": None, "source", "label"} (the ANCHORS format;
#: no spreads were published for these runs)
H2O_REDDIT: dict[str, dict] = {
    **{_REDDIT_NAMES[v] + "_argmax": {
        "draws": 10, "n": list(_ANCHOR_N), "mean": m, "sd": None, "source": H2O_REDDIT_SOURCE,
        "label": f"h2o, {v}, argmax"} for v, m in _H2O_ARGMAX.items()},
    **{_REDDIT_NAMES[v]: {
        "draws": 10, "n": list(_ANCHOR_N), "mean": m, "sd": None, "source": H2O_REDDIT_SOURCE,
        "label": f"h2o, {v}, h2o's rule"} for v, m in _H2O_RULE.items()},
}

# contender name in the suite -> (key in LEEK_2017, label in figures)
_LEEK_REFERENCE = {
    "leekasso": ("leekasso", "Leek 2017: Leekasso"),
    "naive_dnn": ("deep net", "Leek 2017: deep net"),
}


def _normalise_task(task) -> str:
    text = str(task).strip().lower().replace(" ", "")
    return text.replace("vs", "v")


def references_for(claim_id: str, task, contenders: list[str]) -> list[dict]:
    """Published points to overlay on a claim's figure, for task ``"0v1"`` only (no other
    task has any): for a Reddit claim (``reddit/...``), h2o's own means for its contenders
    (:data:`H2O_REDDIT`); for any other claim, Leek's published means for ``"leekasso"`` and
    ``"naive_dnn"``. One entry per contender that has points, in the order of ``contenders``.
    """
    if _normalise_task(task) != "0v1":
        return []
    refs = []
    for name in dict.fromkeys(contenders):  # unique, order kept
        if str(claim_id).startswith("reddit/"):
            if name in H2O_REDDIT:
                h = H2O_REDDIT[name]
                refs.append({"label": h["label"], "source": h["source"], "n": list(h["n"]),
                             "acc": list(h["mean"]), "contender": name})
            continue
        if name not in _LEEK_REFERENCE:
            continue
        key, label = _LEEK_REFERENCE[name]
        points = LEEK_2017[key]
        refs.append({
            "label": label,
            "source": LEEK_2017_SOURCE,
            "n": list(points),
            "acc": list(points.values()),
            "contender": name,
        })
    return refs
