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


_LEEK = "Leek 2017, simplystatistics.org, \"Don't use deep learning your data isn't that big\""

CLAIMS: dict[str, ClaimSpec] = {c.id: c for c in [
    ClaimSpec(
        "leek/leekasso-beats-naive-dnn",
        "On average over n = 10…80, the Leekasso beats Leek's naive deep net on MNIST 0 vs 1.",
        _LEEK,
        "A beats B: SUPPORTED if the sign-flip p < 0.05 and the one-sided 95% lower bound > 0; "
        "REFUTED if the upper bound < 0.5 points; else INCONCLUSIVE.",
        "0v1", ("leekasso", "naive_dnn")),
    ClaimSpec(
        "leek/gap-narrows-with-n",
        "The deep net catches up as n grows: the paired gap (Leekasso − naive DNN) shrinks "
        "with log n.",
        _LEEK,
        "Trend: OLS slope of the per-draw difference on log n with HC3 errors; SUPPORTED if "
        "the one-sided p < 0.05 and the upper bound < 0; REFUTED if the lower bound ≥ 0; else "
        "INCONCLUSIVE.",
        "0v1", ("leekasso", "naive_dnn")),
    ClaimSpec(
        "leek/label-rule-artefact",
        "Part of Leek's gap is h2o's max-F1 label rule, not the net: the same fitted naive nets "
        "labelled by argmax beat them labelled by h2o's rule.",
        "this suite's finding (CLAIMS.md, Leek's experiment: h2o's two-class label rule)",
        "A beats B (argmax beats h2o's rule): SUPPORTED if p < 0.05 and lower bound > 0; "
        "REFUTED if the upper bound < 0.5 points; else INCONCLUSIVE.",
        "0v1", ("naive_dnn_argmax", "naive_dnn")),
]}

#: (claim id, task, scale, data source kind) -> measured evidence against the claim.
EXPECTED: dict[tuple[str, str, str, str], str] = {}


def get(claim_id: str) -> ClaimSpec:
    try:
        return CLAIMS[claim_id]
    except KeyError:
        raise KeyError(f"claim {claim_id!r} is not in claims/registry.py; add a ClaimSpec for "
                       f"it (known: {', '.join(sorted(CLAIMS))})") from None


def expected_failure(claim_id: str, task: str, scale: str, source_kind: str) -> str | None:
    return EXPECTED.get((claim_id, task, scale, source_kind))
