"""The two scales every claim runs at, in one place, and why their draw counts suffice.

``small`` (CI and ``make report``) and ``full`` (the nightly grid, meant for a GPU). A user's
``--sizes``/``--draws`` override a scale; the run is then labelled ``custom`` so that no
pre-registered expectation (xfail) is applied to evidence of another design.

Why these draw counts (power, from the anchor spreads in CLAIMS.md). For a paired comparison the
estimand is the equal-weight mean over S sizes of the per-size mean difference, so its standard
error is SE = sqrt(Σ_s sd_s² / k) / S with k draws per size and sd_s the spread of the per-draw
difference at size s. Taking sd_s = sqrt(sd_A² + sd_B²) from the anchor table (conservative:
paired differences of nets trained on the same draw are positively correlated, which only
shrinks sd_s), the one-sided test at α = 0.05 has power Φ(effect/SE − z₀.₉₅).
:func:`power` computes it; ``tests/test_scales.py`` checks both scales against the effects the
claims expect (Leek's published gap, the label-rule gap of the anchor) and the stated targets:
power ≥ 0.8 at the small scale and ≥ 0.95 at the full scale.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from evidence.published import ANCHORS

__all__ = ["Scale", "SMALL", "FULL", "SCALES", "power", "anchor_sd_of_difference"]


@dataclass(frozen=True)
class Scale:
    name: str
    sizes: tuple[int, ...]
    draws: int
    note: str = ""
    #: named grids (sizes, draws) for claims whose contenders are compute-bound (``"cnn"``); a
    #: claim names its grid in ``claims/registry.py``; any other grid is (sizes, draws) above
    grids: tuple[tuple[str, tuple[int, ...], int], ...] = ()

    def override(self, *, sizes=None, draws=None) -> "Scale":
        """The scale with a user's ``--sizes``/``--draws`` (applied to every grid); renamed
        ``custom`` if anything changed."""
        grids = tuple((g, tuple(sizes) if sizes else s, draws or d) for g, s, d in self.grids)
        new = replace(self, sizes=tuple(sizes) if sizes else self.sizes, draws=draws or self.draws,
                      grids=grids)
        if (new.sizes, new.draws, new.grids) != (self.sizes, self.draws, self.grids):
            new = replace(new, name="custom", note=f"overrides {self.name}")
        return new

    def grid(self, name: str = "default") -> "Scale":
        """This scale's sizes and draws for a claim on grid ``name`` (same scale name)."""
        for g, sizes, draws in self.grids:
            if g == name:
                return replace(self, sizes=sizes, draws=draws, grids=())
        return replace(self, grids=())


#: The anchor sizes, so the fidelity tests compare like with like; 10 draws as in Leek's anchor.
#: The CNN (about 1 TFLOP per fit at n = 80, compute-bound on a CPU) gets its own grid: three
#: sizes spanning the range, 6 draws. With the anchor spreads, the CNN-vs-Leekasso effect the
#: anchors show (3.5 points averaged over these sizes) is detected with power 0.87
#: (``tests/test_scales.py``); n = 20 rather than 40 because the Leekasso's spread, which
#: dominates the error, is largest at small n where the expected gap is too.
SMALL = Scale("small", (10, 20, 40, 60, 80), 10,
              "CI and make report: the anchor sizes, 10 draws (power ≥ 0.8, see module doc)",
              grids=(("cnn", (10, 20, 80), 6),))
#: Leek's grid n = 10, 15, ..., 80 with 20 draws per size, for every contender.
FULL = Scale("full", tuple(range(10, 85, 5)), 20, "nightly grid, meant for a GPU",
             grids=(("cnn", tuple(range(10, 85, 5)), 20),))
SCALES = {s.name: s for s in (SMALL, FULL)}


def anchor_sd_of_difference(a: str, b: str, sizes) -> np.ndarray:
    """sqrt(sd_a² + sd_b²) per size, interpolated on log n from the anchor table."""
    def sd(name):
        entry = ANCHORS[name]
        return np.interp(np.log(sizes), np.log(entry["n"]), entry["sd"])
    return np.sqrt(sd(a) ** 2 + sd(b) ** 2)


def power(effect: float, sd_per_size, draws: int, alpha: float = 0.05) -> float:
    """Power of the one-sided test of an equal-weight mean difference ``effect`` (normal
    approximation), with the given per-size sd of the difference and draws per size."""
    sd = np.asarray(sd_per_size, dtype=float)
    se = np.sqrt(np.sum(sd ** 2 / draws)) / len(sd)
    return float(stats.norm.cdf(effect / se - stats.norm.ppf(1 - alpha)))
