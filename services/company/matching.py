"""Matching a Rev.io customer and an RMM company (pure; the same rule from either side).

1. strong key: the candidate is one the subject names (a Rev.io customer's RMM company id),
   or names the subject (an RMM company's description marker or one of its external ids is
   the Rev.io customer id) -> linked; two such candidates -> suggestions;
2. exact normalized name, unique on both sides -> linked; the same normalized name twice on
   either side is ambiguous and never resolved by guessing -> suggestions;
3. the best fuzzy candidates (rapidfuzz WRatio on normalized names) -> suggestions, never a
   link;
4. otherwise no candidate.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rapidfuzz import fuzz, process

SUGGEST_MIN_SCORE = 80.0
MAX_SUGGESTIONS = 3
MatchRule = Literal[
    "strong_key",
    "exact_name",
    "ambiguous_strong_key",
    "ambiguous_name",
    "fuzzy_name",
    "no_candidate",
]


@dataclass(frozen=True)
class Party:
    """One record as matching sees it (a Rev.io customer or an RMM company)."""

    id: str
    name: str
    key: str  # normalized name
    refs: tuple[str, ...] = ()  # ids of the other side this record may name (strong key)
    claimable: bool = True  # False: being created by revsync, only its strong key may link it


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    score: float

    def as_data(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "score": self.score}


@dataclass(frozen=True)
class Match:
    rule: MatchRule
    link: Candidate | None = None
    suggestions: tuple[Candidate, ...] = ()
    inputs: dict[str, Any] = field(default_factory=dict)


def _candidate(party: Party, score: float) -> Candidate:
    return Candidate(party.id, party.name, round(score, 1))


def _ranked(candidates: Sequence[Candidate]) -> tuple[Candidate, ...]:
    return tuple(sorted(candidates, key=lambda c: (-c.score, c.id)))


def fuzzy_candidates(subject: Party, others: Sequence[Party]) -> tuple[Candidate, ...]:
    if not subject.key or not others:
        return ()
    found = process.extract(
        subject.key,
        [other.key for other in others],
        scorer=fuzz.WRatio,
        processor=None,
        score_cutoff=SUGGEST_MIN_SCORE,
        limit=MAX_SUGGESTIONS * 2,
    )
    ranked = _ranked([_candidate(others[index], score) for _, score, index in found])
    return ranked[:MAX_SUGGESTIONS]


def match_company(
    subject: Party,
    others: Sequence[Party],
    same_key_here: int,
    same_key_there: int,
    excluded: Collection[str] = (),
) -> Match:
    """Match `subject` against the unlinked records of the other side.

    `same_key_here` / `same_key_there`: how many known records of the subject's side (itself
    included) and of the other side (linked ones included) have the subject's normalized
    name. `excluded`: candidates a person rejected for this subject; never proposed again.
    """
    inputs: dict[str, Any] = {
        "name": subject.name,
        "normalized_name": subject.key,
        "same_name_here": same_key_here,
        "same_name_there": same_key_there,
    }
    eligible = [other for other in others if other.id not in excluded]
    strong = [o for o in eligible if o.id in subject.refs or subject.id in o.refs]
    if len(strong) == 1:
        return Match("strong_key", link=_candidate(strong[0], 100.0), inputs=inputs)
    if strong:
        suggestions = _ranked([_candidate(o, 100.0) for o in strong])
        return Match("ambiguous_strong_key", suggestions=suggestions, inputs=inputs)
    claimable = [other for other in eligible if other.claimable]
    exact = [other for other in claimable if subject.key and other.key == subject.key]
    if len(exact) == 1 and same_key_here == 1 and same_key_there == 1:
        return Match("exact_name", link=_candidate(exact[0], 100.0), inputs=inputs)
    # by id: comparing whole parties took a fifth of a 10,000-client sync run's matching
    exact_ids = {other.id for other in exact}
    fuzzy = fuzzy_candidates(subject, [o for o in claimable if o.id not in exact_ids])
    if exact:
        suggestions = _ranked([_candidate(o, 100.0) for o in exact])
        return Match(
            "ambiguous_name", suggestions=(suggestions + fuzzy)[:MAX_SUGGESTIONS], inputs=inputs
        )
    if fuzzy:
        return Match("fuzzy_name", suggestions=fuzzy, inputs=inputs)
    return Match("no_candidate", inputs=inputs)
