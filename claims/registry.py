"""Every claim of the debate, pre-registered: statement, source, task, contenders, rule.

A claim's test in ``claims/test_*.py`` carries ``@pytest.mark.claim("<id>")`` and takes its
statement, source, rule and task from here (CLAIMS.md is the specification; rules are frozen).

``EXPECTED`` records, per (claim id, task, scale, data source kind: ``bundled`` or ``idx``
digits, ``words`` for the word tasks), the verdict a real run
gave, with its evidence (protocol version 2, claims/PROTOCOL.md). A claim's test passes when its
verdict equals the expectation; a non-SUPPORTED expectation shows as ``xfail(strict=True)``
limited to the suite's ClaimNotSupported, so a crash, a move between REFUTED and INCONCLUSIVE
or a move to SUPPORTED turns the run red. Expectations hold whatever the root seed: a verdict
that moves with ``--seed`` is a finding. It is filled only from real runs, never to make a test
pass; a user's custom ``--sizes``/``--draws`` (scale ``custom``) or own data have no entry (the
verdict is then reported, not checked).

The rule texts below are protocol version 2: every SUPPORTED and every REFUTED needs both the
one-sided sign-flip test of the shifted null at p < 0.05 and the matching end of the 90%
bootstrap interval.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClaimSpec", "CLAIMS", "EXPECTED", "Expected", "PROXY", "get", "expected",
           "probe_family"]


@dataclass(frozen=True)
class ClaimSpec:
    id: str
    statement: str
    source: str
    rule: str
    task: str
    #: the contenders the rule compares (others may be fitted for the figure)
    contenders: tuple[str, ...]
    #: the comparisons the test makes, each as its rule states it ("A beats B", "A is no worse
    #: than B by more than 1.0 points"...; a composite verdict's parts): checked when the claim
    #: runs, so this entry stays the truth about what is tested
    compares: tuple[str, ...] = ()
    #: the scale's grid the claim runs on: "default", or "cnn" for compute-bound contenders
    grid: str = "default"
    #: other tasks the claim is rerun on as a generalisation probe ("<id>@<task>"): a
    #: probe reports its verdict whatever the direction, Holm-adjusted across the probe family
    probes: tuple[str, ...] = ()
    #: probe pairs run at the full scale only
    full_probes: tuple[str, ...] = ()
    #: variants of the primary contender rerun on the claim's own task as probes
    #: ("<id>@<variant>"); the test reads ``claim.variant`` and picks its contender
    variants: tuple[str, ...] = ()
    #: (variant, option): a variant that runs only when the option is given (else it skips,
    #: saying which option it needs)
    variant_options: tuple[tuple[str, str], ...] = ()

    @property
    def tasks(self) -> tuple[str, ...]:
        """The tasks the claim uses: ``task`` is one ("0v1") or several ("0v1+4v9")."""
        return tuple(self.task.split("+"))


_BEAM = ("Beam 2017, beamandrew.github.io, \"You can probably use deep learning even if your "
         "data isn't that big\"; code: github beamandrew/deep_learning_works")
_BEATS = ("A beats B: SUPPORTED if the sign-flip p(δ ≤ 0) < 0.05 and the one-sided 95% lower "
          "bound > 0; REFUTED if p(δ ≥ 0.5 points) < 0.05 and the upper bound < 0.5 points "
          "(any advantage is below half a point); else INCONCLUSIVE.")
_NO_WORSE = ("A is no worse than B by more than 1 point: SUPPORTED if p(δ ≤ −1 point) < 0.05 "
             "and the lower bound > −1 point; REFUTED if p(δ ≥ −1 point) < 0.05 and the upper "
             "bound < −1 point; else INCONCLUSIVE.")
_ROBINSON = ("Robinson 2017 (Twitter) and 2018, \"Exploring handwritten digit data: a tidy "
             "analysis of the MNIST dataset\"")
#: the hard pair every Leek and Beam claim is also run on (Robinson: 4 vs 9 is hard)
PROBE_PAIRS = ("4v9",)
#: and, at the full scale only, the other hard pair Robinson named
FULL_PROBE_PAIRS = ("7v9",)


def _robinson_parts() -> tuple[str, ...]:
    """robinson/zero-one-is-too-easy's twelve parts: on each pair, each other member against
    Beam's CNN both ways (matches within ±1 point; the CNN beats it by more than 1 point)."""
    others = ("leekasso", "centre_edge_rule", "beam_mlp")
    return tuple(part for pair in ("0v1", "4v9") for part in
                 [f"{m} matches beam_cnn within ±1.0 points (on {pair})" for m in others]
                 + [f"beam_cnn beats {m} by more than 1.0 points (on {pair})" for m in others])


_LEEK = "Leek 2017, simplystatistics.org, \"Don't use deep learning your data isn't that big\""

CLAIMS: dict[str, ClaimSpec] = {c.id: c for c in [
    ClaimSpec(
        "leek/leekasso-beats-naive-dnn",
        "On average over n = 10…80, the Leekasso beats Leek's naive deep net on MNIST 0 vs 1.",
        _LEEK,
        _BEATS,
        "0v1", ("leekasso", "naive_dnn"),
        compares=("leekasso beats naive_dnn",),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "leek/gap-narrows-with-n",
        "The deep net catches up as n grows: the paired gap (Leekasso − naive DNN) shrinks "
        "with log n.",
        _LEEK,
        "Trend: OLS slope of the per-draw difference on log n with HC3 errors and t(N − 2); "
        "SUPPORTED if the one-sided p(slope ≥ 0) < 0.05 and the upper bound < 0; REFUTED if "
        "p(slope ≤ 0) < 0.05 and the lower bound > 0; else INCONCLUSIVE.",
        "0v1", ("leekasso", "naive_dnn"),
        compares=("the difference leekasso - naive_dnn decreases as n grows",),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "leek/label-rule-artefact",
        "Part of Leek's gap is h2o's max-F1 label rule, not the net: the same fitted naive nets "
        "labelled by argmax beat them labelled by h2o's rule.",
        "this suite's finding (CLAIMS.md, Leek's experiment: h2o's two-class label rule)",
        _BEATS + " (A: argmax; B: h2o's rule)",
        "0v1", ("naive_dnn_argmax", "naive_dnn"),
        compares=("naive_dnn_argmax beats naive_dnn",),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/tuned-cnn-beats-leekasso",
        "A properly trained small CNN (Beam's, ~200k parameters) beats the Leekasso at n ≤ 80 "
        "on MNIST 0 vs 1.",
        _BEAM,
        _BEATS,
        "0v1", ("beam_cnn", "leekasso"),
        compares=("beam_cnn beats leekasso",), grid="cnn",
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/tuned-mlp-beats-leekasso",
        "A properly trained MLP (Beam's, ~120k parameters) beats the Leekasso at n ≤ 80 on "
        "MNIST 0 vs 1.",
        _BEAM,
        _BEATS,
        "0v1", ("beam_mlp", "leekasso"),
        compares=("beam_mlp beats leekasso",),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/training-not-overfitting",
        "Leek's net failed from poor training, not overfitting: the same 5×160 tanh net, "
        "trained well, is no worse than the Leekasso and beats the naive training.",
        _BEAM,
        "Both parts: the well-trained net is no worse than the Leekasso by more than 1 point, "
        "and it beats the naive DNN labelled by argmax (A beats B), each under its protocol-v2 "
        "rule. SUPPORTED if both parts are (p = the larger part p); REFUTED if either part is, "
        "with its p Holm-adjusted over the two parts; else INCONCLUSIVE. Training accuracies "
        "are reported beside it.",
        "0v1", ("well_trained_leek_net", "leekasso", "naive_dnn_argmax"),
        compares=("well_trained_leek_net is no worse than leekasso by more than 1.0 points",
                  "well_trained_leek_net beats naive_dnn_argmax"),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/sgd-settings-matter",
        "Poor SGD settings give misleadingly bad results: Beam's recreation of Leek's net does "
        "better without its collapsing learning-rate decay (same SGD rate, inputs and epochs).",
        _BEAM,
        _BEATS + " (A: no decay; B: Beam's decay 0.99)",
        "0v1", ("beam_leek_net_no_decay", "beam_leek_net"),
        compares=("beam_leek_net_no_decay beats beam_leek_net",),
        probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "robinson/centre-edge-rule-suffices",
        "On MNIST 0 vs 1, a two-feature rule (centre ink against left/right edge ink) is as good "
        "as a model: no worse than the Leekasso by more than 1 point.",
        _ROBINSON,
        _NO_WORSE,
        "0v1", ("centre_edge_rule", "leekasso"),
        compares=("centre_edge_rule is no worse than leekasso by more than 1.0 points",)),
    ClaimSpec(
        "robinson/zero-one-is-too-easy",
        "0 vs 1 is too easy to tell methods apart; a hard pair (4 vs 9) is not.",
        _ROBINSON,
        "At the scale's largest n, with the fixed set {Leekasso, centre/edge rule, Beam's MLP, "
        "Beam's CNN}: SUPPORTED if on 0 vs 1 each of the other three matches the CNN within ±1 "
        "point (TOST) and on 4 vs 9 the CNN beats at least one of them by more than 1 point; "
        "REFUTED if on 0 vs 1 the CNN beats some member by more than 1 point, or on 4 vs 9 every "
        "member matches the CNN within ±1 point; else INCONCLUSIVE. Each \"at least one\" / "
        "\"some\" is a union whose p is Holm-adjusted over its members (and the two REFUTED "
        "branches over the two); an \"each\"/\"every\" takes the largest p.",
        "0v1+4v9", ("leekasso", "centre_edge_rule", "beam_mlp", "beam_cnn"),
        compares=_robinson_parts(), grid="cnn"),
    ClaimSpec(
        "kaplan/finetuning-beats-scratch",
        "Fine-tuning the last layers of a pretrained net beats training it from scratch on "
        "small data (here: in-domain, disjoint classes — Beam's CNN pretrained on the other "
        "eight digits, convolutional layers frozen, against the same CNN from scratch).",
        "rkaplan, Hacker News item 14485362 (on Beam's post)",
        _BEATS + " On 4 vs 9; each draw index has its own pretrained net (protocol v2).",
        "4v9", ("finetuned_cnn", "beam_cnn"),
        compares=("finetuned_cnn beats beam_cnn",), grid="cnn", probes=("0v1",),
        variants=("all-layers", "cross-domain"),
        variant_options=(("cross-domain", "--pretrain-dir"),)),
    ClaimSpec(
        "autokad/nn-matches-histogram-svm",
        "On small text, a tuned neural net matches a histogram-kernel SVM, and both beat an "
        "RBF SVM (tested on a stated proxy task: autokad's own task was never published).",
        "autokad, Hacker News (same thread as rkaplan): on about the 5,000 most common English "
        "words, RBF SVM 87-88%, histogram-kernel SVM with some feature engineering 89.7%, a "
        "tuned TensorFlow net about 89.7%",
        "All three parts, each under its protocol-v2 rule: the tuned MLP matches the histogram "
        "SVM within ±2 points (two one-sided tests); the histogram SVM beats the RBF SVM; the "
        "MLP beats the RBF SVM. SUPPORTED if all three are (p = the largest part p); REFUTED if "
        "any is, with its p Holm-adjusted over the three; else INCONCLUSIVE.",
        "words:noun-v-verb", ("tuned_mlp", "histogram_svm", "rbf_svm"),
        compares=("tuned_mlp matches histogram_svm within ±2.0 points",
                  "histogram_svm beats rbf_svm", "tuned_mlp beats rbf_svm"), grid="words",
        probes=("words:noun-v-rest",), variants=("standardised-rbf",)),
]}

_REDDIT = ("Reddit commenters on Leek's post (2017): Leek's net is not modern deep learning; "
           "ReLU beats tanh, dropout and data augmentation matter, 5x160 is too big for 80 "
           "images without augmentation")


def _reddit(cid: str, statement: str, change: str, contender: str) -> ClaimSpec:
    """A Reddit critique: Leek's h2o call with one change against the call unchanged, on the
    same draws, both labelled by argmax; probes 4 vs 9 and both labelled by h2o's rule."""
    return ClaimSpec(
        cid, statement, _REDDIT,
        _BEATS + f" (A: Leek's call with {change}; B: Leek's call; both labelled by argmax)",
        "0v1", (contender, "naive_dnn_argmax"), compares=(f"{contender} beats naive_dnn_argmax",),
        probes=("4v9",), variants=("h2o-label",))


CLAIMS.update({c.id: c for c in [
    _reddit("reddit/augmentation-helps",
            "Data augmentation matters for small data: Leek's net trained on the draw plus its "
            "2-pixel shifts beats Leek's net on MNIST 0 vs 1.",
            "the draw plus four 2-pixel shifts of each image (5n rows)", "naive_dnn_aug_argmax"),
    _reddit("reddit/dropout-helps",
            "Dropout matters for small data: Leek's net with h2o's TanhWithDropout (hidden "
            "0.5, input 0.2) beats Leek's net on MNIST 0 vs 1.",
            "activation TanhWithDropout, hidden_dropout_ratios 0.5, input_dropout_ratio 0.2",
            "naive_dnn_dropout_in20_argmax"),
    _reddit("reddit/relu-beats-tanh",
            "ReLU is better than tanh: Leek's net with h2o's Rectifier beats Leek's tanh net on "
            "MNIST 0 vs 1.",
            "activation Rectifier", "naive_dnn_relu_argmax"),
    _reddit("reddit/net-too-big",
            "Without augmentation, 5x160 is far too big for 80 images: Leek's call with one "
            "hidden layer of 32 units beats it on MNIST 0 vs 1.",
            "hidden = [32]", "naive_dnn_h32_argmax"),
    _reddit("reddit/modern-recipe-helps",
            "With the last decade's methods Leek's net would do better: RectifierWithDropout "
            "(hidden 0.5, input 0.2) on the augmented draw beats Leek's net on MNIST 0 vs 1.",
            "activation RectifierWithDropout, hidden_dropout_ratios 0.5, input_dropout_ratio "
            "0.2, on the draw plus its 2-pixel shifts", "naive_dnn_relu_dropout_in20_aug_argmax"),
]})

#: What the report says of a claim tested on a proxy of the original (its ``proxy`` note).
PROXY = {
    "autokad/nn-matches-histogram-svm": (
        "A proxy task: autokad never published his task or labels. This one is built from the "
        "same kind of data, pre-registered before it ran: the 4,911 alphabetic ASCII words among "
        "wordfreq's 5,000 most frequent English words, labelled by lemminflect's parts of "
        "speech (words:noun-v-verb: nouns against verbs; the probe words:noun-v-rest: nouns "
        "against verbs, adjectives and adverbs), with character 1-3-gram counts plus affix, "
        "length and vowel-group columns as features. A verdict here is about this proxy, not "
        "about autokad's data."),
}


@dataclass(frozen=True)
class Expected:
    """The verdict a real run gave, and its evidence (date, seed, data, numbers)."""

    verdict: str
    evidence: str

    def __post_init__(self):
        if self.verdict not in ("SUPPORTED", "REFUTED", "INCONCLUSIVE"):
            raise ValueError(f"an expected verdict is SUPPORTED, REFUTED or INCONCLUSIVE, "
                             f"got {self.verdict!r}")


_SMALL_RUN = ("protocol v2, scale small, seed 2017, split seed 2017, bundled data, CPU, "
              "2026-12-01")

_WORDS_RUN = ("protocol v2, scale small, seed 2017, split seed 2017, wordfreq 3.1.1 and "
              "lemminflect 0.2.3, CPU, 2026-12-01")

#: (claim id, task, scale, data source kind) -> the verdict recorded from a real run.
EXPECTED: dict[tuple[str, str, str, str], Expected] = {
    ("leek/leekasso-beats-naive-dnn", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +6.9 points [+5.1, +8.0], p < 1e-4"),
    ("leek/gap-narrows-with-n", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: slope -5.9 points per unit of log n [-8.9, -3.0], "
                     "p = 7.6e-4"),
    ("leek/label-rule-artefact", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +4.5 points [+3.0, +5.6], p < 1e-4"),
    ("beam/tuned-cnn-beats-leekasso", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +1.8 points [+0.7, +3.2], p = 0.015"),
    ("beam/tuned-mlp-beats-leekasso", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +1.5 points [+0.6, +2.3], p = 0.002"),
    ("beam/training-not-overfitting", "0v1", "small", "bundled"): Expected(
        "INCONCLUSIVE", f"{_SMALL_RUN}: no worse than the Leekasso by 1 point not shown "
                        "(-0.7 points [-1.6, +0.1], p = 0.32; power 0.31 at this design, about "
                        "270 draws per size would decide it); beats the naive net by argmax "
                        "SUPPORTED"),
    ("beam/sgd-settings-matter", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +13.1 points [+11.6, +14.5], p < 1e-4"),
    ("robinson/centre-edge-rule-suffices", "0v1", "small", "bundled"): Expected(
        "REFUTED", f"{_SMALL_RUN}: the rule is -7.8 points [-9.2, -6.7] behind the Leekasso, "
                   "p(effect >= -1 point) < 1e-4"),
    ("robinson/zero-one-is-too-easy", "0v1+4v9", "small", "bundled"): Expected(
        "INCONCLUSIVE", f"{_SMALL_RUN}: on 0 vs 1 the centre/edge rule is 7.2 points below "
                        "the CNN, but REFUTED cannot be reached on this design: 6 draws at one "
                        "size give a smallest sign-flip p of 1/64, and Holm over the three "
                        "members and the two REFUTED branches makes it 6/64 = 0.094 "
                        "(version 1 said REFUTED on the bound alone)"),
    ("autokad/nn-matches-histogram-svm", "words:noun-v-verb", "small", "words"): Expected(
        "REFUTED", f"{_WORDS_RUN}: the tuned MLP does not beat the RBF SVM (-0.9 points "
                   "[-1.3, -0.6], any advantage below half a point, p = 6e-4; Holm over the "
                   "three parts: p = 0.0018); the MLP against the histogram SVM -1.4 [-2.0, "
                   "-0.7] and the histogram SVM against the RBF SVM +0.5 [-0.1, +1.1] are "
                   "INCONCLUSIVE"),
    ("reddit/augmentation-helps", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +3.5 points [+2.9, +4.4], p < 1e-4 (seed 1: +4.5)"),
    ("reddit/dropout-helps", "0v1", "small", "bundled"): Expected(
        "SUPPORTED", f"{_SMALL_RUN}: +2.4 points [+1.6, +3.2], p < 1e-4 (seed 1: +3.8)"),
    ("reddit/relu-beats-tanh", "0v1", "small", "bundled"): Expected(
        "INCONCLUSIVE", f"{_SMALL_RUN}: -1.1 points [-2.7, +0.1], p = 0.84; any advantage "
                        "below half a point not shown either (p = 0.065); about 20 draws per "
                        "size would decide it (seed 1: -0.4, INCONCLUSIVE)"),
    ("reddit/net-too-big", "0v1", "small", "bundled"): Expected(
        "REFUTED", f"{_SMALL_RUN}: hidden = [32] is -6.1 points [-7.4, -5.2] behind 5x160, "
                   "p(effect >= 0.5 points) < 1e-4 (seed 1: -5.0)"),
    ("reddit/modern-recipe-helps", "0v1", "small", "bundled"): Expected(
        "REFUTED", f"{_SMALL_RUN}: -7.1 points [-10.2, -4.1] by argmax, p(effect >= 0.5 "
                   "points) = 0.0013; nets stopped after 2 epochs by h2o's max-F1 test with "
                   "their probabilities on one side of 0.5 (seed 1: -6.4)"),
    ("kaplan/finetuning-beats-scratch", "4v9", "small", "bundled"): Expected(
        "INCONCLUSIVE", f"{_SMALL_RUN}, one pretrained net per draw, pretrained on one thread: "
                        "-0.0 points [-1.8, +2.1], p = 0.50 (two threads: -0.4 [-2.2, +1.6])"),
}


# The full scale (n = 10, 15, ..., 80 x 20 draws, the CNN grid too; probes on 4 vs 9 and 7 vs 9;
# the word tasks' sizes x 20 draws), recorded from its first complete run, in five runs into one
# report folder (README, "The full scale"); each entry's numbers as `python -m evidence.expect`
# printed them from that report.
_FULL_RUN = "protocol v2, scale full, seed 2017, split seed 2017, bundled data, CPU, 2026-12-01"
_FULL_WORDS_RUN = ("protocol v2, scale full, seed 2017, split seed 2017, wordfreq 3.1.1 and "
                   "lemminflect 0.2.3, CPU, 2026-12-01")
EXPECTED.update({
    ("leek/leekasso-beats-naive-dnn", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+5.0 [+4.4, +5.6] points, p < 1e-4"),
    ("leek/gap-narrows-with-n", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "-3.7 [-5.5, -1.8] points per unit of log n, p = 5.7e-04"),
    ("leek/label-rule-artefact", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+3.2 [+2.7, +3.7] points, p < 1e-4"),
    ("beam/tuned-cnn-beats-leekasso", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+2.5 [+2.1, +2.9] points, p < 1e-4"),
    ("beam/tuned-mlp-beats-leekasso", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+2.2 [+1.8, +2.6] points, p < 1e-4"),
    ("beam/training-not-overfitting", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "-0.1 [-0.4, +0.4] points, p = 2.0e-04 (well_trained_leek_net is "
                     "no worse than leekasso by more than 1.0 points: SUPPORTED, "
                     "-0.1 [-0.4, +0.4] points, p = 2.0e-04; "
                     "well_trained_leek_net beats naive_dnn_argmax: SUPPORTED, "
                     "+1.8 [+1.5, +2.1] points, p < 1e-4)"),
    ("beam/sgd-settings-matter", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+11.4 [+10.8, +12.0] points, p < 1e-4"),
    ("robinson/centre-edge-rule-suffices", "0v1", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-6.4 [-6.9, -6.0] points, p of the REFUTED side < 1e-4"),
    ("robinson/zero-one-is-too-easy", "0v1+4v9", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-0.6 [-0.7, -0.4] points, p of the REFUTED side = 6.0e-04 (leekasso "
                   "matches beam_cnn within ±1.0 points (on 0v1): SUPPORTED, "
                   "-0.6 [-0.7, -0.4] points, p = 6.0e-04; centre_edge_rule matches "
                   "beam_cnn within ±1.0 points (on 0v1): REFUTED, -7.5 [-8.0, "
                   "-7.2] points, p of the REFUTED side < 1e-4; "
                   "beam_mlp matches beam_cnn within ±1.0 points (on 0v1): SUPPORTED, "
                   "-0.3 [-0.4, -0.2] points, p < 1e-4; "
                   "beam_cnn beats leekasso by more than 1.0 points (on 0v1): REFUTED, "
                   "+0.6 [+0.4, +0.7] points, p of the REFUTED side = 6.0e-04; beam_cnn "
                   "beats centre_edge_rule by more than 1.0 points (on 0v1): SUPPORTED, "
                   "+7.5 [+7.2, +8.0] points, p < 1e-4; "
                   "beam_cnn beats beam_mlp by more than 1.0 points (on 0v1): REFUTED, "
                   "+0.3 [+0.2, +0.4] points, p of the REFUTED side < 1e-4; "
                   "leekasso matches beam_cnn within ±1.0 points (on 4v9): REFUTED, "
                   "-11.0 [-11.9, -10.3] points, p of the REFUTED side < 1e-4; "
                   "centre_edge_rule matches beam_cnn within ±1.0 points (on 4v9): "
                   "REFUTED, -30.8 [-31.9, -29.9] points, p of the REFUTED side < 1e-4; "
                   "beam_mlp matches beam_cnn within ±1.0 points (on 4v9): REFUTED, "
                   "-5.3 [-6.5, -4.7] points, p of the REFUTED side < 1e-4; beam_cnn "
                   "beats leekasso by more than 1.0 points (on 4v9): SUPPORTED, "
                   "+11.0 [+10.3, +11.9] points, p < 1e-4; beam_cnn beats "
                   "centre_edge_rule by more than 1.0 points (on 4v9): SUPPORTED, "
                   "+30.8 [+29.9, +31.9] points, p < 1e-4; beam_cnn beats beam_mlp by "
                   "more than 1.0 points (on 4v9): SUPPORTED, +5.3 [+4.7, +6.5] points, "
                   "p < 1e-4)"),
    ("kaplan/finetuning-beats-scratch", "4v9", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-0.9 [-1.2, -0.6] points, p of the REFUTED side < 1e-4"),
    ("autokad/nn-matches-histogram-svm", "words:noun-v-verb", "full", "words"): Expected(
        "REFUTED", f"{_FULL_WORDS_RUN}: "
                   "-0.8 [-1.0, -0.5] points, p of the REFUTED side = 3.0e-04 "
                   "(tuned_mlp matches histogram_svm within ±2.0 points: SUPPORTED, "
                   "-0.8 [-1.0, -0.5] points, p < 1e-4; "
                   "histogram_svm beats rbf_svm: REFUTED, +0.1 [-0.2, +0.3] points, "
                   "p of the REFUTED side = 0.008; tuned_mlp beats rbf_svm: REFUTED, "
                   "-0.7 [-0.9, -0.5] points, p of the REFUTED side < 1e-4)"),
    ("reddit/augmentation-helps", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+3.4 [+3.1, +3.7] points, p < 1e-4"),
    ("reddit/dropout-helps", "0v1", "full", "bundled"): Expected(
        "SUPPORTED", f"{_FULL_RUN}: "
                     "+2.6 [+2.2, +2.9] points, p < 1e-4"),
    ("reddit/relu-beats-tanh", "0v1", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-0.3 [-0.8, +0.2] points, p of the REFUTED side = 0.010"),
    ("reddit/net-too-big", "0v1", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-5.2 [-5.6, -4.7] points, p of the REFUTED side < 1e-4"),
    ("reddit/modern-recipe-helps", "0v1", "full", "bundled"): Expected(
        "REFUTED", f"{_FULL_RUN}: "
                   "-5.9 [-7.1, -4.6] points, p of the REFUTED side < 1e-4"),
})

def get(claim_id: str) -> ClaimSpec:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"claim {claim_id!r} is not in claims/registry.py; add a ClaimSpec for "
                       f"it (known: {', '.join(sorted(CLAIMS))})") from None


def expected(claim_id: str, task: str, scale: str, source_kind: str) -> Expected | None:
    """The recorded verdict for this claim, task, scale and data source kind, if any."""
    return EXPECTED.get((claim_id, task, scale, source_kind))


def probe_family(scale: str) -> list[str]:
    """The fixed Holm family of a scale: every registered probe pair and variant of every
    claim (``full`` adds the full-only probe pairs), as record ids ``<claim>@<probe>``."""
    out = []
    for spec in CLAIMS.values():
        probes = (*spec.probes, *(spec.full_probes if scale == "full" else ()), *spec.variants)
        out += [f"{spec.id}@{p}" for p in probes]
    return out
