"""Pretraining for the fine-tuning claim (evidence/pretrain.py): no leakage, determinism, cache."""
import numpy as np
import torch

from evidence.data import digit_pair, load_source, task_data
from evidence.pretrain import pretrain, pretraining_images


def test_no_target_or_test_image_reaches_pretraining():
    source = load_source()
    for task in (digit_pair(4, 9), digit_pair(0, 1)):
        X, y8, digits = pretraining_images(source, task)
        assert task.a not in digits and task.b not in digits and len(digits) == 8
        assert len(X) == int(np.isin(source.y_train, digits).sum())
        td = task_data(source, task)
        forbidden = {row.tobytes() for row in np.asarray(td.pool_X, dtype=np.float32)}
        forbidden |= {row.tobytes() for row in np.asarray(td.test_X, dtype=np.float32)}
        forbidden |= {row.tobytes() for row in np.asarray(
            source.X_train[np.isin(source.y_train, [task.a, task.b])], dtype=np.float32)}
        assert not any(row.tobytes() in forbidden for row in X)
        assert set(np.unique(y8)) == set(range(8))


def test_pretraining_is_deterministic_and_cached(tmp_path):
    source, task = load_source(), digit_pair(4, 9)
    a = pretrain(source, task, 3, cache_dir=tmp_path, epochs=1)
    b = pretrain(source, task, 3, cache_dir=tmp_path, epochs=1)
    c = pretrain(source, task, 3, cache_dir=None, epochs=1)
    assert not a.cached and b.cached and b.seconds == 0.0 and a.seconds > 0
    for x, y, z in zip(a.params, b.params, c.params):
        assert torch.equal(x, y) and torch.equal(x, z)
    other = pretrain(source, task, 4, cache_dir=tmp_path, epochs=1)
    assert not torch.equal(other.params[0], a.params[0])
    # the net learned the eight digits (one epoch is plenty to beat chance by far)
    X, y8, _ = pretraining_images(source, task)
    from evidence.minibatch import forward
    with torch.no_grad():
        logits = forward(a.stack(), torch.from_numpy(X[:500].reshape(1, 500, 1, 28, 28)))
    assert (logits[0].argmax(-1).numpy() == y8[:500]).mean() > 0.5
    # a corrupt cache entry is retrained, not fatal
    for entry in (tmp_path / "pretrained").glob("*.pt"):
        entry.write_bytes(b"garbage")
    again = pretrain(source, task, 3, cache_dir=tmp_path, epochs=1)
    assert not again.cached and torch.equal(again.params[0], a.params[0])


def test_finetuned_cnn_uses_net_d_mod_k_and_refuses_non_digits():
    import pytest

    from evidence.curves import FitContext
    from evidence.draws import draw_sample
    from models.kaplan import FineTunedCNN

    source, task = load_source(), digit_pair(4, 9)
    td = task_data(source, task)
    draws = [0, 1, 2]
    sets = []
    for d in draws:
        s = draw_sample(td.pool_y, n=10, draw=d, task=task, root_seed=2017)
        sets.append((td.pool_X[s.indices].astype(np.float64), td.pool_y[s.indices]))
    net = FineTunedCNN(K=2, pretrain_epochs=1, epochs=3)
    ctx = FitContext(source, task, 2017, draws, None, "cpu")
    outs = net.fit_many(sets, td.test_X[:20], [1, 2, 3], context=ctx)
    assert [o.info["pretrained_net"] for o in outs] == [0, 1, 0]
    with pytest.raises(ValueError, match="context"):
        net.fit_many(sets, td.test_X[:20], [1, 2, 3])
    X, y = sets[0]
    with pytest.raises(ValueError, match="digit labels"):
        FineTunedCNN(K=1, pretrain_epochs=1, epochs=1).fit(X, np.where(y == 1, 10, 11))
