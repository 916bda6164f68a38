"""rkaplan on Hacker News (item 14485362, on Beam's post): the easiest way to use deep learning on
little data is to fine-tune the last layers of a pretrained network.

``FineTunedCNN`` (models/kaplan.py): Beam's CNN pretrained on the other eight digits (never the
target pair: tests/test_pretrain.py), convolutional layers frozen, head trained on the draw.
Each draw has its own pretrained net (seeded from the root seed, the pair and the draw index),
so the draws stay independent.
Beam's CNN from scratch is the baseline; the Leekasso is on the same figure. Statement and
rule are pre-registered in claims/registry.py. Probes: 0 vs 1; every layer fine-tuned
(``all-layers``); pretrained on Fashion-MNIST (``cross-domain``, with ``--pretrain-dir``).
"""
import pytest

from models.beam import BeamCNN
from models.kaplan import (FineTunedCNN, FineTunedCNNAll, FineTunedCNNCrossDomain,
                           pretraining_cost)
from models.leekasso import Leekasso


def _contender(claim) -> FineTunedCNN:
    if claim.variant == "all-layers":
        return FineTunedCNNAll()
    if claim.variant == "cross-domain":
        return FineTunedCNNCrossDomain(pretrain_dir=claim.pretrain_dir)
    assert claim.variant is None, f"unknown variant {claim.variant!r}"
    return FineTunedCNN()


@pytest.mark.claim("kaplan/finetuning-beats-scratch")
def test_finetuning_beats_scratch(claim):
    tuned = _contender(claim)
    runs = claim.curve([tuned, BeamCNN(), Leekasso()])
    cost = pretraining_cost(tuned, claim.engine, claim.task, claim.scale.draws)
    claim.report_pretraining(cost)
    fresh = [n["seconds"] for n in cost["nets"] if n["trained_in_this_run"]]
    claim.note(f"pretraining ({cost['domain']}): each draw has its own pretrained net "
               f"({len(cost['nets'])} nets, one per draw index, the same at every n), each on "
               f"{cost['images']:,} images of {len(cost['classes'])} classes of "
               f"{cost['source']} ({cost['epochs']} epochs), "
               f"{max(n['seconds'] for n in cost['nets']):.1f} s the longest; "
               + (f"{len(fresh)} trained in this run ({sum(fresh):.1f} s)" if fresh
                  else "all read from the cache in this run")
               + "; not included in the fit seconds")
    claim.check(claim.paired(runs, better=tuned.name, baseline="beam_cnn").beats())
