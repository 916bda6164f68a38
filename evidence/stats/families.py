"""Verdicts about several comparisons: composites, Holm across probes, draws-to-decide.

**Composites.** A claim with several parts is decided by two *events* built from its parts'
verdicts: ``supported(v)`` / ``refuted(v)`` (the part reached that verdict, with the p-value of
that branch), ``every(...)`` (all hold; p is the largest — an intersection-union test) and
``some(...)`` (a union: at least one holds *after* Holm-adjusting its members' p-values over the
k members; p is the smallest adjusted one). :func:`decide` makes a verdict: SUPPORTED if its
``supported`` event holds, else REFUTED if its ``refuted`` event holds, else INCONCLUSIVE; the
composite's p-value is that of the event that decided (INCONCLUSIVE: the supporting event's).
:func:`all_of` is the common case (SUPPORTED if every part is, REFUTED if some part is).

**Probe families.** :func:`adjust_family` Holm-adjusts the p-values of a fixed family of probes
(every probe the registry lists for a scale); a probe that did not run counts with p = 1, and a
verdict whose adjusted p is not below alpha becomes INCONCLUSIVE.

**Draws to decide.** :func:`draws_to_decide` — for an INCONCLUSIVE verdict, the draws per size
at which the observed effect, at its observed spread, would be decided (either way) with power
0.8 by the rule's own bounds.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

import numpy as np
from scipy import stats as sps

from evidence.stats.rules import Outcome
from evidence.stats.verdict import Verdict

__all__ = ["Event", "supported", "refuted", "every", "some", "decide", "all_of", "holm",
           "adjust_family", "draws_to_decide", "family_p"]


def holm(p_values: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Holm-adjusted p-values (statsmodels ``multipletests(method="holm")``), in input order."""
    from statsmodels.stats.multitest import multipletests

    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must be strictly between 0 and 1 (e.g. 0.05), got {alpha!r}.")
    p = np.asarray(list(p_values), dtype=np.float64)
    if p.size == 0:
        return []
    if p.ndim != 1 or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"holm needs a flat list of p-values in [0, 1], got {list(p_values)!r}.")
    return [float(x) for x in multipletests(p, alpha=alpha, method="holm")[1]]


# ------------------------------------------------------------------------------ composites
@dataclass(frozen=True)
class Event:
    """Whether a branch of a composite holds, with its p-value and a sentence saying why."""

    holds: bool
    p: float
    text: str


def _statement(v: Verdict) -> str:
    return v.statement


def supported(v: Verdict) -> Event:
    return Event(v.outcome is Outcome.SUPPORTED, float(v.p_supported),
                 f"'{_statement(v)}' is {v.outcome.value} (p = {v.p_supported:.4g})")


def refuted(v: Verdict) -> Event:
    return Event(v.outcome is Outcome.REFUTED, float(v.p_refuted),
                 f"'{_statement(v)}' is {v.outcome.value} (p of its refutation = {v.p_refuted:.4g})")


def every(events: Iterable[Event]) -> Event:
    """All hold; p is the largest of theirs."""
    events = list(events)
    if not events:
        raise ValueError("every() needs at least one event")
    holds = all(e.holds for e in events)
    return Event(holds, max(e.p for e in events),
                 ("all of: " if holds else "not all of: ") + "; ".join(e.text for e in events))


def some(events: Iterable[Event], alpha: float = 0.05) -> Event:
    """At least one holds with its Holm-adjusted p (over these members) below alpha."""
    events = list(events)
    if not events:
        raise ValueError("some() needs at least one event")
    adjusted = holm([e.p for e in events], alpha)
    holds = any(e.holds and p < alpha for e, p in zip(events, adjusted))
    texts = [f"{e.text} [Holm over {len(events)}: p = {p:.4g}]" for e, p in zip(events, adjusted)]
    return Event(holds, min(adjusted), ("at least one of: " if holds else "none of: ")
                 + "; ".join(texts))


def decide(parts: Sequence[Verdict], *, statement: str, supported_when: Event,
           refuted_when: Event, rule: str = "composite") -> Verdict:
    """A verdict from its parts by a claim's own rule (events built from the parts).

    Effect, interval, sizes and design figures are those of the first part."""
    parts = tuple(parts)
    if not parts:
        raise ValueError("a composite verdict needs at least one part")
    for v in parts:
        if not isinstance(v, Verdict):
            raise ValueError(f"composite parts must be Verdict objects, got {type(v).__name__}; "
                             "pass rule results.")
    if supported_when.holds:
        outcome, p = Outcome.SUPPORTED, supported_when.p
        reason = f"SUPPORTED: {supported_when.text}"
    elif refuted_when.holds:
        outcome, p = Outcome.REFUTED, refuted_when.p
        reason = f"not SUPPORTED: {supported_when.text}. REFUTED: {refuted_when.text}"
    else:
        outcome, p = Outcome.INCONCLUSIVE, supported_when.p
        reason = f"not SUPPORTED: {supported_when.text}. Not REFUTED: {refuted_when.text}"
    first = parts[0]
    return replace(first, outcome=outcome, rule=rule, statement=str(statement),
                   p_value=float(p), p_supported=float(supported_when.p),
                   p_refuted=float(refuted_when.p), reason=reason, parts=parts, bounds=())


def all_of(*parts: Verdict, statement: str, alpha: float = 0.05) -> Verdict:
    """SUPPORTED if every part is; REFUTED if some part is (Holm over the parts); else
    INCONCLUSIVE."""
    if not parts:
        raise ValueError("all_of needs at least one Verdict; pass the parts' verdicts.")
    for v in parts:
        if not isinstance(v, Verdict):
            raise ValueError(f"all_of takes Verdict objects, got {type(v).__name__}; pass rule results.")
    return decide(parts, statement=statement, rule="all_of",
                  supported_when=every(supported(v) for v in parts),
                  refuted_when=some((refuted(v) for v in parts), alpha))


# ------------------------------------------------------------------------------ probe family
def family_p(record: dict) -> float:
    """The p-value a probe brings to its family: that of the verdict it reached before any
    adjustment (INCONCLUSIVE: the smaller of its two branches' p-values)."""
    verdict = record.get("verdict_raw") or record.get("verdict")
    ps, pr = record.get("p_supported"), record.get("p_refuted")
    if ps is None or pr is None:
        return 1.0
    if verdict == "SUPPORTED":
        return float(ps)
    if verdict == "REFUTED":
        return float(pr)
    return float(min(ps, pr))


def adjust_family(records: Sequence[dict], members: Sequence[str], alpha: float = 0.05) -> None:
    """Holm-adjust, in place, the probes in ``records`` over the fixed family ``members``
    (record ids); members without a record count with p = 1. Each record keeps its raw verdict
    and p (``verdict_raw``, ``p_value_raw``); a SUPPORTED or REFUTED probe whose adjusted p is
    not below alpha becomes INCONCLUSIVE. Idempotent."""
    by_id = {r["id"]: r for r in records}
    unknown = sorted(set(by_id) - set(members))
    if unknown:
        raise ValueError(f"probe record(s) {unknown} are not in the family {sorted(members)}")
    raw = [family_p(by_id[m]) if m in by_id else 1.0 for m in members]
    adjusted = holm(raw, alpha)
    missing = [m for m in members if m not in by_id]
    for m, p_raw, p in zip(members, raw, adjusted):
        r = by_id.get(m)
        if r is None:
            continue
        r.setdefault("verdict_raw", r["verdict"])
        r.setdefault("explanation_raw", r.get("explanation") or "")
        r["p_value_raw"], r["p_value"] = float(p_raw), float(p)
        r["holm_family"] = len(members)
        r["holm_missing"] = missing
        verdict = r["verdict_raw"]
        note = (f"Holm across the {len(members)} probes of this scale"
                + (f" ({len(missing)} not run, counted with p = 1)" if missing else "")
                + f": p = {p:.4g}")
        if verdict in ("SUPPORTED", "REFUTED") and not p < alpha:
            r["verdict"] = "INCONCLUSIVE"
            note += f", not below {alpha:g}: INCONCLUSIVE (raw verdict {verdict})"
        else:
            r["verdict"] = verdict
        r["explanation"] = f"{r['explanation_raw']}\n{note}"


# ------------------------------------------------------------------------------ draws to decide
def _branch_power(bounds, effect: float, se: float, alpha: float) -> float:
    """Power (normal approximation) that every bound of a branch holds at ``effect``: one bound,
    Phi(distance / se - z); several (TOST), the Bonferroni bound sum - (k - 1)."""
    if se <= 0:
        return 0.0
    z = sps.norm.ppf(1 - alpha)
    powers = []
    for kind, t in bounds:
        distance = effect - t if kind == "Above" else t - effect
        powers.append(float(sps.norm.cdf(distance / se - z)))
    return max(0.0, sum(powers) - (len(powers) - 1))


def draws_to_decide(v: Verdict, draws: int, power: float = 0.80,
                    limit: int = 100_000) -> int | None:
    """For an INCONCLUSIVE verdict: the draws per size at which its observed effect, with its
    observed spread (the standard error shrinks as 1/sqrt(draws)), would reach SUPPORTED or
    REFUTED with ``power`` by the rule's own bounds (whichever needs fewer draws). A composite
    uses its first INCONCLUSIVE part. None when the verdict is decided, or when no number of
    draws would decide it (the effect sits on a bound)."""
    if v.outcome is not Outcome.INCONCLUSIVE:
        return None
    if v.parts:
        undecided = [p for p in v.parts if p.outcome is Outcome.INCONCLUSIVE]
        return draws_to_decide(undecided[0], draws, power, limit) if undecided else None
    if not v.bounds or not np.isfinite(v.se) or v.se <= 0:
        return None
    sup, ref = v.bounds
    branches = [list(sup)] + [[b] for b in ref]
    best = None
    for branch in branches:
        def pw(k: int) -> float:
            return _branch_power(branch, v.effect, v.se * np.sqrt(draws / k), v.alpha)
        if pw(limit) < power:
            continue
        lo, hi = 1, limit  # smallest k with pw(k) >= power (pw grows with k here)
        while lo < hi:
            mid = (lo + hi) // 2
            if pw(mid) >= power:
                hi = mid
            else:
                lo = mid + 1
        best = lo if best is None else min(best, lo)
    return best
