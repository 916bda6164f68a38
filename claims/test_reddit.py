"""Reddit's critiques of Leek's net (the thread on his post, 2017): it is not modern deep
learning. Each critique changes exactly one thing in Leek's ``h2o.deeplearning`` call, and is
tested against the call unchanged, trained on the same draws (models/leeknet.py documents how
the engine resolves each setting as h2o does).

Both nets are labelled by argmax, so h2o's max-F1 label rule (its own claim,
leek/label-rule-artefact) is not mixed in; the ``h2o-label`` probe labels both by that rule,
and ``4v9`` reruns each claim on the hard pair. Statements and rules are pre-registered in
claims/registry.py; h2o's own means on the same protocol are overlaid on each figure.
"""
import pytest

from models.leeknet import REDDIT_CHANGES, NaiveDNN, NaiveDNNArgmax


def _one_change(claim, variant: str) -> None:
    """Leek's net with Reddit's change ``variant`` against Leek's net: "A beats B", with
    training accuracy (on the n images of the draw) beside the test accuracy."""
    net = NaiveDNN if claim.variant == "h2o-label" else NaiveDNNArgmax
    changed, leek = net(**REDDIT_CHANGES[variant]), net()
    runs = claim.curve([changed, leek])
    claim.show_train_vs_test([changed.name, leek.name])
    claim.check(claim.paired(runs, better=changed.name, baseline=leek.name).beats())


@pytest.mark.claim("reddit/augmentation-helps")
def test_augmentation_helps(claim):
    _one_change(claim, "augment")


@pytest.mark.claim("reddit/dropout-helps")
def test_dropout_helps(claim):
    _one_change(claim, "dropout")


@pytest.mark.claim("reddit/relu-beats-tanh")
def test_relu_beats_tanh(claim):
    _one_change(claim, "relu")


@pytest.mark.claim("reddit/net-too-big")
def test_net_too_big(claim):
    _one_change(claim, "small")


@pytest.mark.claim("reddit/modern-recipe-helps")
def test_modern_recipe_helps(claim):
    _one_change(claim, "modern")
