"""Jeff Leek (simplystatistics.org, 2017-05-31): with 10–80 training images of MNIST 0 vs 1, a
top-10-pixel linear model (the "Leekasso") beats a deep net, which catches up as n grows.

Contenders are faithful reproductions (models/leekasso.py, models/leeknet.py); the claims'
statements and rules are pre-registered in claims/registry.py.
"""
import pytest

from models.leekasso import Leekasso
from models.leeknet import NaiveDNN, NaiveDNNArgmax


@pytest.mark.claim("leek/leekasso-beats-naive-dnn")
def test_leekasso_beats_naive_dnn(claim):
    runs = claim.curve([Leekasso(), NaiveDNN()])
    claim.check(claim.paired(runs, better="leekasso", baseline="naive_dnn").beats())


@pytest.mark.claim("leek/gap-narrows-with-n")
def test_gap_narrows_with_n(claim):
    runs = claim.curve([Leekasso(), NaiveDNN()])
    claim.check(claim.paired(runs, better="leekasso", baseline="naive_dnn").trend(decreasing=True))


@pytest.mark.claim("leek/label-rule-artefact")
def test_label_rule_artefact(claim):
    runs = claim.curve([NaiveDNNArgmax(), NaiveDNN()])
    claim.check(claim.paired(runs, better="naive_dnn_argmax", baseline="naive_dnn").beats())
