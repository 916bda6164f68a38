"""The statistics of the suite, in one home: paired runs -> three-valued verdicts, following
the project's statistical protocol (claims/PROTOCOL.md, version 2).

* :mod:`evidence.stats.resampling` — the design, the stratified sign-flip test, the stratified
  bootstrap interval and the HC3 slope, for one data set or a batch;
* :mod:`evidence.stats.rules` — each decision rule, deciding and explaining itself;
* :mod:`evidence.stats.verdict` — :func:`paired` / :class:`Paired` (a comparison of two
  contenders) and :class:`Verdict`;
* :mod:`evidence.stats.families` — composites, Holm across probes, draws-to-decide.

The pytest plugin only wires pytest to these.
"""
from evidence.stats.families import (Event, adjust_family, all_of, decide, draws_to_decide,
                                     every, family_p, holm, refuted, some, supported)
from evidence.stats.rules import CONFIDENCE, HALF_POINT, Outcome
from evidence.stats.verdict import POWER, Paired, Verdict, mde, paired

#: Version of claims/PROTOCOL.md that this code implements (written into claims.json).
PROTOCOL_VERSION = 2

__all__ = ["Outcome", "Verdict", "Paired", "paired", "all_of", "decide", "Event", "supported",
           "refuted", "every", "some", "holm", "adjust_family", "family_p", "draws_to_decide",
           "mde", "HALF_POINT", "CONFIDENCE", "POWER", "PROTOCOL_VERSION"]
