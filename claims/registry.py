"""Every claim of the debate, pre-registered: statement, source, task, contenders, rule.

A claim's test in ``claims/test_*.py`` carries ``@pytest.mark.claim("<id>")`` and takes its
statement, source, rule and task from here (CLAIMS.md is the specification; rules are frozen).

``EXPECTED`` records evidence that went against a claim: keyed by (claim id, task, scale, data
source), it turns that test into ``xfail(strict=True)`` with the measured evidence as reason, so
a change in the evidence turns CI red. It is filled only from real runs, never to make a test
pass; a user's custom ``--sizes``/``--draws`` (scale ``custom``) or own data get no entry.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClaimSpec", "CLAIMS", "EXPECTED", "get", "expected_failure"]


@dataclass(frozen=True)
class ClaimSpec:
    id: str
    statement: str
    source: str
    rule: str
    task: str
    contenders: tuple[str, ...]
    #: the scale's grid the claim runs on: "default", or "cnn" for compute-bound contenders
    grid: str = "default"
    #: other digit pairs the claim is rerun on as a generalisation probe ("<id>@<pair>"): a
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
        """The digit pairs the claim uses: ``task`` is one ("0v1") or several ("0v1+4v9")."""
        return tuple(self.task.split("+"))


_BEAM = ("Beam 2017, beamandrew.github.io, \"You can probably use deep learning even if your "
         "data isn't that big\"; code: github beamandrew/deep_learning_works")
_BEATS = ("A beats B: SUPPORTED if the sign-flip p < 0.05 and the one-sided 95% lower bound > 0; "
          "REFUTED if the upper bound < 0.5 points; else INCONCLUSIVE.")
_ROBINSON = ("Robinson 2017 (Twitter) and 2018, \"Exploring handwritten digit data: a tidy "
             "analysis of the MNIST dataset\"")
#: the hard pair every Leek and Beam claim is also run on (Robinson: 4 vs 9 is hard)
PROBE_PAIRS = ("4v9",)
#: and, at the full scale only, the other hard pair Robinson named
FULL_PROBE_PAIRS = ("7v9",)
_LEEK = "Leek 2017, simplystatistics.org, \"Don't use deep learning your data isn't that big\""

CLAIMS: dict[str, ClaimSpec] = {c.id: c for c in [
    ClaimSpec(
        "leek/leekasso-beats-naive-dnn",
        "On average over n = 10…80, the Leekasso beats Leek's naive deep net on MNIST 0 vs 1.",
        _LEEK,
        "A beats B: SUPPORTED if the sign-flip p < 0.05 and the one-sided 95% lower bound > 0; "
        "REFUTED if the upper bound < 0.5 points; else INCONCLUSIVE.",
        "0v1", ("leekasso", "naive_dnn"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "leek/gap-narrows-with-n",
        "The deep net catches up as n grows: the paired gap (Leekasso − naive DNN) shrinks "
        "with log n.",
        _LEEK,
        "Trend: OLS slope of the per-draw difference on log n with HC3 errors; SUPPORTED if "
        "the one-sided p < 0.05 and the upper bound < 0; REFUTED if the lower bound ≥ 0; else "
        "INCONCLUSIVE.",
        "0v1", ("leekasso", "naive_dnn"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "leek/label-rule-artefact",
        "Part of Leek's gap is h2o's max-F1 label rule, not the net: the same fitted naive nets "
        "labelled by argmax beat them labelled by h2o's rule.",
        "this suite's finding (CLAIMS.md, Leek's experiment: h2o's two-class label rule)",
        "A beats B (argmax beats h2o's rule): SUPPORTED if p < 0.05 and lower bound > 0; "
        "REFUTED if the upper bound < 0.5 points; else INCONCLUSIVE.",
        "0v1", ("naive_dnn_argmax", "naive_dnn"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/tuned-cnn-beats-leekasso",
        "A properly trained small CNN (Beam's, ~200k parameters) beats the Leekasso at n ≤ 80 "
        "on MNIST 0 vs 1.",
        _BEAM,
        _BEATS,
        "0v1", ("beam_cnn", "leekasso"), grid="cnn", probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/tuned-mlp-beats-leekasso",
        "A properly trained MLP (Beam's, ~120k parameters) beats the Leekasso at n ≤ 80 on "
        "MNIST 0 vs 1.",
        _BEAM,
        _BEATS,
        "0v1", ("beam_mlp", "leekasso"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/training-not-overfitting",
        "Leek's net failed from poor training, not overfitting: the same 5×160 tanh net, "
        "trained well, is no worse than the Leekasso and beats the naive training.",
        _BEAM,
        "Both parts: the well-trained net is no worse than the Leekasso by more than 1 point "
        "(SUPPORTED if the one-sided 95% lower bound > −1 point; REFUTED if the upper bound "
        "< −1 point), and it beats the naive DNN labelled by argmax (A beats B). SUPPORTED if "
        "both parts are; REFUTED if either part is; else INCONCLUSIVE. Training accuracies are "
        "reported beside it.",
        "0v1", ("well_trained_leek_net", "leekasso", "naive_dnn_argmax"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "beam/sgd-settings-matter",
        "Poor SGD settings give misleadingly bad results: Beam's recreation of Leek's net does "
        "better without its collapsing learning-rate decay (same SGD rate, inputs and epochs).",
        _BEAM,
        _BEATS + " (A: no decay; B: Beam's decay 0.99)",
        "0v1", ("beam_leek_net_no_decay", "beam_leek_net"), probes=PROBE_PAIRS, full_probes=FULL_PROBE_PAIRS),
    ClaimSpec(
        "robinson/centre-edge-rule-suffices",
        "On MNIST 0 vs 1, a two-feature rule (centre ink against left/right edge ink) is as good "
        "as a model: no worse than the Leekasso by more than 1 point.",
        _ROBINSON,
        "A is no worse than B by more than 1 point: SUPPORTED if the one-sided 95% lower bound "
        "> −1 point; REFUTED if the upper bound < −1 point; else INCONCLUSIVE.",
        "0v1", ("centre_edge_rule", "leekasso")),
    ClaimSpec(
        "robinson/zero-one-is-too-easy",
        "0 vs 1 is too easy to tell methods apart; a hard pair (4 vs 9) is not.",
        _ROBINSON,
        "At the scale's largest n, with the fixed set {Leekasso, centre/edge rule, Beam's MLP, "
        "Beam's CNN}: SUPPORTED if on 0 vs 1 each of the other three matches the CNN within ±1 "
        "point (TOST) and on 4 vs 9 the CNN beats at least one of them by more than 1 point; "
        "REFUTED if on 0 vs 1 the CNN beats some member by more than 1 point, or on 4 vs 9 every "
        "member matches the CNN within ±1 point; else INCONCLUSIVE.",
        "0v1+4v9", ("leekasso", "centre_edge_rule", "beam_mlp", "beam_cnn"), grid="cnn"),
    ClaimSpec(
        "kaplan/finetuning-beats-scratch",
        "Fine-tuning the last layers of a pretrained net beats training it from scratch on "
        "small data (here: in-domain, disjoint classes — Beam's CNN pretrained on the other "
        "eight digits, convolutional layers frozen, against the same CNN from scratch).",
        "rkaplan, Hacker News item 14485362 (on Beam's post)",
        _BEATS + " On 4 vs 9; draw d uses pretrained net d mod K (K = 2 small, 5 full).",
        "4v9", ("finetuned_cnn", "beam_cnn"), grid="cnn", probes=("0v1",),
        variants=("all-layers", "cross-domain"),
        variant_options=(("cross-domain", "--pretrain-dir"),)),
]}

#: (claim id, task, scale, data source kind) -> measured evidence against the claim.
EXPECTED: dict[tuple[str, str, str, str], str] = {
    ("beam/training-not-overfitting", "0v1", "small", "bundled"): (
        "INCONCLUSIVE (seed 2017, bundled data, CPU, 2026-11-29): the well-trained 5x160 tanh "
        "net beats the naive net by argmax (+1.6 points [+0.9, +2.5], p = 0.0008) but is not "
        "shown to be within 1 point of the Leekasso: -0.7 points [-1.6, +0.1]"),
    ("robinson/centre-edge-rule-suffices", "0v1", "small", "bundled"): (
        "REFUTED (seed 2017, bundled data, CPU, 2026-11-29): the two-feature rule is 7.8 points "
        "below the Leekasso [-9.2, -6.7]; at n = 80 it scores 0.923 against 0.990"),
    ("robinson/zero-one-is-too-easy", "0v1+4v9", "small", "bundled"): (
        "REFUTED (seed 2017, bundled data, CPU, 2026-11-29), by the centre/edge rule: at n = 80 "
        "on 0 vs 1 the CNN beats it by 7.2 points [6.9, 7.9] (the Leekasso and the MLP do match "
        "the CNN within 1 point there); on 4 vs 9 the CNN beats all three by more than 1 point "
        "(+12.8, +31.2, +5.5)"),
    ("kaplan/finetuning-beats-scratch", "4v9", "small", "bundled"): (
        "INCONCLUSIVE (seed 2017, bundled data, CPU, 2026-11-29): fine-tuning the pretrained "
        "CNN's head against the CNN from scratch on 4 vs 9: -0.0 points [-2.2, +2.4], p = 0.50"),
}


def get(claim_id: str) -> ClaimSpec:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"claim {claim_id!r} is not in claims/registry.py; add a ClaimSpec for "
                       f"it (known: {', '.join(sorted(CLAIMS))})") from None


def expected_failure(claim_id: str, task: str, scale: str, source_kind: str) -> str | None:
    return EXPECTED.get((claim_id, task, scale, source_kind))
