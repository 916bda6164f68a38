"""Andrew Beam (beamandrew.github.io, 2017-06-04): Leek's net was badly trained, not doomed by
overfitting; a properly trained MLP and a small CNN beat the Leekasso at every n; poor SGD
settings give misleadingly bad results.

Contenders are faithful to his repository (models/beam.py); ``WellTrainedLeekNet`` is this
suite's, with its recipe fixed in its docstring. Statements and rules are pre-registered in
claims/registry.py. The CNN claim runs on the scale's "cnn" grid (evidence/scales.py).
"""
import pytest

from models.beam import BeamCNN, BeamLeekNet, BeamLeekNetNoDecay, BeamMLP, WellTrainedLeekNet
from models.leekasso import Leekasso
from models.leeknet import NaiveDNN, NaiveDNNArgmax

POINT = 0.01


@pytest.mark.claim("beam/tuned-cnn-beats-leekasso")
def test_tuned_cnn_beats_leekasso(claim):
    runs = claim.curve([BeamCNN(), Leekasso()])
    claim.check(claim.paired(runs, better="beam_cnn", baseline="leekasso").beats())


@pytest.mark.claim("beam/tuned-mlp-beats-leekasso")
def test_tuned_mlp_beats_leekasso(claim):
    runs = claim.curve([BeamMLP(), Leekasso()])
    claim.check(claim.paired(runs, better="beam_mlp", baseline="leekasso").beats())


@pytest.mark.claim("beam/training-not-overfitting")
def test_training_not_overfitting(claim):
    # NaiveDNN shares its fit with NaiveDNNArgmax: it is here for the train-against-test panel
    runs = claim.curve([WellTrainedLeekNet(), Leekasso(), NaiveDNNArgmax(), NaiveDNN()])
    claim.show_train_vs_test(["naive_dnn", "naive_dnn_argmax", "well_trained_leek_net"])
    claim.check(claim.all_of(
        claim.paired(runs, better="well_trained_leek_net", baseline="leekasso").no_worse(margin=POINT),
        claim.paired(runs, better="well_trained_leek_net", baseline="naive_dnn_argmax").beats(),
    ))


@pytest.mark.claim("beam/sgd-settings-matter")
def test_sgd_settings_matter(claim):
    runs = claim.curve([BeamLeekNetNoDecay(), BeamLeekNet()])
    claim.check(claim.paired(runs, better="beam_leek_net_no_decay", baseline="beam_leek_net").beats())
