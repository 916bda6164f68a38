"""Robinson's centre-versus-edge rule (models/robinson.py): the regions fixed in issue 4, and
its five numbers reproduce its labels."""
import numpy as np
import pytest

from evidence.data import digit_pair, load_source, task_data
from models.robinson import CENTRE_MASK, EDGE_MASK, CentreEdgeRule, ink_features


def test_regions_are_the_preregistered_ones():
    rows, cols = np.nonzero(CENTRE_MASK)
    assert CENTRE_MASK.sum() == 20 * 4 and set(rows) == set(range(4, 24)) and set(cols) == {12, 13, 14, 15}
    rows, cols = np.nonzero(EDGE_MASK)
    assert EDGE_MASK.sum() == 20 * 8 and set(rows) == set(range(4, 24))
    assert set(cols) == {4, 5, 6, 7, 20, 21, 22, 23}
    assert not (CENTRE_MASK & EDGE_MASK).any()


def test_ink_features_are_region_means():
    img = np.zeros((28, 28))
    img[4:24, 12:16] = 200.0      # the whole centre region
    img[0, 0] = 255.0             # outside both regions
    img[10, 4] = 160.0            # one edge pixel
    f = ink_features(img.reshape(1, -1))
    assert f[0, 0] == pytest.approx(200.0)
    assert f[0, 1] == pytest.approx(160.0 / 160)
    with pytest.raises(ValueError, match="784"):
        ink_features(np.zeros((2, 100)))


def test_five_numbers_reproduce_the_labels():
    td = task_data(load_source(), digit_pair(0, 1))
    idx = np.random.default_rng(0).choice(len(td.pool_y), 80, replace=False)
    rule = CentreEdgeRule().fit(td.pool_X[idx], td.pool_y[idx])
    five = rule.five_numbers()
    assert set(five) == {"w_centre", "w_edge", "bias", "mean_centre", "mean_edge"}
    F = ink_features(td.test_X)
    by_hand = (five["w_centre"] * F[:, 0] + five["w_edge"] * F[:, 1] + five["bias"] > 0).astype(int)
    assert np.mean(by_hand == (rule.predict(td.test_X) == rule.classes_[1])) > 0.999
    # a 1 has more centre ink and less edge ink than a 0
    assert five["w_centre"] > 0 > five["w_edge"]
    assert rule.score(td.test_X, td.test_y) > 0.9
