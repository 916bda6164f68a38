"""David Robinson (Twitter, 2017; blog, 2018-01-22): 0 vs 1 is the wrong battlefield — centre ink
against edge ink separates the two, so the task cannot tell methods apart; 4 vs 9 and 7 vs 9
are hard pairs.

``CentreEdgeRule`` (models/robinson.py) is his point as a two-feature model with regions fixed
in advance. Statements and rules are pre-registered in claims/registry.py.
"""
from dataclasses import replace

import pytest

from evidence.data import digit_pair
from evidence.stats import every, some, supported
from models.beam import BeamCNN, BeamMLP
from models.leekasso import Leekasso
from models.robinson import CentreEdgeRule

POINT = 0.01
OTHERS = ("leekasso", "centre_edge_rule", "beam_mlp")


def _five_numbers(runs, n) -> str:
    rule = runs[(runs.contender == "centre_edge_rule") & (runs.n == n)]
    cols = ["info_w_centre", "info_w_edge", "info_bias", "info_mean_centre", "info_mean_edge"]
    means = rule[cols].mean()
    return (f"centre/edge rule on {rule.task.iloc[0]} at n = {n}, mean over {len(rule)} draws: "
            f"label 1 when {means.iloc[0]:+.4f}·centre {means.iloc[1]:+.4f}·edge "
            f"{means.iloc[2]:+.3f} > 0 (raw ink, 0–255 scale); training means: centre "
            f"{means.iloc[3]:.1f}, edge {means.iloc[4]:.1f}")


@pytest.mark.claim("robinson/centre-edge-rule-suffices")
def test_centre_edge_rule_suffices(claim):
    runs = claim.curve([CentreEdgeRule(), Leekasso()])
    claim.note(_five_numbers(runs, max(runs.n)))
    claim.check(claim.paired(runs, better="centre_edge_rule", baseline="leekasso")
                .no_worse(margin=POINT))


@pytest.mark.claim("robinson/zero-one-is-too-easy")
def test_zero_one_is_too_easy(claim):
    n = max(claim.scale.sizes)
    contenders = [Leekasso(), CentreEdgeRule(), BeamMLP(), BeamCNN()]
    easy = claim.curve(contenders, task=digit_pair(0, 1), sizes=[n])
    hard = claim.curve(contenders, task=digit_pair(4, 9), sizes=[n])
    for runs in (easy, hard):
        claim.note(_five_numbers(runs, n))
    matches_easy = [claim.paired(easy, better=m, baseline="beam_cnn").matches(margin=POINT) for m in OTHERS]
    cnn_beats_easy = [claim.paired(easy, better="beam_cnn", baseline=m).beats(margin=POINT) for m in OTHERS]
    matches_hard = [claim.paired(hard, better=m, baseline="beam_cnn").matches(margin=POINT) for m in OTHERS]
    cnn_beats_hard = [claim.paired(hard, better="beam_cnn", baseline=m).beats(margin=POINT) for m in OTHERS]
    easy_parts = [_on(v, "0v1") for v in matches_easy + cnn_beats_easy]
    hard_parts = [_on(v, "4v9") for v in matches_hard + cnn_beats_hard]
    claim.check(claim.decide(
        easy_parts + hard_parts,
        # each member matches the CNN on 0 vs 1, and the CNN beats at least one on 4 vs 9
        supported_when=every([every(supported(v) for v in easy_parts[:3]),
                              some(supported(v) for v in hard_parts[3:])]),
        # the CNN beats some member on 0 vs 1, or every member matches it on 4 vs 9
        refuted_when=some([some(supported(v) for v in easy_parts[3:]),
                           every(supported(v) for v in hard_parts[:3])])))


def _on(verdict, task):
    """The part's statement, with the task it was measured on."""
    return replace(verdict, statement=f"{verdict.statement} (on {task})")
