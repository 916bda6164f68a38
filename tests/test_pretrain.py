"""Pretraining for the fine-tuning claim (evidence/pretrain.py): no leakage, determinism, cache."""
import numpy as np
import pytest
import torch

from evidence.curves import FitContext
from evidence.data import digit_pair, load_source, task_data
from evidence.pretrain import pretrain, pretraining_images
from evidence.tasks import get_task
from models.kaplan import (FineTunedCNN, FineTunedCNNAll, FineTunedCNNCrossDomain, pretrain_seed,
                           pretraining_cost)
from tests.helpers import draw_sets, write_glyph_idx_dir

#: a cell's draws, not starting at 0: each uses the net of its own draw index
DRAWS = [1, 2, 3]


def test_no_target_or_test_image_reaches_pretraining():
    source = load_source()
    for task in (digit_pair(4, 9), digit_pair(0, 1)):
        X, y8, digits = pretraining_images(source, task)
        assert pretraining_images(source, task, seed=5)[0].shape == X.shape  # no sampling
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
    # the cached net costs nothing now and reports the seconds its training took
    assert not a.cached and b.cached and b.seconds == a.seconds > 0
    assert all(torch.equal(x, y) for x, y in zip(a.params, b.params))
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
    # retrained from scratch (no cache to read), bit for bit the same net: deterministic
    assert not again.cached and all(torch.equal(x, y) for x, y in zip(again.params, a.params))


def _target(n=10, draws=DRAWS):
    source, task = load_source(), digit_pair(4, 9)
    td = task_data(source, task)
    sets, seeds = draw_sets(td, n, draws)
    return source, task, td, sets, seeds


def _tiny_digits(per_digit: int = 20):
    """A small in-domain pretraining source (the first ``per_digit`` bundled images of each
    digit), so that the tests below pretrain many nets in little time. Only the pretraining
    reads it: the training draws and the test set still come from the bundled data."""
    from evidence.data import _make_source

    full = load_source()
    keep = np.sort(np.concatenate([np.flatnonzero(full.y_train == d)[:per_digit]
                                   for d in range(10)]))
    return _make_source("tiny-digits", full.X_train[keep], full.y_train[keep])


def _params_equal(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_finetuned_cnn_uses_the_net_of_each_draw_and_refuses_non_digits():
    _, task, td, sets, seeds = _target()
    tiny = _tiny_digits()
    net = FineTunedCNN(pretrain_epochs=1, epochs=3)
    ctx = FitContext(tiny, task, 2017, DRAWS, None, "cpu")
    outs = net.fit_many(sets, td.test_X[:20], seeds, context=ctx)
    assert [o.info["pretrained_net"] for o in outs] == DRAWS
    with pytest.raises(ValueError, match="context"):
        net.fit_many(sets, td.test_X[:20], seeds)
    with pytest.raises(ValueError, match="3 training sets but the context names 2 draws"):
        net.fit_many(sets, td.test_X[:20], seeds, context=FitContext(tiny, task, 2017, [1, 2],
                                                                      None, "cpu"))
    # without draw numbers, replicate r uses the net of draw index r
    outs = net.fit_many(sets, td.test_X[:20], seeds,
                        context=FitContext(tiny, task, 2017, None, None, "cpu"))
    assert [o.info["pretrained_net"] for o in outs] == [0, 1, 2]
    X, y = sets[0]
    with pytest.raises(ValueError, match="digit labels"):
        FineTunedCNN(pretrain_epochs=1, epochs=1).fit(X, np.where(y == 1, 10, 11))


def test_every_draw_has_its_own_pretrained_net():
    """Draws 0..5 of a cell each start from a distinct net, pretrained with the seed of their
    own draw index; each replicate trains from its own draw's net and no other."""
    source, task, td, _, _ = _target()
    tiny = _tiny_digits()
    draws = list(range(6))
    sets, seeds = draw_sets(td, 10, draws)
    seeds_pre = [pretrain_seed(2017, task, d) for d in draws]
    assert len(set(seeds_pre)) == 6
    # the derivation: SeedSequence([root seed, a, b, 2405, draw]), first word modulo 2**63
    assert seeds_pre[4] == int(np.random.SeedSequence([2017, 4, 9, 2405, 4])
                               .generate_state(1, dtype=np.uint64)[0] % 2**63)
    assert pretrain_seed(2018, task, 0) != seeds_pre[0]
    assert pretrain_seed(2017, digit_pair(0, 1), 0) != seeds_pre[0]
    ctx = FitContext(tiny, task, 2017, draws, None, "cpu")
    net = FineTunedCNNAll(pretrain_epochs=1, epochs=1)
    nets = net._nets(ctx)
    assert sorted(nets) == draws
    for d in draws:  # draw d's net is the net pretrained with draw d's seed
        alone = pretrain(tiny, task, seeds_pre[d], cache_dir=None, epochs=1)
        assert _params_equal(nets[d].params, alone.params), d
    for d in draws:
        for e in draws[d + 1:]:
            assert not torch.equal(nets[d].params[0], nets[e].params[0]), (d, e)
    before = {d: [p.clone() for p in nets[d].params] for d in draws}
    (stack, _, which), info = _trained(net, ctx, sets, seeds)
    assert which == draws and info["net"].tolist() == draws
    for r, d in enumerate(which):
        # one Adam step of 1e-3 keeps every weight within 0.01 of its start; the other draws'
        # nets are independent Glorot draws, far away
        assert torch.allclose(stack.params[0][r], before[d][0][0], atol=0.01), r
        for e in draws:
            if e != d:
                assert not torch.allclose(stack.params[0][r], before[e][0][0], atol=0.01), (r, e)


def test_the_same_draw_index_gets_the_same_net_in_another_cell_and_at_another_n():
    """The net depends on the draw index, not on n, the cell's other draws or their order."""
    source, task, td, _, _ = _target()
    tiny = _tiny_digits()
    net = FineTunedCNNAll(pretrain_epochs=1, epochs=1)
    at10, seeds10 = draw_sets(td, 10, [1, 3])
    at20, seeds20 = draw_sets(td, 20, [3, 0, 1])
    (s10, nets10, which10), _ = _trained(net, FitContext(tiny, task, 2017, [1, 3], None, "cpu"),
                                         at10, seeds10)
    (s20, nets20, which20), _ = _trained(net, FitContext(tiny, task, 2017, [3, 0, 1], None,
                                                         "cpu"), at20, seeds20)
    assert which10 == [1, 3] and which20 == [3, 0, 1]
    for d in (1, 3):
        assert _params_equal(nets10[d].params, nets20[d].params), d
        alone = pretrain(tiny, task, pretrain_seed(2017, task, d), cache_dir=None, epochs=1)
        assert _params_equal(nets20[d].params, alone.params), d
    assert not torch.equal(nets20[0].params[0], nets20[1].params[0])
    # replicate of draw 3 starts from the same net at n = 10 (position 1) and n = 20 (position 0)
    start = nets10[3].params[0][0]
    assert torch.allclose(s10.params[0][1], start, atol=0.01)
    assert torch.allclose(s20.params[0][0], start, atol=0.01)


def test_pretraining_cost_reports_one_net_per_draw_index(tmp_path):
    from types import SimpleNamespace

    tiny, task = _tiny_digits(), digit_pair(4, 9)
    engine = SimpleNamespace(source=tiny, root_seed=2017, device="cpu",
                             cache=SimpleNamespace(root=tmp_path))
    tuned = FineTunedCNN(pretrain_epochs=1)
    cost = pretraining_cost(tuned, engine, task, 4)
    assert [n["draw"] for n in cost["nets"]] == [0, 1, 2, 3]
    assert [n["seed"] for n in cost["nets"]] == [pretrain_seed(2017, task, d) for d in range(4)]
    assert all(n["trained_in_this_run"] and n["seconds"] > 0 for n in cost["nets"])
    assert cost["images"] == 160 and cost["classes"] == [0, 1, 2, 3, 5, 6, 7, 8]
    assert cost["domain"] == "in-domain" and cost["epochs"] == 1
    assert len(list((tmp_path / "pretrained").glob("*.pt"))) == 4
    # the head-only and every-layer contenders share the nets (and the cache entries)
    again = pretraining_cost(FineTunedCNNAll(pretrain_epochs=1), engine, task, 4)
    assert again["nets"] == cost["nets"]
    assert len(list((tmp_path / "pretrained").glob("*.pt"))) == 4


def _other_source(per_class: int = 450, classes: int = 10):
    """A stand-in for another domain: random 28x28 images with a class-specific bright row."""
    from evidence.data import _make_source

    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(classes), per_class).astype(np.int64)
    X = rng.integers(0, 60, size=(len(y), 784)).astype(np.float32)
    for c in range(classes):
        X[y == c, 28 * (2 + 2 * c):28 * (3 + 2 * c)] = 250.0
    return _make_source("synthetic-other-domain", X, y, X[:20], y[:20])


def test_cross_domain_pretraining_uses_a_stratified_sample_of_the_other_source_only():
    target, other, task = load_source(), _other_source(), digit_pair(4, 9)
    X, y, classes = pretraining_images(other, task, cross_domain=True, seed=1)
    assert classes == list(range(10))  # every class of the other domain, 4 and 9 included
    assert np.bincount(y).tolist() == [400] * 10
    own = {row.tobytes() for row in np.asarray(other.X_train, dtype=np.float32)}
    assert all(row.tobytes() in own for row in X)
    digits = {row.tobytes() for row in np.asarray(target.X_train, dtype=np.float32)}
    assert not any(row.tobytes() in digits for row in X)
    again, _, _ = pretraining_images(other, task, cross_domain=True, seed=1)
    other_seed, _, _ = pretraining_images(other, task, cross_domain=True, seed=2)
    assert np.array_equal(X, again) and not np.array_equal(X, other_seed)
    # a class with fewer images than the budget gives all of them
    X_few, y_few, _ = pretraining_images(_other_source(per_class=30), task, cross_domain=True)
    assert np.bincount(y_few).tolist() == [30] * 10 and len(X_few) == 300


def test_cached_net_reports_the_seconds_its_training_took(tmp_path):
    source, task = _other_source(per_class=20), digit_pair(4, 9)
    a = pretrain(source, task, 5, cache_dir=tmp_path, epochs=1, cross_domain=True)
    b = pretrain(source, task, 5, cache_dir=tmp_path, epochs=1, cross_domain=True)
    assert not a.cached and b.cached and b.seconds == a.seconds > 0
    assert a.images == b.images == 200 and a.classes == list(range(10))
    # the same source in-domain is another key (and other images: the pair's classes are out)
    in_domain = pretrain(source, task, 5, cache_dir=tmp_path, epochs=1)
    assert not in_domain.cached and in_domain.images == 160


def _trained(contender, ctx, sets, seeds):
    """``contender`` trained on ``sets`` through its batched face: (stack, nets, which), info."""
    contender._context = ctx
    return contender._train([X for X, _ in sets], [y for _, y in sets], seeds, "cpu")


def test_finetuned_cnn_all_trains_every_layer_from_the_pretrained_net():
    _, task, td, sets, seeds = _target()
    ctx = FitContext(_tiny_digits(), task, 2017, DRAWS, None, "cpu")
    net = FineTunedCNNAll(pretrain_epochs=1, epochs=2)
    before = {d: [p.clone() for p in s.params] for d, s in net._nets(ctx).items()}
    (stack, nets, which), info = _trained(net, ctx, sets, seeds)
    assert info["net"].tolist() == which == DRAWS
    for r, k in enumerate(which):
        for i in range(10):  # convolutions and dense-128: started as pretrained, then trained
            assert not torch.equal(stack.params[i][r], before[k][i][0]), (r, i)
            # two Adam steps of 1e-3 move each weight by about 2e-3 at most; a fresh Glorot
            # draw would be up to 0.14 away
            assert torch.allclose(stack.params[i][r], before[k][i][0], atol=0.01), (r, i)
        assert stack.params[10].shape[1:] == (128, 2)  # a new two-way output layer
    # the pretrained nets themselves are untouched (every draw of the cell shares them)
    assert all(torch.equal(p, q) for d, s in nets.items() for p, q in zip(s.params, before[d]))
    # the head-only contender trains dense-128 and the output, from the features once per image
    head = FineTunedCNN(pretrain_epochs=1, epochs=2)
    (h, _, which), _ = _trained(head, ctx, sets, seeds)
    assert len(h.params) == 4 and h.params[0].shape[1:] == (1024, 128)
    for r, k in enumerate(which):
        assert not torch.equal(h.params[0][r], before[k][8][0])
        assert torch.allclose(h.params[0][r], before[k][8][0], atol=0.01)
    outs = net.fit_many(sets, td.test_X[:30], seeds, context=ctx)
    assert [o.info["pretrained_net"] for o in outs] == DRAWS
    assert all(o.test_scores.shape == (30,) for o in outs)


def test_pretraining_is_not_in_the_fit_seconds(tmp_path, monkeypatch):
    """The nets are pretrained (or loaded) before the timed fit starts: their cost is reported
    apart, once per net."""
    import models.kaplan as kaplan

    events = []
    real_pretrain, real_train = kaplan.pretrain, FineTunedCNN._train
    monkeypatch.setattr(kaplan, "pretrain",
                        lambda *a, **k: events.append("pretrain") or real_pretrain(*a, **k))
    monkeypatch.setattr(FineTunedCNN, "_train",
                        lambda self, *a: events.append("train") or real_train(self, *a))
    _, task, td, sets, seeds = _target()
    ctx = FitContext(_tiny_digits(), task, 2017, DRAWS, tmp_path, "cpu")  # a fresh cache
    FineTunedCNN(pretrain_epochs=1, epochs=1).fit_many(sets, td.test_X[:10], seeds,
                                                        context=ctx)
    assert events == ["pretrain"] * len(DRAWS) + ["train"]  # one net per draw, then the fit


def test_finetuned_cnns_fit_with_digit_labels():
    source, task, td, sets, _ = _target(n=40, draws=[0])
    X, y01 = sets[0]
    y = np.where(y01 == 1, 9, 4)
    for est in (FineTunedCNN(pretrain_epochs=1, epochs=20),
                FineTunedCNNAll(pretrain_epochs=1, epochs=5)):
        est.fit(X, y)
        pred = est.predict(td.test_X[:200])
        assert set(np.unique(pred)) <= {4, 9}
        truth = np.where(td.test_y[:200] == 1, 9, 4)
        assert (pred == truth).mean() > 0.7, type(est).__name__


def test_cross_domain_contender_needs_other_data(tmp_path):
    with pytest.raises(ValueError, match="pretrain_dir"):
        FineTunedCNNCrossDomain().pretraining_source(load_source())
    d = write_glyph_idx_dir(tmp_path / "idx")
    same = load_source(d)
    with pytest.raises(ValueError, match="target data itself"):
        FineTunedCNNCrossDomain(pretrain_dir=str(d)).pretraining_source(same)
    spec = FineTunedCNNCrossDomain(pretrain_dir=str(d)).fit_spec()
    assert "pretrain_dir" not in spec["params"] and spec["pretrain_source"] == same.fingerprint


def test_a_pretrained_net_does_not_depend_on_the_threads_of_the_process():
    """A serial run (two threads here) and pytest -n / Dask workers (one each) must pretrain
    the same net: two threads gave weights 0.013 apart after one epoch before pretraining
    was pinned to one thread."""
    source, task = load_source(), get_task("4v9")
    threads = torch.get_num_threads()
    nets = []
    try:
        for t in (2, 1):
            torch.set_num_threads(t)
            nets.append(pretrain(source, task, 7, cache_dir=None, epochs=1).params)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(*nets))
    assert torch.get_num_threads() == threads  # the caller's setting is restored
