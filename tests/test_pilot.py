"""A new claim's power plan from a pilot (evidence/pilot.py): the comparisons read from the
registry, the plan from a pilot's runs.csv, and one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from claims import registry
from evidence import pilot
from evidence.scales import PILOT_SEED1, SMALL, claim_power


def test_every_registered_comparison_parses_back_to_its_contenders():
    for spec in registry.CLAIMS.values():
        for text in spec.compares:
            c = pilot.parse_comparison(text, spec.tasks[0])
            assert {c["better"], c["baseline"]} <= set(spec.contenders), (spec.id, text)
    c = pilot.parse_comparison("beam_cnn beats leekasso by more than 1.0 points (on 4v9)", "0v1")
    assert (c["rule"], c["margin"], c["task"]) == ("beats", 0.01, "4v9")
    c = pilot.parse_comparison("leekasso(n_pixels=20) beats leekasso", "0v1")
    assert (c["better"], c["baseline"], c["margin"]) == ("leekasso(n_pixels=20)", "leekasso", 0.0)
    with pytest.raises(pilot.PilotError, match="not a statement of one of the rules"):
        pilot.parse_comparison("leekasso is great", "0v1")


def _pilot_runs(gap: float, sd: float = 0.02, draws: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for n in SMALL.sizes:
        for d in range(draws):
            base = 0.9 + rng.normal(0, 0.01)
            rows += [{"task": "0v1", "n": n, "draw": d, "contender": "a", "test_acc": base + gap
                      + rng.normal(0, sd)},
                     {"task": "0v1", "n": n, "draw": d, "contender": "b", "test_acc": base}]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("gap, outcome", [(0.05, "SUPPORTED"), (-0.05, "REFUTED")])
def test_a_beats_claim_is_planned_for_the_verdict_its_pilot_points_to(gap, outcome):
    spec = registry.ClaimSpec("you/a-beats-b", "A beats B.", "you", "rule", "0v1", ("a", "b"),
                              compares=("a beats b",))
    pilots, plan = pilot.plan_from_pilot(spec, _pilot_runs(gap), "a test")
    ((key, entry),) = pilots.items()
    assert key == ("0v1", "a", "b") and entry["draws"] == 10 and entry["source"] == "a test"
    assert np.allclose(entry["mean"], gap, atol=0.02)
    (part,) = plan.all_of
    assert (part.rule, part.effect, part.spread) == ("beats", "pilot", "pilot")
    assert part.outcome == outcome
    PILOT_SEED1.update(pilots)
    try:
        assert claim_power(plan, SMALL).power > 0.99  # a 5-point gap with a 2-point spread
    finally:
        del PILOT_SEED1[key]


def test_no_worse_and_matches_are_planned_at_equality_with_the_pilot_spreads():
    spec = registry.ClaimSpec("you/x", "x", "you", "rule", "0v1", ("a", "b"),
                              compares=("a is no worse than b by more than 1.0 points",
                                        "a matches b within ±2.0 points"))
    _, plan = pilot.plan_from_pilot(spec, _pilot_runs(0.0), "a test")
    assert [(p.rule, p.effect, p.margin) for p in plan.all_of] == [
        ("no_worse", "equality", 0.01), ("matches", "equality", 0.02)]


def _report(folder, seed: int):
    folder.mkdir()
    _pilot_runs(0.05).to_csv(folder / "runs.csv", index=False)
    (folder / "claims.json").write_text(json.dumps({"run": {"seed": seed, "split_seed": 2017}}))
    return folder


def test_the_command_refuses_the_verdicts_own_seed_and_bad_input_in_one_line(tmp_path, capsys):
    cases = [([str(_report(tmp_path / "r2017", 2017)), "leek/leekasso-beats-naive-dnn"],
              "root seed 2017"),
             ([str(tmp_path / "nowhere"), "leek/leekasso-beats-naive-dnn"], "no runs.csv"),
             ([str(_report(tmp_path / "r1", 1)), "you/nothing"], "not in claims/registry.py"),
             ([str(tmp_path / "r1"), "leek/leekasso-beats-naive-dnn"], "no paired draws")]
    for argv, said in cases:
        assert pilot.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and said in err, err
    assert pilot.main([]) == 2 and capsys.readouterr().err.startswith("usage:")
