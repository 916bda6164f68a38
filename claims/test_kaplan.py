"""rkaplan on Hacker News (item 14485362, on Beam's post): the easiest way to use deep learning on
little data is to fine-tune the last layers of a pretrained network.

``FineTunedCNN`` (models/kaplan.py): Beam's CNN pretrained on the other eight digits (never the
target pair: tests/test_pretrain.py), convolutional layers frozen, head trained on the draw.
Beam's CNN from scratch is the baseline; the Leekasso is on the same figure. Statement and
rule are pre-registered in claims/registry.py; 0 vs 1 is a probe.
"""
import pytest

from models.beam import BeamCNN
from models.kaplan import PRETRAIN_SECONDS, FineTunedCNN, pretrain_seeds
from models.leekasso import Leekasso


@pytest.mark.claim("kaplan/finetuning-beats-scratch")
def test_finetuning_beats_scratch(claim):
    K = 5 if claim.scale.name == "full" else 2
    runs = claim.curve([FineTunedCNN(K=K), BeamCNN(), Leekasso()])
    seeds = pretrain_seeds(claim.engine.root_seed, claim.task, K)
    fresh = [PRETRAIN_SECONDS[k] for k in PRETRAIN_SECONDS
             if k[1] == claim.task.name and k[2] in seeds]
    claim.note(f"pretraining: {K} nets on the eight digits other than {claim.task.a} and "
               f"{claim.task.b}; " + (f"{len(fresh)} trained in this run, "
                                      f"{sum(fresh):.1f} s in all ({max(fresh):.1f} s the "
                                      "longest)" if fresh else "all read from the cache")
               + "; not included in the fit seconds")
    claim.check(claim.paired(runs, better="finetuned_cnn", baseline="beam_cnn").beats())
