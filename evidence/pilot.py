"""A new claim's power plan from a pilot run on another root seed.

Every claim needs a power plan (``POWER_PLANS`` in ``evidence/scales.py``, checked by
``tests/test_scales.py``): for each comparison its rule makes, the expected effect and the
spread of the paired difference, each with its source. A new claim has no published or anchor
numbers, so its source is a pilot: the claim run once on another root seed (``--seed 1``; the
verdict's seed is the default 2017, so the pilot does not see the draws it plans for).

``python -m evidence.pilot REPORT_DIR CLAIM_ID`` reads the pilot's ``runs.csv`` and
``claims.json`` and prints, ready to append to ``evidence/scales.py``, one ``PILOT_SEED1`` entry
per comparison (the per-size mean and sd of the paired difference) and the claim's
``POWER_PLANS`` entry, then the plan's power at each scale. The comparisons are read from the
claim's registry entry (``compares``: each rule's own statement). A comparison of "beats" is
planned for the verdict its pilot effect points to (SUPPORTED when the pilot's mean difference
is above the margin, else REFUTED); "no worse" and "matches" for the claim's hope, δ = 0, with
the pilot's spreads; a trend with the pilot's slope. Several comparisons are planned as all
having to hold (``claim.all_of``); a claim decided by its own composite rule needs its plan
written by hand (see ``robinson/zero-one-is-too-easy``).
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pandas as pd

from evidence.scales import (PILOT_SEED1, SCALES, PowerPart, PowerPlan, claim_power,
                             draws_for_power, paired_spreads)

__all__ = ["PilotError", "parse_comparison", "plan_from_pilot", "main"]

#: the rules' own statements (evidence/stats/rules.py), with an optional " (on <task>)"
_FORMS = (
    ("beats", re.compile(r"(?P<a>.+?) beats (?P<b>.+?) by more than (?P<m>[\d.]+) points")),
    ("no_worse", re.compile(r"(?P<a>.+?) is no worse than (?P<b>.+?) by more than "
                            r"(?P<m>[\d.]+) points")),
    ("matches", re.compile(r"(?P<a>.+?) matches (?P<b>.+?) within ±(?P<m>[\d.]+) points")),
    ("trend", re.compile(r"the difference (?P<a>.+?) - (?P<b>.+?) (?P<way>decreases|increases) "
                         r"as n grows")),
    ("beats", re.compile(r"(?P<a>.+?) beats (?P<b>.+?)")),
)


class PilotError(ValueError):
    """The pilot cannot plan the claim; the message says why and what to do, in one line."""


def parse_comparison(text: str, task: str) -> dict:
    """``"A beats B by more than 1.0 points (on 4v9)"`` -> rule, better, baseline, margin
    (a fraction: 0.01 is one point), task."""
    on = re.fullmatch(r"(?P<body>.+) \(on (?P<task>[^()]+)\)", text)
    body, task = (on["body"], on["task"]) if on else (text, task)
    for rule, form in _FORMS:
        m = form.fullmatch(body)
        if m:
            return {"rule": rule, "better": m["a"], "baseline": m["b"],
                    "margin": float(m["m"]) / 100 if m.groupdict().get("m") else 0.0,
                    "decreasing": m.groupdict().get("way") == "decreases", "task": task}
    raise PilotError(f"{text!r} is not a statement of one of the rules (beats, no_worse, "
                     "matches, trend): copy it from the test's output")


def plan_from_pilot(spec, runs: pd.DataFrame, source: str) -> tuple[dict, PowerPlan]:
    """The claim's pilot entries ((task, A, B) -> per-size mean, sd and draws) and its plan."""
    if not spec.compares:
        raise PilotError(f"{spec.id}: its registry entry lists no compares=(...); add them first")
    pilots, parts = {}, []
    for text in spec.compares:
        c = parse_comparison(text, spec.tasks[0])
        try:
            spread = paired_spreads(runs, c["task"], c["better"], c["baseline"])
        except ValueError as exc:
            raise PilotError(f"{spec.id}: the pilot's runs.csv has {exc}; run the pilot on this "
                             "claim (pytest ... --seed 1 --report-dir DIR)") from None
        pilots[(c["task"], c["better"], c["baseline"])] = {**spread, "source": source}
        gap = float(np.mean(spread["mean"]))
        if c["rule"] == "beats":
            outcome = "SUPPORTED" if gap > c["margin"] else "REFUTED"
            parts.append(PowerPart("beats", c["better"], c["baseline"], "pilot", "pilot",
                                   task=c["task"], margin=c["margin"], outcome=outcome))
        elif c["rule"] == "trend":
            if not c["decreasing"]:
                raise PilotError(f"{spec.id}: a plan for an increasing trend is not supported; "
                                 "write it by hand")
            parts.append(PowerPart("trend", c["better"], c["baseline"], "pilot", "pilot",
                                   task=c["task"]))
        else:
            parts.append(PowerPart(c["rule"], c["better"], c["baseline"], "equality", "pilot",
                                   task=c["task"], margin=c["margin"]))
    return pilots, PowerPlan(tuple(parts), note="a pilot on another root seed: " + source)


def _python(spec, pilots: dict, plan: PowerPlan) -> str:
    """The lines to append to evidence/scales.py."""
    lines = []
    for key, p in pilots.items():
        lines.append(f"PILOT_SEED1[{key!r}] = _pilot({p['draws']}, {p['n']}, "
                     f"mean={p['mean']}, sd={p['sd']},\n    source={p['source']!r})")
    settings = [f for f in fields(PowerPart) if f.default is not MISSING]
    parts = []
    for part in plan.all_of:
        extra = "".join(f", {f.name}={getattr(part, f.name)!r}" for f in settings
                        if getattr(part, f.name) != f.default)
        parts.append(f"    PowerPart({part.rule!r}, {part.better!r}, {part.baseline!r}, "
                     f"{part.effect!r}, {part.spread!r}{extra}),")
    lines.append(f"POWER_PLANS[{spec.id!r}] = PowerPlan((\n" + "\n".join(parts)
                 + f"),\n    note={plan.note!r})")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0].startswith("-"):
        print("usage: python -m evidence.pilot REPORT_DIR CLAIM_ID  (REPORT_DIR: the pilot's "
              "--report-dir, a run of the claim with --seed 1)", file=sys.stderr)
        return 2
    folder, claim_id = Path(args[0]), args[1]
    from claims import registry

    try:
        if claim_id not in registry.CLAIMS:
            raise PilotError(f"{claim_id!r} is not in claims/registry.py (known: "
                             f"{', '.join(sorted(registry.CLAIMS))})")
        spec = registry.CLAIMS[claim_id]
        if not (folder / "runs.csv").is_file() or not (folder / "claims.json").is_file():
            raise PilotError(f"{folder}: no runs.csv and claims.json; give the --report-dir of "
                             "the pilot run")
        run = json.loads((folder / "claims.json").read_text()).get("run", {})
        seed = run.get("seed")
        if seed == 2017:
            raise PilotError(f"{folder} is a run on root seed 2017, the seed the verdict is "
                             "drawn on; run the pilot on another one (--seed 1)")
        source = (f"pilot on root seed {seed} (split seed {run.get('split_seed')}, "
                  f"{run.get('data_source')}, {run.get('device')}, "
                  f"{str(run.get('started', ''))[:10]}): {folder / 'runs.csv'}")
        pilots, plan = plan_from_pilot(spec, pd.read_csv(folder / "runs.csv"), source)
    except PilotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("# append to evidence/scales.py:")
    print(_python(spec, pilots, plan))
    for line in _powers(spec, pilots, plan):
        print(line)
    return 0


def _powers(spec, pilots: dict, plan: PowerPlan) -> list[str]:
    """The plan's power at each scale (the pilot's entries lent to ``PILOT_SEED1`` meanwhile)."""
    lent = [key for key in pilots if key not in PILOT_SEED1]
    PILOT_SEED1.update({key: pilots[key] for key in lent})
    try:
        out = []
        for scale in SCALES.values():
            grid = scale.grid(spec.grid)
            got = claim_power(plan, grid).power
            need = draws_for_power(plan, grid, scale.power_target)
            out.append(f"# {scale.name} scale ({grid.draws} draws per size, sizes "
                       f"{list(grid.sizes)}): power {got:.3f}, target {scale.power_target}"
                       + ("" if got >= scale.power_target else
                          f": below it; {need} draws per size would reach it" if need else
                          ": below it at any number of draws"))
        return out
    finally:
        for key in lent:
            del PILOT_SEED1[key]


if __name__ == "__main__":
    sys.exit(main())
